//! Choosing the allocation: the exact optimizer and the greedy baseline, over a [`Problem`].

mod exact;
mod greedy;
mod own_plan;
mod problem;

use std::time::Duration;

pub use exact::{ExactSearch, exhaustive};
pub use greedy::greedy;
pub use own_plan::takes_of_plan;
pub use problem::{LineOption, MAX_SHIPMENTS_SEARCHED, MUST_FILL_PENALTY, Problem, ProblemLine, Take};

/// Which way plans are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The exact optimizer: lowest cost, proved unless the budget runs out.
    #[default]
    Optimal,
    /// The greedy baseline, for comparison.
    Greedy,
    /// Every set of locations, one by one: the slow reference the optimizer is tested
    /// against. Proves optimality when the node budget covers every set.
    Exhaustive,
}

/// How much search an order may use before the best plan found so far is returned with
/// `optimal: false`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SearchBudget {
    /// Most search nodes (sets of locations evaluated).
    pub max_nodes: u64,
    /// Wall-clock backstop; `None` keeps the search deterministic.
    pub max_time: Option<Duration>,
}

impl Default for SearchBudget {
    fn default() -> SearchBudget {
        SearchBudget { max_nodes: 200_000, max_time: None }
    }
}

/// What a search found.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchOutcome {
    /// The chosen locations (problem indices, ascending).
    pub set: Vec<u32>,
    /// The cost of the set with its best fill.
    pub cost: f64,
    /// Whether the search finished, which proves no cheaper set exists.
    pub proved_optimal: bool,
    /// Nodes visited.
    pub nodes: u64,
}

/// A chosen allocation in problem indices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Solution {
    /// Units per line and location.
    pub takes: Vec<Take>,
    /// Whether the allocation is proved to be the cheapest.
    pub proved_optimal: bool,
    /// Search nodes visited (0 for greedy).
    pub nodes: u64,
}

/// Solves `problem` with `strategy`, reusing `search`'s buffers.
pub fn solve(problem: &Problem, strategy: Strategy, budget: &SearchBudget, search: &mut ExactSearch) -> Solution {
    let mut takes = Vec::new();
    let greedy_set = greedy(problem, &mut takes);
    match strategy {
        Strategy::Greedy => Solution { takes, proved_optimal: false, nodes: 0 },
        Strategy::Optimal | Strategy::Exhaustive => {
            let outcome = match strategy {
                Strategy::Optimal => search.solve(problem, &greedy_set, budget),
                _ => exhaustive(problem, budget),
            };
            takes.clear();
            for group in 0..problem.components.len() {
                problem.fill_component(group, &outcome.set, Some(&mut takes));
            }
            takes.sort_unstable_by_key(|take| (take.line, take.location));
            // INVARIANT: a plan is only called optimal when the search covered every set the
            // policy allows.
            let proved_optimal = outcome.proved_optimal && !problem.shipments_capped;
            Solution { takes, proved_optimal, nodes: outcome.nodes }
        }
    }
}
