//! switchyard: a distributed order management engine.
//!
//! This facade wires the crates together: the engine (domain, inventory, optimizer), and —
//! as their issues land — the policy language, Wasm plugins and the HTTP host. It also reads
//! benchmark scenarios, replays them, and writes plan files; the `switchyard` binary is a
//! thin layer over [`cli`].

pub mod cli;
pub mod plan_file;
pub mod policy_test;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod serve;
pub mod simulate;

pub use switchyard_engine as engine;
