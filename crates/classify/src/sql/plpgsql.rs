//! `DO $$ … $$` blocks: the PL/pgSQL body is read statement by statement. Control flow (`IF …
//! THEN`, `LOOP`, `END IF`), `RAISE`, `RETURN`, assignments and `PERFORM` only compute; every other
//! statement is SQL and judged as such (its conditions included). `EXECUTE` runs a string built at
//! run time, and anything the reader does not follow is unknown: the block is judged only when all
//! of it is understood.

use sqlparser::dialect::PostgreSqlDialect;

use crate::ctx::Ctx;
use crate::Risk;

/// Classifies a DO block's body. Returns false (recording nothing) when it cannot be followed.
pub(super) fn classify_do(piece: &str, ctx: &mut Ctx<'_>) -> bool {
    let Some(body) = dollar_body(piece) else {
        return false;
    };
    let mut sql: Vec<String> = Vec::new();
    for raw in split(body) {
        let mut stmt = raw.trim();
        let upper = stmt.to_ascii_uppercase();
        // Block structure and control flow: keep what they evaluate, drop the keywords.
        for kw in ["DECLARE", "BEGIN", "ELSE", "LOOP", "EXCEPTION WHEN OTHERS THEN"] {
            if upper.starts_with(kw) && stmt.len() >= kw.len() {
                stmt = stmt[kw.len()..].trim();
            }
        }
        let upper = stmt.to_ascii_uppercase();
        if stmt.is_empty()
            || upper.starts_with("END")
            || upper.starts_with("RAISE")
            || upper.starts_with("RETURN")
            || upper == "NULL"
        {
            continue;
        }
        if upper.starts_with("EXECUTE") || upper.starts_with("FOR ") || upper.starts_with("WHILE ") {
            return false;
        }
        if let Some(rest) = upper.strip_prefix("IF ").or_else(|| upper.strip_prefix("ELSIF ")) {
            // `IF cond THEN stmt`: the condition is a query, the statement is judged on its own.
            let Some(then) = rest.find(" THEN") else { return false };
            let start = stmt.len() - rest.len();
            sql.push(format!("SELECT {}", &stmt[start..start + then]));
            stmt = stmt[start + then + 5..].trim();
            if stmt.is_empty() {
                continue;
            }
        }
        let upper = stmt.to_ascii_uppercase();
        if let Some(expr) = upper.strip_prefix("PERFORM ") {
            sql.push(format!("SELECT {}", &stmt[stmt.len() - expr.len()..]));
        } else if let Some((_, value)) = stmt.split_once(":=") {
            sql.push(format!("SELECT {value}"));
        } else {
            sql.push(stmt.to_owned());
        }
    }
    let mut parsed = Vec::new();
    for s in &sql {
        match super::parse_sql(&PostgreSqlDialect {}, s) {
            Ok(st) => parsed.extend(st),
            Err(_) => return false,
        }
    }
    if parsed.is_empty() {
        ctx.op(Risk::Read, piece, "the DO block only raises notices or computes");
    }
    for st in &parsed {
        super::statement::classify(st, ctx);
    }
    true
}

/// Dynamic SQL (`EXECUTE 'TRUNCATE ' || t`, `EXECUTE format('DROP TABLE %I', …)`) whose literal
/// text already says it drops, truncates or deletes everything: destructive whatever the names.
pub(super) fn dynamic_destructive(piece: &str) -> Option<String> {
    let body = dollar_body(piece)?;
    let upper = body.to_ascii_uppercase();
    let mut from = 0;
    while let Some(at) = upper[from..].find("EXECUTE").map(|p| from + p) {
        let end = upper[at..].find(';').map_or(upper.len(), |e| at + e);
        for literal in body[at..end].split('\'').skip(1).step_by(2) {
            let l = literal.trim_start().to_ascii_uppercase();
            let all_rows = l.starts_with("DELETE FROM") && !l.contains("WHERE");
            if l.starts_with("DROP ") || l.starts_with("TRUNCATE") || all_rows {
                return Some(format!("the block runs dynamic SQL that begins `{}`", literal.trim()));
            }
        }
        from = end;
    }
    None
}

/// The text between the first pair of `$tag$` quotes.
fn dollar_body(piece: &str) -> Option<&str> {
    let start = piece.find('$')?;
    let tag_end = start + 1 + piece[start + 1..].find('$')?;
    let tag = &piece[start..=tag_end];
    let body_start = tag_end + 1;
    let end = body_start + piece[body_start..].find(tag)?;
    Some(&piece[body_start..end])
}

/// Splits at semicolons outside quotes.
fn split(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&body[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoWorld;
    use proptest::prelude::*;

    proptest! {
        /// Any DO block text: judged or refused, never a panic.
        #[test]
        fn sql_later_do_reader_is_total(body in "[A-Za-z ;:=()'$_%|]{0,120}") {
            let text = format!("DO $$ {body} $$");
            let _ = risk(&text);
            let _ = dynamic_destructive(&text);
        }
    }

    fn risk(sql: &str) -> Option<Risk> {
        let mut ctx = Ctx::new(&NoWorld, None, None, &[]);
        classify_do(sql, &mut ctx).then(|| ctx.found.finish().risk)
    }

    #[test]
    fn sql_later_do_blocks_are_read_statement_by_statement() {
        assert_eq!(
            risk("DO $$ BEGIN RAISE NOTICE 'now is %', now(); END $$"),
            Some(Risk::Read)
        );
        assert_eq!(
            risk("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'r') THEN CREATE ROLE r NOLOGIN; END IF; END $$"),
            Some(Risk::Write)
        );
        assert_eq!(risk("DO $x$ BEGIN DELETE FROM users; END $x$"), Some(Risk::Destructive));
        assert_eq!(risk("DO $$ BEGIN EXECUTE 'DROP TABLE ' || t; END $$"), None);
        assert_eq!(risk("DO $$ BEGIN FOR r IN SELECT 1 LOOP NULL; END LOOP; END $$"), None);
    }
}
