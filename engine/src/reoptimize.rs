//! Re-optimising a pool of orders routed but not yet released to their locations.
//!
//! Each order of the pool was routed optimally on the stock it found, one at a time. Once
//! later orders are known, the pool can often ship for less together: an order that took the
//! last units next to a city forced the next city order into a split. [`reoptimize_pool`]
//! improves the pool by local search, every move priced under each order's own policy:
//!
//! - **re-route one order** on the stock free now plus what it holds;
//! - **exchange two orders' stock**: both orders' units given back, both routed again in either
//!   order, the cheaper pair of plans kept;
//! - **a chain of exchanges** (an ejection chain, up to [`ReoptimizeSettings::chain`] orders):
//!   the first order takes units a partner holds, the partner routes again with units one of
//!   its own partners holds, and so on, until the last order of the chain routes on what is
//!   free. A cyclic exchange is one where the last takes what the first gave up. Each link is
//!   followed only while the chain so far still saves, so most chains end at their first
//!   link: an order that gains nothing from a partner's units starts none.
//!
//! A move is kept only if it lowers the cost of the orders it changes (so the pool's total
//! never rises) and leaves no more units unfilled; a plan an order's `admits` refuses is never
//! kept. The search works from a list: the first round tries the moves of every order not
//! `settled` (an earlier pass found nothing for it, and nothing it holds changed since), each
//! later round those of the orders a kept move changed and of their partners, until the list
//! is empty, the round limit or the time limit. Orders left on the list are
//! [`PoolOutcome::pending`]: the next pass should try them.
//!
//! Local moves see a few orders at a time. With [`ReoptimizeSettings::replan_rounds`] (the
//! service's and `simulate`'s full passes) a pass first **re-plans the whole pool under
//! prices**: every movable order gives its units back; a subgradient search (the Lagrangian
//! bound's, `bound::search_prices`, started from the duals of transportation LPs of the pool's
//! own demand) puts prices on the stock and daily capacity the orders contend for, each order
//! routed exactly under its own policy with the prices added; then the orders are routed again
//! one by one in the order they came, each under its own policy plus those prices, on what the
//! ones before left, and the local search runs on the result (every movable order on its
//! list). Priced, an early order leaves the contended unit to the later order that needs it
//! more. The whole re-plan is kept only if the pool then costs less (each plan priced under
//! its own policy, without the prices) and leaves no more units unfilled in total; otherwise
//! the pool goes back to its plans and the local search runs on them as it would have.
//!
//! Everything happens on the inventory given: the caller passes a private copy when others use
//! the live one (see the service's pass), or the live one when it alone routes (a replay).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::bound::{PricedPolicy, Relax, SearchLimits, search_prices, warm_prices};
use crate::catalog::Catalog;
use crate::domain::{LocationId, Order, SkuId};
use crate::inventory::{Inventory, InventoryError, Reservation};
use crate::plan::{Plan, PlanStatus};
use crate::policy::Policy;
use crate::router::{Router, RouterConfig, Workspace};

/// What an order's new plan must also satisfy (its carrier can take the parcels, say).
pub type Admits<'a> = dyn Fn(&Plan) -> bool + Sync + 'a;

/// One order of the pool: routed and holding `reservation` in the inventory given.
pub struct PoolOrder<'a> {
    /// The order as it was routed.
    pub order: &'a Order,
    /// The policy that prices it (its binding's, with whatever the order's terms add: excluded
    /// locations, a delivery deadline).
    pub policy: &'a dyn Policy,
    /// Its plan now; replaced when a move changes it.
    pub plan: Plan,
    /// What it holds now; replaced with the plan.
    pub reservation: Reservation,
    /// A further check of a new plan; `None` admits every plan the policy allows.
    pub admits: Option<&'a Admits<'a>>,
    /// An earlier pass tried its moves and none paid, and it has not changed since: its moves
    /// are tried again only if a move changes one of its partners (the caller says; `false`
    /// tries it whatever happened).
    pub settled: bool,
}

/// How often, in seconds, a service or replay should run a full pass (every unreleased order
/// tried, settled or not) between its incremental ones: a settled order can gain from stock
/// that others freed meanwhile.
pub const FULL_PASS_EVERY_SECS: i64 = 3600;

/// Limits of one pass.
#[derive(Clone, Debug, PartialEq)]
pub struct ReoptimizeSettings {
    /// Rounds at most (a round tries the moves of every order on the list once).
    pub rounds: usize,
    /// Partners an order tries exchanges with, at most: the orders holding most of its SKUs.
    pub partners: usize,
    /// Stop starting moves after this long (the moves kept stay kept).
    pub time_limit: Option<Duration>,
    /// Orders in a chain of exchanges, at most: 2 or less tries pairs only.
    pub chain: usize,
    /// Rounds of the price search of a re-plan of the whole pool before the local search
    /// (see the module); 0 (the default) re-plans nothing. [`REPLAN_ROUNDS`] for a full pass.
    pub replan_rounds: usize,
}

impl Default for ReoptimizeSettings {
    fn default() -> ReoptimizeSettings {
        ReoptimizeSettings { rounds: 4, partners: 6, time_limit: None, chain: 3, replan_rounds: 0 }
    }
}

/// Rounds of the price search a full pass spends on re-planning the pool
/// ([`ReoptimizeSettings::replan_rounds`]).
pub const REPLAN_ROUNDS: usize = 30;

/// The most rounds a re-plan's price search may be given (the service's and `simulate`'s
/// limit: each round routes the whole pool).
pub const MAX_REPLAN_ROUNDS: usize = 1000;

/// What a pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolOutcome {
    /// Cost of the movable orders' plans before, under their policies now.
    pub cost_before: f64,
    /// The same after the pass.
    pub cost_after: f64,
    /// For each order changed (index in the pool, ascending): its cost before and after.
    pub changed: Vec<Rerouted>,
    /// Moves tried.
    pub tried: usize,
    /// Moves kept.
    pub kept: usize,
    /// Orders left alone: their plan is one their policy no longer allows or cannot price.
    pub unmovable: usize,
    /// The pass stopped at its time limit.
    pub timed_out: bool,
    /// The pool was re-planned under prices, and that (with the local search after it) is
    /// what the pass kept.
    pub replanned: bool,
    /// Orders (indexes, ascending) whose moves are still to try, as the time or round limit
    /// came first; every other order is settled for the next pass unless it changes.
    pub pending: Vec<usize>,
}

/// One order a pass changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Rerouted {
    /// Index in the pool.
    pub index: usize,
    /// Its cost before the pass.
    pub before: f64,
    /// Its cost after.
    pub after: f64,
}

// A move must save more than this (relative to the cost it replaces) to be kept: rounding
// noise never makes two plans trade places forever.
const MIN_SAVING: f64 = 1e-9;

/// Re-optimises `pool` on `inventory` (which holds every pool order's reservation), as the
/// module says. Orders whose plan their policy no longer allows (or fails on) are left as they
/// are and counted in [`PoolOutcome::unmovable`]. Fails only if the inventory refuses to give
/// back what an order holds (the caller's inventory does not hold the pool's reservations).
pub fn reoptimize_pool(
    catalog: &Catalog,
    inventory: &Inventory,
    config: &RouterConfig,
    pool: &mut [PoolOrder<'_>],
    settings: &ReoptimizeSettings,
) -> Result<PoolOutcome, InventoryError> {
    let started = Instant::now();
    let mut workspace = Workspace::default();
    let mut outcome = PoolOutcome::default();
    // Each order's cost now (None: not movable).
    let mut cost: Vec<Option<f64>> = Vec::with_capacity(pool.len());
    for entry in pool.iter() {
        let router = Router { catalog, inventory, policy: entry.policy, config };
        let priced = match entry.plan.status {
            PlanStatus::Routed => router.price(entry.order, &entry.plan, &mut workspace).ok(),
            PlanStatus::Rejected { .. } => None,
        };
        match priced.filter(|price| price.broken.is_empty()) {
            Some(price) => cost.push(Some(price.cost.total())),
            None => {
                outcome.unmovable += 1;
                cost.push(None);
            }
        }
    }
    let before: Vec<Option<f64>> = cost.clone();
    // What each order holds and ships now: an order is changed when these differ after the
    // pass (an exchange may move a partner to another plan of the same cost; a plan routed
    // again the same way is no change, whatever rounding its costs picked up).
    let started_with: Vec<(Reservation, Vec<Routing>)> =
        pool.iter().map(|e| (e.reservation.clone(), routing(&e.plan))).collect();
    outcome.cost_before = cost.iter().flatten().sum();
    let mut search = Search { catalog, inventory, config, workspace, tried: 0 };
    let mut list: Vec<usize> = (0..pool.len()).filter(|&i| cost[i].is_some() && !pool[i].settled).collect();
    if settings.replan_rounds > 0
        && let Some(originals) = search.replan(pool, &mut cost, settings, started)?
    {
        // Every movable order is new to the search after a re-plan.
        let all: Vec<usize> = (0..pool.len()).filter(|&i| cost[i].is_some()).collect();
        let mut tried = PoolOutcome::default();
        let pending = local_search(&mut search, pool, &mut cost, settings, started, all, &mut tried)?;
        let after: f64 = cost.iter().flatten().sum();
        let unfilled = |pool: &[PoolOrder<'_>]| -> u64 {
            pool.iter().enumerate().filter(|(i, _)| before[*i].is_some()).map(|(_, e)| e.plan.unfilled_units()).sum()
        };
        let short_before: u64 = originals.iter().flatten().map(|(plan, _)| plan.unfilled_units()).sum();
        if after < outcome.cost_before - MIN_SAVING * outcome.cost_before.abs().max(1.0)
            && unfilled(pool) <= short_before
        {
            outcome.replanned = true;
            outcome.kept = tried.kept;
            outcome.timed_out = tried.timed_out;
            list = pending;
        } else {
            // Not cheaper than the plans the pool had: back to them.
            for (i, original) in originals.into_iter().enumerate() {
                let Some((plan, reservation)) = original else { continue };
                inventory.release(&pool[i].reservation)?;
                pool[i].plan = plan;
                pool[i].reservation = reservation;
                cost[i] = before[i];
            }
            for (i, entry) in pool.iter().enumerate() {
                if before[i].is_some() {
                    inventory.reserve(&entry.reservation)?;
                }
            }
        }
    }
    if !outcome.replanned {
        list = local_search(&mut search, pool, &mut cost, settings, started, list, &mut outcome)?;
    }
    outcome.pending = list;
    outcome.tried = search.tried;
    outcome.cost_after = cost.iter().flatten().sum();
    for (index, (before, after)) in before.iter().zip(&cost).enumerate() {
        let entry = &pool[index];
        if let (Some(before), Some(after)) = (before, after)
            && (entry.reservation != started_with[index].0 || routing(&entry.plan) != started_with[index].1)
        {
            outcome.changed.push(Rerouted { index, before: *before, after: *after });
        }
    }
    Ok(outcome)
}

// Where a plan ships each line's units from: (location, line, units), shipment by shipment.
type Routing = (LocationId, Vec<(usize, u32)>);

fn routing(plan: &Plan) -> Vec<Routing> {
    plan.shipments.iter().map(|s| (s.location, s.lines.iter().map(|l| (l.line, l.qty)).collect())).collect()
}

// The local search from the orders of `list` (as the module says), its moves and whether it
// timed out counted in `outcome`: the orders whose moves are still to try, ascending.
fn local_search(
    search: &mut Search<'_>,
    pool: &mut [PoolOrder<'_>],
    cost: &mut [Option<f64>],
    settings: &ReoptimizeSettings,
    started: Instant,
    mut list: Vec<usize>,
    outcome: &mut PoolOutcome,
) -> Result<Vec<usize>, InventoryError> {
    let partners = partners(pool, cost, settings.partners);
    let mut rounds = 0;
    while !list.is_empty() && rounds < settings.rounds {
        rounds += 1;
        let mut changed: HashSet<usize> = HashSet::new();
        let mut paired: HashSet<(usize, usize)> = HashSet::new();
        for (at, &i) in list.iter().enumerate() {
            if settings.time_limit.is_some_and(|limit| started.elapsed() >= limit) {
                outcome.timed_out = true;
                changed.extend(list[at..].iter().copied());
                break;
            }
            if search.reroute(pool, cost, i)? {
                outcome.kept += 1;
                changed.insert(i);
            }
            for &j in &partners[i] {
                if paired.insert((i.min(j), i.max(j))) && search.exchange(pool, cost, i, j)? {
                    outcome.kept += 1;
                    changed.extend([i, j]);
                }
            }
            if settings.chain > 2
                && let Some(chain) = search.chain(pool, cost, &partners, i, settings.chain)?
            {
                outcome.kept += 1;
                changed.extend(chain);
            }
        }
        if outcome.timed_out {
            list = changed.into_iter().collect();
            break;
        }
        // What a change freed or took may pay for its partners (and theirs for it).
        let mut next: HashSet<usize> = changed.clone();
        for &i in &changed {
            next.extend(partners[i].iter().copied());
        }
        list = next.into_iter().filter(|&i| cost[i].is_some()).collect();
        list.sort_unstable();
    }
    list.sort_unstable();
    Ok(list)
}

// For each order, the movable orders holding units of its SKUs it tries exchanges with: most
// SKUs in common first, then the nearest in the stream, at most `limit`. (A round tries each
// pair once, from whichever side comes first.)
fn partners(pool: &[PoolOrder<'_>], cost: &[Option<f64>], limit: usize) -> Vec<Vec<usize>> {
    let mut holders: HashMap<SkuId, Vec<usize>> = HashMap::new();
    for (index, entry) in pool.iter().enumerate() {
        if cost[index].is_none() {
            continue;
        }
        let mut skus: Vec<SkuId> = entry.reservation.units.iter().map(|u| u.sku).collect();
        skus.sort_unstable();
        skus.dedup();
        for sku in skus {
            holders.entry(sku).or_default().push(index);
        }
    }
    pool.iter()
        .enumerate()
        .map(|(i, entry)| {
            if cost[i].is_none() || limit == 0 {
                return Vec::new();
            }
            let mut common: HashMap<usize, usize> = HashMap::new();
            let mut skus: Vec<SkuId> = entry.order.lines.iter().map(|l| l.sku).collect();
            skus.sort_unstable();
            skus.dedup();
            for sku in skus {
                for &j in holders.get(&sku).map(Vec::as_slice).unwrap_or_default() {
                    if j != i {
                        *common.entry(j).or_default() += 1;
                    }
                }
            }
            let mut ranked: Vec<(usize, usize)> = common.into_iter().collect();
            ranked
                .sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.abs_diff(i).cmp(&b.0.abs_diff(i))).then(a.0.cmp(&b.0)));
            ranked.into_iter().take(limit).map(|(j, _)| j).collect()
        })
        .collect()
}

struct Search<'c> {
    catalog: &'c Catalog,
    inventory: &'c Inventory,
    config: &'c RouterConfig,
    workspace: Workspace,
    tried: usize,
}

// A chain of exchanges being built: its orders in order, the new plans of all but the last
// (reserved), and the cost and unfilled units of its orders' plans now.
struct Links {
    orders: Vec<usize>,
    placed: Vec<Candidate>,
    cost: f64,
    unfilled: u64,
}

// A plan for one order, what it would hold and its cost.
struct Candidate {
    plan: Plan,
    reservation: Reservation,
    cost: f64,
}

impl Search<'_> {
    // Routes `entry`'s order on the stock free now and reserves the plan; `None` if the policy
    // fails on it, rejects it, its `admits` refuses it, it leaves more than `max_unfilled`
    // units short, or the inventory refuses its reservation.
    fn place(&mut self, entry: &PoolOrder<'_>, max_unfilled: u64) -> Result<Option<Candidate>, InventoryError> {
        self.place_under(entry, None, max_unfilled)
    }

    // [`Search::place`], routed under `priced` (its policy with prices added) when given: the
    // plan then gets its own policy's costs before it is judged.
    fn place_under(
        &mut self,
        entry: &PoolOrder<'_>,
        priced: Option<&PricedPolicy<'_>>,
        max_unfilled: u64,
    ) -> Result<Option<Candidate>, InventoryError> {
        let own =
            Router { catalog: self.catalog, inventory: self.inventory, policy: entry.policy, config: self.config };
        let plan = match priced {
            None => own.plan(entry.order, &mut self.workspace),
            Some(priced) => {
                let router = Router { policy: priced, ..own };
                router.plan(entry.order, &mut self.workspace)
            }
        };
        let Ok(mut plan) = plan else {
            return Ok(None);
        };
        if plan.status != PlanStatus::Routed
            || plan.unfilled_units() > max_unfilled
            || entry.admits.is_some_and(|admits| !admits(&plan))
        {
            return Ok(None);
        }
        if priced.is_some() {
            // Its costs are its own policy's; optimal it is only under the prices.
            match own.reprice(entry.order, &mut plan, &mut self.workspace) {
                Ok(price) if price.broken.is_empty() => plan.optimal = false,
                _ => return Ok(None),
            }
        }
        let reservation = own.reservation_for(entry.order, &plan);
        // A plan the stock refuses (a location's day full, say) is no candidate; a refused
        // reservation changes nothing.
        if self.inventory.reserve(&reservation).is_err() {
            return Ok(None);
        }
        let cost = plan.cost.total();
        Ok(Some(Candidate { plan, reservation, cost }))
    }

    // Re-plans every movable order of the pool at once (see the module): gives back what they
    // hold, searches prices on the stock that frees for routing them all together (from the
    // prices of the transportation LPs of their demand), then routes them one by one in the
    // order they were placed, each under its own policy with the prices added, on what the
    // ones before left. An order whose priced plan its policy or `admits` refuses keeps its
    // plan now if the stock still allows it, else routes again unpriced. Units unfilled may
    // move between orders here (the caller checks the pool's total). `Some(originals)`: the
    // pool holds the new plans (`cost` their costs under each order's own policy) and
    // `originals` the movable orders' plans and reservations before; `None`: nothing changed
    // (the price search ran no round before its deadline, or an order found no plan).
    #[allow(clippy::type_complexity)]
    fn replan(
        &mut self,
        pool: &mut [PoolOrder<'_>],
        cost: &mut [Option<f64>],
        settings: &ReoptimizeSettings,
        started: Instant,
    ) -> Result<Option<Vec<Option<(Plan, Reservation)>>>, InventoryError> {
        let movable: Vec<usize> = (0..pool.len()).filter(|&i| cost[i].is_some()).collect();
        if movable.len() < 2 {
            return Ok(None);
        }
        let upper: f64 = movable.iter().filter_map(|&i| cost[i]).sum();
        for &i in &movable {
            self.inventory.release(&pool[i].reservation)?;
        }
        let orders: Vec<(&Order, &dyn Policy)> = movable.iter().map(|&i| (pool[i].order, pool[i].policy)).collect();
        let limits = SearchLimits {
            iterations: settings.replan_rounds,
            upper,
            threads: 1,
            // Half the pass's time at most: the routing and the local search after it need the rest.
            deadline: settings.time_limit.map(|limit| started + limit / 2),
        };
        // The LPs of the warm start quote units under one policy, the first order's: the
        // search moves from there under each order's own. They take a quarter of the pass's
        // time at most (a pool wanting thousands of SKUs would take seconds), the most wanted
        // SKUs first.
        let warm_until = settings.time_limit.map(|limit| started + limit / 4);
        let start =
            warm_prices(self.catalog, self.inventory, orders[0].1, orders.iter().map(|(order, _)| *order), warm_until)
                .unwrap_or_default();
        let found = search_prices(self.catalog, self.inventory, &orders, Relax::Nothing, start, &limits);
        // Stopped by the deadline, the search still gives the best prices it found.
        let prices = match found {
            Ok(found) if found.iterations > 0 => RwLock::new(found.prices),
            _ => {
                self.restore(pool, &movable, &[])?;
                return Ok(None);
            }
        };
        let mut sequence = movable.clone();
        sequence.sort_by_key(|&i| (pool[i].order.placed_at, i));
        let mut placed: Vec<(usize, Candidate)> = Vec::with_capacity(sequence.len());
        for &i in &sequence {
            let entry = &pool[i];
            // Units short may move between orders (the pool's total is checked after the
            // local search), as an exchange moves them between its two orders.
            let max_unfilled = u64::MAX;
            let priced = PricedPolicy { inner: entry.policy, prices: &prices, relax: Relax::Nothing };
            let mut candidate = self.place_under(entry, Some(&priced), max_unfilled)?;
            if candidate.is_none() && self.inventory.reserve(&entry.reservation).is_ok() {
                candidate = cost[i].map(|cost| Candidate {
                    plan: entry.plan.clone(),
                    reservation: entry.reservation.clone(),
                    cost,
                });
            }
            if candidate.is_none() {
                candidate = self.place(entry, max_unfilled)?;
            }
            match candidate {
                Some(candidate) => placed.push((i, candidate)),
                None => {
                    self.restore(pool, &movable, &placed)?;
                    return Ok(None);
                }
            }
        }
        let mut originals: Vec<Option<(Plan, Reservation)>> = vec![None; pool.len()];
        for (i, candidate) in placed {
            cost[i] = Some(candidate.cost);
            let plan = std::mem::replace(&mut pool[i].plan, candidate.plan);
            let reservation = std::mem::replace(&mut pool[i].reservation, candidate.reservation);
            originals[i] = Some((plan, reservation));
        }
        Ok(Some(originals))
    }

    // Gives back what a re-plan `placed` and takes again what the `movable` orders held.
    fn restore(
        &mut self,
        pool: &[PoolOrder<'_>],
        movable: &[usize],
        placed: &[(usize, Candidate)],
    ) -> Result<(), InventoryError> {
        for (_, candidate) in placed {
            self.inventory.release(&candidate.reservation)?;
        }
        for &i in movable {
            self.inventory.reserve(&pool[i].reservation)?;
        }
        Ok(())
    }

    // Re-routes order `i` alone; true if its plan changed.
    fn reroute(
        &mut self,
        pool: &mut [PoolOrder<'_>],
        cost: &mut [Option<f64>],
        i: usize,
    ) -> Result<bool, InventoryError> {
        let Some(current) = cost[i] else { return Ok(false) };
        self.tried += 1;
        self.inventory.release(&pool[i].reservation)?;
        let unfilled = pool[i].plan.unfilled_units();
        match self.place(&pool[i], unfilled)? {
            Some(candidate) if candidate.cost < current - MIN_SAVING * current.abs().max(1.0) => {
                cost[i] = Some(candidate.cost);
                pool[i].plan = candidate.plan;
                pool[i].reservation = candidate.reservation;
                Ok(true)
            }
            Some(candidate) => {
                self.inventory.release(&candidate.reservation)?;
                self.inventory.reserve(&pool[i].reservation)?;
                Ok(false)
            }
            None => {
                self.inventory.reserve(&pool[i].reservation)?;
                Ok(false)
            }
        }
    }

    // Gives back what orders `i` and `j` hold and routes both again, `i` first and `j` first;
    // keeps the cheaper pair if it saves. True if their plans changed.
    fn exchange(
        &mut self,
        pool: &mut [PoolOrder<'_>],
        cost: &mut [Option<f64>],
        i: usize,
        j: usize,
    ) -> Result<bool, InventoryError> {
        let (Some(cost_i), Some(cost_j)) = (cost[i], cost[j]) else { return Ok(false) };
        self.tried += 1;
        let current = cost_i + cost_j;
        let unfilled = pool[i].plan.unfilled_units() + pool[j].plan.unfilled_units();
        self.inventory.release(&pool[i].reservation)?;
        self.inventory.release(&pool[j].reservation)?;
        let mut best: Option<(f64, [usize; 2], Candidate, Candidate)> = None;
        for (first, second) in [(i, j), (j, i)] {
            let Some(a) = self.place(&pool[first], u64::MAX)? else { continue };
            let b = self.place(&pool[second], u64::MAX)?;
            self.inventory.release(&a.reservation)?;
            let Some(b) = b else { continue };
            self.inventory.release(&b.reservation)?;
            let total = a.cost + b.cost;
            let short = a.plan.unfilled_units() + b.plan.unfilled_units();
            if short <= unfilled && best.as_ref().is_none_or(|(cheapest, ..)| total < *cheapest) {
                best = Some((total, [first, second], a, b));
            }
        }
        match best {
            Some((total, order, a, b)) if total < current - MIN_SAVING * current.abs().max(1.0) => {
                // The stock is as it was when the pair was planned: both fit again.
                self.inventory.reserve(&a.reservation)?;
                self.inventory.reserve(&b.reservation)?;
                for (index, candidate) in order.into_iter().zip([a, b]) {
                    cost[index] = Some(candidate.cost);
                    pool[index].plan = candidate.plan;
                    pool[index].reservation = candidate.reservation;
                }
                Ok(true)
            }
            _ => {
                self.inventory.reserve(&pool[i].reservation)?;
                self.inventory.reserve(&pool[j].reservation)?;
                Ok(false)
            }
        }
    }

    // Tries the chains of exchanges that start at order `i`, at most `longest` orders: `i`
    // routes with a partner's units given back, that partner routes with one of its own
    // partners' units given back, ..., the last on what is free. Keeps the first chain that
    // lowers the cost of the orders it changes (and leaves no more units unfilled); returns
    // them. A pair is `exchange`'s move; a chain is followed only while what the links so far
    // save exceeds what they cost.
    fn chain(
        &mut self,
        pool: &mut [PoolOrder<'_>],
        cost: &mut [Option<f64>],
        partners: &[Vec<usize>],
        i: usize,
        longest: usize,
    ) -> Result<Option<Vec<usize>>, InventoryError> {
        let Some(current) = cost[i] else { return Ok(None) };
        self.inventory.release(&pool[i].reservation)?;
        let unfilled = pool[i].plan.unfilled_units();
        let mut links = Links { orders: vec![i], placed: Vec::new(), cost: current, unfilled };
        let found = self.extend(pool, cost, partners, &mut links, longest)?;
        if !found {
            self.inventory.reserve(&pool[i].reservation)?;
            return Ok(None);
        }
        for (&index, candidate) in links.orders.iter().zip(links.placed) {
            cost[index] = Some(candidate.cost);
            pool[index].plan = candidate.plan;
            pool[index].reservation = candidate.reservation;
        }
        Ok(Some(links.orders))
    }

    // The last order of `links` has given back its units and every earlier one is placed
    // (reserved) anew. Tries to end the chain here (the last routes on what is free) or, below
    // `longest`, to lengthen it with one of the last order's partners. True with the whole
    // chain placed and reserved in `links`; false with the inventory as it was on entry.
    fn extend(
        &mut self,
        pool: &[PoolOrder<'_>],
        cost: &[Option<f64>],
        partners: &[Vec<usize>],
        links: &mut Links,
        longest: usize,
    ) -> Result<bool, InventoryError> {
        let Some(&last) = links.orders.last() else { return Ok(false) };
        let saved_so_far = links.cost - links.placed.iter().map(|c| c.cost).sum::<f64>();
        let shortfall = links.placed.iter().map(|c| c.plan.unfilled_units()).sum::<u64>();
        // Ending here: only chains of three or more (pairs are `exchange`'s).
        if links.orders.len() >= 3 {
            self.tried += 1;
            if let Some(end) = self.place(&pool[last], u64::MAX)? {
                let total_new = links.cost - saved_so_far + end.cost;
                let unfilled = shortfall + end.plan.unfilled_units();
                if unfilled <= links.unfilled && total_new < links.cost - MIN_SAVING * links.cost.abs().max(1.0) {
                    links.placed.push(end);
                    return Ok(true);
                }
                self.inventory.release(&end.reservation)?;
            }
        }
        if links.orders.len() >= longest {
            return Ok(false);
        }
        for &next in &partners[last] {
            let Some(next_cost) = cost[next] else { continue };
            if links.orders.contains(&next) {
                continue;
            }
            self.tried += 1;
            self.inventory.release(&pool[next].reservation)?;
            // The last order routed with `next`'s units free: worth following only if the chain
            // still saves after it (the next order may yet route as cheaply as now).
            let placed = self.place(&pool[last], u64::MAX)?;
            if let Some(placed) = placed {
                if saved_so_far - placed.cost > MIN_SAVING * links.cost.abs().max(1.0) {
                    links.orders.push(next);
                    links.placed.push(placed);
                    links.cost += next_cost;
                    links.unfilled += pool[next].plan.unfilled_units();
                    if self.extend(pool, cost, partners, links, longest)? {
                        return Ok(true);
                    }
                    links.unfilled -= pool[next].plan.unfilled_units();
                    links.cost -= next_cost;
                    links.orders.pop();
                    if let Some(placed) = links.placed.pop() {
                        self.inventory.release(&placed.reservation)?;
                    }
                } else {
                    self.inventory.release(&placed.reservation)?;
                }
            }
            self.inventory.reserve(&pool[next].reservation)?;
        }
        Ok(false)
    }
}
