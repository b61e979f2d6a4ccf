//! Recurring orders (subscriptions): a template and a schedule.

use serde::{Deserialize, Serialize};

use super::order::{Event, SubmittedOrder};

/// A recurring order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecurringOrder {
    /// Its id; the orders it creates are `<id>-1`, `<id>-2`, ...
    pub id: String,
    /// The schedule (`weekly`, `monthly`, `14d`, ...).
    pub every: String,
    /// What each order ships where (its `id` is replaced for each order).
    pub template: SubmittedOrder,
    /// When the next order is created (RFC 3339).
    pub next_at: String,
    /// When the first run was (RFC 3339): run `n` is `n` intervals after it, so a monthly
    /// order from the 31st keeps to the month's last day. Absent in records older than it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_at: Option<String>,
    /// The index of the run due at `next_at`.
    #[serde(default)]
    pub next_run: u64,
    /// Whether it still runs.
    pub active: bool,
    /// The orders it created, oldest first.
    pub orders: Vec<String>,
    /// Every run and change.
    pub history: Vec<Event>,
    /// Counts its writes (1 when created; 0 in records older than it): instances serving one
    /// store together write it only over the revision they read.
    #[serde(default)]
    pub revision: u64,
}
