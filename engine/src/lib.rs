//! switchyard-engine: the routing core of switchyard.
//!
//! It owns the domain (products, locations, orders), the in-memory inventory, the [`Policy`]
//! boundary that DSL policies and Wasm plugins implement, the exact optimizer and the greedy
//! baseline, plans and their explanations. It does no IO and knows nothing of HTTP, Wasm or
//! the policy language.

pub mod analysis;
pub mod bound;
pub mod calendar;
pub mod catalog;
pub mod domain;
pub mod excluding_policy;
pub mod explain;
pub mod fallback_policy;
pub mod inventory;
pub mod kits;
pub mod lookahead;
pub mod optimizer;
pub mod plan;
pub mod policy;
pub mod promise;
pub mod reference_policy;
pub mod reoptimize;
pub mod returns;
pub mod router;
pub mod text;

pub use analysis::{RunSummary, plans_differ};
pub use catalog::{Catalog, CatalogError, MAX_HANDLING, MAX_WEIGHT_KG};
pub use domain::{
    Address, Downtime, GeoPoint, Location, LocationId, LocationKind, Order, OrderLine, Product, SkuId, Timestamp,
};
pub use excluding_policy::ExcludingPolicy;
pub use explain::{CandidateExplanation, CandidateStatus, Explanation, LineExplanation};
pub use fallback_policy::FallbackPolicy;
pub use inventory::{Inventory, InventoryError, Position, Reservation, ReservedShipment, ReservedUnits};
pub use kits::{Kit, KitAtp, KitComponent, KitPart, apply_kit_rules, expand_kits, has_kit_lines, kit_atp};
pub use optimizer::{SearchBudget, Strategy};
pub use plan::{CostBreakdown, Plan, PlanPrice, PlanStatus, Shipment, ShipmentLine, Unfilled};
pub use policy::{
    Candidate, CandidateLocation, Candidates, DeliveryView, Evaluation, LateDelivery, LocationDelivery, MAX_COST,
    PlannedUnits, Policy, PolicyError, PolicyInfo, PolicyRequest, ShortStock, SplitRules, TieBreak, Verdict, is_cost,
};
pub use reference_policy::{RateCard, RateCardError, ReferencePolicy, ReferenceSettings, Zone};
pub use reoptimize::{PoolOrder, PoolOutcome, ReoptimizeSettings, Rerouted, reoptimize_pool};
pub use returns::{RETURNS_CAPABILITY, ReturnChoice, allowed_locations, choose_return_location};
pub use router::{NO_WHOLE_KIT, OrderError, Routed, Router, RouterConfig, RoutingError, Workspace, validate_order};
pub use text::{MAX_REASON_CHARS, clean_text, is_invisible};
