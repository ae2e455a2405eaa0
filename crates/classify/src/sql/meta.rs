//! Client-side commands mixed into SQL text: psql's backslash commands and sqlite3's dot commands.

use super::SqlDialect;
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::{Risk, TargetKind};

/// Removes client commands from `sql`, recording what they do; returns the SQL left for the server.
pub(super) fn strip_client_commands(sql: &str, dialect: SqlDialect, ctx: &mut Ctx<'_>) -> String {
    let mut out = String::with_capacity(sql.len());
    for line in sql.lines() {
        let t = line.trim_start();
        if dialect == SqlDialect::Postgres && t.starts_with('\\') {
            psql_meta(t, ctx);
        } else if t.starts_with('.') && t[1..].starts_with(|c: char| c.is_ascii_lowercase()) {
            // sqlite3's dot commands; no other SQL line starts with a dot and a letter.
            sqlite_dot(t, ctx);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn psql_meta(line: &str, ctx: &mut Ctx<'_>) {
    let mut words = line.splitn(2, char::is_whitespace);
    let cmd = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim();
    match cmd {
        "\\i" | "\\ir" | "\\include" | "\\include_relative" => {
            script(rest, crate::ScriptLanguage::Sql, line, ctx);
        }
        "\\!" => crate::shell::classify_nested(rest, "psql \\!", ctx),
        "\\c" | "\\connect" => {
            if let Some(db) = rest.split_whitespace().next() {
                if db.contains("://") || db.contains('=') {
                    crate::http::url_targets(db, ctx);
                } else {
                    ctx.target(TargetKind::Database, db);
                }
            }
            ctx.op(Risk::Read, line, "connects to another database");
        }
        "\\gexec" => ctx.op(
            Risk::Unknown,
            line,
            "\\gexec runs the query's results as SQL, which cannot be known beforehand",
        ),
        "\\copy" => {
            let lower = rest.to_ascii_lowercase();
            if lower.contains(" program ") {
                ctx.op(
                    Risk::Unknown,
                    line,
                    "\\copy … PROGRAM runs a shell command built into the copy",
                );
            } else if lower.contains(" from ") {
                ctx.op(Risk::Write, line, "\\copy … FROM loads rows into a table");
            } else {
                // `\copy t TO 'file.csv'` writes that file on the client; TO STDOUT only prints.
                let target = lower.split(" to ").nth(1).map(str::trim).unwrap_or_default();
                let file = target
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .trim_matches(['\'', '"']);
                if file.is_empty() || file == "stdout" || file.starts_with("pstdout") {
                    ctx.op(Risk::Read, line, "\\copy … TO STDOUT exports rows");
                } else {
                    let raw = rest
                        .split_whitespace()
                        .skip_while(|w| !w.eq_ignore_ascii_case("to"))
                        .nth(1)
                        .unwrap_or(file);
                    ctx.overwrite(raw.trim_matches(['\'', '"']), false, line);
                }
            }
        }
        "\\o" | "\\out" | "\\w" | "\\write" => {
            if let Some(f) = rest.split_whitespace().next() {
                ctx.overwrite(f, false, line);
            }
        }
        _ => ctx.op(Risk::Read, line, "a psql display or settings command"),
    }
}

fn sqlite_dot(line: &str, ctx: &mut Ctx<'_>) {
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or_default();
    let arg = words.next().unwrap_or_default().trim_matches(['\'', '"']);
    match cmd {
        ".read" => script(arg, crate::ScriptLanguage::Sql, line, ctx),
        ".shell" | ".system" => {
            let rest = line.split_once(char::is_whitespace).map_or("", |(_, r)| r);
            crate::shell::classify_nested(rest, "sqlite3 .shell", ctx);
        }
        ".restore" | ".import" => ctx.op(Risk::Destructive, line, format!("{cmd} replaces or loads table data")),
        ".output" | ".once" | ".backup" | ".save" | ".dump" if !arg.is_empty() => ctx.overwrite(arg, false, line),
        _ => ctx.op(Risk::Read, line, "a sqlite3 display or settings command"),
    }
}

fn script(path: &str, lang: crate::ScriptLanguage, line: &str, ctx: &mut Ctx<'_>) {
    let path = path.trim_matches(['\'', '"']);
    if path.is_empty() {
        ctx.op(Risk::Unknown, line, "includes a file with no name");
        return;
    }
    crate::shell::run_script_file(&Arg::literal(path), Some(lang), line, ctx);
}
