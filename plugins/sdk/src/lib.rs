//! switchyard-plugin-sdk: write a switchyard routing plugin as one Rust function.
//!
//! ```ignore
//! use switchyard_plugin_sdk::{Answer, Request, Verdict};
//!
//! fn route(request: &Request) -> Result<Answer, String> {
//!     let mut answer = Answer::for_request(request);
//!     for (index, location) in request.locations.iter().enumerate() {
//!         answer.shipment[index] = Verdict::Cost(5.0 + location.handling_per_shipment);
//!     }
//!     Ok(answer)
//! }
//!
//! switchyard_plugin_sdk::plugin!(route);
//! ```
//!
//! A plugin that merchants configure without a rebuild declares its parameters; a binding
//! supplies their values and the plugin reads them from the request:
//!
//! ```ignore
//! use switchyard_plugin_sdk::{Parameter, Value};
//!
//! const PARAMETERS: &[Parameter] = &[Parameter {
//!     name: "max_shipments",
//!     description: "Most shipments an order may split into",
//!     default: Value::Integer(3),
//! }];
//!
//! fn route(request: &Request) -> Result<Answer, String> {
//!     let mut answer = Answer::for_request(request);
//!     answer.max_shipments = request.parameters.integer("max_shipments")? as u32;
//!     Ok(answer)
//! }
//!
//! switchyard_plugin_sdk::plugin!(route, PARAMETERS);
//! ```
//!
//! The wire format (`plugins/wit/routing.wit`) keeps every text in one string, sends the
//! lines, locations and candidates as packed rows in one byte list and the answer's costs as flat
//! lists, so a call copies a few blocks; this crate reads it into the plain structs below
//! (`&str` into that one string) and turns the [`Answer`] back into the wire format, so a
//! plugin never sees rows, spans or reason indices. It also installs the plugin's memory
//! allocator (`arena`, a default feature; see `src/arena.rs`).
//!
//! Build for `wasm32-unknown-unknown` (`cargo build --release --target
//! wasm32-unknown-unknown`); the host accepts the module as it is (see docs/PLUGINS.md).

#[cfg(all(feature = "arena", target_arch = "wasm32"))]
mod arena;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "routing-plugin",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_routing_plugin",
        default_bindings_module: "switchyard_plugin_sdk::bindings",
    });
}

use bindings::switchyard::routing::types as wire;

pub use bindings::Guest;
#[doc(hidden)]
pub use bindings::export_routing_plugin;
pub use wire::ShortStock;

// Bytes per row in the request's `rows` (the layouts are in plugins/wit/routing.wit).
const LINE_ROW: usize = 36;
const LOCATION_ROW: usize = 68;
const LABEL_ROW: usize = 12;
const CANDIDATE_ROW: usize = 12;
const DELIVERY_ROW: usize = 12;

/// A line's option to take stock from a location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Index into [`Request::lines`].
    pub line: u32,
    /// Index into [`Request::locations`].
    pub location: u32,
    /// Available to promise of the line's SKU there.
    pub atp: u32,
}

/// The order being routed.
#[derive(Clone, Debug)]
pub struct Order<'a> {
    /// The order's id.
    pub id: &'a str,
    /// Sales channel (`web`, `store`, ...).
    pub channel: &'a str,
    /// When it was placed, seconds since the Unix epoch.
    pub placed_at: i64,
    /// Ship-to latitude.
    pub ship_to_lat: f64,
    /// Ship-to longitude.
    pub ship_to_lon: f64,
    /// Ship-to postal code.
    pub postal_code: &'a str,
    /// Ship-to country.
    pub country: &'a str,
}

/// The product a line orders.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    /// Its SKU.
    pub sku: &'a str,
    /// Its product group.
    pub group: &'a str,
    /// Weight of one unit, kg.
    pub weight_kg: f64,
    /// Its tags (`hazmat`, `cold_chain`, ...).
    pub tags: Vec<&'a str>,
}

/// One line of the order.
#[derive(Clone, Debug)]
pub struct Line<'a> {
    /// The line's id.
    pub id: &'a str,
    /// Units ordered.
    pub qty: u32,
    /// What it orders.
    pub item: Item<'a>,
}

/// A location that holds stock of at least one line.
#[derive(Clone, Debug)]
pub struct Location<'a> {
    /// The location's id.
    pub id: &'a str,
    /// `dc`, `store` or `dropship`.
    pub kind: &'a str,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Handling cost per shipment.
    pub handling_per_shipment: f64,
    /// Handling cost per unit.
    pub handling_per_unit: f64,
    /// Priority (higher is preferred on ties).
    pub priority: i32,
    /// What it can ship (`hazmat`, `cold_chain`, ...).
    pub capabilities: Vec<&'a str>,
    /// Great-circle distance to the ship-to, km.
    pub distance_km: f64,
    /// Shipments it may send per day; `None` is unlimited.
    pub capacity_per_day: Option<u32>,
    /// Shipments it may still send today (0 when it is down); `None` is unlimited.
    pub shipments_left: Option<u32>,
    /// When a parcel from it would leave and arrive by the order's carrier service; `None`
    /// when the order names no service or the service cannot ship from here (too heavy,
    /// beyond its distance bands).
    pub delivery: Option<LocationDelivery>,
}

/// A location's dates by the order's carrier service. Days are calendar days counted from
/// 1970-01-01 (day 0): `day % 7 == 3` is a Sunday ([`weekday`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocationDelivery {
    /// Carrier days in transit.
    pub transit_days: u32,
    /// The day the parcel would leave (after the location's cut-off, pick and pack days and
    /// calendar, and the carrier's pickup days).
    pub ship_day: i32,
    /// The day it would arrive.
    pub delivery_day: i32,
}

/// The order's carrier service and the day promised to the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// The service's id (`ground`, `overnight`, ...).
    pub service: &'a str,
    /// The day the order must arrive by (days since 1970-01-01); `None`: no day was promised.
    pub deliver_by: Option<i32>,
}

/// The weekday of a day counted from 1970-01-01 (a Thursday): 0 is Monday, 6 is Sunday.
pub fn weekday(day: i32) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// The day (counted from 1970-01-01) of a time in seconds since the Unix epoch, in UTC.
pub fn day_of(seconds: i64) -> i32 {
    seconds.div_euclid(86_400) as i32
}

/// A parameter's value; its case is the parameter's type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// A number (finite).
    Number(f64),
    /// A whole number.
    Integer(i64),
    /// `true` or `false`.
    Boolean(bool),
    /// A text (at most 4,096 bytes).
    Text(&'a str),
}

impl Value<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Number(_) => "a number",
            Value::Integer(_) => "a whole number",
            Value::Boolean(_) => "true or false",
            Value::Text(_) => "a text",
        }
    }
}

/// A setting the plugin declares, which a binding may change without a rebuild.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Parameter {
    /// Lowercase letters, digits and `_`, starting with a letter; at most 64 bytes, unique.
    pub name: &'static str,
    /// One line shown to the people who bind the plugin.
    pub description: &'static str,
    /// The value when a binding sets none; its case is the parameter's type.
    pub default: Value<'static>,
}

impl Parameter {
    #[doc(hidden)]
    pub fn to_wire(&self) -> wire::Parameter {
        wire::Parameter {
            name: self.name.to_owned(),
            description: self.description.to_owned(),
            default: match self.default {
                Value::Number(n) => wire::Value::Number(n),
                Value::Integer(n) => wire::Value::Integer(n),
                Value::Boolean(b) => wire::Value::Boolean(b),
                Value::Text(text) => wire::Value::Text(text.to_owned()),
            },
        }
    }
}

/// The values of the plugin's parameters for this order: the binding's, or the defaults.
#[derive(Clone, Debug, Default)]
pub struct Parameters<'a> {
    values: Vec<(&'static str, Value<'a>)>,
}

impl<'a> Parameters<'a> {
    /// The value of `name`, if the plugin declares it.
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.values.iter().find(|(declared, _)| *declared == name).map(|(_, value)| *value)
    }

    /// Every parameter's name and value, in the order declared.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Value<'a>)> + '_ {
        self.values.iter().copied()
    }

    fn typed<T>(&self, name: &str, want: &str, pick: impl Fn(Value<'a>) -> Option<T>) -> Result<T, String> {
        let value = self.get(name).ok_or_else(|| format!("the plugin declares no parameter `{name}`"))?;
        pick(value).ok_or_else(|| format!("parameter `{name}` is {}, not {want}", value.type_name()))
    }

    /// The number `name` (a declared number parameter).
    pub fn number(&self, name: &str) -> Result<f64, String> {
        self.typed(name, "a number", |value| if let Value::Number(n) = value { Some(n) } else { None })
    }

    /// The whole number `name` (a declared integer parameter).
    pub fn integer(&self, name: &str) -> Result<i64, String> {
        self.typed(name, "a whole number", |value| if let Value::Integer(n) = value { Some(n) } else { None })
    }

    /// The flag `name` (a declared boolean parameter).
    pub fn boolean(&self, name: &str) -> Result<bool, String> {
        self.typed(name, "true or false", |value| if let Value::Boolean(b) = value { Some(b) } else { None })
    }

    /// The text `name` (a declared text parameter).
    pub fn text(&self, name: &str) -> Result<&'a str, String> {
        self.typed(name, "a text", |value| if let Value::Text(text) = value { Some(text) } else { None })
    }
}

/// Everything a plugin sees of one order.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The decision time, seconds since the Unix epoch (plugins have no clock).
    pub now: i64,
    /// The order.
    pub order: Order<'a>,
    /// Its lines.
    pub lines: Vec<Line<'a>>,
    /// The locations that hold stock of at least one line.
    pub locations: Vec<Location<'a>>,
    /// Per line and location that may ship it: `line` and `location` index the lists above.
    pub candidates: Vec<Candidate>,
    /// The order's carrier service and promised day; `None`: it names no service. Each
    /// location's dates by it are in [`Location::delivery`].
    pub delivery: Option<Delivery<'a>>,
    /// The values of the parameters the plugin declares (`plugin!(route, PARAMETERS)`).
    pub parameters: Parameters<'a>,
}

/// Reads the fields of one packed row (little-endian, in order).
struct Row<'r, const N: usize> {
    bytes: &'r [u8; N],
    at: usize,
}

impl<const N: usize> Row<'_, N> {
    // INVARIANT: each row is read field by field from offset 0 up to its fixed size `N`, so
    // every field is inside the row (the zero fallback is never taken); with `N` and the
    // offsets known when compiling, the checks fold away.
    fn bytes<const W: usize>(&mut self) -> [u8; W] {
        let start = self.at;
        self.at += W;
        self.bytes.get(start..).and_then(|rest| rest.first_chunk::<W>()).copied().unwrap_or([0; W])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.bytes())
    }

    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.bytes())
    }

    fn count(&mut self) -> Option<u32> {
        Some(self.u32()).filter(|&count| count != u32::MAX)
    }

    fn span(&mut self) -> wire::Name {
        wire::Name { start: self.u32(), len: self.u32() }
    }
}

// The sections of `request.rows`, taken in order; sizes that do not add up are the host's bug.
struct Sections<'r> {
    rest: &'r [u8],
}

impl<'r> Sections<'r> {
    fn take<const N: usize>(
        &mut self,
        count: u32,
        what: &str,
    ) -> Result<impl Iterator<Item = Row<'r, N>> + use<'r, N>, String> {
        let section = (count as usize)
            .checked_mul(N)
            .and_then(|bytes| self.rest.split_at_checked(bytes))
            .map(|(section, rest)| {
                self.rest = rest;
                section.as_chunks::<N>().0
            })
            .ok_or_else(|| format!("the host sent {count} {what} but `rows` ends before them"))?;
        Ok(section.iter().map(|bytes| Row { bytes, at: 0 }))
    }
}

impl<'a> Request<'a> {
    /// Reads the wire request, naming its parameter values by `declared`; a span outside the
    /// text is the host's bug, reported as one.
    #[doc(hidden)]
    pub fn from_wire(wire: &'a wire::Request, declared: &[Parameter]) -> Result<Request<'a>, String> {
        let text = wire.text.as_str();
        // A span's text; the error (formatted out of line) is the host's bug.
        let name = |name: wire::Name| {
            let start = name.start as usize;
            text.get(start..start.saturating_add(name.len as usize)).ok_or_else(|| span_error(name))
        };
        let order = &wire.order;
        let mut sections = Sections { rest: &wire.rows };
        let line_rows = sections.take::<LINE_ROW>(wire.line_count, "lines")?;
        let location_rows = sections.take::<LOCATION_ROW>(wire.location_count, "locations")?;
        let tag_rows = sections.take::<LABEL_ROW>(wire.tag_count, "tags")?;
        let capability_rows = sections.take::<LABEL_ROW>(wire.capability_count, "capabilities")?;
        let candidate_rows = sections.take::<CANDIDATE_ROW>(wire.candidate_count, "candidates")?;
        let delivery_count = if wire.delivery.is_some() { wire.location_count } else { 0 };
        let delivery_rows = sections.take::<DELIVERY_ROW>(delivery_count, "locations' delivery dates")?;
        if !sections.rest.is_empty() {
            return Err(format!("the host sent {} bytes of `rows` after its last section", sections.rest.len()));
        }
        let mut lines = Vec::with_capacity(wire.line_count as usize);
        for mut row in line_rows {
            lines.push(Line {
                id: name(row.span())?,
                qty: row.u32(),
                item: Item { sku: name(row.span())?, group: name(row.span())?, weight_kg: row.f64(), tags: Vec::new() },
            });
        }
        for mut row in tag_rows {
            let owner = row.u32() as usize;
            let tag = name(row.span())?;
            lines.get_mut(owner).ok_or("the host sent a tag of no line")?.item.tags.push(tag);
        }
        let mut locations = Vec::with_capacity(wire.location_count as usize);
        for mut row in location_rows {
            locations.push(Location {
                id: name(row.span())?,
                kind: name(row.span())?,
                lat: row.f64(),
                lon: row.f64(),
                handling_per_shipment: row.f64(),
                handling_per_unit: row.f64(),
                priority: row.i32(),
                capabilities: Vec::new(),
                distance_km: row.f64(),
                capacity_per_day: row.count(),
                shipments_left: row.count(),
                delivery: None,
            });
        }
        for (location, mut row) in locations.iter_mut().zip(delivery_rows) {
            let transit_days = row.count();
            let (ship_day, delivery_day) = (row.i32(), row.i32());
            location.delivery =
                transit_days.map(|transit_days| LocationDelivery { transit_days, ship_day, delivery_day });
        }
        for mut row in capability_rows {
            let owner = row.u32() as usize;
            let capability = name(row.span())?;
            locations.get_mut(owner).ok_or("the host sent a capability of no location")?.capabilities.push(capability);
        }
        let mut candidates = Vec::with_capacity(wire.candidate_count as usize);
        for mut row in candidate_rows {
            let candidate = Candidate { line: row.u32(), location: row.u32(), atp: row.u32() };
            if candidate.line as usize >= lines.len() || candidate.location as usize >= locations.len() {
                return Err(format!(
                    "the host sent a candidate of line {} at location {}, outside the request",
                    candidate.line, candidate.location
                ));
            }
            candidates.push(candidate);
        }
        if wire.parameters.len() != declared.len() {
            return Err(format!(
                "the host sent {} parameter values for {} parameters",
                wire.parameters.len(),
                declared.len()
            ));
        }
        let mut values = Vec::with_capacity(declared.len());
        for (parameter, value) in declared.iter().zip(&wire.parameters) {
            let value = match value {
                wire::Value::Number(n) => Value::Number(*n),
                wire::Value::Integer(n) => Value::Integer(*n),
                wire::Value::Boolean(b) => Value::Boolean(*b),
                wire::Value::Text(text) => Value::Text(text),
            };
            if std::mem::discriminant(&value) != std::mem::discriminant(&parameter.default) {
                return Err(format!("the host sent {} for parameter `{}`", value.type_name(), parameter.name));
            }
            values.push((parameter.name, value));
        }
        Ok(Request {
            parameters: Parameters { values },
            now: wire.now,
            order: Order {
                id: name(order.id)?,
                channel: name(order.channel)?,
                placed_at: order.placed_at,
                ship_to_lat: order.ship_to_lat,
                ship_to_lon: order.ship_to_lon,
                postal_code: name(order.postal_code)?,
                country: name(order.country)?,
            },
            lines,
            locations,
            candidates,
            delivery: match &wire.delivery {
                Some(delivery) => Some(Delivery { service: name(delivery.service)?, deliver_by: delivery.deliver_by }),
                None => None,
            },
        })
    }
}

// The error of a span outside the request's text, cold and out of line: reading a span is
// then its bounds checks alone.
#[cold]
#[inline(never)]
fn span_error(name: wire::Name) -> String {
    format!("the host sent a text span {}+{} outside its text", name.start, name.len)
}

/// A cost, or an exclusion with the reason shown in explanations.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// What it costs (per shipment or per unit).
    Cost(f64),
    /// Not allowed, and why.
    Excluded(String),
}

/// A plugin's answer; lists are parallel to the request's.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Per location: cost of one shipment from it, or why it is excluded.
    pub shipment: Vec<Verdict>,
    /// Per candidate: cost per unit, or why it is excluded.
    pub units: Vec<Verdict>,
    /// Most shipments the order may split into.
    pub max_shipments: u32,
    /// Cost added per shipment beyond the first.
    pub split_penalty: f64,
    /// Per line: may its units come from several locations?
    pub line_may_split: Vec<bool>,
    /// Per line: lines with the same non-zero key ship from one location.
    pub ship_together: Vec<u32>,
    /// What happens to units no location can ship.
    pub short_stock: ShortStock,
    /// Units no location can ship now may wait for inbound stock expected within this many
    /// seconds (the service promises them); `None`: they are short.
    pub backorder_within: Option<i64>,
    /// A complete plan the plugin chose itself, used instead of the optimizer's: units per
    /// candidate (index into [`Request::candidates`]); a line's units left out are unfilled.
    /// The host checks it against the stock and this answer's rules and prices it with this
    /// answer's costs. `None` (the default): the optimizer chooses the cheapest plan.
    pub plan: Option<Vec<PlannedUnits>>,
}

/// Units a plugin's own plan takes through one candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlannedUnits {
    /// Index into [`Request::candidates`]: the line and the location.
    pub candidate: u32,
    /// Units, at least one.
    pub units: u32,
}

impl Answer {
    /// An answer sized for `request`: every cost 0, one shipment, lines may split, no
    /// ship-together groups, short orders rejected. Change what the plugin decides.
    pub fn for_request(request: &Request) -> Answer {
        Answer {
            shipment: vec![Verdict::Cost(0.0); request.locations.len()],
            units: vec![Verdict::Cost(0.0); request.candidates.len()],
            max_shipments: 1,
            split_penalty: 0.0,
            line_may_split: vec![true; request.lines.len()],
            ship_together: vec![0; request.lines.len()],
            short_stock: ShortStock::Reject,
            backorder_within: None,
            plan: None,
        }
    }

    /// The wire answer: costs as flat lists, exclusions beside them, each distinct reason
    /// sent once.
    #[doc(hidden)]
    pub fn into_wire(self) -> wire::Answer {
        let mut reasons: Vec<String> = Vec::new();
        let mut split = |verdicts: Vec<Verdict>| -> (Vec<f64>, Vec<wire::Exclusion>) {
            let mut costs = Vec::with_capacity(verdicts.len());
            let mut exclusions = Vec::new();
            for (index, verdict) in verdicts.into_iter().enumerate() {
                match verdict {
                    Verdict::Cost(cost) => costs.push(cost),
                    Verdict::Excluded(reason) => {
                        costs.push(0.0);
                        let reason = match reasons.iter().position(|r| *r == reason) {
                            Some(known) => known,
                            None => {
                                reasons.push(reason);
                                reasons.len() - 1
                            }
                        };
                        exclusions.push(wire::Exclusion { index: index as u32, reason: reason as u32 });
                    }
                }
            }
            (costs, exclusions)
        };
        let (shipment_cost, excluded_locations) = split(self.shipment);
        let (unit_cost, excluded_candidates) = split(self.units);
        wire::Answer {
            reasons,
            shipment_cost,
            unit_cost,
            excluded_locations,
            excluded_candidates,
            max_shipments: self.max_shipments,
            split_penalty: self.split_penalty,
            line_may_split: self.line_may_split,
            ship_together: self.ship_together,
            short_stock: self.short_stock,
            backorder_within: self.backorder_within,
            plan: self.plan.map(|plan| {
                plan.into_iter()
                    .map(|planned| wire::PlannedUnits { candidate: planned.candidate, units: planned.units })
                    .collect()
            }),
        }
    }
}

impl Item<'_> {
    /// Whether the item carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.contains(&tag)
    }
}

impl Location<'_> {
    /// Whether the location has the capability `name`.
    pub fn can(&self, name: &str) -> bool {
        self.capabilities.contains(&name)
    }
}

/// Writes a line to the host's log, tagged with the plugin's name and version.
pub fn log(message: &str) {
    bindings::log(message);
}

/// Exports `function` (`fn(&Request) -> Result<Answer, String>`) as the plugin, with the
/// parameters it declares (`&[Parameter]`, none when left out).
#[macro_export]
macro_rules! plugin {
    ($function:path) => {
        $crate::plugin!($function, &[]);
    };
    ($function:path, $parameters:expr) => {
        struct SwitchyardPlugin;

        const SWITCHYARD_PARAMETERS: &[$crate::Parameter] = $parameters;

        impl $crate::Guest for SwitchyardPlugin {
            fn parameters() -> ::std::vec::Vec<$crate::bindings::switchyard::routing::types::Parameter> {
                SWITCHYARD_PARAMETERS.iter().map($crate::Parameter::to_wire).collect()
            }

            fn evaluate(
                request: $crate::bindings::switchyard::routing::types::Request,
            ) -> ::core::result::Result<$crate::bindings::switchyard::routing::types::Answer, ::std::string::String>
            {
                let views = $crate::Request::from_wire(&request, SWITCHYARD_PARAMETERS)?;
                let answer = $function(&views).map($crate::Answer::into_wire);
                // The host gives every order a fresh instance and discards it afterwards, so
                // freeing the request piece by piece would be work for nothing.
                ::core::mem::forget(views);
                ::core::mem::forget(request);
                answer
            }
        }

        $crate::export_routing_plugin!(SwitchyardPlugin);
    };
}
