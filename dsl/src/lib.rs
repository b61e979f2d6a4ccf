//! switchyard-dsl: the policy language. `grammar.pest` -> [`parse`] (spans on every node) ->
//! [`check`] (types against the order/line/item/location schema) -> [`compile`] (closures with
//! fields resolved at compile time) -> a [`switchyard_engine::Policy`].
//!
//! It is the only crate that depends on pest.

pub mod ast;
pub mod check;
pub mod compile;
pub mod diagnostic;
pub mod parse;

use std::collections::HashMap;

pub use compile::DslPolicy;
pub use diagnostic::{Code, Diagnostic, Diagnostics, Level};
pub use parse::MAX_SOURCE_BYTES;

/// Parses, checks and compiles a policy file. `Ok` carries the policy and its warnings;
/// `Err` carries every error (and warning) of the file.
pub fn load(
    file: &str,
    source: &str,
    overrides: &check::ParamOverrides,
) -> Result<(DslPolicy, Diagnostics), Diagnostics> {
    let mut diagnostics = Diagnostics { file: file.to_owned(), source: source.to_owned(), items: Vec::new() };
    let ast = match parse::parse(source) {
        Ok(ast) => ast,
        Err(errors) => {
            diagnostics.items = errors;
            return Err(diagnostics);
        }
    };
    let (checked, findings) = check::check(&ast, overrides);
    diagnostics.items = findings;
    match checked {
        Some(checked) if !diagnostics.has_errors() => Ok((compile::compile(&checked), diagnostics)),
        _ => Err(diagnostics),
    }
}

/// No parameter overrides.
pub fn no_overrides() -> check::ParamOverrides {
    HashMap::new()
}
