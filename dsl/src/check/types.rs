//! The type system: the types of the language and how literals are typed.

use crate::ast::Literal;

/// The types of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// A plain number.
    Number,
    /// An amount of money.
    Money,
    /// True or false.
    Bool,
    /// Text.
    String,
    /// An instant.
    Time,
    /// A length of time.
    Duration,
    /// A list of strings (tags, capabilities, literal lists).
    StringList,
    /// The order record.
    Order,
    /// A line record.
    Line,
    /// A product record.
    Item,
    /// A location record.
    Location,
}

impl Type {
    /// The type's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Type::Number => "number",
            Type::Money => "money",
            Type::Bool => "bool",
            Type::String => "string",
            Type::Time => "time",
            Type::Duration => "duration",
            Type::StringList => "list of strings",
            Type::Order => "order",
            Type::Line => "line",
            Type::Item => "item",
            Type::Location => "location",
        }
    }

    pub(super) fn is_numeric(self) -> bool {
        matches!(self, Type::Number | Type::Money | Type::Time | Type::Duration)
    }
}
pub(super) fn literal_type(literal: &Literal) -> Type {
    match literal {
        Literal::Number(_) => Type::Number,
        Literal::Money(_) => Type::Money,
        Literal::Duration(_) => Type::Duration,
        Literal::String(_) => Type::String,
        Literal::Bool(_) => Type::Bool,
    }
}
pub(super) fn article(ty: Type) -> String {
    let name = ty.name();
    match name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {name}"),
        _ if ty == Type::Money => "money".to_owned(),
        _ => format!("a {name}"),
    }
}
