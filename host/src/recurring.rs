//! Recurring orders (subscriptions): an order template and a schedule; each time it is due,
//! an order is created from the template and routed like any other.

use serde::{Deserialize, Serialize};
use switchyard_engine::Timestamp;

use crate::dto::OrderRequest;
use crate::error::ApiError;
use crate::service::Event;

/// How often a recurring order repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    /// A fixed number of seconds (`daily`, `weekly`, `3d`, `12h`, `30m`, `45s`).
    Seconds(i64),
    /// Calendar months (`monthly`, `2mo`): the same day of the month, clamped to its end.
    Months(i64),
}

impl Interval {
    /// Reads `daily`, `weekly`, `monthly`, or a count with a unit: `d`, `h`, `m`, `s`, `mo`.
    pub fn parse(text: &str) -> Result<Interval, ApiError> {
        let fail = || {
            ApiError::invalid(
                "invalid_interval",
                format!("`{text}` is not an interval: use daily, weekly, monthly, or a count like 14d, 2mo, 12h"),
            )
            .at("every")
        };
        let interval = match text {
            "daily" => Interval::Seconds(86_400),
            "weekly" => Interval::Seconds(7 * 86_400),
            "monthly" => Interval::Months(1),
            _ => {
                let digits = text.bytes().take_while(u8::is_ascii_digit).count();
                let count: i64 = text[..digits].parse().map_err(|_| fail())?;
                let unit = match &text[digits..] {
                    "mo" => return (1..=120).contains(&count).then_some(Interval::Months(count)).ok_or_else(fail),
                    "d" => 86_400,
                    "h" => 3_600,
                    "m" => 60,
                    "s" => 1,
                    _ => return Err(fail()),
                };
                Interval::Seconds(count.checked_mul(unit).filter(|s| *s > 0 && *s <= 3_650 * 86_400).ok_or_else(fail)?)
            }
        };
        Ok(interval)
    }

    /// The time one interval after `at`.
    pub fn after(self, at: Timestamp) -> Timestamp {
        match self {
            Interval::Seconds(seconds) => Timestamp(at.0 + seconds),
            Interval::Months(months) => at.add_months(months),
        }
    }
}

/// A recurring order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecurringOrder {
    /// Its id; the orders it creates are `<id>-1`, `<id>-2`, ...
    pub id: String,
    /// The schedule (`weekly`, `monthly`, `14d`, ...).
    pub every: String,
    /// What each order ships where (its `id` is replaced for each order).
    pub template: OrderRequest,
    /// When the next order is created (RFC 3339).
    pub next_at: String,
    /// Whether it still runs.
    pub active: bool,
    /// The orders it created, oldest first.
    pub orders: Vec<String>,
    /// Every run and change.
    pub history: Vec<Event>,
}
