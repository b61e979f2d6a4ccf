//! Shadow runs: a candidate version is evaluated beside the live binding on every order the
//! live binding routes, without reserving, and the differences are counted. The greedy
//! baseline under the live policy is counted too, so the summary shows what optimizing saves.
//! Shadows live in memory: they are measurements, and end with the process.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::Serialize;
use switchyard_engine::{Plan, Policy, plans_differ};

use crate::records::PlanRecord;

const RECENT: usize = 50;

/// An order the shadow planned differently.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShadowDifference {
    /// The order.
    pub order_id: String,
    /// Cost of the live plan.
    pub live_cost: f64,
    /// Cost of the shadow's plan.
    pub shadow_cost: f64,
    /// Locations shipping under the live plan.
    pub live_locations: Vec<String>,
    /// Locations shipping under the shadow's plan.
    pub shadow_locations: Vec<String>,
}

/// What a shadow run has seen so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ShadowSummary {
    /// The product group (or `default`) whose orders are shadowed.
    pub group: String,
    /// The candidate version.
    pub version: String,
    /// When the shadow started (RFC 3339).
    pub started_at: String,
    /// The currency of the costs.
    pub currency: String,
    /// Orders planned by both.
    pub orders_compared: u64,
    /// Orders the shadow planned differently.
    pub orders_differing: u64,
    /// Orders the shadow's policy failed on.
    pub shadow_failures: u64,
    /// Sum of live plan costs.
    pub live_cost: f64,
    /// Sum of the shadow's plan costs.
    pub shadow_cost: f64,
    /// Sum of the greedy baseline's plan costs (under the live policy).
    pub greedy_cost: f64,
    /// Shipments under the live plans.
    pub live_shipments: u64,
    /// Shipments under the shadow's plans.
    pub shadow_shipments: u64,
    /// Units the live plans leave unfilled.
    pub live_unfilled_units: u64,
    /// Units the shadow's plans leave unfilled.
    pub shadow_unfilled_units: u64,
    /// The latest differing orders, newest last.
    pub recent_differences: Vec<ShadowDifference>,
}

/// A running shadow.
pub struct Shadow {
    /// The candidate policy.
    pub policy: Arc<dyn Policy>,
    summary: Mutex<(ShadowSummary, VecDeque<ShadowDifference>)>,
}

impl Shadow {
    /// A shadow of `version` for `group`.
    pub fn new(group: &str, version: &str, policy: Arc<dyn Policy>, started_at: String, currency: &str) -> Shadow {
        let summary = ShadowSummary {
            group: group.to_owned(),
            version: version.to_owned(),
            started_at,
            currency: currency.to_owned(),
            ..ShadowSummary::default()
        };
        Shadow { policy, summary: Mutex::new((summary, VecDeque::new())) }
    }

    /// Counts one order: the live plan, the shadow's (or its failure) and the greedy one.
    pub fn record(
        &self,
        live: &Plan,
        live_record: &PlanRecord,
        shadow: Option<(&Plan, PlanRecord)>,
        greedy: Option<&Plan>,
    ) {
        let mut guard = self.summary.lock();
        let (summary, recent) = &mut *guard;
        let Some((shadow, shadow_record)) = shadow else {
            summary.shadow_failures += 1;
            return;
        };
        summary.orders_compared += 1;
        summary.live_cost += live.cost.total();
        summary.shadow_cost += shadow.cost.total();
        summary.greedy_cost += greedy.map_or(live.cost.total(), |g| g.cost.total());
        summary.live_shipments += live.shipments.len() as u64;
        summary.shadow_shipments += shadow.shipments.len() as u64;
        summary.live_unfilled_units += live.unfilled_units();
        summary.shadow_unfilled_units += shadow.unfilled_units();
        if plans_differ(live, shadow) {
            summary.orders_differing += 1;
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(ShadowDifference {
                order_id: live.order_id.clone(),
                live_cost: live.cost.total(),
                shadow_cost: shadow.cost.total(),
                live_locations: live_record.shipments.iter().map(|s| s.location.clone()).collect(),
                shadow_locations: shadow_record.shipments.iter().map(|s| s.location.clone()).collect(),
            });
        }
    }

    /// The summary so far.
    pub fn summary(&self) -> ShadowSummary {
        let guard = self.summary.lock();
        let mut summary = guard.0.clone();
        summary.recent_differences = guard.1.iter().cloned().collect();
        summary
    }
}
