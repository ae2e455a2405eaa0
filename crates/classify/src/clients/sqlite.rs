//! `sqlite3 DB [SQL…]` and `wrangler d1 execute DB --command SQL` (Cloudflare D1 speaks SQLite).

use super::{sql_from, ClientArgs, SqlSource};
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::shell::Stream;
use crate::sql::SqlDialect;
use crate::{Risk, TargetKind};

const SQLITE_VALUE_FLAGS: [&str; 10] = [
    "-cmd",
    "-init",
    "-separator",
    "-newline",
    "-nullvalue",
    "-vfs",
    "-mmap",
    "-pagecache",
    "-lookaside",
    "-maxsize",
];

pub(super) fn run(args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) {
    let a = ClientArgs::parse_words(args, &SQLITE_VALUE_FLAGS);
    if a.has(&["-version", "--version", "-help", "--help"]) {
        ctx.op(Risk::Read, summary, "sqlite3 only prints its version or help");
        return;
    }
    let mut positionals = a.positionals.iter();
    if let Some(db) = positionals.next() {
        // The database file is what a snapshot would copy.
        if db.text != ":memory:" {
            ctx.path_target(&db.text, Risk::Write, summary);
        }
    }
    let mut sources: Vec<SqlSource> = a.values_of(&["-cmd"]).into_iter().map(SqlSource::Text).collect();
    for init in a.values_of(&["-init"]) {
        sources.push(SqlSource::File(init));
    }
    let mut sql_args = 0;
    for p in positionals {
        sources.push(SqlSource::Text((*p).clone()));
        sql_args += 1;
    }
    if sql_args == 0 {
        sources.push(SqlSource::Stdin);
    }
    if matches!(sources.last(), Some(SqlSource::Stdin)) && matches!(stdin, Stream::Terminal) && sql_args == 0 {
        sources.pop();
        if sources.is_empty() {
            ctx.op(
                Risk::Unknown,
                summary,
                "sqlite3 reads SQL from its input, which Airlock cannot see; pass the SQL as an argument",
            );
            return;
        }
    }
    sql_from(&sources, stdin, SqlDialect::Sqlite, "sqlite3", summary, ctx);
}

const D1_VALUE_FLAGS: [&str; 6] = ["--command", "--file", "--env", "-e", "--config", "-c"];

pub(super) fn run_d1(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) {
    let a = ClientArgs::parse(args, &D1_VALUE_FLAGS);
    if let Some(db) = a.positionals.first() {
        ctx.target(TargetKind::Database, db.text.clone());
    }
    for e in a.get(&["--env", "-e"]) {
        ctx.target(TargetKind::Environment, e);
    }
    let mut sources: Vec<SqlSource> = a.values_of(&["--command"]).into_iter().map(SqlSource::Text).collect();
    sources.extend(a.values_of(&["--file"]).into_iter().map(SqlSource::File));
    if sources.is_empty() {
        ctx.op(
            Risk::Unknown,
            summary,
            "wrangler d1 execute without --command or --file",
        );
        return;
    }
    sql_from(
        &sources,
        &Stream::Terminal,
        SqlDialect::Sqlite,
        "wrangler d1 execute",
        summary,
        ctx,
    );
}
