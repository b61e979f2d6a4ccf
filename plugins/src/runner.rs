//! Running a plugin outside the service: the request it is shown as plain JSON
//! ([`PluginInput`]), and one run of it with what it used ([`crate::WasmPolicy::run_input`]), for
//! `switchyard plugin request` and `switchyard plugin run`.
//!
//! The JSON is the wire request (`plugins/wit/routing.wit`) decoded: the texts inline instead
//! of spans, each packed row an object, with the field names of the Rust SDK's structs. A
//! request built from a scenario, written, read back and run gives the plugin the same bytes
//! the service would.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use switchyard_engine::PolicyRequest;

use crate::bindings::switchyard::routing::types as wit;
use crate::convert::{CANDIDATE_ROW, DELIVERY_ROW, LABEL_ROW, LINE_ROW, LOCATION_ROW, NONE};
use crate::parameters::ParamValue;

/// The request a plugin is shown, as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginInput {
    /// The decision time, seconds since the Unix epoch.
    pub now: i64,
    /// The order.
    pub order: InputOrder,
    /// The order's lines.
    pub lines: Vec<InputLine>,
    /// The locations that hold stock of at least one line.
    pub locations: Vec<InputLocation>,
    /// Each line's options: units of its SKU at a location. Ordered by line.
    pub candidates: Vec<InputCandidate>,
    /// The order's carrier service and promised day, when it names a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<InputDelivery>,
    /// Values of the plugin's parameters by name (`{"max_shipments": 2}`); a parameter not
    /// named here has its default. The plugin is shown every declared parameter's value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, ParamValue>,
}

/// The order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputOrder {
    /// Its id.
    pub id: String,
    /// Sales channel.
    pub channel: String,
    /// Seconds since the Unix epoch.
    pub placed_at: i64,
    /// Ship-to latitude.
    pub ship_to_lat: f64,
    /// Ship-to longitude.
    pub ship_to_lon: f64,
    /// Ship-to postal code.
    pub postal_code: String,
    /// Ship-to country.
    pub country: String,
}

/// A line of the order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLine {
    /// Its id.
    pub id: String,
    /// Units.
    pub qty: u32,
    /// The product's SKU.
    pub sku: String,
    /// The product group.
    pub group: String,
    /// Weight of one unit, kg.
    pub weight_kg: f64,
    /// The product's tags.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A location.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLocation {
    /// Its id.
    pub id: String,
    /// `dc`, `store` or `dropship`.
    pub kind: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Handling cost per shipment.
    pub handling_per_shipment: f64,
    /// Handling cost per unit.
    pub handling_per_unit: f64,
    /// Higher is preferred on ties.
    pub priority: i32,
    /// Great-circle distance to the ship-to, km.
    pub distance_km: f64,
    /// Shipments it may send per day (none: unlimited).
    #[serde(default)]
    pub capacity_per_day: Option<u32>,
    /// Shipments it may still send today (0 when it is down; none: unlimited).
    #[serde(default)]
    pub shipments_left: Option<u32>,
    /// Its capabilities.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// With the request's `delivery`: its dates by the order's service (none: the service
    /// cannot ship from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<InputLocationDelivery>,
}

/// A location's dates by the order's carrier service.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLocationDelivery {
    /// Carrier days in transit.
    pub transit_days: u32,
    /// The day it would leave (days since 1970-01-01).
    pub ship_day: i32,
    /// The day it would arrive (days since 1970-01-01).
    pub delivery_day: i32,
}

/// A line's option to take stock from a location.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputCandidate {
    /// Index into `lines`.
    pub line: u32,
    /// Index into `locations`.
    pub location: u32,
    /// Available to promise of the line's SKU there.
    pub atp: u32,
}

/// The order's carrier service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputDelivery {
    /// The service's id.
    pub service: String,
    /// The day promised (days since 1970-01-01); none: no day was promised.
    #[serde(default)]
    pub deliver_by: Option<i32>,
}

impl PluginInput {
    /// The request the host would show a plugin for `request`.
    pub fn of(request: &PolicyRequest<'_>) -> PluginInput {
        let (wire, _) = crate::convert::request(request, true, &[]);
        PluginInput::decode(&wire)
    }

    /// Reads a wire request (one the host built: its spans and rows are well formed).
    pub(crate) fn decode(request: &wit::Request) -> PluginInput {
        let text = |name: wit::Name| {
            request.text.get(name.start as usize..(name.start + name.len) as usize).unwrap_or_default().to_owned()
        };
        let rows = &request.rows;
        let u32_at = |at: usize| u32::from_le_bytes(rows[at..at + 4].try_into().unwrap_or_default());
        let i32_at = |at: usize| i32::from_le_bytes(rows[at..at + 4].try_into().unwrap_or_default());
        let f64_at = |at: usize| f64::from_le_bytes(rows[at..at + 8].try_into().unwrap_or_default());
        let span_at = |at: usize| text(wit::Name { start: u32_at(at), len: u32_at(at + 4) });
        let count_at = |at: usize| Some(u32_at(at)).filter(|&value| value != NONE);
        let mut at = 0;
        let mut lines = Vec::with_capacity(request.line_count as usize);
        for _ in 0..request.line_count {
            lines.push(InputLine {
                id: span_at(at),
                qty: u32_at(at + 8),
                sku: span_at(at + 12),
                group: span_at(at + 20),
                weight_kg: f64_at(at + 28),
                tags: Vec::new(),
            });
            at += LINE_ROW;
        }
        let mut locations = Vec::with_capacity(request.location_count as usize);
        for _ in 0..request.location_count {
            locations.push(InputLocation {
                id: span_at(at),
                kind: span_at(at + 8),
                lat: f64_at(at + 16),
                lon: f64_at(at + 24),
                handling_per_shipment: f64_at(at + 32),
                handling_per_unit: f64_at(at + 40),
                priority: i32_at(at + 48),
                distance_km: f64_at(at + 52),
                capacity_per_day: count_at(at + 60),
                shipments_left: count_at(at + 64),
                capabilities: Vec::new(),
                delivery: None,
            });
            at += LOCATION_ROW;
        }
        for _ in 0..request.tag_count {
            if let Some(line) = lines.get_mut(u32_at(at) as usize) {
                line.tags.push(span_at(at + 4));
            }
            at += LABEL_ROW;
        }
        for _ in 0..request.capability_count {
            if let Some(location) = locations.get_mut(u32_at(at) as usize) {
                location.capabilities.push(span_at(at + 4));
            }
            at += LABEL_ROW;
        }
        let mut candidates = Vec::with_capacity(request.candidate_count as usize);
        for _ in 0..request.candidate_count {
            candidates.push(InputCandidate { line: u32_at(at), location: u32_at(at + 4), atp: u32_at(at + 8) });
            at += CANDIDATE_ROW;
        }
        if request.delivery.is_some() {
            for location in &mut locations {
                location.delivery = count_at(at).map(|transit_days| InputLocationDelivery {
                    transit_days,
                    ship_day: i32_at(at + 4),
                    delivery_day: i32_at(at + 8),
                });
                at += DELIVERY_ROW;
            }
        }
        PluginInput {
            now: request.now,
            order: InputOrder {
                id: text(request.order.id),
                channel: text(request.order.channel),
                placed_at: request.order.placed_at,
                ship_to_lat: request.order.ship_to_lat,
                ship_to_lon: request.order.ship_to_lon,
                postal_code: text(request.order.postal_code),
                country: text(request.order.country),
            },
            lines,
            locations,
            candidates,
            delivery: request
                .delivery
                .as_ref()
                .map(|delivery| InputDelivery { service: text(delivery.service), deliver_by: delivery.deliver_by }),
            parameters: BTreeMap::new(),
        }
    }

    /// Checks the request as the host would have built it (all but `parameters`, which only
    /// the plugin's declarations can check); an error names the field (`candidates[3].line`, ...).
    pub fn check(&self) -> Result<(), String> {
        self.encode(&[]).map(|_| ())
    }

    // Packs the request for the wire, carrying `values` (one per declared parameter).
    pub(crate) fn encode(&self, values: &[ParamValue]) -> Result<wit::Request, String> {
        let count = |what: &str, len: usize| {
            u32::try_from(len).ok().filter(|&n| n != NONE).ok_or_else(|| format!("`{what}` has too many entries"))
        };
        let line_count = count("lines", self.lines.len())?;
        let location_count = count("locations", self.locations.len())?;
        let candidate_count = count("candidates", self.candidates.len())?;
        let tag_count = count("lines[].tags", self.lines.iter().map(|l| l.tags.len()).sum())?;
        let capability_count =
            count("locations[].capabilities", self.locations.iter().map(|l| l.capabilities.len()).sum())?;
        let mut last_line = 0;
        for (index, candidate) in self.candidates.iter().enumerate() {
            if candidate.line >= line_count {
                return Err(format!(
                    "`candidates[{index}].line`: {} is not a line (the request has {line_count})",
                    candidate.line
                ));
            }
            if candidate.location >= location_count {
                return Err(format!(
                    "`candidates[{index}].location`: {} is not a location (the request has {location_count})",
                    candidate.location
                ));
            }
            if candidate.line < last_line {
                return Err(format!("`candidates[{index}].line`: candidates are ordered by line"));
            }
            last_line = candidate.line;
        }
        for (index, location) in self.locations.iter().enumerate() {
            if location.delivery.is_some() && self.delivery.is_none() {
                return Err(format!(
                    "`locations[{index}].delivery`: the request has no `delivery` (the order names no service)"
                ));
            }
            if location.delivery.is_some_and(|d| d.transit_days == NONE) {
                return Err(format!("`locations[{index}].delivery.transit_days` is out of range"));
            }
        }
        let mut text = String::new();
        let mut name = |value: &str| -> Result<wit::Name, String> {
            let start = u32::try_from(text.len()).map_err(|_| "the request's texts are too long".to_owned())?;
            text.push_str(value);
            let len = u32::try_from(value.len()).map_err(|_| "the request's texts are too long".to_owned())?;
            start.checked_add(len).ok_or_else(|| "the request's texts are too long".to_owned())?;
            Ok(wit::Name { start, len })
        };
        let mut rows = Vec::new();
        let span = |rows: &mut Vec<u8>, name: wit::Name| {
            rows.extend(name.start.to_le_bytes());
            rows.extend(name.len.to_le_bytes());
        };
        let optional = |value: Option<u32>| value.unwrap_or(NONE).to_le_bytes();
        for line in &self.lines {
            span(&mut rows, name(&line.id)?);
            rows.extend(line.qty.to_le_bytes());
            span(&mut rows, name(&line.sku)?);
            span(&mut rows, name(&line.group)?);
            rows.extend(line.weight_kg.to_le_bytes());
        }
        for location in &self.locations {
            span(&mut rows, name(&location.id)?);
            span(&mut rows, name(&location.kind)?);
            for value in [location.lat, location.lon, location.handling_per_shipment, location.handling_per_unit] {
                rows.extend(value.to_le_bytes());
            }
            rows.extend(location.priority.to_le_bytes());
            rows.extend(location.distance_km.to_le_bytes());
            rows.extend(optional(location.capacity_per_day));
            rows.extend(optional(location.shipments_left));
        }
        for (index, line) in self.lines.iter().enumerate() {
            for tag in &line.tags {
                rows.extend((index as u32).to_le_bytes());
                span(&mut rows, name(tag)?);
            }
        }
        for (index, location) in self.locations.iter().enumerate() {
            for capability in &location.capabilities {
                rows.extend((index as u32).to_le_bytes());
                span(&mut rows, name(capability)?);
            }
        }
        for candidate in &self.candidates {
            rows.extend(candidate.line.to_le_bytes());
            rows.extend(candidate.location.to_le_bytes());
            rows.extend(candidate.atp.to_le_bytes());
        }
        if self.delivery.is_some() {
            for location in &self.locations {
                match location.delivery {
                    Some(dates) => {
                        rows.extend(dates.transit_days.to_le_bytes());
                        rows.extend(dates.ship_day.to_le_bytes());
                        rows.extend(dates.delivery_day.to_le_bytes());
                    }
                    None => {
                        rows.extend(NONE.to_le_bytes());
                        rows.extend([0; 8]);
                    }
                }
            }
        }
        let order = wit::Order {
            id: name(&self.order.id)?,
            channel: name(&self.order.channel)?,
            placed_at: self.order.placed_at,
            ship_to_lat: self.order.ship_to_lat,
            ship_to_lon: self.order.ship_to_lon,
            postal_code: name(&self.order.postal_code)?,
            country: name(&self.order.country)?,
        };
        let delivery = match &self.delivery {
            Some(delivery) => {
                Some(wit::Delivery { service: name(&delivery.service)?, deliver_by: delivery.deliver_by })
            }
            None => None,
        };
        Ok(wit::Request {
            now: self.now,
            text,
            order,
            line_count,
            location_count,
            tag_count,
            capability_count,
            candidate_count,
            delivery,
            rows,
            parameters: values.iter().map(ParamValue::to_wire).collect(),
        })
    }
}

/// What one run of a plugin answered and used.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PluginRun {
    /// The answer, checked as the service checks it.
    pub answer: RunAnswer,
    /// Fuel (instructions) used.
    pub fuel: u64,
    /// Bytes of linear memory at the end (memories only grow: the peak).
    pub memory_bytes: u64,
    /// Instantiating and calling it, wall clock.
    #[serde(rename = "time_us", serialize_with = "micros")]
    pub time: Duration,
    /// Lines it logged.
    pub logs: Vec<String>,
    /// Lines over the log limit, dropped.
    pub dropped_logs: usize,
}

fn micros<S: serde::Serializer>(time: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(time.as_micros()).unwrap_or(u64::MAX))
}

/// A plugin's answer with the request's names beside its indices.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunAnswer {
    /// Per location: its id and the cost of a shipment from it, or why it is excluded.
    pub locations: Vec<RunVerdict>,
    /// Per candidate: the line, the location and the cost per unit, or why it is excluded.
    pub candidates: Vec<RunVerdict>,
    /// Most shipments.
    pub max_shipments: u32,
    /// Cost of every shipment after the first.
    pub split_penalty: f64,
    /// Per line: may its units come from several locations.
    pub line_may_split: Vec<bool>,
    /// Per line: lines with the same non-zero key ship from one location.
    pub ship_together: Vec<u32>,
    /// Cost per unfilled unit; none: the order is rejected unless every unit ships.
    pub unfilled_penalty: Option<f64>,
    /// Units with no stock may wait this many seconds for inbound stock.
    pub backorder_within: Option<i64>,
    /// The plugin's own plan: units per candidate.
    pub plan: Option<Vec<RunPlanned>>,
}

/// One location's or candidate's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunVerdict {
    /// The location's id, or `line id @ location id` for a candidate.
    pub name: String,
    /// The cost, when not excluded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    /// Why it is excluded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<String>,
}

/// Units the plugin's plan takes through a candidate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunPlanned {
    /// Index into the request's candidates.
    pub candidate: u32,
    /// `line id @ location id`.
    pub name: String,
    /// Units.
    pub units: u32,
}

/// Checks `answer` against `input` (the sizes and indices the service checks) and names its
/// entries.
pub(crate) fn run_answer(input: &PluginInput, answer: wit::Answer) -> Result<RunAnswer, String> {
    let mut evaluation = switchyard_engine::Evaluation {
        shipment: vec![switchyard_engine::Verdict::Cost(0.0); input.locations.len()],
        units: vec![switchyard_engine::Verdict::Cost(0.0); input.candidates.len()],
        ..switchyard_engine::Evaluation::default()
    };
    evaluation.split.line_may_split = vec![true; input.lines.len()];
    evaluation.split.ship_together = vec![0; input.lines.len()];
    crate::convert::answer(answer, &mut evaluation)?;
    let candidate_name = |index: usize| {
        let candidate = &input.candidates[index];
        format!("{} @ {}", input.lines[candidate.line as usize].id, input.locations[candidate.location as usize].id)
    };
    let verdict = |name: String, verdict: &switchyard_engine::Verdict| match verdict {
        switchyard_engine::Verdict::Cost(cost) => RunVerdict { name, cost: Some(*cost), excluded: None },
        switchyard_engine::Verdict::Excluded(reason) => {
            RunVerdict { name, cost: None, excluded: Some(reason.to_string()) }
        }
        // Every entry was given a cost or an exclusion above.
        switchyard_engine::Verdict::NotPriced => RunVerdict { name, cost: None, excluded: None },
    };
    let plan = match &evaluation.plan {
        Some(plan) => {
            let mut named = Vec::with_capacity(plan.len());
            for planned in plan {
                let index = planned.candidate as usize;
                if index >= input.candidates.len() {
                    return Err(format!(
                        "`plan` takes candidate {index}, but the request had {} candidates",
                        input.candidates.len()
                    ));
                }
                named.push(RunPlanned {
                    candidate: planned.candidate,
                    name: candidate_name(index),
                    units: planned.qty,
                });
            }
            Some(named)
        }
        None => None,
    };
    Ok(RunAnswer {
        locations: input
            .locations
            .iter()
            .zip(&evaluation.shipment)
            .map(|(location, v)| verdict(location.id.clone(), v))
            .collect(),
        candidates: evaluation.units.iter().enumerate().map(|(index, v)| verdict(candidate_name(index), v)).collect(),
        max_shipments: evaluation.split.max_shipments,
        split_penalty: evaluation.split.split_penalty,
        line_may_split: evaluation.split.line_may_split,
        ship_together: evaluation.split.ship_together,
        unfilled_penalty: match evaluation.short_stock {
            switchyard_engine::ShortStock::Partial { unfilled_penalty } => Some(unfilled_penalty),
            switchyard_engine::ShortStock::Reject => None,
        },
        backorder_within: evaluation.backorder_within,
        plan,
    })
}

/// Measures a closure's wall-clock time.
pub(crate) fn timed<T>(run: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let value = run();
    (value, started.elapsed())
}
