use serde_json::{json, Value};

/// The agents Airlock hooks into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    ClaudeCode,
    Cursor,
    Codex,
    Gemini,
}

impl Agent {
    pub const ALL: [Agent; 4] = [Agent::ClaudeCode, Agent::Cursor, Agent::Codex, Agent::Gemini];

    pub fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Cursor => "cursor",
            Agent::Codex => "codex",
            Agent::Gemini => "gemini",
        }
    }

    pub fn from_name(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// What the agent is about to do, ready for Airlock's API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookCall {
    /// `shell` or `tool`.
    pub kind: String,
    /// The command line, or for tools `{"name", "arguments"}` as JSON.
    pub input: String,
    pub cwd: Option<String>,
    pub event: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("the hook input is not JSON: {0}")]
    Json(String),
    #[error("the hook input has no {0}")]
    Missing(&'static str),
    #[error("the settings file is not valid: {0}")]
    Settings(String),
}

/// Airlock's answer, before it is put in the agent's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Airlock lets the action through and leaves the decision to the agent's own permission
    /// rules (a plain policy allow): the hook says nothing that would grant it.
    Defer,
    /// Airlock allows it outright: a human approved this exact action through Airlock, or the
    /// configuration says `[hooks] allowed = "allow"`.
    Grant { reason: String },
    /// Refused or held: `reason` is written for the agent and says what to do.
    Deny { reason: String },
}

/// What the hook process prints and how it exits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A shell command given as a string or as an argv array (Codex).
fn command_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => {
            let words: Vec<String> = items
                .iter()
                .filter_map(Value::as_str)
                .map(|w| {
                    if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c)) {
                        w.to_owned()
                    } else {
                        format!("'{}'", w.replace('\'', "'\\''"))
                    }
                })
                .collect();
            // `["bash", "-lc", "CMD"]` is CMD run by bash: the classifier unwraps it either way.
            Some(words.join(" "))
        }
        _ => None,
    }
}

fn tool_call(name: &str, arguments: &Value) -> String {
    let arguments = match arguments {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone())),
        other => other.clone(),
    };
    json!({ "name": name, "arguments": arguments }).to_string()
}

/// Reads an agent's hook JSON.
pub fn parse_input(agent: Agent, text: &str) -> Result<HookCall, HookError> {
    let v: Value = serde_json::from_str(text).map_err(|e| HookError::Json(e.to_string()))?;
    let event = str_field(&v, "hook_event_name").unwrap_or_default().to_owned();
    let cwd = str_field(&v, "cwd").map(str::to_owned);
    match agent {
        Agent::Cursor => cursor_call(&v, event, cwd),
        Agent::ClaudeCode | Agent::Codex | Agent::Gemini => {
            let name = str_field(&v, "tool_name").ok_or(HookError::Missing("tool_name"))?;
            let input = v.get("tool_input").cloned().unwrap_or(Value::Null);
            if SHELL_TOOLS.contains(&name) {
                return shell_call(&input, event, cwd);
            }
            let name = match v.get("mcp_context") {
                Some(mcp) => gemini_mcp_name(name, mcp),
                None => name.to_owned(),
            };
            Ok(HookCall {
                kind: "tool".into(),
                input: tool_call(&name, &input),
                cwd,
                event,
            })
        }
    }
}

/// The agents' shell tools, as their hooks name them.
const SHELL_TOOLS: [&str; 7] = [
    "Bash",
    "Shell",
    "shell",
    "exec_command",
    "local_shell",
    "run_shell_command",
    "container.exec",
];

fn shell_call(input: &Value, event: String, mut cwd: Option<String>) -> Result<HookCall, HookError> {
    let command = input
        .get("command")
        .and_then(command_text)
        .ok_or(HookError::Missing("tool_input.command"))?;
    // Gemini runs a command in `dir_path` when it is given; Codex in `workdir`.
    if let Some(dir) = str_field(input, "dir_path").or_else(|| str_field(input, "workdir")) {
        cwd = Some(match &cwd {
            Some(base) if !dir.starts_with('/') => format!("{base}/{dir}"),
            _ => dir.to_owned(),
        });
    }
    Ok(HookCall {
        kind: "shell".into(),
        input: command,
        cwd,
        event,
    })
}

/// Gemini names MCP tools `mcp_<server>_<tool>`, which cannot be split when either part holds an
/// underscore; its `mcp_context` says which is which. Airlock's name is `mcp__<server>__<tool>`.
fn gemini_mcp_name(name: &str, mcp: &Value) -> String {
    match (str_field(mcp, "server_name"), str_field(mcp, "tool_name")) {
        (Some(server), Some(tool)) => format!("mcp__{server}__{tool}"),
        _ => name.to_owned(),
    }
}

/// Cursor: `beforeShellExecution` (`command`), `beforeMCPExecution` (`tool_name` as
/// `MCP:<server>:<tool>` or a bare tool name) and `preToolUse` (`tool_name`, `tool_input`) for its
/// file tools. File tools are put in the shape Airlock knows (Write, Edit); a deletion is judged
/// as the `rm` it is.
fn cursor_call(v: &Value, event: String, cwd: Option<String>) -> Result<HookCall, HookError> {
    let cwd = cwd.or_else(|| {
        v.get("workspace_roots")
            .and_then(|r| r.get(0))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let call = |kind: &str, input: String| HookCall {
        kind: kind.into(),
        input,
        cwd: cwd.clone(),
        event: event.clone(),
    };
    if event == "beforeShellExecution" || (v.get("command").is_some() && v.get("tool_name").is_none()) {
        let command = str_field(v, "command").ok_or(HookError::Missing("command"))?;
        return Ok(call("shell", command.to_owned()));
    }
    let name = str_field(v, "tool_name").ok_or(HookError::Missing("tool_name"))?;
    let input = v.get("tool_input").cloned().unwrap_or(Value::Null);
    let input = match &input {
        Value::String(s) => serde_json::from_str(s).unwrap_or(input),
        _ => input,
    };
    if let Some(rest) = name.strip_prefix("MCP:") {
        let name = match rest.split_once(':') {
            Some((server, tool)) => format!("mcp__{server}__{tool}"),
            None => format!("mcp__{rest}"),
        };
        return Ok(call("tool", tool_call(&name, &input)));
    }
    if event == "beforeMCPExecution" {
        return Ok(call("tool", tool_call(&format!("mcp__{name}"), &input)));
    }
    let path = ["file_path", "path", "target_file", "filePath"]
        .iter()
        .find_map(|k| str_field(&input, k));
    match (name, path) {
        ("Shell" | "Bash", _) => shell_call(&input, event.clone(), cwd.clone()),
        ("Delete", Some(p)) => Ok(call("shell", format!("rm -f -- '{}'", p.replace('\'', "'\\''")))),
        ("Write", Some(p)) => Ok(call("tool", tool_call("Write", &json!({ "file_path": p })))),
        ("StrReplace" | "Edit" | "MultiEdit", Some(p)) => {
            Ok(call("tool", tool_call("Edit", &json!({ "file_path": p }))))
        }
        _ => Ok(call("tool", tool_call(name, &input))),
    }
}

/// Puts a verdict in the agent's own format.
///
/// A deferral is what each agent reads as "no objection, decide as you would": Claude Code,
/// Codex and Gemini CLI get no output at all (exit 0); Cursor, whose `failClosed` hooks treat an
/// empty answer as a failure, gets `permission: allow`, which its hooks give before Cursor's own
/// run-mode approval is evaluated. A grant is an explicit allow where the agent has one.
pub fn render(agent: Agent, verdict: &Verdict) -> HookOutput {
    let out = |stdout: String, stderr: String, exit_code: i32| HookOutput {
        stdout,
        stderr,
        exit_code,
    };
    match (agent, verdict) {
        (Agent::ClaudeCode | Agent::Codex | Agent::Gemini, Verdict::Defer) => out(String::new(), String::new(), 0),
        (Agent::ClaudeCode, Verdict::Grant { reason } | Verdict::Deny { reason }) => {
            let decision = if matches!(verdict, Verdict::Grant { .. }) {
                "allow"
            } else {
                "deny"
            };
            let stdout = json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": decision,
                    "permissionDecisionReason": clean(reason),
                }
            });
            out(stdout.to_string(), String::new(), 0)
        }
        (Agent::Cursor, Verdict::Defer) => out(json!({ "permission": "allow" }).to_string(), String::new(), 0),
        (Agent::Cursor, Verdict::Grant { reason }) => out(
            json!({ "permission": "allow", "agent_message": clean(reason) }).to_string(),
            String::new(),
            0,
        ),
        (Agent::Cursor, Verdict::Deny { reason }) => out(
            json!({
                "permission": "deny",
                "user_message": format!("Airlock: {}", clean(reason)),
                "agent_message": clean(reason),
            })
            .to_string(),
            String::new(),
            0,
        ),
        // Codex cannot be told "allow" by a PreToolUse hook (it calls that answer invalid), so a
        // grant is silence too; a block is exit 2 with the reason on stderr, which must not be
        // empty (Codex lets an exit 2 without a reason through).
        (Agent::Codex, Verdict::Grant { .. }) => out(String::new(), String::new(), 0),
        (Agent::Codex, Verdict::Deny { reason }) => out(String::new(), non_empty(clean(reason)), 2),
        (Agent::Gemini, Verdict::Grant { .. }) => out(json!({ "decision": "allow" }).to_string(), String::new(), 0),
        (Agent::Gemini, Verdict::Deny { reason }) => out(
            json!({ "decision": "deny", "reason": clean(reason) }).to_string(),
            String::new(),
            0,
        ),
    }
}

fn non_empty(reason: String) -> String {
    if reason.trim().is_empty() {
        "Airlock refused this action.".to_owned()
    } else {
        reason
    }
}

/// A reason fit for an agent's screen: no control characters (a command's escape sequences would
/// otherwise reach the terminal), line breaks as spaces.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_argv_commands_become_one_line() {
        let call = parse_input(Agent::Codex, r#"{"hook_event_name":"PreToolUse","tool_name":"shell","tool_input":{"command":["bash","-lc","rm -rf /srv/x"]},"cwd":"/w"}"#).unwrap();
        assert_eq!(call.input, "bash -lc 'rm -rf /srv/x'");
    }

    #[test]
    fn gemini_dir_path_sets_the_working_directory() {
        let call = parse_input(Agent::Gemini, r#"{"hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":{"command":"ls","dir_path":"sub"},"cwd":"/w"}"#).unwrap();
        assert_eq!(call.cwd.as_deref(), Some("/w/sub"));
    }

    #[test]
    fn codex_blocks_with_exit_code_two_and_a_reason() {
        let out = render(Agent::Codex, &Verdict::Deny { reason: "no".into() });
        assert_eq!((out.exit_code, out.stderr.as_str()), (2, "no"));
        let out = render(Agent::Codex, &Verdict::Deny { reason: String::new() });
        assert!(!out.stderr.is_empty(), "Codex lets an exit 2 without a reason through");
    }

    /// An allow that is not a grant leaves the agent's own permission rules in charge.
    #[test]
    fn a_deferral_grants_nothing() {
        for agent in [Agent::ClaudeCode, Agent::Codex, Agent::Gemini] {
            let out = render(agent, &Verdict::Defer);
            assert_eq!((out.stdout.as_str(), out.exit_code), ("", 0), "{agent:?}");
        }
        let cursor: Value = serde_json::from_str(&render(Agent::Cursor, &Verdict::Defer).stdout).unwrap();
        assert_eq!(cursor, json!({"permission": "allow"}));
        let grant = render(
            Agent::ClaudeCode,
            &Verdict::Grant {
                reason: "approved".into(),
            },
        );
        assert!(grant.stdout.contains("\"permissionDecision\":\"allow\""));
    }

    #[test]
    fn reasons_carry_no_control_characters() {
        let out = render(
            Agent::ClaudeCode,
            &Verdict::Deny {
                reason: "rm \u{1b}[31mx\nnext\u{7}".into(),
            },
        );
        let v: Value = serde_json::from_str(&out.stdout).unwrap();
        let reason = v["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap();
        assert!(!reason.chars().any(char::is_control), "{reason:?}");
        assert!(reason.contains("\\u{1b}") && reason.contains("x next"), "{reason:?}");
    }

    #[test]
    fn gemini_mcp_tools_are_named_by_their_context() {
        let call = parse_input(Agent::Gemini, r#"{"hook_event_name":"BeforeTool","tool_name":"mcp_rail_way_volume_delete","tool_input":{},"mcp_context":{"server_name":"rail_way","tool_name":"volume_delete"},"cwd":"/w"}"#).unwrap();
        assert!(
            call.input.contains("\"mcp__rail_way__volume_delete\""),
            "{}",
            call.input
        );
    }

    #[test]
    fn cursor_file_tools_become_writes_edits_and_deletions() {
        let edit = parse_input(Agent::Cursor, r#"{"hook_event_name":"preToolUse","tool_name":"StrReplace","tool_input":{"path":"/w/.cursor/hooks.json"},"workspace_roots":["/w"]}"#).unwrap();
        assert_eq!(edit.kind, "tool");
        assert!(edit.input.contains("\"Edit\"") && edit.input.contains("/w/.cursor/hooks.json"));
        let delete = parse_input(
            Agent::Cursor,
            r#"{"hook_event_name":"preToolUse","tool_name":"Delete","tool_input":{"path":"/w/it's"}}"#,
        )
        .unwrap();
        assert_eq!(
            (delete.kind.as_str(), delete.input.as_str()),
            ("shell", "rm -f -- '/w/it'\\''s'")
        );
        let mcp = parse_input(Agent::Cursor, r#"{"hook_event_name":"beforeMCPExecution","tool_name":"MCP:railway:volume_delete","tool_input":"{\"id\":1}"}"#).unwrap();
        assert!(mcp.input.contains("\"mcp__railway__volume_delete\""), "{}", mcp.input);
    }

    #[test]
    fn missing_fields_are_errors_not_allows() {
        assert!(parse_input(Agent::ClaudeCode, "{}").is_err());
        assert!(parse_input(Agent::Cursor, r#"{"hook_event_name":"beforeShellExecution"}"#).is_err());
        assert!(parse_input(Agent::Gemini, "not json").is_err());
    }
}
