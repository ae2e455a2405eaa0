//! `airlock undo ID` for an API call: the undo calls the provider pack rendered when its
//! protective steps ran (Railway: restore the locked backup), replayed with the resource's
//! credential. The caller records the undo on the action (as a service, through its socket: the
//! state belongs to the service).

use airlock_server::Airlock;
use serde_json::Value;

use crate::provider::{self, Rendered};
use crate::resource::Resource;
use crate::HttpError;

/// The provider undo calls recorded on an action: (resource, operation, calls).
pub fn recorded(airlock: &Airlock, action_id: &str) -> Result<Vec<(String, String, Vec<Rendered>)>, HttpError> {
    let entries = airlock
        .store()
        .audit(Some(action_id))
        .map_err(|e| HttpError::Setup(format!("the audit log: {e}")))?;
    Ok(entries
        .into_iter()
        .filter(|e| e.kind == "action.provider_snapshot")
        .filter_map(|e| {
            let resource = e.detail["resource"].as_str()?.to_owned();
            let operation = e.detail["operation"].as_str().unwrap_or_default().to_owned();
            let calls: Vec<Rendered> = serde_json::from_value(e.detail["undo"].clone()).ok()?;
            Some((resource, operation, calls))
        })
        .collect())
}

/// Replays an action's recorded undo calls; one line per call made. Nothing recorded: an empty
/// list.
pub fn undo(airlock: &Airlock, action_id: &str) -> Result<Vec<String>, HttpError> {
    let plans = recorded(airlock, action_id)?;
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut done = Vec::new();
    for (name, operation, calls) in plans {
        let config = airlock
            .config
            .resources
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| HttpError::Setup(format!("resource {name} is gone from the config")))?;
        let resource = Resource::from_config(config, &airlock.config)?;
        let secret = resource.secret(&airlock.config)?;
        for call in calls {
            let (status, body) = runtime.block_on(provider::send(&resource, &secret, &call))?;
            let body = provider::success(&format!("undo of {operation}"), status, body, &secret)?;
            done.push(format!(
                "{name}: undid {operation} ({}) → {}",
                describe(&call),
                short(&body)
            ));
        }
    }
    Ok(done)
}

fn describe(call: &Rendered) -> String {
    match call.json.as_ref().and_then(|j| j.get("variables")) {
        Some(v) => format!("{} {}", first_field(call), v),
        None => format!("{} {}", call.method, call.path),
    }
}

fn first_field(call: &Rendered) -> String {
    let q = call.json.as_ref().and_then(|j| j["query"].as_str()).unwrap_or_default();
    q.split(['{', '('])
        .nth(1)
        .map(|s| s.split_whitespace().last().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

fn short(v: &Value) -> String {
    v.get("data").unwrap_or(v).to_string().chars().take(160).collect()
}
