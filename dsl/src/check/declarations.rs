//! The policy's items, in source order: params (folded to constants, with overrides), lets,
//! tables and bands, exclusion and requirement rules, costs, split settings, short stock,
//! tie-breaks and look-ahead; each setting given at most once, and the required ones present.

use std::collections::HashMap;

use switchyard_engine::LateDelivery;
use switchyard_engine::lookahead::LookAheadSettings;

use crate::ast::{Ident, Item, Literal, PolicyAst, Setting, ShortAction, Span, UnaryOp};
use crate::diagnostic::{Code, Diagnostic};

use super::Checker;
use super::checked::{
    BandTable, Checked, CheckedPolicy, Needs, ParamOverrides, Rule, ShortStockPlan, Table, TableKey, Typed, constant,
    literal_value,
};
use super::fold::fold;
use super::schema::{LOOK_AHEAD_SETTINGS, SETTINGS, TIE_BREAK_KEYS};
use super::types::{Type, article, literal_type};

// A number as a message shows it: short, whatever its size.
fn show(value: f64) -> String {
    if value.is_finite() && value.abs() >= 1e15 { format!("{value:e}") } else { value.to_string() }
}

/// The largest look-ahead weight (10 times the opportunity cost is already far past useful).
pub const MAX_LOOK_AHEAD_WEIGHT: f64 = 10.0;

/// The longest look-ahead horizon or history: 30 days.
pub const MAX_LOOK_AHEAD_SECS: i64 = 30 * 86_400;

/// The longest backorder horizon: a year and a day.
pub const MAX_BACKORDER_SECS: i64 = 366 * 86_400;

impl Checker {
    pub(super) fn policy(&mut self, ast: &PolicyAst, overrides: &ParamOverrides) -> Option<CheckedPolicy> {
        let mut rules = Vec::new();
        let mut unit_cost: Option<Checked> = None;
        let mut shipment_cost: Option<Checked> = None;
        let mut max_shipments = constant(Typed::Number(1.0), Type::Number);
        let mut split_penalty = constant(Typed::Number(0.0), Type::Money);
        let mut line_may_split = constant(Typed::Bool(true), Type::Bool);
        let mut ship_together: Option<Checked> = None;
        let mut short_stock = ShortStockPlan::Reject;
        let mut late_delivery = LateDelivery::ShipLate;
        let mut backorder_within = None;
        let mut tie_break = Vec::new();
        let mut look_ahead = None;
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut once = |checker: &mut Checker, what: &'static str, span: Span| {
            if let Some(first) = seen.insert(what, span) {
                checker.error(
                    Diagnostic::error(Code::Duplicate, span, format!("`{what}` is given twice"), "second definition")
                        .with_related(first, "first definition")
                        .with_help("keep one"),
                );
            }
        };
        for item in &ast.items {
            match item {
                Item::Param { name, value } => {
                    // The default is checked even when overridden, so its mistakes never hide.
                    let default = self.expr(value);
                    let checked = match overrides.get(&name.name) {
                        Some(literal) => {
                            if literal_type(literal) != default.ty && !self.reported_at(value.span) {
                                self.error(
                                    Diagnostic::error(
                                        Code::Type,
                                        value.span,
                                        format!(
                                            "the override of `{}` is {}, the param is {}",
                                            name.name,
                                            article(literal_type(literal)),
                                            article(default.ty)
                                        ),
                                        "the param's default",
                                    )
                                    .with_help("give the override in the same type, e.g. `$2.50` for money"),
                                );
                            }
                            constant(literal_value(literal), literal_type(literal))
                        }
                        None => default,
                    };
                    let checked = match fold(&checked.expr, &self.let_constants) {
                        Some(folded) if checked.needs == Needs::default() => Checked { expr: folded, ..checked },
                        _ if self.reported_at(value.span) => checked,
                        _ => {
                            self.error(
                                Diagnostic::error(
                                    Code::ParamNotConstant,
                                    value.span,
                                    format!("param `{}` must be a constant", name.name),
                                    "not a constant",
                                )
                                .with_help(
                                    "params are fixed per policy version; use `let` for values computed per order",
                                ),
                            );
                            checked
                        }
                    };
                    if let Typed::Number(value) = checked.expr
                        && !value.is_finite()
                    {
                        self.error(Diagnostic::error(
                            Code::OutOfRange,
                            name.span,
                            format!("param `{}` is {value}, not a finite number", name.name),
                            "overflows",
                        ));
                    }
                    self.define(name, checked, true);
                }
                Item::Let { name, value } => {
                    let checked = self.expr(value);
                    let index = self.let_list.len();
                    let poisoned = self.reported_at(value.span);
                    self.define(name, checked, false);
                    if poisoned && self.let_list.len() > index {
                        self.poisoned_lets.insert(index);
                    }
                }
                Item::Table { name, entries } => self.table(name, entries),
                Item::Bands { name, bands } => self.bands(name, bands),
                Item::Exclude { name, name_span, when } => {
                    let condition = self.expect(when, Type::Bool, "an exclusion's condition");
                    if !self.reported_at(when.span) {
                        self.rule_reachability(name, *name_span, &condition, true);
                    }
                    rules.push(Rule { name: name.clone(), condition });
                }
                Item::Require { name, name_span, condition } => {
                    let checked = self.expect(condition, Type::Bool, "a requirement");
                    if !self.reported_at(condition.span) {
                        self.rule_reachability(name, *name_span, &checked, false);
                    }
                    let negated = Checked {
                        expr: Typed::Unary(UnaryOp::Not, Box::new(checked.expr)),
                        ty: Type::Bool,
                        needs: checked.needs,
                    };
                    rules.push(Rule { name: name.clone(), condition: negated });
                }
                Item::UnitCost(expr) => {
                    once(self, "unit cost", expr.span);
                    let checked = self.expect(expr, Type::Money, "`unit cost`");
                    self.cost_in_range(&checked, expr.span, "`unit cost`");
                    unit_cost = Some(checked);
                }
                Item::ShipmentCost(expr) => {
                    once(self, "shipment cost", expr.span);
                    let checked = self.expect(expr, Type::Money, "`shipment cost`");
                    self.no_line(&checked, expr.span, "`shipment cost`");
                    self.cost_in_range(&checked, expr.span, "`shipment cost`");
                    shipment_cost = Some(checked);
                }
                Item::Split { settings, span } => {
                    once(self, "split", *span);
                    for setting in settings {
                        match setting.name.name.as_str() {
                            "max_shipments" => {
                                let checked = self.expect(&setting.value, Type::Number, "`max_shipments`");
                                self.order_only(&checked, setting.value.span, "`max_shipments`");
                                if let Some(value) = self.constant_number(&checked, setting.value.span)
                                    && !(value.is_finite() && value >= 1.0)
                                {
                                    self.error(
                                        Diagnostic::error(
                                            Code::OutOfRange,
                                            setting.value.span,
                                            format!("`max_shipments` is {value}; an order needs at least 1 shipment"),
                                            "below 1",
                                        )
                                        .with_help("`max_shipments = 1` ships every order from one location"),
                                    );
                                }
                                max_shipments = checked;
                            }
                            "penalty" => {
                                let checked = self.expect(&setting.value, Type::Money, "the split `penalty`");
                                self.order_only(&checked, setting.value.span, "the split `penalty`");
                                self.cost_in_range(&checked, setting.value.span, "the split `penalty`");
                                split_penalty = checked;
                            }
                            "line_may_split" => {
                                let checked = self.expect(&setting.value, Type::Bool, "`line_may_split`");
                                self.per_line(
                                    &checked,
                                    setting.value.span,
                                    "`line_may_split`",
                                    "whether a line may split is decided per line, before locations are chosen",
                                );
                                line_may_split = checked;
                            }
                            "ship_together" => {
                                let checked = self.expect(&setting.value, Type::String, "`ship_together`");
                                self.per_line(
                                    &checked,
                                    setting.value.span,
                                    "`ship_together`",
                                    "which lines ship together is decided per line, before locations are chosen",
                                );
                                ship_together = Some(checked);
                            }
                            other => {
                                let mut diagnostic = Diagnostic::error(
                                    Code::UnknownSetting,
                                    setting.name.span,
                                    format!("unknown split setting `{other}`"),
                                    "not a split setting",
                                );
                                diagnostic = match self.did_you_mean(other, SETTINGS) {
                                    Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
                                    None => diagnostic.with_help(format!(
                                        "split settings are {}",
                                        SETTINGS.map(|s| format!("`{s}`")).join(", ")
                                    )),
                                };
                                self.error(diagnostic);
                            }
                        }
                    }
                }
                Item::ShortStock { action, span } => {
                    once(self, "short stock", *span);
                    if let ShortAction::Backorder { within, .. } = action {
                        backorder_within = Some(*within);
                    }
                    short_stock = self.short_action(action);
                }
                Item::LateDelivery { reject, span } => {
                    once(self, "late delivery", *span);
                    late_delivery = if *reject { LateDelivery::Reject } else { LateDelivery::ShipLate };
                }
                Item::LookAhead { settings, span } => {
                    once(self, "look ahead", *span);
                    look_ahead = Some(self.look_ahead(settings));
                }
                Item::TieBreak(keys) => {
                    for key in keys {
                        if !TIE_BREAK_KEYS.contains(&key.name.as_str()) {
                            let mut diagnostic = Diagnostic::error(
                                Code::UnknownTieBreak,
                                key.span,
                                format!("unknown tie-break `{}`", key.name),
                                "not a tie-break key",
                            );
                            diagnostic = match self.did_you_mean(&key.name, TIE_BREAK_KEYS) {
                                Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
                                None => diagnostic.with_help("tie-break keys are `priority` and `distance`"),
                            };
                            self.error(diagnostic);
                        }
                        tie_break.push(key.name.clone());
                    }
                }
            }
        }
        let policy_span = ast.name.span;
        if unit_cost.is_none() {
            self.error(
                Diagnostic::error(Code::Missing, policy_span, "the policy has no `unit cost`", "this policy")
                    .with_help("add `unit cost = ...`, e.g. `unit cost = location.handling_per_unit`"),
            );
        }
        if shipment_cost.is_none() {
            self.error(
                Diagnostic::error(Code::Missing, policy_span, "the policy has no `shipment cost`", "this policy")
                    .with_help("add `shipment cost = ...`, e.g. `shipment cost = $5.00`"),
            );
        }
        Some(CheckedPolicy {
            name: ast.name.name.clone(),
            version: ast.version.clone(),
            groups: ast.groups.iter().map(|(g, _)| g.clone()).collect(),
            lets: std::mem::take(&mut self.let_list),
            tables: std::mem::take(&mut self.table_list),
            bands: std::mem::take(&mut self.band_list),
            rules,
            unit_cost: unit_cost?,
            shipment_cost: shipment_cost?,
            max_shipments,
            split_penalty,
            line_may_split,
            ship_together,
            short_stock,
            late_delivery,
            backorder_within,
            tie_break,
            look_ahead: look_ahead.flatten(),
            params: ast
                .items
                .iter()
                .filter_map(|item| match item {
                    Item::Param { name, .. } => Some(name.name.clone()),
                    _ => None,
                })
                .collect(),
        })
    }

    pub(super) fn table(&mut self, name: &Ident, entries: &[(Literal, Literal, Span)]) {
        if self.refuse_taken_name(name) {
            return;
        }
        let mut table =
            Table { name: name.name.clone(), entries: Vec::new(), value_type: Type::Number, key_type: Type::Number };
        for (index, (key, value, span)) in entries.iter().enumerate() {
            let key_type = literal_type(key);
            let value_type = literal_type(value);
            if index == 0 {
                table.key_type = key_type;
                table.value_type = value_type;
            }
            if !matches!(key_type, Type::Number | Type::String) || key_type != table.key_type {
                self.error(Diagnostic::error(
                    Code::Type,
                    *span,
                    format!("table `{}` keys must all be numbers or all strings", name.name),
                    format!("this key is a {}", key_type.name()),
                ));
                continue;
            }
            if !value_type.is_numeric() || value_type != table.value_type {
                self.error(
                    Diagnostic::error(
                        Code::Type,
                        *span,
                        format!("table `{}` values must all be of one number-like type", name.name),
                        format!("this value is a {}", value_type.name()),
                    )
                    .with_help("write prices as money (`$7.50`) throughout"),
                );
                continue;
            }
            let key = match key {
                Literal::String(s) => TableKey::String(s.clone()),
                Literal::Number(n) => TableKey::Number(*n),
                _ => continue,
            };
            if table.entries.iter().any(|(k, _)| *k == key) {
                self.error(Diagnostic::error(
                    Code::Duplicate,
                    *span,
                    format!("table `{}` has this key twice", name.name),
                    "repeated key",
                ));
                continue;
            }
            let Typed::Number(value) = literal_value(value) else { continue };
            table.entries.push((key, value));
        }
        self.tables.insert(name.name.clone(), self.table_list.len());
        self.table_list.push(table);
    }

    pub(super) fn bands(&mut self, name: &Ident, bands: &[crate::ast::Band]) {
        if self.refuse_taken_name(name) {
            return;
        }
        let mut table = BandTable { name: name.name.clone(), bands: Vec::new(), value_type: Type::Number };
        let mut previous = f64::NEG_INFINITY;
        for (index, band) in bands.iter().enumerate() {
            let last = index + 1 == bands.len();
            let value_type = literal_type(&band.value);
            if index == 0 {
                table.value_type = value_type;
            }
            if !value_type.is_numeric() || value_type != table.value_type {
                self.error(Diagnostic::error(
                    Code::Type,
                    band.span,
                    format!("bands `{}` values must all be of one number-like type", name.name),
                    format!("this value is a {}", value_type.name()),
                ));
            }
            let bound = match (band.up_to, last) {
                (Some(bound), false) => bound,
                (None, true) => f64::INFINITY,
                (Some(_), true) => {
                    self.error(
                        Diagnostic::error(
                            Code::Bands,
                            band.span,
                            format!("bands `{}` must end with `beyond`", name.name),
                            "last band has a bound",
                        )
                        .with_help("add a last band `beyond: value` for everything past the last bound"),
                    );
                    f64::INFINITY
                }
                (None, false) => {
                    self.error(Diagnostic::error(
                        Code::Bands,
                        band.span,
                        "`beyond` must be the last band",
                        "bands after this are unreachable",
                    ));
                    f64::INFINITY
                }
            };
            if bound <= previous {
                self.error(Diagnostic::error(
                    Code::Bands,
                    band.span,
                    format!("bands `{}` must be in ascending order", name.name),
                    format!("{bound} is not above {previous}"),
                ));
            }
            previous = bound;
            let Typed::Number(value) = literal_value(&band.value) else { continue };
            table.bands.push((bound, value));
        }
        self.band_map.insert(name.name.clone(), self.band_list.len());
        self.band_list.push(table);
    }

    pub(super) fn short_action(&mut self, action: &ShortAction) -> ShortStockPlan {
        match action {
            ShortAction::Reject => ShortStockPlan::Reject,
            ShortAction::Partial(expr) => {
                let checked = self.expect(expr, Type::Money, "the unfilled penalty");
                self.order_only(&checked, expr.span, "the unfilled penalty");
                self.cost_in_range(&checked, expr.span, "the unfilled penalty");
                ShortStockPlan::Partial(checked)
            }
            ShortAction::Backorder { within, span, otherwise } => {
                if !(1..=MAX_BACKORDER_SECS).contains(within) {
                    self.error(
                        Diagnostic::error(
                            Code::BackorderHorizon,
                            *span,
                            format!("a backorder horizon is 1s to {}d", MAX_BACKORDER_SECS / 86_400),
                            "this horizon",
                        )
                        .with_help("inbound stock further out than a year is not a promise to a customer"),
                    );
                }
                self.short_action(otherwise)
            }
        }
    }

    // The value of `checked` when it is a constant number (after folding params and lets).
    // The settings of `look ahead { ... }`: constants, each in its range (`None` with a weight
    // of 0: the block is there but off).
    fn look_ahead(&mut self, settings: &[Setting]) -> Option<LookAheadSettings> {
        let mut out = LookAheadSettings::DEFAULT;
        for setting in settings {
            let name = setting.name.name.as_str();
            let (ty, what, range, unit) = match name {
                "weight" => (Type::Number, "the look-ahead `weight`", 0.0..=MAX_LOOK_AHEAD_WEIGHT, ""),
                "horizon" | "history" => {
                    (Type::Duration, "a look-ahead duration", 60.0..=MAX_LOOK_AHEAD_SECS as f64, " seconds")
                }
                other => {
                    let mut diagnostic = Diagnostic::error(
                        Code::UnknownSetting,
                        setting.name.span,
                        format!("unknown look-ahead setting `{other}`"),
                        "not a look-ahead setting",
                    );
                    diagnostic = match self.did_you_mean(other, LOOK_AHEAD_SETTINGS) {
                        Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
                        None => diagnostic.with_help("look-ahead settings are `weight`, `horizon` and `history`"),
                    };
                    self.error(diagnostic);
                    continue;
                }
            };
            let checked = self.expect(&setting.value, ty, &format!("`{name}`"));
            let Some(value) = self.constant_number(&checked, setting.value.span) else {
                if !self.reported_at(setting.value.span) {
                    self.error(
                        Diagnostic::error(
                            Code::Context,
                            setting.value.span,
                            format!("`{name}` must be a constant: look-ahead prices are solved ahead of orders"),
                            "not a constant",
                        )
                        .with_help("write a number or a duration, e.g. `weight = 1` or `horizon = 1d`"),
                    );
                }
                continue;
            };
            if !(value.is_finite() && range.contains(&value)) {
                self.error(
                    Diagnostic::error(
                        Code::OutOfRange,
                        setting.value.span,
                        format!(
                            "{what} is {}{unit}; it must be from {}{unit} to {}{unit}",
                            show(value),
                            range.start(),
                            range.end()
                        ),
                        "out of range",
                    )
                    .with_help(if name == "weight" {
                        "`weight = 1` adds each unit's opportunity cost as it is; 0 turns look-ahead off"
                    } else {
                        "durations run from a minute (`1m`) to 30 days (`30d`)"
                    }),
                );
                continue;
            }
            match name {
                "weight" => out.weight = value,
                "horizon" => out.horizon_secs = value as i64,
                _ => out.history_secs = value as i64,
            }
        }
        (out.weight > 0.0).then_some(out)
    }

    fn constant_number(&self, checked: &Checked, span: Span) -> Option<f64> {
        if checked.needs != Needs::default() || self.reported_at(span) {
            return None;
        }
        match fold(&checked.expr, &self.let_constants)? {
            Typed::Number(value) => Some(value),
            _ => None,
        }
    }

    // A cost or penalty that is a constant must be one the router accepts: finite, 0 to
    // `MAX_COST`. (One computed per order is checked when it is computed; the error names the
    // rule and the location.)
    fn cost_in_range(&mut self, checked: &Checked, span: Span, what: &str) {
        if let Some(value) = self.constant_number(checked, span)
            && !switchyard_engine::is_cost(value)
        {
            self.error(
                Diagnostic::error(
                    Code::OutOfRange,
                    span,
                    format!("{what} is {}; a cost is a finite amount from $0 to $1000000000", show(value)),
                    "out of range",
                )
                .with_help("costs and penalties are never negative; a large penalty is a large finite amount"),
            );
        }
    }
}
