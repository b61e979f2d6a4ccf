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

impl Diagnostic {
    /// An error.
    pub fn error(code: Code, span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            level: Level::Error,
            code,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            related: None,
        }
    }

    /// A warning.
    pub fn warning(code: Code, span: Span, message: impl Into<String>, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            level: Level::Warning,
            code,
            message: message.into(),
            span,
            label: label.into(),
            help: None,
            related: None,
        }
    }

    /// Points at a second place too.
    pub fn with_related(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.related = Some((span, label.into()));
        self
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
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

    /// All findings rendered as text, without colour.
    pub fn render(&self) -> String {
        let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor()).with_width(100);
        let named = NamedSource::new(self.file.clone(), self.source.clone());
        let mut out = String::new();
        for item in &self.items {
            let report = Rendered { item, source: &named };
            if handler.render_report(&mut out, &report).is_err() {
                // Rendering into a String cannot fail; keep the plain message if it does.
                out.push_str(&item.message);
            }
            out.push('\n');
        }
        out
    }
}

struct Rendered<'a> {
    item: &'a Diagnostic,
    source: &'a NamedSource<String>,
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
        self.item.help.as_ref().map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = LabeledSpan::new_with_span(Some(self.item.label.clone()), self.item.span);
        let related =
            self.item.related.as_ref().map(|(span, text)| LabeledSpan::new_with_span(Some(text.clone()), *span));
        Some(Box::new(std::iter::once(label).chain(related)))
    }
}
