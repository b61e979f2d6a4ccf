//! From uploaded bytes to compiled code, within a budget. Compiling is the one step of a
//! plugin's life that no fuel or deadline covers, so it is bounded three ways:
//!
//! 1. structural caps (`structure.rs`) refuse, in one linear pass, what would be expensive to
//!    compile;
//! 2. with a compile worker configured (`switchyard serve` runs its own binary as one),
//!    compilation runs in a child process with an address-space limit and a time limit: it is
//!    killed past either, and the service never shares a heap or a stall with it; without one
//!    (a program embedding the host), it runs in process, one compile at a time;
//! 3. the compiled artifact is kept on disk (an artifact directory, keyed by the plugin's
//!    content hash and the engine's settings, with a checksum), so a restart deserializes
//!    instead of compiling again.

use std::ffi::OsString;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::PluginError;
use crate::limits::Limits;
use crate::structure;

/// A program that compiles one plugin: it reads the module's bytes on stdin and writes the
/// compiled artifact on stdout (`switchyard plugin compile-worker`), or exits non-zero with
/// the reason on stderr's first line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileWorker {
    /// The program.
    pub program: PathBuf,
    /// Its arguments; `--max-memory <bytes>` is added.
    pub args: Vec<OsString>,
}

/// Compiles `bytes` (a component, or a core module carrying the routing world's type
/// information, which is wrapped into one) into an artifact this engine can load: what the
/// compile worker runs. Refuses what passes the structural caps or does not validate.
pub fn precompile(engine: &Engine, limits: &Limits, bytes: &[u8]) -> Result<Vec<u8>, PluginError> {
    structure::check(bytes, &limits.structure)?;
    let component_bytes = if is_core_module(bytes) {
        // Validate first: the wrapper trusts its input more than an upload deserves.
        wasmtime::Module::validate(engine, bytes)
            .map_err(|e| PluginError::Invalid(format!("not a valid WebAssembly module: {}", one_line(&e))))?;
        let wrap = || {
            wit_component::ComponentEncoder::default().module(bytes).and_then(|encoder| encoder.validate(true).encode())
        };
        // INVARIANT: no upload may panic the host; a panic in the wrapper is a malformed file.
        let encoded = std::panic::catch_unwind(wrap)
            .map_err(|_| PluginError::Invalid("the module's component type information is malformed".to_owned()))?
            .map_err(|e| PluginError::Invalid(format!("cannot wrap the core module into a component: {e:#}")))?;
        // The wrapper adds instances and tables of its own: the caps hold for the whole.
        structure::check(&encoded, &limits.structure)?;
        encoded
    } else {
        bytes.to_vec()
    };
    engine.precompile_component(&component_bytes).map_err(|e| PluginError::Invalid(one_line(&e)))
}

/// Runs `worker` on `bytes` with the compile budget of `limits`: killed past
/// `compile_timeout`, limited to `compile_memory_bytes` of address space.
pub(crate) fn compile_in_worker(worker: &CompileWorker, limits: &Limits, bytes: &[u8]) -> Result<Vec<u8>, PluginError> {
    let failed = |what: String| PluginError::Host(format!("the compile worker {what}"));
    let mut child = Command::new(&worker.program)
        .args(&worker.args)
        .arg("--max-memory")
        .arg(limits.compile_memory_bytes.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("`{}` cannot start: {e}", worker.program.display())))?;
    // Feed and drain on threads of their own so neither pipe can fill up and block the other.
    let mut stdin = child.stdin.take().ok_or_else(|| failed("has no stdin".to_owned()))?;
    let input = bytes.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = child.stdout.take().ok_or_else(|| failed("has no stdout".to_owned()))?;
    let reader = std::thread::spawn(move || {
        let mut artifact = Vec::new();
        stdout.read_to_end(&mut artifact).map(|_| artifact)
    });
    let mut stderr = child.stderr.take().ok_or_else(|| failed("has no stderr".to_owned()))?;
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.by_ref().take(64 << 10).read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| failed(format!("cannot be waited for: {e}")))? {
            break status;
        }
        if started.elapsed() > limits.compile_timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PluginError::Invalid(format!(
                "compiling it took longer than {} s, the limit",
                limits.compile_timeout.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = feeder.join();
    let artifact = reader.join().map_err(|_| failed("output was lost".to_owned()))?;
    let message = errors.join().unwrap_or_default();
    let first_line = message.lines().find(|line| !line.trim().is_empty()).unwrap_or("").trim().to_owned();
    if !status.success() {
        if first_line.starts_with("refused: ") {
            return Err(PluginError::Invalid(first_line.trim_start_matches("refused: ").to_owned()));
        }
        // Killed by the address-space limit (an allocation failed) or crashed.
        return Err(PluginError::Invalid(format!(
            "compiling it needed more than the compile budget of {} MiB of memory ({status}{})",
            limits.compile_memory_bytes >> 20,
            if first_line.is_empty() { String::new() } else { format!(": {first_line}") }
        )));
    }
    artifact.map_err(|e| failed(format!("output cannot be read: {e}")))
}

/// Compiled artifacts on disk: `<version>-<engine settings>.cwasm`, the SHA-256 of the
/// artifact first.
pub(crate) struct ArtifactDir {
    directory: PathBuf,
    engine_key: String,
}

impl ArtifactDir {
    pub(crate) fn new(directory: PathBuf, engine: &Engine) -> ArtifactDir {
        // SHA-256 rather than std's `DefaultHasher`, whose output may change with the Rust
        // release: a rebuild of the same engine keeps finding its artifacts.
        struct Sha(Sha256);
        impl Hasher for Sha {
            fn write(&mut self, bytes: &[u8]) {
                self.0.update(bytes);
            }
            fn finish(&self) -> u64 {
                0
            }
        }
        let mut hasher = Sha(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let digest = hasher.0.finalize();
        let engine_key = digest[..8].iter().map(|byte| format!("{byte:02x}")).collect();
        ArtifactDir { directory, engine_key }
    }

    fn path(&self, version: &str) -> PathBuf {
        self.directory.join(format!("{version}-{}.cwasm", self.engine_key))
    }

    /// The artifact of `version` compiled for this engine, when it is there and intact.
    pub(crate) fn read(&self, version: &str) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(version)).ok()?;
        let (checksum, artifact) = bytes.split_at_checked(32)?;
        if Sha256::digest(artifact).as_slice() == checksum {
            Some(artifact.to_vec())
        } else {
            // Torn or damaged: compile again (and overwrite it).
            None
        }
    }

    /// Keeps `artifact` for next time; a failure only costs a compile at the next start.
    pub(crate) fn write(&self, version: &str, artifact: &[u8]) {
        let _ = std::fs::create_dir_all(&self.directory);
        let path = self.path(version);
        let partial = path.with_extension("partial");
        let mut bytes = Sha256::digest(artifact).to_vec();
        bytes.extend_from_slice(artifact);
        if std::fs::write(&partial, &bytes).is_ok() {
            let _ = std::fs::rename(&partial, &path);
        }
    }

    /// Where artifacts are kept.
    pub(crate) fn directory(&self) -> &Path {
        &self.directory
    }
}

/// Loads an artifact produced by [`precompile`] for `engine`.
pub(crate) fn load_artifact(engine: &Engine, artifact: &[u8]) -> Result<Component, PluginError> {
    // SAFETY: wasmtime runs deserialized code as is. Every artifact loaded here was produced
    // by `precompile` with an engine of the same settings: by this process, by the compile
    // worker this process started (the same program), or read back from the artifact
    // directory after its checksum matched what was written. wasmtime itself refuses an
    // artifact of another version or other settings.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, artifact) };
    component.map_err(|e| PluginError::Invalid(format!("the compiled plugin cannot be loaded: {}", one_line(&e))))
}

pub(crate) fn is_core_module(bytes: &[u8]) -> bool {
    // Core modules have version 1, layer 0; components have layer 1.
    bytes.len() >= 8 && &bytes[..4] == b"\0asm" && bytes[4..8] == [1, 0, 0, 0]
}

// wasmtime's errors can span lines (debug-printed byte arrays); a report wants one line.
pub(crate) fn one_line(error: &wasmtime::Error) -> String {
    format!("{error:#}").split_whitespace().collect::<Vec<_>>().join(" ")
}
