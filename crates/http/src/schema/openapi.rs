//! An OpenAPI (3.x) or Swagger (2.0) document, JSON: each path template's operations, with their
//! ids, summaries and descriptions. Requests are matched to templates segment by segment.

use serde_json::Value;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// One operation the document describes.
#[derive(Clone, Debug)]
pub struct RestOperation {
    pub method: String,
    pub template: String,
    /// operationId, summary and description, joined: what the provider says it does.
    pub words: String,
    pub operation_id: Option<String>,
}

#[derive(Debug, Default)]
pub struct OpenApi {
    operations: Vec<RestOperation>,
    /// Path prefixes of the document's servers (`/v1`), which requests may carry.
    prefixes: Vec<String>,
}

impl OpenApi {
    pub fn from_json(v: &Value) -> Result<OpenApi, String> {
        let paths = v
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the document has no paths")?;
        let mut operations = Vec::new();
        for (template, item) in paths {
            for m in METHODS {
                let Some(op) = item.get(m) else { continue };
                let text = |k: &str| op.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
                operations.push(RestOperation {
                    method: m.to_ascii_uppercase(),
                    template: template.clone(),
                    words: [text("operationId"), text("summary"), text("description")].join(" "),
                    operation_id: op.get("operationId").and_then(Value::as_str).map(str::to_owned),
                });
            }
        }
        let mut prefixes: Vec<String> = v
            .get("servers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("url").and_then(Value::as_str))
            .map(|u| path_of(u).trim_end_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        if let Some(b) = v.get("basePath").and_then(Value::as_str) {
            prefixes.push(b.trim_end_matches('/').to_owned());
        }
        Ok(OpenApi { operations, prefixes })
    }

    /// The operation a request runs, when the document has it (`path` without the query).
    pub fn find(&self, method: &str, path: &str) -> Option<&RestOperation> {
        let mut candidates = vec![path.to_owned()];
        for p in &self.prefixes {
            if let Some(rest) = path.strip_prefix(p.as_str()) {
                candidates.push(rest.to_owned());
            }
        }
        candidates.iter().find_map(|c| {
            self.operations
                .iter()
                .find(|o| o.method.eq_ignore_ascii_case(method) && matches_template(&o.template, c))
        })
    }
}

fn path_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    }
}

/// Whether `path` fits `template` (`/volumes/{id}`, `/files/{name}.json`): a `{…}` part matches
/// one non-empty segment piece.
pub fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| segment_matches(t, p))
}

fn segment_matches(t: &str, p: &str) -> bool {
    match (t.find('{'), t.rfind('}')) {
        (Some(open), Some(close)) if open < close => {
            let (prefix, suffix) = (&t[..open], &t[close + 1..]);
            p.len() > prefix.len() + suffix.len() && p.starts_with(prefix) && p.ends_with(suffix)
        }
        _ => t == p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn requests_find_their_operations() {
        let doc: Value = serde_json::from_str(
            r#"{"openapi":"3.0.0","servers":[{"url":"https://api.example.com/v2"}],"paths":{
                "/projects/{id}":{"get":{"operationId":"getProject"},"delete":{"operationId":"deleteProject","summary":"Delete a project"}},
                "/files/{name}.json":{"post":{"summary":"Upload"}}}}"#,
        )
        .unwrap();
        let api = OpenApi::from_json(&doc).unwrap();
        assert_eq!(
            api.find("DELETE", "/projects/42").unwrap().operation_id.as_deref(),
            Some("deleteProject")
        );
        assert!(
            api.find("DELETE", "/v2/projects/42").is_some(),
            "the server's prefix is allowed"
        );
        assert!(api.find("PATCH", "/projects/42").is_none());
        assert!(api.find("GET", "/projects/42/members").is_none());
        assert!(api.find("POST", "/files/a.json").is_some());
        assert!(api.find("POST", "/files/.json").is_none());
    }

    proptest! {
        #[test]
        fn template_matching_is_total(t in "[/a-z{}.]{0,30}", p in "[/a-z.]{0,30}") {
            let _ = matches_template(&t, &p);
        }

        #[test]
        fn a_path_matches_itself(p in "(/[a-z]{1,6}){1,5}") {
            prop_assert!(matches_template(&p, &p));
        }
    }
}
