//! `airlock install` / `uninstall`: where each agent keeps its hook settings, and Airlock's entry
//! in them. The entry is merged in without touching any other entry, idempotently, and removed
//! exactly again. JSON settings (Claude Code, Cursor, Gemini CLI) are edited in place, comments
//! included (see `jsonc`); Codex's TOML is edited as text between marker lines (see `codex`).
//!
//! Every entry fails closed as far as its agent allows: Claude Code's handler carries
//! `onFailure: "block"`, Cursor's `failClosed: true`; Codex and Gemini CLI have no such switch, so
//! the command itself (see the CLI's wrapper) turns any failure into exit 2 with a reason. Each
//! agent's hook timeout is [`HOOK_TIMEOUT_SECS`], in that agent's own unit, so that a hook waiting
//! for a human's approval is answered by Airlock before the agent gives up on it (an agent that
//! times a hook out lets the action through).

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::{codex, jsonc, Agent, HookError};

/// Every hook command Airlock installs contains this, which is how its entries are recognised.
pub const MARKER: &str = " hook ";

/// The hook timeout written into every agent's settings, in seconds. Above the server's hold wait
/// (a held call waits up to `[server] hold_wait`, 120 s by default, for a human) and above the
/// hook's own deadline, so the hook always answers first.
pub const HOOK_TIMEOUT_SECS: u64 = 300;

/// Where the settings live.
#[derive(Clone, Debug)]
pub enum Scope {
    /// A project directory (`DIR/.claude/settings.local.json`…).
    Project(PathBuf),
    /// The user's own settings: `home` is `$HOME`, `codex_home` is `$CODEX_HOME` (`~/.codex`
    /// when unset).
    User { home: PathBuf, codex_home: PathBuf },
    /// The machine: each agent's system-wide managed settings, which users cannot override (root).
    System,
}

pub fn settings_path(agent: Agent, scope: &Scope) -> PathBuf {
    match (agent, scope) {
        (Agent::ClaudeCode, Scope::System) => "/etc/claude-code/managed-settings.json".into(),
        (Agent::Cursor, Scope::System) => "/etc/cursor/hooks.json".into(),
        (Agent::Codex, Scope::System) => "/etc/codex/config.toml".into(),
        (Agent::Gemini, Scope::System) => "/etc/gemini-cli/settings.json".into(),
        // A project's local settings: never the committed `.claude/settings.json`.
        (Agent::ClaudeCode, Scope::Project(d)) => d.join(".claude/settings.local.json"),
        (Agent::ClaudeCode, Scope::User { home, .. }) => home.join(".claude/settings.json"),
        (Agent::Cursor, Scope::Project(d) | Scope::User { home: d, .. }) => d.join(".cursor/hooks.json"),
        (Agent::Codex, Scope::Project(d)) => d.join(".codex/config.toml"),
        (Agent::Codex, Scope::User { codex_home, .. }) => codex_home.join("config.toml"),
        (Agent::Gemini, Scope::Project(d) | Scope::User { home: d, .. }) => d.join(".gemini/settings.json"),
    }
}

pub(crate) fn is_ours(command: &str, agent: Agent) -> bool {
    command.contains("airlock") && command.contains(&format!("{MARKER}{}", agent.name()))
}

/// Claude Code's tools that change something; `mcp__.*` covers every MCP server.
const CLAUDE_MATCHER: &str = "Bash|Write|Edit|MultiEdit|NotebookEdit|mcp__.*";
/// Cursor's file tools, judged on `preToolUse`; shell and MCP have their own events (judging them
/// here too would spend an approval twice).
const CURSOR_FILE_TOOLS: &str = "Write|StrReplace|Edit|MultiEdit|Delete|NotebookEdit";
/// Cursor's timeout unit is not settled in its documentation (seconds by its examples,
/// milliseconds by some references): 300,000 is above the hook's deadline either way.
const CURSOR_TIMEOUT: u64 = HOOK_TIMEOUT_SECS * 1000;

/// Airlock's entries for an agent whose settings are JSON: `(event, entry)` pairs.
pub(crate) fn json_entries(agent: Agent, command: &str) -> Vec<(&'static str, Value)> {
    match agent {
        Agent::ClaudeCode => vec![(
            "PreToolUse",
            json!({
                "matcher": CLAUDE_MATCHER,
                "hooks": [{ "type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECS, "onFailure": "block" }],
            }),
        )],
        Agent::Cursor => vec![
            (
                "beforeShellExecution",
                json!({ "command": command, "timeout": CURSOR_TIMEOUT, "failClosed": true }),
            ),
            (
                "beforeMCPExecution",
                json!({ "command": command, "timeout": CURSOR_TIMEOUT, "failClosed": true }),
            ),
            (
                "preToolUse",
                json!({ "matcher": CURSOR_FILE_TOOLS, "command": command, "timeout": CURSOR_TIMEOUT, "failClosed": true }),
            ),
        ],
        // Every tool: Gemini's tool set grows, and its MCP tools are named `mcp_<server>_<tool>`.
        Agent::Gemini => vec![(
            "BeforeTool",
            json!({
                "matcher": "*",
                "hooks": [{ "name": "airlock", "type": "command", "command": command, "timeout": HOOK_TIMEOUT_SECS * 1000 }],
            }),
        )],
        Agent::Codex => Vec::new(),
    }
}

/// Returns the settings text with Airlock's hook for `agent` in it (replacing an older one).
pub fn install(agent: Agent, existing: Option<&str>, command: &str) -> Result<String, HookError> {
    match agent {
        Agent::Codex => Ok(codex::install(existing.unwrap_or(""), command)),
        _ => jsonc::install(agent, existing, command),
    }
}

/// Returns the settings text without Airlock's hook for `agent`, everything else untouched.
pub fn uninstall(agent: Agent, existing: &str) -> Result<String, HookError> {
    match agent {
        Agent::Codex => Ok(codex::uninstall(existing)),
        _ => jsonc::uninstall(agent, existing),
    }
}

/// Airlock's hook as found in one settings file, with what keeps it from failing closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    pub command: String,
    /// Empty when the entry is as `install` writes it.
    pub problems: Vec<String>,
}

/// Finds Airlock's hook for `agent` in a settings file's text.
pub fn installed(agent: Agent, text: &str) -> Result<Option<Installed>, HookError> {
    let found = match agent {
        Agent::Codex => codex::installed(text)?,
        _ => jsonc::installed(agent, text)?,
    };
    Ok(found.map(|(command, mut problems)| {
        if !command.contains("exit 2") {
            problems.push("its command does not turn a failure of the hook into a block (exit 2)".into());
        }
        Installed { command, problems }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/usr/local/bin/airlock hook claude-code --token-file /x/t; s=$?; exit 2";

    #[test]
    fn claude_install_merges_keeps_others_and_is_idempotent() {
        let existing = r#"{"model": "opus", "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "my-linter"}]}], "Stop": [{"hooks": [{"type": "command", "command": "notify"}]}]}}"#;
        let once = install(Agent::ClaudeCode, Some(existing), CMD).unwrap();
        let twice = install(Agent::ClaudeCode, Some(&once), CMD).unwrap();
        assert_eq!(once, twice);
        let v: Value = serde_json::from_str(&once).unwrap();
        assert_eq!(v["model"], "opus");
        assert_eq!(v["hooks"]["PreToolUse"].as_array().unwrap().len(), 2);
        assert_eq!(v["hooks"]["PreToolUse"][1]["hooks"][0]["onFailure"], "block");
        assert_eq!(v["hooks"]["PreToolUse"][1]["hooks"][0]["timeout"], 300);
        assert_eq!(v["hooks"]["Stop"][0]["hooks"][0]["command"], "notify");
        let back = uninstall(Agent::ClaudeCode, &once).unwrap();
        let b: Value = serde_json::from_str(&back).unwrap();
        let original: Value = serde_json::from_str(existing).unwrap();
        assert_eq!(b, original);
    }

    #[test]
    fn cursor_and_gemini_entries_round_trip() {
        for agent in [Agent::Cursor, Agent::Gemini] {
            let cmd = format!("airlock hook {}; exit 2", agent.name());
            let once = install(agent, None, &cmd).unwrap();
            assert_eq!(install(agent, Some(&once), &cmd).unwrap(), once);
            assert_eq!(installed(agent, &once).unwrap().unwrap().problems, Vec::<String>::new());
            let back: Value = serde_json::from_str(&uninstall(agent, &once).unwrap()).unwrap();
            assert!(back.get("hooks").is_none(), "{agent:?}: {back}");
        }
    }

    #[test]
    fn cursor_hooks_fail_closed_on_shell_mcp_and_file_edits() {
        let v: Value = serde_json::from_str(&install(Agent::Cursor, None, "airlock hook cursor").unwrap()).unwrap();
        for event in ["beforeShellExecution", "beforeMCPExecution", "preToolUse"] {
            assert_eq!(v["hooks"][event][0]["failClosed"], true, "{event}");
        }
        assert!(v["hooks"]["preToolUse"][0]["matcher"]
            .as_str()
            .unwrap()
            .contains("StrReplace"));
    }

    #[test]
    fn an_entry_that_would_fail_open_is_reported() {
        let weak = r#"{"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "airlock hook claude-code", "timeout": 30}]}]}}"#;
        let found = installed(Agent::ClaudeCode, weak).unwrap().unwrap();
        assert_eq!(found.problems.len(), 3, "{:?}", found.problems);
        assert_eq!(installed(Agent::ClaudeCode, "{}").unwrap(), None);
    }

    #[test]
    fn invalid_settings_are_refused_not_overwritten() {
        assert!(install(Agent::ClaudeCode, Some("{not json"), CMD).is_err());
        assert!(install(Agent::ClaudeCode, Some("[1,2]"), CMD).is_err());
        // Gemini rejects trailing commas; a file it cannot read is not one to edit.
        assert!(install(Agent::Gemini, Some(r#"{"a": 1,}"#), CMD).is_err());
    }

    #[test]
    fn codex_user_settings_follow_codex_home() {
        let scope = Scope::User {
            home: "/home/u".into(),
            codex_home: "/srv/codex".into(),
        };
        assert_eq!(
            settings_path(Agent::Codex, &scope),
            PathBuf::from("/srv/codex/config.toml")
        );
        assert_eq!(
            settings_path(Agent::Gemini, &scope),
            PathBuf::from("/home/u/.gemini/settings.json")
        );
    }
}
