//! A policy with some lines bound to ship together, whatever the policy says: a kit's
//! components leave from one location unless the kit allows splitting. A plan the policy
//! chose itself that sends a group from several locations is dropped for the optimizer's.

use std::sync::Arc;

use crate::policy::{Evaluation, Policy, PolicyError, PolicyInfo, PolicyRequest};

/// Runs `inner`, then puts the lines of each group in `groups` into one ship-together group
/// whose units may not split across locations.
pub struct TogetherPolicy {
    inner: Arc<dyn Policy>,
    // Per order line: its group (`None`: not constrained).
    groups: Vec<Option<u32>>,
}

impl TogetherPolicy {
    /// `groups[line]` names the group of each line that must ship with the others of its group.
    pub fn new(inner: Arc<dyn Policy>, groups: Vec<Option<u32>>) -> TogetherPolicy {
        TogetherPolicy { inner, groups }
    }
}

impl Policy for TogetherPolicy {
    fn info(&self) -> Arc<PolicyInfo> {
        self.inner.info()
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        self.inner.evaluate(request, out)?;
        for (line, group) in self.groups.iter().enumerate() {
            if let Some(group) = group {
                // Keys from the top of the range, so they never meet a policy's own keys.
                if let Some(key) = out.split.ship_together.get_mut(line) {
                    *key = u32::MAX - group;
                }
                if let Some(may_split) = out.split.line_may_split.get_mut(line) {
                    *may_split = false;
                }
            }
        }
        // A plan the inner policy chose itself did not know the groups: when it sends one
        // group from more than one location, the optimizer chooses again at its prices.
        if let Some(plan) = &out.plan {
            let mut first_location: Vec<(u32, u32)> = Vec::new();
            let mut apart = false;
            for planned in plan {
                let Some(entry) = request.candidates.entries.get(planned.candidate as usize) else { continue };
                let line = request.candidates.line_of(planned.candidate as usize);
                let Some(Some(group)) = self.groups.get(line) else { continue };
                match first_location.iter().find(|(g, _)| g == group) {
                    Some(&(_, slot)) => apart |= slot != entry.slot,
                    None => first_location.push((*group, entry.slot)),
                }
            }
            if apart {
                out.plan = None;
            }
        }
        Ok(())
    }
}
