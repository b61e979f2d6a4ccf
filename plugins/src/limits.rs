//! The sandbox limits every plugin runs under, with their defaults.

use std::time::Duration;

use crate::structure::StructureLimits;

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
    /// Wall-clock backstop per evaluation. Fuel is the budget: the same plugin on the same
    /// order passes or fails the same way on any machine. The deadline only catches what fuel
    /// does not count (time spent in host calls), so it sits far above what a plugin's fuel
    /// can take: 20 M fuel of a tight loop runs out in 2–4 ms here, 1 s is ~250 times that,
    /// and still ~8 times that with 64 evaluations sharing 2 cores.
    pub timeout: Duration,
    /// Largest linear memory of an instance, in bytes.
    pub max_memory_bytes: usize,
    /// Deepest wasm stack, in bytes.
    pub max_stack_bytes: usize,
    /// Most log lines kept per evaluation (the rest are counted and dropped).
    pub max_log_lines: usize,
    /// Most bytes of log text a plugin may hand the host per evaluation (kept or not): past
    /// it the evaluation traps. Copying is the host's work, which fuel does not count.
    pub max_log_bytes: usize,
    /// What a module or component may contain: checked before it is compiled.
    pub structure: StructureLimits,
    /// Longest a compile worker may take; it is killed past it and the plugin refused. A
    /// JavaScript plugin (a SpiderMonkey component of ~12 MB) compiles in ~12 s on two idle
    /// cores; the budget leaves room for a busy machine and the worker's lower priority.
    pub compile_timeout: Duration,
    /// Address space a compile worker may use; past it the plugin is refused.
    pub compile_memory_bytes: usize,
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
            max_module_bytes: 32 << 20,
            max_input_bytes: 256 << 10,
            fuel: 20_000_000,
            timeout: Duration::from_secs(1),
            max_memory_bytes: 32 << 20,
            max_stack_bytes: 512 << 10,
            max_log_lines: 32,
            max_log_bytes: 64 << 10,
            structure: StructureLimits::default(),
            compile_timeout: Duration::from_secs(120),
            compile_memory_bytes: 2 << 30,
            pool_instances: 64,
            pooling: true,
        }
    }
}
