//! Syntax tree to typed policy: every name, field and function resolved and typed against the
//! schema of order, line, item and location; every error of the file collected.

use std::collections::HashMap;

use crate::ast::{Aggregate, BinaryOp, Expr, ExprKind, Ident, Item, Literal, PolicyAst, ShortAction, Span, UnaryOp};
use crate::diagnostic::Diagnostic;

/// The types of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// A plain number.
    Number,
    /// An amount of money.
    Money,
    /// True or false.
    Bool,
    /// Text.
    String,
    /// An instant.
    Time,
    /// A length of time.
    Duration,
    /// A list of strings (tags, capabilities, literal lists).
    StringList,
    /// The order record.
    Order,
    /// A line record.
    Line,
    /// A product record.
    Item,
    /// A location record.
    Location,
}

impl Type {
    /// The type's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Type::Number => "number",
            Type::Money => "money",
            Type::Bool => "bool",
            Type::String => "string",
            Type::Time => "time",
            Type::Duration => "duration",
            Type::StringList => "list of strings",
            Type::Order => "order",
            Type::Line => "line",
            Type::Item => "item",
            Type::Location => "location",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(self, Type::Number | Type::Money | Type::Time | Type::Duration)
    }
}

/// Which line a line or item expression refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineRef {
    /// The line being priced.
    Current,
    /// The line bound by the enclosing aggregate.
    Bound,
}

/// A field of the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderField {
    /// `order.id`.
    Id,
    /// `order.channel`.
    Channel,
    /// `order.placed_at`.
    PlacedAt,
    /// `order.postal_code`.
    PostalCode,
    /// `order.country`.
    Country,
    /// `order.line_count`.
    LineCount,
    /// `order.total_units`.
    TotalUnits,
    /// `order.lat`: latitude of the ship-to.
    Lat,
    /// `order.lon`: longitude of the ship-to.
    Lon,
}

/// A field of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineField {
    /// `line.id`.
    Id,
    /// `line.qty`.
    Qty,
}

/// A field of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemField {
    /// `item.sku`.
    Sku,
    /// `item.group`.
    Group,
    /// `item.weight_kg`.
    WeightKg,
    /// `item.tags`.
    Tags,
}

/// A field of the candidate location.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationField {
    /// `location.id`.
    Id,
    /// `location.kind`.
    Kind,
    /// `location.handling_per_shipment`.
    HandlingPerShipment,
    /// `location.handling_per_unit`.
    HandlingPerUnit,
    /// `location.priority`.
    Priority,
    /// `location.lat`.
    Lat,
    /// `location.lon`.
    Lon,
    /// `location.capabilities`.
    Capabilities,
    /// `location.shipments_left` (shipments it may still send that day; very large if unlimited).
    ShipmentsLeft,
}

/// Built-in functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// `min(a, b)`.
    Min,
    /// `max(a, b)`.
    Max,
    /// `floor(x)`.
    Floor,
    /// `ceil(x)`.
    Ceil,
    /// `hours(d)`: a duration in hours.
    Hours,
    /// `days(d)`: a duration in days.
    Days,
}

/// A typed, resolved expression. Numbers, money, times (seconds since the epoch) and
/// durations (seconds) are all evaluated as `f64`.
#[derive(Clone, Debug, PartialEq)]
pub enum Typed {
    /// A number-like constant.
    Number(f64),
    /// A boolean constant.
    Bool(bool),
    /// A string constant.
    String(String),
    /// A list of strings.
    StringList(Vec<String>),
    /// The decision time.
    Now,
    /// Distance from the candidate location to the ship-to, km.
    DistanceKm,
    /// ATP of the current line's SKU at the candidate location.
    Atp,
    /// An order field.
    Order(OrderField),
    /// A line field.
    Line(LineRef, LineField),
    /// An item field.
    Item(LineRef, ItemField),
    /// A location field.
    Location(LocationField),
    /// `item.has_tag(s)`.
    HasTag(LineRef, Box<Typed>),
    /// `location.can(s)`.
    Can(Box<Typed>),
    /// `location.closed_at(t)`.
    ClosedAt(Box<Typed>),
    /// `list.contains(s)`.
    Contains(Box<Typed>, Box<Typed>),
    /// `table[key]` with a number key.
    TableNumber(usize, Box<Typed>),
    /// `table[key]` with a string key.
    TableString(usize, Box<Typed>),
    /// `bands[x]`.
    Bands(usize, Box<Typed>),
    /// A unary operator.
    Unary(UnaryOp, Box<Typed>),
    /// A binary operator with the type of its operands.
    Binary(BinaryOp, Type, Box<Typed>, Box<Typed>),
    /// `if`.
    If(Box<Typed>, Box<Typed>, Box<Typed>),
    /// An aggregate over the order's lines.
    Aggregate(Aggregate, Box<Typed>),
    /// A built-in function.
    Call(Function, Vec<Typed>),
}

/// What an expression needs from where it is evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// A current line.
    pub line: bool,
    /// A candidate location.
    pub location: bool,
}

impl Needs {
    fn or(self, other: Needs) -> Needs {
        Needs { line: self.line || other.line, location: self.location || other.location }
    }
}

/// A checked expression: its tree, type and needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    /// The resolved tree.
    pub expr: Typed,
    /// Its type.
    pub ty: Type,
    /// What it needs.
    pub needs: Needs,
}

/// A value in a lookup table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The table's name.
    pub name: String,
    /// Entries: key (number or string) and number-like value.
    pub entries: Vec<(TableKey, f64)>,
    /// Type of the values.
    pub value_type: Type,
    /// Type of the keys.
    pub key_type: Type,
}

/// A table key.
#[derive(Clone, Debug, PartialEq)]
pub enum TableKey {
    /// A number key.
    Number(f64),
    /// A string key.
    String(String),
}

/// A bands table: ascending bounds and a value per band, the last open.
#[derive(Clone, Debug, PartialEq)]
pub struct BandTable {
    /// The table's name.
    pub name: String,
    /// `(upper bound, value)`; the last bound is infinite.
    pub bands: Vec<(f64, f64)>,
    /// Type of the values.
    pub value_type: Type,
}

/// A named exclusion: the candidate is excluded when `condition` is true.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The human name shown in explanations.
    pub name: String,
    /// Excluded when true.
    pub condition: Checked,
}

/// Short-stock behaviour.
#[derive(Clone, Debug, PartialEq)]
pub enum ShortStockPlan {
    /// Reject the order.
    Reject,
    /// Unfilled units at this penalty.
    Partial(Checked),
}

/// A policy after checking: everything resolved, ready to compile.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedPolicy {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Product groups (empty: all).
    pub groups: Vec<String>,
    /// Lookup tables.
    pub tables: Vec<Table>,
    /// Band tables.
    pub bands: Vec<BandTable>,
    /// Exclusions, in source order.
    pub rules: Vec<Rule>,
    /// Cost per unit.
    pub unit_cost: Checked,
    /// Cost per shipment.
    pub shipment_cost: Checked,
    /// Max shipments.
    pub max_shipments: Checked,
    /// Split penalty.
    pub split_penalty: Checked,
    /// Whether a line may split.
    pub line_may_split: Checked,
    /// Per line, a ship-together key: lines with the same non-empty key ship from one location.
    pub ship_together: Option<Checked>,
    /// Short stock.
    pub short_stock: ShortStockPlan,
    /// `backorder within`: units short now may wait for inbound stock expected within this
    /// many seconds (where the service tracks inbound stock); otherwise `short_stock` applies.
    pub backorder_within: Option<i64>,
    /// Tie-break keys as written (`priority`, `distance`).
    pub tie_break: Vec<String>,
    /// Names of the params, in source order.
    pub params: Vec<String>,
}

/// Overrides for parameters, by name, as literal values.
pub type ParamOverrides = HashMap<String, Literal>;

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
    lets: HashMap<String, (Checked, Span)>,
    tables: HashMap<String, usize>,
    table_list: Vec<Table>,
    band_map: HashMap<String, usize>,
    band_list: Vec<BandTable>,
    // The variable an enclosing aggregate binds.
    bound: Option<String>,
}

const SETTINGS: [&str; 4] = ["max_shipments", "penalty", "line_may_split", "ship_together"];
const TIE_BREAK_KEYS: [&str; 2] = ["priority", "distance"];
const GLOBALS: [&str; 7] = ["order", "line", "item", "location", "now", "distance_km", "atp"];

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// The closest of `candidates` to `name`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|(d, candidate)| *d <= (name.len().max(candidate.len()) / 3).max(1))
        .min()
        .map(|(_, candidate)| candidate)
}

fn constant(expr: Typed, ty: Type) -> Checked {
    Checked { expr, ty, needs: Needs::default() }
}

fn literal_type(literal: &Literal) -> Type {
    match literal {
        Literal::Number(_) => Type::Number,
        Literal::Money(_) => Type::Money,
        Literal::Duration(_) => Type::Duration,
        Literal::String(_) => Type::String,
        Literal::Bool(_) => Type::Bool,
    }
}

fn literal_value(literal: &Literal) -> Typed {
    match literal {
        Literal::Number(n) | Literal::Money(n) => Typed::Number(*n),
        Literal::Duration(d) => Typed::Number(*d as f64),
        Literal::String(s) => Typed::String(s.clone()),
        Literal::Bool(b) => Typed::Bool(*b),
    }
}

impl Checker {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn policy(&mut self, ast: &PolicyAst, overrides: &ParamOverrides) -> Option<CheckedPolicy> {
        let mut rules = Vec::new();
        let mut unit_cost: Option<Checked> = None;
        let mut shipment_cost: Option<Checked> = None;
        let mut max_shipments = constant(Typed::Number(1.0), Type::Number);
        let mut split_penalty = constant(Typed::Number(0.0), Type::Money);
        let mut line_may_split = constant(Typed::Bool(true), Type::Bool);
        let mut ship_together: Option<Checked> = None;
        let mut short_stock = ShortStockPlan::Reject;
        let mut backorder_within = None;
        let mut tie_break = Vec::new();
        let mut seen: HashMap<&'static str, Span> = HashMap::new();
        let mut once = |checker: &mut Checker, what: &'static str, span: Span| {
            if let Some(first) = seen.insert(what, span) {
                checker.error(
                    Diagnostic::error(
                        "policy::duplicate",
                        span,
                        format!("`{what}` is given twice"),
                        "second definition",
                    )
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
                                        "policy::type",
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
                    let checked = match fold(&checked.expr) {
                        Some(folded) if checked.needs == Needs::default() => Checked { expr: folded, ..checked },
                        _ if self.reported_at(value.span) => checked,
                        _ => {
                            self.error(
                                Diagnostic::error(
                                    "policy::param_not_constant",
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
                    self.define(name, checked, true);
                }
                Item::Let { name, value } => {
                    let checked = self.expr(value);
                    self.define(name, checked, false);
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
                    unit_cost = Some(self.expect(expr, Type::Money, "`unit cost`"));
                }
                Item::ShipmentCost(expr) => {
                    once(self, "shipment cost", expr.span);
                    let checked = self.expect(expr, Type::Money, "`shipment cost`");
                    self.no_line(&checked, expr.span, "`shipment cost`");
                    shipment_cost = Some(checked);
                }
                Item::Split { settings, span } => {
                    once(self, "split", *span);
                    for setting in settings {
                        match setting.name.name.as_str() {
                            "max_shipments" => {
                                let checked = self.expect(&setting.value, Type::Number, "`max_shipments`");
                                self.order_only(&checked, setting.value.span, "`max_shipments`");
                                max_shipments = checked;
                            }
                            "penalty" => {
                                let checked = self.expect(&setting.value, Type::Money, "the split `penalty`");
                                self.order_only(&checked, setting.value.span, "the split `penalty`");
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
                                    "policy::unknown_setting",
                                    setting.name.span,
                                    format!("unknown split setting `{other}`"),
                                    "not a split setting",
                                );
                                diagnostic = match did_you_mean(other, SETTINGS) {
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
                Item::TieBreak(keys) => {
                    for key in keys {
                        if !TIE_BREAK_KEYS.contains(&key.name.as_str()) {
                            let mut diagnostic = Diagnostic::error(
                                "policy::unknown_tie_break",
                                key.span,
                                format!("unknown tie-break `{}`", key.name),
                                "not a tie-break key",
                            );
                            diagnostic = match did_you_mean(&key.name, TIE_BREAK_KEYS) {
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
                Diagnostic::error("policy::missing", policy_span, "the policy has no `unit cost`", "this policy")
                    .with_help("add `unit cost = ...`, e.g. `unit cost = location.handling_per_unit`"),
            );
        }
        if shipment_cost.is_none() {
            self.error(
                Diagnostic::error("policy::missing", policy_span, "the policy has no `shipment cost`", "this policy")
                    .with_help("add `shipment cost = ...`, e.g. `shipment cost = $5.00`"),
            );
        }
        Some(CheckedPolicy {
            name: ast.name.name.clone(),
            version: ast.version.clone(),
            groups: ast.groups.iter().map(|(g, _)| g.clone()).collect(),
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
            backorder_within,
            tie_break,
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

    fn define(&mut self, name: &Ident, checked: Checked, is_param: bool) {
        if GLOBALS.contains(&name.name.as_str()) {
            self.error(
                Diagnostic::error(
                    "policy::shadowing",
                    name.span,
                    format!("`{}` is a built-in name", name.name),
                    "already defined",
                )
                .with_help("pick another name"),
            );
            return;
        }
        if let Some(&(_, previous)) = self.params.get(&name.name).or_else(|| self.lets.get(&name.name)) {
            self.error(
                Diagnostic::error(
                    "policy::duplicate",
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
                    "policy::duplicate",
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
            self.lets.insert(name.name.clone(), (checked, name.span));
        }
    }

    fn name_taken(&self, name: &str) -> bool {
        GLOBALS.contains(&name)
            || self.params.contains_key(name)
            || self.lets.contains_key(name)
            || self.tables.contains_key(name)
            || self.band_map.contains_key(name)
    }

    // Reports `name` if a param, let, table, bands or built-in already has it.
    fn refuse_taken_name(&mut self, name: &Ident) -> bool {
        if !self.name_taken(&name.name) {
            return false;
        }
        self.error(
            Diagnostic::error(
                "policy::duplicate",
                name.span,
                format!("`{}` is defined twice", name.name),
                "second definition",
            )
            .with_help("rename one of them"),
        );
        true
    }

    fn table(&mut self, name: &Ident, entries: &[(Literal, Literal, Span)]) {
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
                    "policy::type",
                    *span,
                    format!("table `{}` keys must all be numbers or all strings", name.name),
                    format!("this key is a {}", key_type.name()),
                ));
                continue;
            }
            if !value_type.is_numeric() || value_type != table.value_type {
                self.error(
                    Diagnostic::error(
                        "policy::type",
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
                    "policy::duplicate",
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

    fn bands(&mut self, name: &Ident, bands: &[crate::ast::Band]) {
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
                    "policy::type",
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
                            "policy::bands",
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
                        "policy::bands",
                        band.span,
                        "`beyond` must be the last band",
                        "bands after this are unreachable",
                    ));
                    f64::INFINITY
                }
            };
            if bound <= previous {
                self.error(Diagnostic::error(
                    "policy::bands",
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

    fn short_action(&mut self, action: &ShortAction) -> ShortStockPlan {
        match action {
            ShortAction::Reject => ShortStockPlan::Reject,
            ShortAction::Partial(expr) => {
                let checked = self.expect(expr, Type::Money, "the unfilled penalty");
                self.order_only(&checked, expr.span, "the unfilled penalty");
                ShortStockPlan::Partial(checked)
            }
            ShortAction::Backorder { within, span, otherwise } => {
                if *within <= 0 {
                    self.error(Diagnostic::error(
                        "policy::backorder_horizon",
                        *span,
                        "a backorder horizon must be longer than zero",
                        "this horizon",
                    ));
                }
                self.short_action(otherwise)
            }
        }
    }

    fn rule_reachability(&mut self, name: &str, span: Span, condition: &Checked, is_exclude: bool) {
        let excludes = match fold(&condition.expr) {
            Some(Typed::Bool(value)) => Some(if is_exclude { value } else { !value }),
            _ => None,
        };
        match excludes {
            Some(false) => self.error(
                Diagnostic::warning(
                    "policy::never_fires",
                    span,
                    format!("rule \"{name}\" can never fire"),
                    "its condition is constant",
                )
                .with_help("remove the rule or fix its condition"),
            ),
            Some(true) => self.error(
                Diagnostic::warning(
                    "policy::always_fires",
                    span,
                    format!("rule \"{name}\" excludes every candidate"),
                    "its condition is constant",
                )
                .with_help("every order will be unfilled or rejected; fix the condition"),
            ),
            None => {}
        }
    }

    fn no_line(&mut self, checked: &Checked, span: Span, what: &str) {
        if checked.needs.line {
            self.error(
                Diagnostic::error(
                    "policy::context",
                    span,
                    format!("{what} cannot depend on a line"),
                    "uses `line` or `item`",
                )
                .with_help("a shipment carries several lines; use an aggregate like `sum(l in order.lines: l.qty)`"),
            );
        }
    }

    // A setting decided per line, before locations are chosen: it may not look at one.
    fn per_line(&mut self, checked: &Checked, span: Span, what: &str, why: &str) {
        if checked.needs.location {
            self.error(
                Diagnostic::error(
                    "policy::context",
                    span,
                    format!("{what} cannot depend on the location"),
                    "uses `location`",
                )
                .with_help(why),
            );
        }
    }

    fn order_only(&mut self, checked: &Checked, span: Span, what: &str) {
        self.no_line(checked, span, what);
        if checked.needs.location {
            self.error(
                Diagnostic::error(
                    "policy::context",
                    span,
                    format!("{what} cannot depend on the location"),
                    "uses `location`",
                )
                .with_help("it is decided once per order, before locations are chosen"),
            );
        }
    }

    fn expect(&mut self, expr: &Expr, expected: Type, what: &str) -> Checked {
        let checked = self.expr(expr);
        if checked.ty != expected && !self.reported_at(expr.span) {
            let mut diagnostic = Diagnostic::error(
                "policy::type",
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
    fn reported_at(&self, span: Span) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.level == crate::diagnostic::Level::Error && d.span.start >= span.start && d.span.end <= span.end)
    }

    fn invalid(&self) -> Checked {
        // Stands in for an expression with an error already reported; typed as bool so it
        // does not cascade into more reports.
        constant(Typed::Bool(false), Type::Bool)
    }

    fn expr(&mut self, expr: &Expr) -> Checked {
        match &expr.kind {
            ExprKind::Literal(literal) => constant(literal_value(literal), literal_type(literal)),
            ExprKind::List(items) => {
                let mut strings = Vec::new();
                for item in items {
                    match item {
                        Literal::String(s) => strings.push(s.clone()),
                        other => {
                            self.error(Diagnostic::error(
                                "policy::type",
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
                        "policy::type",
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
                            "policy::type",
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
                            "policy::nested_aggregate",
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
                        "policy::shadowing",
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
                            "policy::type",
                            body.span,
                            format!("the body must be a bool, found {}", body_checked.ty.name()),
                            "this is not a condition",
                        ));
                        return self.invalid();
                    }
                    None if !matches!(body_checked.ty, Type::Number | Type::Money | Type::Duration) => {
                        self.error(Diagnostic::error(
                            "policy::type",
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

    fn variable(&mut self, name: &str, span: Span) -> Checked {
        let needs = |line, location| Needs { line, location };
        match name {
            "now" => return Checked { expr: Typed::Now, ty: Type::Time, needs: Needs::default() },
            "distance_km" => return Checked { expr: Typed::DistanceKm, ty: Type::Number, needs: needs(false, true) },
            "atp" => return Checked { expr: Typed::Atp, ty: Type::Number, needs: needs(true, true) },
            "order" | "line" | "item" | "location" => {
                self.error(
                    Diagnostic::error(
                        "policy::record_value",
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
                    "policy::record_value",
                    span,
                    format!("`{name}` is a line, not a value"),
                    "use one of its fields",
                )
                .with_help(format!("for example `{name}.qty`")),
            );
            return self.invalid();
        }
        if let Some((checked, _)) = self.params.get(name).or_else(|| self.lets.get(name)) {
            let checked = checked.clone();
            if self.bound.is_some() && checked.needs.line {
                self.error(
                    Diagnostic::error(
                        "policy::context",
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
                "policy::type",
                span,
                format!("`{name}` is a table; look a value up with `{name}[key]`"),
                "a table",
            ));
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
            Diagnostic::error("policy::unknown_name", span, format!("unknown name `{name}`"), "not defined");
        diagnostic = match did_you_mean(name, known) {
            Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
            None => diagnostic.with_help("names are params, lets, tables and the records `order`, `line`, `item`, `location`; define it with `let` first"),
        };
        self.error(diagnostic);
        self.invalid()
    }

    // Which record `expr` denotes, if it is one (`order`, `line`, `l`, `line.item`, ...).
    fn record(&mut self, expr: &Expr) -> Option<(Type, LineRef)> {
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

    fn field(&mut self, base: &Expr, field: &Ident) -> Checked {
        let Some((record, line)) = self.record(base) else {
            if let ExprKind::Variable(name) = &base.kind
                && (name == "line" || name == "item")
                && self.bound.is_some()
            {
                self.error(
                    Diagnostic::error(
                        "policy::context",
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
                    "policy::type",
                    field.span,
                    format!("{} has no fields", article(base_checked.ty)),
                    format!("`.{}` on {}", field.name, article(base_checked.ty)),
                ));
            }
            return self.invalid();
        };
        let line_needs = Needs { line: line == LineRef::Current, location: false };
        let location_needs = Needs { line: false, location: true };
        let found: Option<(Typed, Type, Needs)> = match (record, field.name.as_str()) {
            (Type::Order, "id") => Some((Typed::Order(OrderField::Id), Type::String, Needs::default())),
            (Type::Order, "channel") => Some((Typed::Order(OrderField::Channel), Type::String, Needs::default())),
            (Type::Order, "placed_at") => Some((Typed::Order(OrderField::PlacedAt), Type::Time, Needs::default())),
            (Type::Order, "postal_code") => {
                Some((Typed::Order(OrderField::PostalCode), Type::String, Needs::default()))
            }
            (Type::Order, "country") => Some((Typed::Order(OrderField::Country), Type::String, Needs::default())),
            (Type::Order, "line_count") => Some((Typed::Order(OrderField::LineCount), Type::Number, Needs::default())),
            (Type::Order, "total_units") => {
                Some((Typed::Order(OrderField::TotalUnits), Type::Number, Needs::default()))
            }
            (Type::Order, "lat") => Some((Typed::Order(OrderField::Lat), Type::Number, Needs::default())),
            (Type::Order, "lon") => Some((Typed::Order(OrderField::Lon), Type::Number, Needs::default())),
            (Type::Line, "id") => Some((Typed::Line(line, LineField::Id), Type::String, line_needs)),
            (Type::Line, "qty") => Some((Typed::Line(line, LineField::Qty), Type::Number, line_needs)),
            (Type::Line, "sku") => Some((Typed::Item(line, ItemField::Sku), Type::String, line_needs)),
            (Type::Item, "sku") => Some((Typed::Item(line, ItemField::Sku), Type::String, line_needs)),
            (Type::Item, "group") => Some((Typed::Item(line, ItemField::Group), Type::String, line_needs)),
            (Type::Item, "weight_kg") => Some((Typed::Item(line, ItemField::WeightKg), Type::Number, line_needs)),
            (Type::Item, "tags") => Some((Typed::Item(line, ItemField::Tags), Type::StringList, line_needs)),
            (Type::Location, "id") => Some((Typed::Location(LocationField::Id), Type::String, location_needs)),
            (Type::Location, "kind") => Some((Typed::Location(LocationField::Kind), Type::String, location_needs)),
            (Type::Location, "handling_per_shipment") => {
                Some((Typed::Location(LocationField::HandlingPerShipment), Type::Money, location_needs))
            }
            (Type::Location, "handling_per_unit") => {
                Some((Typed::Location(LocationField::HandlingPerUnit), Type::Money, location_needs))
            }
            (Type::Location, "priority") => {
                Some((Typed::Location(LocationField::Priority), Type::Number, location_needs))
            }
            (Type::Location, "lat") => Some((Typed::Location(LocationField::Lat), Type::Number, location_needs)),
            (Type::Location, "lon") => Some((Typed::Location(LocationField::Lon), Type::Number, location_needs)),
            (Type::Location, "capabilities") => {
                Some((Typed::Location(LocationField::Capabilities), Type::StringList, location_needs))
            }
            (Type::Location, "shipments_left") => {
                Some((Typed::Location(LocationField::ShipmentsLeft), Type::Number, location_needs))
            }
            _ => None,
        };
        match found {
            Some((expr, ty, needs)) => Checked { expr, ty, needs },
            None => {
                let fields: &[&str] = match record {
                    Type::Order => &[
                        "id",
                        "channel",
                        "placed_at",
                        "postal_code",
                        "country",
                        "line_count",
                        "total_units",
                        "lat",
                        "lon",
                    ],
                    Type::Line => &["id", "qty", "sku", "item"],
                    Type::Item => &["sku", "group", "weight_kg", "tags"],
                    _ => &[
                        "id",
                        "kind",
                        "handling_per_shipment",
                        "handling_per_unit",
                        "priority",
                        "lat",
                        "lon",
                        "capabilities",
                        "shipments_left",
                    ],
                };
                let mut diagnostic = Diagnostic::error(
                    "policy::unknown_field",
                    field.span,
                    format!("{} has no field `{}`", record.name(), field.name),
                    "unknown field",
                );
                diagnostic = match did_you_mean(&field.name, fields.iter().copied()) {
                    Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
                    None => diagnostic.with_help(format!("{} fields: {}", record.name(), fields.join(", "))),
                };
                if field.name == "item" && record == Type::Line {
                    diagnostic = Diagnostic::error(
                        "policy::record_value",
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

    fn method(&mut self, base: &Expr, method: &Ident, args: &[Expr], span: Span) -> Checked {
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
                    "policy::unknown_method",
                    method.span,
                    format!("{} has no method `{name}`", record.name()),
                    "unknown method",
                );
                diagnostic = match did_you_mean(name, methods.iter().copied()) {
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
                            "policy::type",
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
                        "policy::unknown_method",
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
    fn single_argument(
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
            "policy::arity",
            span,
            format!("`{}` takes 1 argument, found {}", method.name, args.len()),
            "here",
        ));
        None
    }

    fn call(&mut self, function: &Ident, args: &[Expr], span: Span) -> Checked {
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
                    "policy::unknown_function",
                    function.span,
                    format!("unknown function `{name}`"),
                    "not a function",
                );
                if self.band_map.contains_key(name) || self.tables.contains_key(name) {
                    diagnostic = diagnostic.with_help(format!("`{name}` is a table: look up with `{name}[key]`"));
                } else if let Some(near) = did_you_mean(name, known) {
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
                "policy::arity",
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
        let needs = checked.iter().fold(Needs::default(), |n, c| n.or(c.needs));
        let ty = match which {
            Function::Min | Function::Max => {
                if checked[0].ty != checked[1].ty || !checked[0].ty.is_numeric() {
                    self.error(Diagnostic::error(
                        "policy::type",
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
                        "policy::type",
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
                            "policy::type",
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
    fn time_literal(&mut self, function: &Ident, args: &[Expr], span: Span) -> Checked {
        let text = match args {
            [Expr { kind: ExprKind::Literal(Literal::String(text)), .. }] => text,
            _ => {
                self.error(
                    Diagnostic::error("policy::arity", span, "`time` takes one string literal", "here")
                        .with_help(format!("write `{}(\"2026-12-24T00:00:00Z\")`", function.name)),
                );
                return self.invalid();
            }
        };
        match switchyard_engine::Timestamp::parse_rfc3339(text) {
            Ok(at) => constant(Typed::Number(at.0 as f64), Type::Time),
            Err(error) => {
                self.error(
                    Diagnostic::error("policy::time", args[0].span, error.to_string(), "not a time").with_help(
                        "write an RFC 3339 time, e.g. `2026-12-24T00:00:00Z` or `2026-12-24T00:00:00-05:00`",
                    ),
                );
                self.invalid()
            }
        }
    }

    fn index(&mut self, base: &Expr, key: &Expr, span: Span) -> Checked {
        let ExprKind::Variable(name) = &base.kind else {
            self.error(Diagnostic::error(
                "policy::type",
                base.span,
                "only tables and bands can be indexed",
                "not a table",
            ));
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
                    "policy::type",
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
                    "policy::type",
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
        let known: Vec<&str> = self.tables.keys().chain(self.band_map.keys()).map(String::as_str).collect();
        let mut diagnostic =
            Diagnostic::error("policy::unknown_name", base.span, format!("unknown table `{name}`"), "not a table");
        diagnostic = match did_you_mean(name, known) {
            Some(near) => diagnostic.with_help(format!("did you mean `{near}`?")),
            None => diagnostic.with_help("declare it with `table NAME { key: value, ... }` or `bands NAME { up to N: value, ..., beyond: value }`"),
        };
        let _ = span;
        self.error(diagnostic);
        self.invalid()
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr, span: Span) -> Checked {
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
                "policy::type",
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

fn article(ty: Type) -> String {
    let name = ty.name();
    match name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {name}"),
        _ if ty == Type::Money => "money".to_owned(),
        _ => format!("a {name}"),
    }
}

/// Evaluates an expression made only of constants.
pub fn fold(expr: &Typed) -> Option<Typed> {
    Some(match expr {
        Typed::Number(_) | Typed::Bool(_) | Typed::String(_) | Typed::StringList(_) => expr.clone(),
        Typed::Unary(UnaryOp::Not, operand) => match fold(operand)? {
            Typed::Bool(b) => Typed::Bool(!b),
            _ => return None,
        },
        Typed::Unary(UnaryOp::Neg, operand) => match fold(operand)? {
            Typed::Number(n) => Typed::Number(-n),
            _ => return None,
        },
        Typed::Binary(op, _, left, right) => match (fold(left)?, fold(right)?) {
            (Typed::Number(a), Typed::Number(b)) => match op {
                BinaryOp::Add => Typed::Number(a + b),
                BinaryOp::Sub => Typed::Number(a - b),
                BinaryOp::Mul => Typed::Number(a * b),
                BinaryOp::Div => Typed::Number(a / b),
                BinaryOp::Eq => Typed::Bool(a == b),
                BinaryOp::Ne => Typed::Bool(a != b),
                BinaryOp::Lt => Typed::Bool(a < b),
                BinaryOp::Le => Typed::Bool(a <= b),
                BinaryOp::Gt => Typed::Bool(a > b),
                BinaryOp::Ge => Typed::Bool(a >= b),
                _ => return None,
            },
            (Typed::Bool(a), Typed::Bool(b)) => match op {
                BinaryOp::And => Typed::Bool(a && b),
                BinaryOp::Or => Typed::Bool(a || b),
                BinaryOp::Eq => Typed::Bool(a == b),
                BinaryOp::Ne => Typed::Bool(a != b),
                _ => return None,
            },
            (Typed::String(a), Typed::String(b)) => match op {
                BinaryOp::Eq => Typed::Bool(a == b),
                BinaryOp::Ne => Typed::Bool(a != b),
                _ => return None,
            },
            _ => return None,
        },
        Typed::Call(function, args) => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                match fold(arg)? {
                    Typed::Number(n) => values.push(n),
                    _ => return None,
                }
            }
            let first = *values.first()?;
            Typed::Number(match function {
                Function::Min => first.min(*values.get(1)?),
                Function::Max => first.max(*values.get(1)?),
                Function::Floor => first.floor(),
                Function::Ceil => first.ceil(),
                Function::Hours => first / 3600.0,
                Function::Days => first / 86_400.0,
            })
        }
        Typed::If(condition, then, otherwise) => match fold(condition)? {
            Typed::Bool(true) => fold(then)?,
            Typed::Bool(false) => fold(otherwise)?,
            _ => return None,
        },
        _ => return None,
    })
}
