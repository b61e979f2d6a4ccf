//! Routing one order end to end: validate, gather candidates from inventory, ask the policy,
//! optimise, build the plan (and its explanation), and reserve it atomically.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use crate::catalog::Catalog;
use crate::domain::{LocationId, Order};
use crate::explain::{CandidateExplanation, CandidateStatus, Explanation, LineExplanation};
use crate::inventory::{Inventory, InventoryError, Position, Reservation, ReservedShipment, ReservedUnits};
use crate::kits::{apply_kit_rules, has_kit_lines, short_kits};
use crate::optimizer::{ExactSearch, Problem, SearchBudget, Solution, Strategy, solve, takes_of_plan};
use crate::plan::{CostBreakdown, Plan, PlanPrice, PlanStatus, Shipment, ShipmentLine, Unfilled};
use crate::policy::{
    CandidateLocation, Candidates, Evaluation, Policy, PolicyError, PolicyRequest, ShortStock, Verdict,
};

static DOWNTIME: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("location in planned downtime"));
static NOT_PRICED: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("not priced by the policy"));
static CAPACITY: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("daily shipment capacity reached"));

/// Why a plan leaves every line of an order unfilled when none of its kits can ship whole.
pub const NO_WHOLE_KIT: &str = "no location can ship the order's kits whole";

/// How orders are routed.
#[derive(Clone, Debug, PartialEq)]
pub struct RouterConfig {
    /// Exact optimizer or greedy baseline.
    pub strategy: Strategy,
    /// Search budget per order.
    pub budget: SearchBudget,
    /// Most lines an order may have.
    pub max_lines: usize,
    /// How often to route again when stock moved between routing and reserving.
    pub max_attempts: u32,
}

impl Default for RouterConfig {
    fn default() -> RouterConfig {
        RouterConfig { strategy: Strategy::Optimal, budget: SearchBudget::default(), max_lines: 200, max_attempts: 8 }
    }
}

/// Why an order is not acceptable; names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct OrderError {
    /// Path of the field, like `lines[2].qty`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Why an order could not be routed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoutingError {
    /// The order itself is invalid; nothing was reserved.
    #[error("invalid order: {0}")]
    InvalidOrder(#[from] OrderError),
    /// The policy failed.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The policy answered something unusable.
    #[error("policy `{policy}` gave an invalid answer: {message}")]
    InvalidAnswer {
        /// `name@version`.
        policy: String,
        /// What was wrong.
        message: String,
    },
    /// The policy chose a plan itself that breaks the stock or its own rules.
    #[error("policy `{policy}` chose a plan it may not: {message}")]
    InvalidPlan {
        /// `name@version`.
        policy: String,
        /// The rule the plan breaks.
        message: String,
    },
    /// Other orders kept taking the stock this order was routed to.
    #[error("stock kept changing while reserving ({attempts} attempts): {last}")]
    Contention {
        /// Attempts made.
        attempts: u32,
        /// The last conflict.
        last: InventoryError,
    },
}

/// Buffers one worker reuses across orders so routing does not allocate per order.
#[derive(Default)]
pub struct Workspace {
    candidates: Candidates,
    evaluation: Evaluation,
    problem: Problem,
    search: ExactSearch,
    positions: Vec<Position>,
    // Per catalog location: its slot in `candidates.locations` for the current order.
    slot_of: Vec<u32>,
}

/// A plan and what it holds in inventory (`None` when rejected or nothing ships).
#[derive(Clone, Debug, PartialEq)]
pub struct Routed {
    /// The decision.
    pub plan: Plan,
    /// The units and shipments reserved for it.
    pub reservation: Option<Reservation>,
}

/// Routes orders against a catalog and inventory under one policy.
#[derive(Clone, Copy)]
pub struct Router<'a> {
    /// Locations and products.
    pub catalog: &'a Catalog,
    /// The live stock.
    pub inventory: &'a Inventory,
    /// The policy bound to the orders routed.
    pub policy: &'a dyn Policy,
    /// Strategy and limits.
    pub config: &'a RouterConfig,
}

impl Router<'_> {
    /// Checks an order before anything is read or reserved for it: [`validate_order`], and
    /// every kit line expanded into its components.
    pub fn validate(&self, order: &Order) -> Result<(), OrderError> {
        validate_order(self.catalog, order, self.config.max_lines)?;
        for (index, line) in order.lines.iter().enumerate() {
            if line.kit.is_none() && self.catalog.kit(line.sku).is_some() {
                return Err(OrderError {
                    field: format!("lines[{index}].sku"),
                    message: "a kit must be expanded into its components first (`expand_kits`)".to_owned(),
                });
            }
        }
        Ok(())
    }

    /// Routes `order` without reserving anything (a dry run).
    pub fn plan(&self, order: &Order, workspace: &mut Workspace) -> Result<Plan, RoutingError> {
        self.validate(order)?;
        self.plan_whole_kits(order, workspace)
    }

    /// Routes `order` without reserving and explains the decision.
    pub fn explain(&self, order: &Order, workspace: &mut Workspace) -> Result<(Plan, Explanation), RoutingError> {
        let plan = self.plan(order, workspace)?;
        if has_kit_lines(order) {
            // The last search may have seen only part of the order (kits left out whole):
            // gather and price every line again for the explanation.
            self.decide(order, workspace)?;
        }
        let explanation = self.build_explanation(order, workspace, &plan);
        Ok((plan, explanation))
    }

    /// Explains `plan` (made for `order` under this router's policy, on the stock now): every
    /// candidate with its stock and what became of it against `plan`. Costs one search.
    pub fn explain_plan(
        &self,
        order: &Order,
        plan: &Plan,
        workspace: &mut Workspace,
    ) -> Result<Explanation, RoutingError> {
        self.validate(order)?;
        self.decide(order, workspace)?;
        Ok(self.build_explanation(order, workspace, plan))
    }

    /// Routes `order` and reserves its plan atomically. When other orders took the stock in
    /// between, routes again, up to the configured number of attempts.
    pub fn route_and_reserve(&self, order: &Order, workspace: &mut Workspace) -> Result<Routed, RoutingError> {
        self.route(order, workspace, |_, _, _| Ok(())).map(|(routed, ())| routed)
    }

    /// [`Router::route_and_reserve`], and the explanation of the decision reserved: every
    /// candidate with the stock it had when the order was planned (before its own
    /// reservation). Costs one more search for an order with kit lines; otherwise only the
    /// walk over the candidates the search priced.
    pub fn route_reserve_and_explain(
        &self,
        order: &Order,
        workspace: &mut Workspace,
    ) -> Result<(Routed, Explanation), RoutingError> {
        self.route(order, workspace, |order, workspace, plan| {
            if has_kit_lines(order) {
                // As in `explain`: the last search may have seen only part of the order.
                self.decide(order, workspace)?;
            }
            Ok(self.build_explanation(order, workspace, plan))
        })
    }

    /// [`Router::route_and_reserve`], calling `about` with every plan tried before it is
    /// reserved (on the stock it was planned on); the last call's answer comes back with it.
    pub fn route_and_reserve_with<T>(
        &self,
        order: &Order,
        workspace: &mut Workspace,
        about: impl Fn(&Order, &mut Workspace, &Plan) -> Result<T, RoutingError>,
    ) -> Result<(Routed, T), RoutingError> {
        self.route(order, workspace, about)
    }

    // Routes and reserves; `about` learns of every plan tried, before its reservation.
    fn route<T>(
        &self,
        order: &Order,
        workspace: &mut Workspace,
        about: impl Fn(&Order, &mut Workspace, &Plan) -> Result<T, RoutingError>,
    ) -> Result<(Routed, T), RoutingError> {
        self.validate(order)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let plan = self.plan_whole_kits(order, workspace)?;
            let learned = about(order, workspace, &plan)?;
            if plan.status != PlanStatus::Routed || plan.shipments.is_empty() {
                return Ok((Routed { plan, reservation: None }, learned));
            }
            let reservation = self.reservation_for(order, &plan);
            match self.inventory.reserve(&reservation) {
                Ok(()) => return Ok((Routed { plan, reservation: Some(reservation) }, learned)),
                Err(conflict) if attempt >= self.config.max_attempts => {
                    return Err(RoutingError::Contention { attempts: attempt, last: conflict });
                }
                Err(_) => continue,
            }
        }
    }

    /// What `plan` holds in inventory.
    pub fn reservation_for(&self, order: &Order, plan: &Plan) -> Reservation {
        let mut reservation = Reservation::default();
        for shipment in &plan.shipments {
            let location = self.catalog.location(shipment.location);
            reservation.shipments.push(ReservedShipment {
                location: shipment.location,
                day: location.local_day(order.placed_at),
                capacity: location.capacity_shipments_per_day,
            });
            for line in &shipment.lines {
                reservation.units.push(ReservedUnits {
                    sku: order.lines[line.line].sku,
                    location: shipment.location,
                    qty: line.qty,
                });
            }
        }
        reservation
    }

    /// Prices `plan` (made for `order` by any policy) under this router's policy, on the
    /// stock as it is now (call it before the plan is reserved): each shipment at the policy's
    /// cost of a shipment from its location, each unit at its unit cost there, its split
    /// penalty per shipment beyond the first and its unfilled penalty per unit left short. A
    /// rejected plan leaves every unit short; under a policy that rejects short orders it costs
    /// nothing, as that policy's own rejections do. Parts the policy would not allow are listed
    /// in [`PlanPrice::broken`] and not priced. Fails only when the policy fails.
    pub fn price(&self, order: &Order, plan: &Plan, workspace: &mut Workspace) -> Result<PlanPrice, RoutingError> {
        self.validate(order)?;
        self.gather_and_evaluate(order, workspace)?;
        let (candidates, evaluation) = (&workspace.candidates, &workspace.evaluation);
        let mut price = PlanPrice::default();
        let mut broken = |reason: String| {
            if !price.broken.contains(&reason) {
                price.broken.push(reason);
            }
        };
        let mut cost = CostBreakdown::default();
        for shipment in &plan.shipments {
            let id = &self.catalog.location(shipment.location).id;
            let Some(slot) = candidates.locations.iter().position(|c| c.location == shipment.location) else {
                broken(format!("{id} holds none of the order's SKUs"));
                continue;
            };
            match &evaluation.shipment[slot] {
                Verdict::Cost(value) => cost.shipments += value,
                Verdict::Excluded(reason) => broken(format!("{id}: {reason}")),
                Verdict::NotPriced => broken(format!("{id}: not priced by the policy")),
            }
            for line in &shipment.lines {
                let range = candidates.line_range(line.line);
                let entry = range.clone().find(|&entry| candidates.entries[entry].slot as usize == slot);
                match entry.map(|entry| &evaluation.units[entry]) {
                    Some(Verdict::Cost(value)) => cost.units += f64::from(line.qty) * value,
                    Some(Verdict::Excluded(reason)) => broken(format!("{id}, line {}: {reason}", line.line)),
                    Some(Verdict::NotPriced) => broken(format!("{id}, line {}: not priced by the policy", line.line)),
                    None => broken(format!("{id} does not hold line {}'s SKU", line.line)),
                }
            }
        }
        cost.split_penalty = evaluation.split.split_penalty * plan.shipments.len().saturating_sub(1) as f64;
        let unfilled = plan.unfilled_units();
        match evaluation.short_stock {
            ShortStock::Partial { unfilled_penalty } => cost.unfilled_penalty = unfilled_penalty * unfilled as f64,
            ShortStock::Reject if unfilled > 0 && plan.status == PlanStatus::Routed => {
                broken(format!("{unfilled} unit(s) left short, where the policy rejects short orders"));
            }
            ShortStock::Reject => {}
        }
        // `+ 0.0`: an empty f64 sum is -0.0, which would print as "-0".
        cost.shipments += 0.0;
        cost.units += 0.0;
        price.cost = cost;
        Ok(price)
    }

    /// [`Router::price`], and where every part is priced (nothing `broken`), `plan` made this
    /// policy's own: each shipment's and unit's cost, the plan's cost and the policy that priced
    /// it are this router's policy's (for a plan routed under a policy with something added to
    /// its costs). A plan with broken parts is left as it is.
    pub fn reprice(
        &self,
        order: &Order,
        plan: &mut Plan,
        workspace: &mut Workspace,
    ) -> Result<PlanPrice, RoutingError> {
        let price = self.price(order, plan, workspace)?;
        if !price.broken.is_empty() {
            return Ok(price);
        }
        let (candidates, evaluation) = (&workspace.candidates, &workspace.evaluation);
        for shipment in &mut plan.shipments {
            // Every part was priced, so each location and line option is there with a cost.
            let Some(slot) = candidates.locations.iter().position(|c| c.location == shipment.location) else {
                continue;
            };
            if let Verdict::Cost(value) = evaluation.shipment[slot] {
                shipment.shipment_cost = value;
            }
            for line in &mut shipment.lines {
                let entry =
                    candidates.line_range(line.line).find(|&entry| candidates.entries[entry].slot as usize == slot);
                if let Some(Verdict::Cost(value)) = entry.map(|entry| &evaluation.units[entry]) {
                    line.unit_cost = *value;
                }
            }
        }
        plan.cost = price.cost;
        plan.policy = self.policy.info();
        Ok(price)
    }

    /// For a one-line `order` (one unit, usually), what the policy charges to ship its units
    /// from each location holding the SKU that is not excluded or blocked: the cost of a
    /// shipment from there plus the line's units at the unit cost, and the policy's penalty of
    /// a unit left unfilled (twice the dearest quote when it rejects short orders). For
    /// [`crate::lookahead`]; stock is not looked at.
    pub fn unit_quotes(
        &self,
        order: &Order,
        workspace: &mut Workspace,
    ) -> Result<(Vec<(LocationId, f64)>, f64), RoutingError> {
        self.validate(order)?;
        self.gather_and_evaluate(order, workspace)?;
        let (candidates, evaluation) = (&workspace.candidates, &workspace.evaluation);
        let qty = order.lines.first().map_or(1, |line| line.qty);
        let mut quotes = Vec::new();
        for entry in candidates.line_range(0) {
            let slot = candidates.entries[entry].slot as usize;
            let location = &candidates.locations[slot];
            if location.blocked.is_some() {
                continue;
            }
            if let (Verdict::Cost(shipment), Verdict::Cost(unit)) =
                (&evaluation.shipment[slot], &evaluation.units[entry])
            {
                quotes.push((location.location, shipment + f64::from(qty) * unit));
            }
        }
        let penalty = match evaluation.short_stock {
            ShortStock::Partial { unfilled_penalty } => unfilled_penalty,
            ShortStock::Reject => 2.0 * quotes.iter().map(|(_, cost)| *cost).fold(0.0, f64::max),
        };
        Ok((quotes, penalty))
    }

    // Plans `order`; a kit any component of which would be left short is left out whole (its
    // lines unfilled at the policy's unfilled penalty) and the rest is planned again, until
    // every kit that remains ships whole.
    fn plan_whole_kits(&self, order: &Order, workspace: &mut Workspace) -> Result<Plan, RoutingError> {
        let solution = self.decide(order, workspace)?;
        let plan = self.build_plan(order, workspace, &solution);
        if !has_kit_lines(order) || plan.status != PlanStatus::Routed {
            return Ok(plan);
        }
        let penalty = workspace.problem.unfilled_penalty;
        let mut short = short_kits(order, plan.unfilled.iter().map(|u| u.line));
        if short.is_empty() {
            return Ok(plan);
        }
        // `kept[i]`: the full order's index of the remainder's line `i`.
        let mut kept: Vec<usize> = (0..order.lines.len()).collect();
        loop {
            kept.retain(|&line| order.lines[line].kit.is_none_or(|part| !short.contains(&part.kit)));
            if kept.is_empty() {
                let mut plan = self.build_plan(order, workspace, &Solution::default());
                plan.status = PlanStatus::Rejected { reason: NO_WHOLE_KIT.to_owned() };
                // Nothing else was possible.
                plan.optimal = true;
                plan.cost = CostBreakdown { unfilled_penalty: penalty * plan.unfilled_units() as f64, ..plan.cost };
                return Ok(plan);
            }
            let remainder =
                Order { lines: kept.iter().map(|&line| order.lines[line].clone()).collect(), ..order.clone() };
            let solution = self.decide(&remainder, workspace)?;
            let plan = self.build_plan(&remainder, workspace, &solution);
            if plan.status != PlanStatus::Routed {
                return Ok(self.build_plan(order, workspace, &Solution { takes: Vec::new(), ..solution }));
            }
            let more = short_kits(&remainder, plan.unfilled.iter().map(|u| u.line));
            if more.is_empty() {
                return Ok(widen(order, &kept, plan, penalty));
            }
            short.extend(more);
        }
    }

    fn gather_candidates(&self, order: &Order, workspace: &mut Workspace) {
        let Workspace { candidates, positions, slot_of, .. } = workspace;
        candidates.clear();
        if slot_of.len() < self.catalog.locations().len() {
            slot_of.resize(self.catalog.locations().len(), u32::MAX);
        }
        let now = order.placed_at;
        for line in &order.lines {
            positions.clear();
            self.inventory.positions_into(line.sku, positions);
            for position in positions.iter() {
                let index = position.location.index();
                if index >= slot_of.len() {
                    continue; // stock recorded for a location the catalog does not know
                }
                if slot_of[index] == u32::MAX {
                    let location = self.catalog.location(position.location);
                    let shipments_left = location.capacity_shipments_per_day.map(|capacity| {
                        let day = location.local_day(now);
                        capacity.saturating_sub(self.inventory.shipments_on(position.location, day))
                    });
                    let blocked = if location.is_down_at(now) {
                        Some(DOWNTIME.clone())
                    } else if shipments_left == Some(0) {
                        Some(CAPACITY.clone())
                    } else {
                        None
                    };
                    slot_of[index] = candidates.locations.len() as u32;
                    candidates.locations.push(CandidateLocation {
                        location: position.location,
                        distance_km: location.position.distance_km(order.ship_to.position),
                        shipments_left,
                        blocked,
                    });
                }
                candidates.entries.push(crate::policy::Candidate { slot: slot_of[index], atp: position.atp() });
            }
            candidates.finish_line();
        }
        for candidate in &candidates.locations {
            slot_of[candidate.location.index()] = u32::MAX;
        }
    }

    /// What the policy makes of `order` on the stock now, before any search: the candidates
    /// and the policy's checked evaluation of them (for bounds and analysis).
    pub fn evaluate<'w>(
        &self,
        order: &Order,
        workspace: &'w mut Workspace,
    ) -> Result<(&'w Candidates, &'w Evaluation), RoutingError> {
        self.validate(order)?;
        self.gather_and_evaluate(order, workspace)?;
        Ok((&workspace.candidates, &workspace.evaluation))
    }

    // Gathers `order`'s candidates into `workspace` and has the policy price them, its answer
    // checked.
    fn gather_and_evaluate(&self, order: &Order, workspace: &mut Workspace) -> Result<(), RoutingError> {
        self.gather_candidates(order, workspace);
        workspace.evaluation.reset(&workspace.candidates);
        let request = PolicyRequest {
            catalog: self.catalog,
            order,
            now: order.placed_at,
            candidates: &workspace.candidates,
            delivery: None,
        };
        self.policy.evaluate(&request, &mut workspace.evaluation)?;
        workspace.evaluation.validate(self.catalog, &workspace.candidates).map_err(|message| {
            let info = self.policy.info();
            RoutingError::InvalidAnswer { policy: format!("{}@{}", info.name, info.version), message }
        })
    }

    fn decide(&self, order: &Order, workspace: &mut Workspace) -> Result<Solution, RoutingError> {
        self.gather_and_evaluate(order, workspace)?;
        if has_kit_lines(order) {
            apply_kit_rules(order, &workspace.candidates, &mut workspace.evaluation);
        }
        workspace.problem.build(self.catalog, order, &workspace.candidates, &workspace.evaluation);
        if let Some(plan) = &workspace.evaluation.plan {
            // The policy chose the plan itself: checked, not searched, and not called optimal.
            let takes = takes_of_plan(&workspace.problem, &workspace.candidates, plan).map_err(|message| {
                let info = self.policy.info();
                RoutingError::InvalidPlan { policy: format!("{}@{}", info.name, info.version), message }
            })?;
            return Ok(Solution { takes, proved_optimal: false, nodes: 0 });
        }
        Ok(solve(&workspace.problem, self.config.strategy, &self.config.budget, &mut workspace.search))
    }

    fn build_plan(&self, order: &Order, workspace: &Workspace, solution: &Solution) -> Plan {
        let problem = &workspace.problem;
        let candidates = &workspace.candidates;
        let mut shipments: Vec<(u32, Shipment)> = Vec::new();
        let mut shipped = vec![0u32; order.lines.len()];
        for take in &solution.takes {
            let slot = problem.slots[take.location as usize] as usize;
            let at = match shipments.iter().position(|(location, _)| *location == take.location) {
                Some(at) => at,
                None => {
                    shipments.push((
                        take.location,
                        Shipment {
                            location: candidates.locations[slot].location,
                            shipment_cost: problem.shipment_cost[take.location as usize],
                            lines: Vec::new(),
                        },
                    ));
                    shipments.len() - 1
                }
            };
            shipments[at].1.lines.push(ShipmentLine {
                line: take.line as usize,
                qty: take.qty,
                unit_cost: problem.unit_cost(take.line as usize, take.location as usize),
            });
            shipped[take.line as usize] += take.qty;
        }
        shipments.sort_by_key(|(location, _)| *location);
        let shipments: Vec<Shipment> = shipments.into_iter().map(|(_, shipment)| shipment).collect();
        let unfilled: Vec<Unfilled> = order
            .lines
            .iter()
            .zip(&shipped)
            .enumerate()
            .filter(|(_, (line, shipped))| line.qty > **shipped)
            .map(|(line, (order_line, shipped))| Unfilled { line, qty: order_line.qty - shipped })
            .collect();
        let unfilled_units: u64 = unfilled.iter().map(|u| u64::from(u.qty)).sum();
        let policy = workspace.evaluation.decided_by.clone().unwrap_or_else(|| self.policy.info());
        if problem.must_fill && unfilled_units > 0 {
            let reason = format!(
                "policy rejects short orders and {unfilled_units} unit(s) cannot ship (first: line `{}`)",
                order.lines[unfilled[0].line].id
            );
            let all_unfilled = order.lines.iter().enumerate().map(|(line, l)| Unfilled { line, qty: l.qty }).collect();
            return Plan {
                order_id: order.id.clone(),
                status: PlanStatus::Rejected { reason },
                shipments: Vec::new(),
                unfilled: all_unfilled,
                cost: CostBreakdown::default(),
                optimal: solution.proved_optimal,
                policy,
                nodes: solution.nodes,
                backorder_within: None,
            };
        }
        // `+ 0.0`: an empty f64 sum is -0.0, which would print as "-0".
        let cost = CostBreakdown {
            shipments: shipments.iter().map(|s| s.shipment_cost).sum::<f64>() + 0.0,
            units: shipments.iter().flat_map(|s| &s.lines).map(|l| f64::from(l.qty) * l.unit_cost).sum::<f64>() + 0.0,
            split_penalty: problem.split_penalty * shipments.len().saturating_sub(1) as f64,
            unfilled_penalty: problem.unfilled_penalty * unfilled_units as f64,
        };
        Plan {
            order_id: order.id.clone(),
            status: PlanStatus::Routed,
            shipments,
            unfilled,
            cost,
            optimal: solution.proved_optimal,
            policy,
            nodes: solution.nodes,
            backorder_within: workspace.evaluation.backorder_within,
        }
    }

    fn build_explanation(&self, order: &Order, workspace: &Workspace, plan: &Plan) -> Explanation {
        let candidates = &workspace.candidates;
        let evaluation = &workspace.evaluation;
        let lines = order
            .lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                let chosen_by: Vec<LocationId> = plan
                    .shipments
                    .iter()
                    .filter(|s| s.lines.iter().any(|l| l.line == index))
                    .map(|s| s.location)
                    .collect();
                let explained = candidates
                    .line_range(index)
                    .map(|entry| {
                        let candidate = candidates.entries[entry];
                        let slot = &candidates.locations[candidate.slot as usize];
                        let status = if let Some(reason) = &slot.blocked {
                            CandidateStatus::Blocked { reason: reason.clone() }
                        } else {
                            match (&evaluation.shipment[candidate.slot as usize], &evaluation.units[entry]) {
                                (Verdict::Excluded(rule), _) | (_, Verdict::Excluded(rule)) => {
                                    CandidateStatus::Excluded { rule: rule.clone() }
                                }
                                (Verdict::NotPriced, _) | (_, Verdict::NotPriced) => {
                                    CandidateStatus::Excluded { rule: NOT_PRICED.clone() }
                                }
                                _ if candidate.atp == 0 => CandidateStatus::NoStock,
                                (Verdict::Cost(shipment_cost), Verdict::Cost(unit_cost)) => {
                                    match plan.ships(index, slot.location) {
                                        Some(qty) => CandidateStatus::Chosen {
                                            qty,
                                            unit_cost: *unit_cost,
                                            shipment_cost: *shipment_cost,
                                        },
                                        None => CandidateStatus::Beaten {
                                            unit_cost: *unit_cost,
                                            shipment_cost: *shipment_cost,
                                            by: chosen_by.clone(),
                                        },
                                    }
                                }
                            }
                        };
                        CandidateExplanation {
                            location: slot.location,
                            distance_km: slot.distance_km,
                            atp: candidate.atp,
                            status,
                        }
                    })
                    .collect();
                LineExplanation {
                    line_id: line.id.clone(),
                    sku: self.catalog.product(line.sku).sku.clone(),
                    qty: line.qty,
                    unfilled: plan.unfilled.iter().filter(|u| u.line == index).map(|u| u.qty).sum(),
                    candidates: explained,
                }
            })
            .collect();
        Explanation {
            order_id: order.id.clone(),
            policy: plan.policy.clone(),
            lines,
            cost: plan.cost,
            status: plan.status.clone(),
            optimal: plan.optimal,
            nodes: plan.nodes,
        }
    }
}

// The plan of a remainder (`kept[i]` is the full order's index of its line `i`) as a plan of
// the full order: every line left out is unfilled, at `penalty` per unit.
fn widen(order: &Order, kept: &[usize], mut plan: Plan, penalty: f64) -> Plan {
    for shipment in &mut plan.shipments {
        for line in &mut shipment.lines {
            line.line = kept[line.line];
        }
    }
    for unfilled in &mut plan.unfilled {
        unfilled.line = kept[unfilled.line];
    }
    let mut left_out = 0u64;
    for (line, order_line) in order.lines.iter().enumerate() {
        if !kept.contains(&line) {
            plan.unfilled.push(Unfilled { line, qty: order_line.qty });
            left_out += u64::from(order_line.qty);
        }
    }
    plan.unfilled.sort_by_key(|u| u.line);
    plan.cost.unfilled_penalty += penalty * left_out as f64;
    plan
}

/// The rules every order must meet before it is routed: an id, at least one and at most
/// `max_lines` lines, a usable ship-to, line ids present and unique, at least one unit per
/// line, SKUs of `catalog`. Errors name the field (`lines[2].qty`).
pub fn validate_order(catalog: &Catalog, order: &Order, max_lines: usize) -> Result<(), OrderError> {
    let fail = |field: String, message: &str| Err(OrderError { field, message: message.to_owned() });
    if order.id.is_empty() {
        return fail("id".into(), "must not be empty");
    }
    if order.lines.is_empty() {
        return fail("lines".into(), "an order needs at least one line");
    }
    if order.lines.len() > max_lines {
        return fail("lines".into(), &format!("{} lines is more than the limit of {}", order.lines.len(), max_lines));
    }
    if !order.ship_to.position.is_valid() {
        return fail("ship_to".into(), "lat/lon must be finite degrees in range");
    }
    let mut ids = HashSet::with_capacity(order.lines.len());
    for (index, line) in order.lines.iter().enumerate() {
        if line.id.is_empty() {
            return fail(format!("lines[{index}].id"), "must not be empty");
        }
        if !ids.insert(line.id.as_str()) {
            return fail(format!("lines[{index}].id"), &format!("line id `{}` appears twice", line.id));
        }
        if line.qty == 0 {
            return fail(format!("lines[{index}].qty"), "must be at least 1");
        }
        if line.sku.index() >= catalog.products().len() {
            return fail(format!("lines[{index}].sku"), "unknown sku");
        }
    }
    Ok(())
}
