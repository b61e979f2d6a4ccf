//! Every diagnostic the language gives, pinned whole (message, caret, help) with insta.
//! Each case is a policy with one mistake (or, for the last cases, several); the snapshot
//! is the exact text `switchyard check` prints for it.

use switchyard_dsl::{Diagnostics, load, no_overrides};

/// A valid policy with `extra` inserted before the closing brace.
fn with(extra: &str) -> String {
    format!(
        "policy demo v1 applies to \"apparel\" {{\n  unit cost = location.handling_per_unit\n  shipment cost = $5.00\n{extra}\n}}\n"
    )
}

fn diagnostics(source: &str) -> Diagnostics {
    match load("demo.policy", source, &no_overrides()) {
        Ok((_, warnings)) => warnings,
        Err(errors) => errors,
    }
}

fn render(source: &str) -> String {
    let diagnostics = diagnostics(source);
    assert!(!diagnostics.items.is_empty(), "expected a diagnostic for:\n{source}");
    diagnostics.render()
}

macro_rules! case {
    ($name:ident, $source:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), render(&$source));
        }
    };
}

case!(unknown_name_suggests_the_nearest, with("  exclude \"far\" when distnce_km > 2000"));
case!(unknown_location_field, with("  exclude \"slow\" when location.handling_per_units > $1"));
case!(unknown_item_field, with("  exclude \"heavy\" when item.weight > 30"));
case!(unknown_method, with("  exclude \"no hazmat\" when not location.has(\"hazmat\")"));
case!(unknown_function, with("  exclude \"odd\" when maximum(1, 2) > 1"));
case!(money_plus_number, with("  exclude \"cheap\" when location.handling_per_unit + 2 > $3"));
case!(
    unit_cost_must_be_money,
    "policy demo v1 applies to all groups {\n  unit cost = 1.5\n  shipment cost = $5.00\n}\n"
);
case!(and_needs_bools, with("  exclude \"x\" when 1 and true"));
case!(if_branches_differ, with("  let fee = if order.channel == \"b2b\" then $2 else 2"));
case!(if_condition_must_be_bool, with("  let fee = if order.channel then $2 else $3"));
case!(
    shipment_cost_cannot_use_a_line,
    "policy demo v1 applies to all groups {\n  unit cost = $1\n  shipment cost = item.weight_kg * $1\n}\n"
);
case!(max_shipments_cannot_use_the_location, with("  split { max_shipments = location.priority }"));
case!(unknown_split_setting, with("  split { max_shipment = 2 }"));
case!(duplicate_unit_cost, with("  unit cost = $2"));
case!(missing_shipment_cost, "policy demo v1 applies to all groups {\n  unit cost = $1\n}\n");
case!(table_values_of_mixed_types, with("  table rate { 1: $7.50, 2: 7.80 }"));
case!(bands_out_of_order, with("  bands zone { up to 300: 1, up to 100: 2, beyond: 3 }"));
case!(bands_without_beyond, with("  bands zone { up to 100: 1, up to 300: 2 }"));
case!(unknown_table, with("  let price = rates[1]"));
case!(table_key_of_the_wrong_type, with("  table rate { 1: $7.50 }\n  let price = rate[\"one\"]"));
case!(param_must_be_constant, with("  param lines = order.line_count"));
case!(aggregates_cannot_nest, with("  let x = sum(l in order.lines: sum(m in order.lines: m.qty))"));
case!(sum_of_bools, with("  let x = sum(l in order.lines: l.qty > 1)"));
case!(record_is_not_a_value, with("  exclude \"x\" when location"));
case!(
    missing_equals_is_a_syntax_error,
    "policy demo v1 applies to all groups {\n  unit cost $1\n  shipment cost = $5.00\n}\n"
);
case!(unterminated_string, "policy demo v1 applies to all groups {\n  exclude \"open when true\n}\n");
case!(nesting_too_deep, with(&format!("  let x = {}1{}", "(".repeat(80), ")".repeat(80))));
case!(rule_that_can_never_fire_is_a_warning, with("  exclude \"never\" when 1 > 2"));
case!(rule_that_always_fires_is_a_warning, with("  require \"impossible\": false"));
case!(a_backorder_horizon_must_be_positive, with("  short stock: backorder within 0d else partial at $50"));
case!(unknown_tie_break, with("  tie break: priorty"));
case!(wrong_number_of_arguments, with("  let x = min(1)"));
case!(current_line_inside_an_aggregate, with("  let x = sum(l in order.lines: line.qty)"));
case!(builtin_names_cannot_be_redefined, with("  let order = 1"));
case!(negating_a_string, with("  let x = -order.channel"));
case!(line_may_split_cannot_use_the_location, with("  split { line_may_split = location.kind == \"store\" }"));
case!(money_times_money, with("  let x = location.handling_per_unit * location.handling_per_shipment"));
case!(duration_functions_need_durations, with("  let x = hours(3)"));
case!(a_time_must_be_rfc_3339, with("  exclude \"holiday\" when now > time(\"24 December\")"));
case!(ship_together_cannot_use_the_location, with("  split { ship_together = location.id }"));
case!(unknown_look_ahead_setting, with("  look ahead { wieght = 1 }"));
case!(look_ahead_weight_out_of_range, with("  look ahead { weight = 50 }"));
case!(look_ahead_horizon_is_a_duration, with("  look ahead { horizon = 24 }"));
case!(look_ahead_settings_are_constants, with("  look ahead { weight = order.line_count }"));
case!(contains_needs_a_list, with("  exclude \"x\" when order.channel.contains(\"b2b\")"));

#[test]
fn every_syntax_error_of_a_file_is_reported_at_once() {
    let source = "policy demo v1 applies to all groups {\n  unit cost $1\n  exclude \"far\" when distance_km >\n  shipment cost = $5.00\n  split { max_shipments = }\n}\n";
    let diagnostics = diagnostics(source);
    assert_eq!(diagnostics.error_count(), 3, "{}", diagnostics.render());
    insta::assert_snapshot!("every_syntax_error_of_a_file_is_reported_at_once", diagnostics.render());
}

#[test]
fn every_error_of_a_file_is_reported_at_once() {
    let source = "policy demo v1 applies to all groups {\n  unit cost = 2\n  exclude \"a\" when distnce_km > 1\n  exclude \"b\" when item.colour == \"red\"\n  split { max_shipmnts = 2 }\n}\n";
    let diagnostics = diagnostics(source);
    assert_eq!(diagnostics.error_count(), 5, "{}", diagnostics.render());
    insta::assert_snapshot!("every_error_of_a_file_is_reported_at_once", diagnostics.render());
}

#[test]
fn a_correct_policy_has_no_diagnostics() {
    let diagnostics = diagnostics(&with("  exclude \"far\" when distance_km > 2000"));
    assert!(diagnostics.items.is_empty(), "{}", diagnostics.render());
}

#[test]
fn line_and_column_point_at_the_mistake() {
    let diagnostics = diagnostics(&with("  exclude \"far\" when distnce_km > 2000"));
    let item = &diagnostics.items[0];
    assert_eq!(diagnostics.line_column(item.span.start), (4, 22));
    assert_eq!(&diagnostics.source[item.span.start..item.span.end], "distnce_km");
}

case!(comparing_with_one_equals_sign_suggests_two, with("  exclude \"dc\" when location.kind = \"dc\""));
case!(
    and_written_as_ampersands_suggests_and,
    with("  exclude \"x\" when location.kind == \"dc\" && order.line_count > 1")
);
case!(a_zero_width_space_is_named, with("  exclude \"x\" when location.kind\u{200B} == \"dc\""));

#[test]
fn a_byte_order_mark_may_start_the_file_and_nothing_else() {
    let source = format!("\u{FEFF}{}", with(""));
    load("bom.policy", &source, &no_overrides()).expect("a leading byte order mark is accepted");
    let inside = with("  exclude \"x\" when location.kind == \"\u{FEFF}dc\"");
    let errors = diagnostics(&inside);
    assert_eq!(errors.items.len(), 1);
    assert!(errors.items[0].message.starts_with("invisible character U+FEFF ZERO WIDTH NO-BREAK SPACE"));
}

#[test]
fn invisible_characters_are_named_and_never_printed() {
    for (hidden, name) in [
        ('\u{202E}', "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ('\u{2066}', "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ('\u{200D}', "U+200D ZERO WIDTH JOINER"),
        ('\u{1b}', "U+001B (a control character)"),
        ('\u{85}', "U+0085 (a control character)"),
    ] {
        // In a string, in a comment, between tokens: the same error.
        for extra in [
            format!("  exclude \"x{hidden}\" when location.kind == \"dc\""),
            format!("  # a comment {hidden}\n  exclude \"x\" when location.kind == \"dc\""),
            format!("  exclude \"x\" when{hidden} location.kind == \"dc\""),
        ] {
            let errors = diagnostics(&with(&extra));
            assert_eq!(errors.items.len(), 1, "{extra:?}");
            let item = &errors.items[0];
            assert_eq!(item.code, switchyard_dsl::Code::Invisible);
            assert_eq!(item.message, format!("invisible character {name}"));
            assert_eq!(&errors.source[item.span.start..item.span.end], hidden.to_string());
            let rendered = errors.render();
            assert!(!rendered.contains(hidden), "the report prints the character itself: {rendered}");
            assert!(rendered.contains("demo.policy:4:"), "{rendered}");
        }
    }
}

#[test]
fn an_unknown_name_is_reported_once_not_in_everything_that_uses_it() {
    let source = with(
        "  let a = foo\n  let b = a + $1\n  exclude \"x\" when min(a, 2) > 1\n  exclude \"y\" when a\n  require \"z\": b > $2\n  exclude \"w\" when bar * 2 > 1 and location.idd == \"A\"\n  let c = -a\n  let d = not -zed",
    );
    let errors = diagnostics(&source);
    let messages: Vec<&str> = errors.items.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        ["unknown name `foo`", "unknown name `bar`", "location has no field `idd`", "unknown name `zed`"]
    );
}

#[test]
fn a_mistake_in_the_middle_of_the_file_never_says_end_of_the_file() {
    for extra in [
        "  exclude \"x\" when location.kind == \"dc\" )",
        "  exclude \"x\" when location.kind == \"dc\" || order.line_count > 1",
        "  shipment cost = $1 +",
        "  let a = (1 + 2",
    ] {
        let rendered = render(&with(extra));
        assert!(!rendered.contains("end of the file") && !rendered.contains("end of file"), "{extra}: {rendered}");
    }
}
