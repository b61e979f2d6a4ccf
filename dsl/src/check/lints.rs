//! Checks beyond types: where an expression may be used (a shipment cost cannot look at a
//! line, a per-line setting at a location) and rules whose condition is constant.

use crate::ast::Span;
use crate::diagnostic::{Code, Diagnostic};

use super::Checker;
use super::checked::{Checked, Typed};
use super::fold::fold;

impl Checker {
    pub(super) fn rule_reachability(&mut self, name: &str, span: Span, condition: &Checked, is_exclude: bool) {
        let excludes = match fold(&condition.expr, &self.let_constants) {
            Some(Typed::Bool(value)) => Some(if is_exclude { value } else { !value }),
            _ => None,
        };
        match excludes {
            Some(false) => self.error(
                Diagnostic::warning(
                    Code::NeverFires,
                    span,
                    format!("rule \"{name}\" can never fire"),
                    "its condition is constant",
                )
                .with_help("remove the rule or fix its condition"),
            ),
            Some(true) => self.error(
                Diagnostic::warning(
                    Code::AlwaysFires,
                    span,
                    format!("rule \"{name}\" excludes every candidate"),
                    "its condition is constant",
                )
                .with_help("every order will be unfilled or rejected; fix the condition"),
            ),
            None => {}
        }
    }

    pub(super) fn no_line(&mut self, checked: &Checked, span: Span, what: &str) {
        if checked.needs.line {
            self.error(
                Diagnostic::error(
                    Code::Context,
                    span,
                    format!("{what} cannot depend on a line"),
                    "uses `line` or `item`",
                )
                .with_help("a shipment carries several lines; use an aggregate like `sum(l in order.lines: l.qty)`"),
            );
        }
    }

    // A setting decided per line, before locations are chosen: it may not look at one.
    pub(super) fn per_line(&mut self, checked: &Checked, span: Span, what: &str, why: &str) {
        if checked.needs.location {
            self.error(
                Diagnostic::error(
                    Code::Context,
                    span,
                    format!("{what} cannot depend on the location"),
                    "uses `location`",
                )
                .with_help(why),
            );
        }
    }

    pub(super) fn order_only(&mut self, checked: &Checked, span: Span, what: &str) {
        self.no_line(checked, span, what);
        if checked.needs.location {
            self.error(
                Diagnostic::error(
                    Code::Context,
                    span,
                    format!("{what} cannot depend on the location"),
                    "uses `location`",
                )
                .with_help("it is decided once per order, before locations are chosen"),
            );
        }
    }
}
