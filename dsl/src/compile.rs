//! Typed policy to closures: every field, table and name resolved at compile time, so routing
//! never parses or looks a name up. The result implements [`switchyard_engine::Policy`].

use std::cell::RefCell;
use std::sync::Arc;

use switchyard_engine::{
    CandidateLocation, Catalog, DeliveryView, Evaluation, LateDelivery, Location, LocationDelivery, Order, Policy,
    PolicyError, PolicyInfo, PolicyRequest, ShortStock, TieBreak, Verdict,
};

use crate::ast::{Aggregate, BinaryOp, UnaryOp};
use crate::check::{
    BandTable, CheckedPolicy, Function, ItemField, LineField, LineRef, LocationField, OrderField, ShortStockPlan,
    Table, TableKey, Typed,
};

/// What an expression is evaluated against.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    catalog: &'a Catalog,
    order: &'a Order,
    now: f64,
    line: usize,
    bound: usize,
    location: Option<&'a Location>,
    // The candidate location's index in the catalog (`usize::MAX`: none), the key of
    // location-dependent lets.
    location_index: usize,
    candidate: Option<&'a CandidateLocation>,
    // The order's carrier service and each location's dates by it, when it has one.
    delivery: Option<&'a DeliveryView>,
    atp: f64,
    strings: &'a [String],
    lists: &'a [Vec<String>],
    lets: &'a [CompiledLet],
    let_values: &'a RefCell<Vec<LetValue<'a>>>,
}

// `order.deliver_by` when nothing was promised: 9999-12-31, later than any date.
const FAR_FUTURE: f64 = 253_402_214_400.0;
const SECONDS_PER_DAY: i64 = 86_400;

impl Ctx<'_> {
    // The candidate location's dates by the order's carrier service.
    fn dates(&self) -> Option<&LocationDelivery> {
        self.delivery.and_then(|delivery| delivery.location(self.location_index))
    }
}

type NumFn = Box<dyn Fn(&Ctx<'_>) -> f64 + Send + Sync>;
type BoolFn = Box<dyn Fn(&Ctx<'_>) -> bool + Send + Sync>;
type StrFn = Box<dyn for<'a> Fn(&Ctx<'a>) -> &'a str + Send + Sync>;
type ListFn = Box<dyn for<'a> Fn(&Ctx<'a>) -> &'a [String] + Send + Sync>;

/// A compiled `let`: its expression, and what its value depends on.
struct CompiledLet {
    value: LetFn,
    line: bool,
    location: bool,
}

enum LetFn {
    Number(NumFn),
    Bool(BoolFn),
    String(StrFn),
    List(ListFn),
}

/// A let's value as last computed, and for which line and location (`usize::MAX`: the let
/// does not depend on it).
#[derive(Clone, Copy)]
enum LetValue<'a> {
    Unknown,
    Number(usize, usize, f64),
    Bool(usize, usize, bool),
    String(usize, usize, &'a str),
    List(usize, usize, &'a [String]),
}

impl<'a> Ctx<'a> {
    // The context key of let `index`: the line and location it depends on.
    fn let_key(&self, index: usize) -> (usize, usize) {
        match self.lets.get(index) {
            Some(compiled) => (
                if compiled.line { self.line } else { usize::MAX },
                if compiled.location { self.location_index } else { usize::MAX },
            ),
            None => (usize::MAX, usize::MAX),
        }
    }

    // The value of let `index` in this context: computed on first use, then reused until the
    // line or location it depends on changes. Each let is evaluated once per context.
    fn let_value(&self, index: usize) -> LetValue<'a> {
        let key = self.let_key(index);
        let cached = self.let_values.borrow().get(index).copied().unwrap_or(LetValue::Unknown);
        let fresh = match cached {
            LetValue::Number(l, c, _)
            | LetValue::Bool(l, c, _)
            | LetValue::String(l, c, _)
            | LetValue::List(l, c, _) => (l, c) == key,
            LetValue::Unknown => false,
        };
        if fresh {
            return cached;
        }
        // Computed without the cache borrowed: the let may use lets before it.
        let (line, location) = key;
        let value = match self.lets.get(index).map(|l| &l.value) {
            Some(LetFn::Number(f)) => LetValue::Number(line, location, f(self)),
            Some(LetFn::Bool(f)) => LetValue::Bool(line, location, f(self)),
            Some(LetFn::String(f)) => LetValue::String(line, location, f(self)),
            Some(LetFn::List(f)) => LetValue::List(line, location, f(self)),
            None => LetValue::Unknown,
        };
        if let Some(slot) = self.let_values.borrow_mut().get_mut(index) {
            *slot = value;
        }
        value
    }
}

/// A compiled policy.
pub struct DslPolicy {
    info: Arc<PolicyInfo>,
    groups: Vec<String>,
    strings: Vec<String>,
    lists: Vec<Vec<String>>,
    lets: Vec<CompiledLet>,
    // Rules that do not look at a line: evaluated once per location.
    location_rules: Vec<(Arc<str>, BoolFn)>,
    // Rules that look at a line: evaluated per line and location.
    entry_rules: Vec<(Arc<str>, BoolFn)>,
    unit_cost: NumFn,
    shipment_cost: NumFn,
    max_shipments: NumFn,
    split_penalty: NumFn,
    line_may_split: BoolFn,
    ship_together: Option<StrFn>,
    unfilled_penalty: Option<NumFn>,
    backorder_within: Option<i64>,
    late_delivery: LateDelivery,
    tie_break: TieBreak,
    look_ahead: Option<switchyard_engine::lookahead::LookAheadSettings>,
    rule_count: usize,
    params: Vec<String>,
}

impl DslPolicy {
    /// The product groups the policy names in `applies to` (empty: all groups).
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// Names of the policy's params.
    pub fn params(&self) -> &[String] {
        &self.params
    }

    /// Number of exclusion and requirement rules.
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }
}

struct Compiler<'p> {
    tables: &'p [Table],
    bands: &'p [BandTable],
    strings: Vec<String>,
    lists: Vec<Vec<String>>,
}

/// Compiles a checked policy.
pub fn compile(policy: &CheckedPolicy) -> DslPolicy {
    let mut compiler =
        Compiler { tables: &policy.tables, bands: &policy.bands, strings: Vec::new(), lists: Vec::new() };
    let lets: Vec<CompiledLet> = policy
        .lets
        .iter()
        .map(|checked| CompiledLet {
            value: match checked.ty {
                crate::check::Type::Bool => LetFn::Bool(compiler.boolean(&checked.expr)),
                crate::check::Type::String => LetFn::String(compiler.string(&checked.expr)),
                crate::check::Type::StringList => LetFn::List(compiler.list(&checked.expr)),
                _ => LetFn::Number(compiler.number(&checked.expr)),
            },
            line: checked.needs.line,
            location: checked.needs.location,
        })
        .collect();
    let mut location_rules = Vec::new();
    let mut entry_rules = Vec::new();
    for rule in &policy.rules {
        let compiled = (
            Arc::from(switchyard_engine::clean_text(&rule.name, switchyard_engine::MAX_REASON_CHARS)),
            compiler.boolean(&rule.condition.expr),
        );
        if rule.condition.needs.line { entry_rules.push(compiled) } else { location_rules.push(compiled) }
    }
    let unit_cost = compiler.number(&policy.unit_cost.expr);
    let shipment_cost = compiler.number(&policy.shipment_cost.expr);
    let max_shipments = compiler.number(&policy.max_shipments.expr);
    let split_penalty = compiler.number(&policy.split_penalty.expr);
    let line_may_split = compiler.boolean(&policy.line_may_split.expr);
    let ship_together = policy.ship_together.as_ref().map(|checked| compiler.string(&checked.expr));
    let unfilled_penalty = match &policy.short_stock {
        ShortStockPlan::Reject => None,
        ShortStockPlan::Partial(checked) => Some(compiler.number(&checked.expr)),
    };
    let tie_break = match policy.tie_break.first().map(String::as_str) {
        Some("distance") => TieBreak::DistanceThenPriority,
        _ => TieBreak::PriorityThenDistance,
    };
    DslPolicy {
        info: Arc::new(PolicyInfo { name: policy.name.clone(), version: policy.version.clone() }),
        groups: policy.groups.clone(),
        strings: compiler.strings,
        lists: compiler.lists,
        lets,
        rule_count: location_rules.len() + entry_rules.len(),
        location_rules,
        entry_rules,
        unit_cost,
        shipment_cost,
        max_shipments,
        split_penalty,
        line_may_split,
        ship_together,
        unfilled_penalty,
        backorder_within: policy.backorder_within,
        late_delivery: policy.late_delivery,
        tie_break,
        look_ahead: policy.look_ahead,
        params: policy.params.clone(),
    }
}

fn line_of(ctx: &Ctx<'_>, line: LineRef) -> usize {
    match line {
        LineRef::Current => ctx.line,
        LineRef::Bound => ctx.bound,
    }
}

impl Compiler<'_> {
    fn number(&mut self, expr: &Typed) -> NumFn {
        match expr {
            Typed::Number(n) => {
                let n = *n;
                Box::new(move |_| n)
            }
            Typed::Now => Box::new(|c| c.now),
            Typed::DistanceKm => Box::new(|c| c.candidate.map_or(0.0, |l| l.distance_km)),
            Typed::Atp => Box::new(|c| c.atp),
            Typed::Order(field) => match field {
                OrderField::PlacedAt => Box::new(|c| c.order.placed_at.0 as f64),
                OrderField::LineCount => Box::new(|c| c.order.lines.len() as f64),
                OrderField::Lat => Box::new(|c| c.order.ship_to.position.lat),
                OrderField::Lon => Box::new(|c| c.order.ship_to.position.lon),
                OrderField::DeliverBy => Box::new(|c| {
                    c.delivery.and_then(|d| d.deliver_by).map_or(FAR_FUTURE, |day| (day * SECONDS_PER_DAY) as f64)
                }),
                _ => Box::new(|c| c.order.lines.iter().map(|l| f64::from(l.qty)).sum()),
            },
            Typed::Line(line, LineField::Qty) => {
                let line = *line;
                Box::new(move |c| c.order.lines.get(line_of(c, line)).map_or(0.0, |l| f64::from(l.qty)))
            }
            Typed::Item(line, ItemField::WeightKg) => {
                let line = *line;
                Box::new(move |c| {
                    c.order.lines.get(line_of(c, line)).map_or(0.0, |l| c.catalog.product(l.sku).weight_kg)
                })
            }
            Typed::Location(field) => {
                let field = *field;
                Box::new(move |c| {
                    let Some(location) = c.location else { return 0.0 };
                    match field {
                        LocationField::HandlingPerShipment => location.handling_per_shipment,
                        LocationField::HandlingPerUnit => location.handling_per_unit,
                        LocationField::Priority => f64::from(location.priority),
                        LocationField::Lat => location.position.lat,
                        LocationField::Lon => location.position.lon,
                        LocationField::ShipmentsLeft => {
                            c.candidate.and_then(|l| l.shipments_left).map_or(f64::from(u32::MAX), f64::from)
                        }
                        // Without a service, or from a location it cannot ship from: the order's
                        // own time, no transit.
                        LocationField::TransitDays => c.dates().map_or(0.0, |dates| f64::from(dates.transit_days)),
                        LocationField::ShipDate => {
                            c.dates().map_or(c.now, |dates| (dates.ship_day * SECONDS_PER_DAY) as f64)
                        }
                        LocationField::DeliveryDate => {
                            c.dates().map_or(c.now, |dates| (dates.delivery_day * SECONDS_PER_DAY) as f64)
                        }
                        _ => 0.0,
                    }
                })
            }
            Typed::TableNumber(index, key) => {
                let entries: Vec<(f64, f64)> = self.tables[*index]
                    .entries
                    .iter()
                    .filter_map(|(k, v)| match k {
                        TableKey::Number(k) => Some((*k, *v)),
                        TableKey::String(_) => None,
                    })
                    .collect();
                let key = self.number(key);
                // A key not in the table is NaN: the engine refuses the answer, naming the policy.
                Box::new(move |c| {
                    let k = key(c);
                    entries.iter().find(|(entry, _)| *entry == k).map_or(f64::NAN, |(_, v)| *v)
                })
            }
            Typed::TableString(index, key) => {
                let entries: Vec<(String, f64)> = self.tables[*index]
                    .entries
                    .iter()
                    .filter_map(|(k, v)| match k {
                        TableKey::String(k) => Some((k.clone(), *v)),
                        TableKey::Number(_) => None,
                    })
                    .collect();
                let key = self.string(key);
                Box::new(move |c| {
                    let k = key(c);
                    entries.iter().find(|(entry, _)| entry == k).map_or(f64::NAN, |(_, v)| *v)
                })
            }
            Typed::Bands(index, key) => {
                let bands = self.bands[*index].bands.clone();
                let key = self.number(key);
                Box::new(move |c| {
                    let k = key(c);
                    bands.iter().find(|(bound, _)| k <= *bound).or(bands.last()).map_or(f64::NAN, |(_, v)| *v)
                })
            }
            Typed::Unary(_, operand) => {
                let operand = self.number(operand);
                Box::new(move |c| -operand(c))
            }
            Typed::Binary(op, _, left, right) => {
                let (left, right) = (self.number(left), self.number(right));
                match op {
                    BinaryOp::Add => Box::new(move |c| left(c) + right(c)),
                    BinaryOp::Sub => Box::new(move |c| left(c) - right(c)),
                    BinaryOp::Mul => Box::new(move |c| left(c) * right(c)),
                    _ => Box::new(move |c| left(c) / right(c)),
                }
            }
            Typed::If(condition, then, otherwise) => {
                let (condition, then, otherwise) = (self.boolean(condition), self.number(then), self.number(otherwise));
                Box::new(move |c| if condition(c) { then(c) } else { otherwise(c) })
            }
            Typed::Aggregate(Aggregate::Count, body) => {
                let body = self.boolean(body);
                Box::new(move |c| (0..c.order.lines.len()).filter(|&i| body(&Ctx { bound: i, ..*c })).count() as f64)
            }
            Typed::Aggregate(_, body) => {
                let body = self.number(body);
                Box::new(move |c| (0..c.order.lines.len()).map(|i| body(&Ctx { bound: i, ..*c })).sum())
            }
            Typed::Call(function, args) => {
                let mut args: Vec<NumFn> = args.iter().map(|a| self.number(a)).collect();
                let first = args.remove(0);
                match function {
                    Function::Min => {
                        let second = args.remove(0);
                        Box::new(move |c| first(c).min(second(c)))
                    }
                    Function::Max => {
                        let second = args.remove(0);
                        Box::new(move |c| first(c).max(second(c)))
                    }
                    Function::Floor => Box::new(move |c| first(c).floor()),
                    Function::Ceil => Box::new(move |c| first(c).ceil()),
                    Function::Hours => Box::new(move |c| first(c) / 3600.0),
                    Function::Days => Box::new(move |c| first(c) / 86_400.0),
                }
            }
            Typed::Let(index) => {
                let index = *index;
                Box::new(move |c| match c.let_value(index) {
                    LetValue::Number(_, _, n) => n,
                    _ => f64::NAN,
                })
            }
            // The checker only lets number-typed expressions reach here.
            _ => Box::new(|_| f64::NAN),
        }
    }

    fn boolean(&mut self, expr: &Typed) -> BoolFn {
        match expr {
            Typed::Bool(b) => {
                let b = *b;
                Box::new(move |_| b)
            }
            Typed::HasTag(line, tag) => {
                let line = *line;
                let tag = self.string(tag);
                Box::new(move |c| {
                    let tag = tag(c);
                    c.order.lines.get(line_of(c, line)).is_some_and(|l| c.catalog.product(l.sku).has_tag(tag))
                })
            }
            Typed::Can(capability) => {
                let capability = self.string(capability);
                Box::new(move |c| c.location.is_some_and(|l| l.can(capability(c))))
            }
            Typed::ClosedAt(at) => {
                let at = self.number(at);
                Box::new(move |c| c.location.is_some_and(|l| l.is_down_at(switchyard_engine::Timestamp(at(c) as i64))))
            }
            Typed::Contains(list, item) => {
                let (list, item) = (self.list(list), self.string(item));
                Box::new(move |c| {
                    let item = item(c);
                    list(c).iter().any(|x| x == item)
                })
            }
            Typed::Unary(UnaryOp::Not, operand) => {
                let operand = self.boolean(operand);
                Box::new(move |c| !operand(c))
            }
            Typed::Binary(op, operand_type, left, right) => match (op, operand_type) {
                (BinaryOp::And, _) => {
                    let (left, right) = (self.boolean(left), self.boolean(right));
                    Box::new(move |c| left(c) && right(c))
                }
                (BinaryOp::Or, _) => {
                    let (left, right) = (self.boolean(left), self.boolean(right));
                    Box::new(move |c| left(c) || right(c))
                }
                (BinaryOp::Eq | BinaryOp::Ne, crate::check::Type::Bool) => {
                    let (left, right) = (self.boolean(left), self.boolean(right));
                    let equal = *op == BinaryOp::Eq;
                    Box::new(move |c| (left(c) == right(c)) == equal)
                }
                (BinaryOp::Eq | BinaryOp::Ne, crate::check::Type::String) => {
                    let (left, right) = (self.string(left), self.string(right));
                    let equal = *op == BinaryOp::Eq;
                    Box::new(move |c| (left(c) == right(c)) == equal)
                }
                _ => {
                    let (left, right) = (self.number(left), self.number(right));
                    match op {
                        BinaryOp::Eq => Box::new(move |c| left(c) == right(c)),
                        BinaryOp::Ne => Box::new(move |c| left(c) != right(c)),
                        BinaryOp::Lt => Box::new(move |c| left(c) < right(c)),
                        BinaryOp::Le => Box::new(move |c| left(c) <= right(c)),
                        BinaryOp::Gt => Box::new(move |c| left(c) > right(c)),
                        _ => Box::new(move |c| left(c) >= right(c)),
                    }
                }
            },
            Typed::If(condition, then, otherwise) => {
                let (condition, then, otherwise) =
                    (self.boolean(condition), self.boolean(then), self.boolean(otherwise));
                Box::new(move |c| if condition(c) { then(c) } else { otherwise(c) })
            }
            Typed::Aggregate(Aggregate::Any, body) => {
                let body = self.boolean(body);
                Box::new(move |c| (0..c.order.lines.len()).any(|i| body(&Ctx { bound: i, ..*c })))
            }
            Typed::Aggregate(_, body) => {
                let body = self.boolean(body);
                Box::new(move |c| (0..c.order.lines.len()).all(|i| body(&Ctx { bound: i, ..*c })))
            }
            Typed::Let(index) => {
                let index = *index;
                Box::new(move |c| matches!(c.let_value(index), LetValue::Bool(_, _, true)))
            }
            _ => Box::new(|_| false),
        }
    }

    fn string(&mut self, expr: &Typed) -> StrFn {
        match expr {
            Typed::String(s) => {
                let index = self.strings.len();
                self.strings.push(s.clone());
                Box::new(move |c| c.strings.get(index).map_or("", String::as_str))
            }
            Typed::Order(field) => match field {
                OrderField::Id => Box::new(|c| c.order.id.as_str()),
                OrderField::Channel => Box::new(|c| c.order.channel.as_str()),
                OrderField::PostalCode => Box::new(|c| c.order.ship_to.postal_code.as_str()),
                OrderField::Service => Box::new(|c| c.delivery.map_or("", |d| d.service.as_str())),
                _ => Box::new(|c| c.order.ship_to.country.as_str()),
            },
            Typed::Line(line, _) => {
                let line = *line;
                Box::new(move |c| c.order.lines.get(line_of(c, line)).map_or("", |l| l.id.as_str()))
            }
            Typed::Item(line, field) => {
                let (line, field) = (*line, *field);
                Box::new(move |c| {
                    c.order.lines.get(line_of(c, line)).map_or("", |l| {
                        let product = c.catalog.product(l.sku);
                        if field == ItemField::Group { product.group.as_str() } else { product.sku.as_str() }
                    })
                })
            }
            Typed::Location(field) => {
                let field = *field;
                Box::new(move |c| {
                    c.location.map_or("", |l| if field == LocationField::Kind { l.kind.name() } else { l.id.as_str() })
                })
            }
            Typed::If(condition, then, otherwise) => {
                let (condition, then, otherwise) = (self.boolean(condition), self.string(then), self.string(otherwise));
                Box::new(move |c| if condition(c) { then(c) } else { otherwise(c) })
            }
            Typed::Let(index) => {
                let index = *index;
                Box::new(move |c| match c.let_value(index) {
                    LetValue::String(_, _, s) => s,
                    _ => "",
                })
            }
            _ => Box::new(|_| ""),
        }
    }

    fn list(&mut self, expr: &Typed) -> ListFn {
        match expr {
            Typed::StringList(items) => {
                let index = self.lists.len();
                self.lists.push(items.clone());
                Box::new(move |c| c.lists.get(index).map_or(&[][..], Vec::as_slice))
            }
            Typed::Item(line, _) => {
                let line = *line;
                Box::new(move |c| {
                    c.order.lines.get(line_of(c, line)).map_or(&[][..], |l| c.catalog.product(l.sku).tags.as_slice())
                })
            }
            Typed::Location(_) => Box::new(|c| c.location.map_or(&[][..], |l| l.capabilities.as_slice())),
            Typed::Let(index) => {
                let index = *index;
                Box::new(move |c| match c.let_value(index) {
                    LetValue::List(_, _, list) => list,
                    _ => &[][..],
                })
            }
            _ => Box::new(|_| &[][..]),
        }
    }
}

impl Policy for DslPolicy {
    fn info(&self) -> Arc<PolicyInfo> {
        Arc::clone(&self.info)
    }

    fn late_delivery(&self) -> LateDelivery {
        self.late_delivery
    }

    fn look_ahead(&self) -> Option<switchyard_engine::lookahead::LookAheadSettings> {
        self.look_ahead
    }

    fn evaluate(&self, request: &PolicyRequest<'_>, out: &mut Evaluation) -> Result<(), PolicyError> {
        let candidates = request.candidates;
        let let_values = RefCell::new(vec![LetValue::Unknown; self.lets.len()]);
        let mut ctx = Ctx {
            catalog: request.catalog,
            order: request.order,
            now: request.now.0 as f64,
            line: usize::MAX,
            bound: usize::MAX,
            location: None,
            location_index: usize::MAX,
            candidate: None,
            delivery: request.delivery,
            atp: 0.0,
            strings: &self.strings,
            lists: &self.lists,
            lets: &self.lets,
            let_values: &let_values,
        };
        for (slot, candidate) in candidates.locations.iter().enumerate() {
            ctx.location = Some(request.catalog.location(candidate.location));
            ctx.location_index = candidate.location.index();
            ctx.candidate = Some(candidate);
            out.shipment[slot] = match self.location_rules.iter().find(|(_, rule)| rule(&ctx)) {
                Some((name, _)) => Verdict::Excluded(Arc::clone(name)),
                None => Verdict::Cost((self.shipment_cost)(&ctx)),
            };
        }
        for line in 0..request.order.lines.len() {
            ctx.line = line;
            for entry in candidates.line_range(line) {
                let candidate = candidates.entries[entry];
                let slot = candidate.slot as usize;
                if let Verdict::Excluded(rule) = &out.shipment[slot] {
                    out.units[entry] = Verdict::Excluded(Arc::clone(rule));
                    continue;
                }
                let location = &candidates.locations[slot];
                ctx.location = Some(request.catalog.location(location.location));
                ctx.location_index = location.location.index();
                ctx.candidate = Some(location);
                ctx.atp = f64::from(candidate.atp);
                out.units[entry] = match self.entry_rules.iter().find(|(_, rule)| rule(&ctx)) {
                    Some((name, _)) => Verdict::Excluded(Arc::clone(name)),
                    None => Verdict::Cost((self.unit_cost)(&ctx)),
                };
            }
        }
        ctx.location = None;
        ctx.location_index = usize::MAX;
        ctx.candidate = None;
        ctx.line = usize::MAX;
        let max_shipments = (self.max_shipments)(&ctx);
        if !(max_shipments.is_finite() && max_shipments >= 1.0) {
            return Err(PolicyError {
                policy: format!("{}@{}", self.info.name, self.info.version),
                message: format!("`max_shipments` evaluated to {max_shipments}; it must be at least 1"),
            });
        }
        out.split.max_shipments = max_shipments.min(f64::from(u32::MAX)) as u32;
        out.split.split_penalty = (self.split_penalty)(&ctx);
        for line in 0..request.order.lines.len() {
            out.split.line_may_split[line] = (self.line_may_split)(&Ctx { line, ..ctx });
        }
        if let Some(ship_together) = &self.ship_together {
            // Equal non-empty keys are one group; groups are numbered from 1 in line order.
            let keys: Vec<&str> =
                (0..request.order.lines.len()).map(|line| ship_together(&Ctx { line, ..ctx })).collect();
            for (line, key) in keys.iter().enumerate() {
                out.split.ship_together[line] = if key.is_empty() {
                    0
                } else {
                    keys.iter().position(|other| other == key).map_or(0, |first| first as u32 + 1)
                };
            }
        }
        out.backorder_within = self.backorder_within;
        out.short_stock = match &self.unfilled_penalty {
            Some(penalty) => ShortStock::Partial { unfilled_penalty: penalty(&ctx) },
            None => ShortStock::Reject,
        };
        out.tie_break = self.tie_break;
        Ok(())
    }
}
