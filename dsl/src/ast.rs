//! The syntax tree of a policy file, with a byte span on every node.

/// A byte range in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> miette::SourceSpan {
        (span.start, span.end.saturating_sub(span.start)).into()
    }
}

/// A name as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where.
    pub span: Span,
}

/// A whole policy file.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyAst {
    /// The policy's name.
    pub name: Ident,
    /// Its version (`v3`, `v1.2`), without the `v`.
    pub version: String,
    /// Product groups it applies to; empty for all groups.
    pub groups: Vec<(String, Span)>,
    /// Its items in source order.
    pub items: Vec<Item>,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `3`, `0.25`.
    Number(f64),
    /// `$4.50`.
    Money(f64),
    /// `14d`, `36h`, `30m`, `10s`, in seconds.
    Duration(i64),
    /// `"text"`.
    String(String),
    /// `true`, `false`.
    Bool(bool),
}

/// One band of a `bands` table: values up to a bound (inclusive), or beyond every bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// Upper bound; `None` for `beyond`.
    pub up_to: Option<f64>,
    /// The band's value.
    pub value: Literal,
    /// Where.
    pub span: Span,
}

/// A `name = expr` setting inside a block.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The setting's name.
    pub name: Ident,
    /// Its value.
    pub value: Expr,
}

/// What happens to units no location can ship.
#[derive(Clone, Debug, PartialEq)]
pub enum ShortAction {
    /// Reject the order.
    Reject,
    /// Ship what can be shipped; unfilled units cost the expression.
    Partial(Expr),
    /// Wait for inbound stock within the horizon, else the fallback.
    Backorder {
        /// Horizon in seconds.
        within: i64,
        /// Where the horizon is written.
        span: Span,
        /// What happens otherwise.
        otherwise: Box<ShortAction>,
    },
}

/// A top-level item of a policy.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `param name = expr`: a constant with a default that can be overridden at load.
    Param {
        /// Its name.
        name: Ident,
        /// The default.
        value: Expr,
    },
    /// `let name = expr`.
    Let {
        /// Its name.
        name: Ident,
        /// Its definition.
        value: Expr,
    },
    /// `table name { key: value, ... }`.
    Table {
        /// Its name.
        name: Ident,
        /// Entries with their spans.
        entries: Vec<(Literal, Literal, Span)>,
    },
    /// `bands name { up to 80: 1, ..., beyond: 8 }`.
    Bands {
        /// Its name.
        name: Ident,
        /// The bands in order.
        bands: Vec<Band>,
    },
    /// `exclude "name" when expr`.
    Exclude {
        /// The rule's human name.
        name: String,
        /// Where the name is written.
        name_span: Span,
        /// The condition.
        when: Expr,
    },
    /// `require "name": expr`: excludes candidates for which the expression is false.
    Require {
        /// The rule's human name.
        name: String,
        /// Where the name is written.
        name_span: Span,
        /// What must hold.
        condition: Expr,
    },
    /// `unit cost = expr`.
    UnitCost(Expr),
    /// `shipment cost = expr`.
    ShipmentCost(Expr),
    /// `split { ... }`.
    Split {
        /// Its settings.
        settings: Vec<Setting>,
        /// Where the block is.
        span: Span,
    },
    /// `short stock: ...`.
    ShortStock {
        /// The action.
        action: ShortAction,
        /// Where.
        span: Span,
    },
    /// `late delivery: ship late` or `late delivery: reject`: what becomes of an order
    /// promised for a day no location can meet.
    LateDelivery {
        /// Reject (else ship late).
        reject: bool,
        /// Where.
        span: Span,
    },
    /// `tie break: key, key`.
    TieBreak(Vec<Ident>),
    /// `look ahead { ... }`: look-ahead pricing of scarce stock.
    LookAhead {
        /// Its settings.
        settings: Vec<Setting>,
        /// Where the block is.
        span: Span,
    },
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`.
    Not,
    /// `-`.
    Neg,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `or`.
    Or,
    /// `and`.
    And,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
}

impl BinaryOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
        }
    }
}

/// Aggregates over the order's lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// Sum of a number or money.
    Sum,
    /// Whether any line satisfies a condition.
    Any,
    /// Whether every line does.
    All,
    /// How many lines do.
    Count,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: ExprKind,
    /// Where.
    pub span: Span,
    /// Nesting depth of the tree below (1 for a leaf), bounded by the parser.
    pub depth: u32,
}

/// The kinds of expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// A literal.
    Literal(Literal),
    /// `[a, b]`: a list of literals.
    List(Vec<Literal>),
    /// A name: a variable, param, let or record.
    Variable(String),
    /// `a.b`.
    Field(Box<Expr>, Ident),
    /// `a.b(args)`.
    Method(Box<Expr>, Ident, Vec<Expr>),
    /// `f(args)`.
    Call(Ident, Vec<Expr>),
    /// `a[b]`.
    Index(Box<Expr>, Box<Expr>),
    /// `not a`, `-a`.
    Unary(UnaryOp, Box<Expr>),
    /// `a + b`, ...
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `if a then b else c`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `sum(l in order.lines: expr)`.
    Aggregate(Aggregate, Ident, Box<Expr>),
}
