//! Webhook subscriptions and the delivery of queued events.
//!
//! Each subscriber has its own lane: its due deliveries are attempted in order, and a lane
//! that fails stops and backs off, so one slow or dead subscriber delays only itself. At most
//! `webhook_concurrency` lanes run at once. An event's JSON is stored once, its deliveries
//! refer to it; finished deliveries beyond `delivery_retention` per subscriber are pruned with
//! the events nobody refers to any more.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::commit::body_of;
use super::{Service, ServiceError, limits, now, random_hex};
use crate::records::{Delivery, DeliveryStatus, EventKind, Subscription};
use crate::store::{Change, Work};
use crate::webhooks::{Attempt, MAX_ATTEMPTS, attempt, backoff, parse_url, resolve};

/// Deliveries one lane attempts per round before the others get their turn.
const LANE_BATCH: usize = 50;

/// Whether `name` is an event a subscription may ask for.
pub(super) fn is_event_name(name: &str) -> bool {
    name == "*"
        || name == crate::service::ATP_CHANGED
        || EventKind::ORDER_EVENTS.iter().any(|kind| name.strip_prefix("order.") == Some(kind.name()))
}

impl Service {
    /// Registers a webhook subscription (the reply carries its secret, once).
    pub async fn add_webhook(
        &self,
        url: &str,
        events: Vec<String>,
        secret: Option<String>,
    ) -> Result<Subscription, ServiceError> {
        let invalid_url = |message: String| ServiceError::invalid("invalid_url", message).at("url");
        if url.chars().count() > limits::MAX_URL {
            return Err(invalid_url(format!("the url is longer than {} characters", limits::MAX_URL)));
        }
        let parsed = parse_url(url).map_err(invalid_url)?;
        if events.is_empty() || events.len() > limits::MAX_WEBHOOK_EVENTS {
            let message = format!("name 1-{} events, or `*`", limits::MAX_WEBHOOK_EVENTS);
            return Err(ServiceError::invalid("invalid_events", message).at("events"));
        }
        if let Some((index, bad)) = events.iter().enumerate().find(|(_, e)| !is_event_name(e)) {
            return Err(ServiceError::invalid(
                "invalid_events",
                format!(
                    "`{bad}` is not an event (`order.reserved`, `order.shipped`, ..., `inventory.atp_changed` or `*`)"
                ),
            )
            .at(format!("events[{index}]")));
        }
        let secret = match secret {
            Some(secret) if limits::WEBHOOK_SECRET.contains(&secret.chars().count()) => secret,
            Some(_) => {
                let (least, most) = (limits::WEBHOOK_SECRET.start(), limits::WEBHOOK_SECRET.end());
                let message = format!("a secret has {least}-{most} characters");
                return Err(ServiceError::invalid("invalid_secret", message).at("secret"));
            }
            None => random_hex(32)?,
        };
        if self.webhooks.len() >= self.config.max_webhooks {
            return Err(ServiceError::conflict(
                "too_many_webhooks",
                format!("there are {} subscriptions, the most this service keeps", self.webhooks.len()),
            ));
        }
        // A name that resolves inside the network is refused now; delivery checks again.
        if let Err(message) = resolve(&parsed, self.config.allow_private_webhooks).await
            && message.contains("internal address")
        {
            return Err(invalid_url(message));
        }
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

    /// Subscriptions (without secrets) and their latest `recent` deliveries, newest first,
    /// each with the body it sends.
    pub fn webhooks(&self, recent: usize) -> Vec<(Subscription, Vec<Delivery>)> {
        let deliveries = self.deliveries.lock();
        let events = self.events.lock();
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
                    .map(|d| {
                        let mut d = d.clone();
                        if let Some(body) = d.event_id.and_then(|id| events.get(&id)) {
                            d.body = body.to_string();
                        }
                        d
                    })
                    .collect();
                (subscription, latest)
            })
            .collect();
        out.sort_by(|a, b| a.0.created_at.cmp(&b.0.created_at).then(a.0.id.cmp(&b.0.id)));
        out
    }

    // Starts a lane for every subscriber with deliveries due and none running; returns the
    // lanes, and how many deliveries they hold.
    fn start_due_lanes(self: &Arc<Self>) -> (Vec<tokio::task::JoinHandle<()>>, usize) {
        let at = now().0;
        let mut due: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
        {
            let deliveries = self.deliveries.lock();
            let lanes = self.lanes_running.lock();
            let backed_off = self.lane_backoff.lock();
            for delivery in deliveries.values() {
                if delivery.status != DeliveryStatus::Pending
                    || delivery.next_attempt_at > at
                    || lanes.contains(&delivery.subscription)
                    || backed_off.get(&delivery.subscription).is_some_and(|until| *until > at)
                {
                    continue;
                }
                let lane = due.entry(delivery.subscription.clone()).or_default();
                if lane.len() < LANE_BATCH {
                    lane.push(delivery.clone());
                }
            }
        }
        let count = due.values().map(Vec::len).sum();
        let mut handles = Vec::with_capacity(due.len());
        for (subscription, batch) in due {
            self.lanes_running.lock().insert(subscription.clone());
            let service = Arc::clone(self);
            handles.push(tokio::spawn(async move {
                service.run_lane(&subscription, batch).await;
                service.lanes_running.lock().remove(&subscription);
            }));
        }
        (handles, count)
    }

    /// Attempts every delivery that is due, each subscriber in its own lane, and waits for
    /// them; returns how many were due.
    pub async fn deliver_due(self: &Arc<Self>) -> usize {
        let (lanes, count) = self.start_due_lanes();
        for lane in lanes {
            if let Err(error) = lane.await {
                tracing::error!(%error, "a webhook lane failed");
            }
        }
        count
    }

    // One subscriber's due deliveries, in order, until one fails.
    async fn run_lane(&self, subscription_id: &str, batch: Vec<Delivery>) {
        let Ok(_permit) = self.lanes.acquire().await else { return };
        let subscription = self.webhooks.get(subscription_id).map(|s| s.value().clone());
        // The subscriber's addresses, checked once per round (not per delivery).
        let target = match &subscription {
            None => Err("the subscription was deleted".to_owned()),
            Some(s) => match parse_url(&s.url) {
                Ok(url) => resolve(&url, self.config.allow_private_webhooks).await.map(|addresses| (url, addresses)),
                Err(error) => Err(error),
            },
        };
        for mut delivery in batch {
            let at = now().0;
            let body = self.body_of_delivery(&delivery);
            let result = match (&subscription, &target) {
                (Some(s), Ok((url, addresses))) => {
                    let attempt_of = Attempt {
                        url,
                        addresses,
                        secret: &s.secret,
                        event: &delivery.event,
                        delivery: delivery.id,
                        body: &body,
                        now: at,
                    };
                    attempt(&attempt_of).await
                }
                (_, Err(error)) => Err(error.clone()),
                (None, _) => Err("the subscription was deleted".to_owned()),
            };
            delivery.attempts += 1;
            let ok = matches!(result, Ok(status) if (200..300).contains(&status));
            match result {
                Ok(status) if ok => {
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
                        Err(error) => delivery.last_error = Some(error.chars().take(500).collect()),
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
                Ok(body) => Change::Delivery { id: delivery.id, body: Some(body) },
                Err(error) => {
                    tracing::error!(%error, "cannot encode a delivery");
                    break;
                }
            };
            match self.commit(vec![change]).await {
                Ok(()) => {
                    if delivery.status != DeliveryStatus::Pending {
                        self.count_pending(&delivery.subscription, -1);
                    }
                    let next_attempt = delivery.next_attempt_at;
                    self.deliveries.lock().insert(delivery.id, delivery);
                    if !ok {
                        // The whole lane waits as long as its failed delivery does.
                        self.lane_backoff.lock().insert(subscription_id.to_owned(), next_attempt);
                        break;
                    }
                    self.lane_backoff.lock().remove(subscription_id);
                }
                Err(error) => {
                    // Memory keeps the delivery as stored (pending): it is attempted again.
                    tracing::warn!(%error, delivery = delivery.id, "delivery outcome not stored");
                    break;
                }
            }
        }
        self.prune_deliveries(subscription_id).await;
    }

    // The JSON a delivery sends: its event's, or its own (stored before events were shared).
    fn body_of_delivery(&self, delivery: &Delivery) -> String {
        match delivery.event_id.and_then(|id| self.events.lock().get(&id).cloned()) {
            Some(body) => body.to_string(),
            None => delivery.body.clone(),
        }
    }

    // Adds `delta` to a subscription's count of pending deliveries.
    pub(super) fn count_pending(&self, subscription: &str, delta: i64) {
        let mut counts = self.pending_deliveries.lock();
        let count = counts.entry(subscription.to_owned()).or_insert(0);
        *count = count.saturating_add_signed(delta as isize);
    }

    // Drops a subscription's finished deliveries beyond the retention, and the events no
    // delivery refers to any more.
    async fn prune_deliveries(&self, subscription: &str) {
        let (deliveries, events) = {
            let deliveries = self.deliveries.lock();
            let finished: Vec<&Delivery> = deliveries
                .values()
                .filter(|d| d.subscription == subscription && d.status != DeliveryStatus::Pending)
                .collect();
            let excess = finished.len().saturating_sub(self.config.delivery_retention);
            let dropped: Vec<(u64, Option<u64>)> = finished.iter().take(excess).map(|d| (d.id, d.event_id)).collect();
            let dropped_ids: HashSet<u64> = dropped.iter().map(|(id, _)| *id).collect();
            let candidates: HashSet<u64> = dropped.iter().filter_map(|(_, event)| *event).collect();
            let still_used: HashSet<u64> = deliveries
                .values()
                .filter(|d| !dropped_ids.contains(&d.id))
                .filter_map(|d| d.event_id)
                .filter(|id| candidates.contains(id))
                .collect();
            let events: Vec<u64> = candidates.difference(&still_used).copied().collect();
            (dropped_ids, events)
        };
        if deliveries.is_empty() {
            return;
        }
        let mut changes: Vec<Change> = deliveries.iter().map(|id| Change::Delivery { id: *id, body: None }).collect();
        changes.extend(events.iter().map(|id| Change::WebhookEvent { id: *id, body: None }));
        if let Err(error) = self.commit(changes).await {
            tracing::warn!(%error, subscription, "old deliveries not pruned");
            return;
        }
        let mut stored = self.deliveries.lock();
        for id in &deliveries {
            stored.remove(id);
        }
        drop(stored);
        let mut stored = self.events.lock();
        for id in &events {
            stored.remove(id);
        }
    }

    /// Delivers webhooks forever: when events are queued, and twice a second for retries.
    /// Lanes run on their own: a slow subscriber never holds this loop.
    pub async fn run_deliveries(self: Arc<Self>) {
        loop {
            if self.claim(Work::Webhooks).await {
                drop(self.start_due_lanes());
            }
            tokio::select! {
                () = self.delivery_wakeup.notified() => {}
                () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
            }
        }
    }
}
