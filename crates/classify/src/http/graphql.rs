//! GraphQL: the body is parsed with a real GraphQL parser; queries read, mutations write, and a
//! mutation whose name deletes (or that a provider pack lists as destructive) is destructive.

use std::collections::HashMap;

use graphql_parser::query::{Definition, Document, OperationDefinition, Selection, SelectionSet, Value};
use serde_json::Value as Json;

use super::{destructive_verb, url::Url, Body, Request};
use crate::ctx::Ctx;
use crate::packs::packs;
use crate::{Risk, TargetKind};

/// Fragments are followed this deep inside one operation; cycles are invalid GraphQL anyway.
const MAX_FRAGMENT_DEPTH: usize = 16;

pub(super) fn is_graphql(req: &Request, url: &Url) -> bool {
    let content_type = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase())
        .unwrap_or_default();
    url.path.to_ascii_lowercase().contains("graphql")
        || content_type.contains("application/graphql")
        || url.query_pairs().iter().any(|(k, _)| k == "query") && url.path.to_ascii_lowercase().contains("gql")
        || matches!(&req.body, Body::Text(t) if json_operations(t).is_some_and(|ops| !ops.is_empty()))
}

/// One GraphQL operation as sent: its document and variables.
struct Sent {
    query: String,
    variables: Json,
}

/// Reads `{"query": …, "variables": …}` or a batch array of them.
fn json_operations(text: &str) -> Option<Vec<Sent>> {
    let v: Json = serde_json::from_str(text).ok()?;
    let one = |o: &Json| -> Option<Sent> {
        let query = o.get("query")?.as_str()?.to_owned();
        Some(Sent {
            query,
            variables: o.get("variables").cloned().unwrap_or(Json::Null),
        })
    };
    match &v {
        Json::Array(items) => items.iter().map(one).collect(),
        Json::Object(_) => one(&v).map(|s| vec![s]),
        _ => None,
    }
}

pub(super) fn classify(req: &Request, url: &Url, summary: &str, ctx: &mut Ctx<'_>) {
    let sent: Vec<Sent> = match &req.body {
        Body::Text(text) => match json_operations(text) {
            Some(ops) => ops,
            // A raw `application/graphql` body is the document itself.
            None if !text.trim_start().starts_with(['{', '[']) => vec![Sent {
                query: text.clone(),
                variables: Json::Null,
            }],
            None => {
                if serde_json::from_str::<Json>(text).is_ok() {
                    ctx.op(
                        Risk::Unknown,
                        summary,
                        "a GraphQL request without a query document (a persisted query?): what it runs is not visible",
                    );
                } else {
                    ctx.op(Risk::Unknown, summary, "the GraphQL request body is not valid JSON");
                }
                return;
            }
        },
        Body::Unseen(why) => {
            ctx.op(
                Risk::Unknown,
                summary,
                format!(
                    "the GraphQL document comes from {why}, which is not visible, so the operation cannot be judged"
                ),
            );
            return;
        }
        Body::None => {
            let pairs = url.query_pairs();
            match pairs.iter().find(|(k, _)| k == "query") {
                Some((_, q)) => vec![Sent {
                    query: q.clone(),
                    variables: pairs
                        .iter()
                        .find(|(k, _)| k == "variables")
                        .and_then(|(_, v)| serde_json::from_str(v).ok())
                        .unwrap_or(Json::Null),
                }],
                None => {
                    ctx.op(Risk::Read, summary, "a GraphQL endpoint request without an operation");
                    return;
                }
            }
        }
    };
    for s in sent {
        if !ctx.tick() {
            return;
        }
        document(&s, summary, ctx);
    }
}

fn document(sent: &Sent, summary: &str, ctx: &mut Ctx<'_>) {
    if nesting(&sent.query) > MAX_NESTING {
        ctx.op(
            Risk::Unknown,
            summary,
            "the GraphQL document nests too deeply to be judged",
        );
        return;
    }
    let doc: Document<'_, &str> = match graphql_parser::parse_query(&sent.query) {
        Ok(d) => d,
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default();
            ctx.op(
                Risk::Unknown,
                summary,
                format!("the GraphQL document could not be parsed ({first}); Airlock refuses what it cannot read"),
            );
            return;
        }
    };
    let fragments: HashMap<&str, &SelectionSet<'_, &str>> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some((f.name, &f.selection_set)),
            Definition::Operation(_) => None,
        })
        .collect();
    for def in &doc.definitions {
        let Definition::Operation(op) = def else { continue };
        match op {
            OperationDefinition::Mutation(m) => {
                let mut fields = Vec::new();
                top_fields(&m.selection_set, &fragments, 0, &mut fields);
                for (name, args) in fields {
                    mutation_field(name, &args, &sent.variables, summary, ctx);
                }
            }
            OperationDefinition::Query(_) | OperationDefinition::SelectionSet(_) => {
                ctx.op(Risk::Read, summary, "a GraphQL query only reads");
            }
            OperationDefinition::Subscription(_) => {
                ctx.op(Risk::Read, summary, "a GraphQL subscription only reads");
            }
        }
    }
}

/// The parser recurses per level of braces: deeper documents are refused before parsing.
const MAX_NESTING: usize = 64;

/// How deep brackets (`{`, `(`, `[`) nest in a text, counted without parsing it.
pub fn nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'{' | b'(' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

type Args<'a> = Vec<(&'a str, Value<'a, &'a str>)>;

/// The operation's root fields, through fragment spreads and inline fragments.
fn top_fields<'a>(
    set: &'a SelectionSet<'a, &'a str>,
    fragments: &HashMap<&str, &'a SelectionSet<'a, &'a str>>,
    depth: usize,
    out: &mut Vec<(&'a str, Args<'a>)>,
) {
    if depth > MAX_FRAGMENT_DEPTH {
        return;
    }
    for sel in &set.items {
        match sel {
            Selection::Field(f) => out.push((f.name, f.arguments.clone())),
            Selection::InlineFragment(i) => top_fields(&i.selection_set, fragments, depth + 1, out),
            Selection::FragmentSpread(s) => {
                if let Some(set) = fragments.get(s.fragment_name) {
                    top_fields(set, fragments, depth + 1, out);
                }
            }
        }
    }
}

fn mutation_field(name: &str, args: &Args<'_>, vars: &Json, summary: &str, ctx: &mut Ctx<'_>) {
    let packs = packs().ok();
    for (arg, value) in args {
        ids(arg, value, vars, ctx, 0);
    }
    if let Some(k) = packs.and_then(|p| p.mutations.get(name)) {
        ctx.op(k.risk, summary, format!("mutation {name}: {}", k.reason));
        return;
    }
    if let Some(verb) = destructive_verb(name) {
        ctx.op(
            Risk::Destructive,
            summary,
            format!("mutation {name} {verb}s data (its name says so)"),
        );
        return;
    }
    let flags = packs.map(|p| p.destructive_flags.as_slice()).unwrap_or_default();
    for (arg, value) in args {
        if flags.iter().any(|f| f == arg) && is_true(value, vars) {
            ctx.op(
                Risk::Destructive,
                summary,
                format!("mutation {name} with {arg}: true overrides its safeguards"),
            );
            return;
        }
    }
    ctx.op(Risk::Write, summary, format!("mutation {name} changes data"));
}

fn is_true<'a>(v: &Value<'a, &'a str>, vars: &Json) -> bool {
    match v {
        Value::Boolean(b) => *b,
        Value::Variable(name) => vars.get(*name).and_then(Json::as_bool).unwrap_or(false),
        _ => false,
    }
}

fn id_like(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "id" || k == "ids" || k.ends_with("id") || k.ends_with("_id") || k.ends_with("ids")
}

/// Records the object ids a mutation names (`volumeId: "…"`, `input: {serviceId: $id}`).
fn ids<'a>(key: &str, v: &Value<'a, &'a str>, vars: &Json, ctx: &mut Ctx<'_>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::String(s) if id_like(key) => ctx.target(TargetKind::Object, s.clone()),
        Value::Int(n) if id_like(key) => {
            if let Some(n) = n.as_i64() {
                ctx.target(TargetKind::Object, n.to_string());
            }
        }
        Value::Variable(name) => json_ids(key, vars.get(*name).unwrap_or(&Json::Null), ctx, depth),
        Value::Object(map) => {
            for (k, inner) in map {
                ids(k, inner, vars, ctx, depth + 1);
            }
        }
        Value::List(items) => {
            for i in items {
                ids(key, i, vars, ctx, depth + 1);
            }
        }
        _ => {}
    }
}

fn json_ids(key: &str, v: &Json, ctx: &mut Ctx<'_>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Json::String(s) if id_like(key) => ctx.target(TargetKind::Object, s.clone()),
        Json::Number(n) if id_like(key) => ctx.target(TargetKind::Object, n.to_string()),
        Json::Object(map) => {
            for (k, inner) in map {
                json_ids(k, inner, ctx, depth + 1);
            }
        }
        Json::Array(items) => {
            for i in items {
                json_ids(key, i, ctx, depth + 1);
            }
        }
        _ => {}
    }
}
