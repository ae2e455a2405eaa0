//! What a GraphQL call runs: the operations a body (one request or a batch) selects, and each
//! operation's root fields — through aliases, fragment spreads and inline fragments — with their
//! arguments resolved against the request's variables. What cannot be read this way is an error,
//! which the gateway judges `unknown`.

use std::collections::HashMap;

use graphql_parser::query::{Definition, Document, OperationDefinition, Selection, SelectionSet, Value};
use serde_json::{Map, Value as Json};

/// Fragments are followed this deep; GraphQL forbids cycles, and a cycle must not hang us.
const MAX_FRAGMENT_DEPTH: usize = 16;
/// graphql-parser recurses per level of braces: deeper documents are refused before parsing.
const MAX_NESTING: usize = 64;
/// Requests in one batch.
const MAX_BATCH: usize = 64;

/// What kind of operation a root field belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    Query,
    Mutation,
    Subscription,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Query => "query",
            OpKind::Mutation => "mutation",
            OpKind::Subscription => "subscription",
        }
    }
}

/// One root field an operation runs: `alias: name(args)`.
#[derive(Clone, Debug, PartialEq)]
pub struct RootField {
    pub kind: OpKind,
    /// The schema's field name (never the alias: an alias cannot rename what runs).
    pub name: String,
    pub alias: Option<String>,
    /// Arguments, variables substituted (a variable the request does not define is null).
    pub args: Map<String, Json>,
}

/// One request of a (possibly batched) body.
struct Sent {
    query: String,
    variables: Json,
    operation_name: Option<String>,
}

/// The root fields a GraphQL request body runs. `content_type` tells a raw `application/graphql`
/// document from JSON; `url_query` is the GET form (`?query=…&variables=…&operationName=…`).
pub fn root_fields(body: &str, content_type: &str, url_query: &[(String, String)]) -> Result<Vec<RootField>, String> {
    let sent = requests(body, content_type, url_query)?;
    let mut out = Vec::new();
    for s in &sent {
        out.extend(document_fields(s)?);
    }
    Ok(out)
}

fn requests(body: &str, content_type: &str, url_query: &[(String, String)]) -> Result<Vec<Sent>, String> {
    if body.trim().is_empty() {
        let get = |k: &str| url_query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let Some(query) = get("query") else {
            return Ok(Vec::new());
        };
        let variables = match get("variables") {
            Some(v) => serde_json::from_str(&v).map_err(|e| format!("the variables are not JSON ({e})"))?,
            None => Json::Null,
        };
        return Ok(vec![Sent {
            query,
            variables,
            operation_name: get("operationName"),
        }]);
    }
    if content_type.to_ascii_lowercase().contains("application/graphql") {
        return Ok(vec![Sent {
            query: body.to_owned(),
            variables: Json::Null,
            operation_name: None,
        }]);
    }
    let v: Json = serde_json::from_str(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    match v {
        Json::Array(items) if items.len() <= MAX_BATCH => items.iter().map(one).collect(),
        Json::Array(items) => Err(format!(
            "a batch of {} requests (at most {MAX_BATCH} are read)",
            items.len()
        )),
        Json::Object(_) => Ok(vec![one(&v)?]),
        _ => Err("the body is neither a GraphQL request object nor a batch".into()),
    }
}

fn one(v: &Json) -> Result<Sent, String> {
    let query = match v.get("query") {
        Some(Json::String(q)) => q.clone(),
        // Persisted queries send a hash instead of a document: what runs is not visible.
        _ => return Err("a request without a query document (a persisted query?)".into()),
    };
    let variables = v.get("variables").cloned().unwrap_or(Json::Null);
    if !matches!(variables, Json::Null | Json::Object(_)) {
        return Err("variables must be an object".into());
    }
    let operation_name = match v.get("operationName") {
        None | Some(Json::Null) => None,
        Some(Json::String(n)) => Some(n.clone()),
        Some(_) => return Err("operationName must be a string".into()),
    };
    Ok(Sent {
        query,
        variables,
        operation_name,
    })
}

type Fragments<'a> = HashMap<&'a str, &'a SelectionSet<'a, &'a str>>;

fn document_fields(sent: &Sent) -> Result<Vec<RootField>, String> {
    if airlock_classify::bracket_nesting(&sent.query) > MAX_NESTING {
        return Err("the document nests too deeply to be read".into());
    }
    let doc: Document<'_, &str> = graphql_parser::parse_query(&sent.query).map_err(|e| {
        let text = e.to_string();
        format!(
            "the document does not parse ({})",
            text.lines().next().unwrap_or_default()
        )
    })?;
    let fragments: Fragments<'_> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Fragment(f) => Some((f.name, &f.selection_set)),
            Definition::Operation(_) => None,
        })
        .collect();
    let operations: Vec<&OperationDefinition<'_, &str>> = doc
        .definitions
        .iter()
        .filter_map(|d| match d {
            Definition::Operation(o) => Some(o),
            Definition::Fragment(_) => None,
        })
        .collect();
    let chosen = select(&operations, sent.operation_name.as_deref())?;
    let mut out = Vec::new();
    for op in chosen {
        let (kind, set) = match op {
            OperationDefinition::Query(q) => (OpKind::Query, &q.selection_set),
            OperationDefinition::SelectionSet(s) => (OpKind::Query, s),
            OperationDefinition::Mutation(m) => (OpKind::Mutation, &m.selection_set),
            OperationDefinition::Subscription(s) => (OpKind::Subscription, &s.selection_set),
        };
        collect(kind, set, &fragments, &sent.variables, 0, &mut out)?;
    }
    Ok(out)
}

fn op_name<'a>(op: &OperationDefinition<'a, &'a str>) -> Option<&'a str> {
    match op {
        OperationDefinition::Query(q) => q.name,
        OperationDefinition::Mutation(m) => m.name,
        OperationDefinition::Subscription(s) => s.name,
        OperationDefinition::SelectionSet(_) => None,
    }
}

/// The operations a server runs for this request: the named one, or the only one. A document with
/// several operations and no name is an error for the server; here every one of them is judged,
/// so that no choice a server could make is milder than the judgement.
fn select<'d, 'a>(
    ops: &[&'d OperationDefinition<'a, &'a str>],
    name: Option<&str>,
) -> Result<Vec<&'d OperationDefinition<'a, &'a str>>, String> {
    match name {
        Some(n) => {
            let found: Vec<_> = ops.iter().copied().filter(|o| op_name(o) == Some(n)).collect();
            if found.is_empty() {
                return Err(format!("operationName {n:?} names no operation in the document"));
            }
            Ok(found)
        }
        None if ops.is_empty() => Err("the document has no operation".into()),
        None => Ok(ops.to_vec()),
    }
}

fn collect<'a>(
    kind: OpKind,
    set: &'a SelectionSet<'a, &'a str>,
    fragments: &Fragments<'a>,
    vars: &Json,
    depth: usize,
    out: &mut Vec<RootField>,
) -> Result<(), String> {
    if depth > MAX_FRAGMENT_DEPTH {
        return Err("fragments nest too deeply (a cycle?)".into());
    }
    for sel in &set.items {
        match sel {
            Selection::Field(f) => out.push(RootField {
                kind,
                name: f.name.to_owned(),
                alias: f.alias.map(str::to_owned),
                args: f
                    .arguments
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), to_json(v, vars)))
                    .collect(),
            }),
            Selection::InlineFragment(i) => collect(kind, &i.selection_set, fragments, vars, depth + 1, out)?,
            Selection::FragmentSpread(s) => {
                let set = fragments
                    .get(s.fragment_name)
                    .ok_or_else(|| format!("fragment {} is not defined", s.fragment_name))?;
                collect(kind, set, fragments, vars, depth + 1, out)?;
            }
        }
    }
    Ok(())
}

fn to_json<'a>(v: &Value<'a, &'a str>, vars: &Json) -> Json {
    match v {
        Value::Variable(name) => vars.get(*name).cloned().unwrap_or(Json::Null),
        Value::Int(n) => n.as_i64().map_or(Json::Null, Json::from),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::Boolean(b) => Json::Bool(*b),
        Value::Null => Json::Null,
        Value::Enum(e) => Json::String((*e).to_owned()),
        Value::List(items) => Json::Array(items.iter().map(|i| to_json(i, vars)).collect()),
        Value::Object(map) => Json::Object(map.iter().map(|(k, v)| ((*k).to_owned(), to_json(v, vars))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(body: &str) -> Vec<(OpKind, String)> {
        root_fields(body, "application/json", &[])
            .unwrap()
            .into_iter()
            .map(|f| (f.kind, f.name))
            .collect()
    }

    #[test]
    fn aliases_never_rename_what_runs() {
        let got = root_fields(
            r#"{"query":"mutation { harmless: volumeDelete(volumeId: $v) }","variables":{"v":"vol_1"}}"#,
            "application/json",
            &[],
        )
        .unwrap();
        assert_eq!(got[0].name, "volumeDelete");
        assert_eq!(got[0].alias.as_deref(), Some("harmless"));
        assert_eq!(got[0].args["volumeId"], "vol_1");
    }

    #[test]
    fn fragments_inline_fragments_and_batches_are_followed() {
        let body = r#"[{"query":"query { me { id } }"},{"query":"mutation { ...F ... on Mutation { serviceDelete(id: \"s\") } } fragment F on Mutation { volumeDelete(volumeId: \"v\") }"}]"#;
        assert_eq!(
            fields(body),
            vec![
                (OpKind::Query, "me".into()),
                (OpKind::Mutation, "volumeDelete".into()),
                (OpKind::Mutation, "serviceDelete".into())
            ]
        );
    }

    #[test]
    fn operation_name_selects_and_unnamed_choices_judge_all() {
        let doc = "query Read { me { id } } mutation Kill { volumeDelete(volumeId: \\\"v\\\") }";
        let named = format!(r#"{{"query":"{doc}","operationName":"Read"}}"#);
        assert_eq!(fields(&named), vec![(OpKind::Query, "me".into())]);
        let all = format!(r#"{{"query":"{doc}"}}"#);
        assert_eq!(fields(&all).len(), 2);
        let missing = format!(r#"{{"query":"{doc}","operationName":"Other"}}"#);
        assert!(root_fields(&missing, "application/json", &[]).is_err());
    }

    #[test]
    fn unreadable_requests_are_errors() {
        for body in [
            r#"{"extensions":{"persistedQuery":{"sha256Hash":"abc"}}}"#,
            r#"{"query":"mutation { ...Missing }"}"#,
            r#"{"query":"mutation {"}"#,
            "not json",
        ] {
            assert!(root_fields(body, "application/json", &[]).is_err(), "{body}");
        }
        let deep = format!(r#"{{"query":"{}"}}"#, "{a".repeat(100));
        assert!(root_fields(&deep, "application/json", &[]).is_err());
        let cyclic = r#"{"query":"mutation { ...A } fragment A on Mutation { ...B } fragment B on Mutation { ...A }"}"#;
        assert!(root_fields(cyclic, "application/json", &[]).is_err());
    }

    #[test]
    fn get_requests_and_raw_documents_are_read() {
        let q = vec![("query".to_owned(), "{ me { id } }".to_owned())];
        assert_eq!(root_fields("", "", &q).unwrap()[0].name, "me");
        let raw = root_fields("mutation { volumeDelete(volumeId: \"v\") }", "application/graphql", &[]).unwrap();
        assert_eq!(raw[0].kind, OpKind::Mutation);
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in ".{0,300}") {
            let _ = root_fields(&body, "application/json", &[]);
            let _ = root_fields(&body, "application/graphql", &[]);
        }

        #[test]
        fn token_soups_never_panic(parts in proptest::collection::vec(
            prop_oneof![Just("{"), Just("}"), Just("mutation"), Just("query"), Just("..."), Just("fragment F on M"),
                        Just("F"), Just("a: b"), Just("(x: $v)"), Just("on"), Just("\""), Just("@d")], 0..40)) {
            let doc = parts.join(" ");
            let body = serde_json::json!({"query": doc, "variables": {"v": 1}}).to_string();
            let _ = root_fields(&body, "application/json", &[]);
        }
    }
}
