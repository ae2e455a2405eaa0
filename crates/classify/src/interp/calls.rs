//! Judging the calls found by the parsers (`tree.rs`): the `interpreters` and `orm` packs say what
//! each API does; HTTP clients become requests for the HTTP classifier; `open(path, 'w')` and
//! `writeFileSync` overwrite their file.

use super::tree::{Call, Value};
use super::{api_matches, apply, FirstArg, Lang};
use crate::ctx::Ctx;
use crate::http::{Body, Request};
use crate::packs::{ApiEffect, Packs};
use crate::Risk;

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// Judges every call; returns whether any was one Airlock knows.
pub(super) fn judge(calls: &[Call], lang: Lang, packs: &Packs, summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let mut known = false;
    for call in calls {
        if !ctx.tick() {
            return known;
        }
        if open_for_writing(call, lang, summary, ctx) {
            known = true;
            continue;
        }
        let Some(api) = packs.apis.iter().find(|a| api_matches(a, lang, &call.name)) else {
            continue;
        };
        known = true;
        match api.effect {
            ApiEffect::Http => http(call, summary, ctx),
            ApiEffect::Overwrite => match call.args.first() {
                Some(Value::Str(p)) => ctx.overwrite(p, false, summary),
                _ => ctx.op(
                    Risk::Unknown,
                    summary,
                    format!("{} writes a file named at run time", call.name),
                ),
            },
            ApiEffect::Command => {
                let op = match call.args.first() {
                    Some(Value::Object(pairs)) => pairs.first().map(|(k, _)| k.clone()),
                    Some(Value::Str(s)) => Some(s.clone()),
                    _ => None,
                };
                match op.and_then(|op| {
                    packs
                        .apis
                        .iter()
                        .find(|a| api_matches(a, lang, &op) && !matches!(a.effect, ApiEffect::Command))
                        .map(|a| (op, a))
                }) {
                    Some((op, a)) => ctx.op(
                        if matches!(a.effect, ApiEffect::Risk) {
                            a.risk
                        } else {
                            Risk::Write
                        },
                        summary,
                        format!("{}({op}): {}", call.name, a.reason),
                    ),
                    None => ctx.op(
                        Risk::Unknown,
                        summary,
                        format!("{} runs a command Airlock does not know", call.name),
                    ),
                }
            }
            _ => apply(api, &call.name, first_arg(call), lang, summary, ctx),
        }
    }
    known
}

fn first_arg(call: &Call) -> FirstArg {
    match call.args.first() {
        None => FirstArg::Empty,
        Some(Value::Str(s)) => FirstArg::Literal(s.clone()),
        Some(Value::List(items)) => FirstArg::List(items.join(" ")),
        Some(Value::Object(pairs)) if pairs.is_empty() => FirstArg::Empty,
        Some(_) => FirstArg::Dynamic,
    }
}

/// Python's `open(path, 'w')` truncates the file; `'a'` appends; reading changes nothing.
fn open_for_writing(call: &Call, lang: Lang, summary: &str, ctx: &mut Ctx<'_>) -> bool {
    if lang != Lang::Python || !matches!(call.name.as_str(), "open" | "io.open" | "codecs.open") {
        return false;
    }
    let mode = call
        .args
        .get(1)
        .or_else(|| call.kwargs.iter().find(|(k, _)| k == "mode").map(|(_, v)| v));
    let mode = match mode {
        None => "r".to_owned(),
        Some(Value::Str(m)) => m.clone(),
        Some(_) => "?".to_owned(),
    };
    let path = match call.args.first() {
        Some(Value::Str(p)) => Some(p.clone()),
        _ => None,
    };
    match (mode.as_str(), path) {
        (m, Some(p)) if m.contains('w') => ctx.overwrite(&p, false, summary),
        (m, Some(p)) if m.contains('a') || m.contains('x') || m.contains('+') => {
            let resolved = ctx.path_target(&p, Risk::Write, summary);
            ctx.op(Risk::Write, summary, format!("writes {resolved}"));
        }
        (m, Some(p)) if m.contains('r') => {
            ctx.path_target(&p, Risk::Read, summary);
            ctx.op(Risk::Read, summary, "opens a file to read it");
        }
        _ => ctx.op(Risk::Unknown, summary, "opens a file named or moded at run time"),
    }
    true
}

/// An HTTP client call: method from the option, the function's name or the first argument.
fn http(call: &Call, summary: &str, ctx: &mut Ctx<'_>) {
    let last = call.name.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
    let option = |names: &[&str]| {
        call.kwargs
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
    };
    let mut args: &[Value] = &call.args;
    // axios({method, url, data}) and similar: one config object.
    let config: Vec<(String, Value)> = match args.first() {
        Some(Value::Object(pairs)) if args.len() == 1 => pairs.clone(),
        _ => Vec::new(),
    };
    let from_config = |names: &[&str]| {
        config
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
    };
    let mut method = option(&["method"]).or_else(|| from_config(&["method"]));
    if method.is_none() && last.ends_with("request") {
        if let Some(Value::Str(m)) = args.first() {
            if m.chars().all(|c| c.is_ascii_alphabetic()) && METHODS.contains(&m.to_ascii_lowercase().as_str()) {
                method = Some(Value::Str(m.clone()));
                args = &args[1..];
            }
        }
    }
    let body = option(&["json", "data", "body", "content", "files"]).or_else(|| from_config(&["data", "body"]));
    let method = match method {
        Some(Value::Str(m)) => m.to_ascii_uppercase(),
        Some(_) => {
            ctx.op(
                Risk::Unknown,
                summary,
                format!("{} sends a request whose method is known only at run time", call.name),
            );
            return;
        }
        None if METHODS.contains(&last.as_str()) => last.to_ascii_uppercase(),
        None if body.is_some() => "POST".to_owned(),
        None => "GET".to_owned(),
    };
    let url = args
        .first()
        .cloned()
        .filter(|v| !matches!(v, Value::Object(_)))
        .or_else(|| option(&["url"]))
        .or_else(|| from_config(&["url"]));
    let Some(Value::Str(url)) = url else {
        // urlopen(Request(…)): the inner Request is the call that says what is sent.
        if call.name.ends_with("urlopen") {
            return;
        }
        match method.as_str() {
            "GET" | "HEAD" | "OPTIONS" => ctx.op(Risk::Read, summary, format!("{method} only reads")),
            "DELETE" => ctx.op(
                Risk::Destructive,
                summary,
                format!("{} sends a DELETE (to a URL built at run time)", call.name),
            ),
            _ => ctx.op(
                Risk::Unknown,
                summary,
                format!("{} sends a {method} to a URL built at run time", call.name),
            ),
        }
        return;
    };
    let body = match body {
        None => Body::None,
        Some(Value::Str(s)) => Body::Text(s),
        Some(v @ Value::Object(_)) => Body::Text(to_json(&v).to_string()),
        Some(_) => Body::Unseen("a value computed at run time".to_owned()),
    };
    let req = Request {
        method,
        url,
        headers: Vec::new(),
        body,
    };
    if ctx.enter("HTTP call in code") {
        crate::http::classify_request(&req, ctx);
        ctx.leave();
    }
}

fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Str(s) => J::String(s.clone()),
        Value::List(items) => J::Array(items.iter().cloned().map(J::String).collect()),
        Value::Object(pairs) => J::Object(pairs.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => n.parse::<serde_json::Number>().map_or(J::Null, J::Number),
        Value::Dynamic => J::Null,
    }
}
