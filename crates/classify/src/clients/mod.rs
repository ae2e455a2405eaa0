//! Database clients on the command line: the SQL or commands they carry go through the matching
//! classifier, and their connection flags and URLs become targets.

mod mongo;
mod psql;
mod redis;
mod sqlite;

use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::shell::Stream;
use crate::sql::SqlDialect;
use crate::Risk;

/// Handles `name` if it is a database client; returns false otherwise.
pub(crate) fn run(name: &str, args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) -> bool {
    match name {
        "psql" => psql::run(args, stdin, summary, ctx),
        "mysql" | "mariadb" => psql::run_mysql(args, stdin, summary, ctx),
        "clickhouse-client" => psql::run_clickhouse(args, stdin, summary, ctx),
        "clickhouse" if args.first().is_some_and(|a| a.text == "client") => {
            psql::run_clickhouse(&args[1..], stdin, summary, ctx)
        }
        "sqlite3" | "sqlite" => sqlite::run(args, stdin, summary, ctx),
        "redis-cli" | "valkey-cli" => redis::run(args, stdin, summary, ctx),
        "mongosh" | "mongo" => mongo::run(args, stdin, summary, ctx),
        "wrangler"
            if args.first().is_some_and(|a| a.text == "d1") && args.get(1).is_some_and(|a| a.text == "execute") =>
        {
            sqlite::run_d1(&args[2..], summary, ctx)
        }
        _ => return embedded_sql(name, args, summary, ctx),
    }
    true
}

/// Where a client's SQL comes from.
pub(super) enum SqlSource {
    Text(Arg),
    File(Arg),
    Stdin,
}

/// Classifies SQL given on the command line, in a file, or on stdin.
pub(super) fn sql_from(
    sources: &[SqlSource],
    stdin: &Stream,
    dialect: SqlDialect,
    client: &str,
    summary: &str,
    ctx: &mut Ctx<'_>,
) {
    for s in sources {
        match s {
            SqlSource::Text(a) if a.dynamic => {
                let sql = crate::sql::with_placeholders(&a.text);
                ctx.partially_known(summary, &format!("part of the SQL that {client} runs"), |ctx| {
                    if ctx.enter(client) {
                        crate::sql::classify_dialect(&sql, dialect, ctx);
                        ctx.leave();
                    }
                });
            }
            SqlSource::Text(a) => {
                if ctx.enter(client) {
                    crate::sql::classify_dialect(&a.text, dialect, ctx);
                    ctx.leave();
                }
            }
            SqlSource::File(f) => crate::shell::run_script_file(f, Some(crate::ScriptLanguage::Sql), summary, ctx),
            SqlSource::Stdin => stdin_sql(stdin, dialect, client, summary, ctx),
        }
    }
}

fn stdin_sql(stdin: &Stream, dialect: SqlDialect, client: &str, summary: &str, ctx: &mut Ctx<'_>) {
    crate::shell::feed(
        stdin,
        client,
        crate::ScriptLanguage::Sql,
        summary,
        ctx,
        |text, ctx| crate::sql::classify_dialect(text, dialect, ctx),
        |ctx| {
            ctx.op(
                Risk::Unknown,
                summary,
                format!("{client} reads SQL from its input, which Airlock cannot see; pass it with -c or -e"),
            )
        },
    );
}

/// Splits a client's arguments: flags with values (per `value_flags`, also `--flag=value` and glued
/// short forms like `-hlocalhost`), and positionals.
pub(super) struct ClientArgs<'a> {
    pub values: Vec<(&'a str, &'a Arg)>,
    pub attached: Vec<(String, Arg)>,
    pub switches: Vec<&'a str>,
    pub positionals: Vec<&'a Arg>,
}

impl<'a> ClientArgs<'a> {
    pub(super) fn parse(args: &'a [Arg], value_flags: &[&'a str]) -> ClientArgs<'a> {
        let mut out = ClientArgs {
            values: Vec::new(),
            attached: Vec::new(),
            switches: Vec::new(),
            positionals: Vec::new(),
        };
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let t = a.text.as_str();
            if t.starts_with("--") && t.contains('=') {
                let (k, v) = t.split_once('=').unwrap_or((t, ""));
                out.attached.push((
                    k.to_owned(),
                    Arg {
                        text: v.to_owned(),
                        ..a.clone()
                    },
                ));
            } else if value_flags.contains(&t) {
                if let Some(v) = args.get(i + 1) {
                    out.values
                        .push((value_flags.iter().find(|f| **f == t).copied().unwrap_or(""), v));
                    i += 1;
                }
            } else if t.starts_with('-') && !t.starts_with("--") && t.len() > 2 && value_flags.contains(&&t[..2]) {
                out.attached.push((
                    t[..2].to_owned(),
                    Arg {
                        text: t[2..].to_owned(),
                        ..a.clone()
                    },
                ));
            } else if t.starts_with('-') && t != "-" {
                out.switches.push(t);
            } else {
                out.positionals.push(a);
            }
            i += 1;
        }
        out
    }

    /// Every value given for any of `flags`.
    pub(super) fn get(&self, flags: &[&str]) -> Vec<String> {
        self.values_of(flags).into_iter().map(|a| a.text).collect()
    }

    pub(super) fn values_of(&self, flags: &[&str]) -> Vec<Arg> {
        let mut v: Vec<Arg> = self
            .values
            .iter()
            .filter(|(f, _)| flags.contains(f))
            .map(|(_, a)| (*a).clone())
            .collect();
        v.extend(
            self.attached
                .iter()
                .filter(|(f, _)| flags.contains(&f.as_str()))
                .map(|(_, a)| a.clone()),
        );
        v
    }

    pub(super) fn has(&self, flags: &[&str]) -> bool {
        self.switches.iter().any(|s| flags.contains(s))
    }
}

/// SQL carried by a cloud CLI's flag: (program, subcommand words, flag, dialect).
const EMBEDDED_SQL: [(&str, [&str; 2], &str, SqlDialect); 4] = [
    (
        "aws",
        ["dynamodb", "execute-statement"],
        "--statement",
        SqlDialect::Generic,
    ),
    ("aws", ["rds-data", "execute-statement"], "--sql", SqlDialect::Postgres),
    (
        "aws",
        ["redshift-data", "execute-statement"],
        "--sql",
        SqlDialect::Postgres,
    ),
    ("heroku", ["pg:psql", ""], "--command", SqlDialect::Postgres),
];

/// Handles cloud CLIs whose flags carry SQL; returns false when `name args` is not one of them.
fn embedded_sql(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let Some((_, sub, flag, dialect)) = EMBEDDED_SQL.iter().find(|(p, sub, _, _)| {
        *p == name
            && sub
                .iter()
                .filter(|s| !s.is_empty())
                .enumerate()
                .all(|(i, s)| args.get(i).is_some_and(|a| a.text == *s))
    }) else {
        return false;
    };
    let skip = sub.iter().filter(|s| !s.is_empty()).count();
    let rest = &args[skip..];
    // heroku pg:psql also takes -c; every form takes `--flag=value`.
    let short = if *flag == "--command" { Some("-c") } else { None };
    let mut sources = Vec::new();
    for (i, a) in rest.iter().enumerate() {
        if a.text == *flag || Some(a.text.as_str()) == short {
            if let Some(v) = rest.get(i + 1) {
                sources.push(SqlSource::Text(v.clone()));
            }
        } else if let Some(v) = a.text.strip_prefix(&format!("{flag}=")) {
            sources.push(SqlSource::Text(Arg {
                text: v.to_owned(),
                ..a.clone()
            }));
        }
    }
    if sources.is_empty() {
        ctx.op(
            Risk::Unknown,
            summary,
            format!("{name} runs SQL that is not given on the command line"),
        );
        return true;
    }
    sql_from(&sources, &Stream::Terminal, *dialect, name, summary, ctx);
    true
}
