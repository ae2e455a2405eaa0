//! Statement shapes: the text with its numeric and string literals replaced by parameters. A session
//! remembers the shapes it saw allowed, so `UPDATE … WHERE id = 7` after `… = 6` skips the full
//! judgement.
//!
//! Sound only because (1) the shape itself is judged too, with its literals as unknown parameters,
//! and remembered only when it is judged exactly like the statement; the classifier's one
//! literal-dependent rule — constant folding of UPDATE/DELETE WHERE clauses — calls a WHERE that
//! turns on a parameter unknown, so such shapes are never remembered; and (2) texts whose literal
//! boundaries could be read two ways get no shape at all: backslashes (standard_conforming_strings
//! decides their meaning), comments, dollar quotes and prefixed strings (`E'…'`, `U&'…'`, `B'…'`).

/// Parameters that stand for literals are numbered from here, clear of a statement's own `$1…`.
const FIRST: usize = 10_000;

/// Where the quoted text opening at `b[open]` ends (its quote character doubled inside it), or
/// None when it does not.
fn past_quoted(b: &[u8], open: usize) -> Option<usize> {
    let quote = b[open];
    let mut i = open + 1;
    loop {
        match b.get(i) {
            None => return None,
            Some(&c) if c == quote && b.get(i + 1) == Some(&quote) => i += 2,
            Some(&c) if c == quote => return Some(i + 1),
            Some(_) => i += 1,
        }
    }
}

fn push_param(out: &mut String, next: &mut usize) {
    use std::fmt::Write;
    let _ = write!(out, "${next}");
    *next += 1;
}

/// The shape of `sql`, or None when it has none (see the module docs).
pub fn shape(sql: &str) -> Option<String> {
    let b = sql.as_bytes();
    if b.iter().enumerate().any(|(i, &c)| {
        c == b'\\' || (c == b'-' && b.get(i + 1) == Some(&b'-')) || (c == b'/' && b.get(i + 1) == Some(&b'*'))
    }) {
        return None;
    }
    let mut out = String::with_capacity(sql.len());
    let mut next = FIRST;
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        let after_ident = i > 0 && ident(b[i - 1]);
        match c {
            b'\'' => {
                // A quote right after a word is a prefixed string (E'', B'', X'', N'', U&'').
                if after_ident || (i > 0 && b[i - 1] == b'&') {
                    return None;
                }
                i = past_quoted(b, i)?;
                push_param(&mut out, &mut next);
            }
            b'"' => {
                let start = i;
                i = past_quoted(b, i)?;
                out.push_str(&sql[start..i]);
            }
            b'$' if !after_ident => {
                // $1 is a parameter; anything else opens a dollar quote.
                let start = i;
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if i == start + 1 {
                    return None;
                }
                out.push_str(&sql[start..i]);
            }
            b'0'..=b'9' | b'.' if !after_ident && (c != b'.' || b.get(i + 1).is_some_and(u8::is_ascii_digit)) => {
                while b.get(i).is_some_and(|d| d.is_ascii_digit() || *d == b'.') {
                    i += 1;
                }
                if matches!(b.get(i), Some(b'e' | b'E')) {
                    let mut j = i + 1;
                    if matches!(b.get(j), Some(b'+' | b'-')) {
                        j += 1;
                    }
                    if b.get(j).is_some_and(u8::is_ascii_digit) {
                        i = j;
                        while b.get(i).is_some_and(u8::is_ascii_digit) {
                            i += 1;
                        }
                    }
                }
                // A number glued to a word (`1abc`) is read differently by different parsers.
                if b.get(i).is_some_and(|&d| ident(d)) {
                    return None;
                }
                push_param(&mut out, &mut next);
            }
            _ if ident(c) => {
                let start = i;
                while b.get(i).is_some_and(|&d| ident(d)) {
                    i += 1;
                }
                out.push_str(&sql[start..i]);
            }
            _ => {
                // One character (the text is UTF-8; multi-byte characters are words above).
                out.push(c as char);
                i += 1;
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn literals_become_parameters() {
        assert_eq!(
            shape("SELECT abalance FROM pgbench_accounts WHERE aid = 12345;").unwrap(),
            "SELECT abalance FROM pgbench_accounts WHERE aid = $10000;"
        );
        assert_eq!(
            shape("SELECT * FROM t1 WHERE a = 'it''s' AND b > 1.5e-3 AND c = $1").unwrap(),
            "SELECT * FROM t1 WHERE a = $10000 AND b > $10001 AND c = $1"
        );
        assert_eq!(
            shape(r#"SELECT "we""ird 1" FROM x"#).unwrap(),
            r#"SELECT "we""ird 1" FROM x"#
        );
        assert_eq!(shape("SELECT 1"), shape("SELECT 99"));
        assert_ne!(shape("SELECT 1"), shape("SELECT a"));
    }

    #[test]
    fn ambiguous_texts_have_no_shape() {
        for sql in [
            r"SELECT 'a\'; DROP TABLE t; --'",
            "SELECT E'x'",
            "SELECT U&'x'",
            "SELECT $$x$$",
            "SELECT $tag$x$tag$",
            "SELECT 1 -- c",
            "SELECT /* c */ 1",
            "SELECT 'unterminated",
            "SELECT \"unterminated",
            "SELECT 1abc",
        ] {
            assert_eq!(shape(sql), None, "{sql}");
        }
    }

    proptest! {
        /// Any text: no panic, and a shape never holds a literal of the input.
        #[test]
        fn shape_never_panics(sql in "\\PC{0,200}") {
            let _ = shape(&sql);
        }

        /// Statements differing only in a literal share a shape.
        #[test]
        fn literal_values_do_not_change_the_shape(n in any::<u32>(), s in "[a-z' ]{0,20}") {
            let quoted = s.replace('\'', "''");
            let a = shape(&format!("SELECT x FROM t WHERE a = {n} AND b = '{quoted}'"));
            let b = shape("SELECT x FROM t WHERE a = 0 AND b = ''");
            prop_assert_eq!(a, b);
        }
    }
}
