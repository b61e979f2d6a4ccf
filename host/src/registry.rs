//! Policy and plugin versions (immutable, content-addressed) and the bindings of versions to
//! product groups. A binding change is one atomic map insert: an order routing already holds
//! its `Arc` to the version it started with; the next order sees the new one.

use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use switchyard_engine::lookahead::{LookAheadPolicy, Reweighted, pass_weight};
use switchyard_engine::{FallbackPolicy, Policy};
use switchyard_plugins::{PluginError, PluginHost, WasmPolicy};

use crate::error::ServiceError;
use crate::records::{BindingRecord, DiagnosticLevel, DiagnosticRecord, Kind, VersionMeta};

/// The group name of the default binding (orders whose lines have no bound group).
pub const DEFAULT_GROUP: &str = "default";

/// A loaded version.
pub struct Version {
    /// What the API shows.
    pub meta: VersionMeta,
    /// The policy, ready to route (with its look-ahead when it declares one).
    pub policy: Arc<dyn Policy>,
    /// Set when the policy looks ahead: the wrapper whose prices the service re-solves.
    pub look_ahead: Option<Arc<LookAheadPolicy<'static>>>,
    /// Set when it is a plugin (for fuel metrics).
    pub plugin: Option<Arc<WasmPolicy>>,
    /// A policy's source (`None` for a plugin).
    pub source: Option<Arc<str>>,
}

/// A live binding: what orders of the group route with.
pub struct Binding {
    /// The binding as recorded.
    pub record: BindingRecord,
    /// The policy, wrapped with its fallback when there is one.
    pub policy: Arc<dyn Policy>,
}

/// Versions and bindings.
pub struct Registry {
    plugins: PluginHost,
    versions: DashMap<String, Arc<Version>>,
    order: Mutex<Vec<String>>,
    bindings: DashMap<String, Arc<Binding>>,
    history: Mutex<Vec<BindingRecord>>,
}

/// The content hash that names a version.
pub fn version_of(kind: Kind, bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(kind.name().as_bytes());
    hasher.update([0]);
    hasher.update(bytes);
    hasher.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect()
}

// 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn diagnostics_of(diagnostics: &switchyard_dsl::Diagnostics) -> Vec<DiagnosticRecord> {
    diagnostics
        .items
        .iter()
        .map(|d| {
            let (line, column) = line_column(&diagnostics.source, d.span.start);
            DiagnosticRecord {
                level: match d.level {
                    switchyard_dsl::Level::Error => DiagnosticLevel::Error,
                    switchyard_dsl::Level::Warning => DiagnosticLevel::Warning,
                },
                code: d.code.to_string(),
                message: d.message.clone(),
                line,
                column,
                help: d.help.clone(),
            }
        })
        .collect()
}

/// The stack of a thread that checks and compiles an upload.
const COMPILER_STACK_BYTES: usize = 64 << 20;

/// Compiles a version (without storing it). DSL errors come back with every diagnostic.
fn compile_version(
    plugins: &PluginHost,
    kind: Kind,
    name: &str,
    bytes: &[u8],
    uploaded_at: String,
) -> Result<Version, ServiceError> {
    let version = version_of(kind, bytes);
    match kind {
        Kind::Dsl => {
            let source = std::str::from_utf8(bytes)
                .map_err(|e| ServiceError::invalid("invalid_policy", format!("the source is not UTF-8: {e}")))?;
            match switchyard_dsl::load(name, source, &switchyard_dsl::no_overrides()) {
                Ok((policy, warnings)) => {
                    let groups = policy.groups().to_vec();
                    let settings = policy.look_ahead();
                    let policy: Arc<dyn Policy> = Arc::new(policy);
                    let look_ahead = settings.map(|s| Arc::new(LookAheadPolicy::shared(Arc::clone(&policy), s)));
                    Ok(Version {
                        meta: VersionMeta {
                            version,
                            name: name.to_owned(),
                            kind,
                            size: bytes.len(),
                            uploaded_at,
                            diagnostics: diagnostics_of(&warnings),
                            groups,
                            parameters: Vec::new(),
                        },
                        policy: match &look_ahead {
                            Some(wrapped) => Arc::clone(wrapped) as Arc<dyn Policy>,
                            None => policy,
                        },
                        look_ahead,
                        plugin: None,
                        source: Some(Arc::from(source)),
                    })
                }
                Err(diagnostics) => {
                    let diagnostics = diagnostics_of(&diagnostics);
                    let errors = diagnostics.iter().filter(|d| d.level == DiagnosticLevel::Error).count();
                    let first = diagnostics.iter().find(|d| d.level == DiagnosticLevel::Error);
                    let message = match first {
                        Some(d) => format!(
                            "the policy has {errors} error(s); first at line {}, column {}: {}",
                            d.line, d.column, d.message
                        ),
                        None => "the policy has errors".to_owned(),
                    };
                    Err(ServiceError::InvalidPolicy { message, diagnostics })
                }
            }
        }
        Kind::Wasm => {
            let plugin = plugins.load(name, bytes).map_err(|e| match e {
                // The compile worker failed, or every pooled instance was busy when the plugin
                // was asked for its parameters: not the upload's fault; the client may try again.
                PluginError::Host(message) => ServiceError::internal(message),
                e @ PluginError::Busy { .. } => ServiceError::internal(e.to_string()),
                e => ServiceError::invalid("invalid_plugin", e.to_string()),
            })?;
            let plugin = Arc::new(plugin);
            // An older world still runs; its author should know what it does not see.
            let world = plugin.plugin().world_version;
            let diagnostics = if world == switchyard_plugins::WIT_VERSION {
                Vec::new()
            } else {
                vec![DiagnosticRecord {
                    level: DiagnosticLevel::Warning,
                    code: "plugin::older_world".to_owned(),
                    message: format!(
                        "built against switchyard:routing@{world}: it runs, but cannot use what later \
                         versions added ({})",
                        if world == "0.4.0" {
                            "the order's carrier service and each location's dates; parameters"
                        } else {
                            "parameters a binding sets"
                        }
                    ),
                    line: 0,
                    column: 0,
                    help: Some(format!("rebuild it with the plugin SDK {}", switchyard_plugins::WIT_VERSION)),
                }]
            };
            Ok(Version {
                meta: VersionMeta {
                    version,
                    name: name.to_owned(),
                    kind,
                    size: bytes.len(),
                    uploaded_at,
                    diagnostics,
                    groups: Vec::new(),
                    parameters: plugin.plugin().parameters.clone(),
                },
                policy: Arc::clone(&plugin) as Arc<dyn Policy>,
                look_ahead: None,
                plugin: Some(plugin),
                source: None,
            })
        }
    }
}

impl Registry {
    /// An empty registry running plugins on `plugins`.
    pub fn new(plugins: PluginHost) -> Registry {
        Registry {
            plugins,
            versions: DashMap::new(),
            order: Mutex::new(Vec::new()),
            bindings: DashMap::new(),
            history: Mutex::new(Vec::new()),
        }
    }

    /// Compiles a version (without storing it), on a thread of its own with a known stack
    /// (checking recurses over the policy's expressions), and waits for it. DSL errors come
    /// back with every diagnostic.
    pub fn compile(&self, kind: Kind, name: &str, bytes: &[u8], uploaded_at: String) -> Result<Version, ServiceError> {
        let plugins = self.plugins.clone();
        let (name, bytes) = (name.to_owned(), bytes.to_vec());
        std::thread::Builder::new()
            .name("compile".into())
            .stack_size(COMPILER_STACK_BYTES)
            .spawn(move || compile_version(&plugins, kind, &name, &bytes, uploaded_at))
            .map_err(|e| ServiceError::internal(format!("cannot start a compiler thread: {e}")))?
            .join()
            .unwrap_or_else(|_| Err(ServiceError::internal("the compiler thread panicked")))
    }

    /// [`Registry::compile`] without blocking the caller: an async task awaits the compiler
    /// thread while the worker serves other requests.
    pub async fn compile_async(
        &self,
        kind: Kind,
        name: &str,
        bytes: Vec<u8>,
        uploaded_at: String,
    ) -> Result<Version, ServiceError> {
        let done = self.compile_on_thread(kind, name, bytes, uploaded_at)?;
        done.await.unwrap_or_else(|_| Err(ServiceError::internal("the compiler thread stopped")))
    }

    fn compile_on_thread(
        &self,
        kind: Kind,
        name: &str,
        bytes: Vec<u8>,
        uploaded_at: String,
    ) -> Result<tokio::sync::oneshot::Receiver<Result<Version, ServiceError>>, ServiceError> {
        let (send, done) = tokio::sync::oneshot::channel();
        let plugins = self.plugins.clone();
        let name = name.to_owned();
        std::thread::Builder::new()
            .name("compile".into())
            .stack_size(COMPILER_STACK_BYTES)
            .spawn(move || {
                let _ = send.send(compile_version(&plugins, kind, &name, &bytes, uploaded_at));
            })
            .map_err(|e| ServiceError::internal(format!("cannot start a compiler thread: {e}")))?;
        Ok(done)
    }

    /// Adds a compiled version (idempotent: the same content is the same version).
    pub fn insert(&self, version: Version) -> Arc<Version> {
        let id = version.meta.version.clone();
        let entry = self.versions.entry(id.clone()).or_insert_with(|| {
            self.order.lock().push(id);
            Arc::new(version)
        });
        Arc::clone(entry.value())
    }

    /// A version by id.
    pub fn version(&self, id: &str) -> Option<Arc<Version>> {
        self.versions.get(id).map(|v| Arc::clone(v.value()))
    }

    /// Every version, in upload order.
    pub fn versions(&self) -> Vec<VersionMeta> {
        let order = self.order.lock().clone();
        order.iter().filter_map(|id| self.version(id)).map(|v| v.meta.clone()).collect()
    }

    /// Checks that a binding can be made, and builds it.
    pub fn prepare_binding(&self, record: BindingRecord) -> Result<Binding, ServiceError> {
        self.prepare(record, &|version| Arc::clone(&version.policy))
    }

    /// `record`'s binding as a re-optimisation pass routes an order with a release window of
    /// `window` seconds: a version that looks ahead adds its opportunity costs at its pass
    /// weight ([`pass_weight`]), sharing the prices the service re-solves.
    pub fn prepare_pass_binding(&self, record: BindingRecord, window: i64) -> Result<Binding, ServiceError> {
        self.prepare(record, &|version| {
            let looking = version.look_ahead.as_ref().and_then(|looking| Some((looking, looking.settings()?)));
            match looking {
                Some((looking, settings)) => {
                    let weight = pass_weight(settings.weight, settings.horizon_secs, window);
                    Arc::new(Reweighted::new(Arc::clone(looking), weight))
                }
                None => Arc::clone(&version.policy),
            }
        })
    }

    // A binding of `record`, each version routing with the policy `policy_of` gives it.
    fn prepare(
        &self,
        record: BindingRecord,
        policy_of: &dyn Fn(&Version) -> Arc<dyn Policy>,
    ) -> Result<Binding, ServiceError> {
        let primary = self.version(&record.version).ok_or_else(|| {
            ServiceError::invalid("unknown_version", format!("no version `{}`", record.version)).at("version")
        })?;
        let groups = &primary.meta.groups;
        if !groups.is_empty() && !groups.contains(&record.group) {
            return Err(ServiceError::invalid(
                "policy_not_for_group",
                format!(
                    "policy `{}` applies to {} only, not to group `{}`",
                    primary.meta.name,
                    groups.iter().map(|g| format!("`{g}`")).collect::<Vec<_>>().join(", "),
                    record.group
                ),
            )
            .at("version"));
        }
        let configured: Arc<dyn Policy> = if record.parameters.is_empty() {
            policy_of(&primary)
        } else {
            let plugin = primary.plugin.as_ref().ok_or_else(|| {
                ServiceError::invalid(
                    "invalid_parameter",
                    format!(
                        "version `{}` is a policy: `parameters` sets a plugin's parameters (a policy's `param`s \
                         are set in its source)",
                        record.version
                    ),
                )
                .at("parameters")
            })?;
            Arc::new(
                plugin
                    .with_parameters(&record.parameters)
                    .map_err(|error| ServiceError::invalid("invalid_parameter", error.to_string()).at("parameters"))?,
            )
        };
        let policy = match &record.fallback {
            None => configured,
            Some(fallback) => {
                let fallback = self.version(fallback).ok_or_else(|| {
                    ServiceError::invalid("unknown_version", format!("no version `{fallback}`")).at("fallback")
                })?;
                Arc::new(FallbackPolicy::new(configured, policy_of(&fallback))) as Arc<dyn Policy>
            }
        };
        Ok(Binding { record, policy })
    }

    /// Makes a prepared binding live: one atomic swap.
    pub fn bind(&self, binding: Binding) {
        self.history.lock().push(binding.record.clone());
        self.bindings.insert(binding.record.group.clone(), Arc::new(binding));
    }

    /// The binding before the current one of `group`, for a rollback.
    pub fn previous(&self, group: &str) -> Option<BindingRecord> {
        let history = self.history.lock();
        // The same version with other parameter values (or another fallback) is another binding.
        let current = self.bindings.get(group).map(|b| b.record.clone());
        let same = |a: &BindingRecord, b: &BindingRecord| {
            a.version == b.version && a.fallback == b.fallback && a.parameters == b.parameters
        };
        history
            .iter()
            .rev()
            .filter(|b| b.group == group)
            .skip(1)
            .find(|b| current.as_ref().is_none_or(|current| !same(b, current)))
            .cloned()
    }

    /// The binding that routes orders of `group`, else the default.
    pub fn binding_for(&self, group: Option<&str>) -> Option<Arc<Binding>> {
        group
            .and_then(|g| self.bindings.get(g).map(|b| Arc::clone(b.value())))
            .or_else(|| self.bindings.get(DEFAULT_GROUP).map(|b| Arc::clone(b.value())))
    }

    /// The versions live bindings route with (as primary or fallback) that look ahead, each
    /// once, in upload order.
    pub fn looking_ahead(&self) -> Vec<Arc<Version>> {
        let live: std::collections::HashSet<String> = self
            .bindings
            .iter()
            .flat_map(|b| std::iter::once(b.record.version.clone()).chain(b.record.fallback.clone()))
            .collect();
        let order = self.order.lock().clone();
        order
            .iter()
            .filter(|id| live.contains(*id))
            .filter_map(|id| self.version(id))
            .filter(|v| v.look_ahead.is_some())
            .collect()
    }

    /// Live bindings, by group.
    pub fn bindings(&self) -> Vec<BindingRecord> {
        let mut all: Vec<BindingRecord> = self.bindings.iter().map(|b| b.record.clone()).collect();
        all.sort_by(|a, b| a.group.cmp(&b.group));
        all
    }

    /// Every binding change, oldest first.
    pub fn history(&self) -> Vec<BindingRecord> {
        self.history.lock().clone()
    }

    /// Fuel used so far per plugin version: `(name, version, fuel)`.
    pub fn plugin_fuel(&self) -> Vec<(String, String, u64)> {
        let mut out: Vec<_> = self
            .versions
            .iter()
            .filter_map(|v| v.plugin.as_ref().map(|p| (v.meta.name.clone(), v.meta.version.clone(), p.fuel_used())))
            .collect();
        out.sort();
        out
    }
}
