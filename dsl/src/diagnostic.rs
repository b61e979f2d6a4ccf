//! Diagnostics of every stage: a message, a span with a label, a help line, rendered
//! miette-style with the file, line, column and a caret under the source.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, Severity};

use crate::ast::Span;

/// Whether a diagnostic stops the policy from compiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The policy is refused.
    Error,
    /// The policy compiles, but something is likely wrong.
    Warning,
}

/// Stable diagnostic codes: `policy::<name>` in reports and in the service's API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// The text does not parse.
    Syntax,
    /// The file is over the size limit.
    TooLarge,
    /// Nesting or a chain of operators goes past the limit.
    TooDeep,
    /// An invisible character (zero-width, bidirectional control, control character).
    Invisible,
    /// A number literal that cannot be read or is out of range.
    Number,
    /// An expression of the wrong type.
    Type,
    /// A name, setting or table key given twice.
    Duplicate,
    /// An expression uses what its place cannot see (a line in a shipment cost, a location in a per-line setting).
    Context,
    /// A record (`order`, `line`, ...) used as a value.
    RecordValue,
    /// A bands table whose bounds are not ascending or do not end with `beyond`.
    Bands,
    /// A function or method called with the wrong number of arguments.
    Arity,
    /// A name that is not defined.
    UnknownName,
    /// A method the record does not have.
    UnknownMethod,
    /// A field the record does not have.
    UnknownField,
    /// A function that does not exist.
    UnknownFunction,
    /// A split setting that does not exist.
    UnknownSetting,
    /// A tie-break key that does not exist.
    UnknownTieBreak,
    /// A definition that would hide a built-in or bound name.
    Shadowing,
    /// A required part of the policy is missing.
    Missing,
    /// A `time(...)` literal that is not an RFC 3339 time.
    Time,
    /// A param whose value is not a constant.
    ParamNotConstant,
    /// An aggregate inside another.
    NestedAggregate,
    /// A backorder horizon that is not positive.
    BackorderHorizon,
    /// A constant out of the range its place allows: a cost or penalty that is negative, not
    /// finite or over the limit, `max_shipments` below 1, a value that overflows.
    OutOfRange,
    /// More findings than a report shows: the last finding counts the rest.
    TooManyFindings,
    /// A rule whose condition is constant and never excludes (a warning).
    NeverFires,
    /// A rule whose condition is constant and excludes everything (a warning).
    AlwaysFires,
}

impl Code {
    /// The code as written in reports: `policy::type`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "policy::syntax",
            Code::TooLarge => "policy::too_large",
            Code::TooDeep => "policy::too_deep",
            Code::Invisible => "policy::invisible",
            Code::Number => "policy::number",
            Code::Type => "policy::type",
            Code::Duplicate => "policy::duplicate",
            Code::Context => "policy::context",
            Code::RecordValue => "policy::record_value",
            Code::Bands => "policy::bands",
            Code::Arity => "policy::arity",
            Code::UnknownName => "policy::unknown_name",
            Code::UnknownMethod => "policy::unknown_method",
            Code::UnknownField => "policy::unknown_field",
            Code::UnknownFunction => "policy::unknown_function",
            Code::UnknownSetting => "policy::unknown_setting",
            Code::UnknownTieBreak => "policy::unknown_tie_break",
            Code::Shadowing => "policy::shadowing",
            Code::Missing => "policy::missing",
            Code::Time => "policy::time",
            Code::ParamNotConstant => "policy::param_not_constant",
            Code::NestedAggregate => "policy::nested_aggregate",
            Code::BackorderHorizon => "policy::backorder_horizon",
            Code::OutOfRange => "policy::out_of_range",
            Code::TooManyFindings => "policy::too_many_findings",
            Code::NeverFires => "policy::never_fires",
            Code::AlwaysFires => "policy::always_fires",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about a policy file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub level: Level,
    /// Stable code, like `policy::unknown_name`.
    pub code: Code,
    /// Short, lower-case message.
    pub message: String,
    /// Where.
    pub span: Span,
    /// What the caret says.
    pub label: String,
    /// How to fix it.
    pub help: Option<String>,
    /// A second place that explains the first (e.g. an earlier definition), with its label.
    pub related: Option<(Span, String)>,
}

/// Longest message, label or help line, in characters: a message that quotes a megabyte of
/// source (a huge number, an unexpected run of characters) is cut.
pub const MAX_MESSAGE_CHARS: usize = 200;

fn clip(text: String) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

impl Diagnostic {
    /// An error.
    pub fn error(code: Code, span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            level: Level::Error,
            code,
            message: clip(message.into()),
            span,
            label: clip(label.into()),
            help: None,
            related: None,
        }
    }

    /// A warning.
    pub fn warning(code: Code, span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            level: Level::Warning,
            code,
            message: clip(message.into()),
            span,
            label: clip(label.into()),
            help: None,
            related: None,
        }
    }

    /// Points at a second place too.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.related = Some((span, clip(label.into())));
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(clip(help.into()));
        self
    }
}

/// Every diagnostic of one file, with the file to render them against.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    /// The file's name, as shown in reports.
    pub file: String,
    /// The file's text.
    pub source: String,
    /// Findings, in source order.
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.level == Level::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.level == Level::Error).count()
    }

    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.iter().filter(|d| d.level == Level::Warning).count()
    }

    /// Line and column (1-based, in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let before = &self.source[..offset.min(self.source.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// All findings rendered as text, without colour. A finding on a line longer than
    /// [`MAX_SHOWN_LINE`] characters (a policy written on one line, a megabyte expression) is
    /// shown through a window of that line around the finding.
    pub fn render(&self) -> String {
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
        let shown = displayable(&self.source);
        let named = NamedSource::new(self.file.clone(), shown.clone());
        let mut out = String::new();
        for item in &self.items {
            let window = Window::around(&self.file, &shown, item.span);
            let result = match &window {
                None => {
                    let related = item.related.as_ref().map(|(span, text)| (*span, text.clone()));
                    let report = Rendered { item, source: &named, span: item.span, related, note: None };
                    handler.render_report(&mut out, &report)
                }
                Some(window) => {
                    let related =
                        item.related.as_ref().and_then(|(span, text)| Some((window.map(*span)?, text.clone())));
                    let note = match (&item.related, &related) {
                        (Some((span, text)), None) => {
                            let (line, column) = self.line_column(span.start);
                            Some(format!("{text}: line {line}, column {column}"))
                        }
                        _ => None,
                    };
                    let span = window.map(item.span).unwrap_or(Span { start: window.prefix, end: window.prefix });
                    let report = Rendered { item, source: window, span, related, note };
                    handler.render_report(&mut out, &report)
                }
            };
            if result.is_err() {
                // Rendering into a String cannot fail; keep the plain message if it does.
                out.push_str(&item.message);
            }
            out.push('\n');
        }
        out
    }
}

/// Longest source line a report shows whole, in bytes; a longer one is shown as a window of
/// `WINDOW` bytes around the finding.
pub const MAX_SHOWN_LINE: usize = 240;
const WINDOW: usize = 200;

/// Part of one long line of the source, around a finding, standing in for the file when a
/// finding is rendered: it reports the line and column the part has in the file.
struct Window {
    name: String,
    text: String,
    // Where `text` starts in the file: its byte offset (after the `…` prefix, if any), its
    // line (0-based) and the byte column of that offset.
    start: usize,
    end: usize,
    line: usize,
    column: usize,
    // Bytes of the `…` prefix, 0 when the window starts the line.
    prefix: usize,
}

impl Window {
    /// A window around `span` if its line (or a line the report would show beside it) is
    /// longer than `MAX_SHOWN_LINE`; `None` when the lines can be shown whole.
    fn around(file: &str, source: &str, span: Span) -> Option<Window> {
        let at = floor_boundary(source, span.start.min(source.len()));
        let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[at..].find('\n').map_or(source.len(), |i| at + i);
        // The report shows a line of context on each side, and every line the span covers.
        let before = source[..line_start.saturating_sub(1)].rfind('\n').map_or(0, |i| i + 1);
        let shown_end = floor_boundary(source, span.end.max(at).min(source.len()));
        let after_start = source[shown_end..].find('\n').map_or(source.len(), |i| shown_end + i);
        let after_end = source
            .get(after_start + 1..)
            .and_then(|rest| rest.find('\n'))
            .map_or(source.len(), |i| after_start + 1 + i);
        let shown = &source[before..after_end.max(after_start).min(source.len())];
        if shown.split('\n').all(|line| line.len() <= MAX_SHOWN_LINE) {
            return None;
        }
        // A third of the window before the finding, the rest from it.
        let start = floor_boundary(source, at.saturating_sub(WINDOW / 3).max(line_start));
        let end = floor_boundary(source, (start + WINDOW).min(line_end));
        let prefix = if start > line_start { "…" } else { "" };
        let suffix = if end < line_end { "…" } else { "" };
        Some(Window {
            name: file.to_owned(),
            // A tab is shown as one space: the renderer would widen it, and a line of tabs
            // is a long line too.
            text: format!("{prefix}{}{suffix}", source[start..end].replace('\t', " ")),
            start,
            end,
            line: source[..line_start].matches('\n').count(),
            column: start - line_start,
            prefix: prefix.len(),
        })
    }

    /// `span` of the file in the window's text, cut at the window's end; `None` if it starts
    /// outside the window.
    fn map(&self, span: Span) -> Option<Span> {
        if span.start < self.start || span.start > self.end {
            return None;
        }
        let end = span.end.clamp(span.start, self.end);
        Some(Span { start: self.prefix + span.start - self.start, end: self.prefix + end - self.start })
    }
}

impl miette::SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.line,
            (inner.column() + self.column).saturating_sub(self.prefix),
            inner.line_count(),
        )))
    }
}

/// Whether `c` is a character a policy may not hold and a report may not print: a control
/// character other than a newline or tab, or an invisible one (zero-width, bidirectional).
pub(crate) fn is_hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || switchyard_engine::is_invisible(c)
}

/// `source` with every invisible or control character (but newlines and tabs) replaced by a
/// visible one of the same length in bytes, so spans still point where they did: a report
/// must not itself print a right-to-left override or an escape sequence to a terminal.
fn displayable(source: &str) -> String {
    if !source.chars().any(is_hidden) {
        return source.to_owned();
    }
    source
        .chars()
        .map(|c| match (is_hidden(c), c.len_utf8()) {
            (false, _) => c,
            (true, 1) => '?',
            (true, 2) => '¿',
            (true, _) => '\u{FFFD}',
        })
        .collect()
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    (0..=at.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0)
}

struct Rendered<'a> {
    item: &'a Diagnostic,
    source: &'a dyn miette::SourceCode,
    // Where the label and the related label point, in `source`.
    span: Span,
    related: Option<(Span, String)>,
    // A related place the window cannot show, said in words.
    note: Option<String>,
}

impl fmt::Debug for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered").field("item", self.item).finish()
    }
}

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.item.message)
    }
}

impl std::error::Error for Rendered<'_> {}

impl miette::Diagnostic for Rendered<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.item.code))
    }

    fn severity(&self) -> Option<Severity> {
        Some(match self.item.level {
            Level::Error => Severity::Error,
            Level::Warning => Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let help = match (&self.item.help, &self.note) {
            (Some(help), Some(note)) => format!("{help}\n{note}"),
            (Some(help), None) => help.clone(),
            (None, Some(note)) => note.clone(),
            (None, None) => return None,
        };
        Some(Box::new(help))
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = LabeledSpan::new_with_span(Some(self.item.label.clone()), self.span);
        let related = self.related.as_ref().map(|(span, text)| LabeledSpan::new_with_span(Some(text.clone()), *span));
        Some(Box::new(std::iter::once(label).chain(related)))
    }
}
