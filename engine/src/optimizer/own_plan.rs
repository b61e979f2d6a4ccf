//! A policy's own plan: a complete allocation a policy (a Wasm plugin) chose itself instead of
//! letting the optimizer choose. It is checked against the same problem the optimizer would
//! have solved, so it can never take more than there is, use what the policy excluded, or
//! break the policy's own split rules.

use crate::policy::{Candidates, PlannedUnits};

use super::{Problem, Take};

/// Turns a policy's plan into takes of `problem`, or says which rule it breaks.
///
/// Units are checked line option by line option: the option must be usable (not excluded,
/// blocked, without stock, or dearer per unit than the policy's unfilled penalty, as for the
/// optimizer), a line gets at most what it orders, lines that may not split ship from one
/// location, lines with one ship-together key ship from the same one, lines of one SKU share
/// its ATP at each location, and the plan uses at most the policy's maximum number of
/// shipments. Units left out are unfilled, as in any plan.
pub fn takes_of_plan(problem: &Problem, candidates: &Candidates, plan: &[PlannedUnits]) -> Result<Vec<Take>, String> {
    let mut takes: Vec<Take> = Vec::with_capacity(plan.len());
    for (index, planned) in plan.iter().enumerate() {
        let entry = planned.candidate as usize;
        // INVARIANT: `Evaluation::validate` checked every candidate index and quantity.
        let line = candidates.line_of(entry);
        let slot = candidates.entries[entry].slot as usize;
        let location = problem
            .location_of_slot(slot)
            .filter(|&location| problem.unit_cost(line, location as usize).is_finite())
            .ok_or_else(|| {
                format!(
                    "`plan[{index}]` uses candidate {entry} (line {line}), which is excluded, blocked, without \
                     stock, or dearer per unit than leaving the unit unfilled"
                )
            })?;
        match takes.iter_mut().find(|take| take.line as usize == line && take.location == location) {
            Some(take) => take.qty = take.qty.saturating_add(planned.qty),
            None => takes.push(Take { line: line as u32, location, qty: planned.qty }),
        }
    }
    takes.sort_unstable_by_key(|take| (take.line, take.location));

    for (line, problem_line) in problem.lines.iter().enumerate() {
        let of_line = || takes.iter().filter(move |take| take.line as usize == line);
        let units: u64 = of_line().map(|take| u64::from(take.qty)).sum();
        if units > u64::from(problem_line.qty) {
            return Err(format!("the plan ships {units} units of line {line}, which orders {}", problem_line.qty));
        }
        if !problem_line.may_split && of_line().count() > 1 {
            return Err(format!("the plan splits line {line}, which may not split"));
        }
        if problem_line.together != 0 {
            let apart = takes.iter().any(|take| {
                problem.lines[take.line as usize].together == problem_line.together
                    && of_line().any(|own| own.location != take.location)
            });
            if apart {
                return Err(format!("the plan ships line {line} apart from lines it must ship together with"));
            }
        }
    }
    for (group, lines) in problem.group_lines.iter().enumerate() {
        for location in 0..problem.location_count() {
            let units: u64 = takes
                .iter()
                .filter(|take| take.location as usize == location && lines.contains(&take.line))
                .map(|take| u64::from(take.qty))
                .sum();
            let atp = problem.group_atp(group, location);
            if units > u64::from(atp) {
                return Err(format!(
                    "the plan takes {units} units of line {}'s SKU at candidate location {}, where {atp} are \
                     available",
                    lines[0], problem.slots[location]
                ));
            }
        }
    }
    let mut locations: Vec<u32> = takes.iter().map(|take| take.location).collect();
    locations.sort_unstable();
    locations.dedup();
    if locations.len() > problem.max_shipments {
        return Err(format!(
            "the plan ships from {} locations, more than the {} shipments the policy allows",
            locations.len(),
            problem.max_shipments
        ));
    }
    Ok(takes)
}
