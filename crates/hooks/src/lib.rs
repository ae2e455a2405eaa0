//! # airlock-hooks
//!
//! The agents' own hook formats, in and out, and their settings files. Pure: no I/O.
//!
//! - Claude Code `PreToolUse` (`.claude/settings*.json`): `tool_name`, `tool_input`, `cwd` in;
//!   out: nothing when Airlock defers to Claude's own permission rules,
//!   `hookSpecificOutput.permissionDecision` allow (a grant) or deny with a reason.
//! - Cursor `beforeShellExecution` / `beforeMCPExecution` / `preToolUse` for file tools
//!   (`.cursor/hooks.json`): `{"permission", "user_message", "agent_message"}` out.
//! - Codex `PreToolUse` (`.codex/config.toml`): Claude-style input (`apply_patch` bodies as
//!   `tool_input.command`); a block is exit code 2 with the reason on stderr.
//! - Gemini CLI `BeforeTool` (`.gemini/settings.json`, comments allowed): `{"decision",
//!   "reason"}` out; MCP tools named by their `mcp_context`.
//!
//! ```
//! use airlock_hooks::{parse_input, render, Agent, Verdict};
//!
//! let call = parse_input(Agent::ClaudeCode, r#"{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"rm -rf /srv"},"cwd":"/srv"}"#).unwrap();
//! assert_eq!(call.kind, "shell");
//! let out = render(Agent::ClaudeCode, &Verdict::Deny { reason: "held".into() });
//! assert!(out.stdout.contains("\"permissionDecision\":\"deny\""));
//! // A plain allow defers to Claude Code's own permission rules: no decision at all.
//! assert_eq!(render(Agent::ClaudeCode, &Verdict::Defer).stdout, "");
//! ```

pub mod codex;
mod formats;
pub mod gemini;
mod jsonc;
mod settings;

pub use formats::{clean, parse_input, render, Agent, HookCall, HookError, HookOutput, Verdict};
pub use jsonc::{pin_hooks_enabled as gemini_pin_hooks_enabled, read as read_json_settings};
pub use settings::{install, installed, settings_path, uninstall, Installed, Scope, HOOK_TIMEOUT_SECS, MARKER};
