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
