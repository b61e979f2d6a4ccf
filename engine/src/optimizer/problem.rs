//! One order's allocation problem, resolved to dense indices: the usable locations with their
//! shipment costs, the lines with their unit costs and ATP per location, and the split rules.
//! Also the fill function: the cheapest way to serve the lines from a fixed set of locations.

use crate::catalog::Catalog;
use crate::domain::Order;
use crate::policy::{Candidates, Evaluation, ShortStock, TieBreak, Verdict};

/// Penalty per unfilled unit when the policy rejects short orders: large enough that any plan
/// with fewer unfilled units is cheaper, so the optimizer first fills all it can.
pub const MUST_FILL_PENALTY: f64 = 1.0e6;

/// Largest set of locations the search considers. A policy allowing more shipments than this
/// gets plans of at most this many, and no proof of optimality when more locations could
/// have been used.
pub const MAX_SHIPMENTS_SEARCHED: usize = 64;

/// A line of the problem.
#[derive(Clone, Copy, Debug)]
pub struct ProblemLine {
    /// Units ordered.
    pub qty: u32,
    /// May the units come from more than one location?
    pub may_split: bool,
    /// Lines of the same SKU share ATP; they form one SKU group.
    pub group: u32,
    /// The component the line belongs to (see [`Problem::components`]).
    pub component: u32,
    /// Ship-together key (0: none): lines with one key ship from one location.
    pub together: u32,
}

/// One line's option at one location, for walks in cost order.
#[derive(Clone, Copy, Debug)]
pub struct LineOption {
    /// Cost per unit.
    pub cost: f64,
    /// Problem location index.
    pub location: u32,
    /// ATP of the line's SKU there.
    pub atp: u32,
}

/// Units of a line taken from a problem location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Take {
    /// Line index in the order.
    pub line: u32,
    /// Problem location index.
    pub location: u32,
    /// Units.
    pub qty: u32,
}

/// The allocation problem of one order. Buffers are reused across orders.
#[derive(Clone, Debug, Default)]
pub struct Problem {
    /// Most shipments (distinct locations), capped at [`MAX_SHIPMENTS_SEARCHED`].
    pub max_shipments: usize,
    /// Cost of every shipment after the first.
    pub split_penalty: f64,
    /// Cost per unfilled unit ([`MUST_FILL_PENALTY`] when the policy rejects short orders).
    pub unfilled_penalty: f64,
    /// Whether any unfilled unit rejects the order.
    pub must_fill: bool,
    /// Whether the policy's max shipments was cut to [`MAX_SHIPMENTS_SEARCHED`] while more
    /// locations were usable: the search then cannot prove optimality.
    pub shipments_capped: bool,
    /// Per problem location: the slot in [`Candidates::locations`].
    pub slots: Vec<u32>,
    /// Per problem location: cost of a shipment from it.
    pub shipment_cost: Vec<f64>,
    /// The order's lines.
    pub lines: Vec<ProblemLine>,
    /// Per SKU group: its lines.
    pub group_lines: Vec<Vec<u32>>,
    /// Lines whose fills depend on each other (they share a SKU or ship together), solved
    /// jointly; every other pair of lines is independent given the set of locations.
    pub components: Vec<Vec<u32>>,
    /// Whether the fill function is submodular in the set of locations (true unless a SKU
    /// appears on several lines and one of them may not split): the search relies on it.
    pub submodular: bool,
    // Dense `lines x locations` unit costs; INFINITY where the line has no usable option.
    unit_cost: Vec<f64>,
    // Dense `groups x locations` ATP.
    atp: Vec<u32>,
    // Per line, its options sorted by cost then location: `line_options[line_starts[i]..]`.
    line_options: Vec<LineOption>,
    line_starts: Vec<u32>,
    // Per location, the components it can serve: `location_components[location_starts[l]..]`.
    location_components: Vec<u32>,
    location_starts: Vec<u32>,
    // Scratch: slot -> problem location, and the usable slots.
    slot_map: Vec<u32>,
    used_slots: Vec<u32>,
    slot_keys: Vec<(i32, f64, u32)>,
}

const UNUSED: u32 = u32::MAX;

impl Problem {
    /// Number of usable locations.
    pub fn location_count(&self) -> usize {
        self.slots.len()
    }

    /// Cost per unit of `line` at `location`; infinite if it cannot ship there.
    pub fn unit_cost(&self, line: usize, location: usize) -> f64 {
        self.unit_cost[line * self.slots.len() + location]
    }

    /// ATP of `group`'s SKU at `location`.
    pub fn group_atp(&self, group: usize, location: usize) -> u32 {
        self.atp[group * self.slots.len() + location]
    }

    /// The problem location of candidate slot `slot`, if it is usable.
    pub fn location_of_slot(&self, slot: usize) -> Option<u32> {
        self.slot_map.get(slot).copied().filter(|&location| location != UNUSED)
    }

    /// `line`'s usable options, cheapest first.
    pub fn line_options(&self, line: usize) -> &[LineOption] {
        &self.line_options[self.line_starts[line] as usize..self.line_starts[line + 1] as usize]
    }

    /// The components `location` can serve.
    pub fn location_components(&self, location: usize) -> &[u32] {
        &self.location_components[self.location_starts[location] as usize..self.location_starts[location + 1] as usize]
    }

    /// Total units ordered.
    pub fn total_units(&self) -> u64 {
        self.lines.iter().map(|line| u64::from(line.qty)).sum()
    }

    /// Builds the problem of `order` from its candidates and its policy's (validated) answer.
    /// Locations the engine blocked or the policy excluded, options excluded, without stock
    /// or costing more than leaving the unit unfilled are left out.
    pub fn build(&mut self, catalog: &Catalog, order: &Order, candidates: &Candidates, evaluation: &Evaluation) {
        let (unfilled_penalty, must_fill) = match evaluation.short_stock {
            ShortStock::Partial { unfilled_penalty } => (unfilled_penalty, false),
            ShortStock::Reject => (MUST_FILL_PENALTY, true),
        };
        self.unfilled_penalty = unfilled_penalty;
        self.must_fill = must_fill;
        self.split_penalty = evaluation.split.split_penalty;
        self.max_shipments = (evaluation.split.max_shipments as usize).min(MAX_SHIPMENTS_SEARCHED);

        // Lines and groups (lines of one SKU share its ATP).
        self.lines.clear();
        for group in &mut self.group_lines {
            group.clear();
        }
        let mut group_count = 0usize;
        for (index, line) in order.lines.iter().enumerate() {
            let group = order.lines[..index].iter().position(|earlier| earlier.sku == line.sku).map_or_else(
                || {
                    group_count += 1;
                    group_count - 1
                },
                |earlier| self.lines[earlier].group as usize,
            );
            if self.group_lines.len() <= group {
                self.group_lines.push(Vec::new());
            }
            self.group_lines[group].push(index as u32);
            let may_split = evaluation.split.line_may_split.get(index).copied().unwrap_or(true);
            let together = evaluation.split.ship_together.get(index).copied().unwrap_or(0);
            self.lines.push(ProblemLine { qty: line.qty, may_split, group: group as u32, component: 0, together });
        }
        self.group_lines.truncate(group_count);
        self.build_components();

        // Usable options and the locations they use.
        let usable = |entry: usize, slot: usize| {
            candidates.locations[slot].blocked.is_none()
                && candidates.entries[entry].atp > 0
                && matches!(evaluation.shipment[slot], Verdict::Cost(_))
                && matches!(evaluation.units[entry], Verdict::Cost(cost) if cost < unfilled_penalty)
        };
        self.slot_map.clear();
        self.slot_map.resize(candidates.locations.len(), UNUSED);
        let mut used_slots = std::mem::take(&mut self.used_slots);
        used_slots.clear();
        for entry in 0..candidates.entries.len() {
            let slot = candidates.entries[entry].slot as usize;
            if self.slot_map[slot] == UNUSED && usable(entry, slot) {
                self.slot_map[slot] = 0;
                used_slots.push(slot as u32);
            }
        }
        // Location order is the tie-break among equal-cost plans: merchant priority first,
        // then nearest, then the order candidates were found in.
        let mut keyed = std::mem::take(&mut self.slot_keys);
        keyed.clear();
        keyed.extend(used_slots.iter().map(|&slot| {
            let candidate = &candidates.locations[slot as usize];
            (-catalog.location(candidate.location).priority, candidate.distance_km, slot)
        }));
        match evaluation.tie_break {
            TieBreak::PriorityThenDistance => {
                keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
            }
            TieBreak::DistanceThenPriority => {
                keyed.sort_unstable_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)).then(a.2.cmp(&b.2)));
            }
        }
        used_slots.clear();
        used_slots.extend(keyed.iter().map(|&(_, _, slot)| slot));
        self.slot_keys = keyed;
        self.slots.clear();
        self.shipment_cost.clear();
        for (index, &slot) in used_slots.iter().enumerate() {
            self.slot_map[slot as usize] = index as u32;
            self.slots.push(slot);
            let cost = match evaluation.shipment[slot as usize] {
                Verdict::Cost(cost) => cost,
                Verdict::Excluded(_) | Verdict::NotPriced => f64::INFINITY,
            };
            self.shipment_cost.push(cost);
        }
        self.used_slots = used_slots;

        // Dense matrices and per-line option lists.
        let location_count = self.slots.len();
        self.unit_cost.clear();
        self.unit_cost.resize(self.lines.len() * location_count, f64::INFINITY);
        self.atp.clear();
        self.atp.resize(group_count * location_count, 0);
        self.line_options.clear();
        self.line_starts.clear();
        self.line_starts.push(0);
        for line in 0..self.lines.len() {
            let group = self.lines[line].group as usize;
            let start = self.line_options.len();
            for entry in candidates.line_range(line) {
                let candidate = candidates.entries[entry];
                let slot = candidate.slot as usize;
                if !usable(entry, slot) {
                    continue;
                }
                let location = self.slot_map[slot] as usize;
                let Verdict::Cost(cost) = evaluation.units[entry] else { continue };
                self.unit_cost[line * location_count + location] = cost;
                self.atp[group * location_count + location] = candidate.atp;
                self.line_options.push(LineOption { cost, location: location as u32, atp: candidate.atp });
            }
            self.line_options[start..]
                .sort_unstable_by(|a, b| a.cost.total_cmp(&b.cost).then(a.location.cmp(&b.location)));
            self.line_starts.push(self.line_options.len() as u32);
        }

        self.shipments_capped =
            evaluation.split.max_shipments as usize > MAX_SHIPMENTS_SEARCHED && location_count > MAX_SHIPMENTS_SEARCHED;

        // Per location, the components it serves.
        self.location_components.clear();
        self.location_starts.clear();
        self.location_starts.push(0);
        for location in 0..location_count {
            for component in 0..self.components.len() {
                let serves = self.components[component]
                    .iter()
                    .any(|&line| self.unit_cost[line as usize * location_count + location].is_finite());
                if serves {
                    self.location_components.push(component as u32);
                }
            }
            self.location_starts.push(self.location_components.len() as u32);
        }
    }

    // Joins lines that share a SKU or a ship-together key into components, and decides
    // whether the fill is submodular (see exact.rs): true when every component is one line;
    // lines of one SKU that may all split; or one ship-together group of distinct SKUs.
    fn build_components(&mut self) {
        let count = self.lines.len();
        let mut parent: Vec<usize> = (0..count).collect();
        fn root(parent: &mut [usize], mut at: usize) -> usize {
            while parent[at] != at {
                parent[at] = parent[parent[at]];
                at = parent[at];
            }
            at
        }
        for a in 0..count {
            for b in a + 1..count {
                let same_sku = self.lines[a].group == self.lines[b].group;
                let together = self.lines[a].together != 0 && self.lines[a].together == self.lines[b].together;
                if same_sku || together {
                    let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
                    parent[ra.max(rb)] = ra.min(rb);
                }
            }
        }
        for component in &mut self.components {
            component.clear();
        }
        let mut index_of_root = vec![u32::MAX; count];
        let mut components = 0usize;
        for line in 0..count {
            let r = root(&mut parent, line);
            if index_of_root[r] == u32::MAX {
                index_of_root[r] = components as u32;
                if self.components.len() <= components {
                    self.components.push(Vec::new());
                }
                components += 1;
            }
            let component = index_of_root[r];
            self.lines[line].component = component;
            self.components[component as usize].push(line as u32);
        }
        self.components.truncate(components);
        self.submodular = self.components.iter().all(|lines| {
            let first = self.lines[lines[0] as usize];
            let any_together = lines.iter().any(|&l| self.lines[l as usize].together != 0);
            let one_sku = lines.iter().all(|&l| self.lines[l as usize].group == first.group);
            let distinct_skus = lines.iter().enumerate().all(|(i, &a)| {
                lines[i + 1..].iter().all(|&b| self.lines[a as usize].group != self.lines[b as usize].group)
            });
            let one_together_group = lines.iter().all(|&l| self.lines[l as usize].together == first.together);
            lines.len() == 1
                || (!any_together && one_sku && lines.iter().all(|&l| self.lines[l as usize].may_split))
                || (first.together != 0 && one_together_group && distinct_skus)
        });
    }

    /// Cost of a set of locations used as the order's shipments: their shipment costs, the
    /// split penalty, and the cheapest fill of every component from them.
    pub fn set_cost(&self, set: &[u32]) -> f64 {
        let fixed: f64 = set.iter().map(|&l| self.shipment_cost[l as usize]).sum::<f64>()
            + self.split_penalty * set.len().saturating_sub(1) as f64;
        fixed + (0..self.components.len()).map(|component| self.fill_component(component, set, None)).sum::<f64>()
    }

    /// The cheapest way to serve `component`'s lines from the locations in `set` (units that
    /// cannot be served cost the unfilled penalty). Pushes the units taken to `takes` if given.
    pub fn fill_component(&self, component: usize, set: &[u32], takes: Option<&mut Vec<Take>>) -> f64 {
        let lines = &self.components[component];
        if let [line] = lines.as_slice() {
            let line = *line as usize;
            let group = self.lines[line].group as usize;
            // A line that ships together with nothing but itself ships from one location.
            if self.lines[line].may_split && self.lines[line].together == 0 {
                self.fill_split_line(line, group, set, takes)
            } else {
                self.fill_whole_line(line, group, set, takes)
            }
        } else {
            self.fill_jointly(component, set, takes)
        }
    }

    // Several lines that share SKUs (and so their ATP) or ship together: every ship-together
    // group and every line that may not split is tried at each location of the set or at
    // none; for each such choice the units are a small transportation problem, solved
    // exactly by min-cost flow over the component's SKUs.
    fn fill_jointly(&self, component: usize, set: &[u32], takes: Option<&mut Vec<Take>>) -> f64 {
        let lines = &self.components[component];
        // Choosers: one per ship-together key, one per other line that may not split.
        let mut keys: Vec<u32> = Vec::new();
        for &line in lines {
            let together = self.lines[line as usize].together;
            if together != 0 && !keys.contains(&together) {
                keys.push(together);
            }
        }
        // Keys are the first choosers, then the lines that may not split outside any key.
        let mut choosers = keys.len();
        let mut chooser_of: Vec<Option<usize>> = Vec::with_capacity(lines.len());
        for &line in lines {
            let problem_line = self.lines[line as usize];
            chooser_of.push(if problem_line.together != 0 {
                keys.iter().position(|&k| k == problem_line.together)
            } else if !problem_line.may_split {
                choosers += 1;
                Some(choosers - 1)
            } else {
                None
            });
        }
        let mut choice = vec![0usize; choosers];
        let mut best_cost = f64::INFINITY;
        let mut best_takes: Vec<Take> = Vec::new();
        let mut scratch: Vec<Take> = Vec::new();
        loop {
            scratch.clear();
            let allowed = |line_in_component: usize, location_in_set: usize| match chooser_of[line_in_component] {
                Some(chooser) => choice[chooser] == location_in_set,
                None => true,
            };
            let cost = self.transport(lines, set, &allowed, &mut scratch);
            if cost < best_cost - 1e-12 {
                best_cost = cost;
                best_takes.clone_from(&scratch);
            }
            let mut position = 0;
            while position < choice.len() {
                choice[position] += 1;
                if choice[position] <= set.len() {
                    break;
                }
                choice[position] = 0;
                position += 1;
            }
            if position == choice.len() {
                break;
            }
        }
        if let Some(takes) = takes {
            takes.extend(best_takes);
        }
        best_cost
    }

    // One splittable line: take from the cheapest locations of the set first.
    fn fill_split_line(&self, line: usize, group: usize, set: &[u32], mut takes: Option<&mut Vec<Take>>) -> f64 {
        let mut remaining = self.lines[line].qty;
        let mut cost = 0.0;
        let mut taken = 0u64; // bit i: set[i] already used
        while remaining > 0 {
            let mut best: Option<(usize, f64)> = None;
            for (index, &location) in set.iter().enumerate() {
                if taken & (1 << index) != 0 {
                    continue;
                }
                let unit = self.unit_cost(line, location as usize);
                if unit.is_finite() && best.is_none_or(|(_, best_cost)| unit < best_cost) {
                    best = Some((index, unit));
                }
            }
            let Some((index, unit)) = best else { break };
            taken |= 1 << index;
            let location = set[index] as usize;
            let qty = remaining.min(self.group_atp(group, location));
            if qty == 0 {
                continue;
            }
            remaining -= qty;
            cost += f64::from(qty) * unit;
            if let Some(takes) = takes.as_deref_mut() {
                takes.push(Take { line: line as u32, location: location as u32, qty });
            }
        }
        cost + f64::from(remaining) * self.unfilled_penalty
    }

    // One line that may not split: all its units (as many as there are) from one location.
    fn fill_whole_line(&self, line: usize, group: usize, set: &[u32], takes: Option<&mut Vec<Take>>) -> f64 {
        let qty = self.lines[line].qty;
        let mut best_cost = f64::from(qty) * self.unfilled_penalty;
        let mut best: Option<Take> = None;
        for &location in set {
            let unit = self.unit_cost(line, location as usize);
            if !unit.is_finite() {
                continue;
            }
            let shipped = qty.min(self.group_atp(group, location as usize));
            let cost = f64::from(shipped) * unit + f64::from(qty - shipped) * self.unfilled_penalty;
            if shipped > 0 && cost < best_cost {
                best_cost = cost;
                best = Some(Take { line: line as u32, location, qty: shipped });
            }
        }
        if let (Some(takes), Some(take)) = (takes, best) {
            takes.push(take);
        }
        best_cost
    }

    // Min-cost flow by successive shortest paths (Bellman-Ford; the graph has at most a few
    // dozen nodes): lines -> (their SKU, a location of the set) where `allowed`, each unit
    // shipped saving `unfilled_penalty - unit_cost`; each (SKU, location) holds its ATP.
    fn transport(
        &self,
        lines: &[u32],
        set: &[u32],
        allowed: &dyn Fn(usize, usize) -> bool,
        takes: &mut Vec<Take>,
    ) -> f64 {
        let unfilled: f64 = lines.iter().map(|&l| f64::from(self.lines[l as usize].qty) * self.unfilled_penalty).sum();
        if lines.is_empty() || set.is_empty() {
            return unfilled;
        }
        // The SKU groups among the lines, each with a supply node per location of the set.
        let mut groups: Vec<u32> = Vec::new();
        for &line in lines {
            let group = self.lines[line as usize].group;
            if !groups.contains(&group) {
                groups.push(group);
            }
        }
        let supply = |group: u32, j: usize| {
            1 + lines.len() + groups.iter().position(|&g| g == group).unwrap_or(0) * set.len() + j
        };
        let mut flow = MinCostFlow::new(2 + lines.len() + groups.len() * set.len());
        let (source, sink) = (0, 1 + lines.len() + groups.len() * set.len());
        let mut arcs: Vec<(usize, u32, u32)> = Vec::new(); // (edge, line, location)
        for (i, &line) in lines.iter().enumerate() {
            flow.add_edge(source, 1 + i, i64::from(self.lines[line as usize].qty), 0.0);
            let group = self.lines[line as usize].group;
            for (j, &location) in set.iter().enumerate() {
                let unit = self.unit_cost(line as usize, location as usize);
                if unit.is_finite() && allowed(i, j) {
                    let edge = flow.add_edge(1 + i, supply(group, j), i64::MAX / 4, unit - self.unfilled_penalty);
                    arcs.push((edge, line, location));
                }
            }
        }
        for &group in &groups {
            for (j, &location) in set.iter().enumerate() {
                let available = self.group_atp(group as usize, location as usize);
                flow.add_edge(supply(group, j), sink, i64::from(available), 0.0);
            }
        }
        let saving = flow.run(source, sink);
        for (edge, line, location) in arcs {
            let qty = flow.flow_on(edge);
            if qty > 0 {
                takes.push(Take { line, location, qty: qty as u32 });
            }
        }
        unfilled + saving
    }

    /// A lower bound on the fill cost of every group over any subset of the locations for
    /// which `member` is true: lines are relaxed to splittable and lines of one SKU each see
    /// its whole ATP.
    pub fn relaxed_fill(&self, member: impl Fn(u32) -> bool) -> f64 {
        let mut total = 0.0;
        for (line, problem_line) in self.lines.iter().enumerate() {
            let mut remaining = problem_line.qty;
            for option in self.line_options(line) {
                if remaining == 0 {
                    break;
                }
                if member(option.location) {
                    let qty = remaining.min(option.atp);
                    remaining -= qty;
                    total += f64::from(qty) * option.cost;
                }
            }
            total += f64::from(remaining) * self.unfilled_penalty;
        }
        total
    }
}

struct MinCostFlow {
    to: Vec<usize>,
    capacity: Vec<i64>,
    cost: Vec<f64>,
    adjacency: Vec<Vec<usize>>,
    original: Vec<i64>,
}

impl MinCostFlow {
    fn new(nodes: usize) -> MinCostFlow {
        MinCostFlow {
            to: Vec::new(),
            capacity: Vec::new(),
            cost: Vec::new(),
            adjacency: vec![Vec::new(); nodes],
            original: Vec::new(),
        }
    }

    fn add_edge(&mut self, from: usize, to: usize, capacity: i64, cost: f64) -> usize {
        let edge = self.to.len();
        for (a, b, c, k) in [(from, to, capacity, cost), (to, from, 0, -cost)] {
            self.adjacency[a].push(self.to.len());
            self.to.push(b);
            self.capacity.push(c);
            self.cost.push(k);
            self.original.push(c);
        }
        edge
    }

    fn flow_on(&self, edge: usize) -> i64 {
        self.original[edge] - self.capacity[edge]
    }

    // Augments along negative-cost paths while any exists; returns the total (negative) cost.
    fn run(&mut self, source: usize, sink: usize) -> f64 {
        let nodes = self.adjacency.len();
        let mut total = 0.0;
        loop {
            let mut distance = vec![f64::INFINITY; nodes];
            let mut via: Vec<Option<usize>> = vec![None; nodes];
            distance[source] = 0.0;
            for _ in 0..nodes {
                let mut changed = false;
                for node in 0..nodes {
                    if !distance[node].is_finite() {
                        continue;
                    }
                    for &edge in &self.adjacency[node] {
                        let next = self.to[edge];
                        if self.capacity[edge] > 0 && distance[node] + self.cost[edge] < distance[next] - 1e-12 {
                            distance[next] = distance[node] + self.cost[edge];
                            via[next] = Some(edge);
                            changed = true;
                        }
                    }
                }
                if !changed {
                    break;
                }
            }
            if distance[sink] >= -1e-12 || distance[sink].is_nan() {
                return total;
            }
            let mut bottleneck = i64::MAX;
            let mut node = sink;
            while let Some(edge) = via[node] {
                bottleneck = bottleneck.min(self.capacity[edge]);
                node = self.to[edge ^ 1];
            }
            let mut node = sink;
            while let Some(edge) = via[node] {
                self.capacity[edge] -= bottleneck;
                self.capacity[edge ^ 1] += bottleneck;
                node = self.to[edge ^ 1];
            }
            total += bottleneck as f64 * distance[sink];
        }
    }
}
