//! Snapshot before destroy, at the provider: a pack's protective steps run with the resource's
//! credential before the destructive call is forwarded (Railway: back up each volume instance,
//! wait for the backup, find it, lock it). Steps bind values from the answers (`capture`), a `[*]`
//! capture runs the rest once per element, and every undo call is rendered now, with the values
//! it needs, so that `airlock undo` later replays exactly what was recorded. Any failure stops the
//! destructive call.

use std::time::Duration;

use serde_json::{json, Value};

use crate::assess::ProtectJob;
use crate::pack::template::{encode_segment, render_json, render_text, Scope};
use crate::pack::{CallSpec, JsonPath, Step};
use crate::provider::{self, Rendered};
use crate::resource::Resource;
use crate::HttpError;

/// What the protective steps did, and how to undo the operation.
#[derive(Debug)]
pub struct Protected {
    pub operation: String,
    /// Each call made, in order.
    pub calls: Vec<Value>,
    pub undo: Vec<Rendered>,
}

fn failed(m: String) -> HttpError {
    HttpError::Protect(m)
}

/// A pack call with the scope's values in.
pub fn render(spec: &CallSpec, scope: &Scope) -> Result<Rendered, HttpError> {
    if let Some(q) = &spec.query {
        let variables = match &spec.variables {
            Some(v) => render_json(v, scope).map_err(failed)?,
            None => json!({}),
        };
        return Ok(Rendered {
            method: "POST".into(),
            path: String::new(),
            json: Some(json!({ "query": q, "variables": variables })),
        });
    }
    Ok(Rendered {
        method: spec.method.clone().unwrap_or_else(|| "POST".into()),
        path: render_text(spec.path.as_deref().unwrap_or(""), scope, encode_segment).map_err(failed)?,
        json: spec
            .json
            .as_ref()
            .map(|j| render_json(j, scope))
            .transpose()
            .map_err(failed)?,
    })
}

fn first(path: &str, v: &Value) -> Option<Value> {
    JsonPath::parse(path).ok()?.eval(v).into_iter().next()
}

/// One step's call, repeated while its `until` says the provider is not done.
async fn call_step(resource: &Resource, secret: &str, step: &Step, call: &Rendered) -> Result<Value, HttpError> {
    let Some(until) = &step.until else {
        let (status, body) = provider::send(resource, secret, call).await?;
        return provider::success(&step.name, status, body, secret);
    };
    let every = airlock_config::parse_duration(&until.every).unwrap_or(Duration::from_secs(1));
    for _ in 0..until.tries.max(1) {
        let (status, body) = provider::send(resource, secret, call).await?;
        let body = provider::success(&step.name, status, body, secret)?;
        if first(&until.path, &body).as_ref() == Some(&until.equals) {
            return Ok(body);
        }
        tokio::time::sleep(every).await;
    }
    Err(failed(format!(
        "{}: {} did not become {} after {} tries",
        step.name, until.path, until.equals, until.tries
    )))
}

/// The scopes a step's answer leads to: one per element of a `[*]` capture, else one.
fn captured(step: &Step, scope: &Scope, answer: &Value) -> Result<Vec<Scope>, HttpError> {
    if let Some(e) = &step.expect {
        if first(&e.path, answer).as_ref() != Some(&e.equals) {
            return Err(failed(format!("{}: expected {} to be {}", step.name, e.path, e.equals)));
        }
    }
    let mut scopes = vec![scope.clone()];
    for (name, path) in &step.capture {
        let path = JsonPath::parse(path).map_err(failed)?;
        let values = path.eval(answer);
        if values.is_empty() && !(path.fans_out() && step.allow_empty) {
            return Err(failed(format!(
                "{}: the answer has nothing at {} (the provider's API may have changed; nothing was destroyed)",
                step.name,
                path.as_str()
            )));
        }
        let keep = if path.fans_out() {
            values
        } else {
            values.into_iter().take(1).collect()
        };
        scopes = scopes
            .iter()
            .flat_map(|s| {
                keep.iter().map(move |v| {
                    let mut s = s.clone();
                    s.insert(name.clone(), v.clone());
                    s
                })
            })
            .collect();
    }
    Ok(scopes)
}

/// Runs a job's steps in order; the undo calls when every one succeeded.
pub async fn run(resource: &Resource, secret: &str, job: &ProtectJob) -> Result<Protected, HttpError> {
    let mut scopes = vec![job.scope.clone()];
    let mut calls = Vec::new();
    for step in &job.protect.steps {
        let mut next = Vec::new();
        for scope in &scopes {
            let call = render(&step.call, scope)?;
            let answer = call_step(resource, secret, step, &call).await?;
            calls.push(json!({ "step": step.name, "call": call }));
            next.extend(captured(step, scope, &answer)?);
        }
        scopes = next;
    }
    let undo = scopes
        .iter()
        .map(|s| render(&job.protect.undo, s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Protected {
        operation: job.operation.clone(),
        calls,
        undo,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::Pack;

    #[test]
    fn captures_fan_out_and_missing_values_stop_the_operation() {
        let pack = Pack::builtin("railway").unwrap();
        let p = pack.protect_for("volumeDelete").unwrap();
        let scope = Scope::new();
        let answer = json!({"data": {"volume": {"volumeInstances": {"edges": [{"node": {"id": "i1"}}, {"node": {"id": "i2"}}]}}}});
        let scopes = captured(&p.steps[0], &scope, &answer).unwrap();
        assert_eq!(scopes.len(), 2);
        assert_eq!(scopes[1]["instance"], "i2");
        let err = captured(&p.steps[0], &scope, &json!({"data": {"volume": null}})).unwrap_err();
        assert!(err.to_string().contains("nothing was destroyed"), "{err}");
        let lock = p.steps.iter().find(|s| s.expect.is_some()).unwrap();
        assert!(captured(lock, &scope, &json!({"data": {"volumeInstanceBackupLock": false}})).is_err());
    }

    #[test]
    fn the_undo_is_rendered_with_the_values() {
        let pack = Pack::builtin("railway").unwrap();
        let p = pack.protect_for("volumeDelete").unwrap();
        let mut scope = Scope::new();
        scope.insert("backup".into(), json!("b1"));
        scope.insert("instance".into(), json!("i1"));
        let r = render(&p.undo, &scope).unwrap();
        assert_eq!(r.json.unwrap()["variables"], json!({"backup": "b1", "instance": "i1"}));
    }
}
