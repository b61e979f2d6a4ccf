//! The exact optimizer: branch and bound over sets of shipping locations.
//!
//! For a fixed set `S` of locations the best allocation is cheap to compute (the fill
//! function: each SKU's units from the cheapest locations of `S`, or a tiny min-cost flow when
//! lines share a SKU). So the search is over sets, at most `max_shipments` large:
//!
//! ```text
//! cost(S) = sum of shipment costs + split_penalty * (|S| - 1) + fill(S)
//! ```
//!
//! The fill savings are submodular in `S` (an assignment valuation: adding a location helps
//! less when more are already there). So the marginal value of adding a location `r` to `S`,
//! `net(r | S) = shipment(r) + penalty - (fill(S) - fill(S + r))`, can only grow deeper in the
//! tree. Two consequences prune almost everything:
//! - a location whose `net` is not negative at a node can be dropped for the whole subtree;
//! - the subtree of the `j`-th best child costs at least `cost(S)` plus the `net`s of that
//!   child and of the next best ones, one per shipment still allowed.
//!
//! A second bound, valid without submodularity, relaxes the fill to all locations still
//! reachable in the subtree. When lines of one SKU may not split, submodularity can fail; the
//! search then keeps every location and relies on the second bound alone.
//!
//! The search ends with a proof (`optimal: true`) unless the node or time budget runs out.

use std::time::Instant;

use super::problem::Problem;
use super::{SearchBudget, SearchOutcome};

// Costs closer than this are equal; plans within it are ordered by the tie-break.
const EPSILON: f64 = 1e-7;

/// Reusable buffers of the exact search.
#[derive(Debug, Default)]
pub struct ExactSearch {
    set: Vec<u32>,
    // Per depth, fill cost of every group for the set at that depth.
    fills: Vec<f64>,
    // Per depth, the children considered: (net, location).
    pools: Vec<Vec<(f64, u32)>>,
    // Per depth, the smallest shipment cost among the children from each position on.
    suffix_minima: Vec<Vec<f64>>,
    // Per location, its position in the pool of the node being expanded (u32::MAX if none).
    rank: Vec<u32>,
    root_pool: Vec<(f64, u32)>,
    best_set: Vec<u32>,
    best_cost: f64,
    // The relaxed fill from every location: a floor under the fill of any set.
    relaxed_everywhere: f64,
    nodes: u64,
    aborted: bool,
    started: Option<Instant>,
}

impl ExactSearch {
    /// Finds the cheapest set of locations for `problem`, starting from `incumbent` (a
    /// feasible set, e.g. the greedy plan's, to prune from the first node).
    pub fn solve(&mut self, problem: &Problem, incumbent: &[u32], budget: &SearchBudget) -> SearchOutcome {
        let groups = problem.components.len();
        let depth_limit = problem.max_shipments.min(problem.location_count());
        self.set.clear();
        self.fills.clear();
        self.fills.resize((depth_limit + 1) * groups, 0.0);
        for (group, fill) in self.fills[..groups].iter_mut().enumerate() {
            *fill = problem.fill_component(group, &[], None);
        }
        if self.pools.len() < depth_limit + 1 {
            self.pools.resize_with(depth_limit + 1, Vec::new);
            self.suffix_minima.resize_with(depth_limit + 1, Vec::new);
        }
        self.rank.clear();
        self.rank.resize(problem.location_count(), u32::MAX);
        self.nodes = 0;
        self.aborted = false;
        self.started = budget.max_time.map(|_| Instant::now());

        let empty_cost: f64 = self.fills[..groups].iter().sum();
        self.relaxed_everywhere = problem.relaxed_fill(|_| true);
        self.best_cost = empty_cost;
        self.best_set.clear();
        if !incumbent.is_empty() && incumbent.len() <= depth_limit {
            let mut sorted = incumbent.to_vec();
            sorted.sort_unstable();
            self.offer(problem.set_cost(&sorted), &sorted);
        }

        let mut root_pool = std::mem::take(&mut self.root_pool);
        root_pool.clear();
        root_pool.extend((0..problem.location_count() as u32).map(|l| (0.0, l)));
        self.visit(problem, budget, 0, empty_cost, &root_pool);
        self.root_pool = root_pool;
        let mut set = self.best_set.clone();
        set.sort_unstable();
        SearchOutcome { set, cost: self.best_cost, proved_optimal: !self.aborted, nodes: self.nodes }
    }

    // Records `set` if it beats the best so far: lower cost, or equal cost and fewer
    // shipments, or equal on both and earlier in location order (the tie-break).
    fn offer(&mut self, cost: f64, set: &[u32]) {
        let better = if cost < self.best_cost - EPSILON {
            true
        } else if cost <= self.best_cost + EPSILON {
            let mut sorted: Vec<u32> = set.to_vec();
            sorted.sort_unstable();
            (sorted.len(), &sorted) < (self.best_set.len(), &self.best_set)
        } else {
            false
        };
        if better {
            self.best_cost = cost;
            self.best_set.clear();
            self.best_set.extend_from_slice(set);
            self.best_set.sort_unstable();
        }
    }

    fn out_of_budget(&mut self, budget: &SearchBudget) -> bool {
        if self.nodes > budget.max_nodes {
            self.aborted = true;
        }
        if let (Some(limit), Some(started)) = (budget.max_time, self.started)
            && self.nodes.is_multiple_of(256)
            && started.elapsed() > limit
        {
            self.aborted = true;
        }
        self.aborted
    }

    fn visit(&mut self, problem: &Problem, budget: &SearchBudget, depth: usize, cost: f64, pool: &[(f64, u32)]) {
        self.nodes += 1;
        if self.out_of_budget(budget) {
            return;
        }
        if depth > 0 {
            let set = std::mem::take(&mut self.set);
            self.offer(cost, &set);
            self.set = set;
        }
        let depth_limit = problem.max_shipments.min(problem.location_count());
        if depth == depth_limit || pool.is_empty() {
            return;
        }
        let groups = problem.components.len();
        let penalty = if depth == 0 { 0.0 } else { problem.split_penalty };

        // The marginal value of every location still in the pool.
        let mut children = std::mem::take(&mut self.pools[depth]);
        children.clear();
        for &(_, location) in pool {
            self.set.push(location);
            let mut gain = 0.0;
            for &group in problem.location_components(location as usize) {
                let group = group as usize;
                gain += self.fills[depth * groups + group] - problem.fill_component(group, &self.set, None);
            }
            self.set.pop();
            let net = problem.shipment_cost[location as usize] + penalty - gain;
            if net < -EPSILON || !problem.submodular {
                children.push((net, location));
            }
        }
        children.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (position, &(_, location)) in children.iter().enumerate() {
            self.rank[location as usize] = position as u32;
        }

        let remaining = depth_limit - depth;
        let mut smallest_shipment_after = std::mem::take(&mut self.suffix_minima[depth]);
        smallest_shipment_after.clear();
        smallest_shipment_after.resize(children.len() + 1, f64::INFINITY);
        for j in (0..children.len()).rev() {
            smallest_shipment_after[j] =
                smallest_shipment_after[j + 1].min(problem.shipment_cost[children[j].1 as usize]);
        }
        for j in 0..children.len() {
            let (net, location) = children[j];
            let child_cost = cost + net;
            if problem.submodular {
                // Bound of the whole subtree and of every later child: this child's net and
                // the best nets that could still join it.
                let bound: f64 =
                    cost + children[j..(j + remaining).min(children.len())].iter().map(|c| c.0).sum::<f64>();
                if bound > self.best_cost + EPSILON {
                    break;
                }
            }
            // Bound on sets that add more locations to this child: at least one more
            // shipment, and at best the fill of everything still reachable.
            let grows = remaining > 1 && j + 1 < children.len();
            let grown_bound = if grows {
                let fixed: f64 = self.set.iter().map(|&l| problem.shipment_cost[l as usize]).sum::<f64>()
                    + problem.shipment_cost[location as usize]
                    + smallest_shipment_after[j + 1]
                    + problem.split_penalty * (depth + 1) as f64;
                if fixed + self.relaxed_everywhere > self.best_cost + EPSILON {
                    // Even filling from every location cannot pay for one more shipment.
                    fixed + self.relaxed_everywhere
                } else {
                    let rank = &self.rank;
                    let set = &self.set;
                    let reachable = |l: u32| {
                        l == location
                            || set.contains(&l)
                            || (rank[l as usize] != u32::MAX && rank[l as usize] as usize > j)
                    };
                    fixed + problem.relaxed_fill(reachable)
                }
            } else {
                f64::INFINITY
            };
            if child_cost > self.best_cost + EPSILON && grown_bound > self.best_cost + EPSILON {
                continue;
            }
            self.set.push(location);
            if grown_bound > self.best_cost + EPSILON {
                // Only the child itself can still win.
                self.nodes += 1;
                let set = std::mem::take(&mut self.set);
                self.offer(child_cost, &set);
                self.set = set;
            } else {
                let (parent, child) = self.fills.split_at_mut((depth + 1) * groups);
                child[..groups].copy_from_slice(&parent[depth * groups..]);
                for &group in problem.location_components(location as usize) {
                    child[group as usize] = problem.fill_component(group as usize, &self.set, None);
                }
                // The child's pool: later children only, so each set is visited once.
                for &(_, l) in &children[..] {
                    self.rank[l as usize] = u32::MAX;
                }
                self.visit(problem, budget, depth + 1, child_cost, &children[j + 1..]);
                // Restore this node's ranks for the bounds of the next children.
                for (position, &(_, l)) in children.iter().enumerate() {
                    self.rank[l as usize] = position as u32;
                }
            }
            self.set.pop();
            if self.aborted {
                break;
            }
        }
        for &(_, l) in &children {
            self.rank[l as usize] = u32::MAX;
        }
        self.pools[depth] = children;
        self.suffix_minima[depth] = smallest_shipment_after;
    }
}

/// Every set of at most `max_shipments` locations, each costed with the fill function: the
/// slow, obviously-correct reference the branch and bound is checked against. Ties are broken
/// like the search does. Returns `proved_optimal: false` if `budget.max_nodes` sets did not
/// suffice to try them all.
pub fn exhaustive(problem: &Problem, budget: &SearchBudget) -> SearchOutcome {
    fn walk(
        problem: &Problem,
        start: usize,
        set: &mut Vec<u32>,
        best: &mut (f64, Vec<u32>),
        nodes: &mut u64,
        limit: u64,
    ) {
        if *nodes > limit {
            return;
        }
        *nodes += 1;
        let cost = problem.set_cost(set);
        let better = cost < best.0 - EPSILON
            || (cost <= best.0 + EPSILON && (set.len(), &set[..]) < (best.1.len(), &best.1[..]));
        if better {
            *best = (cost, set.clone());
        }
        if set.len() == problem.max_shipments {
            return;
        }
        for location in start..problem.location_count() {
            set.push(location as u32);
            walk(problem, location + 1, set, best, nodes, limit);
            set.pop();
        }
    }
    let mut best = (problem.set_cost(&[]), Vec::new());
    let mut nodes = 0;
    walk(problem, 0, &mut Vec::new(), &mut best, &mut nodes, budget.max_nodes);
    SearchOutcome { set: best.1, cost: best.0, proved_optimal: nodes <= budget.max_nodes, nodes }
}
