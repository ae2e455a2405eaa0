//! HTTP requests, from a raw request, a JSON description, or an HTTP client's command line (`curl`,
//! `wget`, `http`/`https`/`xh`), judged by method, path and, for GraphQL, the operations in the body.

mod body;
mod cli;
mod curl;
mod graphql;
pub use graphql::nesting as bracket_nesting;
mod raw;
mod url;

use crate::ctx::Ctx;
use crate::packs::packs;
use crate::{Risk, TargetKind};

pub(crate) use cli::{client_stdout, run_client};
pub(crate) use raw::classify_raw;
pub(crate) use url::Url;

/// What a request carries as its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    None,
    Text(String),
    /// The body comes from a file or stdin: not visible to the classifier.
    Unseen(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

/// Header names whose values are secrets: never shown.
fn is_secret_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "cookie"
        || n == "proxy-authorization"
        || n.contains("token")
        || n.contains("key")
        || n.contains("secret")
}

/// Records the host, port and (for database URLs) database of a URL found anywhere in an action.
pub(crate) fn url_targets(raw: &str, ctx: &mut Ctx<'_>) {
    let Some(u) = Url::parse(raw) else {
        return;
    };
    ctx.target(TargetKind::Host, u.host.clone());
    if let Some(p) = u.port {
        ctx.target(TargetKind::Port, p.to_string());
    }
    match u.scheme.as_str() {
        "postgres" | "postgresql" | "mysql" | "mariadb" | "mongodb" | "mongodb+srv" | "redis" | "rediss" => {
            let db = u.path.trim_start_matches('/');
            if !db.is_empty() {
                ctx.target(TargetKind::Database, url::percent_decode(db));
            }
        }
        _ => ctx.target(TargetKind::Url, u.redacted()),
    }
}

/// The request line shown in summaries: method and URL, never headers or credentials.
fn summary(req: &Request, url: Option<&Url>) -> String {
    let shown = url.map_or_else(|| req.url.clone(), Url::redacted);
    let secret_headers = req.headers.iter().filter(|(n, _)| is_secret_header(n)).count();
    if secret_headers > 0 {
        format!(
            "{} {} (with {} credential header(s), not shown)",
            req.method, shown, secret_headers
        )
    } else {
        format!("{} {}", req.method, shown)
    }
}

pub(crate) fn classify_request(req: &Request, ctx: &mut Ctx<'_>) {
    let method = effective_method(req);
    let url = Url::parse(&req.url);
    let summary = summary(req, url.as_ref());
    let Some(url) = url else {
        ctx.op(
            Risk::Unknown,
            &summary,
            format!("the URL {:?} could not be parsed", req.url),
        );
        return;
    };
    url_targets(&req.url, ctx);
    if body::sql(req, &url, &summary, ctx) {
        return;
    }
    if graphql::is_graphql(req, &url) {
        graphql::classify(req, &url, &summary, ctx);
        return;
    }
    if let Some(why) = body::harm(req, &url) {
        ctx.op(Risk::Destructive, &summary, why);
        return;
    }
    let remote = !url.is_loopback();
    let where_ = if remote { "a remote host" } else { "this machine" };
    match method.as_str() {
        "GET" | "HEAD" | "OPTIONS" | "TRACE" => ctx.op(Risk::Read, &summary, format!("{method} only reads")),
        // Deleting is what DELETE means, on whatever host: a local database or search engine
        // holds data as real as a remote one.
        "DELETE" if regenerable(&url.path) => ctx.op(
            Risk::Write,
            &summary,
            format!("DELETE of a cache at {}, which refills", url.redacted()),
        ),
        "DELETE" => ctx.op(
            Risk::Destructive,
            &summary,
            format!("DELETE removes {} on {}", url.redacted(), url.host),
        ),
        "PUT" if remote && !fresh_name(&url.path) => ctx.op(
            Risk::Destructive,
            &summary,
            format!("PUT replaces whatever is at {} wholesale", url.redacted()),
        ),
        "PUT" => ctx.op(Risk::Write, &summary, format!("PUT to {where_}")),
        _ => {
            if let Some(verb) = destructive_path_verb(&url) {
                if regenerable(&url.path) {
                    ctx.op(
                        Risk::Write,
                        &summary,
                        format!("{method} {verb}s a cache, which refills"),
                    );
                } else if let Some(why) = body::names_items(req) {
                    ctx.op(
                        Risk::Write,
                        &summary,
                        format!("{method} to an endpoint named {verb:?}, bounded: {why}"),
                    );
                } else {
                    ctx.op(
                        Risk::Destructive,
                        &summary,
                        format!("{method} to an endpoint named {verb:?}"),
                    );
                }
                return;
            }
            if method == "POST" && search_endpoint(&url.path) {
                ctx.op(
                    Risk::Read,
                    &summary,
                    "a POST to a search or query endpoint only reads (the query travels in the body)",
                );
                return;
            }
            if method == "PATCH" && json_patch_removes(&req.body) {
                ctx.op(
                    Risk::Destructive,
                    &summary,
                    "the JSON Patch removes or replaces whole parts of the resource",
                );
                return;
            }
            ctx.op(Risk::Write, &summary, format!("{method} changes data on {where_}"));
        }
    }
}

/// The method the server acts on: a POST that carries `X-HTTP-Method-Override: DELETE` or a form
/// field `_method=delete` is a DELETE to frameworks that honour them.
fn effective_method(req: &Request) -> String {
    let method = req.method.to_ascii_uppercase();
    let header = req.headers.iter().find(|(n, _)| {
        matches!(
            n.to_ascii_lowercase().as_str(),
            "x-http-method-override" | "x-http-method" | "x-method-override"
        )
    });
    if let Some((_, v)) = header {
        return v.trim().to_ascii_uppercase();
    }
    if method == "POST" {
        if let Body::Text(text) = &req.body {
            for pair in text.split('&') {
                if let Some(("_method", v)) = pair.split_once('=') {
                    return v.trim().to_ascii_uppercase();
                }
            }
        }
    }
    method
}

/// Endpoints that take their query in a POST body and only read: search engines' `_search`,
/// `/search`, `_count`, `_msearch`, `_mget`, Prometheus' `/query` and `/query_range`.
fn search_endpoint(path: &str) -> bool {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    matches!(
        last.to_ascii_lowercase().as_str(),
        "_search"
            | "search"
            | "_msearch"
            | "multi-search"
            | "_count"
            | "count"
            | "_mget"
            | "_explain"
            | "query"
            | "query_range"
            | "query_exemplars"
            | "_validate"
            | "_field_caps"
            | "_analyze"
    )
}

/// A path that names a cache: clearing it costs a refill, not data.
fn regenerable(path: &str) -> bool {
    path.split('/').filter(|s| !s.is_empty()).any(|s| {
        words(&url::percent_decode(s))
            .iter()
            .any(|w| w == "cache" || w == "caches")
    })
}

/// An object name that carries a date or a timestamp is a new object, not an overwrite.
fn fresh_name(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or_default();
    let digits: Vec<&str> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter(|d| !d.is_empty())
        .collect();
    digits.iter().any(|d| d.len() >= 8)
        || digits
            .windows(2)
            .any(|w| w[0].len() == 4 && w[0].starts_with("20") && w[1].len() == 2)
}

/// Splits an identifier into lowercase words: `volumeDelete` → volume, delete; `delete_users` →
/// delete, users; `purge-cache` → purge, cache.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The first destructive verb among an identifier's words.
pub(crate) fn destructive_verb(name: &str) -> Option<String> {
    let verbs = packs().map(|p| p.destructive_verbs.as_slice()).unwrap_or_default();
    words(name).into_iter().find(|w| verbs.iter().any(|v| v == w))
}

/// A destructive verb in the last meaningful path segment (`/projects/42/delete`, `/purgeCache`,
/// `_delete_by_query`), or a query key that is one (S3's `POST /?delete`).
fn destructive_path_verb(url: &Url) -> Option<String> {
    let is_id = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') || s.chars().all(|c| c.is_ascii_digit());
    let segment = url
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .rev()
        .find(|s| !is_id(s))
        .and_then(|s| destructive_verb(&url::percent_decode(s)));
    segment.or_else(|| {
        url.query_pairs()
            .iter()
            .find(|(k, v)| v.is_empty() && destructive_verb(k).is_some())
            .map(|(k, _)| k.clone())
    })
}

fn json_patch_removes(body: &Body) -> bool {
    let Body::Text(text) = body else {
        return false;
    };
    let Ok(serde_json::Value::Array(ops)) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    ops.iter().any(|op| {
        let kind = op.get("op").and_then(|v| v.as_str()).unwrap_or_default();
        let path = op.get("path").and_then(|v| v.as_str()).unwrap_or_default();
        kind == "remove" || (kind == "replace" && (path.is_empty() || path == "/"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_identifiers_into_words() {
        assert_eq!(words("volumeDelete"), ["volume", "delete"]);
        assert_eq!(words("delete_users"), ["delete", "users"]);
        assert_eq!(
            words("volumeInstanceBackupDelete"),
            ["volume", "instance", "backup", "delete"]
        );
        assert_eq!(words("purge-cache"), ["purge", "cache"]);
        assert_eq!(words("HTTPServer"), ["httpserver"]);
    }

    #[test]
    fn path_verbs_skip_trailing_ids() {
        let verb = |u: &str| destructive_path_verb(&Url::parse(u).unwrap());
        assert_eq!(verb("https://x.io/v1/projects/42/delete").as_deref(), Some("delete"));
        assert_eq!(
            verb("https://x.io/v1/volumes/9f3a-77/destroy/").as_deref(),
            Some("destroy")
        );
        assert_eq!(verb("https://x.io/v1/deleted-items"), None);
        assert_eq!(verb("https://x.io/v1/projects/42"), None);
        assert_eq!(verb("https://b.s3.amazonaws.com/?delete").as_deref(), Some("delete"));
    }

    #[test]
    fn http_semantics_dated_names_are_new_objects() {
        assert!(fresh_name("/exports/2026-12.csv"));
        assert!(fresh_name("/dumps/db-20261203.sql"));
        assert!(!fresh_name("/reports/q2.pdf"));
        assert!(!fresh_name("/v1/users/42"));
    }
}
