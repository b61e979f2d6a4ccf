//! The wasmtime host: one shared engine with a pooling allocator and an epoch ticker, a
//! cache of compiled plugins by content hash, and a fresh store per evaluation.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;
use switchyard_engine::{Evaluation, Policy, PolicyError, PolicyInfo, PolicyRequest, clean_text};

use crate::runner::{PluginInput, PluginRun};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolConcurrencyLimitError, PoolingAllocationConfig,
    ResourceLimiter, Store, Trap,
};

use crate::bindings::switchyard::routing::types as wit;
use crate::bindings::{RoutingPlugin, RoutingPluginImports, RoutingPluginPre, v0_4, v0_5};
use crate::compile::{
    ArtifactDir, CompileWorker, compile_in_worker, is_core_module, load_artifact, one_line, precompile,
};
use crate::error::{PluginError, TrapKind};
use crate::limits::Limits;
use crate::parameters::{ParamValue, Parameter};

/// The most elements a plugin's tables may hold (what the pooling allocator reserves).
const MAX_TABLE_ELEMENTS: usize = 20_000;

/// The longest refusal message, trap message or log line kept from a plugin, in characters.
const MAX_MESSAGE: usize = 500;

// How often the epoch advances; deadlines are counted in these ticks.
const EPOCH_TICK: Duration = Duration::from_millis(1);

// Core instances (and tables) a plugin may use: its module plus wrapper shims.
const CORE_INSTANCES_PER_PLUGIN: u32 = 8;

// Finished instances whose memory is returned to the OS together.
const DECOMMIT_BATCH: usize = 32;

// Bytes of each pooled memory and table kept resident between evaluations when the kernel
// can tell which pages an evaluation wrote (Linux 6.7's PAGEMAP_SCAN): only those pages are
// zeroed, so this is a cap on the work, not work done on every evaluation. It covers a Rust
// plugin's default 1 MiB stack and its data.
const KEEP_RESIDENT_SCANNED_BYTES: usize = 2 << 20;

// Without PAGEMAP_SCAN every kept byte is zeroed after every evaluation, dirty or not: keep
// only the first pages, where a plugin built with a small stack keeps its stack and data.
const KEEP_RESIDENT_BYTES: usize = 128 << 10;

/// What the host keeps per evaluation.
struct HostState {
    budget: Budget,
    logs: Vec<String>,
    dropped_logs: usize,
    max_log_lines: usize,
    // Bytes of log text the plugin may still hand the host in this evaluation.
    log_bytes_left: usize,
}

/// The resources one instantiation of a plugin may take, whatever it is made of: the bytes
/// of all its linear memories together (a component of eight core instances, each with a
/// memory, shares one budget), table elements, and counts of instances, memories and tables.
struct Budget {
    memory_left: usize,
    max_table_elements: usize,
    max_instances: usize,
    max_memories: usize,
    max_tables: usize,
}

impl ResourceLimiter for Budget {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let extra = desired.saturating_sub(current);
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        if extra > self.memory_left {
            // A trap, not a failed `memory.grow` the plugin could ignore and retry.
            wasmtime::bail!("memory limit: the plugin's memories would pass its limit");
        }
        self.memory_left -= extra;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= self.max_table_elements && maximum.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        self.max_instances
    }

    fn tables(&self) -> usize {
        self.max_tables
    }

    fn memories(&self) -> usize {
        self.max_memories
    }
}

// The `types` interface has no functions; its (empty) host trait must still be implemented.
impl crate::bindings::switchyard::routing::types::Host for HostState {}
impl v0_5::switchyard::routing::types::Host for HostState {}
impl v0_4::switchyard::routing::types::Host for HostState {}

impl RoutingPluginImports for HostState {
    fn log(&mut self, message: String) -> wasmtime::Result<()> {
        self.write_log(message)
    }
}

// The same function in 0.5.0 and 0.4.0: only one of them is linked (see
// `PluginHost::with_options`).
impl v0_5::RoutingPluginImports for HostState {
    fn log(&mut self, message: String) -> wasmtime::Result<()> {
        self.write_log(message)
    }
}

impl v0_4::RoutingPluginImports for HostState {
    fn log(&mut self, message: String) -> wasmtime::Result<()> {
        self.write_log(message)
    }
}

impl HostState {
    fn write_log(&mut self, message: String) -> wasmtime::Result<()> {
        // Each call already cost the host a copy of the message: past the budget, stop.
        self.log_bytes_left = self
            .log_bytes_left
            .checked_sub(message.len())
            .ok_or_else(|| wasmtime::format_err!("log limit: more log text than the plugin's budget"))?;
        if self.logs.len() < self.max_log_lines {
            self.logs.push(clean_text(&message, MAX_MESSAGE));
        } else {
            self.dropped_logs += 1;
        }
        Ok(())
    }
}

/// Facts about a loaded plugin.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginInfo {
    /// The name it was loaded under.
    pub name: String,
    /// Content hash (hex, first 16 digits of SHA-256): the plugin's version.
    pub version: String,
    /// Size of the file as given.
    pub size: usize,
    /// Whether the file was a core module the host wrapped into a component.
    pub wrapped: bool,
    /// The version of the WIT package `switchyard:routing` it was built against
    /// ([`crate::WIT_VERSION`], or an older one the host still runs).
    pub world_version: &'static str,
    /// The component's imports and exports, as WIT names.
    pub imports: Vec<String>,
    /// The component's exports.
    pub exports: Vec<String>,
    /// The parameters it declares (none before WIT 0.6.0), in their order.
    pub parameters: Vec<Parameter>,
}

impl PluginInfo {
    // `name@version`, as errors name the plugin.
    fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }
}

struct Shared {
    engine: Engine,
    linker: Linker<HostState>,
    limits: Limits,
    cache: Mutex<HashMap<String, Arc<Compiled>>>,
    stop: Arc<AtomicBool>,
    worker: Option<CompileWorker>,
    artifacts: Option<ArtifactDir>,
    // One compile at a time: two uploads never take both cores from routing.
    compiling: Mutex<()>,
}

/// Where and how plugins are compiled (see `compile.rs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// A program that compiles in a child process under the compile budget; `None`: in
    /// process, one at a time.
    pub worker: Option<CompileWorker>,
    /// Where compiled artifacts are kept between runs; `None`: nowhere (compiled at every
    /// load).
    pub artifact_dir: Option<PathBuf>,
}

struct Compiled {
    pre: World,
    info: PluginInfo,
}

/// A plugin ready to instantiate, by the version of the world it was built against.
enum World {
    Current(RoutingPluginPre<HostState>),
    V0_5(v0_5::RoutingPluginPre<HostState>),
    V0_4(v0_4::RoutingPluginPre<HostState>),
}

/// Versions of the world the host runs, newest first ([`crate::WIT_VERSION`] first).
pub const WORLD_VERSIONS: [&str; 3] = [crate::WIT_VERSION, "0.5.0", "0.4.0"];

/// The plugin host. Cheap to clone; all clones share one engine and one cache.
#[derive(Clone)]
pub struct PluginHost {
    shared: Arc<Shared>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl PluginHost {
    /// A host with these limits, compiling in process, keeping no artifacts.
    pub fn new(limits: Limits) -> Result<PluginHost, PluginError> {
        PluginHost::with_options(limits, CompileOptions::default())
    }

    /// A host with these limits, compiling as `options` say.
    pub fn with_options(limits: Limits, options: CompileOptions) -> Result<PluginHost, PluginError> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(limits.pool_instances);
        // A wrapped plugin is a few core instances (the module, and shims for lowering host
        // calls), so the pool holds several per component.
        pool.total_core_instances(limits.pool_instances * CORE_INSTANCES_PER_PLUGIN);
        let structure = &limits.structure;
        pool.total_memories(limits.pool_instances * structure.max_memories.max(1) as u32);
        pool.total_tables(limits.pool_instances * CORE_INSTANCES_PER_PLUGIN);
        pool.max_memory_size(limits.max_memory_bytes);
        pool.max_memories_per_module(structure.max_memories.max(1) as u32);
        pool.max_tables_per_module(structure.max_tables.max(1) as u32);
        pool.max_memories_per_component(structure.max_memories as u32);
        pool.max_tables_per_component(structure.max_tables as u32);
        pool.max_core_instances_per_component(structure.max_core_instances.max(1) as u32);
        // Reset the pages an evaluation wrote by zeroing them instead of unmapping them: the
        // next evaluation then starts without page faults or changes of page protection.
        let keep_resident = if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.pagemap_scan(Enabled::Yes);
            KEEP_RESIDENT_SCANNED_BYTES
        } else {
            KEEP_RESIDENT_BYTES
        };
        pool.linear_memory_keep_resident(keep_resident);
        pool.table_keep_resident(keep_resident);
        // Return memory to the OS in batches: one madvise (and TLB shootdown) per batch of
        // finished evaluations instead of one per evaluation.
        pool.decommit_batch_size(DECOMMIT_BATCH);
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(limits.max_stack_bytes);
        // Relaxed SIMD results may differ between CPUs: a plan must not depend on the machine.
        config.wasm_relaxed_simd(false);
        config.relaxed_simd_deterministic(true);
        // Profiling aid: Linux `perf` then names the plugins' functions (docs/PLUGINS.md).
        if std::env::var_os("SWITCHYARD_PLUGIN_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        if limits.pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        } else {
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
        }
        let engine =
            Engine::new(&config).map_err(|e| PluginError::Invalid(format!("cannot start the wasm engine: {e}")))?;
        let mut linker = Linker::new(&engine);
        // Every world imports the same `log` function (the later definition replaces the
        // earlier one, which is why shadowing is allowed) and its own `types` interface.
        linker.allow_shadowing(true);
        v0_4::RoutingPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .and_then(|()| v0_5::RoutingPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state))
            .and_then(|()| RoutingPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state))
            .map_err(|e| PluginError::Invalid(format!("cannot link host functions: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        // The epoch ticker: the wall-clock backstop of every running plugin. It stops when
        // the host is dropped.
        let ticker_engine = engine.clone();
        let ticker_stop = Arc::clone(&stop);
        thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    ticker_engine.increment_epoch();
                }
            })
            .map_err(|e| PluginError::Invalid(format!("cannot start the epoch ticker: {e}")))?;
        let artifacts = options.artifact_dir.map(|directory| ArtifactDir::new(directory, &engine));
        Ok(PluginHost {
            shared: Arc::new(Shared {
                engine,
                linker,
                limits,
                cache: Mutex::new(HashMap::new()),
                stop,
                worker: options.worker,
                artifacts,
                compiling: Mutex::new(()),
            }),
        })
    }

    /// The limits plugins run under.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Validates, compiles (or finds in the cache) and prepares a plugin.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<WasmPolicy, PluginError> {
        let limits = &self.shared.limits;
        if bytes.len() > limits.max_module_bytes {
            return Err(PluginError::TooLarge { size: bytes.len(), limit: limits.max_module_bytes });
        }
        if !bytes.starts_with(b"\0asm") {
            return Err(PluginError::Invalid("not a WebAssembly file (it does not start with `\\0asm`)".to_owned()));
        }
        let version = content_hash(bytes);
        let key = format!("{name}@{version}");
        if let Some(compiled) = self.shared.cache.lock().get(&key) {
            return Ok(WasmPolicy::new(self, Arc::clone(compiled)));
        }
        let component = self.compile(&version, bytes)?;
        let wrapped = is_core_module(bytes);
        let ty = component.component_type();
        let imports = ty.imports(&self.shared.engine).map(|(name, _)| name.to_owned()).collect();
        let exports = ty.exports(&self.shared.engine).map(|(name, _)| name.to_owned()).collect();
        let instance_pre = self
            .shared
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Invalid(format!("it does not fit the routing world: {}", one_line(&e))))?;
        // Types are structural: a plugin fits the version whose `evaluate` has its signature.
        let (pre, world_version) = match RoutingPluginPre::new(instance_pre.clone()) {
            Ok(pre) => (World::Current(pre), WORLD_VERSIONS[0]),
            Err(current) => {
                match (v0_5::RoutingPluginPre::new(instance_pre.clone()), v0_4::RoutingPluginPre::new(instance_pre)) {
                    (Ok(pre), _) => (World::V0_5(pre), WORLD_VERSIONS[1]),
                    (_, Ok(pre)) => (World::V0_4(pre), WORLD_VERSIONS[2]),
                    _ => {
                        return Err(PluginError::Invalid(format!(
                            "it does not export the routing world (switchyard:routing@{} or an older {}): {}",
                            WORLD_VERSIONS[0],
                            WORLD_VERSIONS[1..].join(", "),
                            one_line(&current)
                        )));
                    }
                }
            }
        };
        let info = PluginInfo {
            name: name.to_owned(),
            version,
            size: bytes.len(),
            wrapped,
            world_version,
            imports,
            exports,
            parameters: Vec::new(),
        };
        let mut compiled = Compiled { pre, info };
        if let World::Current(pre) = &compiled.pre {
            compiled.info.parameters = self.declared_parameters(&compiled.info, pre)?;
        }
        let compiled = Arc::new(compiled);
        self.shared.cache.lock().insert(key, Arc::clone(&compiled));
        Ok(WasmPolicy::new(self, compiled))
    }

    // Calls the plugin's `parameters` once, under the budget of an evaluation, and checks
    // what it declares.
    fn declared_parameters(
        &self,
        info: &PluginInfo,
        pre: &RoutingPluginPre<HostState>,
    ) -> Result<Vec<Parameter>, PluginError> {
        let label = info.label();
        let mut store = self.new_store(|| label.clone())?;
        let plugin = pre.instantiate(&mut store).map_err(|error| self.instantiate_error(&label, error))?;
        let declared = plugin
            .call_parameters(&mut store)
            .map_err(|error| PluginError::Trapped { plugin: label.clone(), kind: trap_kind(&error) })?;
        crate::parameters::declared(declared)
            .map_err(|message| PluginError::Invalid(format!("its parameters: {}", clean_text(&message, MAX_MESSAGE))))
    }

    // A full pool is the host's state, not the plugin's fault: say so rather than call it a trap.
    fn instantiate_error(&self, label: &str, error: wasmtime::Error) -> PluginError {
        if error.downcast_ref::<PoolConcurrencyLimitError>().is_some() {
            PluginError::Busy { plugin: label.to_owned(), limit: self.limits().pool_instances }
        } else {
            PluginError::Trapped { plugin: label.to_owned(), kind: trap_kind(&error) }
        }
    }

    // A fresh store with the budget of one call; `label` names the plugin if that fails (the
    // name is formatted only then: this runs on every evaluation).
    fn new_store(&self, label: impl FnOnce() -> String) -> Result<Store<HostState>, PluginError> {
        let limits = self.limits();
        let structure = &limits.structure;
        let state = HostState {
            budget: Budget {
                memory_left: limits.max_memory_bytes,
                max_table_elements: MAX_TABLE_ELEMENTS,
                max_instances: structure.max_core_instances.max(1) + structure.max_component_instances,
                max_memories: structure.max_memories,
                max_tables: structure.max_tables,
            },
            logs: Vec::new(),
            dropped_logs: 0,
            max_log_lines: limits.max_log_lines,
            log_bytes_left: limits.max_log_bytes,
        };
        let mut store = Store::new(&self.shared.engine, state);
        store.limiter(|state| &mut state.budget);
        store
            .set_fuel(limits.fuel)
            .map_err(|error| PluginError::Trapped { plugin: label(), kind: trap_kind(&error) })?;
        let ticks = (limits.timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        Ok(store)
    }
}

impl PluginHost {
    /// Compiles `bytes` into an artifact this host can load (what a compile worker runs).
    pub fn precompile(&self, bytes: &[u8]) -> Result<Vec<u8>, PluginError> {
        precompile(&self.shared.engine, &self.shared.limits, bytes)
    }

    /// Where compiled artifacts are kept, when they are.
    pub fn artifact_dir(&self) -> Option<&std::path::Path> {
        self.shared.artifacts.as_ref().map(ArtifactDir::directory)
    }

    // The compiled component of `version`: from the artifact directory, or compiled (by the
    // worker, or here) and kept there.
    fn compile(&self, version: &str, bytes: &[u8]) -> Result<Component, PluginError> {
        let engine = &self.shared.engine;
        if let Some(artifact) = self.shared.artifacts.as_ref().and_then(|dir| dir.read(version))
            && let Ok(component) = load_artifact(engine, &artifact)
        {
            return Ok(component);
        }
        // The caps are checked here too, so a refusal costs no worker.
        crate::structure::check(bytes, &self.shared.limits.structure)?;
        let _one_at_a_time = self.shared.compiling.lock();
        let artifact = match &self.shared.worker {
            Some(worker) => compile_in_worker(worker, &self.shared.limits, bytes)?,
            None => precompile(engine, &self.shared.limits, bytes)?,
        };
        let component = load_artifact(engine, &artifact)?;
        if let Some(dir) = &self.shared.artifacts {
            dir.write(version, &artifact);
        }
        Ok(component)
    }
}

fn policy_info(info: &PluginInfo) -> Arc<PolicyInfo> {
    Arc::new(PolicyInfo { name: info.name.clone(), version: info.version.clone() })
}

fn content_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(bytes);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A loaded plugin, usable as a routing policy.
pub struct WasmPolicy {
    host: PluginHost,
    compiled: Arc<Compiled>,
    policy_info: Arc<PolicyInfo>,
    // One value per declared parameter, in their order: what every request carries.
    values: Arc<[ParamValue]>,
    // Shared by its configured copies (`with_parameters`): the version's fuel.
    fuel_used: Arc<AtomicU64>,
}

/// What one evaluation used.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvaluationReport {
    /// Fuel consumed.
    pub fuel: u64,
    /// Log lines the plugin wrote (and how many more were dropped).
    pub logs: Vec<String>,
    /// Lines over the limit, dropped.
    pub dropped_logs: usize,
}

impl WasmPolicy {
    // The plugin with its parameters' defaults.
    fn new(host: &PluginHost, compiled: Arc<Compiled>) -> WasmPolicy {
        let values = compiled.info.parameters.iter().map(|p| p.default.clone()).collect();
        WasmPolicy {
            host: host.clone(),
            policy_info: policy_info(&compiled.info),
            compiled,
            values,
            fuel_used: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The same plugin with these parameter values (the defaults for the others): what a
    /// binding with values routes with. An error names the parameter that is unknown or of the
    /// wrong type.
    pub fn with_parameters(&self, given: &BTreeMap<String, ParamValue>) -> Result<WasmPolicy, PluginError> {
        let values = crate::parameters::values(&self.compiled.info.parameters, given)
            .map_err(|message| PluginError::InvalidParameter { plugin: self.label(), message })?;
        Ok(WasmPolicy {
            values: values.into(),
            fuel_used: Arc::clone(&self.fuel_used),
            ..WasmPolicy::new(&self.host, Arc::clone(&self.compiled))
        })
    }

    /// The value of each declared parameter this policy runs with, in their order.
    pub fn parameter_values(&self) -> impl Iterator<Item = (&Parameter, &ParamValue)> {
        self.compiled.info.parameters.iter().zip(self.values.iter())
    }

    /// Facts about the plugin.
    pub fn plugin(&self) -> &PluginInfo {
        &self.compiled.info
    }

    /// Fuel (instructions) this plugin's evaluations have used in total, with any parameter
    /// values (its configured copies count here too), for metrics.
    pub fn fuel_used(&self) -> u64 {
        self.fuel_used.load(Ordering::Relaxed)
    }

    fn label(&self) -> String {
        self.compiled.info.label()
    }

    fn new_store(&self) -> Result<Store<HostState>, PluginError> {
        self.host.new_store(|| self.label())
    }

    /// Creates a store and instantiates the plugin without calling it: what every evaluation
    /// pays before the plugin runs. For benchmarks.
    pub fn instantiate_only(&self) -> Result<(), PluginError> {
        let mut store = self.new_store()?;
        let instantiated = match &self.compiled.pre {
            World::Current(pre) => pre.instantiate(&mut store).map(|_| ()),
            World::V0_5(pre) => pre.instantiate(&mut store).map(|_| ()),
            World::V0_4(pre) => pre.instantiate(&mut store).map(|_| ()),
        };
        instantiated.map_err(|error| self.instantiate_error(error))
    }

    fn instantiate_error(&self, error: wasmtime::Error) -> PluginError {
        self.host.instantiate_error(&self.label(), error)
    }

    /// Runs the plugin on one request, filling `out`; reports fuel and logs.
    pub fn run(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<EvaluationReport, PluginError> {
        let limits = self.host.limits();
        let delivery = !matches!(self.compiled.pre, World::V0_4(_));
        let (wit_request, size) = crate::convert::request(request, delivery, &self.values);
        if size > limits.max_input_bytes {
            return Err(PluginError::InputTooLarge { plugin: self.label(), size, limit: limits.max_input_bytes });
        }
        let called = self.call(wit_request)?;
        self.fuel_used.fetch_add(called.fuel, Ordering::Relaxed);
        let answer = self.answered(called.result)?;
        crate::convert::answer(answer, out)
            .map_err(|message| PluginError::InvalidAnswer { plugin: self.label(), message })?;
        Ok(EvaluationReport { fuel: called.fuel, logs: called.state.logs, dropped_logs: called.state.dropped_logs })
    }

    /// Runs the plugin once on `input` (`switchyard plugin run`): its answer, checked as the
    /// service checks it, and the fuel, memory and time it used and the lines it logged. The
    /// input is checked first (an error names the field).
    pub fn run_input(&self, input: &PluginInput) -> Result<PluginRun, PluginError> {
        let limits = self.host.limits();
        // The field, as the request names it: `parameters.max_shipments`.
        let values =
            crate::parameters::values(&self.compiled.info.parameters, &input.parameters).map_err(|message| {
                let message =
                    message.strip_prefix('`').map_or_else(|| message.clone(), |rest| format!("`parameters.{rest}"));
                PluginError::InvalidInput { message }
            })?;
        let wit_request = input.encode(&values).map_err(|message| PluginError::InvalidInput { message })?;
        let called = self.call(wit_request)?;
        let answer = self.answered(called.result)?;
        let answer = crate::runner::run_answer(input, answer)
            .map_err(|message| PluginError::InvalidAnswer { plugin: self.label(), message })?;
        Ok(PluginRun {
            answer,
            fuel: called.fuel,
            memory_bytes: limits.max_memory_bytes.saturating_sub(called.state.budget.memory_left) as u64,
            time: called.time,
            logs: called.state.logs,
            dropped_logs: called.state.dropped_logs,
        })
    }

    // Instantiates the plugin in a fresh store and calls `evaluate` once: what both `run` and
    // `run_input` do. A 0.5.0 plugin is shown the request without parameters, a 0.4.0 plugin
    // without the delivery section too.
    fn call(&self, mut request: wit::Request) -> Result<Called, PluginError> {
        let trapped = |error: wasmtime::Error| PluginError::Trapped { plugin: self.label(), kind: trap_kind(&error) };
        let mut store = self.new_store()?;
        let (result, time) = crate::runner::timed(|| match &self.compiled.pre {
            World::Current(pre) => {
                let plugin = pre.instantiate(&mut store).map_err(|error| self.instantiate_error(error))?;
                plugin.call_evaluate(&mut store, &request).map_err(trapped)
            }
            World::V0_5(pre) => {
                let plugin = pre.instantiate(&mut store).map_err(|error| self.instantiate_error(error))?;
                plugin
                    .call_evaluate(&mut store, &crate::convert::v0_5_request(request))
                    .map(|answer| answer.map(crate::convert::from_v0_5))
                    .map_err(trapped)
            }
            World::V0_4(pre) => {
                let plugin = pre.instantiate(&mut store).map_err(|error| self.instantiate_error(error))?;
                if request.delivery.take().is_some() {
                    // 0.4.0 has no sixth section: its rows end with the candidates.
                    let delivery_rows = request.location_count as usize * crate::convert::DELIVERY_ROW;
                    request.rows.truncate(request.rows.len().saturating_sub(delivery_rows));
                }
                plugin
                    .call_evaluate(&mut store, &crate::convert::v0_4_request(request))
                    .map(|answer| answer.map(crate::convert::from_v0_4))
                    .map_err(trapped)
            }
        });
        let fuel = self.host.limits().fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        Ok(Called { result, fuel, time, state: store.into_data() })
    }

    // The plugin's answer, or its refusal as an error.
    fn answered(&self, result: Result<Result<wit::Answer, String>, PluginError>) -> Result<wit::Answer, PluginError> {
        result?.map_err(|message| PluginError::Refused {
            plugin: self.label(),
            message: clean_text(&message, MAX_MESSAGE),
        })
    }
}

/// One call of a plugin: its result, and the fuel, time and host state it left.
struct Called {
    result: Result<Result<wit::Answer, String>, PluginError>,
    fuel: u64,
    time: Duration,
    state: HostState,
}

fn trap_kind(error: &wasmtime::Error) -> TrapKind {
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => TrapKind::FuelExhausted,
        Some(Trap::Interrupt) => TrapKind::Timeout,
        Some(Trap::StackOverflow) => TrapKind::StackOverflow,
        Some(trap) => TrapKind::Other(clean_text(trap.to_string().trim_start_matches("wasm trap: "), MAX_MESSAGE)),
        None => {
            // The outer layers say where (a backtrace of the guest); the root cause says what.
            let cause = error.root_cause().to_string();
            if cause.contains("memory") && (cause.contains("grow") || cause.contains("limit")) {
                TrapKind::MemoryLimit
            } else {
                TrapKind::Other(clean_text(cause.lines().next().unwrap_or(""), MAX_MESSAGE))
            }
        }
    }
}

impl Policy for WasmPolicy {
    fn info(&self) -> Arc<PolicyInfo> {
        Arc::clone(&self.policy_info)
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        self.run(request, out)
            .map(|_| ())
            .map_err(|error| PolicyError { policy: self.label(), message: error.to_string() })
    }
}
