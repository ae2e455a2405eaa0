//! # airlock-hooks
//!
//! The agents' own hook formats, in and out, and their settings files. Pure: no I/O.
//!
//! - Claude Code `PreToolUse` (`.claude/settings.json`): `tool_name`, `tool_input`, `cwd` in;
//!   `hookSpecificOutput.permissionDecision` allow/deny/ask with a reason out.
//! - Cursor `beforeShellExecution` / `beforeMCPExecution` (`.cursor/hooks.json`): `command`,
//!   `cwd` or `tool_name`, `tool_input` in; `{"permission", "user_message", "agent_message"}` out.
//! - Codex `PreToolUse` (`.codex/config.toml`): Claude-style input; a block is exit code 2 with the
//!   reason on stderr.
//! - Gemini CLI `BeforeTool` (`.gemini/settings.json`): `tool_name`, `tool_input`, `cwd` in;
//!   `{"decision", "reason"}` out.
//!
//! ```
//! use airlock_hooks::{parse_input, render, Agent, Verdict};
//!
//! let call = parse_input(Agent::ClaudeCode, r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /srv"},"cwd":"/srv"}"#).unwrap();
//! assert_eq!(call.kind, "shell");
//! let out = render(Agent::ClaudeCode, &Verdict::Deny { reason: "held".into() });
//! assert!(out.stdout.contains("\"permissionDecision\":\"deny\""));
//! ```

mod formats;
mod settings;

pub use formats::{parse_input, render, Agent, HookCall, HookError, HookOutput, Verdict};
pub use settings::{install, settings_path, uninstall, Scope, MARKER};
