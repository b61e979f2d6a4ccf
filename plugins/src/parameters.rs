//! Plugin parameters: the settings a plugin declares (`parameters`, WIT 0.6.0), the values a
//! binding or the command line supplies, checked against the declarations, and the list a
//! request carries (one value per declaration, in its order).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bindings::switchyard::routing::types as wit;

/// The most parameters a plugin may declare.
pub const MAX_PARAMETERS: usize = 64;
/// The longest parameter name, bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// The longest description, bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 500;
/// The longest text value, bytes.
pub const MAX_TEXT_BYTES: usize = 4096;

/// A parameter's type: the case of its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// A finite number.
    Number,
    /// A whole number (64 bits).
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A text of at most [`MAX_TEXT_BYTES`].
    Text,
}

impl ParamType {
    /// Its name in declarations and JSON: `number`, `integer`, `boolean`, `text`.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::Number => "number",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
            ParamType::Text => "text",
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParamType::Number => "a number",
            ParamType::Integer => "a whole number",
            ParamType::Boolean => "true or false",
            ParamType::Text => "a text",
        })
    }
}

/// A parameter's value. In JSON it is the plain value: `2.5`, `3`, `true`, `"hazmat"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged, expecting = "expected a number, true or false, or a text")]
pub enum ParamValue {
    /// `true` or `false`.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// A number.
    Number(f64),
    /// A text.
    Text(String),
}

impl ParamValue {
    /// Its type.
    pub fn kind(&self) -> ParamType {
        match self {
            ParamValue::Number(_) => ParamType::Number,
            ParamValue::Integer(_) => ParamType::Integer,
            ParamValue::Boolean(_) => ParamType::Boolean,
            ParamValue::Text(_) => ParamType::Text,
        }
    }

    /// This value as a value of type `ty`: a whole number is a number too, and a number without
    /// a fraction (`3.0`) a whole number; anything else must match. The error says what was
    /// expected.
    pub fn of_type(self, ty: ParamType) -> Result<ParamValue, String> {
        let value = match (ty, self) {
            (ParamType::Number, ParamValue::Integer(n)) => ParamValue::Number(n as f64),
            (ParamType::Integer, ParamValue::Number(n)) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                ParamValue::Integer(n as i64)
            }
            (_, value) if value.kind() == ty => value,
            (_, value) => return Err(format!("expected {ty}, got {}", value.shown())),
        };
        match &value {
            ParamValue::Number(n) if !n.is_finite() => Err(format!("expected a finite number, got {n}")),
            ParamValue::Text(text) if text.len() > MAX_TEXT_BYTES => {
                Err(format!("a text is at most {MAX_TEXT_BYTES} bytes, this one is {}", text.len()))
            }
            _ => Ok(value),
        }
    }

    /// A value of type `ty` written on a command line (`--param name=value`): `2.5`, `3`,
    /// `true`, or any text.
    pub fn parse(text: &str, ty: ParamType) -> Result<ParamValue, String> {
        let value = match ty {
            ParamType::Number => ParamValue::Number(
                text.trim().trim_start_matches('$').parse().map_err(|_| format!("expected {ty}, got `{text}`"))?,
            ),
            ParamType::Integer => {
                ParamValue::Integer(text.trim().parse().map_err(|_| format!("expected {ty}, got `{text}`"))?)
            }
            ParamType::Boolean => match text.trim() {
                "true" => ParamValue::Boolean(true),
                "false" => ParamValue::Boolean(false),
                _ => return Err(format!("expected {ty}, got `{text}`")),
            },
            ParamType::Text => ParamValue::Text(text.to_owned()),
        };
        value.of_type(ty)
    }

    fn shown(&self) -> String {
        match self {
            ParamValue::Number(n) => format!("the number {n}"),
            ParamValue::Integer(n) => format!("the number {n}"),
            ParamValue::Boolean(b) => format!("`{b}`"),
            ParamValue::Text(_) => "a text".to_owned(),
        }
    }

    pub(crate) fn to_wire(&self) -> wit::Value {
        match self {
            ParamValue::Number(n) => wit::Value::Number(*n),
            ParamValue::Integer(n) => wit::Value::Integer(*n),
            ParamValue::Boolean(b) => wit::Value::Boolean(*b),
            ParamValue::Text(text) => wit::Value::Text(text.clone()),
        }
    }

    fn from_wire(value: wit::Value) -> ParamValue {
        match value {
            wit::Value::Number(n) => ParamValue::Number(n),
            wit::Value::Integer(n) => ParamValue::Integer(n),
            wit::Value::Boolean(b) => ParamValue::Boolean(b),
            wit::Value::Text(text) => ParamValue::Text(text),
        }
    }

    // Bytes it takes in the plugin's memory (a variant of 16 bytes, and a text's bytes).
    pub(crate) fn wire_bytes(&self) -> usize {
        16 + match self {
            ParamValue::Text(text) => text.len(),
            _ => 0,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Number(n) => write!(f, "{n}"),
            ParamValue::Integer(n) => write!(f, "{n}"),
            ParamValue::Boolean(b) => write!(f, "{b}"),
            ParamValue::Text(text) => write!(f, "{text:?}"),
        }
    }
}

/// A parameter a plugin declares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// What it sets, one line.
    pub description: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Its value when none is given.
    pub default: ParamValue,
}

/// Checks a plugin's declarations (the rules in `plugins/wit/routing.wit`); an error names
/// the parameter.
pub(crate) fn declared(wire: Vec<wit::Parameter>) -> Result<Vec<Parameter>, String> {
    if wire.len() > MAX_PARAMETERS {
        return Err(format!("it declares {} parameters, more than the limit of {MAX_PARAMETERS}", wire.len()));
    }
    let mut parameters: Vec<Parameter> = Vec::with_capacity(wire.len());
    for (index, parameter) in wire.into_iter().enumerate() {
        let name = parameter.name;
        let shown = switchyard_engine::clean_text(&name, MAX_NAME_BYTES);
        let valid_name = name.len() <= MAX_NAME_BYTES
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(format!(
                "parameter {index} has the name `{shown}`: a name is lowercase letters, digits and `_`, \
                 starting with a letter, at most {MAX_NAME_BYTES} bytes"
            ));
        }
        if parameters.iter().any(|p| p.name == name) {
            return Err(format!("parameter `{name}` is declared twice"));
        }
        if parameter.description.len() > MAX_DESCRIPTION_BYTES || parameter.description.contains(char::is_control) {
            return Err(format!(
                "parameter `{name}`: its description must be one line of at most {MAX_DESCRIPTION_BYTES} bytes"
            ));
        }
        let default = ParamValue::from_wire(parameter.default);
        let ty = default.kind();
        let default = default.of_type(ty).map_err(|error| format!("parameter `{name}`'s default: {error}"))?;
        parameters.push(Parameter { name, description: parameter.description, ty, default });
    }
    Ok(parameters)
}

/// The values a request carries for `parameters`: `given` where it names one, the default
/// elsewhere. An error names the parameter (`unknown`, or of the wrong type).
pub fn values(parameters: &[Parameter], given: &BTreeMap<String, ParamValue>) -> Result<Vec<ParamValue>, String> {
    if let Some(name) = given.keys().find(|name| !parameters.iter().any(|p| &p.name == *name)) {
        return Err(unknown(parameters, name));
    }
    parameters
        .iter()
        .map(|parameter| match given.get(&parameter.name) {
            Some(value) => {
                value.clone().of_type(parameter.ty).map_err(|error| format!("`{}`: {error}", parameter.name))
            }
            None => Ok(parameter.default.clone()),
        })
        .collect()
}

// The error for a value of a parameter the plugin does not declare.
fn unknown(parameters: &[Parameter], name: &str) -> String {
    let shown = switchyard_engine::clean_text(name, MAX_NAME_BYTES);
    if parameters.is_empty() {
        format!("`{shown}`: the plugin declares no parameters")
    } else {
        let names: Vec<&str> = parameters.iter().map(|p| p.name.as_str()).collect();
        format!("`{shown}`: the plugin has no such parameter (it has: {})", names.join(", "))
    }
}

/// Reads `name=value` texts (`--param`) as values of the declared parameters' types.
pub fn parse_all(parameters: &[Parameter], texts: &[String]) -> Result<BTreeMap<String, ParamValue>, String> {
    let mut given = BTreeMap::new();
    for text in texts {
        let (name, value) = text.split_once('=').ok_or_else(|| format!("`{text}`: expected `name=value`"))?;
        let name = name.trim();
        let parameter = parameters.iter().find(|p| p.name == name).ok_or_else(|| unknown(parameters, name))?;
        let value = ParamValue::parse(value, parameter.ty).map_err(|error| format!("`{name}`: {error}"))?;
        given.insert(name.to_owned(), value);
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared_one(default: wit::Value) -> Vec<Parameter> {
        declared(vec![wit::Parameter { name: "limit".into(), description: "a limit".into(), default }]).unwrap()
    }

    #[test]
    fn values_take_the_defaults_and_convert_whole_numbers() {
        let parameters = declared_one(wit::Value::Number(2.0));
        assert_eq!(values(&parameters, &BTreeMap::new()).unwrap(), [ParamValue::Number(2.0)]);
        let given = BTreeMap::from([("limit".to_owned(), ParamValue::Integer(3))]);
        assert_eq!(values(&parameters, &given).unwrap(), [ParamValue::Number(3.0)]);
        let integer = declared_one(wit::Value::Integer(3));
        let given = BTreeMap::from([("limit".to_owned(), ParamValue::Number(4.0))]);
        assert_eq!(values(&integer, &given).unwrap(), [ParamValue::Integer(4)]);
    }

    #[test]
    fn wrong_values_name_the_parameter() {
        let parameters = declared_one(wit::Value::Integer(3));
        let half = BTreeMap::from([("limit".to_owned(), ParamValue::Number(2.5))]);
        assert_eq!(values(&parameters, &half).unwrap_err(), "`limit`: expected a whole number, got the number 2.5");
        let unknown = BTreeMap::from([("limits".to_owned(), ParamValue::Integer(2))]);
        assert_eq!(
            values(&parameters, &unknown).unwrap_err(),
            "`limits`: the plugin has no such parameter (it has: limit)"
        );
        assert_eq!(
            parse_all(&parameters, &["limit=x".into()]).unwrap_err(),
            "`limit`: expected a whole number, got `x`"
        );
        assert_eq!(parse_all(&parameters, &["limit".into()]).unwrap_err(), "`limit`: expected `name=value`");
        let text = declared_one(wit::Value::Text(String::new()));
        let long = BTreeMap::from([("limit".to_owned(), ParamValue::Text("x".repeat(MAX_TEXT_BYTES + 1)))]);
        assert!(values(&text, &long).unwrap_err().contains("at most 4096 bytes"));
        let number = declared_one(wit::Value::Number(1.0));
        assert_eq!(parse_all(&number, &["limit=$2.50".into()]).unwrap()["limit"], ParamValue::Number(2.5));
        assert!(parse_all(&number, &["limit=inf".into()]).unwrap_err().contains("finite"));
    }

    #[test]
    fn bad_declarations_are_refused() {
        let one =
            |name: &str, default: wit::Value| wit::Parameter { name: name.into(), description: String::new(), default };
        assert!(declared(vec![one("Max", wit::Value::Integer(1))]).unwrap_err().contains("lowercase"));
        assert!(
            declared(vec![one("a", wit::Value::Integer(1)), one("a", wit::Value::Boolean(true))])
                .unwrap_err()
                .contains("declared twice")
        );
        assert!(declared(vec![one("a", wit::Value::Number(f64::NAN))]).unwrap_err().contains("finite"));
        let many = (0..=MAX_PARAMETERS).map(|i| one(&format!("p{i}"), wit::Value::Integer(1))).collect();
        assert!(declared(many).unwrap_err().contains("more than the limit"));
    }
}
