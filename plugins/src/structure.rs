//! What a module or component may contain before it is compiled. wasmtime's validator accepts
//! anything the WebAssembly specification allows, up to very large implementation limits;
//! compiling some of it (a function of a hundred thousand locals, blocks nested thousands
//! deep, tens of thousands of functions) costs seconds to minutes and gigabytes. These caps,
//! far above what a compiled Rust, C or JavaScript plugin needs (`docs/PLUGINS.md` gives the
//! numbers of the example plugins), are checked in one linear pass over the bytes first.

use wasmparser::{Operator, Parser, Payload};

use crate::error::PluginError;

/// Structural caps of a plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StructureLimits {
    /// Functions defined, over every module of a component.
    pub max_functions: usize,
    /// Bytes of one function's body.
    pub max_function_bytes: usize,
    /// Locals of one function.
    pub max_locals: u64,
    /// Blocks, loops and `if`s open at once in one function.
    pub max_nesting: usize,
    /// Linear memories, defined or imported, over every module.
    pub max_memories: usize,
    /// Tables, defined or imported, over every module.
    pub max_tables: usize,
    /// Core instances a component creates.
    pub max_core_instances: usize,
    /// Component instances a component creates.
    pub max_component_instances: usize,
}

impl Default for StructureLimits {
    fn default() -> StructureLimits {
        StructureLimits {
            max_functions: 20_000,
            max_function_bytes: 256 << 10,
            max_locals: 5_000,
            max_nesting: 1_000,
            max_memories: 2,
            max_tables: 8,
            max_core_instances: 8,
            max_component_instances: 32,
        }
    }
}

/// What a plugin contains, as counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Structure {
    /// Functions defined.
    pub functions: usize,
    /// The largest function body, bytes.
    pub largest_function_bytes: usize,
    /// The most locals of one function.
    pub most_locals: u64,
    /// The deepest nesting of one function.
    pub deepest_nesting: usize,
    /// Memories.
    pub memories: usize,
    /// Tables.
    pub tables: usize,
    /// Core instances.
    pub core_instances: usize,
    /// Component instances.
    pub component_instances: usize,
}

fn refuse(message: String) -> PluginError {
    PluginError::Invalid(message)
}

// Refuses `count` past `limit`: "`what`, more than the limit of `limit`".
fn within(count: u64, limit: u64, what: impl FnOnce() -> String) -> Result<(), PluginError> {
    if count > limit { Err(refuse(format!("{}, more than the limit of {limit}", what()))) } else { Ok(()) }
}

/// Counts what `bytes` contains, refusing at the first cap it passes (or at bytes that do not
/// parse).
pub fn check(bytes: &[u8], limits: &StructureLimits) -> Result<Structure, PluginError> {
    let mut seen = Structure::default();
    let malformed = |e: wasmparser::BinaryReaderError| refuse(format!("not a valid WebAssembly file: {}", e.message()));
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(malformed)? {
            Payload::ImportSection(imports) => {
                for import in imports.into_imports() {
                    match import.map_err(malformed)?.ty {
                        wasmparser::TypeRef::Memory(_) => seen.memories += 1,
                        wasmparser::TypeRef::Table(_) => seen.tables += 1,
                        _ => {}
                    }
                }
            }
            Payload::MemorySection(memories) => seen.memories += memories.count() as usize,
            Payload::TableSection(tables) => seen.tables += tables.count() as usize,
            Payload::InstanceSection(instances) => seen.core_instances += instances.count() as usize,
            Payload::ComponentInstanceSection(instances) => seen.component_instances += instances.count() as usize,
            Payload::CodeSectionStart { count, .. } => {
                seen.functions += count as usize;
                let functions = seen.functions as u64;
                within(functions, limits.max_functions as u64, || format!("it defines {functions} functions"))?;
            }
            Payload::CodeSectionEntry(body) => {
                let size = body.range().len();
                seen.largest_function_bytes = seen.largest_function_bytes.max(size);
                within(size as u64, limits.max_function_bytes as u64, || format!("a function of {size} bytes"))?;
                let mut locals = 0u64;
                for group in body.get_locals_reader().map_err(malformed)? {
                    let (count, _) = group.map_err(malformed)?;
                    locals = locals.saturating_add(u64::from(count));
                }
                seen.most_locals = seen.most_locals.max(locals);
                within(locals, limits.max_locals, || format!("a function with {locals} locals"))?;
                let mut depth = 0usize;
                let mut operators = body.get_operators_reader().map_err(malformed)?;
                while !operators.eof() {
                    match operators.read().map_err(malformed)? {
                        Operator::Block { .. }
                        | Operator::Loop { .. }
                        | Operator::If { .. }
                        | Operator::TryTable { .. }
                        | Operator::Try { .. } => {
                            depth += 1;
                            seen.deepest_nesting = seen.deepest_nesting.max(depth);
                            within(depth as u64, limits.max_nesting as u64, || {
                                format!("blocks nested {depth} deep in one function")
                            })?;
                        }
                        Operator::End => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let counts = [
        ("memories", seen.memories, limits.max_memories),
        ("tables", seen.tables, limits.max_tables),
        ("core instances", seen.core_instances, limits.max_core_instances),
        ("component instances", seen.component_instances, limits.max_component_instances),
    ];
    for (what, count, limit) in counts {
        within(count as u64, limit as u64, || format!("it has {count} {what}"))?;
    }
    Ok(seen)
}
