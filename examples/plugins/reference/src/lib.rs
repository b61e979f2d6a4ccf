//! The benchmark scenarios' reference cost model (docs/SCENARIOS.md) as a Wasm plugin: its
//! plans equal the native policy's on the sample scenarios (a test asserts it on each of
//! them, and on one with other settings). The scenario's settings are its parameters, so a
//! binding sets them without a rebuild; the rate card is the one every sample scenario uses.
//! Built by `scripts/build-plugins`; route with it:
//!
//!   cargo run --release -- route --scenario examples/scenarios/us-50-small.json \
//!       --plugin target/plugins/plugin_reference.wasm --param max_shipments=2

use switchyard_plugin_sdk::{Answer, Parameter, Request, ShortStock, Value, Verdict};

// The scenario settings (`switchyard-scenario/1`'s `settings`), with the sample scenarios'
// values as defaults.
const PARAMETERS: &[Parameter] = &[
    Parameter {
        name: "max_shipments",
        description: "Most shipments an order may split into",
        default: Value::Integer(3),
    },
    Parameter {
        name: "split_penalty",
        description: "Cost of each shipment after the first",
        default: Value::Number(2.0),
    },
    Parameter {
        name: "unfilled_penalty",
        description: "Cost of each unit left unfilled",
        default: Value::Number(100.0),
    },
    Parameter {
        name: "required_capabilities",
        description: "Product tags a location must have as a capability to ship the product, comma-separated",
        default: Value::Text("hazmat,cold_chain"),
    },
];

// The sample scenarios' rate card: zone bounds in km, then per zone a parcel price and a
// price per kg.
const ZONE_KM: [f64; 7] = [80.0, 241.0, 483.0, 966.0, 1609.0, 2253.0, 2897.0];
const PER_SHIPMENT: [f64; 8] = [7.50, 7.80, 8.20, 8.90, 9.80, 10.60, 11.40, 12.30];
const PER_KG: [f64; 8] = [0.66, 0.77, 0.99, 1.32, 1.76, 2.20, 2.54, 2.87];

fn zone(distance_km: f64) -> usize {
    ZONE_KM.iter().position(|&bound| distance_km <= bound).unwrap_or(ZONE_KM.len())
}

fn route(request: &Request) -> Result<Answer, String> {
    let parameters = &request.parameters;
    let max_shipments = parameters.integer("max_shipments")?;
    let required: Vec<&str> =
        parameters.text("required_capabilities")?.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    let mut answer = Answer::for_request(request);
    let zones: Vec<usize> = request.locations.iter().map(|l| zone(l.distance_km)).collect();
    for (index, location) in request.locations.iter().enumerate() {
        answer.shipment[index] = Verdict::Cost(PER_SHIPMENT[zones[index]] + location.handling_per_shipment);
    }
    for (index, candidate) in request.candidates.iter().enumerate() {
        let line = &request.lines[candidate.line as usize];
        let location = &request.locations[candidate.location as usize];
        let missing = required.iter().find(|c| line.item.has_tag(c) && !location.can(c));
        answer.units[index] = match missing {
            Some(capability) => Verdict::Excluded(format!("requires capability `{capability}`")),
            None => Verdict::Cost(
                PER_KG[zones[candidate.location as usize]] * line.item.weight_kg + location.handling_per_unit,
            ),
        };
    }
    answer.max_shipments =
        u32::try_from(max_shipments).map_err(|_| format!("`max_shipments` {max_shipments} is out of range"))?;
    answer.split_penalty = parameters.number("split_penalty")?;
    answer.short_stock = ShortStock::Partial(parameters.number("unfilled_penalty")?);
    Ok(answer)
}

switchyard_plugin_sdk::plugin!(route, PARAMETERS);
