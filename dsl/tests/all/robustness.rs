//! No input makes the parser or checker panic or overflow the stack; limits give clear errors.

use proptest::prelude::*;
use switchyard_dsl::{load, no_overrides};

const SAMPLE: &str = include_str!("../../../examples/policies/reference.policy");

fn outcome(source: &str) -> usize {
    match load("fuzz.policy", source, &no_overrides()) {
        Ok((_, warnings)) => warnings.items.len(),
        Err(errors) => {
            assert!(!errors.items.is_empty(), "a refused policy must say why");
            // Rendering must not panic either.
            errors.render().len()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        outcome(&text);
    }

    #[test]
    fn mutated_policies_never_panic(cut in 0usize..SAMPLE.len(), len in 0usize..40, insert in "[-+*/()\\[\\]{}\":.,$a-z0-9 \n]{0,12}") {
        let mut text = SAMPLE.to_owned();
        let start = (0..=cut).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let end = (start + len).min(text.len());
        let end = (end..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        text.replace_range(start..end, &insert);
        outcome(&text);
    }

    #[test]
    fn random_token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "policy", "p", "v1", "applies", "to", "all", "groups", "{", "}", "(", ")", "[", "]", "unit", "cost", "shipment",
        "=", "$1", "2", "14d", "\"x\"", "exclude", "require", ":", "when", "and", "or", "not", "-", "+", "*", "/",
        "if", "then", "else", "sum", "in", "order", ".", "lines", "line", "item", "location", "qty", "let", "param",
        "table", "bands", "up", "beyond", "split", "short", "stock", "partial", "at", "reject", "tie", "break", ",",
    ]), 0..80)) {
        outcome(&tokens.join(" "));
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    for source in [
        format!("policy p v1 applies to all groups {{ let x = {}1{} }}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("policy p v1 applies to all groups {{ let x = {}true }}", "not ".repeat(100_000)),
        format!("policy p v1 applies to all groups {{ let x = {}1 }}", "- ".repeat(100_000)),
        format!("policy p v1 applies to all groups {{ let x = 1{} }}", " + 1".repeat(100_000)),
    ] {
        let errors = load("deep.policy", &source, &no_overrides()).err().expect("refused");
        assert!(errors.render().contains("deep"), "{}", &errors.render()[..200.min(errors.render().len())]);
    }
}

#[test]
fn huge_files_are_refused() {
    let source = format!("policy p v1 applies to all groups {{ {} }}", "# padding\n".repeat(200_000));
    let errors = load("huge.policy", &source, &no_overrides()).err().expect("refused");
    assert!(errors.items[0].message.contains("more than the limit"), "{}", errors.items[0].message);
}

fn policy_with(body: &str) -> String {
    format!("policy p v1 applies to all groups {{\n{body}\n}}")
}

// `else if` chains, `backorder ... else` chains and postfix chains nest the parser (or the
// tree) one level per link: long ones are refused with a clear error before anything
// recurses, and before a deep tree is built (and dropped).
#[test]
fn long_chains_are_refused_not_a_stack_overflow() {
    let else_ifs = |links: usize| {
        let mut chain = String::from("let x = ");
        for n in 0..links {
            chain.push_str(&format!("if order.lines.count() == {n} then {n} else "));
        }
        chain.push('0');
        policy_with(&chain)
    };
    let fallbacks =
        |links: usize| policy_with(&format!("short stock: {}reject", "backorder within 1d else ".repeat(links)));
    let postfix = |links: usize| policy_with(&format!("let x = order{}", ".lines".repeat(links)));
    let nested_thens =
        |links: usize| policy_with(&format!("let x = {}1{}", "if true then ".repeat(links), " else 0".repeat(links)));
    for (name, source) in [
        ("else-if chain", else_ifs(1_000)),
        ("else-if chain, huge", else_ifs(5_000)),
        ("then-if nesting", nested_thens(5_000)),
        ("backorder chain", fallbacks(10_000)),
        ("postfix chain", postfix(40_000)),
    ] {
        let errors = load("chain.policy", &source, &no_overrides()).err().unwrap_or_else(|| panic!("{name}: accepted"));
        let rendered = errors.render();
        assert!(
            errors.items.iter().any(|d| d.code == switchyard_dsl::Code::TooDeep),
            "{name}: {}",
            &rendered[..300.min(rendered.len())]
        );
    }
}

// The longest chains allowed load on a thread with the main thread's usual 8 MiB stack, in
// a debug build: the limits, not the stack, decide.
#[test]
fn the_longest_allowed_chains_fit_an_ordinary_stack() {
    use switchyard_dsl::parse::{MAX_FALLBACKS, MAX_IF_CHAIN, MAX_NESTING, MAX_POSTFIX_CHAIN};
    let mut sources = Vec::new();
    let mut chain = String::from("unit cost = ");
    for n in 0..MAX_IF_CHAIN {
        chain.push_str(&format!("if line.qty == {n} then ${n} else "));
    }
    chain.push_str("$0");
    sources.push(("else-if chain", policy_with(&chain)));
    sources.push((
        "fallbacks",
        policy_with(&format!("short stock: {}reject", "backorder within 1d else ".repeat(MAX_FALLBACKS))),
    ));
    sources.push(("postfix", policy_with(&format!("let x = order{}.count()", ".lines".repeat(MAX_POSTFIX_CHAIN - 1)))));
    sources.push((
        "brackets",
        policy_with(&format!("unit cost = {}$1{}", "(".repeat(MAX_NESTING - 2), ")".repeat(MAX_NESTING - 2))),
    ));
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || {
            for (name, source) in sources {
                // Accepted or refused for its meaning (a field of a list), never for its depth.
                if let Err(errors) = load("long.policy", &source, &no_overrides()) {
                    let deep = errors.items.iter().find(|d| d.code == switchyard_dsl::Code::TooDeep);
                    assert!(deep.is_none(), "{name}: {}", errors.render());
                }
            }
        })
        .unwrap()
        .join()
        .unwrap();
}

/// `lets` definitions and `typos` uses of misspelt names: the shape of a large file full of
/// mistakes, which once cost seconds per upload in "did you mean" and in finding cascades.
fn file_of_typos(lets: usize, typos: usize) -> String {
    let mut source = String::from("policy p v1 applies to all groups {\n  unit cost = $1\n");
    for i in 0..lets {
        source.push_str(&format!("  let weight_factor_number_{i} = {i}\n"));
    }
    for i in 0..typos {
        source.push_str(&format!("  let other_{i} = weight_factr_number_{i} + 1\n"));
    }
    source.push_str("}\n");
    source
}

#[test]
fn a_file_of_thousands_of_typos_reports_a_hundred_and_says_there_are_more() {
    let source = file_of_typos(2_500, 2_500);
    assert!(source.len() < switchyard_dsl::MAX_SOURCE_BYTES);
    let errors = load("typos.policy", &source, &no_overrides()).err().expect("refused");
    assert_eq!(errors.items.len(), switchyard_dsl::check::MAX_DIAGNOSTICS + 1);
    let first = &errors.items[0];
    assert_eq!(first.message, "unknown name `weight_factr_number_0`");
    assert_eq!(first.help.as_deref(), Some("did you mean `weight_factor_number_0`?"));
    let last = errors.items.last().unwrap();
    assert_eq!(last.code, switchyard_dsl::Code::TooManyFindings);
    assert_eq!(last.level, switchyard_dsl::Level::Error);
    assert_eq!(last.message, "more errors not shown: a report stops at 100 findings");
    // The first finding not shown is where the report says it is.
    assert_eq!(errors.line_column(last.span.start).0, 2 + 2_500 + 101);
    errors.render();
}

#[test]
fn a_long_line_is_shown_through_a_window() {
    let long_number = "1".repeat(200_000);
    let tabs = "\t".repeat(1_000);
    for (source, column) in [
        // One line of 200,000 operators, refused for its length where it starts.
        (format!("policy p v1 applies to all groups {{ let x = {} }}", vec!["1"; 50_000].join(" + ")), 45),
        // A number of 200,000 digits.
        (format!("policy p v1 applies to all groups {{ unit cost = $1\n let x = {long_number} }}"), 10),
        // A finding far along a line of tabs and multi-byte characters.
        (format!("policy p v1 applies to all groups {{ let x = {tabs}{} zz }}", "é".repeat(50_000)), 1045),
    ] {
        let errors = load("long.policy", &source, &no_overrides()).err().expect("refused");
        let report = errors.render();
        for line in report.lines() {
            assert!(line.chars().count() <= 400, "a rendered line of {} characters", line.chars().count());
        }
        let (line, _) = errors.line_column(errors.items[0].span.start);
        assert!(report.contains(&format!("long.policy:{line}:{column}]")), "{report}");
        assert!(errors.items.iter().all(|d| d.message.chars().count() <= 201));
    }
}
