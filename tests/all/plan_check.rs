//! An independent checker of `switchyard-plan/1` files against their scenario, written from
//! FORMAT.md (and docs/SCENARIOS.md for kits) alone on raw JSON (no engine types): every
//! limit, and every cost recomputed. A kit line is planned as its components, `<line>/<sku>`:
//! each kit ships whole or is unfilled whole, from one location unless it may split.

use std::collections::HashMap;

use serde_json::Value;

const EARTH_RADIUS_KM: f64 = 6371.0088;

fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

fn seconds(text: &str) -> i64 {
    // `YYYY-MM-DDTHH:MM:SSZ` only, as the sample scenarios write it.
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().unwrap();
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d - 719_469;
    days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)
}

// A line as the plan names it: SKU, units, and for a kit's component the kit line and
// whether it may split.
type PlannedLine<'a> = (&'a str, u64, Option<(&'a str, bool)>);

/// Totals of a checked plan.
#[derive(Debug, Default)]
pub struct Checked {
    pub total_cost: f64,
    pub optimal: usize,
    pub orders: usize,
}

/// Checks `plan` against `scenario`; panics with the order and the broken rule.
pub fn check_plan(scenario: &Value, plan: &Value) -> Checked {
    assert_eq!(plan["format"], "switchyard-plan/1");
    assert_eq!(plan["scenario"], scenario["name"]);
    let card = &scenario["rate_card"];
    assert_eq!(card["distance_unit"], "km");
    let zones: Vec<(String, Option<f64>)> =
        card["zones"].as_array().unwrap().iter().map(|z| (z["zone"].to_string(), z["max_distance"].as_f64())).collect();
    let settings = &scenario["settings"];
    let max_shipments = settings["max_shipments"].as_u64().unwrap() as usize;
    let split_penalty = settings["split_penalty"].as_f64().unwrap();
    let unfilled_penalty = settings["unfilled_penalty"].as_f64().unwrap();
    let required: Vec<&str> =
        settings["required_capabilities"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let locations: HashMap<&str, &Value> =
        scenario["locations"].as_array().unwrap().iter().map(|l| (l["id"].as_str().unwrap(), l)).collect();
    let products: HashMap<&str, &Value> =
        scenario["products"].as_array().unwrap().iter().map(|p| (p["sku"].as_str().unwrap(), p)).collect();
    let mut atp: HashMap<(&str, &str), i64> = HashMap::new();
    for row in scenario["inventory"].as_array().unwrap() {
        let key = (row["location"].as_str().unwrap(), row["sku"].as_str().unwrap());
        atp.insert(key, row["on_hand"].as_i64().unwrap() - row["safety_stock"].as_i64().unwrap());
    }
    let mut shipments_per_day: HashMap<(&str, i64), u64> = HashMap::new();
    let orders = scenario["orders"].as_array().unwrap();
    let plans = plan["orders"].as_array().unwrap();
    assert_eq!(orders.len(), plans.len(), "one plan per order");
    let mut checked = Checked::default();
    for (order, plan) in orders.iter().zip(plans) {
        let id = order["id"].as_str().unwrap();
        assert_eq!(plan["id"], order["id"]);
        let placed_at = seconds(order["placed_at"].as_str().unwrap());
        let ship_to = (order["ship_to"]["lat"].as_f64().unwrap(), order["ship_to"]["lon"].as_f64().unwrap());
        // Per line id, kits expanded: its SKU, units, and its kit line and whether that may split.
        let mut lines: HashMap<String, PlannedLine> = HashMap::new();
        for line in order["lines"].as_array().unwrap() {
            let (line_id, sku, qty) =
                (line["id"].as_str().unwrap(), line["sku"].as_str().unwrap(), line["qty"].as_u64().unwrap());
            match products[sku]["components"].as_array() {
                Some(components) => {
                    let may_split = products[sku]["kit_may_split"].as_bool().unwrap_or(false);
                    for component in components {
                        let component_sku = component["sku"].as_str().unwrap();
                        lines.insert(
                            format!("{line_id}/{component_sku}"),
                            (component_sku, qty * component["qty"].as_u64().unwrap(), Some((line_id, may_split))),
                        );
                    }
                }
                None => {
                    lines.insert(line_id.to_owned(), (sku, qty, None));
                }
            }
        }
        // Per kit line: the locations its components ship from, and whether any unit is unfilled.
        let mut kit_locations: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut kit_short: HashMap<&str, bool> = HashMap::new();
        let mut accounted: HashMap<&str, u64> = HashMap::new();
        let shipments = plan["shipments"].as_array().unwrap();
        assert!(shipments.len() <= max_shipments, "{id}: {} shipments", shipments.len());
        let mut cost = split_penalty * shipments.len().saturating_sub(1) as f64;
        for shipment in shipments {
            let location_id = shipment["location"].as_str().unwrap();
            let location = locations[location_id];
            for window in location["downtime"].as_array().unwrap() {
                let (from, to) = (seconds(window["from"].as_str().unwrap()), seconds(window["to"].as_str().unwrap()));
                assert!(!(from <= placed_at && placed_at < to), "{id}: {location_id} is down");
            }
            let day = placed_at.div_euclid(86_400);
            let used = shipments_per_day.entry((location_id, day)).or_default();
            *used += 1;
            assert!(
                *used <= location["capacity_shipments_per_day"].as_u64().unwrap(),
                "{id}: {location_id} over capacity"
            );
            let distance =
                haversine_km((location["lat"].as_f64().unwrap(), location["lon"].as_f64().unwrap()), ship_to);
            let zone = &zones.iter().find(|(_, max)| max.is_none_or(|max| distance <= max)).unwrap().0;
            let zone = zone.trim_matches('"');
            cost += card["per_shipment"][zone].as_f64().unwrap() + location["handling_per_shipment"].as_f64().unwrap();
            let capabilities: Vec<&str> =
                location["capabilities"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
            let shipment_lines = shipment["lines"].as_array().unwrap();
            assert!(!shipment_lines.is_empty(), "{id}: empty shipment from {location_id}");
            for line in shipment_lines {
                let line_id = line["line"].as_str().unwrap();
                let qty = line["qty"].as_u64().unwrap();
                assert!(qty > 0, "{id}: zero units");
                let (sku, _, kit) = lines[line_id];
                if let Some((kit_line, _)) = kit {
                    kit_locations.entry(kit_line).or_default().push(location_id);
                }
                let product = products[sku];
                for tag in product["tags"].as_array().unwrap() {
                    let tag = tag.as_str().unwrap();
                    assert!(
                        !required.contains(&tag) || capabilities.contains(&tag),
                        "{id}: {sku} needs {tag} at {location_id}"
                    );
                }
                let available =
                    atp.get_mut(&(location_id, sku)).unwrap_or_else(|| panic!("{id}: {location_id} holds no {sku}"));
                *available -= qty as i64;
                assert!(*available >= 0, "{id}: oversold {sku} at {location_id}");
                cost += qty as f64
                    * (card["per_kg"][zone].as_f64().unwrap() * product["weight_kg"].as_f64().unwrap()
                        + location["handling_per_unit"].as_f64().unwrap());
                *accounted.entry(line_id).or_default() += qty;
            }
        }
        for unfilled in plan["unfilled"].as_array().unwrap() {
            let qty = unfilled["qty"].as_u64().unwrap();
            cost += qty as f64 * unfilled_penalty;
            let line_id = unfilled["line"].as_str().unwrap();
            if let Some((kit_line, _)) = lines[line_id].2 {
                kit_short.insert(kit_line, true);
            }
            *accounted.entry(line_id).or_default() += qty;
        }
        for (line_id, (_, qty, kit)) in &lines {
            assert_eq!(accounted.get(line_id.as_str()).copied().unwrap_or(0), *qty, "{id}: line {line_id} units");
            if let Some((kit_line, may_split)) = kit {
                let mut from = kit_locations.get(kit_line).cloned().unwrap_or_default();
                if kit_short.get(kit_line).copied().unwrap_or(false) {
                    assert!(from.is_empty(), "{id}: kit line {kit_line} ships in part");
                }
                from.sort_unstable();
                from.dedup();
                assert!(*may_split || from.len() <= 1, "{id}: kit line {kit_line} ships from {from:?}");
            }
        }
        let stated = plan["cost"].as_f64().unwrap();
        // Plan files round to the cent.
        assert!((stated - cost).abs() <= 0.005 + 1e-6, "{id}: plan says {stated}, recomputed {cost}");
        assert_eq!((stated * 100.0).round() / 100.0, stated, "{id}: {stated} is rounded to the cent");
        checked.total_cost += cost;
        checked.optimal += usize::from(plan["optimal"].as_bool().unwrap());
        checked.orders += 1;
    }
    checked
}
