//! HTTP clients on the command line, turned into requests: `curl`, `wget`, and httpie's
//! `http`/`https` (and `xh`, which shares its syntax).

use serde_json::{Map, Value as Json};

use super::{classify_request, Body, Request, Url};
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::shell::Stream;
use crate::Risk;

/// Handles `name` if it is an HTTP client; returns false otherwise.
pub(crate) fn run_client(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let requests = match name {
        "curl" => super::curl::curl(args, summary, ctx),
        "wget" => wget(args, summary, ctx),
        "http" | "https" | "xh" | "xhs" => httpie(name, args, summary, ctx),
        "gh" if args.first().is_some_and(|a| a.text == "api") => gh_api(&args[1..]),
        _ => return false,
    };
    if requests.is_empty() {
        ctx.op(Risk::Read, summary, format!("{name} sends no request"));
    }
    for r in requests {
        if r.method.contains('$') {
            ctx.op(Risk::Unknown, summary, "the request's method is only known at run time");
            continue;
        }
        let reads = matches!(r.method.as_str(), "GET" | "HEAD" | "OPTIONS");
        // A run-time part that only fills in an id (`/zones/$ZONE/purge_cache`) does not change
        // which endpoint is called; one in the host or the last segment could.
        let last_segment = r
            .url
            .split('?')
            .next()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let host = r
            .url
            .split("://")
            .nth(1)
            .unwrap_or(&r.url)
            .split('/')
            .next()
            .unwrap_or_default();
        if (last_segment.contains('$') || host.contains('$')) && !reads {
            // `DELETE https://api.x.io/items/$id` deletes whatever $id is: what is known stands.
            ctx.partially_known(summary, "part of the URL", |ctx| classify_request(&r, ctx));
            continue;
        }
        classify_request(&r, ctx);
    }
    true
}

/// What an HTTP client prints: the download itself, unless it saves it to a file.
pub(crate) fn client_stdout(name: &str, args: &[Arg]) -> Stream {
    let texts: Vec<&str> = Arg::texts(args);
    let url = texts
        .iter()
        .find(|t| t.contains("://"))
        .map_or("the network", |u| *u)
        .to_owned();
    let to_stdout = match name {
        "curl" => !texts.iter().any(|t| {
            matches!(*t, "-o" | "--output" | "-O" | "--remote-name" | "--remote-name-all") || t.starts_with("--output=")
        }),
        "wget" => texts.iter().enumerate().any(|(i, t)| {
            (t.starts_with('-') && !t.starts_with("--") && t.ends_with('O') && texts.get(i + 1) == Some(&"-"))
                || (t.starts_with('-') && !t.starts_with("--") && t.ends_with("O-"))
                || *t == "--output-document=-"
        }),
        _ => true,
    };
    if to_stdout {
        Stream::Download(Url::parse(&url).map_or(url, |u| u.redacted()))
    } else {
        Stream::Opaque
    }
}

pub(super) fn requests(urls: Vec<String>, method: &str, headers: &[(String, String)], body: &Body) -> Vec<Request> {
    urls.into_iter()
        .map(|url| Request {
            method: method.to_owned(),
            url,
            headers: headers.to_vec(),
            body: body.clone(),
        })
        .collect()
}

/// `gh api ENDPOINT [-X METHOD] [-f k=v] [-F k=v]`: GitHub's REST or GraphQL API.
fn gh_api(args: &[Arg]) -> Vec<Request> {
    let mut method: Option<String> = None;
    let mut host = "api.github.com".to_owned();
    let mut endpoint: Option<String> = None;
    let mut fields = Map::new();
    let mut unseen: Option<String> = None;
    let mut headers = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        let value = args.get(i + 1);
        match t {
            "-X" | "--method" => {
                method = value.map(|v| v.text.to_ascii_uppercase());
                i += 1;
            }
            "-f" | "--raw-field" | "-F" | "--field" => {
                if let Some(v) = value {
                    match v.text.split_once('=') {
                        _ if v.dynamic => unseen = Some("a value only known at run time".to_owned()),
                        Some((_, f))
                            if f.starts_with('@') && t.starts_with("-F") || t == "--field" && f.starts_with('@') =>
                        {
                            unseen = Some(format!("the file {}", &f[1..]));
                        }
                        Some((k, val)) => {
                            fields.insert(k.to_owned(), Json::String(val.to_owned()));
                        }
                        None => {}
                    }
                }
                i += 1;
            }
            "--input" => {
                unseen = Some(format!("the file {}", value.map_or("?", |v| v.text.as_str())));
                i += 1;
            }
            "-H" | "--header" => {
                if let Some((k, v)) = value.and_then(|v| v.text.split_once(':')) {
                    headers.push((k.trim().to_owned(), v.trim().to_owned()));
                }
                i += 1;
            }
            "--hostname" => {
                if let Some(v) = value {
                    host = format!("{}/api/v3", v.text);
                }
                i += 1;
            }
            "-q" | "--jq" | "-t" | "--template" | "--cache" | "-p" | "--preview" => i += 1,
            _ if !t.starts_with('-') && endpoint.is_none() => endpoint = Some(t.to_owned()),
            _ => {}
        }
        i += 1;
    }
    let Some(endpoint) = endpoint else {
        return Vec::new();
    };
    let has_body = !fields.is_empty() || unseen.is_some();
    let method = method.unwrap_or_else(|| if has_body { "POST".into() } else { "GET".into() });
    let body = if let Some(why) = unseen {
        Body::Unseen(why)
    } else if endpoint == "graphql" {
        let query = fields.remove("query").unwrap_or(Json::Null);
        Body::Text(serde_json::json!({ "query": query, "variables": Json::Object(fields) }).to_string())
    } else if fields.is_empty() {
        Body::None
    } else {
        Body::Text(Json::Object(fields).to_string())
    };
    let path = endpoint.trim_start_matches('/');
    vec![Request {
        method,
        url: format!("https://{host}/{path}"),
        headers,
        body,
    }]
}

pub(super) fn looks_like_url(t: &str) -> bool {
    t.contains("://")
        || (t.contains('.') && !t.contains(' ') && Url::parse(t).is_some_and(|u| u.host.contains('.')))
        || t.starts_with("localhost")
}

fn wget(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> Vec<Request> {
    let mut method: Option<String> = None;
    let mut headers = Vec::new();
    let mut body = Body::None;
    let mut urls = Vec::new();
    let mut output: Option<Arg> = None;
    let mut i = 0;
    const VALUE: [&str; 10] = ["-O", "-o", "-a", "-U", "-P", "-t", "-T", "-e", "--header", "--method"];
    while i < args.len() {
        let a = &args[i];
        let t = a.text.as_str();
        let (flag, value) = match t.split_once('=') {
            Some((f, v)) if t.starts_with("--") => (
                f,
                Some(Arg {
                    text: v.to_owned(),
                    ..a.clone()
                }),
            ),
            _ if VALUE.contains(&t) => {
                i += 1;
                (t, args.get(i).cloned())
            }
            // A cluster such as -qO- or -qO FILE: the O's value is glued on or follows.
            _ if t.starts_with('-') && !t.starts_with("--") && t.contains('O') => match t.split_once('O') {
                Some((_, glued)) if !glued.is_empty() => (
                    "-O",
                    Some(Arg {
                        text: glued.to_owned(),
                        ..a.clone()
                    }),
                ),
                _ => {
                    i += 1;
                    ("-O", args.get(i).cloned())
                }
            },
            _ => (t, None),
        };
        match (flag, value) {
            ("--method", Some(v)) => method = Some(v.text.to_ascii_uppercase()),
            ("--header", Some(v)) => {
                if let Some((k, val)) = v.text.split_once(':') {
                    headers.push((k.trim().to_owned(), val.trim().to_owned()));
                }
            }
            ("--post-data" | "--body-data", Some(v)) => body = Body::Text(v.text.clone()),
            ("--post-file" | "--body-file", Some(v)) => body = Body::Unseen(format!("the file {}", v.text)),
            ("-O", Some(v)) => output = Some(v),
            ("--delete-after", None) => {}
            (_, None) if !t.starts_with('-') => urls.push(t.to_owned()),
            _ => {}
        }
        i += 1;
    }
    let method = method.unwrap_or_else(|| {
        if body == Body::None {
            "GET".into()
        } else {
            "POST".into()
        }
    });
    let spider = args.iter().any(|a| a.text == "--spider");
    match output {
        _ if spider => {}
        Some(o) if o.text == "-" => {}
        Some(o) => ctx.overwrite(&o.text, o.dynamic, summary),
        None if !urls.is_empty() => ctx.op(Risk::Write, summary, "wget saves the download as a new file"),
        None => {}
    }
    requests(urls, &method, &headers, &body)
}

fn httpie(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> Vec<Request> {
    const VALUE: [&str; 12] = [
        "-a",
        "--auth",
        "-A",
        "--auth-type",
        "-o",
        "--output",
        "--session",
        "--verify",
        "--cert",
        "--cert-key",
        "--timeout",
        "--proxy",
    ];
    let mut positionals: Vec<&Arg> = Vec::new();
    let mut form = false;
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if VALUE.contains(&t) {
            if matches!(t, "-o" | "--output") {
                if let Some(o) = args.get(i + 1) {
                    ctx.overwrite(&o.text, o.dynamic, summary);
                }
            }
            i += 2;
            continue;
        }
        if t == "-f" || t == "--form" {
            form = true;
        }
        if !t.starts_with('-') || args[i].dynamic {
            positionals.push(&args[i]);
        }
        i += 1;
    }
    let mut it = positionals.into_iter().peekable();
    let explicit_method = it
        .peek()
        .filter(|a| a.text.len() >= 3 && a.text.chars().all(|c| c.is_ascii_uppercase()))
        .map(|a| a.text.clone());
    if explicit_method.is_some() {
        it.next();
    }
    let Some(url_arg) = it.next() else {
        return Vec::new();
    };
    let scheme = if name == "https" || name == "xhs" {
        "https"
    } else {
        "http"
    };
    let url = if url_arg.text.contains("://") {
        url_arg.text.clone()
    } else if url_arg.text.starts_with(':') {
        format!("{scheme}://localhost{}", url_arg.text)
    } else {
        format!("{scheme}://{}", url_arg.text)
    };
    let mut headers = Vec::new();
    let mut fields = Map::new();
    let mut unseen: Option<String> = None;
    let mut query = Vec::new();
    for item in it {
        let t = item.text.as_str();
        if item.dynamic {
            unseen = Some("a value only known at run time".to_owned());
        } else if let Some((k, v)) = t.split_once(":=@").or_else(|| t.split_once("=@")) {
            let _ = k;
            unseen = Some(format!("the file {v}"));
        } else if let Some((k, v)) = t.split_once(":=") {
            fields.insert(
                k.to_owned(),
                serde_json::from_str(v).unwrap_or(Json::String(v.to_owned())),
            );
        } else if let Some((k, v)) = t.split_once("==") {
            query.push(format!("{k}={v}"));
        } else if let Some((k, v)) = t.split_once('=') {
            fields.insert(k.to_owned(), Json::String(v.to_owned()));
        } else if let Some((k, v)) = t.split_once(':') {
            headers.push((k.to_owned(), v.to_owned()));
        } else if let Some((_, f)) = t.split_once('@') {
            unseen = Some(format!("the file {f}"));
        }
    }
    let has_body = !fields.is_empty() || unseen.is_some();
    let method = explicit_method.unwrap_or_else(|| if has_body { "POST".into() } else { "GET".into() });
    let body = match unseen {
        Some(why) => Body::Unseen(why),
        None if fields.is_empty() => Body::None,
        None if form => Body::Text(
            fields
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("&"),
        ),
        None => Body::Text(Json::Object(fields).to_string()),
    };
    let url = if query.is_empty() {
        url
    } else {
        format!("{url}{}{}", if url.contains('?') { '&' } else { '?' }, query.join("&"))
    };
    vec![Request {
        method,
        url,
        headers,
        body,
    }]
}
