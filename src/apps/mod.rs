//! Cloud-signing applications (issue 13): the registry of apps, their credentials and how a
//! request proves it comes from one, the seal administrators' authorizations, and the signing
//! API's service side. `model.rs` holds the shared vocabulary; the areas have their own modules.

pub mod grant_service;
pub mod grants;
pub mod model;

pub use model::{AppCaller, AppKind, AppState, CallerProof};
