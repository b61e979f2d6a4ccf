//! The records the service keeps: what is stored (as JSON bodies, one per row) and read back
//! at start. They are the service's own types: the API converts them to and from its wire
//! types (`api::dto`), the store only sees their JSON. States are enums, never strings.
//!
//! Their serde form is the store's format: renaming a field or a variant is a migration.

mod atp;
mod catalog;
mod explanation;
mod inventory;
mod order;
mod plan;
mod policies;
mod recurring;
mod returns;
mod shipping;
mod webhooks;

pub use atp::{AtpChange, LocationAtp};
pub use catalog::{ComponentRecord, DowntimeRecord, LocationRecord, ProductRecord};
pub use explanation::{CandidateState, ExplainedCandidate, ExplainedLine, RoutingCause, RoutingRecord};
pub use inventory::{Backorder, BackorderStatus, Inbound};
pub use order::{
    Event, EventKind, HeldShipment, HeldUnits, OrderRecord, OrderStatus, ShipTo, SubmittedLine, SubmittedOrder,
};
pub use plan::{
    CostRecord, DeliveryRecord, PlanOutcome, PlanRecord, ShipmentLineRecord, ShipmentRecord, ShipmentState,
    UnfilledUnits, cents, from_cents, to_the_cent,
};
pub use policies::{BindingRecord, DiagnosticLevel, DiagnosticRecord, Kind, VersionMeta};
pub use recurring::RecurringOrder;
pub use returns::{ReturnLabel, ReturnLine, ReturnOutcome, ReturnRecord, ReturnStatus};
pub use shipping::{BandRecord, CarrierServiceRecord, FulfilmentRecord, weekdays_text};
pub use webhooks::{Delivery, DeliveryStatus, Subscription};
