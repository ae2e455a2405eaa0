//! What a request body (or query) says beyond its method: SQL sent to a database's HTTP interface,
//! a search engine's delete-by-query over every document, a batch that carries a DELETE, a
//! `force: true`, or a setting that switches a safeguard off.

use serde_json::Value as Json;

use super::{Body, Request, Url};
use crate::ctx::Ctx;
use crate::packs::packs;
use crate::Risk;

/// Keys that carry SQL in JSON bodies and query strings (ClickHouse, Supabase, Neon, D1, Hasura…).
const SQL_KEYS: [&str; 3] = ["query", "sql", "statement"];

/// Classifies SQL carried by the request; returns whether there was any.
pub(super) fn sql(req: &Request, url: &Url, summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let mut found: Vec<String> = url
        .query_pairs()
        .into_iter()
        .filter(|(k, v)| SQL_KEYS.contains(&k.as_str()) && is_sql(v))
        .map(|(_, v)| v)
        .collect();
    if let Body::Text(text) = &req.body {
        match serde_json::from_str::<Json>(text) {
            Ok(Json::Object(map)) => found.extend(
                map.iter()
                    .filter(|(k, _)| SQL_KEYS.contains(&k.as_str()))
                    .filter_map(|(_, v)| v.as_str())
                    .filter(|v| is_sql(v))
                    .map(str::to_owned),
            ),
            Ok(_) => {}
            Err(_) if is_sql(text) => found.push(text.clone()),
            Err(_) => {}
        }
    }
    if found.is_empty() {
        return false;
    }
    ctx.op(Risk::Read, summary, "sends SQL to a database's HTTP interface");
    for sql in found {
        if ctx.enter("SQL over HTTP") {
            crate::sql::classify_into(&sql, ctx);
            ctx.leave();
        }
    }
    true
}

fn is_sql(text: &str) -> bool {
    crate::tool::looks_like_sql(text) && crate::sql::parses_any(text)
}

/// Why the body makes the request destructive, if it does.
pub(super) fn harm(req: &Request, url: &Url) -> Option<String> {
    let path = url.path.to_ascii_lowercase();
    let body: Option<Json> = match &req.body {
        Body::Text(t) => serde_json::from_str(t).ok(),
        _ => None,
    };
    if path.contains("_delete_by_query") || path.contains("_update_by_query") {
        let all = body
            .as_ref()
            .is_none_or(|b| b.get("query").is_none_or(|q| q.get("match_all").is_some()));
        if all {
            return Some("a by-query operation that matches every document rewrites or deletes all of them".to_owned());
        }
    }
    let body = body?;
    if let Some(why) = crate::safeguard::in_json(&body) {
        return Some(why);
    }
    let flags = packs().map(|p| p.destructive_flags.as_slice()).unwrap_or_default();
    find(&body, 0, &mut |k, v| {
        if flags.iter().any(|f| f == k) && v.as_bool() == Some(true) {
            return Some(format!("the body sets {k}: true, which overrides the API's safeguards"));
        }
        if k.eq_ignore_ascii_case("method") && v.as_str().is_some_and(|m| m.eq_ignore_ascii_case("delete")) {
            return Some("the body carries a DELETE (a batch or proxied request)".to_owned());
        }
        None
    })
}

fn find(v: &Json, depth: usize, f: &mut impl FnMut(&str, &Json) -> Option<String>) -> Option<String> {
    if depth > 16 {
        return None;
    }
    match v {
        Json::Object(map) => {
            for (k, inner) in map {
                if let Some(why) = f(k, inner).or_else(|| find(inner, depth + 1, f)) {
                    return Some(why);
                }
            }
            None
        }
        Json::Array(items) => items.iter().find_map(|i| find(i, depth + 1, f)),
        _ => None,
    }
}

/// Whether a delete endpoint's body names the items it removes (a list of ids, a query on one
/// term): then it deletes those, not everything.
pub(super) fn names_items(req: &Request) -> Option<&'static str> {
    let Body::Text(t) = &req.body else {
        return None;
    };
    match serde_json::from_str::<Json>(t).ok()? {
        Json::Array(items) if !items.is_empty() && items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            Some("the body lists the ids to delete")
        }
        Json::Object(map) => {
            let query = map.get("query")?;
            let specific = query.get("match_all").is_none()
                && ["term", "terms", "ids", "match", "match_phrase", "range", "bool"]
                    .iter()
                    .any(|k| query.get(*k).is_some());
            specific.then_some("the query selects specific documents")
        }
        _ => None,
    }
}
