//! Payment for seal applications (issue 12): orders (self-paid through a provider, or unified
//! payment by a regional body), the provider trait and its development provider, shipping
//! addresses for UKey seals, unified payers. `service` is what front ends call; submission of an
//! application waits for `App::payment_settled`.

pub mod model;
pub mod provider;
pub mod service;

pub use model::{OrderEvent, OrderState, Payer};
pub use provider::{DevProvider, PaymentProvider};
pub use service::{AddressView, OrderPage, OrderRequest, OrderScope, OrderView, UnifiedPayerView};
