//! SQL: parsed with sqlparser (PostgreSQL dialect unless a client says otherwise); every statement
//! of a multi-statement string is judged, nested statements (data-modifying CTEs, `EXPLAIN ANALYZE`)
//! included. Literals and comments are data to the parser, so they never trigger anything.

mod meta;
mod names;
mod plpgsql;
mod power;
mod statement;
mod tautology;
mod transaction;
mod unbounded;

use sqlparser::dialect::{ClickHouseDialect, Dialect, GenericDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::ctx::Ctx;
use crate::limits::MAX_SQL_DEPTH;
use crate::{Risk, TargetKind};

/// Which SQL a client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SqlDialect {
    Postgres,
    MySql,
    Sqlite,
    ClickHouse,
    Generic,
}

impl SqlDialect {
    /// The name rule packs use for the dialect.
    pub(crate) fn name(self) -> &'static str {
        match self {
            SqlDialect::Postgres => "postgres",
            SqlDialect::MySql => "mysql",
            SqlDialect::Sqlite => "sqlite",
            SqlDialect::ClickHouse => "clickhouse",
            SqlDialect::Generic => "generic",
        }
    }

    fn dialect(self) -> Box<dyn Dialect> {
        match self {
            SqlDialect::Postgres => Box::new(PostgreSqlDialect {}),
            SqlDialect::MySql => Box::new(MySqlDialect {}),
            SqlDialect::Sqlite => Box::new(SQLiteDialect {}),
            SqlDialect::ClickHouse => Box::new(ClickHouseDialect {}),
            SqlDialect::Generic => Box::new(GenericDialect {}),
        }
    }
}

/// Classifies PostgreSQL text, psql meta-commands included.
pub(crate) fn classify_into(sql: &str, ctx: &mut Ctx<'_>) {
    classify_dialect(sql, SqlDialect::Postgres, ctx);
}

pub(crate) fn classify_dialect(sql: &str, dialect: SqlDialect, ctx: &mut Ctx<'_>) {
    let sql = meta::strip_client_commands(sql, dialect, ctx);
    if sql.trim().is_empty() {
        return;
    }
    // MySQL's `\G` ends a statement like `;` (it only changes how the client prints rows).
    let sql = sql.replace("\\G", ";");
    let (d, parsed, used) = parse_any(&sql, dialect);
    let saved = std::mem::replace(&mut ctx.sql_dialect, used.name());
    classify_parsed(&sql, d.as_ref(), parsed, dialect, ctx);
    ctx.sql_dialect = saved;
}

fn classify_parsed(sql: &str, d: &dyn Dialect, parsed: Parsed, dialect: SqlDialect, ctx: &mut Ctx<'_>) {
    let sql = sql.to_owned();
    match parsed {
        Ok(statements) => transaction::statements(&statements, dialect, ctx),
        // One bad statement must not hide the others: judge each piece on its own.
        Err(_) => match split_statements(&sql, d) {
            Some(pieces) => {
                for piece in pieces {
                    if !ctx.tick() {
                        return;
                    }
                    match parse_sql(d, &piece) {
                        Ok(statements) => statements.iter().for_each(|st| statement::classify(st, ctx)),
                        Err(e) => unparsed(&piece, &e.to_string(), d, ctx),
                    }
                }
            }
            None => ctx.op(
                Risk::Unknown,
                &sql,
                "the SQL could not even be tokenized (an unterminated string or quote?); Airlock refuses what it cannot read",
            ),
        },
    }
}

/// Parses with the client's dialect; text sent as plain SQL (an `http` body, a tool argument, the
/// gateway) that PostgreSQL's grammar rejects is tried as SQLite and MySQL too, so that valid SQL of
/// another database (`PRAGMA table_info(t)`, backquoted names) is judged rather than refused.
type Parsed = Result<Vec<sqlparser::ast::Statement>, sqlparser::parser::ParserError>;

fn parse_any(sql: &str, dialect: SqlDialect) -> (Box<dyn Dialect>, Parsed, SqlDialect) {
    let d = dialect.dialect();
    let first = parse_sql(d.as_ref(), sql);
    if first.is_ok() || dialect != SqlDialect::Postgres {
        return (d, first, dialect);
    }
    for other in [SqlDialect::Sqlite, SqlDialect::MySql] {
        let od = other.dialect();
        if let Ok(st) = parse_sql(od.as_ref(), sql) {
            return (od, Ok(st), other);
        }
    }
    (d, first, dialect)
}

/// Parses SQL with a bounded recursion depth: text that nests deeper than the parser can follow on
/// a small thread stack is refused before the parser sees it.
pub(crate) fn parse_sql(
    dialect: &dyn Dialect,
    sql: &str,
) -> Result<Vec<sqlparser::ast::Statement>, sqlparser::parser::ParserError> {
    if crate::nesting::sql_depth(sql) > MAX_SQL_DEPTH {
        return Err(sqlparser::parser::ParserError::RecursionLimitExceeded);
    }
    Parser::new(dialect)
        .with_recursion_limit(MAX_SQL_DEPTH)
        .try_with_sql(sql)?
        .parse_statements()
}

/// Why a `SET …` turns off a safeguard for the session, if it does (also for libpq's PGOPTIONS).
pub(crate) fn session_safeguard(set: &str) -> Option<&'static str> {
    power::set_disables_safeguard(set)
}

/// Whether `sql` is valid SQL in PostgreSQL's, SQLite's or MySQL's grammar.
pub(crate) fn parses_any(sql: &str) -> bool {
    parse_any(sql, SqlDialect::Postgres).1.is_ok()
}

/// Whether `sql` is valid PostgreSQL as a whole.
pub(crate) fn parses(sql: &str) -> bool {
    parse_sql(&PostgreSqlDialect {}, sql).is_ok()
}

/// Replaces shell expansions (`$VAR`, `${…}`, `$(…)`, backticks) in SQL with a neutral identifier,
/// so that the SQL around them can still be parsed and judged.
pub(crate) fn with_placeholders(sql: &str) -> String {
    const HOLE: &str = "airlock_runtime_value";
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let close = match (c, next) {
            ('$', Some('{')) => Some('}'),
            ('$', Some('(')) => Some(')'),
            ('`', _) => Some('`'),
            _ => None,
        };
        if let Some(close) = close {
            let start = if c == '`' { i + 1 } else { i + 2 };
            let end = chars[start..]
                .iter()
                .position(|&x| x == close)
                .map_or(chars.len(), |p| start + p + 1);
            out.push_str(HOLE);
            i = end;
        } else if c == '$' && next.is_some_and(|n| n.is_ascii_alphabetic() || n == '_') {
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push_str(HOLE);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Splits SQL at top-level semicolons using the real tokenizer (so `';'` in a string is no split).
fn split_statements(sql: &str, dialect: &dyn Dialect) -> Option<Vec<String>> {
    let tokens = Tokenizer::new(dialect, sql).tokenize().ok()?;
    let mut pieces = Vec::new();
    let mut current = String::new();
    for t in tokens {
        if t == Token::SemiColon {
            if current.trim().chars().any(|c| !c.is_whitespace()) {
                pieces.push(std::mem::take(&mut current));
            }
            current.clear();
        } else {
            current.push_str(&t.to_string());
        }
    }
    if !current.trim().is_empty() {
        pieces.push(current);
    }
    Some(pieces)
}

/// A statement the parser rejected. Its leading keywords still tell whether it drops or empties
/// something (destructive whatever the rest says), or is plain maintenance. Anything else is
/// unknown.
fn unparsed(piece: &str, error: &str, dialect: &dyn Dialect, ctx: &mut Ctx<'_>) {
    let tokens: Vec<Token> = Tokenizer::new(dialect, piece)
        .tokenize()
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let word = |i: usize| -> String {
        match tokens.get(i) {
            Some(Token::Word(w)) => w.value.to_ascii_uppercase(),
            _ => String::new(),
        }
    };
    let first = word(0);
    let upper_piece = piece.to_ascii_uppercase();
    match first.as_str() {
        "DROP" | "TRUNCATE" => {
            // DROP <kind> [IF EXISTS] name…; TRUNCATE [TABLE] [ONLY] name…
            const NOISE: [&str; 6] = ["IF", "EXISTS", "TABLE", "ONLY", "CONCURRENTLY", "MATERIALIZED"];
            let kind = if first == "DROP" { word(1) } else { "TABLE".to_owned() };
            let start = if first == "DROP" { 2 } else { 1 };
            let name = tokens.iter().skip(start).find_map(|t| match t {
                Token::Word(w) if !NOISE.contains(&w.value.to_ascii_uppercase().as_str()) => {
                    Some(if w.quote_style.is_some() {
                        w.value.clone()
                    } else {
                        w.value.to_lowercase()
                    })
                }
                _ => None,
            });
            let Some(name) = name else {
                ctx.op(
                    Risk::Unknown,
                    piece,
                    format!("{first} without a name is not valid SQL ({error})"),
                );
                return;
            };
            let target = match kind.as_str() {
                "DATABASE" => TargetKind::Database,
                "SCHEMA" => TargetKind::Schema,
                "TABLE" | "VIEW" | "MATERIALIZED" | "FOREIGN" => TargetKind::Table,
                _ => TargetKind::Resource,
            };
            ctx.target(target, name.clone());
            ctx.op(
                Risk::Destructive,
                piece,
                format!("{first} {kind} removes {name} or its data"),
            );
        }
        "DO" if plpgsql::classify_do(piece, ctx) => {}
        "DO" if plpgsql::dynamic_destructive(piece).is_some() => {
            ctx.op(
                Risk::Destructive,
                piece,
                plpgsql::dynamic_destructive(piece).unwrap_or_default(),
            );
        }
        "PRAGMA" => pragma(piece, ctx),
        "DO" => ctx.op(
            Risk::Unknown,
            piece,
            "a DO block runs procedural code whose effect cannot be known before it runs",
        ),
        "IMPORT" => ctx.op(
            Risk::Destructive,
            piece,
            "IMPORT FOREIGN SCHEMA connects tables of another server into this one: it reaches beyond this database",
        ),
        "LOAD" if upper_piece.contains("INFILE") && !upper_piece.contains("LOCAL") => ctx.op(
            Risk::Destructive,
            piece,
            "LOAD DATA INFILE reads any file the database server can read",
        ),
        "SELECT" if upper_piece.contains("INTO OUTFILE") || upper_piece.contains("INTO DUMPFILE") => ctx.op(
            Risk::Destructive,
            piece,
            "SELECT … INTO OUTFILE writes a file on the database server",
        ),
        "ALTER" if upper_piece.contains("DISCARD TABLESPACE") => ctx.op(
            Risk::Destructive,
            piece,
            "DISCARD TABLESPACE deletes the table's data file",
        ),
        "ALTER" if matches!(word(1).as_str(), "SYSTEM" | "DATABASE") && upper_piece.contains(" SET ") => {
            alter_setting(piece, ctx)
        }
        "TABLE" => ctx.op(Risk::Read, piece, "TABLE reads a whole table"),
        "RESET" if matches!(word(1).as_str(), "MASTER" | "BINARY" | "REPLICA" | "SLAVE") => ctx.op(
            Risk::Destructive,
            piece,
            "RESET MASTER/REPLICA deletes the binary logs that replication and point-in-time recovery need",
        ),
        "PURGE" => ctx.op(
            Risk::Destructive,
            piece,
            "PURGE BINARY LOGS deletes the logs that replication and point-in-time recovery need",
        ),
        "VACUUM" | "ANALYZE" | "REINDEX" | "CLUSTER" | "CHECKPOINT" | "OPTIMIZE" => ctx.op(
            Risk::Write,
            piece,
            format!("{first} is maintenance: it reorganises but keeps the data"),
        ),
        _ => ctx.op(
            Risk::Unknown,
            piece,
            format!("the SQL could not be parsed ({error}); Airlock refuses what it cannot read"),
        ),
    }
}

/// `ALTER SYSTEM SET name = value`, `ALTER DATABASE d SET name = value`: a server or database
/// setting; switching off durability or a safeguard is destructive.
fn alter_setting(piece: &str, ctx: &mut Ctx<'_>) {
    let lower = piece.to_ascii_lowercase();
    let set = lower.split_once(" set ").map_or("", |(_, r)| r);
    let (name, value) = set
        .split_once(['=', ' '])
        .map(|(n, v)| {
            (
                n.trim(),
                v.trim()
                    .trim_start_matches(['=', ' '])
                    .trim_start_matches("to ")
                    .trim()
                    .trim_matches(['\'', ';', ' ']),
            )
        })
        .unwrap_or((set, ""));
    let off = matches!(value, "off" | "false" | "0" | "no" | "minimal");
    let durability = [
        "fsync",
        "full_page_writes",
        "archive_mode",
        "wal_level",
        "synchronous_commit",
        "default_transaction_read_only",
        "row_security",
        "log_statement",
    ];
    if (off && durability.contains(&name)) || set_safeguard(&format!("SET {set}")) {
        ctx.op(
            Risk::Destructive,
            piece,
            format!("sets {name} = {value}: durability, archiving or a safeguard is switched off"),
        );
    } else {
        ctx.op(Risk::Write, piece, format!("changes the setting {name}"));
    }
}

fn set_safeguard(set: &str) -> bool {
    power::set_disables_safeguard(set).is_some()
}

/// SQLite's PRAGMA: reading one is a read; setting one changes the database's behaviour, and
/// switching off foreign keys or letting the schema be written removes a safeguard.
fn pragma(piece: &str, ctx: &mut Ctx<'_>) {
    let lower = piece.to_ascii_lowercase();
    let Some((name, value)) = lower.split_once('=') else {
        ctx.op(
            Risk::Read,
            piece,
            "PRAGMA without a value only reads a setting or the schema",
        );
        return;
    };
    let value = value.trim().trim_end_matches(';').trim();
    let off = matches!(value, "off" | "0" | "false" | "no");
    let weakens = if off {
        name.contains("foreign_keys") || name.contains("secure_delete")
    } else {
        name.contains("writable_schema")
    };
    if weakens {
        ctx.op(
            Risk::Destructive,
            piece,
            "the PRAGMA switches off a safeguard (foreign keys, read-only schema)",
        );
    } else {
        ctx.op(Risk::Write, piece, "the PRAGMA changes a database setting");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoWorld;

    fn risk(sql: &str) -> Risk {
        let mut ctx = Ctx::new(&NoWorld, None, None, &[]);
        classify_into(sql, &mut ctx);
        ctx.found.finish().risk
    }

    #[test]
    fn a_bad_statement_does_not_hide_a_drop() {
        assert_eq!(risk("SELEC 1; DROP TABLE users"), Risk::Destructive);
        assert_eq!(risk("DROP OWNED BY app_user"), Risk::Destructive);
        assert_eq!(risk("SELEC 1"), Risk::Unknown);
        assert_eq!(risk("SELECT 'unterminated"), Risk::Unknown);
    }

    #[test]
    fn sql_dialect_builtins_are_per_dialect() {
        let in_dialect = |sql: &str, d: SqlDialect| {
            let mut ctx = Ctx::new(&NoWorld, None, None, &[]);
            classify_dialect(sql, d, &mut ctx);
            ctx.found.finish().risk
        };
        assert_eq!(in_dialect("SELECT last_insert_id()", SqlDialect::MySql), Risk::Read);
        assert_eq!(
            in_dialect("SELECT last_insert_id()", SqlDialect::Postgres),
            Risk::Unknown
        );
        assert_eq!(in_dialect("SELECT datetime('now')", SqlDialect::Sqlite), Risk::Read);
        assert_eq!(in_dialect("SELECT now()", SqlDialect::Postgres), Risk::Read);
    }

    #[test]
    fn do_blocks_with_dynamic_sql() {
        assert_eq!(risk("DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$"), Risk::Destructive);
        assert_eq!(risk("DO $$ BEGIN EXECUTE q; END $$"), Risk::Unknown);
    }
}
