//! Constant folding: an expression made only of constants, evaluated at check time (params,
//! rule reachability).

use crate::ast::{BinaryOp, UnaryOp};

use super::checked::Typed;
use super::schema::Function;

/// Evaluates an expression made only of constants; `lets[i]` is the value of let `i` when it
/// is a constant.
pub fn fold(expr: &Typed, lets: &[Option<Typed>]) -> Option<Typed> {
    let fold = |expr: &Typed| fold(expr, lets);
    Some(match expr {
        Typed::Number(_) | Typed::Bool(_) | Typed::String(_) | Typed::StringList(_) => expr.clone(),
        Typed::Unary(UnaryOp::Not, operand) => match fold(operand)? {
            Typed::Bool(b) => Typed::Bool(!b),
            _ => return None,
        },
        Typed::Unary(UnaryOp::Neg, operand) => match fold(operand)? {
            Typed::Number(n) => Typed::Number(-n),
            _ => return None,
        },
        Typed::Binary(op, _, left, right) => match (fold(left)?, fold(right)?) {
            (Typed::Number(a), Typed::Number(b)) => match op {
                BinaryOp::Add => Typed::Number(a + b),
                BinaryOp::Sub => Typed::Number(a - b),
                BinaryOp::Mul => Typed::Number(a * b),
                BinaryOp::Div => Typed::Number(a / b),
                BinaryOp::Eq => Typed::Bool(a == b),
                BinaryOp::Ne => Typed::Bool(a != b),
                BinaryOp::Lt => Typed::Bool(a < b),
                BinaryOp::Le => Typed::Bool(a <= b),
                BinaryOp::Gt => Typed::Bool(a > b),
                BinaryOp::Ge => Typed::Bool(a >= b),
                _ => return None,
            },
            (Typed::Bool(a), Typed::Bool(b)) => match op {
                BinaryOp::And => Typed::Bool(a && b),
                BinaryOp::Or => Typed::Bool(a || b),
                BinaryOp::Eq => Typed::Bool(a == b),
                BinaryOp::Ne => Typed::Bool(a != b),
                _ => return None,
            },
            (Typed::String(a), Typed::String(b)) => match op {
                BinaryOp::Eq => Typed::Bool(a == b),
                BinaryOp::Ne => Typed::Bool(a != b),
                _ => return None,
            },
            _ => return None,
        },
        Typed::Call(function, args) => {
            let mut values = Vec::with_capacity(args.len());
            for arg in args {
                match fold(arg)? {
                    Typed::Number(n) => values.push(n),
                    _ => return None,
                }
            }
            let first = *values.first()?;
            Typed::Number(match function {
                Function::Min => first.min(*values.get(1)?),
                Function::Max => first.max(*values.get(1)?),
                Function::Floor => first.floor(),
                Function::Ceil => first.ceil(),
                Function::Hours => first / 3600.0,
                Function::Days => first / 86_400.0,
            })
        }
        Typed::Let(index) => lets.get(*index)?.clone()?,
        Typed::If(condition, then, otherwise) => match fold(condition)? {
            Typed::Bool(true) => fold(then)?,
            Typed::Bool(false) => fold(otherwise)?,
            _ => return None,
        },
        _ => return None,
    })
}
