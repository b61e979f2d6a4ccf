//! What the benchmarks share.

use std::path::PathBuf;

use switchyard::scenario::Scenario;

/// A sample scenario by name, from `examples/scenarios/`, `../shared/scenarios/` or
/// `SWITCHYARD_SCENARIOS`; `None` if it is nowhere.
pub fn load(name: &str) -> Option<Scenario> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut places = vec![root.join("examples/scenarios"), root.join("../shared/scenarios")];
    if let Ok(dir) = std::env::var("SWITCHYARD_SCENARIOS") {
        places.insert(0, PathBuf::from(dir));
    }
    let path = places.into_iter().map(|dir| dir.join(format!("{name}.json"))).find(|path| path.exists())?;
    Scenario::from_json(&std::fs::read_to_string(path).ok()?).ok()
}
