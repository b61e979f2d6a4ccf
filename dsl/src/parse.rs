//! Text to syntax tree: the pest grammar, a Pratt parser for operators, and the limits that
//! keep hostile input from exhausting the stack.

use std::sync::LazyLock;

use pest::Parser as _;
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use crate::ast::{
    Aggregate, Band, BinaryOp, Expr, ExprKind, Ident, Item, Literal, PolicyAst, Setting, ShortAction, Span, UnaryOp,
};
use crate::diagnostic::{Code, Diagnostic};

mod grammar {
    // The generated parser's items carry no docs.
    #![allow(missing_docs)]

    #[derive(pest_derive::Parser)]
    #[grammar = "grammar.pest"]
    pub struct Grammar;
}

use grammar::{Grammar, Rule};

/// Largest policy file accepted, in bytes: by `switchyard check`, by `load`, and (its
/// default `max_policy_bytes`, which may be lowered but not raised) by the service, so a file
/// `check` accepts uploads.
pub const MAX_SOURCE_BYTES: usize = 256 << 10;
/// Deepest nesting of brackets, and of prefix operators in a row.
pub const MAX_NESTING: usize = 64;
/// Deepest expression tree (operators chained without brackets count too).
pub const MAX_EXPRESSION_DEPTH: u32 = 256;
/// Most `if`s open at once outside brackets: the links of an `if ... else if ...` chain.
pub const MAX_IF_CHAIN: usize = 100;
/// Most links of a `backorder within ... else ...` chain.
pub const MAX_FALLBACKS: usize = 16;
/// Longest run of `.field`, `.method(...)` and `[index]` after one value.
pub const MAX_POSTFIX_CHAIN: usize = 32;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::or, Assoc::Left))
        .op(Op::infix(Rule::and, Assoc::Left))
        .op(Op::infix(Rule::eq, Assoc::Left)
            | Op::infix(Rule::ne, Assoc::Left)
            | Op::infix(Rule::lt, Assoc::Left)
            | Op::infix(Rule::le, Assoc::Left)
            | Op::infix(Rule::gt, Assoc::Left)
            | Op::infix(Rule::ge, Assoc::Left))
        .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
        .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
        .op(Op::prefix(Rule::not) | Op::prefix(Rule::neg))
});

/// Parses a policy file. On failure, the diagnostics say where and why.
pub fn parse(source: &str) -> Result<PolicyAst, Vec<Diagnostic>> {
    check_limits(source)?;
    let mut pairs = match Grammar::parse(Rule::policy, source) {
        Ok(pairs) => pairs,
        Err(_) => {
            // Parse again tracking the tokens each failed attempt expected, for "expected `=`"
            // messages. The tracking slows parsing, so it is off until a file fails; the switch
            // is process-wide, so it stays on (turning it off could race another thread's
            // error report).
            pest::set_error_detail(true);
            let whole = match Grammar::parse(Rule::policy, source) {
                Err(error) => syntax_error(source, error, Whole::File),
                Ok(_) => Diagnostic::error(Code::Syntax, Span::default(), "cannot read the policy", "here"),
            };
            return Err(syntax_errors_per_item(source, whole));
        }
    };
    let Some(policy) = pairs.next() else {
        return Err(vec![Diagnostic::error(Code::Syntax, Span::default(), "empty policy file", "here")]);
    };
    let mut builder = Builder { errors: Vec::new() };
    let ast = builder.policy(policy);
    if builder.errors.is_empty() { Ok(ast) } else { Err(builder.errors) }
}

/// Reads a value written as the language writes it (`3`, `-2.5`, `$4.50`, `14d`, `true`,
/// `"text"`), e.g. a parameter override; `None` if it is not one.
pub fn literal(text: &str) -> Option<Literal> {
    let pair = Grammar::parse(Rule::single_literal, text.trim()).ok()?.next()?;
    let mut inner = pair.into_inner().filter(|p| p.as_rule() != Rule::EOI).peekable();
    let negative = inner.peek().is_some_and(|p| p.as_rule() == Rule::neg);
    if negative {
        inner.next();
    }
    let mut builder = Builder { errors: Vec::new() };
    let literal = builder.literal(inner.next()?);
    if !builder.errors.is_empty() {
        return None;
    }
    match (negative, literal) {
        (false, literal) => Some(literal),
        (true, Literal::Number(n)) => Some(Literal::Number(-n)),
        (true, Literal::Money(n)) => Some(Literal::Money(-n)),
        (true, Literal::Duration(d)) => Some(Literal::Duration(-d)),
        (true, _) => None,
    }
}

const ITEM_KEYWORDS: [&str; 12] =
    ["param", "let", "table", "bands", "exclude", "require", "unit", "shipment", "split", "short", "tie", "look"];

// Byte ranges of the top-level items: from a line that starts with an item keyword inside
// the policy's braces to the next such line (or the policy's closing brace).
fn item_chunks(source: &str) -> Vec<(usize, usize)> {
    let mut starts = Vec::new();
    let mut end_of_body = source.len();
    let mut depth = 0i64;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let word: String = trimmed.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        if depth == 1 && ITEM_KEYWORDS.contains(&word.as_str()) {
            starts.push(offset + (line.len() - trimmed.len()));
        }
        let mut in_string = false;
        for (at, c) in line.char_indices() {
            match c {
                '"' => in_string = !in_string,
                '#' if !in_string => break,
                '{' | '(' | '[' if !in_string => depth += 1,
                '}' | ')' | ']' if !in_string => {
                    depth -= 1;
                    if depth == 0 && c == '}' {
                        end_of_body = end_of_body.min(offset + at);
                    }
                }
                _ => {}
            }
        }
        offset += line.len();
    }
    let mut chunks = Vec::new();
    for (index, &start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(end_of_body).max(start);
        chunks.push((start, end));
    }
    chunks
}

// Every item that fails on its own gets its own error, so one mistake does not hide the
// others. The whole-file error is kept when it is not inside one of those items (a bad
// header, a missing closing brace).
fn syntax_errors_per_item(source: &str, whole: Diagnostic) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut failing = Vec::new();
    for (start, end) in item_chunks(source) {
        if let Err(error) = Grammar::parse(Rule::single_item, &source[start..end]) {
            let mut diagnostic = syntax_error(&source[start..end], error, Whole::Item);
            diagnostic.span.start += start;
            diagnostic.span.end += start;
            // The item ended early: name what follows it in the file, not "end of file".
            if diagnostic.message == "unexpected end of file"
                && let Some(next) = source[diagnostic.span.start..].split_whitespace().next()
            {
                diagnostic.message = format!("unexpected `{}`", next.chars().take(24).collect::<String>());
                let width = source[diagnostic.span.start..].chars().next().map_or(0, char::len_utf8);
                diagnostic.span.end = diagnostic.span.start + width;
            }
            errors.push(diagnostic);
            failing.push((start, end));
        }
    }
    if !failing.iter().any(|&(start, end)| whole.span.start >= start && whole.span.start <= end) {
        errors.push(whole);
    }
    errors.sort_by_key(|d| (d.span.start, d.span.end));
    errors
}

// Refuses input whose parse could recurse too deep, before the recursive parser sees it.
fn check_limits(source: &str) -> Result<(), Vec<Diagnostic>> {
    if source.len() > MAX_SOURCE_BYTES {
        let span = Span { start: 0, end: 0 };
        return Err(vec![
            Diagnostic::error(
                Code::TooLarge,
                span,
                format!("policy file is {} bytes, more than the limit of {MAX_SOURCE_BYTES}", source.len()),
                "this file",
            )
            .with_help("split the policy, or move large rate tables into fewer bands"),
        ]);
    }
    let invisible = invisible_characters(source);
    if !invisible.is_empty() {
        return Err(invisible);
    }
    let mut depth = 0usize;
    let mut prefix_run = 0usize;
    // `if`s open per bracket level (an `if` is open until its level ends, a `,` or `;`, or the
    // next item), and `backorder`s in the current item: each nests the parser one level.
    let mut ifs: Vec<usize> = vec![0];
    let mut open_ifs = 0usize;
    let mut fallbacks = 0usize;
    let too_deep = |at: usize, message: String, help: &str| {
        let span = Span { start: at.min(source.len()), end: (at + 1).min(source.len()) };
        Err(vec![Diagnostic::error(Code::TooDeep, span, message, "too deep here").with_help(help)])
    };
    let bytes = source.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        match byte {
            b'"' => {
                // Skip the string (it ends at a quote or at the end of the line).
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' && bytes[at] != b'\n' {
                    at += 1;
                }
                prefix_run = 0;
            }
            b'#' => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                prefix_run = 0;
                ifs.push(0);
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                prefix_run = 0;
                if ifs.len() > 1 {
                    open_ifs -= ifs.pop().unwrap_or(0);
                }
            }
            b',' | b';' => {
                prefix_run = 0;
                if let Some(level) = ifs.last_mut() {
                    open_ifs -= std::mem::take(level);
                }
            }
            // `-` and `not` in a row are prefix operators the parser nests.
            b'-' => prefix_run += 1,
            _ if byte.is_ascii_alphanumeric() || byte == b'_' => {
                let word_start = at;
                while at + 1 < bytes.len() && (bytes[at + 1].is_ascii_alphanumeric() || bytes[at + 1] == b'_') {
                    at += 1;
                }
                let word = &source[word_start..=at];
                prefix_run = if word == "not" { prefix_run + 1 } else { 0 };
                match word {
                    "if" => {
                        if let Some(level) = ifs.last_mut() {
                            *level += 1;
                            open_ifs += 1;
                        }
                    }
                    "backorder" => fallbacks += 1,
                    _ if ITEM_KEYWORDS.contains(&word) && depth <= 1 => {
                        fallbacks = 0;
                        if let Some(level) = ifs.last_mut() {
                            open_ifs -= std::mem::take(level);
                        }
                    }
                    _ => {}
                }
            }
            _ if byte.is_ascii_whitespace() => {}
            _ => prefix_run = 0,
        }
        if depth > MAX_NESTING || prefix_run > MAX_NESTING {
            let help = "break the expression up with `let` bindings";
            return too_deep(at, format!("nesting deeper than {MAX_NESTING} levels"), help);
        }
        if open_ifs > MAX_IF_CHAIN {
            let message = format!("more than {MAX_IF_CHAIN} `if`s nested (an `else if` chain counts each link)");
            return too_deep(at, message, "look values up in a `table`, or split the chain with `let` bindings");
        }
        if fallbacks > MAX_FALLBACKS {
            let message = format!("more than {MAX_FALLBACKS} `backorder ... else` links in one item");
            return too_deep(at, message, "a chain this long cannot be meant: keep the fallbacks that differ");
        }
        at += 1;
    }
    Ok(())
}

fn span_of(pair: &Pair<'_, Rule>) -> Span {
    // Implicit whitespace can trail a pair; carets should end at its last character.
    let span = pair.as_span();
    let trimmed = pair.as_str().trim_end().len();
    Span { start: span.start(), end: span.start() + trimmed }
}

// What a parse read: the whole file, or one item of it (whose end is not the file's).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Whole {
    File,
    Item,
}

fn describe(rule: &Rule, whole: Whole) -> &'static str {
    match rule {
        Rule::EOI if whole == Whole::Item => "the end of the item",
        Rule::EOI => "the end of the file",
        Rule::policy => "`policy NAME vN applies to ...`",
        Rule::version => "a version like `v1`",
        Rule::applies => "`applies to \"group\", ...` or `applies to all groups`",
        Rule::expr | Rule::postfixed => "an expression",
        Rule::name | Rule::variable | Rule::call => "a name",
        Rule::string => "a string in double quotes",
        Rule::number => "a number",
        Rule::money => "an amount like `$4.50`",
        Rule::duration => "a duration like `14d`",
        Rule::literal | Rule::boolean => "a value",
        Rule::setting => "a setting `name = expression`",
        Rule::short_action | Rule::reject | Rule::partial | Rule::backorder => {
            "`reject`, `partial at ...` or `backorder within ...`"
        }
        Rule::late_action | Rule::ship_late => "`ship late` or `reject`",
        Rule::table_entry => "an entry `key: value`",
        Rule::band | Rule::up_to | Rule::beyond => "a band `up to N: value` or `beyond: value`",
        Rule::param
        | Rule::let_binding
        | Rule::table
        | Rule::bands
        | Rule::exclude
        | Rule::require
        | Rule::unit_cost
        | Rule::shipment_cost
        | Rule::split
        | Rule::short_stock
        | Rule::late_delivery
        | Rule::tie_break
        | Rule::look_ahead => {
            "a policy item (`param`, `let`, `table`, `bands`, `exclude`, `require`, `unit cost`, `shipment cost`, `split`, `short stock`, `late delivery`, `tie break`, `look ahead`)"
        }
        Rule::or
        | Rule::and
        | Rule::eq
        | Rule::ne
        | Rule::lt
        | Rule::le
        | Rule::gt
        | Rule::ge
        | Rule::add
        | Rule::sub
        | Rule::mul
        | Rule::div => "an operator",
        _ => "something else",
    }
}

fn syntax_error(source: &str, error: pest::error::Error<Rule>, whole: Whole) -> Diagnostic {
    let (mut start, _) = match error.location {
        pest::error::InputLocation::Pos(at) => (at, at),
        pest::error::InputLocation::Span((start, end)) => (start, end),
    };
    let mut expected: Vec<String> = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives
            .iter()
            .map(|rule| describe(rule, whole))
            .filter(|w| *w != "something else")
            .map(str::to_owned)
            .collect(),
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    // The detailed attempts know the literal tokens expected at the furthest position reached
    // (`=` after `unit cost`), which says more than the rule that failed.
    if let Some(attempts) = error.parse_attempts()
        && attempts.max_position >= start
    {
        let mut tokens: Vec<String> = attempts
            .expected_tokens()
            .iter()
            .map(|token| token.to_string())
            // Character ranges and built-in rules (`ASCII_DIGIT`, ...) say nothing to a reader.
            .filter(|token| {
                !token.contains("..")
                    && token != "BUILTIN_RULE"
                    && !token.trim().is_empty()
                    && token != "#"
                    && token != "//"
            })
            .map(|token| format!("`{token}`"))
            .collect();
        tokens.sort_unstable();
        tokens.dedup();
        if !tokens.is_empty() && tokens.len() <= 8 {
            start = attempts.max_position;
            expected = tokens;
        }
    }
    expected.sort_unstable();
    expected.dedup();
    // Point at the offending token, not at an empty position.
    let end = start + source[start..].chars().next().map_or(0, |c| if c.is_whitespace() { 0 } else { c.len_utf8() });
    let found = source[start..].split_whitespace().next().map(|token| token.chars().take(24).collect::<String>());
    let rest_of_line = source[start..].lines().next().unwrap_or("");
    if rest_of_line.starts_with('"') && !rest_of_line[1..].contains('"') {
        return Diagnostic::error(Code::Syntax, Span { start, end }, "unterminated string", "this string never ends")
            .with_help("close it with `\"` on the same line");
    }
    let message = match (&found, expected.is_empty()) {
        (Some(found), false) => format!("unexpected `{found}`"),
        (None, false) => "unexpected end of file".to_owned(),
        (Some(found), true) => format!("cannot read `{found}`"),
        (None, true) => "cannot read the end of the file".to_owned(),
    };
    let label = if expected.is_empty() { "here".to_owned() } else { format!("expected {}", expected.join(" or ")) };
    let help = found.as_deref().and_then(habit).unwrap_or("see docs/POLICY_LANGUAGE.md for the syntax of each item");
    Diagnostic::error(Code::Syntax, Span { start, end }, message, label).with_help(help)
}

// What a writer of another language meant by a token this one does not have.
fn habit(found: &str) -> Option<&'static str> {
    if found.starts_with("==") || found.starts_with("!=") {
        None
    } else if found.starts_with('=') {
        Some("to compare, write `==`: `=` gives a setting or a `let` its value")
    } else if found.starts_with("&&") {
        Some("write `and`")
    } else if found.starts_with("||") {
        Some("write `or`")
    } else if found.starts_with('!') {
        Some("write `not`")
    } else {
        None
    }
}

/// Refuses invisible characters (zero-width spaces and joiners, bidirectional controls that
/// make text read differently from what it does, control characters), naming each, except
/// a byte order mark that starts the file. At most `MAX_INVISIBLE_REPORTED` are reported.
fn invisible_characters(source: &str) -> Vec<Diagnostic> {
    const MAX_INVISIBLE_REPORTED: usize = 10;
    source
        .char_indices()
        .filter(|&(at, c)| crate::diagnostic::is_hidden(c) && !(at == 0 && c == '\u{FEFF}'))
        .take(MAX_INVISIBLE_REPORTED)
        .map(|(at, c)| {
            let span = Span { start: at, end: at + c.len_utf8() };
            Diagnostic::error(
                Code::Invisible,
                span,
                format!("invisible character {}", character_name(c)),
                "an invisible character here",
            )
            .with_help("delete it: an invisible character makes the text mean something other than it shows")
        })
        .collect()
}

// `U+200B ZERO WIDTH SPACE`, or just the code point for characters without a name here.
fn character_name(c: char) -> String {
    let name = match c {
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2060}' => "WORD JOINER",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE (a byte order mark, allowed only at the start of the file)",
        c if c.is_control() => "(a control character)",
        _ => "(an invisible character)",
    };
    format!("U+{:04X} {name}", u32::from(c))
}

struct Builder {
    errors: Vec<Diagnostic>,
}

fn ident(pair: Pair<'_, Rule>) -> Ident {
    Ident { name: pair.as_str().to_owned(), span: span_of(&pair) }
}

fn unquote(pair: &Pair<'_, Rule>) -> String {
    let text = pair.as_str();
    text[1..text.len() - 1].to_owned()
}

impl Builder {
    fn policy(&mut self, pair: Pair<'_, Rule>) -> PolicyAst {
        let mut inner = pair.into_inner();
        let mut name = Ident { name: String::new(), span: Span::default() };
        let mut version = String::new();
        let mut groups = Vec::new();
        let mut items = Vec::new();
        for part in inner.by_ref() {
            match part.as_rule() {
                Rule::name => name = ident(part),
                Rule::version => version = part.as_str()[1..].to_owned(),
                Rule::applies => {
                    for group in part.into_inner() {
                        if group.as_rule() == Rule::string {
                            groups.push((unquote(&group), span_of(&group)));
                        }
                    }
                }
                Rule::EOI => {}
                _ => {
                    if let Some(item) = self.item(part) {
                        items.push(item);
                    }
                }
            }
        }
        PolicyAst { name, version, groups, items }
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let span = span_of(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let mut next = || inner.next();
        Some(match rule {
            Rule::param => Item::Param { name: ident(next()?), value: self.expr(next()?) },
            Rule::let_binding => Item::Let { name: ident(next()?), value: self.expr(next()?) },
            Rule::table => {
                let name = ident(next()?);
                let mut entries = Vec::new();
                while let Some(entry) = next() {
                    let entry_span = span_of(&entry);
                    let mut kv = entry.into_inner();
                    let key = self.literal(kv.next()?);
                    let value = self.literal(kv.next()?);
                    entries.push((key, value, entry_span));
                }
                Item::Table { name, entries }
            }
            Rule::bands => {
                let name = ident(next()?);
                let mut bands = Vec::new();
                while let Some(band) = next() {
                    let band_span = span_of(&band);
                    let mut parts = band.into_inner();
                    let bound = parts.next()?;
                    let up_to = match bound.as_rule() {
                        Rule::up_to => Some(self.number(&bound.into_inner().next()?)),
                        _ => None,
                    };
                    let value = self.literal(parts.next()?);
                    bands.push(Band { up_to, value, span: band_span });
                }
                Item::Bands { name, bands }
            }
            Rule::exclude => {
                let name = next()?;
                Item::Exclude { name: unquote(&name), name_span: span_of(&name), when: self.expr(next()?) }
            }
            Rule::require => {
                let name = next()?;
                Item::Require { name: unquote(&name), name_span: span_of(&name), condition: self.expr(next()?) }
            }
            Rule::unit_cost => Item::UnitCost(self.expr(next()?)),
            Rule::shipment_cost => Item::ShipmentCost(self.expr(next()?)),
            Rule::split | Rule::look_ahead => {
                let mut settings = Vec::new();
                while let Some(setting) = next() {
                    let mut parts = setting.into_inner();
                    let name = ident(parts.next()?);
                    let value = self.expr(parts.next()?);
                    settings.push(Setting { name, value });
                }
                if rule == Rule::split { Item::Split { settings, span } } else { Item::LookAhead { settings, span } }
            }
            Rule::short_stock => Item::ShortStock { action: self.short_action(next()?)?, span },
            Rule::late_delivery => {
                let action = next()?.into_inner().next()?;
                Item::LateDelivery { reject: action.as_rule() == Rule::reject, span }
            }
            Rule::tie_break => Item::TieBreak(inner.map(ident).collect()),
            _ => return None,
        })
    }

    fn short_action(&mut self, pair: Pair<'_, Rule>) -> Option<ShortAction> {
        let action = pair.into_inner().next()?;
        Some(match action.as_rule() {
            Rule::reject => ShortAction::Reject,
            Rule::partial => ShortAction::Partial(self.expr(action.into_inner().next()?)),
            Rule::backorder => {
                let mut parts = action.into_inner();
                let within = parts.next()?;
                let span = span_of(&within);
                let Literal::Duration(seconds) = self.literal(within) else { return None };
                ShortAction::Backorder { within: seconds, span, otherwise: Box::new(self.short_action(parts.next()?)?) }
            }
            _ => return None,
        })
    }

    fn number(&mut self, pair: &Pair<'_, Rule>) -> f64 {
        let text = pair.as_str().trim_start_matches('$');
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => value,
            _ => {
                self.errors.push(Diagnostic::error(
                    Code::Number,
                    span_of(pair),
                    format!("`{text}` is not a usable number"),
                    "here",
                ));
                0.0
            }
        }
    }

    fn literal(&mut self, pair: Pair<'_, Rule>) -> Literal {
        match pair.as_rule() {
            Rule::money => Literal::Money(self.number(&pair)),
            Rule::number => Literal::Number(self.number(&pair)),
            Rule::boolean => Literal::Bool(pair.as_str() == "true"),
            Rule::string => Literal::String(unquote(&pair)),
            Rule::duration => {
                let text = pair.as_str();
                let (digits, unit) = text.split_at(text.len() - 1);
                let per = match unit {
                    "d" => 86_400,
                    "h" => 3_600,
                    "m" => 60,
                    _ => 1,
                };
                match digits.parse::<i64>().ok().and_then(|n| n.checked_mul(per)) {
                    Some(seconds) => Literal::Duration(seconds),
                    None => {
                        self.errors.push(Diagnostic::error(
                            Code::Number,
                            span_of(&pair),
                            format!("duration `{text}` is too large"),
                            "here",
                        ));
                        Literal::Duration(0)
                    }
                }
            }
            _ => Literal::Bool(false),
        }
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = span_of(&pair);
        // Operators chained without brackets build a tree as deep as the chain is long: refuse
        // long chains before building (and later dropping) such a tree.
        let operators = pair.clone().into_inner().filter(|p| p.as_rule() != Rule::postfixed).count();
        if operators > MAX_EXPRESSION_DEPTH as usize {
            self.errors.push(
                Diagnostic::error(
                    Code::TooDeep,
                    span,
                    format!("expression chains {operators} operators, more than the limit of {MAX_EXPRESSION_DEPTH}"),
                    "this expression",
                )
                .with_help("break the expression up with `let` bindings"),
            );
            return Expr { kind: ExprKind::Literal(Literal::Bool(false)), span, depth: 1 };
        }
        let expr = PRATT
            .map_primary(|primary| self.postfixed(primary))
            .map_prefix(|op, operand| {
                let op_span = span_of(&op);
                let op = if op.as_rule() == Rule::not { UnaryOp::Not } else { UnaryOp::Neg };
                node(ExprKind::Unary(op, Box::new(operand.clone())), op_span.to(operand.span), &[&operand])
            })
            .map_infix(|left, op, right| {
                let op = match op.as_rule() {
                    Rule::or => BinaryOp::Or,
                    Rule::and => BinaryOp::And,
                    Rule::eq => BinaryOp::Eq,
                    Rule::ne => BinaryOp::Ne,
                    Rule::lt => BinaryOp::Lt,
                    Rule::le => BinaryOp::Le,
                    Rule::gt => BinaryOp::Gt,
                    Rule::ge => BinaryOp::Ge,
                    Rule::add => BinaryOp::Add,
                    Rule::sub => BinaryOp::Sub,
                    Rule::mul => BinaryOp::Mul,
                    _ => BinaryOp::Div,
                };
                let span = left.span.to(right.span);
                let depth = left.depth.max(right.depth) + 1;
                Expr { kind: ExprKind::Binary(op, Box::new(left), Box::new(right)), span, depth }
            })
            .parse(pair.into_inner());
        if expr.depth > MAX_EXPRESSION_DEPTH {
            self.errors.push(
                Diagnostic::error(
                    Code::TooDeep,
                    span,
                    format!(
                        "expression nests {} levels deep, more than the limit of {MAX_EXPRESSION_DEPTH}",
                        expr.depth
                    ),
                    "this expression",
                )
                .with_help("break the expression up with `let` bindings"),
            );
            return Expr { kind: ExprKind::Literal(Literal::Bool(false)), span, depth: 1 };
        }
        expr
    }

    fn postfixed(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = span_of(&pair);
        let postfixes = pair.clone().into_inner().count().saturating_sub(1);
        if postfixes > MAX_POSTFIX_CHAIN {
            self.errors.push(
                Diagnostic::error(
                    Code::TooDeep,
                    span,
                    format!(
                        "{postfixes} fields, calls and indexes in a row, more than the limit of {MAX_POSTFIX_CHAIN}"
                    ),
                    "this chain",
                )
                .with_help("break the expression up with `let` bindings"),
            );
            return Expr { kind: ExprKind::Literal(Literal::Bool(false)), span, depth: 1 };
        }
        let mut parts = pair.into_inner();
        let Some(primary) = parts.next() else {
            return Expr { kind: ExprKind::Literal(Literal::Bool(false)), span: Span::default(), depth: 1 };
        };
        let mut expr = self.primary(primary);
        for postfix in parts {
            let span = expr.span.to(span_of(&postfix));
            match postfix.as_rule() {
                Rule::field => {
                    let mut inner = postfix.into_inner();
                    let Some(name) = inner.next().map(ident) else { continue };
                    expr = match inner.next() {
                        Some(args) => {
                            let args: Vec<Expr> = args.into_inner().map(|a| self.expr(a)).collect();
                            let mut children: Vec<&Expr> = args.iter().collect();
                            children.push(&expr);
                            let depth = children.iter().map(|c| c.depth).max().unwrap_or(0) + 1;
                            Expr { kind: ExprKind::Method(Box::new(expr), name, args), span, depth }
                        }
                        None => {
                            let depth = expr.depth + 1;
                            Expr { kind: ExprKind::Field(Box::new(expr), name), span, depth }
                        }
                    };
                }
                _ => {
                    let Some(index) = postfix.into_inner().next() else { continue };
                    let index = self.expr(index);
                    let depth = expr.depth.max(index.depth) + 1;
                    expr = Expr { kind: ExprKind::Index(Box::new(expr), Box::new(index)), span, depth };
                }
            }
        }
        expr
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Expr {
        let span = span_of(&pair);
        let leaf = |kind| Expr { kind, span, depth: 1 };
        match pair.as_rule() {
            Rule::expr => self.expr(pair),
            Rule::variable => leaf(ExprKind::Variable(pair.as_str().to_owned())),
            Rule::list => {
                let items = pair.into_inner().map(|p| self.literal(p)).collect();
                leaf(ExprKind::List(items))
            }
            Rule::call => {
                let mut inner = pair.into_inner();
                let name = inner.next().map(ident).unwrap_or(Ident { name: String::new(), span });
                let args: Vec<Expr> =
                    inner.next().map(|args| args.into_inner().map(|a| self.expr(a)).collect()).unwrap_or_default();
                let depth = args.iter().map(|a| a.depth).max().unwrap_or(0) + 1;
                Expr { kind: ExprKind::Call(name, args), span, depth }
            }
            Rule::if_expr => {
                let mut inner = pair.into_inner();
                let mut part = || inner.next().map(|p| self.expr(p));
                match (part(), part(), part()) {
                    (Some(c), Some(t), Some(e)) => {
                        let depth = c.depth.max(t.depth).max(e.depth) + 1;
                        Expr { kind: ExprKind::If(Box::new(c), Box::new(t), Box::new(e)), span, depth }
                    }
                    _ => leaf(ExprKind::Literal(Literal::Bool(false))),
                }
            }
            Rule::aggregate => {
                let mut inner = pair.into_inner();
                let function = match inner.next().map(|f| f.as_str().to_owned()).as_deref() {
                    Some("sum") => Aggregate::Sum,
                    Some("any") => Aggregate::Any,
                    Some("all") => Aggregate::All,
                    _ => Aggregate::Count,
                };
                let variable = inner.next().map(ident).unwrap_or(Ident { name: String::new(), span });
                let body = inner.next().map(|b| self.expr(b));
                match body {
                    Some(body) => {
                        let depth = body.depth + 1;
                        Expr { kind: ExprKind::Aggregate(function, variable, Box::new(body)), span, depth }
                    }
                    None => leaf(ExprKind::Literal(Literal::Bool(false))),
                }
            }
            _ => {
                let literal = self.literal(pair);
                leaf(ExprKind::Literal(literal))
            }
        }
    }
}

fn node(kind: ExprKind, span: Span, children: &[&Expr]) -> Expr {
    let depth = children.iter().map(|c| c.depth).max().unwrap_or(0) + 1;
    Expr { kind, span, depth }
}
