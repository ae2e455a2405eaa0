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
    Allow {
        reason: String,
    },
    /// Refused or held: `reason` is written for the agent and says what to do.
    Deny {
        reason: String,
    },
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
    let mut cwd = str_field(&v, "cwd").map(str::to_owned);
    match agent {
        Agent::Cursor => {
            if cwd.is_none() {
                cwd = v
                    .get("workspace_roots")
                    .and_then(|r| r.get(0))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            if event == "beforeMCPExecution" || v.get("tool_name").is_some() {
                let name = str_field(&v, "tool_name").ok_or(HookError::Missing("tool_name"))?;
                let input = tool_call(&format!("mcp__{}", name), v.get("tool_input").unwrap_or(&Value::Null));
                return Ok(HookCall {
                    kind: "tool".into(),
                    input,
                    cwd,
                    event,
                });
            }
            let command = str_field(&v, "command").ok_or(HookError::Missing("command"))?;
            Ok(HookCall {
                kind: "shell".into(),
                input: command.to_owned(),
                cwd,
                event,
            })
        }
        Agent::ClaudeCode | Agent::Codex | Agent::Gemini => {
            let name = str_field(&v, "tool_name").ok_or(HookError::Missing("tool_name"))?;
            let input = v.get("tool_input").cloned().unwrap_or(Value::Null);
            let is_shell = matches!(
                name,
                "Bash" | "shell" | "exec_command" | "local_shell" | "run_shell_command" | "container.exec"
            );
            if is_shell {
                let command = input
                    .get("command")
                    .and_then(command_text)
                    .ok_or(HookError::Missing("tool_input.command"))?;
                // Gemini runs a command in `dir_path` when it is given.
                if let Some(dir) = str_field(&input, "dir_path").or_else(|| str_field(&input, "workdir")) {
                    cwd = Some(match &cwd {
                        Some(base) if !dir.starts_with('/') => format!("{base}/{dir}"),
                        _ => dir.to_owned(),
                    });
                }
                return Ok(HookCall {
                    kind: "shell".into(),
                    input: command,
                    cwd,
                    event,
                });
            }
            Ok(HookCall {
                kind: "tool".into(),
                input: tool_call(name, &input),
                cwd,
                event,
            })
        }
    }
}

/// Puts a verdict in the agent's own format.
pub fn render(agent: Agent, verdict: &Verdict) -> HookOutput {
    let (allow, reason) = match verdict {
        Verdict::Allow { reason } => (true, reason.as_str()),
        Verdict::Deny { reason } => (false, reason.as_str()),
    };
    match agent {
        Agent::ClaudeCode => HookOutput {
            stdout: json!({
                "hookSpecificOutput": {
                    "hookEventName": "PreToolUse",
                    "permissionDecision": if allow { "allow" } else { "deny" },
                    "permissionDecisionReason": reason,
                }
            })
            .to_string(),
            stderr: String::new(),
            exit_code: 0,
        },
        Agent::Cursor => HookOutput {
            stdout: json!({
                "permission": if allow { "allow" } else { "deny" },
                "user_message": if allow { String::new() } else { format!("Airlock: {reason}") },
                "agent_message": reason,
            })
            .to_string(),
            stderr: String::new(),
            exit_code: 0,
        },
        // Codex blocks on exit code 2 and hands stderr to the model.
        Agent::Codex if !allow => HookOutput {
            stdout: String::new(),
            stderr: reason.to_owned(),
            exit_code: 2,
        },
        Agent::Codex => HookOutput {
            stdout: "{}".into(),
            stderr: String::new(),
            exit_code: 0,
        },
        Agent::Gemini => HookOutput {
            stdout: if allow {
                json!({ "decision": "allow" })
            } else {
                json!({ "decision": "deny", "reason": reason })
            }
            .to_string(),
            stderr: String::new(),
            exit_code: 0,
        },
    }
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
    fn codex_blocks_with_exit_code_two() {
        let out = render(Agent::Codex, &Verdict::Deny { reason: "no".into() });
        assert_eq!((out.exit_code, out.stderr.as_str()), (2, "no"));
    }

    #[test]
    fn missing_fields_are_errors_not_allows() {
        assert!(parse_input(Agent::ClaudeCode, "{}").is_err());
        assert!(parse_input(Agent::Cursor, r#"{"hook_event_name":"beforeShellExecution"}"#).is_err());
        assert!(parse_input(Agent::Gemini, "not json").is_err());
    }
}
