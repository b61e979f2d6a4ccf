//! The API's wire types (serde, with OpenAPI schemas) and their conversions to and from the
//! service's types. Requests refuse unknown fields; responses are built from records. The
//! service never sees these types, and they never reach the store.

mod catalog;
mod orders;
mod policies;
mod shipping;
mod webhooks;
pub mod wire;

pub use catalog::*;
pub use orders::*;
pub use policies::*;
pub use shipping::*;
pub use webhooks::*;
