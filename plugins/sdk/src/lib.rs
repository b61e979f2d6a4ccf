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
//! The wire format (`plugins/wit/routing.wit`) keeps every text in one string and refers to
//! it by spans, so a call copies a few flat lists; this crate turns it into the borrowed
//! views below (`&str` into that one string) and turns the [`Answer`] back into the wire
//! format, so a plugin never sees spans or reason indices.
//!
//! Build for `wasm32-unknown-unknown` (`cargo build --release --target
//! wasm32-unknown-unknown`); the host accepts the module as it is (see docs/PLUGINS.md).

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
pub use wire::{Candidate, ShortStock};

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
    /// Shipments it may still send today; `None` is unlimited.
    pub shipments_left: Option<u32>,
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
    pub candidates: &'a [Candidate],
}

impl<'a> Request<'a> {
    /// Reads the wire request; a span outside the text is the host's bug, reported as one.
    #[doc(hidden)]
    pub fn from_wire(wire: &'a wire::Request) -> Result<Request<'a>, String> {
        let text = wire.text.as_str();
        let name = |name: wire::Name| {
            let start = name.start as usize;
            text.get(start..start + name.len as usize)
                .ok_or_else(|| format!("the host sent a text span {}+{} outside its text", name.start, name.len))
        };
        let order = &wire.order;
        let mut lines = Vec::with_capacity(wire.lines.len());
        for line in &wire.lines {
            lines.push(Line {
                id: name(line.id)?,
                qty: line.qty,
                item: Item {
                    sku: name(line.sku)?,
                    group: name(line.group)?,
                    weight_kg: line.weight_kg,
                    tags: Vec::new(),
                },
            });
        }
        for tag in &wire.tags {
            let tag_name = name(tag.name)?;
            let line = lines.get_mut(tag.owner as usize).ok_or("the host sent a tag of no line")?;
            line.item.tags.push(tag_name);
        }
        let mut locations = Vec::with_capacity(wire.locations.len());
        for location in &wire.locations {
            locations.push(Location {
                id: name(location.id)?,
                kind: name(location.kind)?,
                lat: location.lat,
                lon: location.lon,
                handling_per_shipment: location.handling_per_shipment,
                handling_per_unit: location.handling_per_unit,
                priority: location.priority,
                capabilities: Vec::new(),
                distance_km: location.distance_km,
                capacity_per_day: location.capacity_per_day,
                shipments_left: location.shipments_left,
            });
        }
        for capability in &wire.capabilities {
            let capability_name = name(capability.name)?;
            let location =
                locations.get_mut(capability.owner as usize).ok_or("the host sent a capability of no location")?;
            location.capabilities.push(capability_name);
        }
        Ok(Request {
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
            candidates: &wire.candidates,
        })
    }
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
        }
    }

    /// The wire answer: each distinct reason sent once.
    #[doc(hidden)]
    pub fn into_wire(self) -> wire::Answer {
        let mut reasons: Vec<String> = Vec::new();
        let mut verdicts = |verdicts: Vec<Verdict>| -> Vec<wire::Verdict> {
            verdicts
                .into_iter()
                .map(|verdict| match verdict {
                    Verdict::Cost(cost) => wire::Verdict::Cost(cost),
                    Verdict::Excluded(reason) => {
                        let index = match reasons.iter().position(|r| *r == reason) {
                            Some(index) => index,
                            None => {
                                reasons.push(reason);
                                reasons.len() - 1
                            }
                        };
                        wire::Verdict::Excluded(index as u32)
                    }
                })
                .collect()
        };
        let shipment = verdicts(self.shipment);
        let units = verdicts(self.units);
        wire::Answer {
            reasons,
            shipment,
            units,
            max_shipments: self.max_shipments,
            split_penalty: self.split_penalty,
            line_may_split: self.line_may_split,
            ship_together: self.ship_together,
            short_stock: self.short_stock,
            backorder_within: self.backorder_within,
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

/// Exports `function` (`fn(&Request) -> Result<Answer, String>`) as the plugin.
#[macro_export]
macro_rules! plugin {
    ($function:path) => {
        struct SwitchyardPlugin;

        impl $crate::Guest for SwitchyardPlugin {
            fn evaluate(
                request: $crate::bindings::switchyard::routing::types::Request,
            ) -> ::core::result::Result<$crate::bindings::switchyard::routing::types::Answer, ::std::string::String>
            {
                let request = $crate::Request::from_wire(&request)?;
                $function(&request).map($crate::Answer::into_wire)
            }
        }

        $crate::export_routing_plugin!(SwitchyardPlugin);
    };
}
