//! Policy source text: parse, check, render the report, compile, and when it compiles, route
//! orders with it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    // The report is rendered as `switchyard check` and the service render it: the renderer
    // meets every input the checker does.
    match switchyard::load_policy("fuzz.policy", source) {
        Ok((policy, warnings)) => {
            std::hint::black_box(warnings.render());
            common::route_some(&policy);
        }
        Err(errors) => {
            std::hint::black_box(errors.render());
        }
    }
});
