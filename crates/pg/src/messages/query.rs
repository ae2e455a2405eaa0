//! The statements the gateway judges — Query ('Q') and Parse ('P') — the statement a Bind ('B')
//! refers to, and the statement Airlock sends in place of a refused one.

use super::{cstr, message};
use crate::PgError;

/// The SQL of a Query message's body.
pub fn query_text(body: &[u8]) -> Result<&str, PgError> {
    let (text, rest) = cstr(body)?;
    if !rest.is_empty() {
        return Err(PgError::Protocol(
            "a Query message has bytes after its statement".into(),
        ));
    }
    Ok(text)
}

/// A Parse message's statement name and SQL.
pub fn parse_message(body: &[u8]) -> Result<(&str, &str), PgError> {
    let (name, rest) = cstr(body)?;
    let (sql, rest) = cstr(rest)?;
    if rest.len() < 2 {
        return Err(PgError::Protocol("a Parse message is truncated".into()));
    }
    let types = u16::from_be_bytes([rest[0], rest[1]]) as usize;
    if rest.len() != 2 + types * 4 {
        return Err(PgError::Protocol(
            "a Parse message's parameter types do not match its length".into(),
        ));
    }
    Ok((name, sql))
}

/// The statement a Bind message binds (its first two fields: portal, statement).
pub fn bind_statement(body: &[u8]) -> Result<&str, PgError> {
    let (_portal, rest) = cstr(body)?;
    let (statement, _) = cstr(rest)?;
    Ok(statement)
}

/// A dollar-quote tag that does not occur in `text`.
fn tag_for(text: &str, stem: &str) -> String {
    let mut n = 0u32;
    loop {
        let tag = format!("${stem}{n}$");
        if !text.contains(&tag) {
            return tag;
        }
        n += 1;
    }
}

/// The server-side statement that raises `message` with SQLSTATE `code` (42501 for a refusal,
/// 57014 for a statement canceled while it waited). Sending it in place of a refused statement
/// makes PostgreSQL itself report the refusal, so everything a server error implies — the failed
/// transaction state, the skip to Sync, the order of replies in a pipeline — holds exactly as if
/// the statement had failed there.
pub fn refusal_sql(code: &str, message: &str, detail: &str, hint: &str) -> String {
    // A SQLSTATE is five letters or digits; anything else would be text inside the statement.
    let code = if code.len() == 5 && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        code
    } else {
        "42501"
    };
    // Non-ASCII is replaced so the text survives any client_encoding.
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii() && (c == '\n' || !c.is_ascii_control()) {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    };
    let (message, detail, hint) = (clean(message), clean(detail), clean(hint));
    let all = format!("{message}{detail}{hint}");
    let q = tag_for(&all, "m");
    let outer = tag_for(&format!("{all}{q}"), "airlock");
    format!(
        "DO {outer} BEGIN RAISE EXCEPTION USING ERRCODE = '{code}', MESSAGE = {q}{message}{q}, DETAIL = {q}{detail}{q}, HINT = {q}{hint}{q}; END {outer}"
    )
}

/// The bytes that replace a refused statement: a Query for the simple protocol; for the extended
/// protocol an unnamed Parse, Bind and Execute (whose ParseComplete and BindComplete the gateway
/// drops on the way back, so the client sees only the error where its own Parse would have failed).
pub fn substitute_error(code: &str, message_text: &str, detail: &str, hint: &str, extended: bool) -> Vec<u8> {
    let sql = refusal_sql(code, message_text, detail, hint);
    if !extended {
        let mut body = sql.into_bytes();
        body.push(0);
        return message(b'Q', &body);
    }
    let mut parse = vec![0u8];
    parse.extend_from_slice(sql.as_bytes());
    parse.extend_from_slice(&[0, 0, 0]);
    // Bind: unnamed portal, unnamed statement, no parameter formats, no parameters, no result formats.
    let bind = [0u8, 0, 0, 0, 0, 0, 0, 0];
    // Execute: unnamed portal, no row limit.
    let execute = [0u8, 0, 0, 0, 0];
    let mut out = message(b'P', &parse);
    out.extend(message(b'B', &bind));
    out.extend(message(b'E', &execute));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_bind_fields_are_read() {
        let mut buf = bytes::BytesMut::new();
        postgres_protocol::message::frontend::parse("s1", "DELETE FROM t WHERE id = $1", [23u32], &mut buf).unwrap();
        assert_eq!(parse_message(&buf[5..]).unwrap(), ("s1", "DELETE FROM t WHERE id = $1"));
        assert!(parse_message(&buf[5..buf.len() - 1]).is_err());
        assert_eq!(query_text(b"SELECT 1\0").unwrap(), "SELECT 1");
        assert!(query_text(b"SELECT 1").is_err());
        assert_eq!(bind_statement(b"p\0s1\0\0\0").unwrap(), "s1");
    }

    #[test]
    fn refusal_text_cannot_break_out_of_its_quotes() {
        let sql = refusal_sql("42501", "held: DROP TABLE \"x\"; $m0$ $airlock0$ '", "d", "h");
        assert!(sql.starts_with("DO $airlock1$"));
        assert!(sql.contains("ERRCODE = '42501'"));
        assert!(refusal_sql("57014", "m", "", "").contains("ERRCODE = '57014'"));
        assert!(refusal_sql("x'; --", "m", "", "").contains("ERRCODE = '42501'"));
        assert!(sql.contains("MESSAGE = $m1$held"));
        assert!(sql.ends_with("END $airlock1$"));
    }
}
