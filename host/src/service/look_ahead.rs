//! Look-ahead pricing of scarce stock for the policies that ask for it (`look ahead { ... }`
//! in the policy language; docs/OPTIMIZER.md, "The stream").
//!
//! A version whose policy declares look-ahead routes through a
//! [`switchyard_engine::lookahead::LookAheadPolicy`]: each unit's opportunity cost (times the
//! policy's weight) is added to its unit cost. The costs are solved here, on a schedule
//! (`look_ahead_every_secs`) and on demand (`POST /v1/look-ahead`), never on an order's path:
//! the demand of the orders placed over the policy's `history` (every order in the store,
//! whichever instance took it), scaled to its `horizon` and spread over regions around the
//! distribution centres, is matched against the stock now by one transportation LP per SKU
//! (clarabel), each unit priced by the policy itself. Routing reads the last prices; until the
//! first solve there are none and the policy routes as it would without the block.
//!
//! Every instance solves its own: the prices live in its memory beside the compiled version.

use std::sync::Arc;
use std::time::Instant;

use switchyard_engine::lookahead::{Demand, OpportunityCosts, Regions, opportunity_costs};
use switchyard_engine::{Catalog, Inventory, Order, SkuId, Timestamp};

use super::validate::engine_order;
use super::{Service, ServiceError, now};
use crate::records::OrderRecord;
use crate::store::OrderQuery;

/// The most orders one solve reads from the store (the newest, when the history holds more).
pub const MAX_LOOK_AHEAD_ORDERS: usize = 200_000;

/// The most priced (SKU, location) pairs a report lists per version, dearest first.
pub const REPORTED_PRICES: usize = 100;

/// What the last solve of every version that looks ahead found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LookAheadReport {
    /// When it was solved (seconds since the epoch); `None` before the first solve.
    pub solved_at: Option<i64>,
    /// Per version, in upload order.
    pub versions: Vec<LookAheadSolve>,
}

/// One version's solve.
#[derive(Clone, Debug, PartialEq)]
pub struct LookAheadSolve {
    /// The version's id.
    pub version: String,
    /// The policy's name.
    pub policy: String,
    /// Weight of the opportunity cost.
    pub weight: f64,
    /// Seconds of past orders the demand came from.
    pub history_secs: i64,
    /// Seconds of future demand priced.
    pub horizon_secs: i64,
    /// Orders placed over the history.
    pub orders: usize,
    /// SKU LPs solved.
    pub solved: usize,
    /// SKU LPs the solver could not finish (their SKUs carry no opportunity cost).
    pub failed: usize,
    /// (SKU, location) pairs with an opportunity cost.
    pub priced: usize,
    /// The dearest of them, at most [`REPORTED_PRICES`].
    pub prices: Vec<StockPrice>,
    /// Milliseconds the solve took.
    pub took_ms: f64,
}

/// The opportunity cost of taking one unit of a SKU from a location.
#[derive(Clone, Debug, PartialEq)]
pub struct StockPrice {
    /// The SKU.
    pub sku: String,
    /// The location.
    pub location: String,
    /// The cost, per unit.
    pub cost: f64,
}

impl Service {
    /// Solves the opportunity costs of every version live bindings route with that looks
    /// ahead, and puts them in place (see the module). One solve at a time.
    pub async fn solve_look_ahead(&self) -> Result<LookAheadReport, ServiceError> {
        let _one_at_a_time = self.looking_ahead.lock().await;
        let at = now();
        let versions = self.registry.looking_ahead();
        let mut report = LookAheadReport { solved_at: Some(at.0), versions: Vec::new() };
        let Some(longest) =
            versions.iter().filter_map(|v| v.look_ahead.as_ref()?.settings()).map(|s| s.history_secs).max()
        else {
            *self.look_ahead_report.write() = Arc::new(report.clone());
            return Ok(report);
        };
        let catalog = self.catalog();
        let orders = Arc::new(self.placed_since(&catalog, at.0 - longest).await?);
        let mut skus: Vec<SkuId> = orders.iter().flat_map(|o| o.lines.iter().map(|l| l.sku)).collect();
        skus.sort_unstable();
        skus.dedup();
        for version in versions {
            let Some(wrapper) = version.look_ahead.clone() else { continue };
            let Some(settings) = wrapper.settings() else { continue };
            let started = Instant::now();
            let stock = self.stock_copy(&skus);
            let (catalog, orders) = (Arc::clone(&catalog), Arc::clone(&orders));
            let from = at.0 - settings.history_secs;
            let solving = Arc::clone(&wrapper);
            let solved = tokio::task::spawn_blocking(move || {
                let regions = Regions::around_centres(&catalog);
                let seen: Vec<&Order> = orders.iter().filter(|o| o.placed_at.0 >= from).collect();
                let demand = Demand::of_orders_by_region_share(seen.iter().copied(), &regions, settings.scale());
                let solved = opportunity_costs(&catalog, &stock, solving.inner(), &regions, &demand, at);
                (seen.len(), solved.map(|(costs, lps)| (prices_of(&catalog, &costs), costs, lps)))
            })
            .await
            .map_err(|e| ServiceError::internal(format!("the look-ahead solve stopped: {e}")))?;
            let (seen, solved) = solved;
            let mut solve = LookAheadSolve {
                version: version.meta.version.clone(),
                policy: version.meta.name.clone(),
                weight: settings.weight,
                history_secs: settings.history_secs,
                horizon_secs: settings.horizon_secs,
                orders: seen,
                solved: 0,
                failed: 0,
                priced: 0,
                prices: Vec::new(),
                took_ms: 0.0,
            };
            match solved {
                Ok((prices, costs, lps)) => {
                    solve.solved = lps.solved;
                    solve.failed = lps.failed;
                    solve.priced = costs.len();
                    solve.prices = prices;
                    wrapper.set_costs(costs);
                }
                // The prices stay as they were; the next solve tries again.
                Err(error) => {
                    tracing::warn!(version = %version.meta.version, %error, "a look-ahead solve failed");
                    solve.failed += 1;
                }
            }
            solve.took_ms = started.elapsed().as_secs_f64() * 1e3;
            report.versions.push(solve);
        }
        *self.look_ahead_report.write() = Arc::new(report.clone());
        Ok(report)
    }

    /// The last solve's report.
    pub fn look_ahead_report(&self) -> Arc<LookAheadReport> {
        Arc::clone(&self.look_ahead_report.read())
    }

    // The orders placed at or after `since`, newest first, in their engine form (an order that
    // no longer reads against the catalog, its SKU removed, is left out).
    async fn placed_since(&self, catalog: &Catalog, since: i64) -> Result<Vec<Order>, ServiceError> {
        const CHUNK: usize = 1_000;
        let mut query = OrderQuery { since: Some(since), limit: CHUNK, ..OrderQuery::default() };
        let mut orders = Vec::new();
        let mut read = 0;
        while read < MAX_LOOK_AHEAD_ORDERS {
            let chunk = self.store.list_orders(query.clone()).await?;
            let complete = chunk.len() == CHUNK;
            for (placed, id, body) in chunk {
                read += 1;
                let order = serde_json::from_str::<OrderRecord>(&body)
                    .ok()
                    .and_then(|record| engine_order(catalog, &record.request, Timestamp(placed)).ok());
                if let Some(mut order) = order {
                    order.placed_at = Timestamp(placed);
                    orders.push(order);
                }
                query.after = Some((placed, id));
            }
            if !complete {
                break;
            }
        }
        Ok(orders)
    }

    // A private copy of the stock of `skus` and of every location's shipments per day, for a
    // solve to read while orders keep coming.
    pub(super) fn stock_copy(&self, skus: &[SkuId]) -> Inventory {
        let copy = Inventory::new();
        let mut positions = Vec::new();
        for &sku in skus {
            positions.clear();
            self.inventory.positions_into(sku, &mut positions);
            for position in &positions {
                copy.set_stock(sku, position.location, position.on_hand, position.safety_stock);
                copy.apply_delta(sku, position.location, 0, i64::from(position.reserved), 0);
            }
        }
        for (location, day, count) in self.inventory.all_shipment_counts() {
            copy.apply_shipment_delta(location, day, i64::from(count));
        }
        copy
    }
}

// The dearest priced pairs, by SKU and location id.
fn prices_of(catalog: &Catalog, costs: &OpportunityCosts) -> Vec<StockPrice> {
    let mut all: Vec<StockPrice> = costs
        .iter()
        .map(|((sku, location), cost)| StockPrice {
            sku: catalog.product(sku).sku.clone(),
            location: catalog.location(location).id.clone(),
            cost,
        })
        .collect();
    all.sort_by(|a, b| {
        b.cost.total_cmp(&a.cost).then_with(|| a.sku.cmp(&b.sku)).then_with(|| a.location.cmp(&b.location))
    });
    all.truncate(REPORTED_PRICES);
    all
}
