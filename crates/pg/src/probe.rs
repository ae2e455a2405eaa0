//! Asking the client's own upstream session how it will read names: its `search_path`, the role
//! whose schemas it searches (and whose `"$user"` it means), and its `statement_timeout` (which
//! bounds how long a held statement may wait for the humans).
//!
//! Only the session itself knows these: `SET`, `SET LOCAL` and `RESET` change them, and so do
//! `set_config()` anywhere in any expression, a function or trigger that calls it, the end of a
//! transaction (which drops `SET LOCAL`), a `ROLLBACK` (which undoes a `SET` made inside it) and
//! `DISCARD ALL`. Following all of that from the statements' text cannot be done soundly, so the
//! gateway asks — only for a statement that is held or spends an approval, never on the fast path.
//!
//! The question is four `SHOW`s over the extended protocol with a statement and portal of the
//! gateway's own (random) name, each closed after use, then a Sync. `SHOW` takes no snapshot and no
//! lock, so it does not fix a `REPEATABLE READ` transaction's snapshot early nor hold anything
//! until the transaction ends; named objects leave the client's unnamed statement and portal alone
//! (a simple Query would drop them). The gateway sends it only when the session has answered
//! everything it was sent and no extended batch is open (see `session::flow`), so the Sync neither
//! commits a half-sent batch of the client's nor lands inside one, and every reply up to its
//! ReadyForQuery is the question's own: none of it reaches the client. In a failed transaction the
//! first `SHOW` fails (25P02), which changes nothing there; the answer is then unknown.

use std::time::Duration;

use crate::messages::{cstr, message};

/// The settings asked, in order.
const SETTINGS: [&str; 4] = ["search_path", "role", "session_authorization", "statement_timeout"];

/// How the client's session reads names, as it said itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    /// `SHOW search_path`, verbatim (it reads back exactly through `set_config`).
    pub search_path: String,
    /// The role in effect: `SET ROLE`'s, else the session user.
    pub role: String,
    /// None when it is 0 (no limit).
    pub statement_timeout: Option<Duration>,
}

/// The question: for each setting, Parse, Bind, Execute and two Closes under `name`; then Sync.
pub fn question(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for setting in SETTINGS {
        let mut parse = Vec::new();
        push_cstr(&mut parse, name);
        push_cstr(&mut parse, &format!("SHOW {setting}"));
        parse.extend_from_slice(&0u16.to_be_bytes());
        out.extend(message(b'P', &parse));
        // Bind: portal, statement, no parameter formats, no parameters, no result formats (text).
        let mut bind = Vec::new();
        push_cstr(&mut bind, name);
        push_cstr(&mut bind, name);
        bind.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        out.extend(message(b'B', &bind));
        let mut execute = Vec::new();
        push_cstr(&mut execute, name);
        execute.extend_from_slice(&0i32.to_be_bytes());
        out.extend(message(b'E', &execute));
        for what in [b'P', b'S'] {
            let mut close = vec![what];
            push_cstr(&mut close, name);
            out.extend(message(b'C', &close));
        }
    }
    out.extend(message(b'S', &[]));
    out
}

fn push_cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// Whole messages in `bytes`: (tag, body).
fn messages(mut bytes: &[u8]) -> Result<Vec<(u8, &[u8])>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = bytes
            .get(1..5)
            .map(|l| u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize)
            .filter(|&l| l >= 4 && l < bytes.len())
            .ok_or("a reply is cut short")?;
        out.push((bytes[0], &bytes[5..len + 1]));
        bytes = &bytes[len + 1..];
    }
    Ok(out)
}

/// An ErrorResponse's message and SQLSTATE.
fn error_text(body: &[u8]) -> String {
    let (mut code, mut text) = ("", "".to_owned());
    for field in body.split(|&b| b == 0) {
        match field.split_first() {
            Some((b'C', v)) => code = std::str::from_utf8(v).unwrap_or(""),
            Some((b'M', v)) => text = String::from_utf8_lossy(v).into_owned(),
            _ => {}
        }
    }
    format!("{text} (SQLSTATE {code})")
}

/// A one-column DataRow's text.
fn one_value(body: &[u8]) -> Option<String> {
    let (count, rest) = body.split_at_checked(2)?;
    let (len, value) = rest.split_at_checked(4)?;
    let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
    (count == [0, 1] && len >= 0 && value.len() == len as usize).then(|| String::from_utf8(value.to_vec()).ok())?
}

/// Reads the session's answer to [`question`]: every message up to and including its
/// ReadyForQuery, in exactly the shape the question calls for (notices aside).
pub fn answer(bytes: &[u8]) -> Result<SessionView, String> {
    let replies: Vec<(u8, &[u8])> = messages(bytes)?.into_iter().filter(|(t, _)| *t != b'N').collect();
    if let Some((_, body)) = replies.iter().find(|(t, _)| *t == b'E') {
        return Err(format!("the session refused the question: {}", error_text(body)));
    }
    let mut values = Vec::new();
    let mut rest = replies.as_slice();
    for _ in SETTINGS {
        let Some(([(b'1', _), (b'2', _), (b'D', row), (b'C', tag), (b'3', _), (b'3', _)], tail)) =
            rest.split_first_chunk::<6>()
        else {
            return Err("the session's answer does not have the expected shape".into());
        };
        if cstr(tag).ok().map(|(t, _)| t) != Some("SHOW") {
            return Err("the session's answer does not have the expected shape".into());
        }
        values.push(one_value(row).ok_or("the session's answer holds an unreadable value")?);
        rest = tail;
    }
    if !matches!(rest, [(b'Z', _)]) {
        return Err("the session's answer does not end where it should".into());
    }
    let [search_path, role, session_user, timeout]: [String; 4] = values
        .try_into()
        .map_err(|_| "the session's answer is incomplete".to_owned())?;
    Ok(SessionView {
        search_path,
        // "none" is not a role name PostgreSQL allows: it means no SET ROLE.
        role: if role == "none" { session_user } else { role },
        statement_timeout: duration(&timeout).ok_or_else(|| format!("statement_timeout {timeout:?} is unreadable"))?,
    })
}

/// A time setting as `SHOW` prints it (`0`, `250ms`, `2s`, `1min`, `3h`, `1d`); Some(None) for 0.
pub fn duration(shown: &str) -> Option<Option<Duration>> {
    let digits = shown.find(|c: char| !c.is_ascii_digit()).unwrap_or(shown.len());
    let (n, unit) = shown.split_at(digits);
    let n: u64 = n.parse().ok()?;
    let ms = match unit {
        "" | "ms" => n,
        "s" => n.checked_mul(1000)?,
        "min" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some((ms > 0).then(|| Duration::from_millis(ms)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reply(values: &[&str], notice: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for v in values {
            out.extend(message(b'1', &[]));
            out.extend(message(b'2', &[]));
            if notice {
                out.extend(message(b'N', b"SNOTICE\0Mdebug\0\0"));
            }
            let mut row = vec![0, 1];
            row.extend((v.len() as i32).to_be_bytes());
            row.extend(v.as_bytes());
            out.extend(message(b'D', &row));
            out.extend(message(b'C', b"SHOW\0"));
            out.extend(message(b'3', &[]));
            out.extend(message(b'3', &[]));
        }
        out.extend(message(b'Z', b"T"));
        out
    }

    #[test]
    fn the_question_is_framed_as_the_protocol_wants() {
        let q = question("airlock_probe_1");
        let parsed = messages(&q).unwrap();
        let tags: String = parsed.iter().map(|(t, _)| *t as char).collect();
        assert_eq!(tags, "PBECC".repeat(4) + "S");
        let mut buf = bytes::BytesMut::new();
        postgres_protocol::message::frontend::parse("airlock_probe_1", "SHOW search_path", [], &mut buf).unwrap();
        assert_eq!(&q[..buf.len()], &buf[..]);
    }

    #[test]
    fn the_answer_is_read_strictly() {
        let view = answer(&reply(&["other, public", "none", "app", "2s"], true)).unwrap();
        assert_eq!(
            view,
            SessionView {
                search_path: "other, public".into(),
                role: "app".into(),
                statement_timeout: Some(Duration::from_secs(2)),
            }
        );
        assert_eq!(
            answer(&reply(&["a", "admin", "app", "0"], false)).unwrap().role,
            "admin"
        );
        // Anything else is not an answer.
        assert!(answer(&reply(&["a", "none", "app"], false)).is_err());
        let mut extra = reply(&["a", "none", "app", "0"], false);
        extra.splice(0..0, message(b'D', &[0, 1, 0, 0, 0, 1, b'x']));
        assert!(answer(&extra).is_err());
        let mut failed = message(b'E', b"SERROR\0C25P02\0Mcurrent transaction is aborted\0\0");
        failed.extend(message(b'Z', b"E"));
        let e = answer(&failed).unwrap_err();
        assert!(e.contains("25P02") && e.contains("aborted"), "{e}");
        assert!(answer(&failed[..failed.len() - 2]).is_err());
    }

    #[test]
    fn durations_read_as_show_prints_them() {
        assert_eq!(duration("0"), Some(None));
        assert_eq!(duration("250ms"), Some(Some(Duration::from_millis(250))));
        assert_eq!(duration("1min"), Some(Some(Duration::from_secs(60))));
        assert_eq!(duration("1d"), Some(Some(Duration::from_secs(86_400))));
        assert_eq!(duration("5 s"), None);
        assert_eq!(duration("s"), None);
        assert_eq!(duration("99999999999999999999d"), None);
    }

    proptest! {
        #[test]
        fn answer_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = answer(&bytes);
        }

        #[test]
        fn every_unit_reads_back(n in 1u64..100_000, unit in 0usize..5) {
            let (suffix, ms) = [("ms", 1), ("s", 1000), ("min", 60_000), ("h", 3_600_000), ("d", 86_400_000)][unit];
            prop_assert_eq!(duration(&format!("{n}{suffix}")), Some(Some(Duration::from_millis(n * ms))));
        }
    }
}
