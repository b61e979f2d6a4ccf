//! A policy with some lines bound to ship together, whatever the policy says: a kit's
//! components leave from one location unless the kit allows splitting.

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
        Ok(())
    }
}
