//! JSON settings (Claude Code, Cursor, Gemini CLI), edited in place: comments, key order and
//! layout stay as the user wrote them. Gemini's settings may hold `//` and `/* */` comments and
//! Gemini refuses trailing commas, so files are read with comments allowed and everything else
//! strict, and nothing Airlock writes adds a trailing comma.

use jsonc_parser::cst::{CstArray, CstInputValue, CstNode, CstObject, CstRootNode};
use jsonc_parser::ParseOptions;
use serde_json::Value;

use crate::settings::{is_ours, json_entries, HOOK_TIMEOUT_SECS};
use crate::{Agent, HookError};

fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

fn parse(text: &str) -> Result<CstRootNode, HookError> {
    CstRootNode::parse(text, &options())
        .map_err(|e| HookError::Settings(format!("not JSON ({e}); fix or move it first")))
}

/// The top-level object, created in an empty file.
fn root_object(root: &CstRootNode) -> Result<CstObject, HookError> {
    root.object_value_or_create()
        .ok_or_else(|| HookError::Settings("the top level is not a JSON object".into()))
}

/// Reads a settings file (comments allowed) as a JSON value; an empty file is `{}`.
pub fn read(text: &str) -> Result<Value, HookError> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    parse(text)?
        .value()
        .and_then(|v| v.to_serde_value())
        .ok_or_else(|| HookError::Settings("no JSON value in it".into()))
}

fn input(v: &Value) -> CstInputValue {
    match v {
        Value::Null => CstInputValue::Null,
        Value::Bool(b) => CstInputValue::Bool(*b),
        Value::Number(n) => CstInputValue::Number(n.to_string()),
        Value::String(s) => CstInputValue::String(s.clone()),
        Value::Array(items) => CstInputValue::Array(items.iter().map(input).collect()),
        Value::Object(map) => CstInputValue::Object(map.iter().map(|(k, v)| (k.clone(), input(v))).collect()),
    }
}

fn finish(root: &CstRootNode) -> String {
    let mut text = root.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

pub(crate) fn install(agent: Agent, existing: Option<&str>, command: &str) -> Result<String, HookError> {
    let root = parse(existing.unwrap_or(""))?;
    if let Some(text) = existing.filter(|t| already_installed(agent, t, command)) {
        return Ok(text.to_owned());
    }
    let obj = root_object(&root)?;
    remove_ours(agent, &obj);
    if agent == Agent::Cursor && obj.get("version").is_none() {
        obj.insert(0, "version", CstInputValue::Number("1".into()));
    }
    let hooks = obj
        .object_value_or_create("hooks")
        .ok_or_else(|| HookError::Settings("\"hooks\" is not an object".into()))?;
    for (event, entry) in json_entries(agent, command) {
        let list = hooks
            .array_value_or_create(event)
            .ok_or_else(|| HookError::Settings(format!("\"hooks.{event}\" is not an array")))?;
        list.append(input(&entry));
    }
    Ok(finish(&root))
}

pub(crate) fn uninstall(agent: Agent, existing: &str) -> Result<String, HookError> {
    let root = parse(existing)?;
    let obj = root_object(&root)?;
    remove_ours(agent, &obj);
    Ok(finish(&root))
}

/// Pins hooks on in Gemini's system settings: `hooksConfig.enabled: true` there overrides a
/// user's `false`, which would otherwise switch system hooks off too.
pub fn pin_hooks_enabled(existing: Option<&str>) -> Result<String, HookError> {
    let root = parse(existing.unwrap_or(""))?;
    let obj = root_object(&root)?;
    let config = obj
        .object_value_or_create("hooksConfig")
        .ok_or_else(|| HookError::Settings("\"hooksConfig\" is not an object".into()))?;
    match config.get("enabled") {
        Some(prop) => prop.set_value(CstInputValue::Bool(true)),
        None => {
            config.append("enabled", CstInputValue::Bool(true));
        }
    }
    Ok(finish(&root))
}

/// Whether the text holds exactly Airlock's entries for this command, once each: installing
/// again then changes nothing, not even whitespace.
fn already_installed(agent: Agent, text: &str, command: &str) -> bool {
    let Ok(v) = read(text) else {
        return false;
    };
    json_entries(agent, command).iter().all(|(event, entry)| {
        let list = v["hooks"][*event].as_array().map(Vec::as_slice).unwrap_or_default();
        let ours: Vec<&Value> = list.iter().filter(|e| mentions_ours(agent, e)).collect();
        ours == [entry]
    })
}

fn mentions_ours(agent: Agent, entry: &Value) -> bool {
    let own = |h: &Value| h["command"].as_str().is_some_and(|c| is_ours(c, agent));
    own(entry) || entry["hooks"].as_array().is_some_and(|inner| inner.iter().any(own))
}

fn string_value(node: Option<CstNode>) -> Option<String> {
    node?.as_string_lit()?.decoded_value().ok()
}

fn command_of(obj: &CstObject) -> Option<String> {
    string_value(obj.get("command").and_then(|p| p.value()))
}

/// Removes Airlock's entries (and only them) from every event list; drops the lists, and the
/// `hooks` object, that this emptied.
fn remove_ours(agent: Agent, root: &CstObject) {
    let Some(hooks) = root.object_value("hooks") else {
        return;
    };
    let mut removed = false;
    for prop in hooks.properties() {
        let Some(list) = prop.array_value() else {
            continue;
        };
        if remove_from_list(agent, &list) {
            removed = true;
            if list.elements().is_empty() {
                prop.remove();
            }
        }
    }
    if removed && hooks.properties().is_empty() {
        if let Some(p) = root.get("hooks") {
            p.remove();
        }
    }
}

/// Removes Airlock's entries from one event list; true when it removed any.
fn remove_from_list(agent: Agent, list: &CstArray) -> bool {
    let mut removed = false;
    for element in list.elements() {
        let Some(entry) = element.as_object() else {
            continue;
        };
        if command_of(&entry).is_some_and(|c| is_ours(&c, agent)) {
            element.remove();
            removed = true;
            continue;
        }
        let Some(inner) = entry.array_value("hooks") else {
            continue;
        };
        let had = inner.elements().len();
        for handler in inner.elements() {
            if handler
                .as_object()
                .and_then(|h| command_of(&h))
                .is_some_and(|c| is_ours(&c, agent))
            {
                handler.remove();
                removed = true;
            }
        }
        if had > 0 && inner.elements().is_empty() {
            element.remove();
        }
    }
    removed
}

/// Airlock's command in a JSON settings file, with what keeps it from failing closed.
pub(crate) fn installed(agent: Agent, text: &str) -> Result<Option<(String, Vec<String>)>, HookError> {
    let v = read(text)?;
    let events: Vec<&str> = json_entries(agent, "").into_iter().map(|(e, _)| e).collect();
    let mut command = None;
    let mut problems = Vec::new();
    for event in events {
        let handler = v["hooks"][event]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|entry| match entry.get("hooks").and_then(Value::as_array) {
                Some(inner) => inner.iter().collect::<Vec<_>>(),
                None => vec![entry],
            })
            .find(|h| h["command"].as_str().is_some_and(|c| is_ours(c, agent)));
        let Some(h) = handler else {
            problems.push(format!("no Airlock hook on {event}"));
            continue;
        };
        command.get_or_insert_with(|| h["command"].as_str().unwrap_or_default().to_owned());
        problems.extend(handler_problems(agent, event, h));
    }
    Ok(command.map(|c| (c, problems)))
}

fn handler_problems(agent: Agent, event: &str, h: &Value) -> Vec<String> {
    let mut out = Vec::new();
    // The agent's default when no timeout is written: Claude Code 600 s, Gemini 60 s; Cursor's
    // is a few seconds.
    let (timeout, default, unit) = match agent {
        Agent::ClaudeCode => (h["timeout"].as_u64(), Some(600), "s"),
        Agent::Gemini => (h["timeout"].as_u64().map(|ms| ms / 1000), Some(60), "s"),
        _ => (h["timeout"].as_u64(), None, ""),
    };
    match timeout.or(default) {
        Some(t) if t >= HOOK_TIMEOUT_SECS => {}
        Some(t) => out.push(format!(
            "{event}: its timeout ({t}{unit}) is shorter than a held action's wait, and a timed-out hook lets the action through"
        )),
        None => out.push(format!("{event}: no timeout, so the agent's short default applies")),
    }
    match agent {
        Agent::ClaudeCode if h["onFailure"] != "block" => out.push(format!(
            "{event}: no onFailure \"block\", so a crash or timeout lets the action through"
        )),
        Agent::Cursor if h["failClosed"] != true => out.push(format!(
            "{event}: no failClosed, so a crash or timeout lets the action through"
        )),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEMINI: &str = "// my settings\n{\n  /* the model */\n  \"model\": {\"name\": \"gemini-pro\"}, // trailing note\n  \"hooks\": {\n    \"AfterTool\": [] // keep me\n  }\n}\n";

    #[test]
    fn comments_survive_install_and_uninstall() {
        let cmd = "airlock hook gemini; exit 2";
        let once = install(Agent::Gemini, Some(GEMINI), cmd).unwrap();
        for comment in ["// my settings", "/* the model */", "// trailing note", "// keep me"] {
            assert!(once.contains(comment), "{comment} lost:\n{once}");
        }
        assert!(read(&once).is_ok(), "{once}");
        assert_eq!(install(Agent::Gemini, Some(&once), cmd).unwrap(), once);
        assert_eq!(uninstall(Agent::Gemini, &once).unwrap(), GEMINI);
    }

    #[test]
    fn nothing_written_has_a_trailing_comma() {
        let once = install(Agent::Gemini, Some(GEMINI), "airlock hook gemini").unwrap();
        let strict = ParseOptions {
            allow_comments: true,
            ..options()
        };
        assert!(CstRootNode::parse(&once, &strict).is_ok(), "{once}");
        let squeezed: String = once.split_whitespace().collect();
        assert!(!squeezed.contains(",}") && !squeezed.contains(",]"), "{once}");
    }

    #[test]
    fn system_settings_pin_hooks_on() {
        let text = pin_hooks_enabled(Some("{\"hooksConfig\": {\"enabled\": false}}")).unwrap();
        assert_eq!(read(&text).unwrap()["hooksConfig"]["enabled"], true);
        let text = pin_hooks_enabled(None).unwrap();
        assert_eq!(read(&text).unwrap()["hooksConfig"]["enabled"], true);
    }
}
