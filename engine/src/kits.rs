//! Kits (bundles): a kit is a product made of other products. It holds no stock of its own;
//! ordering one takes its components. The engine routes kits so that:
//! - a kit line is expanded into one line per component ([`expand_kits`]), `<line>/<sku>`,
//!   carrying a [`KitPart`] that names the kit line it came from;
//! - the components of one kit ship together from one location unless the kit may split
//!   ([`apply_kit_rules`], applied by the router after the policy answers);
//! - a kit ships whole or not at all: when any component of a kit would be left short, the
//!   whole kit is left unfilled (its units cost the policy's unfilled penalty) and the rest of
//!   the order is planned again (the router's `plan` and `route_and_reserve`);
//! - a kit's ATP is the number of whole kits the components make ([`kit_atp`]).

use std::collections::HashMap;

use crate::catalog::Catalog;
use crate::domain::{LocationId, Order, OrderLine, SkuId};
use crate::inventory::{Inventory, Position};
use crate::policy::{Candidates, Evaluation};
use crate::router::OrderError;

/// One component of a kit: a product and the units of it in one kit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KitComponent {
    /// The component (a product that is not itself a kit).
    pub sku: SkuId,
    /// Units per kit, at least 1.
    pub qty: u32,
}

/// What a kit is made of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kit {
    /// Its components, at least one.
    pub components: Vec<KitComponent>,
    /// Whether the components may ship from different locations (default: they ship together).
    pub may_split: bool,
}

/// Marks an order line as a component of a kit line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KitPart {
    /// Which kit of the order: the index of the kit line in the order as submitted. Lines
    /// with the same `kit` ship whole or not at all.
    pub kit: u32,
    /// Whether the kit's components may ship from different locations.
    pub may_split: bool,
}

/// The order with every kit line replaced by one line per component: `<line id>/<component
/// sku>`, `qty` × units per kit, marked with a [`KitPart`]. Other lines are kept as they are.
/// Errors name the submitted line (`lines[2].qty` when the units overflow).
pub fn expand_kits(catalog: &Catalog, order: &Order) -> Result<Order, OrderError> {
    let mut lines = Vec::with_capacity(order.lines.len());
    for (index, line) in order.lines.iter().enumerate() {
        if line.kit.is_some() {
            // Already a component (a remainder routed again keeps its kit marks).
            lines.push(line.clone());
            continue;
        }
        let Some(kit) = catalog.kit(line.sku) else {
            lines.push(line.clone());
            continue;
        };
        for component in &kit.components {
            let qty = line.qty.checked_mul(component.qty).ok_or_else(|| OrderError {
                field: format!("lines[{index}].qty"),
                message: format!("{} kits of {} units each are too many units", line.qty, component.qty),
            })?;
            lines.push(OrderLine {
                id: format!("{}/{}", line.id, catalog.product(component.sku).sku),
                sku: component.sku,
                qty,
                kit: Some(KitPart { kit: index as u32, may_split: kit.may_split }),
            });
        }
    }
    Ok(Order { lines, ..order.clone() })
}

/// Whether any line of `order` is a kit component.
pub fn has_kit_lines(order: &Order) -> bool {
    order.lines.iter().any(|line| line.kit.is_some())
}

/// Puts the components of every kit that may not split into one ship-together group that may
/// not split across locations, whatever the policy said; drops a plan the policy chose itself
/// that sends one such kit from more than one location (the optimizer then chooses at the
/// policy's prices).
pub fn apply_kit_rules(order: &Order, candidates: &Candidates, evaluation: &mut Evaluation) {
    for (index, line) in order.lines.iter().enumerate() {
        let Some(part) = line.kit.filter(|part| !part.may_split) else { continue };
        // Keys from the top of the range, so they never meet a policy's own keys.
        if let Some(key) = evaluation.split.ship_together.get_mut(index) {
            *key = u32::MAX - part.kit;
        }
        if let Some(may_split) = evaluation.split.line_may_split.get_mut(index) {
            *may_split = false;
        }
    }
    let Some(plan) = &evaluation.plan else { return };
    let mut first_location: Vec<(u32, u32)> = Vec::new();
    let mut apart = false;
    for planned in plan {
        let Some(entry) = candidates.entries.get(planned.candidate as usize) else { continue };
        let line = candidates.line_of(planned.candidate as usize);
        let Some(part) = order.lines.get(line).and_then(|l| l.kit).filter(|p| !p.may_split) else { continue };
        match first_location.iter().find(|(kit, _)| *kit == part.kit) {
            Some(&(_, slot)) => apart |= slot != entry.slot,
            None => first_location.push((part.kit, entry.slot)),
        }
    }
    if apart {
        evaluation.plan = None;
    }
}

/// The kits (by their `kit` mark) that have a line in `short`.
pub(crate) fn short_kits(order: &Order, short: impl IntoIterator<Item = usize>) -> Vec<u32> {
    let mut kits: Vec<u32> = short.into_iter().filter_map(|line| order.lines.get(line)?.kit.map(|p| p.kit)).collect();
    kits.sort_unstable();
    kits.dedup();
    kits
}

/// How many whole kits the network can make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KitAtp {
    /// Across the network: the sum over locations of the kits each makes, or, when the kit
    /// may split, the kits the network's components make together.
    pub network: u64,
    /// Per location that makes at least one kit, ascending by location: kits it makes alone.
    pub locations: Vec<(LocationId, u32)>,
}

/// The ATP of kit `sku`, or `None` when it is not a kit.
pub fn kit_atp(catalog: &Catalog, inventory: &Inventory, sku: SkuId) -> Option<KitAtp> {
    let kit = catalog.kit(sku)?;
    let mut per_location: Option<HashMap<LocationId, u32>> = None;
    let mut network = u64::MAX;
    let mut positions: Vec<Position> = Vec::new();
    for component in &kit.components {
        let per_kit = component.qty.max(1);
        positions.clear();
        inventory.positions_into(component.sku, &mut positions);
        let here: HashMap<LocationId, u32> = positions.iter().map(|p| (p.location, p.atp() / per_kit)).collect();
        let total: u64 = positions.iter().map(|p| u64::from(p.atp())).sum();
        network = network.min(total / u64::from(per_kit));
        per_location = Some(match per_location {
            None => here,
            Some(so_far) => so_far.into_iter().map(|(l, n)| (l, n.min(here.get(&l).copied().unwrap_or(0)))).collect(),
        });
    }
    let mut locations: Vec<(LocationId, u32)> =
        per_location.unwrap_or_default().into_iter().filter(|(_, kits)| *kits > 0).collect();
    locations.sort_unstable();
    let network = if kit.may_split {
        if network == u64::MAX { 0 } else { network }
    } else {
        locations.iter().map(|(_, kits)| u64::from(*kits)).sum()
    };
    Some(KitAtp { network, locations })
}
