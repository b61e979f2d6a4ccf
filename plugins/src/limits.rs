//! The sandbox limits every plugin runs under, with their defaults.

use std::time::Duration;

/// Hard limits on what a plugin may use. Every limit has a test that hits it
/// (plugins/tests/all/limits.rs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest module or component accepted at load, in bytes.
    pub max_module_bytes: usize,
    /// Largest request a plugin is shown, in bytes (its text, its rows and the order record);
    /// larger orders are refused before the plugin runs.
    pub max_input_bytes: usize,
    /// Instruction budget per evaluation (wasmtime fuel: about one unit per instruction).
    pub fuel: u64,
    /// Wall-clock backstop per evaluation.
    pub timeout: Duration,
    /// Largest linear memory of an instance, in bytes.
    pub max_memory_bytes: usize,
    /// Deepest wasm stack, in bytes.
    pub max_stack_bytes: usize,
    /// Most log lines kept per evaluation (the rest are counted and dropped).
    pub max_log_lines: usize,
    /// Instances the pooling allocator keeps ready: concurrent evaluations beyond it fail at
    /// once with `PluginError::Busy` (they do not wait).
    pub pool_instances: u32,
    /// Whether stores come from the pooling allocator (the default) or are allocated on
    /// demand; off only to measure what pooling saves.
    pub pooling: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_module_bytes: 4 << 20,
            max_input_bytes: 256 << 10,
            fuel: 20_000_000,
            timeout: Duration::from_millis(250),
            max_memory_bytes: 16 << 20,
            max_stack_bytes: 512 << 10,
            max_log_lines: 32,
            pool_instances: 64,
            pooling: true,
        }
    }
}
