//! The gateway's own reading of a call, which joins the classifier's in the pipeline: GraphQL root
//! fields or REST method and path, judged by the provider pack, then the provider's schema (an
//! operation it does not know is `unknown`), then the operation's name and description. What the
//! classifier cannot know — a schema, a pack, that every resource is an API and not "this
//! machine" — is what this adds; nothing here can lower the classifier's answer.

use airlock_classify::{Assessment, Operation, Risk, Target, TargetKind};
use airlock_config::Dialect;

use crate::graphql::{root_fields, OpKind, RootField};
use crate::pack::template::{scope_of, Scope};
use crate::pack::Protect;
use crate::request::Call;
use crate::resource::Resource;
use crate::schema::Schema;
use crate::verbs;

/// A pack's protective plan for one operation of the call, with the call's values.
#[derive(Clone, Debug)]
pub struct ProtectJob {
    pub operation: String,
    pub protect: Protect,
    pub scope: Scope,
}

/// What the gateway found.
#[derive(Clone, Debug)]
pub struct Judgement {
    pub findings: Assessment,
    pub protect: Vec<ProtectJob>,
    /// The operations, named for the log (`mutation volumeDelete`, `DELETE /projects/{id}`).
    pub operations: Vec<String>,
}

#[derive(Default)]
struct Found {
    ops: Vec<Operation>,
    targets: Vec<Target>,
    protect: Vec<ProtectJob>,
    names: Vec<String>,
}

impl Found {
    fn op(&mut self, risk: Risk, summary: &str, reason: String) {
        let op = Operation {
            summary: airlock_classify::redact(summary),
            risk,
            reason: airlock_classify::redact(&reason),
        };
        if !self.ops.contains(&op) {
            self.ops.push(op);
        }
    }

    fn finish(self) -> Judgement {
        let risk = self
            .ops
            .iter()
            .map(|o| o.risk)
            .reduce(Risk::combine)
            .unwrap_or(Risk::Read);
        let mut reasons: Vec<String> = Vec::new();
        for o in self.ops.iter().filter(|o| o.risk == risk) {
            if !reasons.contains(&o.reason) {
                reasons.push(o.reason.clone());
            }
        }
        Judgement {
            findings: Assessment {
                risk,
                operations: self.ops,
                targets: self.targets,
                reasons,
            },
            protect: self.protect,
            operations: self.names,
        }
    }
}

/// Judges a call to `resource`.
pub fn judge(resource: &Resource, call: &Call) -> Judgement {
    let mut found = Found::default();
    match resource.dialect {
        Dialect::Graphql => graphql(resource, call, &mut found),
        Dialect::Rest => rest(resource, call, &mut found),
    }
    found.finish()
}

fn graphql(resource: &Resource, call: &Call, found: &mut Found) {
    let summary = format!("{} {}", call.method, resource.name);
    let fields = match root_fields(&call.body_text(), call.content_type(), &call.query_pairs()) {
        Ok(f) => f,
        Err(e) => {
            found.op(
                Risk::Unknown,
                &summary,
                format!("the GraphQL request cannot be read: {e}; Airlock refuses what it cannot read"),
            );
            return;
        }
    };
    if fields.is_empty() {
        found.op(Risk::Read, &summary, "a GraphQL request without an operation".into());
    }
    for f in fields {
        field(resource, &f, found);
    }
}

fn field(resource: &Resource, f: &RootField, found: &mut Found) {
    let label = format!("{} {}", f.kind.as_str(), f.name);
    found.names.push(label.clone());
    ids(&f.args, found, 0);
    let schema = match &resource.schema {
        Some(Schema::Graphql(s)) => Some(s),
        _ => None,
    };
    let rule = resource
        .pack
        .as_ref()
        .and_then(|p| p.operations.get(&f.name).map(|r| (p, r)));
    let protect = resource
        .pack
        .as_ref()
        .and_then(|p| p.protect_for(&f.name))
        .filter(|_| f.kind == OpKind::Mutation);
    let before = protect
        .map(|p| format!("; before it runs: {}", p.description))
        .unwrap_or_default();
    if let Some(p) = protect {
        found.protect.push(ProtectJob {
            operation: f.name.clone(),
            protect: p.clone(),
            scope: scope_of(&f.args),
        });
    }
    if let Some((pack, r)) = rule {
        found.op(
            r.risk,
            &label,
            format!("{label}: {} ({} pack){before}", r.reason, pack.name),
        );
        return;
    }
    if f.name.starts_with("__") {
        found.op(Risk::Read, &label, "GraphQL introspection only reads".into());
        return;
    }
    let described = match schema {
        Some(s) => match s.field(f.kind, &f.name) {
            Some(info) => info.description.clone(),
            None => {
                found.op(
                    Risk::Unknown,
                    &label,
                    format!(
                        "{}'s schema has no {label}: an operation the schema does not know is unknown",
                        resource.name
                    ),
                );
                return;
            }
        },
        None => None,
    };
    if f.kind != OpKind::Mutation {
        found.op(Risk::Read, &label, format!("a GraphQL {} only reads", f.kind.as_str()));
        return;
    }
    if let Some(verb) = verbs::in_name(&f.name) {
        found.op(
            Risk::Destructive,
            &label,
            format!("{label} {verb}s data (its name says so){before}"),
        );
    } else if let Some(verb) = described.as_deref().and_then(verbs::in_text) {
        found.op(
            Risk::Destructive,
            &label,
            format!(
                "{label}: the schema describes it as \"{}\" ({verb}){before}",
                described.unwrap_or_default()
            ),
        );
    } else {
        found.op(Risk::Write, &label, format!("{label} changes data"));
    }
}

fn id_like(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "id" || k == "ids" || k.ends_with("id") || k.ends_with("ids")
}

/// The object ids a call names become targets, for the approver.
fn ids(args: &serde_json::Map<String, serde_json::Value>, found: &mut Found, depth: usize) {
    if depth > 8 {
        return;
    }
    for (k, v) in args {
        match v {
            serde_json::Value::String(s) if id_like(k) => push_target(found, s.clone()),
            serde_json::Value::Number(n) if id_like(k) => push_target(found, n.to_string()),
            serde_json::Value::Array(items) if id_like(k) => {
                for i in items {
                    if let Some(s) = i.as_str() {
                        push_target(found, s.to_owned());
                    }
                }
            }
            serde_json::Value::Object(m) => ids(m, found, depth + 1),
            _ => {}
        }
    }
}

fn push_target(found: &mut Found, value: String) {
    let t = Target {
        kind: TargetKind::Object,
        value,
    };
    if !found.targets.contains(&t) {
        found.targets.push(t);
    }
}

fn rest(resource: &Resource, call: &Call, found: &mut Found) {
    let method = call.method.as_str();
    let path = call.path.as_str();
    let label = format!("{method} {}", if path.is_empty() { "/" } else { path });
    if let Some((pack, key, r)) = resource.pack.as_ref().and_then(|p| {
        p.operations
            .iter()
            .find(|(k, _)| rest_key_matches(k, method, path))
            .map(|(k, r)| (p, k, r))
    }) {
        let protect = pack
            .protect
            .iter()
            .find(|p| rest_key_matches(&p.operation, method, path));
        if let Some(p) = protect {
            found.protect.push(ProtectJob {
                operation: key.clone(),
                protect: p.clone(),
                scope: bind(&p.operation, path),
            });
        }
        let before = protect
            .map(|p| format!("; before it runs: {}", p.description))
            .unwrap_or_default();
        found.names.push(key.clone());
        found.op(
            r.risk,
            &label,
            format!("{key}: {} ({} pack){before}", r.reason, pack.name),
        );
        return;
    }
    found.names.push(label.clone());
    let mut said = String::new();
    if let Some(Schema::OpenApi(api)) = &resource.schema {
        match api.find(method, path) {
            Some(op) => said = op.words.clone(),
            None => {
                found.op(
                    Risk::Unknown,
                    &label,
                    format!(
                        "{}'s OpenAPI document has no {label}: an operation the schema does not know is unknown",
                        resource.name
                    ),
                );
                return;
            }
        }
    }
    let last = path
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    match method {
        "GET" | "HEAD" | "OPTIONS" => found.op(Risk::Read, &label, format!("{method} only reads")),
        "DELETE" => found.op(
            Risk::Destructive,
            &label,
            format!("DELETE removes {path} at {}", resource.name),
        ),
        _ => {
            if let Some(verb) = last.and_then(verbs::in_name) {
                found.op(
                    Risk::Destructive,
                    &label,
                    format!("{label}: an endpoint named {verb:?}"),
                );
            } else if let Some(verb) = verbs::in_text(&said) {
                found.op(
                    Risk::Destructive,
                    &label,
                    format!("{label}: the API's description says \"{}\" ({verb})", said.trim()),
                );
            } else {
                found.op(
                    Risk::Write,
                    &label,
                    format!("{method} changes data at {}", resource.name),
                );
            }
        }
    }
}

/// Whether a pack key `METHOD /path/{param}` names this request.
fn rest_key_matches(key: &str, method: &str, path: &str) -> bool {
    key.split_once(' ')
        .is_some_and(|(m, t)| m.eq_ignore_ascii_case(method) && crate::schema::matches_template(t, path))
}

/// The `{param}` values of a path under a pack key's template.
fn bind(key: &str, path: &str) -> Scope {
    let template = key.split_once(' ').map_or(key, |(_, t)| t);
    let mut scope = Scope::new();
    for (t, p) in template
        .trim_matches('/')
        .split('/')
        .zip(path.trim_matches('/').split('/'))
    {
        if let (Some(open), Some(close)) = (t.find('{'), t.rfind('}')) {
            if open < close && p.len() >= open + (t.len() - close - 1) {
                let value = &p[open..p.len() - (t.len() - close - 1)];
                scope.insert(
                    t[open + 1..close].to_owned(),
                    serde_json::Value::String(value.to_owned()),
                );
            }
        }
    }
    scope
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parameters_bind_by_template() {
        let s = bind(
            "DELETE /projects/{project}/branches/{branch}",
            "/projects/p1/branches/b2",
        );
        assert_eq!(s["project"], "p1");
        assert_eq!(s["branch"], "b2");
        assert!(rest_key_matches("DELETE /projects/{id}", "DELETE", "/projects/7"));
        assert!(!rest_key_matches("DELETE /projects/{id}", "GET", "/projects/7"));
    }
}
