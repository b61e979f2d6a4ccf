//! Names: definitions of params and lets (and the names tables and aggregates take), and
//! resolution of a variable to its definition, with "did you mean" for typos.

use crate::ast::{Expr, ExprKind, Ident, Span};
use crate::diagnostic::{Code, Diagnostic};

use super::Checker;
use super::checked::{Checked, Needs, Typed};
use super::fold::fold;
use super::schema::{GLOBALS, LineRef};
use super::types::Type;

/// Names longer than this get no "did you mean": a typo of a long name is rare, and the
/// search is quadratic in the length.
const MAX_SUGGESTED_NAME: usize = 64;

/// Edit distance of `a` and `b`, or `None` once it is sure to pass `limit`: each row of the
/// table is abandoned as soon as its smallest entry does.
fn distance(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        let mut smallest = row[0];
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb)).min(row[j] + 1).min(row[j + 1] + 1);
            smallest = smallest.min(row[j + 1]);
            previous = current;
        }
        if smallest > limit {
            return None;
        }
    }
    Some(row[b.len()]).filter(|d| *d <= limit)
}

/// Steps of edit-distance search one check may spend on "did you mean" (a step is one cell
/// of one comparison's table): a file of thousands of typos among thousands of names costs
/// tens of milliseconds, after which findings come without a suggestion.
pub const SUGGESTION_STEPS: u64 = 50_000_000;

/// The closest of `candidates` to `name`, if close enough to be a likely typo, spending at
/// most `steps` (and taking what it spends off them).
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>, steps: &mut u64) -> Option<&'a str> {
    let wanted: Vec<char> = name.chars().collect();
    if wanted.len() > MAX_SUGGESTED_NAME {
        return None;
    }
    let mut best: Option<(usize, &'a str)> = None;
    let mut other = Vec::with_capacity(MAX_SUGGESTED_NAME);
    for candidate in candidates {
        other.clear();
        other.extend(candidate.chars().take(MAX_SUGGESTED_NAME + 1));
        if other.len() > MAX_SUGGESTED_NAME {
            continue;
        }
        let limit = (wanted.len().max(other.len()) / 3).max(1);
        if wanted.len().abs_diff(other.len()) > limit {
            continue;
        }
        let cost = (wanted.len() * other.len()).max(1) as u64;
        let Some(left) = steps.checked_sub(cost) else { break };
        *steps = left;
        if let Some(d) = distance(&wanted, &other, limit) {
            // The nearest wins; among equals, the first in alphabetical order (stable output
            // whatever order a map yields its names in).
            if best.is_none_or(|(best_d, best_name)| (d, candidate) < (best_d, best_name)) {
                best = Some((d, candidate));
            }
        }
    }
    best.map(|(_, candidate)| candidate)
}

impl Checker {
    pub(super) fn define(&mut self, name: &Ident, checked: Checked, is_param: bool) {
        if GLOBALS.contains(&name.name.as_str()) {
            self.error(
                Diagnostic::error(
                    Code::Shadowing,
                    name.span,
                    format!("`{}` is a built-in name", name.name),
                    "already defined",
                )
                .with_help("pick another name"),
            );
            return;
        }
        let previous = self
            .params
            .get(&name.name)
            .map(|(_, span)| *span)
            .or_else(|| self.lets.get(&name.name).map(|(_, span)| *span));
        if let Some(previous) = previous {
            self.error(
                Diagnostic::error(
                    Code::Duplicate,
                    name.span,
                    format!("`{}` is defined twice", name.name),
                    "second definition",
                )
                .with_related(previous, "first definition")
                .with_help("rename one of them"),
            );
            return;
        }
        if self.tables.contains_key(&name.name) || self.band_map.contains_key(&name.name) {
            self.error(
                Diagnostic::error(
                    Code::Duplicate,
                    name.span,
                    format!("`{}` is already a table", name.name),
                    "second definition",
                )
                .with_help("rename one of them"),
            );
            return;
        }
        if is_param {
            self.params.insert(name.name.clone(), (checked, name.span));
        } else {
            // A let is evaluated once per context where it is used: uses refer to its slot
            // rather than copying its expression (copies would grow with every let that uses
            // the one before, exponentially).
            let mut constant = fold(&checked.expr, &self.let_constants);
            if let Some(Typed::Number(value)) = constant
                && !value.is_finite()
            {
                // Reported here once, not again for every let computed from it.
                constant = None;
                self.error(
                    Diagnostic::error(
                        Code::OutOfRange,
                        name.span,
                        format!("`{}` is {value}, not a finite number", name.name),
                        "overflows",
                    )
                    .with_help("a value this large cannot be a cost, a count or a time"),
                );
            }
            self.lets.insert(name.name.clone(), (self.let_list.len(), name.span));
            self.let_list.push(checked);
            self.let_constants.push(constant);
        }
    }

    pub(super) fn name_taken(&self, name: &str) -> bool {
        GLOBALS.contains(&name)
            || self.params.contains_key(name)
            || self.lets.contains_key(name)
            || self.tables.contains_key(name)
            || self.band_map.contains_key(name)
    }

    // Reports `name` if a param, let, table, bands or built-in already has it.
    pub(super) fn refuse_taken_name(&mut self, name: &Ident) -> bool {
        if !self.name_taken(&name.name) {
            return false;
        }
        self.error(
            Diagnostic::error(
                Code::Duplicate,
                name.span,
                format!("`{}` is defined twice", name.name),
                "second definition",
            )
            .with_help("rename one of them"),
        );
        true
    }

    pub(super) fn variable(&mut self, name: &str, span: Span) -> Checked {
        let needs = |line, location| Needs { line, location };
        match name {
            "now" => return Checked { expr: Typed::Now, ty: Type::Time, needs: Needs::default() },
            "distance_km" => return Checked { expr: Typed::DistanceKm, ty: Type::Number, needs: needs(false, true) },
            "atp" => return Checked { expr: Typed::Atp, ty: Type::Number, needs: needs(true, true) },
            "order" | "line" | "item" | "location" => {
                self.error(
                    Diagnostic::error(
                        Code::RecordValue,
                        span,
                        format!("`{name}` is a record, not a value"),
                        "use one of its fields",
                    )
                    .with_help(format!(
                        "for example `{}`",
                        match name {
                            "order" => "order.channel",
                            "line" => "line.qty",
                            "item" => "item.weight_kg",
                            _ => "location.kind",
                        }
                    )),
                );
                return self.invalid();
            }
            _ => {}
        }
        if self.bound.as_deref() == Some(name) {
            self.error(
                Diagnostic::error(
                    Code::RecordValue,
                    span,
                    format!("`{name}` is a line, not a value"),
                    "use one of its fields",
                )
                .with_help(format!("for example `{name}.qty`")),
            );
            return self.invalid();
        }
        let found = match (self.params.get(name), self.lets.get(name)) {
            (Some((checked, _)), _) => Some(checked.clone()),
            (None, Some(&(index, _))) if self.poisoned_lets.contains(&index) => {
                self.poisoned_use(span);
                self.let_list.get(index).cloned()
            }
            (None, Some((index, _))) => self.let_list.get(*index).map(|definition| Checked {
                expr: Typed::Let(*index),
                ty: definition.ty,
                needs: definition.needs,
            }),
            (None, None) => None,
        };
        if let Some(checked) = found {
            if self.bound.is_some() && checked.needs.line {
                self.error(
                    Diagnostic::error(
                        Code::Context,
                        span,
                        format!("`{name}` uses the current line, which an aggregate body cannot see"),
                        "inside an aggregate",
                    )
                    .with_help("use the aggregate's own line variable"),
                );
                return self.invalid();
            }
            return checked;
        }
        if self.tables.contains_key(name) || self.band_map.contains_key(name) {
            self.error(Diagnostic::error(
                Code::Type,
                span,
                format!("`{name}` is a table; look a value up with `{name}[key]`"),
                "a table",
            ));
            return self.invalid();
        }
        if self.report_full() {
            // Counted, not shown: no suggestion to search for.
            self.error(Diagnostic::error(Code::UnknownName, span, "unknown name", "not defined"));
            return self.invalid();
        }
        let mut known: Vec<&str> = GLOBALS.to_vec();
        known.extend(self.params.keys().map(String::as_str));
        known.extend(self.lets.keys().map(String::as_str));
        known.extend(self.tables.keys().map(String::as_str));
        known.extend(self.band_map.keys().map(String::as_str));
        if let Some(bound) = &self.bound {
            known.push(bound);
        }
        let mut diagnostic =
            Diagnostic::error(Code::UnknownName, span, format!("unknown name `{name}`"), "not defined");
        diagnostic = match self.did_you_mean(name, known) {
            Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
            None => diagnostic.with_help("names are params, lets, tables and the records `order`, `line`, `item`, `location`; define it with `let` first"),
        };
        self.error(diagnostic);
        self.invalid()
    }

    // Which record `expr` denotes, if it is one (`order`, `line`, `l`, `line.item`, ...).
    pub(super) fn record(&mut self, expr: &Expr) -> Option<(Type, LineRef)> {
        match &expr.kind {
            ExprKind::Variable(name) => match name.as_str() {
                "order" => Some((Type::Order, LineRef::Current)),
                "line" if self.bound.is_none() => Some((Type::Line, LineRef::Current)),
                "item" if self.bound.is_none() => Some((Type::Item, LineRef::Current)),
                "location" => Some((Type::Location, LineRef::Current)),
                _ if self.bound.as_deref() == Some(name.as_str()) => Some((Type::Line, LineRef::Bound)),
                _ => None,
            },
            ExprKind::Field(base, field) if field.name == "item" => match self.record(base) {
                Some((Type::Line, line)) => Some((Type::Item, line)),
                _ => None,
            },
            _ => None,
        }
    }
}
