//! Where a value sits in a provider's JSON answer, as a pack names it:
//! `data.volume.volumeInstances.edges[*].node.id`. Segments are keys separated by dots, and
//! brackets: `[N]` (an index, `[-1]` the last), `[*]` (every element: the step fans out, once per
//! element), `[max:FIELD]` / `[min:FIELD]` (the element whose FIELD is greatest or least, compared
//! as text: ISO timestamps compare correctly that way).

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(i64),
    Each,
    Max(String),
    Min(String),
}

/// A parsed path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPath {
    segs: Vec<Seg>,
    text: String,
}

impl JsonPath {
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let mut segs = Vec::new();
        let mut rest = text;
        if rest.is_empty() {
            return Err("an empty path".into());
        }
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('[') {
                let close = inner.find(']').ok_or_else(|| format!("{text:?}: a [ without ]"))?;
                segs.push(
                    bracket(&inner[..close]).ok_or_else(|| {
                        format!("{text:?}: [{}] is not [N], [*], [max:F] or [min:F]", &inner[..close])
                    })?,
                );
                rest = &inner[close + 1..];
                rest = rest.strip_prefix('.').unwrap_or(rest);
                continue;
            }
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let key = &rest[..end];
            if key.is_empty() || key.contains(']') {
                return Err(format!("{text:?}: an empty or malformed key"));
            }
            segs.push(Seg::Key(key.to_owned()));
            rest = &rest[end..];
            if let Some(after) = rest.strip_prefix('.') {
                if after.is_empty() || after.starts_with(['.', '[']) {
                    return Err(format!("{text:?}: a dot with no key after it"));
                }
                rest = after;
            }
        }
        if segs.iter().filter(|s| **s == Seg::Each).count() > 1 {
            return Err(format!("{text:?}: at most one [*] per path"));
        }
        Ok(JsonPath {
            segs,
            text: text.to_owned(),
        })
    }

    /// Whether the path can yield several values (it has `[*]`).
    pub fn fans_out(&self) -> bool {
        self.segs.contains(&Seg::Each)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every value the path reaches in `v` (none when it leads nowhere).
    pub fn eval(&self, v: &Value) -> Vec<Value> {
        let mut cur = vec![v.clone()];
        for s in &self.segs {
            cur = cur.iter().flat_map(|v| step(s, v)).collect();
        }
        cur
    }
}

fn bracket(inner: &str) -> Option<Seg> {
    if inner == "*" {
        return Some(Seg::Each);
    }
    if let Some(f) = inner.strip_prefix("max:").filter(|f| !f.is_empty()) {
        return Some(Seg::Max(f.to_owned()));
    }
    if let Some(f) = inner.strip_prefix("min:").filter(|f| !f.is_empty()) {
        return Some(Seg::Min(f.to_owned()));
    }
    inner.parse().ok().map(Seg::Index)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn step(s: &Seg, v: &Value) -> Vec<Value> {
    match (s, v) {
        (Seg::Key(k), Value::Object(m)) => m.get(k).cloned().into_iter().collect(),
        (Seg::Index(i), Value::Array(a)) => {
            let idx = if *i < 0 { a.len() as i64 + i } else { *i };
            usize::try_from(idx)
                .ok()
                .and_then(|i| a.get(i))
                .cloned()
                .into_iter()
                .collect()
        }
        (Seg::Each, Value::Array(a)) => a.clone(),
        (Seg::Max(f), Value::Array(a)) => a
            .iter()
            .filter(|e| e.get(f).is_some())
            .max_by_key(|e| text_of(&e[f]))
            .cloned()
            .into_iter()
            .collect(),
        (Seg::Min(f), Value::Array(a)) => a
            .iter()
            .filter(|e| e.get(f).is_some())
            .min_by_key(|e| text_of(&e[f]))
            .cloned()
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn paths_reach_fan_out_and_choose() {
        let v = json!({"data": {"edges": [{"node": {"id": "a", "at": "2026-01-02"}}, {"node": {"id": "b", "at": "2026-03-01"}}]}});
        let p = JsonPath::parse("data.edges[*].node.id").unwrap();
        assert!(p.fans_out());
        assert_eq!(p.eval(&v), vec![json!("a"), json!("b")]);
        assert_eq!(
            JsonPath::parse("data.edges[-1].node.id").unwrap().eval(&v),
            vec![json!("b")]
        );
        let list = json!({"l": [{"id": "old", "createdAt": "2026-01-01T00:00:00Z"}, {"id": "new", "createdAt": "2026-05-01T00:00:00Z"}]});
        assert_eq!(
            JsonPath::parse("l[max:createdAt].id").unwrap().eval(&list),
            vec![json!("new")]
        );
        assert_eq!(
            JsonPath::parse("l[min:createdAt].id").unwrap().eval(&list),
            vec![json!("old")]
        );
        assert!(JsonPath::parse("data.missing").unwrap().eval(&v).is_empty());
        for bad in ["", "a..b", "a.", "a[", "a[x]", "a[*][*]", "a[max:]", ".a"] {
            assert!(JsonPath::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn parsing_is_total(s in "[a-z.\\[\\]*0-9:-]{0,24}") {
            if let Ok(p) = JsonPath::parse(&s) {
                let _ = p.eval(&json!({"a": [1, {"b": 2}]}));
            }
        }

        #[test]
        fn dotted_keys_round_trip(keys in proptest::collection::vec("[a-zA-Z_][a-zA-Z0-9_]{0,8}", 1..6), leaf in any::<i64>()) {
            let text = keys.join(".");
            let mut v = json!(leaf);
            for k in keys.iter().rev() {
                v = json!({ k.clone(): v });
            }
            prop_assert_eq!(JsonPath::parse(&text).unwrap().eval(&v), vec![json!(leaf)]);
        }
    }
}
