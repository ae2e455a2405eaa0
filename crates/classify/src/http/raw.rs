//! The `http` action kind: a raw request (`METHOD URL`, header lines, a blank line, the body), or a
//! JSON object `{"method", "url", "headers", "body"}`.

use serde_json::Value as Json;

use super::{classify_request, Body, Request};
use crate::ctx::Ctx;
use crate::Risk;

pub(crate) fn classify_raw(input: &str, ctx: &mut Ctx<'_>) {
    match parse(input) {
        Ok(req) => classify_request(&req, ctx),
        Err(why) => ctx.op(
            Risk::Unknown,
            input.lines().next().unwrap_or_default(),
            format!("the HTTP request could not be read: {why}"),
        ),
    }
}

fn parse(input: &str) -> Result<Request, String> {
    let trimmed = input.trim_start();
    if trimmed.starts_with('{') {
        return parse_json(trimmed);
    }
    let normalized = input.replace("\r\n", "\n");
    let (head, body) = match normalized.split_once("\n\n") {
        Some((h, b)) => (h.to_owned(), Some(b.to_owned())),
        None => (normalized.clone(), None),
    };
    let mut lines = head.lines().filter(|l| !l.trim().is_empty());
    let request_line = lines.next().ok_or("it is empty")?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().ok_or("no method")?;
    let url = parts.next().ok_or("no URL after the method")?;
    if !method.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(format!(
            "{method:?} is not an HTTP method (methods are upper case: GET, POST, DELETE…)"
        ));
    }
    if !url.contains("://") && !url.starts_with('/') {
        return Err(format!("{url:?} is not an absolute URL"));
    }
    let mut headers = Vec::new();
    for line in lines {
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("header line without a colon: {:?}", first_chars(line)))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    // A relative request target takes its host from the Host header.
    let url = if url.starts_with('/') {
        let host = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.clone())
            .ok_or("a relative URL needs a Host header")?;
        format!("https://{host}{url}")
    } else {
        url.to_owned()
    };
    let body = match body {
        Some(b) if !b.trim().is_empty() => Body::Text(b),
        _ => Body::None,
    };
    Ok(Request {
        method: method.to_ascii_uppercase(),
        url,
        headers,
        body,
    })
}

fn first_chars(s: &str) -> String {
    s.chars().take(40).collect()
}

fn parse_json(text: &str) -> Result<Request, String> {
    let v: Json = serde_json::from_str(text).map_err(|e| format!("invalid JSON ({e})"))?;
    let url = v
        .get("url")
        .and_then(Json::as_str)
        .ok_or("the JSON has no \"url\" string")?;
    let method = v.get("method").and_then(Json::as_str).unwrap_or("GET");
    let headers = match v.get("headers") {
        Some(Json::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
            .collect(),
        None | Some(Json::Null) => Vec::new(),
        Some(_) => return Err("\"headers\" must be an object".to_owned()),
    };
    let body = match v.get("body") {
        None | Some(Json::Null) => Body::None,
        Some(Json::String(s)) => Body::Text(s.clone()),
        Some(other) => Body::Text(other.to_string()),
    };
    Ok(Request {
        method: method.to_ascii_uppercase(),
        url: url.to_owned(),
        headers,
        body,
    })
}
