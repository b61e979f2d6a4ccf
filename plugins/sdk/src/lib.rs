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

pub use bindings::Guest;
#[doc(hidden)]
pub use bindings::export_routing_plugin;
pub use bindings::switchyard::routing::types::{
    Answer, Candidate, Item, Line, Location, Order, Request, ShortStock, Verdict,
};

/// Writes a line to the host's log, tagged with the plugin's name and version.
pub fn log(message: &str) {
    bindings::log(message);
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
        }
    }
}

impl Item {
    /// Whether the item carries `tag`.
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

impl Location {
    /// Whether the location has the capability `name`.
    pub fn can(&self, name: &str) -> bool {
        self.capabilities.iter().any(|c| c == name)
    }
}

/// Exports `function` (`fn(&Request) -> Result<Answer, String>`) as the plugin.
#[macro_export]
macro_rules! plugin {
    ($function:path) => {
        struct SwitchyardPlugin;

        impl $crate::Guest for SwitchyardPlugin {
            fn evaluate(request: $crate::Request) -> ::core::result::Result<$crate::Answer, ::std::string::String> {
                $function(&request)
            }
        }

        $crate::export_routing_plugin!(SwitchyardPlugin);
    };
}
