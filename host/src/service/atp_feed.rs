//! Stock updates pushed to channels: whenever a SKU's available-to-promise moves (orders
//! reserve or release, shipments, receipts, counts), the sales channels learn of it, one
//! entry per SKU per interval however many orders moved it:
//! - `GET /v1/inventory/changes?since=` reads the numbered feed, for systems that poll;
//! - the webhook event `inventory.atp_changed` pushes the same entry to subscribers.
//!
//! The engine's inventory records which positions changed; each round takes them, compares
//! their ATP with what was last published, and publishes the ones that moved (kits included:
//! a kit's ATP moves with its components). The feed is durable and pruned to
//! `atp_feed_retention` entries.

use std::collections::{BTreeMap, HashMap};

use switchyard_engine::{LocationId, SkuId, kit_atp};

use super::commit::body_of;
use super::{ATP_CHANGED, Service, ServiceError, now};
use crate::records::{AtpChange, LocationAtp};
use crate::store::Change;

/// A page of the ATP feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtpChanges {
    /// Entries after the cursor asked for, oldest first.
    pub changes: Vec<AtpChange>,
    /// The cursor to ask from next time: the last entry's `seq` (or the one asked for).
    pub cursor: u64,
    /// Entries after the cursor asked for were pruned (or it is ahead of the feed): read the
    /// current ATP of every SKU again, then follow the feed from `cursor`.
    pub reset: bool,
}

/// The most entries one read of the feed returns.
pub const MAX_FEED_PAGE: usize = 1_000;

impl Service {
    /// The feed's entries after `since`, at most `limit` (at most [`MAX_FEED_PAGE`]).
    pub fn atp_changes(&self, since: u64, limit: usize) -> AtpChanges {
        let feed = self.atp_feed.lock();
        let oldest = feed.front().map_or(self.next_atp_seq(), |c| c.seq);
        let newest = feed.back().map_or(oldest.saturating_sub(1), |c| c.seq);
        let reset = since.saturating_add(1) < oldest || since > newest.max(oldest.saturating_sub(1));
        let changes: Vec<AtpChange> =
            feed.iter().filter(|c| c.seq > since).take(limit.clamp(1, MAX_FEED_PAGE)).cloned().collect();
        let cursor = changes.last().map_or(if reset { newest } else { since }, |c| c.seq);
        AtpChanges { changes, cursor, reset }
    }

    fn next_atp_seq(&self) -> u64 {
        self.atp_seq.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// At start: what the feed last said of each position is what was published; a position
    /// whose ATP differs now (a change the feed had not published when the process stopped)
    /// is published in the first round. Positions the retained feed never mentions count as
    /// published as they are.
    pub(super) fn reset_published_atp(&self) {
        self.inventory.take_changed();
        let catalog = self.catalog();
        let mut last_said: HashMap<(SkuId, LocationId), u32> = HashMap::new();
        for entry in self.atp_feed.lock().iter() {
            let Some(sku) = catalog.sku_id(&entry.sku) else { continue };
            for location in &entry.locations {
                if let Some(id) = catalog.location_id(&location.location) {
                    last_said.insert((sku, id), location.atp);
                }
            }
        }
        let mut current: Vec<((SkuId, LocationId), u32)> =
            self.inventory.all_positions().into_iter().map(|(sku, p)| ((sku, p.location), p.atp())).collect();
        for product in catalog.products() {
            if let Some(sku) = catalog.sku_id(&product.sku)
                && let Some(kit) = kit_atp(&catalog, &self.inventory, sku)
            {
                current.extend(kit.locations.into_iter().map(|(location, kits)| ((sku, location), kits)));
            }
        }
        let mut published = self.published_atp.lock();
        let mut unpublished: BTreeMap<SkuId, Vec<LocationId>> = BTreeMap::new();
        published.clear();
        for (key, atp) in current {
            match last_said.get(&key) {
                Some(said) if *said != atp => {
                    unpublished.entry(key.0).or_default().push(key.1);
                    published.insert(key, *said);
                }
                _ => {
                    published.insert(key, atp);
                }
            }
        }
        self.atp_unpublished.lock().extend(unpublished);
    }

    /// Publishes the ATP of every SKU that moved since the last round: a feed entry and a
    /// webhook event each, in one commit. Returns how many SKUs were published.
    pub async fn publish_atp_changes(&self) -> Result<usize, ServiceError> {
        // Serving together with other instances: what another published before this one took
        // the publishing over is in memory first (its numbers, what it said of each position).
        self.catch_up_stock().await?;
        let mut changed: BTreeMap<SkuId, Vec<LocationId>> = BTreeMap::new();
        for (sku, locations) in
            std::mem::take(&mut *self.atp_unpublished.lock()).into_iter().chain(self.inventory.take_changed())
        {
            let entry = changed.entry(sku).or_default();
            for location in locations {
                if !entry.contains(&location) {
                    entry.push(location);
                }
            }
        }
        if changed.is_empty() {
            return Ok(0);
        }
        let catalog = self.catalog();
        // Kits whose components moved move too.
        let kits: Vec<SkuId> = catalog
            .products()
            .iter()
            .filter_map(|p| catalog.sku_id(&p.sku))
            .filter(|kit| catalog.kit(*kit).is_some_and(|k| k.components.iter().any(|c| changed.contains_key(&c.sku))))
            .collect();
        let at = now().to_string();
        let mut entries = Vec::new();
        let mut updates: Vec<((SkuId, LocationId), u32)> = Vec::new();
        {
            let published = self.published_atp.lock();
            let mut positions = Vec::new();
            for (sku, locations) in &changed {
                positions.clear();
                self.inventory.positions_into(*sku, &mut positions);
                let now_atp: HashMap<LocationId, u32> = positions.iter().map(|p| (p.location, p.atp())).collect();
                let network: u64 = positions.iter().map(|p| u64::from(p.atp())).sum();
                let moved: Vec<(LocationId, u32)> = locations
                    .iter()
                    .map(|l| (*l, now_atp.get(l).copied().unwrap_or(0)))
                    .filter(|(l, atp)| published.get(&(*sku, *l)).copied().unwrap_or(0) != *atp)
                    .collect();
                if !moved.is_empty() {
                    entries.push((*sku, network, moved));
                }
            }
            for kit in &kits {
                let Some(atp) = kit_atp(&catalog, &self.inventory, *kit) else { continue };
                let now_atp: HashMap<LocationId, u32> = atp.locations.iter().copied().collect();
                let mut locations: Vec<LocationId> =
                    published.keys().filter(|(sku, _)| sku == kit).map(|(_, l)| *l).collect();
                locations.extend(now_atp.keys());
                locations.sort_unstable();
                locations.dedup();
                let moved: Vec<(LocationId, u32)> = locations
                    .into_iter()
                    .map(|l| (l, now_atp.get(&l).copied().unwrap_or(0)))
                    .filter(|(l, kits)| published.get(&(*kit, *l)).copied().unwrap_or(0) != *kits)
                    .collect();
                if !moved.is_empty() {
                    entries.push((*kit, atp.network, moved));
                }
            }
        }
        if entries.is_empty() {
            return Ok(0);
        }
        let mut changes = Vec::new();
        let mut feed_entries = Vec::new();
        let mut queued = Vec::new();
        let first_seq = self.atp_seq.fetch_add(entries.len() as u64, std::sync::atomic::Ordering::Relaxed);
        for (offset, (sku, network, moved)) in entries.into_iter().enumerate() {
            let entry = AtpChange {
                seq: first_seq + offset as u64,
                at: at.clone(),
                sku: catalog.product(sku).sku.clone(),
                atp: network,
                locations: moved
                    .iter()
                    .map(|(l, atp)| LocationAtp { location: catalog.location(*l).id.clone(), atp: *atp })
                    .collect(),
            };
            changes.push(Change::AtpChange { seq: entry.seq, body: Some(body_of(&entry)?) });
            let body = || {
                serde_json::json!({
                    "event": ATP_CHANGED, "at": entry.at, "seq": entry.seq, "sku": entry.sku, "atp": entry.atp,
                    "locations": entry.locations,
                })
            };
            self.queue_event(ATP_CHANGED, body, &mut changes, &mut queued)?;
            updates.extend(moved.iter().map(|(l, atp)| ((sku, *l), *atp)));
            feed_entries.push(entry);
        }
        // Prune the oldest entries past the retention in the same commit.
        let pruned: Vec<u64> = {
            let feed = self.atp_feed.lock();
            let excess = (feed.len() + feed_entries.len()).saturating_sub(self.config.atp_feed_retention.max(1));
            feed.iter().take(excess).map(|c| c.seq).collect()
        };
        changes.extend(pruned.iter().map(|seq| Change::AtpChange { seq: *seq, body: None }));
        if let Err(error) = self.commit(changes).await {
            // Published next round instead.
            self.atp_unpublished.lock().extend(changed);
            return Err(error);
        }
        self.deliveries_queued(queued);
        let published = feed_entries.len();
        {
            let mut feed = self.atp_feed.lock();
            feed.retain(|c| !pruned.contains(&c.seq));
            feed.extend(feed_entries);
        }
        self.published_atp.lock().extend(updates);
        Ok(published)
    }
}
