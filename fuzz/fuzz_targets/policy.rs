//! Policy source text: parse, check, compile, and when it compiles, route orders with it.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    if let Ok((policy, _warnings)) = switchyard::load_policy("fuzz.policy", source) {
        common::route_some(&policy);
    }
});
