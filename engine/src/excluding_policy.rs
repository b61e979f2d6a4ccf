//! A policy with some locations ruled out for one order: when a location rejects a shipment,
//! the remainder is routed again under the same policy without it.

use std::sync::Arc;

use crate::domain::LocationId;
use crate::policy::{Evaluation, LateDelivery, PlannedUnits, Policy, PolicyError, PolicyInfo, PolicyRequest, Verdict};

/// Runs `inner`, then excludes every location in `excluded` with `reason`.
pub struct ExcludingPolicy {
    inner: Arc<dyn Policy>,
    excluded: Vec<LocationId>,
    reason: Arc<str>,
}

impl ExcludingPolicy {
    /// `inner` without `excluded`, which explanations show with `reason`.
    pub fn new(inner: Arc<dyn Policy>, excluded: Vec<LocationId>, reason: &str) -> ExcludingPolicy {
        ExcludingPolicy { inner, excluded, reason: Arc::from(reason) }
    }
}

impl Policy for ExcludingPolicy {
    fn info(&self) -> Arc<PolicyInfo> {
        self.inner.info()
    }

    fn late_delivery(&self) -> LateDelivery {
        self.inner.late_delivery()
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        self.inner.evaluate(request, out)?;
        for (slot, candidate) in request.candidates.locations.iter().enumerate() {
            if self.excluded.contains(&candidate.location)
                && let Some(verdict) = out.shipment.get_mut(slot)
            {
                *verdict = Verdict::Excluded(Arc::clone(&self.reason));
            }
        }
        // A plan the inner policy chose itself was chosen with the excluded locations in
        // view: the optimizer chooses again among the rest, at the policy's prices.
        let uses_excluded = |planned: &PlannedUnits| {
            request.candidates.entries.get(planned.candidate as usize).is_some_and(|entry| {
                self.excluded.contains(&request.candidates.locations[entry.slot as usize].location)
            })
        };
        if out.plan.as_ref().is_some_and(|plan| plan.iter().any(uses_excluded)) {
            out.plan = None;
        }
        Ok(())
    }
}
