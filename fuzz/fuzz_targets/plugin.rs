//! Plugin module bytes: load (validate, compile, check the interface), and when they load,
//! route orders with the plugin.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use switchyard::{Limits, PluginHost};

#[path = "common.rs"]
mod common;

fn host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new(Limits::default()).expect("the plugin host starts"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(plugin) = host().load("fuzz", data) {
        common::route_some(&plugin);
    }
});
