//! Small pieces of HTML: escaping, the page frame, times, and a readable rendering of JSON.
//!
//! Every value that comes from an action, an operator or the audit chain goes through [`esc`];
//! nothing else builds markup from data.

use std::fmt::Write;

use serde_json::Value;

/// Escapes text for an HTML text node or a double-quoted attribute.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Who is signed in, for the frame's navigation.
pub(crate) struct Nav<'a> {
    pub(crate) operator: &'a str,
    pub(crate) csrf: &'a str,
}

/// A whole page. `page` names it for the script (`login`, `enroll`, `pending`, `action`, …).
pub(crate) fn layout(title: &str, page: &str, action: Option<&str>, nav: Option<Nav<'_>>, body: &str) -> String {
    let nav = match nav {
        Some(n) => format!(
            r#"<nav aria-label="Main"><a href="/">Pending</a> <a href="/history">History</a>
<form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="{}"><button type="submit" class="link">Sign out {}</button></form></nav>"#,
            esc(n.csrf),
            esc(n.operator)
        ),
        None => String::new(),
    };
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Airlock</title>
<link rel="stylesheet" href="/static/style.css">
<script src="/static/app.js" defer></script>
</head>
<body data-page="{page}" data-action="{action}">
<header class="top"><a href="/" class="brand">Airlock</a>{nav}</header>
<main id="main">
{body}
</main>
</body>
</html>
"#,
        title = esc(title),
        page = esc(page),
        action = esc(action.unwrap_or_default()),
    )
}

/// A Unix time as `2026-05-01 14:03:07 UTC`.
pub(crate) fn utc(ts: i64) -> String {
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    // Civil from days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// How long ago (or, negative, how far ahead), roughly.
pub(crate) fn ago(ts: i64, now: i64) -> String {
    let d = now - ts;
    let (n, future) = (d.unsigned_abs(), d < 0);
    let text = match n {
        0..=59 => format!("{n} s"),
        60..=3599 => format!("{} min", n / 60),
        3600..=86_399 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86_400),
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// JSON as nested lists, text redacted and escaped (blast radius, evidence: shapes Airlock adds
/// to over time, shown without the page knowing each one).
pub(crate) fn json(v: &Value) -> String {
    let mut out = String::new();
    json_into(&mut out, v, 0);
    out
}

fn json_into(out: &mut String, v: &Value, depth: usize) {
    if depth > 6 {
        out.push('…');
        return;
    }
    match v {
        Value::Null => out.push('—'),
        Value::Bool(b) => out.push_str(if *b { "yes" } else { "no" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(&esc(&airlock_classify::redact(s))),
        Value::Array(items) => {
            out.push_str("<ul>");
            for i in items {
                out.push_str("<li>");
                json_into(out, i, depth + 1);
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        Value::Object(map) => {
            out.push_str("<dl class=\"json\">");
            for (k, v) in map {
                let _ = write!(out, "<dt>{}</dt><dd>", esc(&k.replace('_', " ")));
                json_into(out, v, depth + 1);
                out.push_str("</dd>");
            }
            out.push_str("</dl>");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_data_is_inert() {
        assert_eq!(
            esc(r#"<script>"a"&'b'</script>"#),
            "&lt;script&gt;&quot;a&quot;&amp;&#39;b&#39;&lt;/script&gt;"
        );
        let page = layout("<x>", "p\"", Some("a<"), None, "");
        assert!(!page.contains("<x>") && page.contains("&lt;x&gt;") && page.contains("data-page=\"p&quot;\""));
        let j = json(&serde_json::json!({ "table<": ["<b>", 3, null, true] }));
        assert!(
            !j.contains("<b>") && j.contains("&lt;b&gt;") && j.contains("table&lt;"),
            "{j}"
        );
    }

    #[test]
    fn secrets_in_json_are_masked() {
        let j = json(&serde_json::json!({ "url": "postgres://app:hunter2secret@db/x" }));
        assert!(!j.contains("hunter2secret"), "{j}");
    }

    #[test]
    fn times_read_as_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_767_225_599), "2025-12-31 23:59:59 UTC");
        assert_eq!(ago(100, 160), "1 min ago");
        assert_eq!(ago(200, 100), "in 1 min");
        assert_eq!(ago(0, 90_000), "1 d ago");
    }

    proptest::proptest! {
        #[test]
        fn escaped_text_has_no_markup(s in ".*") {
            let e = esc(&s);
            proptest::prop_assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        }
    }
}
