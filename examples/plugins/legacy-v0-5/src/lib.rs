//! A plugin built against `switchyard:routing@0.5.0` (`plugins/wit-0.5.0`), before plugins
//! declared parameters: kept to prove that plugins of that version keep loading and routing,
//! and still see the order's carrier service and dates (tests/all/plugins.rs). It reads the
//! request's rows by their offsets, without the SDK, as a plugin in another language would.
//!
//! Its cost model is `legacy-v0-4`'s (a shipment $5 plus the location's handling, a unit its
//! handling per unit; at most two shipments, $3 per extra one, an unfilled unit $40), plus,
//! when the order names a carrier service, $1 per day in transit from the location, and no
//! shipment from a location the service cannot ship from.

wit_bindgen::generate!({ world: "routing-plugin", path: "../../../plugins/wit-0.5.0" });

use switchyard::routing::types::{Exclusion, ShortStock};

// Bytes per row of each section of `request.rows` (plugins/wit-0.5.0/routing.wit).
const LINE_ROW: usize = 36;
const LOCATION_ROW: usize = 68;
const LABEL_ROW: usize = 12;
const CANDIDATE_ROW: usize = 12;
const DELIVERY_ROW: usize = 12;
// Offsets in a location row.
const HANDLING_PER_SHIPMENT: usize = 32;
const HANDLING_PER_UNIT: usize = 40;
// An optional count that is absent.
const NONE: u32 = u32::MAX;

fn f64_at(rows: &[u8], at: usize) -> Result<f64, String> {
    rows.get(at..at + 8)
        .and_then(|bytes| bytes.try_into().ok())
        .map(f64::from_le_bytes)
        .ok_or_else(|| format!("`rows` ends before byte {at}"))
}

fn u32_at(rows: &[u8], at: usize) -> Result<u32, String> {
    rows.get(at..at + 4)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| format!("`rows` ends before byte {at}"))
}

struct Legacy;

impl Guest for Legacy {
    fn evaluate(request: Request) -> Result<Answer, String> {
        let rows = &request.rows;
        let locations = request.location_count as usize;
        let locations_at = request.line_count as usize * LINE_ROW;
        let candidates_at = locations_at
            + locations * LOCATION_ROW
            + (request.tag_count + request.capability_count) as usize * LABEL_ROW;
        let delivery_at = candidates_at + request.candidate_count as usize * CANDIDATE_ROW;
        let delivery_rows = if request.delivery.is_some() { locations } else { 0 };
        if rows.len() != delivery_at + delivery_rows * DELIVERY_ROW {
            return Err(format!("`rows` has {} bytes, not the sections' sum", rows.len()));
        }
        let location = |index: usize, field: usize| f64_at(rows, locations_at + index * LOCATION_ROW + field);
        let mut shipment_cost = Vec::new();
        let mut excluded_locations = Vec::new();
        for index in 0..locations {
            let mut cost = 5.0 + location(index, HANDLING_PER_SHIPMENT)?;
            if request.delivery.is_some() {
                match u32_at(rows, delivery_at + index * DELIVERY_ROW)? {
                    NONE => excluded_locations.push(Exclusion { index: index as u32, reason: 0 }),
                    days => cost += f64::from(days),
                }
            }
            shipment_cost.push(cost);
        }
        let mut unit_cost = Vec::new();
        for index in 0..request.candidate_count as usize {
            let at = u32_at(rows, candidates_at + index * CANDIDATE_ROW + 4)? as usize;
            unit_cost.push(location(at, HANDLING_PER_UNIT)?);
        }
        Ok(Answer {
            reasons: vec!["the order's carrier service cannot ship from here".to_owned()],
            shipment_cost,
            unit_cost,
            excluded_locations,
            excluded_candidates: Vec::new(),
            max_shipments: 2,
            split_penalty: 3.0,
            line_may_split: vec![true; request.line_count as usize],
            ship_together: vec![0; request.line_count as usize],
            short_stock: ShortStock::Partial(40.0),
            backorder_within: None,
            plan: None,
        })
    }
}

export!(Legacy);
