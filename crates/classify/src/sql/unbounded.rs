//! WHERE clauses that look like filters but keep (nearly) every row: the data decides nothing.
//!
//! Constant folding (`tautology.rs`) sees `1 = 1`; this sees the shapes that need one more fact
//! about tables: a key column is never NULL and covers the positive integers, a table's own ids are
//! all in `SELECT id FROM` that table, and `EXISTS` a row equal to itself always holds. "Key
//! column" is `id` (or `<table>_id`, `uuid`, `pk`): without a schema Airlock assumes the
//! conventional primary key.

use sqlparser::ast::{BinaryOperator, Expr, InTarget, Query, SetExpr, UnaryOperator, Value};

use super::names::{object, tables_of};

/// Why `e` keeps every row (or all but a few) of `tables`, if it does.
pub(super) fn keeps_every_row(e: &Expr, tables: &[String]) -> Option<&'static str> {
    match e {
        Expr::Nested(inner) => keeps_every_row(inner, tables),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => keeps_every_row(left, tables).or_else(|| keeps_every_row(right, tables)),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => keeps_every_row(left, tables).and(keeps_every_row(right, tables)),
        Expr::IsNotNull(x) if is_key(x, tables) => Some("a key column is never NULL"),
        Expr::BinaryOp { left, op, right } => comparison(left, op, right, tables),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => match strip(expr) {
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Eq,
                right,
            } if is_key(left, tables) && number(right).is_some() => Some("all rows but one key"),
            _ => None,
        },
        Expr::In {
            expr,
            target: InTarget::List(_),
            negated: true,
            ..
        } if is_key(expr, tables) => Some("all rows but a few keys"),
        Expr::In {
            expr,
            target: InTarget::Subquery(subquery),
            negated: false,
            ..
        } => {
            let col = column(expr)?;
            let (from, selected, filtered) = simple_select(subquery)?;
            (tables.contains(&from) && selected == col && !filtered)
                .then_some("every value of the column is in the same column of the same table")
        }
        Expr::Exists {
            subquery,
            negated: false,
        } => {
            let (from, _, _) = simple_select(subquery)?;
            let SetExpr::Select(s) = subquery.body.as_ref() else {
                return None;
            };
            let same_row = match s.selection.as_ref().map(strip) {
                Some(Expr::BinaryOp {
                    left,
                    op: BinaryOperator::Eq,
                    right,
                }) => column(left).is_some() && column(left) == column(right),
                _ => false,
            };
            (tables.contains(&from) && same_row).then_some("every row exists in its own table")
        }
        Expr::Between {
            expr,
            negated: false,
            low,
            high,
        } if is_key(expr, tables) => (number(low).is_some_and(|l| l <= 1.0)
            && number(high).is_some_and(|h| h >= 2_147_483_647.0))
        .then_some("the range covers every key"),
        _ => None,
    }
}

fn comparison(left: &Expr, op: &BinaryOperator, right: &Expr, tables: &[String]) -> Option<&'static str> {
    use BinaryOperator::*;
    if is_key(left, tables) {
        let n = number(right)?;
        return match op {
            Gt if n <= 0.0 => Some("keys are positive"),
            GtEq if n <= 1.0 => Some("keys are positive"),
            NotEq => Some("all rows but one key"),
            _ => None,
        };
    }
    // `created_at < now() + interval '100 years'`: every row written so far.
    if column(left).is_some() && matches!(op, Lt | LtEq) && is_future(right) {
        return Some("every row written until now is before a time in the future");
    }
    None
}

fn is_future(e: &Expr) -> bool {
    match strip(e) {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Plus,
            right,
        } => is_now(left) && matches!(strip(right), Expr::Interval(_)),
        _ => false,
    }
}

fn is_now(e: &Expr) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    matches!(
        text.as_str(),
        "now()" | "current_timestamp" | "current_date" | "localtimestamp" | "clock_timestamp()"
    )
}

fn strip(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip(inner),
        other => other,
    }
}

/// The unqualified, lower-case name of a column reference.
fn column(e: &Expr) -> Option<String> {
    match strip(e) {
        Expr::Identifier(i) => Some(i.value.to_lowercase()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.to_lowercase()),
        _ => None,
    }
}

fn is_key(e: &Expr, tables: &[String]) -> bool {
    column(e).is_some_and(|c| {
        matches!(c.as_str(), "id" | "uuid" | "pk")
            || tables.iter().any(|t| {
                let t = t.rsplit('.').next().unwrap_or(t);
                c == format!("{t}_id") || c == format!("{}_id", t.trim_end_matches('s'))
            })
    })
}

fn number(e: &Expr) -> Option<f64> {
    match strip(e) {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.to_string().parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => number(expr).map(|n| -n),
        _ => None,
    }
}

/// `SELECT col FROM table [WHERE …]`: (table, column, has a WHERE).
fn simple_select(q: &Query) -> Option<(String, String, bool)> {
    let SetExpr::Select(s) = q.body.as_ref() else {
        return None;
    };
    let tables = tables_of(&s.from);
    let [table] = tables.as_slice() else {
        return None;
    };
    let selected = match s.projection.first() {
        Some(sqlparser::ast::SelectItem::UnnamedExpr(e)) => column(e).unwrap_or_default(),
        _ => String::new(),
    };
    let _ = object;
    Some((table.clone(), selected, s.selection.is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn keeps(cond: &str, table: &str) -> bool {
        let e = Parser::new(&PostgreSqlDialect {})
            .try_with_sql(cond)
            .unwrap()
            .parse_expr()
            .unwrap();
        keeps_every_row(&e, &[table.to_owned()]).is_some()
    }

    #[test]
    fn sql_where_that_keeps_every_row_is_unbounded() {
        for c in [
            "id IN (SELECT id FROM users)",
            "id IS NOT NULL",
            "id > 0",
            "NOT (id = 42)",
            "id <> 42",
            "EXISTS (SELECT 1 FROM users x WHERE x.id = u.id)",
            "id BETWEEN 1 AND 9223372036854775807",
            "created_at < now() + interval '100 years'",
            "id = 7 OR id IS NOT NULL",
            "user_id IN (SELECT user_id FROM users)",
        ] {
            assert!(keeps(c, "users"), "{c}");
        }
        for c in [
            "id = 5",
            "id IN (SELECT id FROM users WHERE banned)",
            "id IN (SELECT user_id FROM sessions)",
            "email IS NOT NULL",
            "id > 100",
            "created_at < now() - interval '30 days'",
        ] {
            assert!(!keeps(c, "users"), "{c}");
        }
    }
}
