//! Values a pack's calls carry, filled in from what is known at the time: `{volumeId}` (an argument
//! of the held call), `{instance}` (a value an earlier step captured). A JSON string that is
//! exactly `{name}` becomes the bound value itself (a number stays a number); inside longer text
//! and in paths the value is spliced in as text (percent-encoded in paths). GraphQL documents are
//! never templated: values reach them as variables only, so no value can change what runs.

use std::collections::BTreeMap;

use serde_json::Value;

/// The names bound so far.
pub type Scope = BTreeMap<String, Value>;

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The `{name}` references in `s`, in order, with their byte ranges.
fn references(s: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = s[from..].find('{').map(|i| i + from) {
        let Some(close) = s[open..].find('}').map(|i| i + open) else {
            break;
        };
        let name = &s[open + 1..close];
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        {
            out.push((open, close + 1, name));
        }
        from = open + 1;
    }
    out
}

fn lookup<'a>(scope: &'a Scope, name: &str) -> Result<&'a Value, String> {
    scope.get(name).ok_or_else(|| {
        format!(
            "{{{name}}} is not known at this step (known: {})",
            scope.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

/// `s` with each `{name}` replaced by its value as text, `encode` applied to each value.
pub fn render_text(s: &str, scope: &Scope, encode: fn(&str) -> String) -> Result<String, String> {
    let mut out = String::new();
    let mut at = 0;
    for (start, end, name) in references(s) {
        if start < at {
            continue;
        }
        out.push_str(&s[at..start]);
        out.push_str(&encode(&text_of(lookup(scope, name)?)));
        at = end;
    }
    out.push_str(&s[at..]);
    Ok(out)
}

/// A JSON template rendered: strings templated, `"{name}"` alone replaced by the value.
pub fn render_json(v: &Value, scope: &Scope) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => match references(s).as_slice() {
            [(0, end, name)] if *end == s.len() => lookup(scope, name)?.clone(),
            _ => Value::String(render_text(s, scope, |x| x.to_owned())?),
        },
        Value::Array(items) => Value::Array(items.iter().map(|i| render_json(i, scope)).collect::<Result<_, _>>()?),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, scope)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// A path segment value, percent-encoded (unreserved characters stay).
pub use airlock_server::percent_encode as encode_segment;

/// The arguments of a call as a scope: each argument by name, and nested input fields by their
/// dotted path (`input.volumeId`).
pub fn scope_of(args: &serde_json::Map<String, Value>) -> Scope {
    fn walk(prefix: &str, v: &Value, depth: usize, out: &mut Scope) {
        out.insert(prefix.to_owned(), v.clone());
        if let (Value::Object(m), true) = (v, depth < 8) {
            for (k, inner) in m {
                walk(&format!("{prefix}.{k}"), inner, depth + 1, out);
            }
        }
    }
    let mut out = Scope::new();
    for (k, v) in args {
        walk(k, v, 0, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn scope() -> Scope {
        scope_of(
            json!({"volumeId": "vol 1", "n": 3, "input": {"id": "x"}})
                .as_object()
                .unwrap(),
        )
    }

    #[test]
    fn values_fill_templates() {
        let s = scope();
        assert_eq!(
            render_json(&json!({"id": "{volumeId}", "n": "{n}", "t": "v={n}"}), &s).unwrap(),
            json!({"id": "vol 1", "n": 3, "t": "v=3"})
        );
        assert_eq!(render_json(&json!("{input.id}"), &s).unwrap(), json!("x"));
        assert_eq!(
            render_text("/volumes/{volumeId}", &s, encode_segment).unwrap(),
            "/volumes/vol%201"
        );
        assert!(render_json(&json!("{missing}"), &s).unwrap_err().contains("missing"));
        assert_eq!(
            render_text("{ not a ref }", &s, encode_segment).unwrap(),
            "{ not a ref }"
        );
    }

    proptest! {
        #[test]
        fn rendering_is_total(t in ".{0,60}") {
            let _ = render_text(&t, &scope(), encode_segment);
            let _ = render_json(&json!(t), &scope());
        }

        #[test]
        fn encoded_segments_never_carry_separators(v in ".{0,40}") {
            let e = encode_segment(&v);
            prop_assert!(!e.contains(['/', '?', '#', ' ']));
        }
    }
}
