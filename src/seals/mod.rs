//! Electronic seals (the agencies' issue): seals as records with a state machine (`model`), the
//! applications that make them (`application`) and change them (`operation`), production of the
//! key, certificate, GB/T 38540 structure and picture (`produce`, `maker`, `picture`), the service
//! the front ends call (`service`: every decision through `accounts::policy`, every state change
//! through the workflow runner in the transaction that changes the seal and its certificate), and
//! the public seal status (`status`); UKey seals, whose key the holder makes on a token
//! (`ukey`).
//! the public seal status (`status`); seal-administrator applications and organisation updates
//! (`admin_application`, `org_update`, decided and applied by `admin_service`).

pub mod admin_application;
pub mod admin_service;
pub mod application;
pub mod expiry;
pub mod font;
pub mod form;
pub mod maker;
pub mod model;
pub mod operation;
pub mod org_update;
pub mod picture;
pub mod produce;
pub mod service;
pub mod status;
pub mod ukey;

pub use model::{SealEvent, SealState, SealType, SigningMode};
pub use service::{SealHistoryEntry, SealPage, SealView};
