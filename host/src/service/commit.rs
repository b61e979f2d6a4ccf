//! Making changes durable: every write of the service reaches the store here, and the one
//! rollback guard that undoes in memory what a failed step left behind.

use std::time::Instant;

use serde::Serialize;

use super::{Service, ServiceError};
use crate::records::{Delivery, DeliveryStatus, OrderRecord};
use crate::store::Change;

impl Service {
    /// Makes `changes` durable together; `Unavailable` when the store did not.
    pub(super) async fn commit(&self, changes: Vec<Change>) -> Result<(), ServiceError> {
        let started = Instant::now();
        let result = self.store.commit(changes).await;
        self.metrics.commit.observe(started.elapsed());
        result.map_err(ServiceError::from)
    }

    /// Commits an order change with `extra` changes, and a webhook delivery for every
    /// timeline event after the first `seen` and every subscriber that wants it, all in one
    /// commit; the deliveries are queued in memory once it is durable.
    pub(super) async fn commit_order(
        &self,
        seen: usize,
        next: &OrderRecord,
        extra: Vec<Change>,
    ) -> Result<(), ServiceError> {
        let mut changes = vec![order_change(next)?];
        changes.extend(extra);
        let mut queued = Vec::new();
        for event in next.history.iter().skip(seen) {
            let name = format!("order.{}", event.event.name());
            for subscription in self.webhooks.iter().filter(|s| s.wants(&name)) {
                let body = serde_json::json!({ "event": name, "at": event.at, "detail": event.detail, "order": next });
                let delivery = Delivery {
                    id: self.next_delivery.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                    subscription: subscription.id.clone(),
                    event: name.clone(),
                    body: body.to_string(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    next_attempt_at: 0,
                    last_status: None,
                    last_error: None,
                };
                changes.push(Change::Delivery { id: delivery.id, body: body_of(&delivery)? });
                queued.push(delivery);
            }
        }
        self.commit(changes).await?;
        if !queued.is_empty() {
            let mut deliveries = self.deliveries.lock();
            for delivery in queued {
                deliveries.insert(delivery.id, delivery);
            }
            drop(deliveries);
            self.delivery_wakeup.notify_one();
        }
        Ok(())
    }
}

/// The JSON a record is stored as.
pub(super) fn body_of(record: &impl Serialize) -> Result<String, ServiceError> {
    serde_json::to_string(record).map_err(|e| ServiceError::internal(format!("cannot encode a record: {e}")))
}

/// The change that stores an order.
pub(super) fn order_change(record: &OrderRecord) -> Result<Change, ServiceError> {
    Ok(Change::Order {
        id: record.id.clone(),
        idempotency_key: record.idempotency_key.clone(),
        status: record.status.name().to_owned(),
        body: body_of(record)?,
    })
}

/// Undoes, when dropped armed, what the steps of an operation did in memory before their
/// change was durable: each step registers its undo as it goes, and the operation disarms
/// the guard once the commit succeeded. A failed step, an early return or a panic all leave
/// memory as it was. (The API runs writes to completion, so a client that goes away does not
/// drop an operation half-way.)
pub(super) struct Rollback<'a> {
    undo: Vec<Box<dyn FnOnce() + Send + 'a>>,
}

impl<'a> Rollback<'a> {
    /// Nothing to undo yet.
    pub(super) fn new() -> Rollback<'a> {
        Rollback { undo: Vec::new() }
    }

    /// Registers an undo; undos run in reverse order.
    pub(super) fn on_failure(&mut self, undo: impl FnOnce() + Send + 'a) {
        self.undo.push(Box::new(undo));
    }

    /// The operation succeeded: nothing is undone.
    pub(super) fn disarm(mut self) {
        self.undo.clear();
    }
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        while let Some(undo) = self.undo.pop() {
            undo();
        }
    }
}
