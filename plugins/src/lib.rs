//! switchyard-plugins: sandboxed WebAssembly routing plugins.
//!
//! A plugin is a WebAssembly component of the WIT world `switchyard:routing/routing-plugin`
//! (`plugins/wit/routing.wit`), or a core module carrying that world's type information, as
//! `wit-bindgen` guests built for `wasm32-unknown-unknown` are (the host wraps it); plugins
//! built against an older version it still runs ([`WORLD_VERSIONS`]) keep loading. The host
//! ([`PluginHost`]) validates and precompiles it at load, caches it by content hash, and runs
//! every evaluation in a fresh store from the pooling allocator, under fuel (the instruction
//! budget), an epoch deadline (the wall-clock backstop) and memory limits. A loaded plugin
//! ([`WasmPolicy`]) implements [`switchyard_engine::Policy`].
//!
//! It is the only crate that depends on wasmtime.

mod bindings;
pub mod compile;
mod convert;
mod error;
mod host;
mod limits;
pub mod parameters;
pub mod runner;
pub mod structure;

pub use compile::CompileWorker;
pub use error::{PluginError, TrapKind};
pub use host::{CompileOptions, EvaluationReport, PluginHost, PluginInfo, WORLD_VERSIONS, WasmPolicy};
pub use limits::Limits;
pub use parameters::{ParamType, ParamValue, Parameter};
pub use structure::{Structure, StructureLimits};

/// Version of the WIT package `switchyard:routing` this host implements.
pub const WIT_VERSION: &str = "0.6.0";

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_is_the_wit_packages() {
        let wit = include_str!("../wit/routing.wit");
        let package = format!("package switchyard:routing@{};", super::WIT_VERSION);
        assert!(wit.lines().any(|line| line == package), "plugins/wit/routing.wit does not declare `{package}`");
    }
}
