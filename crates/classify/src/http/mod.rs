//! HTTP requests, from a raw request, a JSON description, or an HTTP client's command line (`curl`,
//! `wget`, `http`/`https`/`xh`), judged by method, path and, for GraphQL, the operations in the body.

mod cli;
mod curl;
mod graphql;
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
    let method = req.method.to_ascii_uppercase();
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
    if graphql::is_graphql(req, &url) {
        graphql::classify(req, &url, &summary, ctx);
        return;
    }
    let remote = !url.is_loopback();
    let where_ = if remote { "a remote host" } else { "this machine" };
    match method.as_str() {
        "GET" | "HEAD" | "OPTIONS" | "TRACE" => ctx.op(Risk::Read, &summary, format!("{method} only reads")),
        "DELETE" if remote => ctx.op(
            Risk::Destructive,
            &summary,
            format!("DELETE removes {} on {}", url.redacted(), url.host),
        ),
        "PUT" if remote => ctx.op(
            Risk::Destructive,
            &summary,
            format!("PUT replaces whatever is at {} wholesale", url.redacted()),
        ),
        "DELETE" | "PUT" => ctx.op(Risk::Write, &summary, format!("{method} to {where_}")),
        _ => {
            if let Some(verb) = destructive_path_verb(&url.path) {
                if remote {
                    ctx.op(
                        Risk::Destructive,
                        &summary,
                        format!("{method} to an endpoint named {verb:?}"),
                    );
                    return;
                }
            }
            if method == "PATCH" && json_patch_removes(&req.body) && remote {
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

/// Splits an identifier into lowercase words: `volumeDelete` → volume, delete; `delete_users` →
/// delete, users; `purge-cache` → purge, cache.
pub(crate) fn words(name: &str) -> Vec<String> {
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

/// A destructive verb in the last meaningful path segment (`/projects/42/delete`, `/purgeCache`).
fn destructive_path_verb(path: &str) -> Option<String> {
    let is_id = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') || s.chars().all(|c| c.is_ascii_digit());
    path.split('/')
        .filter(|s| !s.is_empty())
        .rev()
        .find(|s| !is_id(s))
        .and_then(|s| destructive_verb(&url::percent_decode(s)))
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
        assert_eq!(
            destructive_path_verb("/v1/projects/42/delete").as_deref(),
            Some("delete")
        );
        assert_eq!(
            destructive_path_verb("/v1/volumes/9f3a-77/destroy/").as_deref(),
            Some("destroy")
        );
        assert_eq!(destructive_path_verb("/v1/deleted-items"), None);
        assert_eq!(destructive_path_verb("/v1/projects/42"), None);
    }
}
