//! Webhook subscriptions and the delivery of queued events.

use std::sync::Arc;

use super::commit::body_of;
use super::{Service, ServiceError, now, random_hex};
use crate::records::{Delivery, DeliveryStatus, EventKind, Subscription};
use crate::store::Change;
use crate::webhooks::{MAX_ATTEMPTS, attempt, backoff};

impl Service {
    /// Registers a webhook subscription (the reply carries its secret, once).
    pub async fn add_webhook(
        &self,
        url: &str,
        events: Vec<String>,
        secret: Option<String>,
    ) -> Result<Subscription, ServiceError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2048 {
            return Err(ServiceError::invalid("invalid_url", "the url must be an http or https URL").at("url"));
        }
        if events.is_empty() {
            return Err(ServiceError::invalid("invalid_events", "name at least one event, or `*`").at("events"));
        }
        let known = |name: &str| {
            name == "*" || EventKind::ORDER_EVENTS.iter().any(|kind| name.strip_prefix("order.") == Some(kind.name()))
        };
        if let Some((index, bad)) = events.iter().enumerate().find(|(_, e)| !known(e)) {
            return Err(ServiceError::invalid(
                "invalid_events",
                format!("`{bad}` is not an event (`order.reserved`, `order.shipped`, ... or `*`)"),
            )
            .at(format!("events[{index}]")));
        }
        let secret = match secret {
            Some(secret) if secret.len() >= 16 => secret,
            Some(_) => {
                return Err(
                    ServiceError::invalid("invalid_secret", "a secret needs at least 16 characters").at("secret")
                );
            }
            None => random_hex(32)?,
        };
        let id = format!("wh-{}", random_hex(8)?);
        let subscription =
            Subscription { id: id.clone(), url: url.to_owned(), events, secret, created_at: now().to_string() };
        self.commit(vec![Change::Webhook { id: id.clone(), body: Some(body_of(&subscription)?) }]).await?;
        self.webhooks.insert(id, subscription.clone());
        Ok(subscription)
    }

    /// Removes a subscription; its pending deliveries fail at their next attempt.
    pub async fn remove_webhook(&self, id: &str) -> Result<(), ServiceError> {
        if !self.webhooks.contains_key(id) {
            return Err(ServiceError::not_found("unknown_webhook", format!("no webhook `{id}`")));
        }
        self.commit(vec![Change::Webhook { id: id.to_owned(), body: None }]).await?;
        self.webhooks.remove(id);
        Ok(())
    }

    /// Subscriptions (without secrets) and their latest `recent` deliveries, newest first.
    pub fn webhooks(&self, recent: usize) -> Vec<(Subscription, Vec<Delivery>)> {
        let deliveries = self.deliveries.lock();
        let mut out: Vec<(Subscription, Vec<Delivery>)> = self
            .webhooks
            .iter()
            .map(|s| {
                let mut subscription = s.value().clone();
                subscription.secret.clear();
                let latest = deliveries
                    .values()
                    .rev()
                    .filter(|d| d.subscription == subscription.id)
                    .take(recent)
                    .cloned()
                    .collect();
                (subscription, latest)
            })
            .collect();
        out.sort_by(|a, b| a.0.created_at.cmp(&b.0.created_at).then(a.0.id.cmp(&b.0.id)));
        out
    }

    /// Attempts every delivery that is due; returns how many were attempted.
    pub async fn deliver_due(&self) -> usize {
        let _one_at_a_time = self.delivering.lock().await;
        let at = now().0;
        let due: Vec<Delivery> = self
            .deliveries
            .lock()
            .values()
            .filter(|d| d.status == DeliveryStatus::Pending && d.next_attempt_at <= at)
            .cloned()
            .collect();
        let attempted = due.len();
        for mut delivery in due {
            let subscription = self.webhooks.get(&delivery.subscription).map(|s| s.value().clone());
            let result = match subscription {
                None => Err("the subscription was deleted".to_owned()),
                Some(subscription) => {
                    let sent = delivery.clone();
                    tokio::task::spawn_blocking(move || attempt(&subscription.url, &subscription.secret, &sent, at))
                        .await
                        .unwrap_or_else(|e| Err(e.to_string()))
                }
            };
            delivery.attempts += 1;
            match result {
                Ok(status) if (200..300).contains(&status) => {
                    delivery.status = DeliveryStatus::Delivered;
                    delivery.last_status = Some(status);
                    delivery.last_error = None;
                }
                other => {
                    match other {
                        Ok(status) => {
                            delivery.last_status = Some(status);
                            delivery.last_error = Some(format!("the subscriber answered HTTP {status}"));
                        }
                        Err(error) => delivery.last_error = Some(error),
                    }
                    let deleted = !self.webhooks.contains_key(&delivery.subscription);
                    if delivery.attempts >= MAX_ATTEMPTS || deleted {
                        delivery.status = DeliveryStatus::Failed;
                    } else {
                        delivery.next_attempt_at = at + backoff(delivery.attempts);
                    }
                }
            }
            let change = match body_of(&delivery) {
                Ok(body) => Change::Delivery { id: delivery.id, body },
                Err(error) => {
                    tracing::error!(%error, "cannot encode a delivery");
                    continue;
                }
            };
            if let Err(error) = self.commit(vec![change]).await {
                // Kept pending in memory: retried, and delivered at least once.
                tracing::warn!(%error, delivery = delivery.id, "delivery outcome not stored");
            }
            self.deliveries.lock().insert(delivery.id, delivery);
        }
        attempted
    }

    /// Delivers webhooks forever: when events are queued, and twice a second for retries.
    pub async fn run_deliveries(self: Arc<Self>) {
        loop {
            if self.claim(crate::store::Work::Webhooks).await {
                self.deliver_due().await;
            }
            tokio::select! {
                () = self.delivery_wakeup.notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            }
        }
    }
}
