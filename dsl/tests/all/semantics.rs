//! The compiled closures compute what the language means: random constant expressions give
//! the same value compiled (evaluated per order while routing) as folded by the checker, and
//! as computed here directly in Rust.

use std::sync::Arc;

use proptest::prelude::*;
use switchyard_dsl::{load, no_overrides};
use switchyard_engine::{
    Address, CandidateLocation, Candidates, Catalog, Evaluation, GeoPoint, LocationId, LocationKind, Order, Policy,
    PolicyRequest, ShortStock, Timestamp,
};

/// A random arithmetic expression over small numbers, with its value computed in Rust.
#[derive(Clone, Debug)]
enum Arith {
    Number(u8),
    Add(Box<Arith>, Box<Arith>),
    Sub(Box<Arith>, Box<Arith>),
    Mul(Box<Arith>, Box<Arith>),
    Neg(Box<Arith>),
    Min(Box<Arith>, Box<Arith>),
    If(Box<Arith>, Box<Arith>, Box<Arith>),
}

impl Arith {
    fn text(&self) -> String {
        match self {
            Arith::Number(n) => n.to_string(),
            Arith::Add(a, b) => format!("({} + {})", a.text(), b.text()),
            Arith::Sub(a, b) => format!("({} - {})", a.text(), b.text()),
            Arith::Mul(a, b) => format!("({} * {})", a.text(), b.text()),
            Arith::Neg(a) => format!("(-{})", a.text()),
            Arith::Min(a, b) => format!("min({}, {})", a.text(), b.text()),
            Arith::If(c, a, b) => format!("(if {} > 3 then {} else {})", c.text(), a.text(), b.text()),
        }
    }

    fn value(&self) -> f64 {
        match self {
            Arith::Number(n) => f64::from(*n),
            Arith::Add(a, b) => a.value() + b.value(),
            Arith::Sub(a, b) => a.value() - b.value(),
            Arith::Mul(a, b) => a.value() * b.value(),
            Arith::Neg(a) => -a.value(),
            Arith::Min(a, b) => a.value().min(b.value()),
            Arith::If(c, a, b) => {
                if c.value() > 3.0 {
                    a.value()
                } else {
                    b.value()
                }
            }
        }
    }
}

fn arith() -> impl Strategy<Value = Arith> {
    (0u8..10).prop_map(Arith::Number).prop_recursive(5, 40, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Arith::Add(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Arith::Sub(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Arith::Mul(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| Arith::Neg(Box::new(a))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Arith::Min(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone(), inner).prop_map(|(c, a, b)| Arith::If(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            )),
        ]
    })
}

/// The unfilled penalty a policy computes for an order with no lines to speak of: the
/// expression under test, evaluated by the compiled closures.
fn evaluate(expression: &str, as_param: bool) -> f64 {
    let source = if as_param {
        format!(
            // The param is folded at check time; the penalty is computed per order (a constant
            // penalty out of range would be refused before this could read it).
            "policy t v1 applies to all groups {{\n param x = {expression}\n unit cost = $1\n shipment cost = $1\n short stock: partial at $1 * x + $0 * order.line_count\n}}\n"
        )
    } else {
        format!(
            "policy t v1 applies to all groups {{\n let x = {expression} + order.line_count * 0\n unit cost = $1\n shipment cost = $1\n short stock: partial at $1 * x\n}}\n"
        )
    };
    let (policy, _) = load("t.policy", &source, &no_overrides()).unwrap_or_else(|d| panic!("{}", d.render()));
    let mut catalog = Catalog::new();
    catalog
        .add_location(switchyard_engine::Location {
            id: "L".into(),
            kind: LocationKind::Store,
            position: GeoPoint { lat: 0.0, lon: 0.0 },
            handling_per_shipment: 0.0,
            handling_per_unit: 0.0,
            capacity_shipments_per_day: None,
            downtime: vec![],
            capabilities: vec![],
            priority: 0,
            utc_offset_minutes: 0,
            fulfilment: switchyard_engine::calendar::Fulfilment::default(),
        })
        .unwrap();
    let order = Order {
        id: "O".into(),
        placed_at: Timestamp(0),
        channel: "web".into(),
        ship_to: Address {
            position: GeoPoint { lat: 0.0, lon: 0.0 },
            postal_code: String::new(),
            country: String::new(),
        },
        lines: vec![],
    };
    let mut candidates = Candidates::default();
    candidates.clear();
    candidates.locations.push(CandidateLocation {
        location: LocationId(0),
        distance_km: 0.0,
        shipments_left: None,
        blocked: None,
    });
    let mut evaluation = Evaluation::default();
    evaluation.reset(&candidates);
    let request =
        PolicyRequest { catalog: &catalog, order: &order, now: Timestamp(0), candidates: &candidates, delivery: None };
    policy.evaluate(&request, &mut evaluation).unwrap();
    let _: Arc<_> = policy.info();
    match evaluation.short_stock {
        ShortStock::Partial { unfilled_penalty } => unfilled_penalty,
        ShortStock::Reject => panic!("partial expected"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn compiled_expressions_compute_what_they_say(expression in arith()) {
        let expected = expression.value();
        let compiled = evaluate(&expression.text(), false);
        let folded = evaluate(&expression.text(), true);
        prop_assert_eq!(compiled, expected, "compiled {}", expression.text());
        prop_assert_eq!(folded, expected, "folded {}", expression.text());
    }
}

#[test]
fn values_outside_a_policy_are_read_as_the_language_writes_them() {
    use switchyard_dsl::ast::Literal;
    use switchyard_dsl::parse::literal;
    assert_eq!(literal("3"), Some(Literal::Number(3.0)));
    assert_eq!(literal("-2.5"), Some(Literal::Number(-2.5)));
    assert_eq!(literal("-$2.50"), Some(Literal::Money(-2.5)));
    assert_eq!(literal("14d"), Some(Literal::Duration(14 * 86_400)));
    assert_eq!(literal("true"), Some(Literal::Bool(true)));
    assert_eq!(literal("\"b2b\""), Some(Literal::String("b2b".into())));
    for not_a_value in ["inf", "NaN", "1e3", "b2b", "-true", "$", "", "3 4"] {
        assert_eq!(literal(not_a_value), None, "{not_a_value}");
    }
}

#[test]
fn a_let_that_doubles_the_one_before_costs_one_evaluation_not_two() {
    // Each `let` uses the one before twice. Copied into each use, the last one would be a tree
    // of 2^60 nodes; as slots evaluated once per context, it is 60 additions.
    let mut source = String::from("policy t v1 applies to all groups {\n let a0 = order.line_count * 0 + 1\n");
    for n in 1..=60 {
        source.push_str(&format!(" let a{n} = a{} + a{}\n", n - 1, n - 1));
    }
    source.push_str(" unit cost = $1\n shipment cost = $1\n short stock: partial at $1 * a60 / a58\n}\n");
    let (policy, _) = load("bomb.policy", &source, &no_overrides()).unwrap_or_else(|d| panic!("{}", d.render()));
    // Evaluated: 2^60 / 2^58 = 4, exactly.
    let mut catalog = Catalog::new();
    catalog
        .add_location(switchyard_engine::Location {
            id: "L".into(),
            kind: LocationKind::Store,
            position: GeoPoint { lat: 0.0, lon: 0.0 },
            handling_per_shipment: 0.0,
            handling_per_unit: 0.0,
            capacity_shipments_per_day: None,
            downtime: vec![],
            capabilities: vec![],
            priority: 0,
            utc_offset_minutes: 0,
            fulfilment: switchyard_engine::calendar::Fulfilment::default(),
        })
        .unwrap();
    let order = Order {
        id: "O".into(),
        placed_at: Timestamp(0),
        channel: "web".into(),
        ship_to: Address {
            position: GeoPoint { lat: 0.0, lon: 0.0 },
            postal_code: String::new(),
            country: String::new(),
        },
        lines: vec![],
    };
    let mut candidates = Candidates::default();
    candidates.clear();
    let mut evaluation = Evaluation::default();
    evaluation.reset(&candidates);
    let request =
        PolicyRequest { catalog: &catalog, order: &order, now: Timestamp(0), candidates: &candidates, delivery: None };
    policy.evaluate(&request, &mut evaluation).unwrap();
    assert_eq!(evaluation.short_stock, ShortStock::Partial { unfilled_penalty: 4.0 });
}

// A cost, penalty or `max_shipments` that is a constant out of range is an error of `check`
// (with its line and column), not a failure of every order at run time; a let that overflows
// is reported once, where it overflows.
#[test]
fn constants_out_of_range_are_errors_where_they_are_written() {
    let cases = [
        ("unit cost = -$1", 4),
        ("shipment cost = $1000000001", 5),
        ("split { max_shipments = 0 }", 6),
        ("split { penalty = $99999999999 }", 6),
        ("short stock: partial at -$2", 6),
        ("short stock: backorder within 9223372036854775807s else reject", 6),
    ];
    for (item, line) in cases {
        let (unit, shipment) = match line {
            4 => (item.to_owned(), "shipment cost = $1".to_owned()),
            5 => ("unit cost = $1".to_owned(), item.to_owned()),
            _ => ("unit cost = $1".to_owned(), "shipment cost = $1".to_owned()),
        };
        let extra = if line == 6 { item } else { "" };
        let source = format!("policy t v1 applies to all groups {{\n\n\n{unit}\n{shipment}\n{extra}\n}}\n");
        let errors = load("t.policy", &source, &no_overrides()).err().unwrap_or_else(|| panic!("{item}: accepted"));
        let error = errors.items.iter().find(|d| d.level == switchyard_dsl::Level::Error).unwrap();
        assert!(
            matches!(error.code, switchyard_dsl::Code::OutOfRange | switchyard_dsl::Code::BackorderHorizon),
            "{item}: {}",
            errors.render()
        );
        let at_line = source[..error.span.start].matches('\n').count() + 1;
        assert_eq!(at_line, line, "{item}: {}", errors.render());
    }
    let mut doubling = String::from("policy t v1 applies to all groups {\n let b0 = 1\n");
    for n in 1..2000 {
        doubling.push_str(&format!(" let b{n} = b{} * 2\n", n - 1));
    }
    doubling.push_str(" unit cost = $1 * b1999\n shipment cost = $1\n}\n");
    let errors = load("t.policy", &doubling, &no_overrides()).err().expect("refused");
    let overflows: Vec<_> = errors.items.iter().filter(|d| d.code == switchyard_dsl::Code::OutOfRange).collect();
    assert_eq!(overflows.len(), 1, "{}", errors.render());
    assert!(overflows[0].message.contains("`b1024` is inf"), "{}", overflows[0].message);
}

#[test]
fn look_ahead_is_read_from_its_block_and_off_without_it_or_at_weight_0() {
    let policy = |extra: &str| {
        let source = format!(
            "policy demo v1 applies to all groups {{\n  unit cost = $1.00\n  shipment cost = $5.00\n{extra}\n}}\n"
        );
        load("demo.policy", &source, &no_overrides()).unwrap_or_else(|e| panic!("{}", e.render())).0
    };
    let declared = policy("  look ahead {\n    weight = 0.5\n    horizon = 12h\n    history = 2d\n  }").look_ahead();
    let settings = declared.expect("the block turns it on");
    assert_eq!((settings.weight, settings.horizon_secs, settings.history_secs), (0.5, 43_200, 172_800));
    assert_eq!(settings.scale(), 0.25);
    let defaults = policy("  look ahead { }").look_ahead().expect("on with the defaults");
    assert_eq!(defaults, switchyard_engine::lookahead::LookAheadSettings::DEFAULT);
    assert_eq!(policy("  look ahead { weight = 0 }").look_ahead(), None, "weight 0 is off");
    assert_eq!(policy("").look_ahead(), None);
    // A name that merely starts like the item is still a name.
    let named = policy("  let lookup = 2\n  exclude \"far\" when distance_km > lookup * 1000");
    assert_eq!(named.look_ahead(), None);
}
