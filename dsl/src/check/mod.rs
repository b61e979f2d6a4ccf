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
use crate::diagnostic::{Code, Diagnostic, Level};

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
    if let Some((span, errors)) = checker.unreported {
        // Not counted: a finding not shown cannot stop the cascade it starts, so a count
        // would include findings that are not mistakes of their own.
        let (level, what) = if errors { (Level::Error, "errors") } else { (Level::Warning, "warnings") };
        let message = format!("more {what} not shown: a report stops at {MAX_DIAGNOSTICS} findings");
        let mut last = Diagnostic::error(Code::TooManyFindings, span, message, "the first finding not shown")
            .with_help("fix the findings above and check again");
        last.level = level;
        checker.diagnostics.push(last);
    }
    let has_errors = checker.diagnostics.iter().any(|d| d.level == Level::Error);
    (if has_errors { None } else { policy }, checker.diagnostics)
}

/// Most findings a check reports; one last finding says there are more. A file of
/// thousands of mistakes costs no more to check than one of a hundred, and the report stays
/// readable.
pub const MAX_DIAGNOSTICS: usize = 100;

// Most uses of erroneous lets remembered to stop cascades (see `Checker::poisoned_use`).
const MAX_POISONED_USES: usize = 1_000;

#[derive(Default)]
struct Checker {
    diagnostics: Vec<Diagnostic>,
    // Past `MAX_DIAGNOSTICS`: where the first finding not shown is, and whether an error was
    // among those not shown.
    unreported: Option<(Span, bool)>,
    // Uses of lets whose definitions have errors (see `poisoned_use`), and which lets those are.
    poisoned_uses: Vec<Span>,
    poisoned_lets: std::collections::HashSet<usize>,
    // Steps of "did you mean" search spent so far (`names::SUGGESTION_STEPS` at most).
    suggestion_steps_spent: std::cell::Cell<u64>,
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
        if self.diagnostics.len() < MAX_DIAGNOSTICS {
            self.diagnostics.push(diagnostic);
            return;
        }
        let unreported = self.unreported.get_or_insert((diagnostic.span, false));
        unreported.1 |= diagnostic.level == Level::Error;
    }

    // The closest of `candidates` to `name`, within what is left of the check's search budget.
    pub(super) fn did_you_mean<'a>(
        &self,
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Option<&'a str> {
        let mut left = names::SUGGESTION_STEPS.saturating_sub(self.suggestion_steps_spent.get());
        let before = left;
        let near = names::did_you_mean(name, candidates, &mut left);
        self.suggestion_steps_spent.set(self.suggestion_steps_spent.get() + (before - left));
        near
    }

    // Whether the report is full: a finding now is only counted, so the work of explaining it
    // ("did you mean") can be skipped.
    pub(super) fn report_full(&self) -> bool {
        self.diagnostics.len() >= MAX_DIAGNOSTICS
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

    // Whether an error was already reported inside `span`, or `span` holds a use of a `let`
    // whose definition has one (avoids cascades).
    pub(super) fn reported_at(&self, span: Span) -> bool {
        let inside = |d: &Span| d.start >= span.start && d.end <= span.end;
        self.diagnostics.iter().any(|d| d.level == Level::Error && inside(&d.span))
            || self.poisoned_uses.iter().any(inside)
    }

    // A use of a `let` whose definition has an error: whatever it takes part in is not
    // reported again. Kept up to a bound, past which the report is long since full.
    pub(super) fn poisoned_use(&mut self, span: Span) {
        if self.poisoned_uses.len() < MAX_POISONED_USES {
            self.poisoned_uses.push(span);
        }
    }

    pub(super) fn invalid(&self) -> Checked {
        // Stands in for an expression with an error already reported; typed as bool so it
        // does not cascade into more reports.
        constant(Typed::Bool(false), Type::Bool)
    }
}
