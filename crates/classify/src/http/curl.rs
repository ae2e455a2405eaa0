//! `curl` command lines turned into requests. Options are read with the shared option grammar
//! (clusters such as `-fsSLX DELETE`, glued values, `--opt=value`), and what curl reads from files
//! is read through the `World` when the caller allows it: a body given as `-d @file`, a config file
//! given with `-K`, and the `.curlrc` found through `CURL_HOME` or the home directory (a config file
//! can set the method, the body and the URL just as the command line can).

use std::path::Path;

use super::cli::{looks_like_url, requests};
use super::{Body, Request};
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::options::{parse, Grammar, Item};
use crate::Risk;

/// curl's options that take a value (the Fig grammar knows the rest).
const VALUE_FLAGS: [&str; 30] = [
    "-X",
    "-H",
    "-d",
    "-F",
    "-T",
    "-u",
    "-o",
    "-A",
    "-e",
    "-b",
    "-c",
    "-K",
    "-x",
    "-m",
    "-w",
    "-r",
    "-E",
    "-D",
    "--request",
    "--header",
    "--data",
    "--data-raw",
    "--data-binary",
    "--data-ascii",
    "--data-urlencode",
    "--json",
    "--upload-file",
    "--config",
    "--url",
    "--output",
];

/// Config files nest (`-K` inside a config); this bounds the chain.
const MAX_CONFIG_DEPTH: usize = 4;

#[derive(Default)]
struct State {
    method: Option<String>,
    headers: Vec<(String, String)>,
    data: Vec<String>,
    unseen: Option<String>,
    urls: Vec<String>,
    get: bool,
    head: bool,
    upload: bool,
}

pub(super) fn curl(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> Vec<Request> {
    let mut st = State::default();
    // curl reads its default config first, unless the command line starts with -q.
    if args.first().is_none_or(|a| a.text != "-q" && a.text != "--disable") {
        if let Some((path, text)) = default_config(ctx) {
            config(&path, &text, &mut st, summary, ctx, 1);
        }
    }
    apply(args, &mut st, summary, ctx, 0);
    finish(st)
}

/// The `.curlrc` curl would read: `$CURL_HOME/.curlrc`, else `~/.curlrc`, when the World shows it.
fn default_config(ctx: &Ctx<'_>) -> Option<(String, String)> {
    let dir = ctx
        .env
        .iter()
        .find(|(k, _)| k == "CURL_HOME")
        .map(|(_, v)| v.text.clone())
        .or_else(|| ctx.home.as_ref().map(|h| h.display().to_string()))?;
    let path = ctx.resolve_path(&format!("{dir}/.curlrc"));
    let text = ctx.world.read_script(Path::new(&path))?;
    Some((path, text))
}

fn apply(args: &[Arg], st: &mut State, summary: &str, ctx: &mut Ctx<'_>, depth: usize) {
    let grammar = Grammar {
        program: "curl",
        value_flags: &VALUE_FLAGS,
        switches: &[],
        clusters: true,
    };
    for item in parse(args, &grammar) {
        match item {
            Item::Positional(a) => {
                if a.dynamic || looks_like_url(&a.text) {
                    st.urls.push(a.text);
                }
            }
            Item::Opt { name, value } => option(&name, value, st, summary, ctx, depth),
        }
    }
}

fn option(name: &str, value: Option<Arg>, st: &mut State, summary: &str, ctx: &mut Ctx<'_>, depth: usize) {
    let Some(v) = value else {
        match name {
            "-G" | "--get" => st.get = true,
            "-I" | "--head" => st.head = true,
            _ => {}
        }
        return;
    };
    match name {
        "-X" | "--request" => st.method = Some(v.text.to_ascii_uppercase()),
        "-H" | "--header" => {
            if let Some((k, val)) = v.text.split_once(':') {
                st.headers.push((k.trim().to_owned(), val.trim().to_owned()));
            }
        }
        "-d" | "--data" | "--data-ascii" | "--data-binary" => body_part(&v, false, st, ctx),
        "--data-raw" => st.data.push(v.text.clone()),
        "--data-urlencode" => body_part(&v, true, st, ctx),
        "--json" => {
            st.headers
                .push(("Content-Type".to_owned(), "application/json".to_owned()));
            body_part(&v, false, st, ctx);
        }
        "-F" | "--form" | "--form-string" => {
            if v.text.contains("=@") || v.text.contains("=<") {
                st.unseen = Some("a file attached to the form".to_owned());
            } else {
                st.data.push(v.text.clone());
            }
        }
        "-T" | "--upload-file" => {
            st.upload = true;
            st.unseen = Some(format!("the uploaded file {}", v.text));
        }
        "-o" | "--output" if v.text != "-" => ctx.overwrite(&v.text, v.dynamic, summary),
        "-K" | "--config" => config_file(&v, st, summary, ctx, depth + 1),
        "--url" => st.urls.push(v.text.clone()),
        _ => {}
    }
}

/// A body part: literal text, or `@file` read through the World when it can be.
fn body_part(value: &Arg, urlencode: bool, st: &mut State, ctx: &mut Ctx<'_>) {
    if value.dynamic {
        st.unseen = Some("a value only known at run time".to_owned());
        return;
    }
    let t = value.text.as_str();
    let file = if urlencode {
        // --data-urlencode name@file reads a file; name=value is literal.
        t.split_once('@').filter(|(n, _)| !n.contains('=')).map(|(_, f)| f)
    } else {
        t.strip_prefix('@')
    };
    let Some(file) = file else {
        st.data.push(t.to_owned());
        return;
    };
    if file == "-" {
        st.unseen = Some("stdin".to_owned());
        return;
    }
    let path = ctx.resolve_path(file);
    match ctx.world.read_script(Path::new(&path)) {
        Some(text) => st.data.push(text.trim_end_matches('\n').to_owned()),
        None => st.unseen = Some(format!("the file {file}")),
    }
}

fn config_file(value: &Arg, st: &mut State, summary: &str, ctx: &mut Ctx<'_>, depth: usize) {
    let path = ctx.resolve_path(&value.text);
    let text = if value.dynamic {
        None
    } else {
        ctx.world.read_script(Path::new(&path))
    };
    match text {
        Some(text) => config(&path, &text, st, summary, ctx, depth),
        None => ctx.op(
            Risk::Unknown,
            summary,
            format!(
                "curl reads more options (method, body, URL) from {}, which Airlock could not read",
                value.text
            ),
        ),
    }
}

/// Applies a curl config file: one option a line, `name = value`, `name value` or `--name value`.
fn config(path: &str, text: &str, st: &mut State, summary: &str, ctx: &mut Ctx<'_>, depth: usize) {
    if depth > MAX_CONFIG_DEPTH {
        ctx.op(
            Risk::Unknown,
            summary,
            "curl config files include each other too deeply",
        );
        return;
    }
    ctx.target(crate::TargetKind::Script, path);
    let mut args = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = match line.split_once(|c: char| c == '=' || c == ':' || c.is_whitespace()) {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_start_matches(['=', ':']).trim())),
            None => (line, None),
        };
        let name = if name.starts_with('-') {
            name.to_owned()
        } else {
            format!("--{name}")
        };
        args.push(Arg::literal(name));
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            args.push(Arg::literal(v.trim_matches('"')));
        }
    }
    apply(&args, st, summary, ctx, depth);
}

fn finish(st: State) -> Vec<Request> {
    let has_body = !st.data.is_empty() || st.unseen.is_some();
    let method = st.method.clone().unwrap_or_else(|| {
        if st.head {
            "HEAD".into()
        } else if st.upload {
            "PUT".into()
        } else if has_body && !st.get {
            "POST".into()
        } else {
            "GET".into()
        }
    });
    let body = match (&st.unseen, st.get) {
        (_, true) => Body::None,
        (Some(why), false) => Body::Unseen(why.clone()),
        (None, false) if st.data.is_empty() => Body::None,
        (None, false) => Body::Text(st.data.join("&")),
    };
    let urls = if st.get && !st.data.is_empty() {
        st.urls
            .into_iter()
            .map(|u| format!("{u}{}{}", if u.contains('?') { '&' } else { '?' }, st.data.join("&")))
            .collect()
    } else {
        st.urls
    };
    requests(urls, &method, &st.headers, &body)
}
