//! Syntax tree to typed policy: every name, field and function resolved and typed against the
//! schema of order, line, item and location; every error of the file collected. By concern:
//!
//! - `schema.rs`: records, fields and built-in functions;
//! - `types.rs`: the type system;
//! - `checked.rs`: the checked form ([`CheckedPolicy`]), which `compile.rs` consumes;
//! - `declarations.rs`: the policy's items in source order (params, lets, tables, rules,
//!   costs, split settings, short stock, tie-breaks);
//! - `names.rs`: definitions and name resolution, "did you mean";
//! - `expr.rs`: expressions: fields, methods, calls, lookups, operators;
//! - `lints.rs`: where an expression may be used, and rules that cannot fire;
//! - `fold.rs`: constant folding.

use std::collections::HashMap;

use crate::ast::{Expr, PolicyAst, Span};
use crate::diagnostic::{Code, Diagnostic};

mod checked;
mod declarations;
mod expr;
mod fold;
mod lints;
mod names;
mod schema;
mod types;

pub use checked::{
    BandTable, Checked, CheckedPolicy, Needs, ParamOverrides, Rule, ShortStockPlan, Table, TableKey, Typed,
};
pub use fold::fold;
pub use names::did_you_mean;
pub use schema::{Function, ItemField, LineField, LineRef, LocationField, OrderField};
pub use types::Type;

use checked::constant;
use types::article;

/// Checks a parsed policy. Returns the typed policy (if there are no errors) and every
/// diagnostic (errors and warnings).
pub fn check(ast: &PolicyAst, overrides: &ParamOverrides) -> (Option<CheckedPolicy>, Vec<Diagnostic>) {
    let mut checker = Checker::default();
    let policy = checker.policy(ast, overrides);
    checker.diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    let has_errors = checker.diagnostics.iter().any(|d| d.level == crate::diagnostic::Level::Error);
    (if has_errors { None } else { policy }, checker.diagnostics)
}
#[derive(Default)]
struct Checker {
    diagnostics: Vec<Diagnostic>,
    // Names in scope: params (constants), lets (checked definitions), tables, bands.
    params: HashMap<String, (Checked, Span)>,
    // Each let by name: its index in `let_list` and where it is defined.
    lets: HashMap<String, (usize, Span)>,
    // Every let's definition, in source order, and its value when it is a constant.
    let_list: Vec<Checked>,
    let_constants: Vec<Option<Typed>>,
    tables: HashMap<String, usize>,
    table_list: Vec<Table>,
    band_map: HashMap<String, usize>,
    band_list: Vec<BandTable>,
    // The variable an enclosing aggregate binds.
    bound: Option<String>,
}

impl Checker {
    pub(super) fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub(super) fn expect(&mut self, expr: &Expr, expected: Type, what: &str) -> Checked {
        let checked = self.expr(expr);
        if checked.ty != expected && !self.reported_at(expr.span) {
            let mut diagnostic = Diagnostic::error(
                Code::Type,
                expr.span,
                format!("{what} must be {}, found {}", article(expected), checked.ty.name()),
                format!("this is {}", article(checked.ty)),
            );
            if expected == Type::Money && checked.ty == Type::Number {
                diagnostic = diagnostic
                    .with_help("write amounts of money with a `$`, e.g. `$4.50`, or multiply a number by one");
            }
            self.error(diagnostic);
        }
        checked
    }

    // Whether an error was already reported inside `span` (avoids cascades).
    pub(super) fn reported_at(&self, span: Span) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.level == crate::diagnostic::Level::Error && d.span.start >= span.start && d.span.end <= span.end)
    }

    pub(super) fn invalid(&self) -> Checked {
        // Stands in for an expression with an error already reported; typed as bool so it
        // does not cascade into more reports.
        constant(Typed::Bool(false), Type::Bool)
    }
}
