//! Database clients on the command line: the SQL or commands they carry go through the matching
//! classifier, and their connection flags and URLs become targets.

mod mongo;
mod psql;
mod redis;
mod sqlite;

use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::options::{parse, Grammar, Item};
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
        "cqlsh" => sql_shell(
            name,
            args,
            &["-e", "--execute"],
            &["-f", "--file"],
            stdin,
            SqlDialect::Generic,
            summary,
            ctx,
        ),
        _ => match hosted_shell(name, args) {
            Some((rest, dialect)) => sql_shell(
                name,
                rest,
                &["-c", "--command", "-e", "--execute"],
                &["-f", "--file"],
                stdin,
                dialect,
                summary,
                ctx,
            ),
            None => return embedded_sql(name, args, summary, ctx),
        },
    }
    true
}

/// Hosted databases' SQL shells (`fly postgres connect`, `pscale shell`, `turso db shell`…): the
/// arguments after the subcommand, and the SQL they speak.
fn hosted_shell<'a>(name: &str, args: &'a [Arg]) -> Option<(&'a [Arg], SqlDialect)> {
    const SHELLS: [(&str, &[&str], SqlDialect); 7] = [
        ("fly", &["postgres", "connect"], SqlDialect::Postgres),
        ("flyctl", &["postgres", "connect"], SqlDialect::Postgres),
        ("fly", &["pg", "connect"], SqlDialect::Postgres),
        ("pscale", &["shell"], SqlDialect::MySql),
        ("turso", &["db", "shell"], SqlDialect::Sqlite),
        ("neonctl", &["psql"], SqlDialect::Postgres),
        ("railway", &["connect"], SqlDialect::Postgres),
    ];
    let words: Vec<&str> = args
        .iter()
        .filter(|a| !a.text.starts_with('-'))
        .map(|a| a.text.as_str())
        .collect();
    SHELLS.iter().find_map(|(p, sub, d)| {
        (*p == name && words.len() >= sub.len() && words[..sub.len()] == **sub).then(|| {
            let at = args
                .iter()
                .position(|a| a.text == sub[sub.len() - 1])
                .map_or(0, |i| i + 1);
            (&args[at..], *d)
        })
    })
}

/// A SQL shell: SQL from a flag, a file, a positional after the database name (turso), or stdin.
#[allow(clippy::too_many_arguments)]
fn sql_shell(
    client: &str,
    args: &[Arg],
    sql_flags: &[&str],
    file_flags: &[&str],
    stdin: &Stream,
    dialect: SqlDialect,
    summary: &str,
    ctx: &mut Ctx<'_>,
) {
    let value_flags: Vec<&str> = sql_flags
        .iter()
        .chain(file_flags)
        .copied()
        .chain([
            "-a",
            "--app",
            "--org",
            "-o",
            "--branch",
            "-u",
            "--username",
            "-p",
            "--password",
            "-k",
            "--keyspace",
            "--database",
            "-d",
            "--region",
        ])
        .collect();
    let a = ClientArgs::parse(args, &value_flags);
    for app in a.get(&["-a", "--app"]) {
        ctx.target(crate::TargetKind::App, app);
    }
    let mut sources: Vec<SqlSource> = a.values_of(sql_flags).into_iter().map(SqlSource::Text).collect();
    sources.extend(a.values_of(file_flags).into_iter().map(SqlSource::File));
    if let Some(db) = a.positionals.first() {
        ctx.target(crate::TargetKind::Database, db.text.clone());
    }
    // `turso db shell DB "SQL"`: SQL after the database (pscale's second word is a branch).
    if client == "turso" {
        sources.extend(a.positionals.iter().skip(1).cloned().map(SqlSource::Text));
    }
    if sources.is_empty() {
        sources.push(SqlSource::Stdin);
    }
    sql_from(&sources, stdin, dialect, client, summary, ctx);
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

/// A client's arguments split by the shared option grammar: options with their values (in the
/// order given), switches, and positionals.
pub(super) struct ClientArgs {
    pub values: Vec<(String, Arg)>,
    pub switches: Vec<String>,
    pub positionals: Vec<Arg>,
}

impl ClientArgs {
    /// Clustered short options (`psql -XAtc SQL`, `mysql -Nse SQL`) are read as the client would.
    pub(super) fn parse(args: &[Arg], value_flags: &[&str]) -> ClientArgs {
        Self::parse_with(args, value_flags, true)
    }

    /// For clients whose single-dash options are words (`sqlite3 -cmd`).
    pub(super) fn parse_words(args: &[Arg], value_flags: &[&str]) -> ClientArgs {
        Self::parse_with(args, value_flags, false)
    }

    fn parse_with(args: &[Arg], value_flags: &[&str], clusters: bool) -> ClientArgs {
        let grammar = Grammar {
            program: "",
            value_flags,
            switches: &[],
            clusters,
        };
        let mut out = ClientArgs {
            values: Vec::new(),
            switches: Vec::new(),
            positionals: Vec::new(),
        };
        for item in parse(args, &grammar) {
            match item {
                Item::Opt { name, value: Some(v) } => out.values.push((name, v)),
                Item::Opt { name, value: None } => out.switches.push(name),
                Item::Positional(a) => out.positionals.push(a),
            }
        }
        out
    }

    /// Every value given for any of `flags`.
    pub(super) fn get(&self, flags: &[&str]) -> Vec<String> {
        self.values_of(flags).into_iter().map(|a| a.text).collect()
    }

    pub(super) fn values_of(&self, flags: &[&str]) -> Vec<Arg> {
        self.values
            .iter()
            .filter(|(f, _)| flags.contains(&f.as_str()))
            .map(|(_, a)| a.clone())
            .collect()
    }

    pub(super) fn has(&self, flags: &[&str]) -> bool {
        self.switches.iter().any(|s| flags.contains(&s.as_str()))
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
