//! Expressions: literals, records and their fields, methods, built-in functions, table and
//! band lookups, operators, `if` and aggregates, each typed against the schema.

use crate::ast::{Aggregate, BinaryOp, Expr, ExprKind, Ident, Literal, Span, UnaryOp};
use crate::diagnostic::{Code, Diagnostic};

use super::Checker;
use super::checked::{Checked, Needs, Typed, constant, literal_value};
use super::schema::{Function, LineRef, field as schema_field, field_names};
use super::types::{Type, article, literal_type};

impl Checker {
    pub(super) fn expr(&mut self, expr: &Expr) -> Checked {
        match &expr.kind {
            ExprKind::Literal(literal) => constant(literal_value(literal), literal_type(literal)),
            ExprKind::List(items) => {
                let mut strings = Vec::new();
                for item in items {
                    match item {
                        Literal::String(s) => strings.push(s.clone()),
                        other => {
                            self.error(Diagnostic::error(
                                Code::Type,
                                expr.span,
                                format!("lists hold strings, found {}", article(literal_type(other))),
                                "in this list",
                            ));
                            return self.invalid();
                        }
                    }
                }
                constant(Typed::StringList(strings), Type::StringList)
            }
            ExprKind::Variable(name) => self.variable(name, expr.span),
            ExprKind::Field(base, field) => self.field(base, field),
            ExprKind::Method(base, method, args) => self.method(base, method, args, expr.span),
            ExprKind::Call(function, args) => self.call(function, args, expr.span),
            ExprKind::Index(base, key) => self.index(base, key, expr.span),
            ExprKind::Unary(op, operand) => {
                let checked = self.expr(operand);
                if self.reported_at(operand.span) {
                    return self.invalid();
                }
                let ok = match op {
                    UnaryOp::Not => checked.ty == Type::Bool,
                    UnaryOp::Neg => matches!(checked.ty, Type::Number | Type::Money | Type::Duration),
                };
                if !ok {
                    let (symbol, wants) = match op {
                        UnaryOp::Not => ("not", "a bool"),
                        UnaryOp::Neg => ("-", "a number, money or a duration"),
                    };
                    self.error(Diagnostic::error(
                        Code::Type,
                        expr.span,
                        format!("`{symbol}` needs {wants}, found {}", article(checked.ty)),
                        format!("this is {}", article(checked.ty)),
                    ));
                    return self.invalid();
                }
                Checked { expr: Typed::Unary(*op, Box::new(checked.expr)), ..checked }
            }
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right, expr.span),
            ExprKind::If(condition, then, otherwise) => {
                let condition = self.expect(condition, Type::Bool, "an `if` condition");
                let then_checked = self.expr(then);
                let else_checked = self.expr(otherwise);
                if then_checked.ty != else_checked.ty {
                    self.error(
                        Diagnostic::error(
                            Code::Type,
                            otherwise.span,
                            format!(
                                "`if` branches have different types: {} and {}",
                                then_checked.ty.name(),
                                else_checked.ty.name()
                            ),
                            format!("this is {}", article(else_checked.ty)),
                        )
                        .with_help("both branches must give the same type"),
                    );
                    return self.invalid();
                }
                let needs = condition.needs.or(then_checked.needs).or(else_checked.needs);
                Checked {
                    expr: Typed::If(Box::new(condition.expr), Box::new(then_checked.expr), Box::new(else_checked.expr)),
                    ty: then_checked.ty,
                    needs,
                }
            }
            ExprKind::Aggregate(function, variable, body) => {
                if self.bound.is_some() {
                    self.error(
                        Diagnostic::error(
                            Code::NestedAggregate,
                            expr.span,
                            "aggregates cannot nest",
                            "inside another aggregate",
                        )
                        .with_help("compute the inner aggregate in a `let`"),
                    );
                    return self.invalid();
                }
                if self.name_taken(&variable.name) {
                    self.error(Diagnostic::error(
                        Code::Shadowing,
                        variable.span,
                        format!("`{}` is already a name", variable.name),
                        "pick another name",
                    ));
                    return self.invalid();
                }
                self.bound = Some(variable.name.clone());
                let body_checked = self.expr(body);
                self.bound = None;
                if self.reported_at(body.span) {
                    return self.invalid();
                }
                let (wants, ty) = match function {
                    Aggregate::Sum => (None, body_checked.ty),
                    Aggregate::Any | Aggregate::All => (Some(Type::Bool), Type::Bool),
                    Aggregate::Count => (Some(Type::Bool), Type::Number),
                };
                match wants {
                    Some(wanted) if body_checked.ty != wanted => {
                        self.error(Diagnostic::error(
                            Code::Type,
                            body.span,
                            format!("the body must be a bool, found {}", body_checked.ty.name()),
                            "this is not a condition",
                        ));
                        return self.invalid();
                    }
                    None if !matches!(body_checked.ty, Type::Number | Type::Money | Type::Duration) => {
                        self.error(Diagnostic::error(
                            Code::Type,
                            body.span,
                            format!("`sum` adds numbers, money or durations, found {}", body_checked.ty.name()),
                            "cannot be added",
                        ));
                        return self.invalid();
                    }
                    _ => {}
                }
                // The aggregate ranges over the order's lines: it needs no current line
                // unless its body uses one.
                Checked {
                    expr: Typed::Aggregate(*function, Box::new(body_checked.expr)),
                    ty,
                    needs: body_checked.needs,
                }
            }
        }
    }

    pub(super) fn field(&mut self, base: &Expr, field: &Ident) -> Checked {
        let Some((record, line)) = self.record(base) else {
            if let ExprKind::Variable(name) = &base.kind
                && (name == "line" || name == "item")
                && self.bound.is_some()
            {
                self.error(
                    Diagnostic::error(
                        Code::Context,
                        base.span,
                        format!("inside an aggregate, `{name}` is not available"),
                        "use the aggregate's variable",
                    )
                    .with_help(format!(
                        "write `{}.{}`",
                        self.bound.clone().unwrap_or_default(),
                        if name == "item" { format!("item.{}", field.name) } else { field.name.clone() }
                    )),
                );
                return self.invalid();
            }
            let base_checked = self.expr(base);
            if !self.reported_at(base.span) {
                self.error(Diagnostic::error(
                    Code::Type,
                    field.span,
                    format!("{} has no fields", article(base_checked.ty)),
                    format!("`.{}` on {}", field.name, article(base_checked.ty)),
                ));
            }
            return self.invalid();
        };
        let found = schema_field(record, line, &field.name);
        match found {
            Some((expr, ty, needs)) => Checked { expr, ty, needs },
            None => {
                let fields = field_names(record);
                let mut diagnostic = Diagnostic::error(
                    Code::UnknownField,
                    field.span,
                    format!("{} has no field `{}`", record.name(), field.name),
                    "unknown field",
                );
                diagnostic = match self.did_you_mean(&field.name, fields.iter().copied()) {
                    Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
                    None => diagnostic.with_help(format!("{} fields: {}", record.name(), fields.join(", "))),
                };
                if field.name == "item" && record == Type::Line {
                    diagnostic = Diagnostic::error(
                        Code::RecordValue,
                        field.span,
                        "`item` is a record, not a value",
                        "use one of its fields",
                    );
                }
                self.error(diagnostic);
                self.invalid()
            }
        }
    }

    pub(super) fn method(&mut self, base: &Expr, method: &Ident, args: &[Expr], span: Span) -> Checked {
        let record = self.record(base);
        match (record, method.name.as_str()) {
            (Some((Type::Item, line)), "has_tag") => {
                let Some(tag) = self.single_argument(method, args, span, Type::String, "a tag") else {
                    return self.invalid();
                };
                let needs = tag.needs.or(Needs { line: line == LineRef::Current, location: false });
                Checked { expr: Typed::HasTag(line, Box::new(tag.expr)), ty: Type::Bool, needs }
            }
            (Some((Type::Location, _)), "can" | "closed_at") => {
                let can = method.name == "can";
                let (wanted, what) =
                    if can { (Type::String, "a capability") } else { (Type::Time, "`closed_at`'s argument") };
                let Some(argument) = self.single_argument(method, args, span, wanted, what) else {
                    return self.invalid();
                };
                let needs = argument.needs.or(Needs { line: false, location: true });
                let expr =
                    if can { Typed::Can(Box::new(argument.expr)) } else { Typed::ClosedAt(Box::new(argument.expr)) };
                Checked { expr, ty: Type::Bool, needs }
            }
            (Some((record, _)), name) => {
                let methods: &[&str] = match record {
                    Type::Item => &["has_tag"],
                    Type::Location => &["can", "closed_at"],
                    _ => &[],
                };
                let mut diagnostic = Diagnostic::error(
                    Code::UnknownMethod,
                    method.span,
                    format!("{} has no method `{name}`", record.name()),
                    "unknown method",
                );
                diagnostic = match self.did_you_mean(name, methods.iter().copied()) {
                    Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
                    None if methods.is_empty() => {
                        diagnostic.with_help(format!("{} has fields, not methods", record.name()))
                    }
                    None => diagnostic.with_help(format!("{} methods: {}", record.name(), methods.join(", "))),
                };
                self.error(diagnostic);
                self.invalid()
            }
            (None, "contains") => {
                let list = self.expr(base);
                if list.ty != Type::StringList {
                    if !self.reported_at(base.span) {
                        self.error(Diagnostic::error(
                            Code::Type,
                            base.span,
                            format!("`contains` needs a list, found {}", article(list.ty)),
                            format!("this is {}", article(list.ty)),
                        ));
                    }
                    return self.invalid();
                }
                let Some(item) = self.single_argument(method, args, span, Type::String, "`contains`'s argument") else {
                    return self.invalid();
                };
                Checked {
                    expr: Typed::Contains(Box::new(list.expr), Box::new(item.expr)),
                    ty: Type::Bool,
                    needs: list.needs.or(item.needs),
                }
            }
            (None, name) => {
                let base_checked = self.expr(base);
                if !self.reported_at(base.span) {
                    let mut diagnostic = Diagnostic::error(
                        Code::UnknownMethod,
                        method.span,
                        format!("{} has no method `{name}`", article(base_checked.ty)),
                        "unknown method",
                    );
                    if base_checked.ty == Type::StringList {
                        diagnostic = diagnostic.with_help("lists have the method `contains`");
                    }
                    self.error(diagnostic);
                }
                self.invalid()
            }
        }
    }

    // The one argument of a method that takes one, checked against `wanted`.
    pub(super) fn single_argument(
        &mut self,
        method: &Ident,
        args: &[Expr],
        span: Span,
        wanted: Type,
        what: &str,
    ) -> Option<Checked> {
        if let [argument] = args {
            return Some(self.expect(argument, wanted, what));
        }
        self.error(Diagnostic::error(
            Code::Arity,
            span,
            format!("`{}` takes 1 argument, found {}", method.name, args.len()),
            "here",
        ));
        None
    }

    pub(super) fn call(&mut self, function: &Ident, args: &[Expr], span: Span) -> Checked {
        let known = ["min", "max", "floor", "ceil", "hours", "days", "time"];
        if function.name == "time" {
            return self.time_literal(function, args, span);
        }
        let which = match function.name.as_str() {
            "min" => Function::Min,
            "max" => Function::Max,
            "floor" => Function::Floor,
            "ceil" => Function::Ceil,
            "hours" => Function::Hours,
            "days" => Function::Days,
            name => {
                let mut diagnostic = Diagnostic::error(
                    Code::UnknownFunction,
                    function.span,
                    format!("unknown function `{name}`"),
                    "not a function",
                );
                if self.band_map.contains_key(name) || self.tables.contains_key(name) {
                    diagnostic = diagnostic.with_help(format!("`{name}` is a table: look up with `{name}[key]`"));
                } else if let Some(near) = self.did_you_mean(name, known) {
                    diagnostic = diagnostic.with_help(format!("did you mean `{near}`?"));
                } else {
                    diagnostic =
                        diagnostic.with_help(format!("functions are {}", known.map(|k| format!("`{k}`")).join(", ")));
                }
                self.error(diagnostic);
                return self.invalid();
            }
        };
        let wanted = if matches!(which, Function::Min | Function::Max) { 2 } else { 1 };
        if args.len() != wanted {
            self.error(Diagnostic::error(
                Code::Arity,
                span,
                format!(
                    "`{}` takes {wanted} argument{}, found {}",
                    function.name,
                    if wanted == 1 { "" } else { "s" },
                    args.len()
                ),
                "here",
            ));
            return self.invalid();
        }
        let checked: Vec<Checked> = args.iter().map(|a| self.expr(a)).collect();
        if args.iter().any(|a| self.reported_at(a.span)) {
            return self.invalid();
        }
        let needs = checked.iter().fold(Needs::default(), |n, c| n.or(c.needs));
        let ty = match which {
            Function::Min | Function::Max => {
                if checked[0].ty != checked[1].ty || !checked[0].ty.is_numeric() {
                    self.error(Diagnostic::error(
                        Code::Type,
                        span,
                        format!(
                            "`{}` needs two values of one number-like type, found {} and {}",
                            function.name,
                            checked[0].ty.name(),
                            checked[1].ty.name()
                        ),
                        "here",
                    ));
                    return self.invalid();
                }
                checked[0].ty
            }
            Function::Floor | Function::Ceil => {
                if !matches!(checked[0].ty, Type::Number | Type::Money) {
                    self.error(Diagnostic::error(
                        Code::Type,
                        args[0].span,
                        format!("`{}` needs a number or money, found {}", function.name, checked[0].ty.name()),
                        "here",
                    ));
                    return self.invalid();
                }
                checked[0].ty
            }
            Function::Hours | Function::Days => {
                if checked[0].ty != Type::Duration {
                    self.error(
                        Diagnostic::error(
                            Code::Type,
                            args[0].span,
                            format!("`{}` needs a duration, found {}", function.name, checked[0].ty.name()),
                            "here",
                        )
                        .with_help("durations are written `14d`, `36h`, `30m`, or come from subtracting two times"),
                    );
                    return self.invalid();
                }
                Type::Number
            }
        };
        Checked { expr: Typed::Call(which, checked.into_iter().map(|c| c.expr).collect()), ty, needs }
    }

    // `time("2026-12-24T00:00:00Z")`: a constant instant, read when the policy is checked.
    pub(super) fn time_literal(&mut self, function: &Ident, args: &[Expr], span: Span) -> Checked {
        let text = match args {
            [Expr { kind: ExprKind::Literal(Literal::String(text)), .. }] => text,
            _ => {
                self.error(
                    Diagnostic::error(Code::Arity, span, "`time` takes one string literal", "here")
                        .with_help(format!("write `{}(\"2026-12-24T00:00:00Z\")`", function.name)),
                );
                return self.invalid();
            }
        };
        match switchyard_engine::Timestamp::parse_rfc3339(text) {
            Ok(at) => constant(Typed::Number(at.0 as f64), Type::Time),
            Err(error) => {
                self.error(
                    Diagnostic::error(Code::Time, args[0].span, error.to_string(), "not a time").with_help(
                        "write an RFC 3339 time, e.g. `2026-12-24T00:00:00Z` or `2026-12-24T00:00:00-05:00`",
                    ),
                );
                self.invalid()
            }
        }
    }

    pub(super) fn index(&mut self, base: &Expr, key: &Expr, span: Span) -> Checked {
        let ExprKind::Variable(name) = &base.kind else {
            self.error(Diagnostic::error(Code::Type, base.span, "only tables and bands can be indexed", "not a table"));
            return self.invalid();
        };
        let key_checked = self.expr(key);
        if let Some(&index) = self.tables.get(name) {
            let table = &self.table_list[index];
            let (key_type, value_type) = (table.key_type, table.value_type);
            if key_checked.ty != key_type
                && !(key_type == Type::Number && key_checked.ty.is_numeric() && key_checked.ty == Type::Number)
            {
                self.error(Diagnostic::error(
                    Code::Type,
                    key.span,
                    format!("table `{name}` has {} keys, found {}", key_type.name(), article(key_checked.ty)),
                    format!("this is {}", article(key_checked.ty)),
                ));
                return self.invalid();
            }
            let expr = if key_type == Type::String {
                Typed::TableString(index, Box::new(key_checked.expr))
            } else {
                Typed::TableNumber(index, Box::new(key_checked.expr))
            };
            return Checked { expr, ty: value_type, needs: key_checked.needs };
        }
        if let Some(&index) = self.band_map.get(name) {
            if !key_checked.ty.is_numeric() {
                self.error(Diagnostic::error(
                    Code::Type,
                    key.span,
                    format!("bands `{name}` look up a number, found {}", article(key_checked.ty)),
                    format!("this is {}", article(key_checked.ty)),
                ));
                return self.invalid();
            }
            let value_type = self.band_list[index].value_type;
            return Checked {
                expr: Typed::Bands(index, Box::new(key_checked.expr)),
                ty: value_type,
                needs: key_checked.needs,
            };
        }
        let known: Vec<&str> = if self.report_full() {
            Vec::new()
        } else {
            self.tables.keys().chain(self.band_map.keys()).map(String::as_str).collect()
        };
        let mut diagnostic =
            Diagnostic::error(Code::UnknownName, base.span, format!("unknown table `{name}`"), "not a table");
        diagnostic = match self.did_you_mean(name, known) {
            Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
            None => diagnostic.with_help("declare it with `table NAME { key: value, ... }` or `bands NAME { up to N: value, ..., beyond: value }`"),
        };
        let _ = span;
        self.error(diagnostic);
        self.invalid()
    }

    pub(super) fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr, span: Span) -> Checked {
        let l = self.expr(left);
        let r = self.expr(right);
        if self.reported_at(left.span) || self.reported_at(right.span) {
            return self.invalid();
        }
        use Type::*;
        let result = match op {
            BinaryOp::And | BinaryOp::Or => (l.ty == Bool && r.ty == Bool).then_some(Bool),
            BinaryOp::Eq | BinaryOp::Ne => {
                (l.ty == r.ty && matches!(l.ty, Number | Money | Bool | String | Time | Duration)).then_some(Bool)
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                (l.ty == r.ty && l.ty.is_numeric()).then_some(Bool)
            }
            BinaryOp::Add => match (l.ty, r.ty) {
                (Number, Number) => Some(Number),
                (Money, Money) => Some(Money),
                (Duration, Duration) => Some(Duration),
                (Time, Duration) | (Duration, Time) => Some(Time),
                _ => None,
            },
            BinaryOp::Sub => match (l.ty, r.ty) {
                (Number, Number) => Some(Number),
                (Money, Money) => Some(Money),
                (Duration, Duration) => Some(Duration),
                (Time, Duration) => Some(Time),
                (Time, Time) => Some(Duration),
                _ => None,
            },
            BinaryOp::Mul => match (l.ty, r.ty) {
                (Number, Number) => Some(Number),
                (Money, Number) | (Number, Money) => Some(Money),
                (Duration, Number) | (Number, Duration) => Some(Duration),
                _ => None,
            },
            BinaryOp::Div => match (l.ty, r.ty) {
                (Number, Number) | (Money, Money) | (Duration, Duration) => Some(Number),
                (Money, Number) => Some(Money),
                (Duration, Number) => Some(Duration),
                _ => None,
            },
        };
        let Some(ty) = result else {
            let mut diagnostic = Diagnostic::error(
                Code::Type,
                span,
                format!("cannot apply `{}` to {} and {}", op.symbol(), article(l.ty), article(r.ty)),
                "type mismatch",
            );
            if matches!((l.ty, r.ty), (Money, Number) | (Number, Money))
                && matches!(
                    op,
                    BinaryOp::Add
                        | BinaryOp::Sub
                        | BinaryOp::Lt
                        | BinaryOp::Le
                        | BinaryOp::Gt
                        | BinaryOp::Ge
                        | BinaryOp::Eq
                        | BinaryOp::Ne
                )
            {
                diagnostic = diagnostic.with_help("write amounts of money with a `$`, e.g. `$4.50`");
            } else if matches!(op, BinaryOp::And | BinaryOp::Or) {
                diagnostic = diagnostic.with_help("`and` and `or` join conditions (bools)");
            } else if l.ty == Money && r.ty == Money && op == BinaryOp::Mul {
                diagnostic = diagnostic.with_help("money times money has no meaning; multiply by a number");
            }
            self.error(diagnostic);
            return self.invalid();
        };
        Checked { expr: Typed::Binary(op, l.ty, Box::new(l.expr), Box::new(r.expr)), ty, needs: l.needs.or(r.needs) }
    }
}
