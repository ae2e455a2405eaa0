//! Agent tool calls other than shell commands: MCP tools (`mcp__server__tool`), file writes and
//! edits. Input is JSON `{"name": "...", "arguments": {...}}`. The tool's name says what it does
//! (delete/drop/purge verbs are destructive), and the arguments are searched for what the other
//! classifiers understand: SQL, shell commands, URLs and file paths.

use serde_json::Value;

use crate::ctx::Ctx;
use crate::{Risk, TargetKind};

/// Tools that write the file named by their path argument.
const FILE_WRITERS: [&str; 8] = [
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "write_file",
    "replace",
    "edit_file",
    "create_file",
];
/// Words that make a tool name a read.
const READ_VERBS: [&str; 14] = [
    "get", "list", "read", "search", "describe", "show", "fetch", "find", "view", "explain", "count", "lookup",
    "inspect", "glob",
];
const PATH_KEYS: [&str; 5] = ["file_path", "path", "notebook_path", "filename", "file"];
const SQL_KEYS: [&str; 4] = ["sql", "query", "statement", "statements"];
const SHELL_KEYS: [&str; 4] = ["command", "cmd", "script", "shell"];

pub(crate) fn classify_into(input: &str, ctx: &mut Ctx<'_>) {
    let call: Value = match serde_json::from_str(input) {
        Ok(v) => v,
        Err(e) => {
            ctx.op(
                Risk::Unknown,
                input,
                format!("the tool call is not JSON {{\"name\", \"arguments\"}} ({e})"),
            );
            return;
        }
    };
    let Some(name) = call.get("name").and_then(Value::as_str) else {
        ctx.op(Risk::Unknown, input, "the tool call has no name");
        return;
    };
    let args = call.get("arguments").cloned().unwrap_or(Value::Null);
    // `tool_input` from some agents arrives as a JSON string.
    let args = match args {
        Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
        other => other,
    };
    if name == "apply_patch" {
        crate::patch::classify_tool_call(&args, ctx);
        return;
    }
    // An MCP tool acts on its server's resource: the server is a target, so it resolves to the
    // environment configured for it (or `unknown`), never to the working directory's.
    if let Some(rest) = name.strip_prefix("mcp__") {
        let server = rest.split_once("__").map_or("?", |(s, _)| s);
        ctx.target(TargetKind::Mcp, server);
    }
    let summary = format!("tool {name}");
    let before = ctx.found.risk();
    if FILE_WRITERS.contains(&name) {
        let path = PATH_KEYS.iter().find_map(|k| args.get(*k).and_then(Value::as_str));
        match path {
            Some(p) => {
                let resolved = ctx.path_target(p, Risk::Write, &summary);
                ctx.op(Risk::Write, &summary, format!("writes {resolved}"));
            }
            None => ctx.op(Risk::Unknown, &summary, format!("{name} without a file path")),
        }
        return;
    }
    let tool = name.rsplit("__").next().unwrap_or(name);
    let words = crate::http::words(tool);
    let verbs = ctx
        .packs(&summary)
        .map(|p| p.destructive_verbs.clone())
        .unwrap_or_default();
    if let Some(v) = words.iter().find(|w| verbs.contains(w)) {
        ctx.op(
            Risk::Destructive,
            &summary,
            format!("the tool {tool} {v}s (its name says so)"),
        );
    }
    arguments(&args, None, &summary, ctx, 0);
    if ctx.found.risk() == before {
        if words.first().is_some_and(|w| READ_VERBS.contains(&w.as_str())) {
            ctx.op(
                Risk::Read,
                &summary,
                format!("the tool {tool} only reads (its name says so)"),
            );
        } else {
            ctx.op(
                Risk::Write,
                &summary,
                format!("{name} is a tool Airlock does not know; it counts as a bounded write"),
            );
        }
    }
}

fn arguments(v: &Value, key: Option<&str>, summary: &str, ctx: &mut Ctx<'_>, depth: usize) {
    if depth > 16 || !ctx.tick() {
        return;
    }
    match v {
        Value::Object(map) => {
            // An object with a method and a URL is an HTTP request.
            if let (Some(url), method) = (
                map.get("url").and_then(Value::as_str),
                map.get("method").and_then(Value::as_str),
            ) {
                let raw = format!(
                    "{} {url}\n\n{}",
                    method.unwrap_or("GET").to_ascii_uppercase(),
                    map.get("body")
                        .map(|b| b.as_str().map_or_else(|| b.to_string(), str::to_owned))
                        .unwrap_or_default()
                );
                crate::http::classify_raw(&raw, ctx);
            }
            for (k, inner) in map {
                arguments(inner, Some(k), summary, ctx, depth + 1);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| arguments(i, key, summary, ctx, depth + 1)),
        Value::String(s) => string_argument(s, key.unwrap_or(""), summary, ctx),
        _ => {}
    }
}

pub(crate) fn looks_like_sql(s: &str) -> bool {
    let first = s.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
    matches!(
        first.as_str(),
        "SELECT"
            | "INSERT"
            | "UPDATE"
            | "DELETE"
            | "DROP"
            | "TRUNCATE"
            | "ALTER"
            | "CREATE"
            | "WITH"
            | "GRANT"
            | "REVOKE"
            | "MERGE"
            | "COPY"
            | "DO"
            | "CALL"
            | "EXECUTE"
    )
}

fn string_argument(s: &str, key: &str, summary: &str, ctx: &mut Ctx<'_>) {
    let key = key.to_ascii_lowercase();
    // Free text that merely starts like SQL ("drop the old table tomorrow") must parse to count.
    if SQL_KEYS.contains(&key.as_str()) || (looks_like_sql(s) && crate::sql::parses(s)) {
        if ctx.enter("tool SQL") {
            crate::sql::classify_into(s, ctx);
            ctx.leave();
        }
    } else if SHELL_KEYS.contains(&key.as_str()) {
        crate::shell::classify_nested(s, "tool command", ctx);
    } else if s.contains("://") {
        crate::http::url_targets(s, ctx);
    } else if PATH_KEYS.contains(&key.as_str()) {
        ctx.target(TargetKind::Path, ctx.resolve_path(s));
    }
    let _ = summary;
}

#[cfg(test)]
mod tests {
    use crate::{classify, Action, ActionKind, NoWorld, Risk};

    fn tool(json: &str) -> Risk {
        classify(&Action::new(ActionKind::Tool, json).with_cwd("/w"), &NoWorld).risk
    }

    #[test]
    fn mcp_tools_are_judged_by_name_and_arguments() {
        assert_eq!(
            tool(r#"{"name": "mcp__railway__volume_delete", "arguments": {"volumeId": "v1"}}"#),
            Risk::Destructive
        );
        assert_eq!(
            tool(r#"{"name": "mcp__postgres__query", "arguments": {"sql": "DROP TABLE users"}}"#),
            Risk::Destructive
        );
        assert_eq!(
            tool(r#"{"name": "mcp__postgres__query", "arguments": {"sql": "SELECT 1"}}"#),
            Risk::Read
        );
        assert_eq!(
            tool(r#"{"name": "mcp__github__list_issues", "arguments": {"repo": "x"}}"#),
            Risk::Read
        );
        assert_eq!(
            tool(r#"{"name": "mcp__shell__run", "arguments": {"command": "rm -rf /srv"}}"#),
            Risk::Destructive
        );
        assert_eq!(
            tool(
                r#"{"name": "mcp__http__request", "arguments": {"method": "DELETE", "url": "https://api.example.com/v1/db/1"}}"#
            ),
            Risk::Destructive
        );
        assert_eq!(
            tool(r#"{"name": "mcp__notes__add_note", "arguments": {"text": "drop the users table tomorrow"}}"#),
            Risk::Write
        );
    }

    #[test]
    fn file_edits_of_protected_files_are_destructive() {
        assert_eq!(
            tool(r#"{"name": "Write", "arguments": {"file_path": "/w/.claude/settings.json", "content": "{}"}}"#),
            Risk::Destructive
        );
        assert_eq!(
            tool(r#"{"name": "Edit", "arguments": {"file_path": "/w/src/main.rs"}}"#),
            Risk::Write
        );
        assert_eq!(tool("not json"), Risk::Unknown);
    }
}
