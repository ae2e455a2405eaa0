//! Constant folding of WHERE clauses, to see `DELETE … WHERE 1=1` for the unbounded delete it is.
//!
//! Four answers: the condition holds for every row (`Always`), for none (`Never`), it depends on
//! the data (`Depends`), or it folds one way or another depending on a parameter's value (`$1 = $2`,
//! `name LIKE $1`), so nobody can tell before the statement runs (`Unbound`). Only `Always` matters to the classifier; the folding is deliberately simple
//! and errs towards `Depends`, except for the patterns that select every row whatever the data
//! (`x = x`, `x IS NULL OR x IS NOT NULL`, `x LIKE '%'`).

use sqlparser::ast::{BinaryOperator, Expr, InTarget, UnaryOperator, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Truth {
    Always,
    Never,
    Depends,
    Unbound,
}

/// Whether `e` is built from literals and parameters only, with at least one parameter: a value
/// that folds, but only once the statement runs.
fn param_const(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => matches!(v.value, Value::Placeholder(_)),
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } | Expr::UnaryOp { expr: inner, .. } => param_const(inner),
        Expr::BinaryOp { left, right, .. } => {
            foldable(left) && foldable(right) && (param_const(left) || param_const(right))
        }
        _ => false,
    }
}

/// A constant now, or once its parameters are bound.
fn foldable(e: &Expr) -> bool {
    constant(e).is_some() || param_const(e)
}

#[derive(Clone, Debug, PartialEq)]
enum Const {
    Num(f64),
    Str(String),
    Bool(bool),
    Null,
}

fn constant(e: &Expr) -> Option<Const> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.to_string().parse().ok().map(Const::Num),
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(Const::Str(s.clone())),
            Value::DollarQuotedString(s) => Some(Const::Str(s.value.clone())),
            Value::Boolean(b) => Some(Const::Bool(*b)),
            Value::Null => Some(Const::Null),
            _ => None,
        },
        Expr::Nested(inner) => constant(inner),
        Expr::Cast { expr, .. } => constant(expr),
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => match constant(expr)? {
            Const::Num(n) => Some(Const::Num(-n)),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr,
        } => constant(expr),
        Expr::BinaryOp { left, op, right } => {
            let (Const::Num(a), Const::Num(b)) = (constant(left)?, constant(right)?) else {
                return None;
            };
            match op {
                BinaryOperator::Plus => Some(Const::Num(a + b)),
                BinaryOperator::Minus => Some(Const::Num(a - b)),
                BinaryOperator::Multiply => Some(Const::Num(a * b)),
                BinaryOperator::Divide if b != 0.0 => Some(Const::Num(a / b)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn compare(a: &Const, b: &Const) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Const::Num(x), Const::Num(y)) => x.partial_cmp(y),
        (Const::Str(x), Const::Str(y)) => Some(x.cmp(y)),
        (Const::Bool(x), Const::Bool(y)) => Some(x.cmp(y)),
        // Postgres coerces '1' = 1.
        (Const::Str(s), Const::Num(n)) => s.trim().parse::<f64>().ok().and_then(|x| x.partial_cmp(n)),
        (Const::Num(n), Const::Str(s)) => s.trim().parse::<f64>().ok().and_then(|x| n.partial_cmp(&x)),
        _ => None,
    }
}

fn from_bool(b: bool) -> Truth {
    if b {
        Truth::Always
    } else {
        Truth::Never
    }
}

/// Whether `a` is the exact negation of `b` (`p` / `NOT p`, `x IS NULL` / `x IS NOT NULL`).
fn negates(a: &Expr, b: &Expr) -> bool {
    match (strip(a), strip(b)) {
        (
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            },
            other,
        )
        | (
            other,
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            },
        ) => strip(expr) == other,
        (Expr::IsNull(x), Expr::IsNotNull(y)) | (Expr::IsNotNull(x), Expr::IsNull(y)) => strip(x) == strip(y),
        _ => false,
    }
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

fn has_column(e: &Expr) -> bool {
    matches!(strip(e), Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

pub(super) fn truth(e: &Expr) -> Truth {
    match e {
        Expr::Nested(inner) => truth(inner),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => match truth(expr) {
            Truth::Always => Truth::Never,
            Truth::Never => Truth::Always,
            other => other,
        },
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => match (truth(left), truth(right)) {
            (Truth::Always, Truth::Always) => Truth::Always,
            (Truth::Never, _) | (_, Truth::Never) => Truth::Never,
            (Truth::Unbound, _) | (_, Truth::Unbound) => Truth::Unbound,
            _ => Truth::Depends,
        },
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => {
            if negates(left, right) {
                return Truth::Always;
            }
            match (truth(left), truth(right)) {
                (Truth::Always, _) | (_, Truth::Always) => Truth::Always,
                (Truth::Never, Truth::Never) => Truth::Never,
                (Truth::Unbound, _) | (_, Truth::Unbound) => Truth::Unbound,
                _ => Truth::Depends,
            }
        }
        Expr::BinaryOp { left, op, right } => {
            use std::cmp::Ordering::*;
            if foldable(left) && foldable(right) && (param_const(left) || param_const(right)) {
                return Truth::Unbound;
            }
            if let (Some(a), Some(b)) = (constant(left), constant(right)) {
                if a == Const::Null || b == Const::Null {
                    return Truth::Never;
                }
                let Some(ord) = compare(&a, &b) else {
                    return Truth::Depends;
                };
                return match op {
                    BinaryOperator::Eq => from_bool(ord == Equal),
                    BinaryOperator::NotEq => from_bool(ord != Equal),
                    BinaryOperator::Lt => from_bool(ord == Less),
                    BinaryOperator::LtEq => from_bool(ord != Greater),
                    BinaryOperator::Gt => from_bool(ord == Greater),
                    BinaryOperator::GtEq => from_bool(ord != Less),
                    _ => Truth::Depends,
                };
            }
            // `id = id` holds for every row with a value: an unbounded statement in disguise.
            if strip(left) == strip(right) && has_column(left) {
                return match op {
                    BinaryOperator::Eq | BinaryOperator::LtEq | BinaryOperator::GtEq => Truth::Always,
                    BinaryOperator::NotEq | BinaryOperator::Lt | BinaryOperator::Gt => Truth::Never,
                    _ => Truth::Depends,
                };
            }
            Truth::Depends
        }
        _ if param_const(e) => Truth::Unbound,
        Expr::Value(_) | Expr::Cast { .. } | Expr::UnaryOp { .. } => match constant(e) {
            Some(Const::Bool(b)) => from_bool(b),
            Some(Const::Num(n)) => from_bool(n != 0.0),
            Some(Const::Null) => Truth::Never,
            Some(Const::Str(s)) => match s.to_ascii_lowercase().as_str() {
                "t" | "true" | "y" | "yes" | "on" | "1" => Truth::Always,
                "f" | "false" | "n" | "no" | "off" | "0" => Truth::Never,
                _ => Truth::Depends,
            },
            None => Truth::Depends,
        },
        Expr::IsNull(x) | Expr::IsNotNull(x) if param_const(x) => Truth::Unbound,
        Expr::IsNull(x) => match constant(x) {
            Some(c) => from_bool(c == Const::Null),
            None => Truth::Depends,
        },
        Expr::IsNotNull(x) => match constant(x) {
            Some(c) => from_bool(c != Const::Null),
            None => Truth::Depends,
        },
        Expr::IsTrue(x) => truth(x),
        Expr::IsNotFalse(x) => truth(x),
        Expr::Like {
            negated: false,
            expr,
            pattern,
            ..
        }
        | Expr::ILike {
            negated: false,
            expr,
            pattern,
            ..
        } => match (constant(pattern), has_column(expr)) {
            (Some(Const::Str(p)), true) if !p.is_empty() && p.chars().all(|c| c == '%') => Truth::Always,
            // The pattern could be '%'.
            _ if param_const(pattern) => Truth::Unbound,
            _ => Truth::Depends,
        },
        Expr::Between { expr, low, high, .. }
            if [expr, low, high].iter().all(|x| foldable(x)) && [expr, low, high].iter().any(|x| param_const(x)) =>
        {
            Truth::Unbound
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => match (constant(expr), constant(low), constant(high)) {
            (Some(x), Some(lo), Some(hi)) => {
                let inside = compare(&lo, &x).is_some_and(|o| o.is_le()) && compare(&x, &hi).is_some_and(|o| o.is_le());
                from_bool(inside != *negated)
            }
            _ => Truth::Depends,
        },
        Expr::In {
            expr,
            target: InTarget::List(list),
            negated,
            ..
        } => {
            if foldable(expr) && list.iter().all(foldable) && (param_const(expr) || list.iter().any(param_const)) {
                return Truth::Unbound;
            }
            let Some(x) = constant(expr) else {
                return Truth::Depends;
            };
            let consts: Option<Vec<Const>> = list.iter().map(constant).collect();
            match consts {
                Some(items) => from_bool(items.iter().any(|i| compare(i, &x).is_some_and(|o| o.is_eq())) != *negated),
                None => Truth::Depends,
            }
        }
        _ => Truth::Depends,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn t(cond: &str) -> Truth {
        let expr = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(cond)
            .unwrap()
            .parse_expr()
            .unwrap();
        truth(&expr)
    }

    #[test]
    fn folds_constant_tautologies() {
        for c in [
            "1=1",
            "true",
            "'a'='a'",
            "1",
            "2 > 1",
            "NOT false",
            "id = 5 OR 1 = 1",
            "1 IN (1, 2)",
            "(1=1)",
            "5 BETWEEN 1 AND 10",
            "1+1 = 2",
            "'1' = 1",
        ] {
            assert_eq!(t(c), Truth::Always, "{c}");
        }
    }

    #[test]
    fn sees_data_independent_patterns() {
        for c in [
            "id = id",
            "x IS NULL OR x IS NOT NULL",
            "name LIKE '%'",
            "NOT (a = 1) OR a = 1",
        ] {
            assert_eq!(t(c), Truth::Always, "{c}");
        }
    }

    #[test]
    fn real_filters_depend_on_the_data() {
        for c in [
            "id = 5",
            "created_at < now() - interval '30 days'",
            "a = b",
            "id IN (SELECT id FROM x)",
            "name LIKE 'a%'",
            "1 = 1 AND id = 3",
        ] {
            assert_eq!(t(c), Truth::Depends, "{c}");
        }
        assert_eq!(t("1 = 0"), Truth::Never);
        // Parameters compared with columns still restrict by the data.
        for c in [
            "id = $1",
            "name LIKE 'a%' AND id > $1",
            "id IN ($1, $2)",
            "id BETWEEN $1 AND $2",
        ] {
            assert_eq!(t(c), Truth::Depends, "{c}");
        }
    }

    #[test]
    fn parameters_that_could_fold_either_way_are_unbound() {
        for c in [
            "$1 = $2",
            "$1",
            "name LIKE $1",
            "id = 5 OR $1 = 1",
            "$1 IS NULL",
            "$1 BETWEEN 1 AND 10",
            "1 IN ($1, 2)",
            "NOT ($1 + 1 = 2)",
            "id = 5 AND $1 = $2",
        ] {
            assert_eq!(t(c), Truth::Unbound, "{c}");
        }
        // A definite answer does not depend on the rest.
        assert_eq!(t("1 = 1 OR $1 = $2"), Truth::Always);
        assert_eq!(t("1 = 0 AND $1 = $2"), Truth::Never);
        assert_eq!(t("NULL"), Truth::Never);
    }
}
