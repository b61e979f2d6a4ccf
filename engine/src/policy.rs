//! The `Policy` boundary: what a routing policy (native Rust, DSL or Wasm plugin) is shown
//! about an order, and what it answers.
//!
//! The engine gathers the candidates (every location holding a line's SKU, with its ATP and
//! distance), blocks those it must (downtime, daily capacity), and asks the order's policy to
//! price or exclude each candidate and to set the split rules. The optimizer then chooses.

use std::sync::Arc;

use crate::catalog::Catalog;
use crate::domain::{LocationId, Order, Timestamp};

/// A distinct location that can ship at least one line of the order.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateLocation {
    /// The location.
    pub location: LocationId,
    /// Great-circle distance to the order's ship-to, in km.
    pub distance_km: f64,
    /// Shipments the location may still send on the order's day; `None` is unlimited.
    pub shipments_left: Option<u32>,
    /// Set when the engine itself rules the location out (downtime, capacity): the reason.
    pub blocked: Option<Arc<str>>,
}

/// A line's option to take stock from one candidate location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Index into [`Candidates::locations`].
    pub slot: u32,
    /// Available to promise of the line's SKU there (0 is listed, for explanations).
    pub atp: u32,
}

/// All candidates of one order: the distinct locations, and per line the options among them.
///
/// Kept as flat vectors so one buffer serves every order a worker routes.
#[derive(Clone, Debug, Default)]
pub struct Candidates {
    /// Distinct candidate locations, in the order first met.
    pub locations: Vec<CandidateLocation>,
    /// Options of every line, line after line.
    pub entries: Vec<Candidate>,
    // INVARIANT: `line_starts.len() == lines + 1`, non-decreasing, last == entries.len().
    line_starts: Vec<u32>,
}

impl Candidates {
    /// Empties the buffers for the next order.
    pub fn clear(&mut self) {
        self.locations.clear();
        self.entries.clear();
        self.line_starts.clear();
        self.line_starts.push(0);
    }

    /// Closes the options of the current line; the next entries belong to the next line.
    pub fn finish_line(&mut self) {
        self.line_starts.push(self.entries.len() as u32);
    }

    /// Number of lines described.
    pub fn line_count(&self) -> usize {
        self.line_starts.len().saturating_sub(1)
    }

    /// Index range into [`Candidates::entries`] of line `line`'s options.
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        self.line_starts[line] as usize..self.line_starts[line + 1] as usize
    }

    /// Line `line`'s options.
    pub fn line(&self, line: usize) -> &[Candidate] {
        &self.entries[self.line_range(line)]
    }

    /// The line whose options include entry `entry` (an index into [`Candidates::entries`]).
    pub fn line_of(&self, entry: usize) -> usize {
        // The first line starting after `entry`, less one.
        self.line_starts.partition_point(|&start| start as usize <= entry).saturating_sub(1)
    }
}

/// Units a policy's own plan takes through one line option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedUnits {
    /// Index into [`Candidates::entries`]: the line and the location.
    pub candidate: u32,
    /// Units, at least one.
    pub qty: u32,
}

/// A policy's answer about one candidate: a cost, or an exclusion with the rule's name.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Allowed, at this cost (per unit for a line's option, per parcel for a location).
    Cost(f64),
    /// Ruled out by the named rule; the name appears in explanations.
    Excluded(Arc<str>),
    /// The policy gave no answer; the candidate is treated as excluded.
    NotPriced,
}

/// How an order may be split into shipments.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitRules {
    /// Most distinct shipping locations for the order; at least 1.
    pub max_shipments: u32,
    /// Cost of every shipment after the first.
    pub split_penalty: f64,
    /// Per line: may its units come from more than one location?
    pub line_may_split: Vec<bool>,
    /// Per line: lines with the same non-zero key ship together, from one location (kit
    /// components, a sofa and its cushions); 0 is no constraint.
    pub ship_together: Vec<u32>,
}

/// What happens to units no allowed location can ship.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShortStock {
    /// Ship what can be shipped; every unit left unfilled costs this much.
    Partial {
        /// Cost per unfilled unit.
        unfilled_penalty: f64,
    },
    /// The whole order is rejected unless every unit can ship.
    Reject,
}

/// How plans of equal cost are ordered: which locations win ties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TieBreak {
    /// Higher merchant priority first, then nearer.
    #[default]
    PriorityThenDistance,
    /// Nearer first, then higher priority.
    DistanceThenPriority,
}

/// A policy's full answer for one order.
#[derive(Clone, Debug)]
pub struct Evaluation {
    /// Per candidate location (parallel to [`Candidates::locations`]): cost per shipment.
    pub shipment: Vec<Verdict>,
    /// Per line option (parallel to [`Candidates::entries`]): cost per unit.
    pub units: Vec<Verdict>,
    /// Split limits.
    pub split: SplitRules,
    /// Short-stock behaviour.
    pub short_stock: ShortStock,
    /// Which locations win cost ties.
    pub tie_break: TieBreak,
    /// Set by a policy that delegated the decision (a fallback): who actually decided.
    pub decided_by: Option<Arc<PolicyInfo>>,
    /// Units no location can ship now may wait for inbound stock expected within this many
    /// seconds (the service allocates them; routing itself treats them as short).
    pub backorder_within: Option<i64>,
    /// A complete allocation the policy chose itself, used instead of the optimizer's (checked
    /// against the same rules); `None`: the optimizer chooses.
    pub plan: Option<Vec<PlannedUnits>>,
}

impl Default for Evaluation {
    fn default() -> Evaluation {
        Evaluation {
            shipment: Vec::new(),
            units: Vec::new(),
            split: SplitRules {
                max_shipments: 1,
                split_penalty: 0.0,
                line_may_split: Vec::new(),
                ship_together: Vec::new(),
            },
            short_stock: ShortStock::Reject,
            tie_break: TieBreak::default(),
            decided_by: None,
            backorder_within: None,
            plan: None,
        }
    }
}

impl Evaluation {
    /// Sizes the answer for `candidates`, every verdict "not priced", so a policy that forgets
    /// a candidate excludes it visibly instead of pricing it at zero.
    pub fn reset(&mut self, candidates: &Candidates) {
        self.shipment.clear();
        self.shipment.resize(candidates.locations.len(), Verdict::NotPriced);
        self.units.clear();
        self.units.resize(candidates.entries.len(), Verdict::NotPriced);
        self.split.line_may_split.clear();
        self.split.line_may_split.resize(candidates.line_count(), true);
        self.split.ship_together.clear();
        self.split.ship_together.resize(candidates.line_count(), 0);
        self.tie_break = TieBreak::default();
        self.decided_by = None;
        self.backorder_within = None;
        self.plan = None;
    }

    /// Checks the answer is usable: right sizes, finite non-negative costs, at least one
    /// shipment allowed.
    pub fn validate(&self, catalog: &Catalog, candidates: &Candidates) -> Result<(), String> {
        if self.shipment.len() != candidates.locations.len()
            || self.units.len() != candidates.entries.len()
            || self.split.line_may_split.len() != candidates.line_count()
            || self.split.ship_together.len() != candidates.line_count()
        {
            return Err("answer does not match the candidates it was given".to_owned());
        }
        let location_name = |slot: usize| &catalog.location(candidates.locations[slot].location).id;
        for (slot, verdict) in self.shipment.iter().enumerate() {
            if let Verdict::Cost(cost) = verdict
                && !is_cost(*cost)
            {
                return Err(format!("the shipment cost at `{}` is {}: {COST_RANGE}", location_name(slot), show(*cost)));
            }
        }
        for (entry, verdict) in self.units.iter().enumerate() {
            if let Verdict::Cost(cost) = verdict
                && !is_cost(*cost)
            {
                let line = candidates.line_of(entry);
                let slot = candidates.entries[entry].slot as usize;
                return Err(format!(
                    "the unit cost of line {} at `{}` is {}: {COST_RANGE}",
                    line + 1,
                    location_name(slot),
                    show(*cost)
                ));
            }
        }
        if self.split.max_shipments == 0 {
            return Err("max shipments must be at least 1".to_owned());
        }
        if !is_cost(self.split.split_penalty) {
            return Err(format!("the split penalty is {}: {COST_RANGE}", show(self.split.split_penalty)));
        }
        if let ShortStock::Partial { unfilled_penalty } = self.short_stock
            && !is_cost(unfilled_penalty)
        {
            return Err(format!("the unfilled penalty is {}: {COST_RANGE}", show(unfilled_penalty)));
        }
        if let Some(plan) = &self.plan {
            if plan.iter().any(|planned| planned.candidate as usize >= candidates.entries.len()) {
                return Err("the plan uses a candidate the request does not have".to_owned());
            }
            if plan.iter().any(|planned| planned.qty == 0) {
                return Err("the plan has an entry of zero units".to_owned());
            }
        }
        Ok(())
    }
}

/// The largest cost a policy may give: per unit, per shipment, and as a split or unfilled
/// penalty. Bounded so that every sum the optimizer forms (at most 200 lines of at most
/// 4294967295 units over every location) stays finite.
pub const MAX_COST: f64 = 1_000_000_000.0;

const COST_RANGE: &str = "a cost is a finite number from 0 to 1000000000";

// A number as a message shows it: short, whatever its size (`1e300`, not 301 digits).
fn show(value: f64) -> String {
    if value.is_finite() && value.abs() >= 1e15 { format!("{value:e}") } else { value.to_string() }
}

/// Whether `cost` is one a policy may give: finite, from 0 to [`MAX_COST`].
pub fn is_cost(cost: f64) -> bool {
    (0.0..=MAX_COST).contains(&cost)
}

/// What a policy is shown for one order.
#[derive(Clone, Copy)]
pub struct PolicyRequest<'a> {
    /// Locations and products.
    pub catalog: &'a Catalog,
    /// The order.
    pub order: &'a Order,
    /// The instant the decision is made for (the order's `placed_at` in a replay).
    pub now: Timestamp,
    /// Candidate locations and each line's options.
    pub candidates: &'a Candidates,
    /// When the order ships by a carrier service: each location's dates by it, and the day
    /// promised. `None` otherwise.
    pub delivery: Option<&'a DeliveryView>,
}

/// What a policy sees of an order's carrier service: the service, the day promised, and when
/// each location would ship and deliver by it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryView {
    /// The service's id.
    pub service: String,
    /// The day promised (days since 1970-01-01), when there is one.
    pub deliver_by: Option<i64>,
    /// By location index: its dates by the service (`None`: it cannot ship by it).
    pub locations: Vec<Option<LocationDelivery>>,
}

/// When a location would ship a parcel by a carrier service, and when it would arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocationDelivery {
    /// The day it leaves (days since 1970-01-01).
    pub ship_day: i64,
    /// The day it arrives.
    pub delivery_day: i64,
    /// Carrier days in transit.
    pub transit_days: u8,
}

impl DeliveryView {
    /// The dates of the location at `index`.
    pub fn location(&self, index: usize) -> Option<&LocationDelivery> {
        self.locations.get(index).and_then(Option::as_ref)
    }
}

/// Name and version of a policy, carried into every plan it produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyInfo {
    /// The policy's name.
    pub name: String,
    /// Its version (a DSL version, a plugin's content hash, ...).
    pub version: String,
}

/// A policy could not answer (a plugin trapped, ran out of fuel, answered nonsense).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy `{policy}` failed: {message}")]
pub struct PolicyError {
    /// `name@version` of the policy.
    pub policy: String,
    /// What happened.
    pub message: String,
}

/// A routing policy: excludes and prices candidates and sets split rules for an order.
///
/// Implemented natively ([`crate::ReferencePolicy`]), by compiled DSL policies and by Wasm
/// plugins. Implementations must be deterministic for the same request.
pub trait Policy: Send + Sync {
    /// Name and version (shared: every plan carries it).
    fn info(&self) -> Arc<PolicyInfo>;

    /// Fills `out` (already [`Evaluation::reset`] for the request's candidates).
    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError>;

    /// What becomes of an order promised for a day no location can meet by its carrier
    /// service: shipped late with the earliest date there is (the default), or rejected.
    fn late_delivery(&self) -> LateDelivery {
        LateDelivery::ShipLate
    }

    /// Whether the policy asks for look-ahead pricing of scarce stock, and how
    /// ([`crate::lookahead`]): the host wraps it in a [`crate::lookahead::LookAheadPolicy`]
    /// and re-solves the prices on a schedule. `None` (the default): it does not.
    fn look_ahead(&self) -> Option<crate::lookahead::LookAheadSettings> {
        None
    }
}

/// What becomes of an order whose `deliver_by` no location can meet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LateDelivery {
    /// Routed without the date, delivering as early as it can, and said to be late.
    #[default]
    ShipLate,
    /// Rejected.
    Reject,
}
