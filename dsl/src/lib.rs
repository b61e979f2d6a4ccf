//! switchyard-dsl: the policy language (pest grammar, parser, checker, compiler to
//! `switchyard_engine::Policy`). It is the only crate that will depend on pest.
//!
//! Empty so far: the language is the next issue. The crate exists so the workspace has its
//! final shape and the boundary (`dsl` depends on `engine`, never the reverse) is fixed.
