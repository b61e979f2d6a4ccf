//! Delivery promises in a plugin: the cost model of `examples/policies/promised-delivery.policy`
//! written against the request's carrier service and dates (WIT 0.5.0). A day sooner is worth
//! `DAY_VALUE` to the merchant, so a location that delivers a day earlier wins if it costs less
//! than that much more; overnight never leaves from a store. Its cases are the policy's own:
//!
//!   scripts/build-plugins
//!   cargo run --release -- test examples/policies/promised-delivery.test.toml \
//!       --plugin target/plugins/plugin_promised_delivery.wasm
//!
//! (The policy also rejects an order no location can deliver by its promised day; a plugin's
//! late deliveries ship late, see docs/PLUGINS.md.)

use switchyard_plugin_sdk::{Answer, Request, ShortStock, Verdict};

// What a day sooner is worth, dollars.
const DAY_VALUE: f64 = 1.0;
const SECONDS_PER_DAY: f64 = 86_400.0;

fn route(request: &Request) -> Result<Answer, String> {
    let mut answer = Answer::for_request(request);
    let overnight = request.delivery.is_some_and(|delivery| delivery.service == "overnight");
    for (index, location) in request.locations.iter().enumerate() {
        answer.shipment[index] = if overnight && location.kind == "store" {
            Verdict::Excluded("never overnight from a store".to_owned())
        } else {
            // Days from the decision until the parcel would arrive: the delivery day's midnight
            // (UTC) less now, in days; 0 without dates, as the policy's `location.delivery_date`
            // is `now` then.
            let days_to_door = location.delivery.map_or(0.0, |dates| {
                (f64::from(dates.delivery_day) * SECONDS_PER_DAY - request.now as f64) / SECONDS_PER_DAY
            });
            Verdict::Cost(5.0 + location.handling_per_shipment + DAY_VALUE * days_to_door)
        };
    }
    for (index, candidate) in request.candidates.iter().enumerate() {
        answer.units[index] = Verdict::Cost(request.locations[candidate.location as usize].handling_per_unit);
    }
    answer.max_shipments = 2;
    answer.split_penalty = 3.0;
    answer.short_stock = ShortStock::Partial(40.0);
    Ok(answer)
}

switchyard_plugin_sdk::plugin!(route);
