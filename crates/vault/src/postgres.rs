//! PostgreSQL tables, schemas and databases: the DDL needed to recreate them (columns, defaults,
//! identity and serial sequences with their current values, constraints, indexes) and their data as
//! binary `COPY … TO STDOUT`, read inside one `REPEATABLE READ READ ONLY` transaction so that the
//! snapshot is consistent. Restored under the same names (refusing to overwrite existing tables
//! unless forced), into the same or another database, in one transaction.

use std::io::{Read, Write};

use postgres::{Client, IsolationLevel, NoTls, Transaction};
use serde::{Deserialize, Serialize};

use crate::VaultError;

/// What to capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgScope {
    /// Tables as `schema.table` or `table` (in `public`).
    Tables(Vec<String>),
    Schema(String),
    /// Every table of every user schema.
    Database,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Column {
    pub name: String,
    pub ty: String,
    pub not_null: bool,
    pub default: Option<String>,
    /// `a` (always) or `d` (by default) for identity columns.
    pub identity: String,
    pub generated: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Sequence {
    pub name: String,
    pub column: String,
    pub identity: bool,
    pub last_value: i64,
    pub is_called: bool,
    pub definition: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Table {
    pub schema: String,
    pub name: String,
    pub columns: Vec<Column>,
    pub sequences: Vec<Sequence>,
    pub constraints: Vec<(String, String)>,
    pub indexes: Vec<String>,
    pub bytes: u64,
}

pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn pg(e: postgres::Error) -> VaultError {
    VaultError::Invalid(format!("PostgreSQL: {e}"))
}

pub(crate) fn connect(url: &str) -> Result<Client, VaultError> {
    Client::connect(url, NoTls).map_err(|e| VaultError::Invalid(format!("cannot connect to PostgreSQL: {e}")))
}

fn split_name(name: &str) -> (String, String) {
    match name.split_once('.') {
        Some((s, t)) => (s.to_owned(), t.to_owned()),
        None => ("public".to_owned(), name.to_owned()),
    }
}

fn table_oids(tx: &mut Transaction<'_>, scope: &PgScope) -> Result<Vec<(u32, String, String)>, VaultError> {
    let rows = tx
        .query(
            "SELECT c.oid, n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
             ORDER BY n.nspname, c.relname",
            &[],
        )
        .map_err(pg)?;
    let all: Vec<(u32, String, String)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    Ok(match scope {
        PgScope::Database => all,
        PgScope::Schema(s) => all.into_iter().filter(|(_, schema, _)| schema == s).collect(),
        PgScope::Tables(names) => {
            let mut out = Vec::new();
            for n in names {
                let (s, t) = split_name(n);
                match all.iter().find(|(_, schema, table)| *schema == s && *table == t) {
                    Some(x) => out.push(x.clone()),
                    None => {
                        return Err(VaultError::Invalid(format!(
                            "PostgreSQL has no table {s}.{t} to snapshot"
                        )))
                    }
                }
            }
            out
        }
    })
}

fn describe(tx: &mut Transaction<'_>, oid: u32, schema: String, name: String) -> Result<Table, VaultError> {
    let columns = tx
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&oid],
        )
        .map_err(pg)?
        .iter()
        .map(|r| {
            let generated: String = r.get(5);
            let default: Option<String> = r.get(3);
            Column {
                name: r.get(0),
                ty: r.get(1),
                not_null: r.get(2),
                generated: (generated == "s").then(|| default.clone().unwrap_or_default()),
                default: if generated == "s" { None } else { default },
                identity: r.get(4),
            }
        })
        .collect();
    let mut sequences = Vec::new();
    for r in tx
        .query(
            "SELECT s.oid::regclass::text, a.attname::text, d.deptype::text FROM pg_depend d
             JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.refobjid = $1 AND d.deptype IN ('a', 'i')",
            &[&oid],
        )
        .map_err(pg)?
    {
        let seq: String = r.get(0);
        let v = tx
            .query_one(&format!("SELECT last_value, is_called FROM {seq}"), &[])
            .map_err(pg)?;
        let def = tx
            .query_one(
                "SELECT format('INCREMENT %s MINVALUE %s MAXVALUE %s START %s CACHE %s %s', seqincrement, seqmin, seqmax, seqstart, seqcache, CASE WHEN seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END) FROM pg_sequence WHERE seqrelid = $1::text::regclass",
                &[&seq],
            )
            .map_err(pg)?;
        let deptype: String = r.get(2);
        sequences.push(Sequence {
            name: seq,
            column: r.get(1),
            identity: deptype == "i",
            last_value: v.get(0),
            is_called: v.get(1),
            definition: def.get(0),
        });
    }
    let constraints = tx
        .query("SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1 ORDER BY contype = 'f', conname", &[&oid])
        .map_err(pg)?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let indexes = tx
        .query(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = $1
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = $1)",
            &[&oid],
        )
        .map_err(pg)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Table {
        schema,
        name,
        columns,
        sequences,
        constraints,
        indexes,
        bytes: 0,
    })
}

fn copy_columns(t: &Table) -> String {
    t.columns
        .iter()
        .filter(|c| c.generated.is_none())
        .map(|c| quote(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads the tables' definitions and data in one consistent read-only transaction; `data` receives
/// each table's binary COPY stream in turn.
pub(crate) fn capture(
    url: &str,
    scope: &PgScope,
    data: &mut dyn FnMut(usize, &mut dyn Read) -> Result<u64, VaultError>,
) -> Result<Vec<Table>, VaultError> {
    let mut client = connect(url)?;
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg)?;
    // A session that holds an exclusive lock on a table (the agent's own open transaction, say)
    // would make the copy wait forever; waiting a while and then failing refuses the action instead.
    tx.batch_execute("SET LOCAL lock_timeout = '20s'").map_err(pg)?;
    let mut tables = Vec::new();
    for (oid, schema, name) in table_oids(&mut tx, scope)? {
        tables.push(describe(&mut tx, oid, schema, name)?);
    }
    for (i, t) in tables.iter_mut().enumerate() {
        let sql = format!(
            "COPY {}.{} ({}) TO STDOUT (FORMAT binary)",
            quote(&t.schema),
            quote(&t.name),
            copy_columns(t)
        );
        let mut reader = tx.copy_out(&sql).map_err(pg)?;
        t.bytes = data(i, &mut reader)?;
    }
    tx.commit().map_err(pg)?;
    Ok(tables)
}

/// Creates the database a URL names, through the server's `postgres` maintenance database.
fn create_database(url: &str) -> Result<(), VaultError> {
    let (base, rest) = url
        .rsplit_once('/')
        .ok_or_else(|| VaultError::Invalid("the database URL names no database".into()))?;
    let (db, query) = match rest.split_once('?') {
        Some((d, q)) => (d, format!("?{q}")),
        None => (rest, String::new()),
    };
    let db = db.replace("%20", " ");
    let mut admin = connect(&format!("{base}/postgres{query}"))?;
    admin
        .batch_execute(&format!("CREATE DATABASE {}", quote(&db)))
        .map_err(pg)
}

/// Where restored bytes go.
pub(crate) type Sink<'a> = dyn FnMut(&[u8]) -> Result<(), VaultError> + 'a;
/// Feeds table `i`'s COPY stream to a sink.
pub(crate) type TableData<'a> = dyn Fn(usize, &mut Sink<'_>) -> Result<(), VaultError> + 'a;

/// Recreates the tables in the database at `url` and loads their data, in one transaction; `data`
/// feeds table `i`'s COPY stream to the sink it is given.
pub(crate) fn restore(
    url: &str,
    tables: &[Table],
    force: bool,
    search_path: Option<&str>,
    data: &TableData<'_>,
) -> Result<(), VaultError> {
    let mut client = match Client::connect(url, NoTls) {
        Ok(c) => c,
        // The database itself was dropped (`DROP DATABASE`, `dropdb`): create it again first.
        Err(e)
            if e.code() == Some(&postgres::error::SqlState::UNDEFINED_DATABASE)
                || e.as_db_error()
                    .is_some_and(|d| d.code() == &postgres::error::SqlState::UNDEFINED_DATABASE) =>
        {
            create_database(url)?;
            connect(url)?
        }
        Err(e) => return Err(VaultError::Invalid(format!("cannot connect to PostgreSQL: {e}"))),
    };
    let mut tx = client.transaction().map_err(pg)?;
    if let Some(schema) = search_path {
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}; SET LOCAL search_path TO {}, public",
            quote(schema),
            quote(schema)
        ))
        .map_err(pg)?;
    }
    for t in tables {
        let qualified = format!("{}.{}", quote(&t.schema), quote(&t.name));
        let exists: bool = tx
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&qualified])
            .map_err(pg)?
            .get(0);
        if exists && !force {
            return Err(VaultError::WouldClobber(format!("table {}.{}", t.schema, t.name)));
        }
        tx.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}; DROP TABLE IF EXISTS {qualified} CASCADE;",
            quote(&t.schema)
        ))
        .map_err(pg)?;
        for s in t.sequences.iter().filter(|s| !s.identity) {
            tx.batch_execute(&format!(
                "DROP SEQUENCE IF EXISTS {name} CASCADE; CREATE SEQUENCE {name} {};",
                s.definition,
                name = s.name
            ))
            .map_err(pg)?;
        }
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let mut d = format!("{} {}", quote(&c.name), c.ty);
                if let Some(g) = &c.generated {
                    d.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
                } else if let Some(def) = &c.default {
                    d.push_str(&format!(" DEFAULT {def}"));
                }
                match c.identity.as_str() {
                    "a" => d.push_str(" GENERATED ALWAYS AS IDENTITY"),
                    "d" => d.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
                    _ => {}
                }
                if c.not_null {
                    d.push_str(" NOT NULL");
                }
                d
            })
            .collect();
        tx.batch_execute(&format!("CREATE TABLE {qualified} ({})", cols.join(", ")))
            .map_err(pg)?;
    }
    for (i, t) in tables.iter().enumerate() {
        let qualified = format!("{}.{}", quote(&t.schema), quote(&t.name));
        let mut w = tx
            .copy_in(&format!(
                "COPY {qualified} ({}) FROM STDIN (FORMAT binary)",
                copy_columns(t)
            ))
            .map_err(pg)?;
        // Chunks stream into COPY as they are authenticated; one that fails aborts the whole
        // transaction, so nothing of a damaged snapshot is ever committed.
        data(i, &mut |piece| {
            w.write_all(piece)
                .map_err(|e| VaultError::Invalid(format!("PostgreSQL COPY into {qualified}: {e}")))
        })?;
        w.finish().map_err(pg)?;
        for s in &t.sequences {
            let seq = if s.identity {
                format!(
                    "pg_get_serial_sequence('{}', '{}')",
                    qualified.replace('\'', "''"),
                    s.column.replace('\'', "''")
                )
            } else {
                format!("'{}'", s.name.replace('\'', "''"))
            };
            tx.query_one(&format!("SELECT setval({seq}, $1, $2)"), &[&s.last_value, &s.is_called])
                .map_err(pg)?;
            if !s.identity {
                tx.batch_execute(&format!(
                    "ALTER SEQUENCE {} OWNED BY {qualified}.{}",
                    s.name,
                    quote(&s.column)
                ))
                .map_err(pg)?;
            }
        }
    }
    // Constraints and indexes after the data (faster, and foreign keys may point between tables).
    for t in tables {
        let qualified = format!("{}.{}", quote(&t.schema), quote(&t.name));
        for (name, def) in &t.constraints {
            tx.batch_execute(&format!("ALTER TABLE {qualified} ADD CONSTRAINT {} {def}", quote(name)))
                .map_err(pg)?;
        }
        for idx in &t.indexes {
            tx.batch_execute(idx).map_err(pg)?;
        }
    }
    tx.commit().map_err(pg)
}

/// The same tables under another schema: names, serial sequences and the defaults and index
/// definitions that mention them are rewritten.
pub(crate) fn in_schema(tables: &[Table], schema: &str) -> Vec<Table> {
    tables
        .iter()
        .map(|t| {
            let mut t = t.clone();
            let old_prefix = format!("{}.", quote(&t.schema));
            let plain_prefix = format!("{}.", t.schema);
            for s in t.sequences.iter_mut().filter(|s| !s.identity) {
                let base = s
                    .name
                    .rsplit_once('.')
                    .map_or(s.name.as_str(), |(_, b)| b)
                    .trim_matches('"')
                    .replace("\"\"", "\"");
                let new = format!("{}.{}", quote(schema), quote(&base));
                for c in t.columns.iter_mut() {
                    if let Some(d) = &c.default {
                        c.default =
                            Some(d.replace(&format!("'{}'", s.name), &format!("'{}'", new.replace('\'', "''"))));
                    }
                }
                s.name = new;
            }
            t.indexes = t
                .indexes
                .iter()
                .map(|i| {
                    i.replacen(&format!(" ON {old_prefix}"), &format!(" ON {}.", quote(schema)), 1)
                        .replacen(&format!(" ON {plain_prefix}"), &format!(" ON {}.", quote(schema)), 1)
                })
                .collect();
            t.schema = schema.to_owned();
            t
        })
        .collect()
}
