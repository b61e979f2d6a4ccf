//! A binding's fallback: when a policy fails (a plugin traps, runs out of budget, answers
//! nonsense), another policy decides the order instead, or the order is rejected.

use std::sync::Arc;

use crate::policy::{Evaluation, Policy, PolicyError, PolicyInfo, PolicyRequest};

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

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        match self.primary.evaluate(request, out) {
            Ok(()) if out.validate(request.candidates).is_ok() => Ok(()),
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
