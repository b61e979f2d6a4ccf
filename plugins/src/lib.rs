//! switchyard-plugins: sandboxed WebAssembly routing plugins (wasmtime host, WIT world,
//! limits, module cache) implementing `switchyard_engine::Policy`. It is the only crate that
//! will depend on wasmtime.
//!
//! Empty so far: plugins have their own issue. The crate exists so the workspace has its
//! final shape and the boundary (`plugins` depends on `engine`, never the reverse) is fixed.
