//! The checked form: what checking produces and compiling consumes. Every name is resolved,
//! every expression typed and annotated with what it needs (a line, a location).

use std::collections::HashMap;

use crate::ast::{Aggregate, BinaryOp, Literal, UnaryOp};

use super::schema::{Function, ItemField, LineField, LineRef, LocationField, OrderField};
use super::types::Type;

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
    /// The value of a `let`: index into [`CheckedPolicy::lets`].
    Let(usize),
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
    pub(super) fn or(self, other: Needs) -> Needs {
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
    /// Every `let`, in source order; a let refers only to those before it.
    pub lets: Vec<Checked>,
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
    /// What becomes of an order promised for a day no location can meet.
    pub late_delivery: switchyard_engine::LateDelivery,
    /// `backorder within`: units short now may wait for inbound stock expected within this
    /// many seconds (where the service tracks inbound stock); otherwise `short_stock` applies.
    pub backorder_within: Option<i64>,
    /// Tie-break keys as written (`priority`, `distance`).
    pub tie_break: Vec<String>,
    /// `look ahead { ... }`: look-ahead pricing of scarce stock (`None` without the block or
    /// with a weight of 0).
    pub look_ahead: Option<switchyard_engine::lookahead::LookAheadSettings>,
    /// Names of the params, in source order.
    pub params: Vec<String>,
}

/// Overrides for parameters, by name, as literal values.
pub type ParamOverrides = HashMap<String, Literal>;
pub(super) fn constant(expr: Typed, ty: Type) -> Checked {
    Checked { expr, ty, needs: Needs::default() }
}
pub(super) fn literal_value(literal: &Literal) -> Typed {
    match literal {
        Literal::Number(n) | Literal::Money(n) => Typed::Number(*n),
        Literal::Duration(d) => Typed::Number(*d as f64),
        Literal::String(s) => Typed::String(s.clone()),
        Literal::Bool(b) => Typed::Bool(*b),
    }
}
