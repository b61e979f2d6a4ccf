//! A binding's fallback: when a policy fails (a plugin traps, runs out of budget, answers
//! nonsense or chooses a plan it may not), another policy decides the order instead, or the
//! order is rejected.

use std::sync::Arc;

use crate::optimizer::{Problem, takes_of_plan};
use crate::policy::{Evaluation, LateDelivery, Policy, PolicyError, PolicyInfo, PolicyRequest};

/// Runs `primary`; if it fails, resets the answer and runs `fallback`. The plan then carries
/// the fallback's name and version, so explanations say which policy decided.
pub struct FallbackPolicy {
    primary: Arc<dyn Policy>,
    fallback: Arc<dyn Policy>,
}

impl FallbackPolicy {
    /// `primary`, falling back to `fallback`.
    pub fn new(primary: Arc<dyn Policy>, fallback: Arc<dyn Policy>) -> FallbackPolicy {
        FallbackPolicy { primary, fallback }
    }
}

impl Policy for FallbackPolicy {
    fn info(&self) -> Arc<PolicyInfo> {
        self.primary.info()
    }

    fn late_delivery(&self) -> LateDelivery {
        self.primary.late_delivery()
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        match self.primary.evaluate(request, out) {
            Ok(()) if out.validate(request.catalog, request.candidates).is_ok() && own_plan_fits(request, out) => {
                Ok(())
            }
            first => {
                out.reset(request.candidates);
                let decided = self.fallback.evaluate(request, out);
                if decided.is_ok() && out.decided_by.is_none() {
                    out.decided_by = Some(self.fallback.info());
                }
                decided.map_err(|second| {
                    let first = match first {
                        Err(error) => error.to_string(),
                        Ok(()) => format!("policy `{}` gave an invalid answer", self.primary.info().name),
                    };
                    PolicyError {
                        policy: second.policy.clone(),
                        message: format!("{first}; fallback: {}", second.message),
                    }
                })
            }
        }
    }
}

// Whether the primary's own plan, if it chose one, passes the check the router will make:
// the same problem, built here only when there is a plan to check.
fn own_plan_fits(request: &PolicyRequest<'_>, out: &Evaluation) -> bool {
    let Some(plan) = &out.plan else { return true };
    let mut problem = Problem::default();
    problem.build(request.catalog, request.order, request.candidates, out);
    takes_of_plan(&problem, request.candidates, plan).is_ok()
}
