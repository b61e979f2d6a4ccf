//! Recurring orders (subscriptions): an order template and a schedule; each time one is due,
//! an order is created from the template and routed like any other.

use std::sync::Arc;

use dashmap::mapref::entry::Entry;
use switchyard_engine::Timestamp;
use tokio::sync::Mutex as AsyncMutex;

use super::commit::body_of;
use super::validate::{engine_order, timestamp};
use super::{Created, Service, ServiceError, event, now};
use crate::records::{EventKind, OrderStatus, RecurringOrder, SubmittedOrder};
use crate::store::Change;

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
    pub fn parse(text: &str) -> Result<Interval, ServiceError> {
        let fail = || {
            ServiceError::invalid(
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

    /// Run `n` of a schedule whose first run is `anchor` (the anchor's day of the month is
    /// kept: monthly from the 31st runs on the last day of shorter months).
    pub fn run(self, anchor: Timestamp, n: u64) -> Timestamp {
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        match self {
            Interval::Seconds(seconds) => Timestamp(anchor.0.saturating_add(seconds.saturating_mul(n))),
            Interval::Months(months) => anchor.add_months(months.saturating_mul(n).min(12 * 20_000)),
        }
    }

    /// The first run after `now` of a schedule anchored at `anchor`: its index and time,
    /// computed, not counted to (a schedule from long ago costs the same as one from today).
    pub fn first_after(self, anchor: Timestamp, now: Timestamp) -> (u64, Timestamp) {
        if now.0 < anchor.0 {
            return (0, anchor);
        }
        let mut n = match self {
            Interval::Seconds(seconds) => ((now.0 - anchor.0) / seconds.max(1)) as u64,
            Interval::Months(months) => {
                let month_of = |t: Timestamp| {
                    let (year, month, _) = t.civil_date();
                    year * 12 + month
                };
                ((month_of(now) - month_of(anchor)).max(0) / months.max(1)) as u64
            }
        };
        // The estimate is within a run or two of the answer: step to the first run after now.
        while n > 0 && self.run(anchor, n - 1).0 > now.0 {
            n -= 1;
        }
        while self.run(anchor, n).0 <= now.0 {
            n += 1;
        }
        (n, self.run(anchor, n))
    }

    /// The first run after `now` of a schedule anchored at `anchor` whose run 0 is the one
    /// being made, and how many runs were missed in between.
    pub fn next_after(self, anchor: Timestamp, now: Timestamp) -> (Timestamp, u64) {
        let (n, at) = self.first_after(anchor, now);
        (at, n.max(1) - 1)
    }

    /// The time one interval after `at`.
    pub fn after(self, at: Timestamp) -> Timestamp {
        match self {
            Interval::Seconds(seconds) => Timestamp(at.0 + seconds),
            Interval::Months(months) => at.add_months(months),
        }
    }
}

/// How far before now and after now a recurring order may start.
const START_BEFORE_SECS: i64 = 366 * 86_400;
const START_AFTER_SECS: i64 = 10 * 366 * 86_400;

fn recurring_change(recurring: &RecurringOrder) -> Result<Change, ServiceError> {
    Ok(Change::Recurring { id: recurring.id.clone(), body: body_of(recurring)?, revision: recurring.revision })
}

impl Service {
    /// Creates a recurring order: its first order is created at `start_at` (default now).
    pub async fn add_recurring(
        &self,
        id: &str,
        every: &str,
        start_at: Option<&str>,
        mut template: SubmittedOrder,
    ) -> Result<RecurringOrder, ServiceError> {
        super::limits::id("id", id)?;
        super::limits::text("id", id, super::limits::MAX_RECURRING_ID)?;
        Interval::parse(every)?;
        let at = now();
        let start = match start_at {
            Some(text) => timestamp("start_at", text)?,
            None => at,
        };
        if start.0 < at.0 - START_BEFORE_SECS || start.0 > at.0 + START_AFTER_SECS {
            return Err(ServiceError::invalid(
                "invalid_field",
                "a recurring order starts within a year before now and ten years after",
            )
            .at("start_at"));
        }
        template.id = format!("{id}-template");
        template.placed_at = None;
        engine_order(&self.catalog(), &template, at).map_err(|e| e.under("order"))?;
        self.delivery_terms(&template).map_err(|e| e.under("order"))?;
        let recurring = RecurringOrder {
            id: id.to_owned(),
            every: every.to_owned(),
            template,
            next_at: start.to_string(),
            anchor_at: Some(start.to_string()),
            next_run: 0,
            active: true,
            orders: Vec::new(),
            history: vec![event(at, EventKind::Created, format!("every {every}, first at {start}"))],
            revision: 1,
        };
        match self.recurring.entry(id.to_owned()) {
            Entry::Occupied(_) => {
                Err(ServiceError::conflict("recurring_exists", format!("recurring order `{id}` exists")))
            }
            Entry::Vacant(vacant) => {
                let change = recurring_change(&recurring)?;
                let slot = Arc::new(AsyncMutex::new(recurring.clone()));
                vacant.insert(Arc::clone(&slot));
                if let Err(error) = self.commit(vec![change]).await {
                    self.recurring.remove(id);
                    return Err(error);
                }
                Ok(recurring)
            }
        }
    }

    fn recurring_slot(&self, id: &str) -> Result<Arc<AsyncMutex<RecurringOrder>>, ServiceError> {
        self.recurring
            .get(id)
            .map(|s| Arc::clone(s.value()))
            .ok_or_else(|| ServiceError::not_found("unknown_recurring", format!("no recurring order `{id}`")))
    }

    /// A recurring order.
    pub async fn recurring(&self, id: &str) -> Result<RecurringOrder, ServiceError> {
        let slot = self.recurring_slot(id)?;
        let recurring = slot.lock().await.clone();
        Ok(recurring)
    }

    /// Stops a recurring order; the orders it created stay.
    pub async fn stop_recurring(&self, id: &str) -> Result<RecurringOrder, ServiceError> {
        let slot = self.recurring_slot(id)?;
        let mut recurring = slot.lock().await;
        if recurring.active {
            let mut next = recurring.clone();
            next.active = false;
            next.revision += 1;
            next.history.push(event(now(), EventKind::Stopped, ""));
            self.commit(vec![recurring_change(&next)?]).await?;
            *recurring = next;
        }
        Ok(recurring.clone())
    }

    /// Creates the orders of every recurring order that is due; returns how many.
    pub async fn run_recurring(&self) -> usize {
        let at = now();
        let slots: Vec<_> = self.recurring.iter().map(|e| Arc::clone(e.value())).collect();
        let mut created = 0;
        for slot in slots {
            let mut recurring = slot.lock().await;
            let due = Timestamp::parse_rfc3339(&recurring.next_at).is_ok_and(|t| t.0 <= at.0);
            if !recurring.active || !due {
                continue;
            }
            let Ok(interval) = Interval::parse(&recurring.every) else { continue };
            let mut next = recurring.clone();
            let order_id = format!("{}-{}", next.id, next.orders.len() + 1);
            let mut submitted = next.template.clone();
            submitted.id = order_id.clone();
            let detail = match self.create_order(submitted, None).await {
                Ok(Created::New(record, _) | Created::Replayed(record)) => {
                    created += 1;
                    let unfilled = record.plan.as_ref().map_or(0, |p| p.unfilled_units());
                    match (record.status, unfilled) {
                        (OrderStatus::Reserved, 0) => format!("order {order_id} reserved"),
                        (OrderStatus::Reserved, n) => format!("order {order_id} reserved; {n} unit(s) out of stock"),
                        (status, _) => format!("order {order_id} {}: nothing could ship", status.name()),
                    }
                }
                Err(error) => format!("order {order_id} failed: {}", error.message()),
            };
            next.orders.push(order_id);
            // The next run after now, skipping runs missed while the service was down.
            let due = Timestamp::parse_rfc3339(&next.next_at).unwrap_or(at);
            let anchor = next.anchor_at.as_deref().and_then(|t| Timestamp::parse_rfc3339(t).ok()).unwrap_or(due);
            let (index, _) = interval.first_after(anchor, at);
            let index = index.max(next.next_run + 1);
            let next_at = interval.run(anchor, index);
            let skipped = index - next.next_run - 1;
            if next.anchor_at.is_none() {
                next.anchor_at = Some(anchor.to_string());
            }
            next.next_run = index;
            next.next_at = next_at.to_string();
            let detail = if skipped > 0 { format!("{detail}; {skipped} missed run(s) skipped") } else { detail };
            next.history.push(event(at, EventKind::Run, detail));
            next.revision += 1;
            let change = match recurring_change(&next) {
                Ok(change) => change,
                Err(error) => {
                    tracing::error!(%error, "cannot encode a recurring order");
                    continue;
                }
            };
            match self.commit(vec![change]).await {
                Ok(()) => *recurring = next,
                Err(error) => tracing::warn!(%error, recurring = %recurring.id, "recurring run not stored"),
            }
        }
        created
    }
}
