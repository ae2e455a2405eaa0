//! `airlock install` / `uninstall`: merges Airlock's hook entry into an agent's settings without
//! touching any other entry, idempotently, and removes exactly that entry again. JSON settings are
//! edited as JSON (key order kept); Codex's TOML is edited as text between marker lines, so its
//! comments and layout survive.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::{Agent, HookError};

/// Every hook command Airlock installs contains this, which is how its entries are recognised.
pub const MARKER: &str = " hook ";

/// Where the settings live.
#[derive(Clone, Debug)]
pub enum Scope {
    /// A project directory (`DIR/.claude/settings.json`…).
    Project(PathBuf),
    /// The user's home (`~/.claude/settings.json`…).
    User(PathBuf),
    /// The machine: each agent's system-wide managed settings, which users cannot override (root).
    System,
}

pub fn settings_path(agent: Agent, scope: &Scope) -> PathBuf {
    let base = match scope {
        Scope::Project(d) | Scope::User(d) => d,
        Scope::System => {
            return PathBuf::from(match agent {
                Agent::ClaudeCode => "/etc/claude-code/managed-settings.json",
                Agent::Cursor => "/etc/cursor/hooks.json",
                Agent::Codex => "/etc/codex/config.toml",
                Agent::Gemini => "/etc/gemini-cli/settings.json",
            })
        }
    };
    match agent {
        // A project's local settings: never the committed `.claude/settings.json`.
        Agent::ClaudeCode if matches!(scope, Scope::Project(_)) => base.join(".claude").join("settings.local.json"),
        Agent::ClaudeCode => base.join(".claude").join("settings.json"),
        Agent::Cursor => base.join(".cursor").join("hooks.json"),
        Agent::Codex => base.join(".codex").join("config.toml"),
        Agent::Gemini => base.join(".gemini").join("settings.json"),
    }
}

fn is_ours(command: &str, agent: Agent) -> bool {
    command.contains("airlock") && command.contains(&format!("{MARKER}{}", agent.name()))
}

/// Returns the settings text with Airlock's hook for `agent` in it (replacing an older one).
pub fn install(agent: Agent, existing: Option<&str>, command: &str) -> Result<String, HookError> {
    match agent {
        Agent::Codex => Ok(install_codex(existing.unwrap_or(""), command)),
        _ => {
            let mut root = parse_json(existing)?;
            remove_json(agent, &mut root);
            let obj = root
                .as_object_mut()
                .ok_or_else(|| HookError::Settings("the top level is not a JSON object".into()))?;
            match agent {
                Agent::ClaudeCode => {
                    let entry = json!({
                        "matcher": "Bash|Write|Edit|MultiEdit|NotebookEdit|mcp__.*",
                        "hooks": [{ "type": "command", "command": command, "timeout": 30 }],
                    });
                    push(obj, "hooks", "PreToolUse", entry)?;
                }
                Agent::Cursor => {
                    obj.entry("version").or_insert(json!(1));
                    for event in ["beforeShellExecution", "beforeMCPExecution"] {
                        push(obj, "hooks", event, json!({ "command": command }))?;
                    }
                }
                Agent::Gemini => {
                    let entry = json!({
                        "matcher": "run_shell_command|write_file|replace|mcp__.*",
                        "hooks": [{ "type": "command", "command": command, "name": "airlock", "timeout": 30000 }],
                    });
                    push(obj, "hooks", "BeforeTool", entry)?;
                }
                Agent::Codex => unreachable!("handled above"),
            }
            Ok(serde_json::to_string_pretty(&root).map_err(|e| HookError::Settings(e.to_string()))? + "\n")
        }
    }
}

/// Returns the settings text without Airlock's hook for `agent`, everything else untouched.
pub fn uninstall(agent: Agent, existing: &str) -> Result<String, HookError> {
    match agent {
        Agent::Codex => Ok(uninstall_codex(existing)),
        _ => {
            let mut root = parse_json(Some(existing))?;
            remove_json(agent, &mut root);
            Ok(serde_json::to_string_pretty(&root).map_err(|e| HookError::Settings(e.to_string()))? + "\n")
        }
    }
}

fn parse_json(existing: Option<&str>) -> Result<Value, HookError> {
    match existing.map(str::trim) {
        None | Some("") => Ok(json!({})),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| HookError::Settings(format!("not JSON ({e}); fix or move it first")))
        }
    }
}

fn push(obj: &mut Map<String, Value>, section: &str, event: &str, entry: Value) -> Result<(), HookError> {
    let hooks = obj.entry(section).or_insert_with(|| json!({}));
    let hooks = hooks
        .as_object_mut()
        .ok_or_else(|| HookError::Settings(format!("\"{section}\" is not an object")))?;
    let list = hooks.entry(event).or_insert_with(|| json!([]));
    let list = list
        .as_array_mut()
        .ok_or_else(|| HookError::Settings(format!("\"{section}.{event}\" is not an array")))?;
    list.push(entry);
    Ok(())
}

/// Removes Airlock's entries (and only them) from every event list; drops lists and sections it
/// emptied.
fn remove_json(agent: Agent, root: &mut Value) {
    let Some(hooks) = root.get_mut("hooks").and_then(Value::as_object_mut) else {
        return;
    };
    for list in hooks.values_mut().filter_map(Value::as_array_mut) {
        list.retain_mut(|entry| {
            if entry
                .get("command")
                .and_then(Value::as_str)
                .is_some_and(|c| is_ours(c, agent))
            {
                return false;
            }
            if let Some(inner) = entry.get_mut("hooks").and_then(Value::as_array_mut) {
                let before = inner.len();
                inner.retain(|h| {
                    !h.get("command")
                        .and_then(Value::as_str)
                        .is_some_and(|c| is_ours(c, agent))
                });
                if before > 0 && inner.is_empty() {
                    return false;
                }
            }
            true
        });
    }
    hooks.retain(|_, v| !v.as_array().is_some_and(Vec::is_empty));
    if hooks.is_empty() {
        if let Some(o) = root.as_object_mut() {
            o.remove("hooks");
        }
    }
}

const CODEX_BEGIN: &str =
    "# >>> airlock hook (managed by `airlock install codex`; `airlock uninstall codex` removes it)";
const CODEX_END: &str = "# <<< airlock hook";

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn install_codex(existing: &str, command: &str) -> String {
    let mut text = uninstall_codex(existing);
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&format!(
        "{CODEX_BEGIN}\n[[hooks.PreToolUse]]\nmatcher = \"Bash|shell|exec_command|apply_patch|mcp__.*\"\n[[hooks.PreToolUse.hooks]]\ntype = \"command\"\ncommand = {}\ntimeout = 30\n{CODEX_END}\n",
        toml_string(command)
    ));
    text
}

fn uninstall_codex(existing: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in existing.split_inclusive('\n') {
        let t = line.trim_end();
        if t == CODEX_BEGIN {
            inside = true;
            continue;
        }
        if inside {
            if t == CODEX_END {
                inside = false;
            }
            continue;
        }
        out.push_str(line);
    }
    // The blank line install put before the block goes with it.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/usr/local/bin/airlock hook claude-code --token-file /x/t";

    #[test]
    fn claude_install_merges_keeps_others_and_is_idempotent() {
        let existing = r#"{"model": "opus", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]}], "Stop": [{"hooks": [{"type": "command", "command": "notify"}]}]}}"#;
        let once = install(Agent::ClaudeCode, Some(existing), CMD).unwrap();
        let twice = install(Agent::ClaudeCode, Some(&once), CMD).unwrap();
        assert_eq!(once, twice);
        let v: Value = serde_json::from_str(&once).unwrap();
        assert_eq!(v["model"], "opus");
        assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
        assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "notify");
        let back = uninstall(Agent::ClaudeCode, &once).unwrap();
        let b: Value = serde_json::from_str(&back).unwrap();
        let original: Value = serde_json::from_str(existing).unwrap();
        assert_eq!(b, original);
    }

    #[test]
    fn cursor_and_gemini_entries_round_trip() {
        for agent in [Agent::Cursor, Agent::Gemini] {
            let cmd = format!("airlock hook {}", agent.name());
            let once = install(agent, None, &cmd).unwrap();
            assert_eq!(install(agent, Some(&once), &cmd).unwrap(), once);
            let back: Value = serde_json::from_str(&uninstall(agent, &once).unwrap()).unwrap();
            assert!(back.get("hooks").is_none(), "{agent:?}: {back}");
        }
    }

    #[test]
    fn codex_toml_keeps_comments_and_removes_exactly_its_block() {
        let existing = "# my settings\nmodel = \"o4\"\n\n[mcp_servers.pg]\ncommand = \"pg-mcp\"\n";
        let cmd = "airlock hook codex --token-file /t";
        let once = install(Agent::Codex, Some(existing), cmd).unwrap();
        assert_eq!(install(Agent::Codex, Some(&once), cmd).unwrap(), once);
        let parsed: toml::Table = toml::from_str(&once).unwrap();
        assert!(parsed["hooks"]["PreToolUse"][0]["hooks"][0]["command"].as_str() == Some(cmd));
        assert_eq!(uninstall(Agent::Codex, &once).unwrap(), existing);
    }

    #[test]
    fn invalid_settings_are_refused_not_overwritten() {
        assert!(install(Agent::ClaudeCode, Some("{not json"), CMD).is_err());
        assert!(install(Agent::ClaudeCode, Some("[1,2]"), CMD).is_err());
    }
}
