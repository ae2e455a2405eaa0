//! `psql` and `mysql`/`mariadb`.

use super::{sql_from, ClientArgs, SqlSource};
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::shell::Stream;
use crate::sql::SqlDialect;
use crate::{Risk, TargetKind};

const PSQL_VALUE_FLAGS: [&str; 22] = [
    "-c",
    "--command",
    "-f",
    "--file",
    "-h",
    "--host",
    "-p",
    "--port",
    "-U",
    "--username",
    "-d",
    "--dbname",
    "-o",
    "--output",
    "-v",
    "--set",
    "--variable",
    "-P",
    "--pset",
    "-L",
    "-F",
    "-R",
];

pub(super) fn run(args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) {
    let a = ClientArgs::parse(args, &PSQL_VALUE_FLAGS);
    for h in a.get(&["-h", "--host"]) {
        ctx.target(TargetKind::Host, h);
    }
    for p in a.get(&["-p", "--port"]) {
        ctx.target(TargetKind::Port, p);
    }
    let mut dbs = a.get(&["-d", "--dbname"]);
    // psql [DBNAME [USERNAME]]; a connection string may stand in for the name.
    if let Some(first) = a.positionals.first() {
        dbs.push(first.text.clone());
    }
    for db in dbs {
        connection_target(&db, ctx);
    }
    for o in a.get(&["-o", "--output"]) {
        ctx.overwrite(&o, false, summary);
    }
    if a.has(&["-l", "--list", "-V", "--version", "-?", "--help"]) {
        ctx.op(Risk::Read, summary, "psql only lists databases or prints help");
        return;
    }
    let mut sources: Vec<SqlSource> = Vec::new();
    // -c and -f run in the order given.
    for (flag, value) in &a.values {
        match flag.as_str() {
            "-c" | "--command" => sources.push(SqlSource::Text(value.clone())),
            "-f" | "--file" if value.text == "-" => sources.push(SqlSource::Stdin),
            "-f" | "--file" => sources.push(SqlSource::File(value.clone())),
            _ => {}
        }
    }
    if sources.is_empty() {
        sources.push(SqlSource::Stdin);
    }
    sql_from(&sources, stdin, SqlDialect::Postgres, "psql", summary, ctx);
}

/// A database name, a `postgres://` URL, or a `key=value` connection string.
pub(super) fn connection_target(db: &str, ctx: &mut Ctx<'_>) {
    if db.contains("://") {
        crate::http::url_targets(db, ctx);
    } else if db.contains('=') {
        for pair in db.split_whitespace() {
            match pair.split_once('=') {
                Some(("host", h)) => ctx.target(TargetKind::Host, h),
                Some(("port", p)) => ctx.target(TargetKind::Port, p),
                Some(("dbname", d)) => ctx.target(TargetKind::Database, d),
                _ => {}
            }
        }
    } else {
        ctx.target(TargetKind::Database, db);
    }
}

const MYSQL_VALUE_FLAGS: [&str; 14] = [
    "-e",
    "--execute",
    "-h",
    "--host",
    "-P",
    "--port",
    "-u",
    "--user",
    "-D",
    "--database",
    "-S",
    "--socket",
    "--defaults-file",
    "--login-path",
];

pub(super) fn run_mysql(args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) {
    let a = ClientArgs::parse(args, &MYSQL_VALUE_FLAGS);
    for h in a.get(&["-h", "--host"]) {
        ctx.target(TargetKind::Host, h);
    }
    for p in a.get(&["-P", "--port"]) {
        ctx.target(TargetKind::Port, p);
    }
    let mut dbs = a.get(&["-D", "--database"]);
    if let Some(first) = a.positionals.first() {
        dbs.push(first.text.clone());
    }
    for db in dbs {
        ctx.target(TargetKind::Database, db);
    }
    if a.has(&["-V", "--version", "-?", "--help"]) {
        ctx.op(Risk::Read, summary, "mysql only prints its version or help");
        return;
    }
    let mut sources: Vec<SqlSource> = a
        .values_of(&["-e", "--execute"])
        .into_iter()
        .map(SqlSource::Text)
        .collect();
    if sources.is_empty() {
        sources.push(SqlSource::Stdin);
    }
    sql_from(&sources, stdin, SqlDialect::MySql, "mysql", summary, ctx);
}

const CLICKHOUSE_VALUE_FLAGS: [&str; 14] = [
    "-q",
    "--query",
    "-h",
    "--host",
    "--port",
    "-u",
    "--user",
    "--password",
    "-d",
    "--database",
    "--queries-file",
    "-f",
    "--format",
    "--config-file",
];

pub(super) fn run_clickhouse(args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) {
    let a = ClientArgs::parse(args, &CLICKHOUSE_VALUE_FLAGS);
    for h in a.get(&["-h", "--host"]) {
        ctx.target(TargetKind::Host, h);
    }
    for d in a.get(&["-d", "--database"]) {
        ctx.target(TargetKind::Database, d);
    }
    let mut sources: Vec<SqlSource> = a
        .values_of(&["-q", "--query"])
        .into_iter()
        .map(SqlSource::Text)
        .collect();
    sources.extend(a.values_of(&["--queries-file"]).into_iter().map(SqlSource::File));
    if sources.is_empty() {
        sources.push(SqlSource::Stdin);
    }
    sql_from(
        &sources,
        stdin,
        SqlDialect::ClickHouse,
        "clickhouse-client",
        summary,
        ctx,
    );
}
