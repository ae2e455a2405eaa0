//! Evidence for SQL: each name a held statement uses (see [`crate::names`]), resolved as the
//! client's session will resolve it — through the measuring connection, which has that session's
//! role and `search_path` — to a schema-qualified object and its OID. An approval is bound to
//! these; when it is spent they are resolved again, and a name that now means another object (the
//! `search_path` changed, the table was dropped and recreated) refuses it.
//!
//! What cannot be established is recorded as such ([`EvidenceItem::Unresolved`]), and an approval
//! never covers it: a temporary relation of the same name that may shadow a table (the gateway
//! cannot see which session's temporary schema is which), a name in `pg_temp`, a statement that
//! follows one that may change what names mean, a session that could not be asked.

use airlock_server::EvidenceItem;

use crate::measure::Measuring;
use crate::names::{named, quote, shown, Kind, Name};
use crate::probe::SessionView;

/// A table the statement names, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// `schema.table`, quoted where a reader needs it.
    pub shown: String,
    /// `"schema"."table"`, for SQL.
    pub sql: String,
    pub oid: u32,
}

/// What one statement's names mean in the session.
#[derive(Clone, Debug, Default)]
pub struct Resolution {
    pub items: Vec<EvidenceItem>,
    /// Tables (and partitioned tables), for the blast radius.
    pub tables: Vec<Table>,
    /// Schemas it names: (name, oid).
    pub schemas: Vec<(String, u32)>,
    /// Relation names that resolve to nothing.
    pub missing: Vec<String>,
}

/// The evidence item that stands for the session itself.
const SESSION: &str = "(session)";

impl Resolution {
    /// Nothing can be resolved, because `why`.
    pub fn unknowable(why: &str) -> Resolution {
        Resolution {
            items: vec![EvidenceItem::Unresolved {
                name: SESSION.into(),
                why: why.to_owned(),
            }],
            ..Resolution::default()
        }
    }

    pub fn unresolved(&self) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| matches!(i, EvidenceItem::Unresolved { .. }))
            .map(EvidenceItem::describe)
            .collect()
    }
}

fn relkind(k: &str) -> &'static str {
    match k {
        "r" => "table",
        "p" => "partitioned table",
        "v" => "view",
        "m" => "materialized view",
        "S" => "sequence",
        "f" => "foreign table",
        "i" | "I" => "index",
        "c" => "composite type",
        _ => "relation",
    }
}

/// Resolves every name `sql` uses under the session's view.
pub fn resolve(m: &mut Measuring, view: &SessionView, sql: &str) -> Resolution {
    let mut out = Resolution::default();
    // The session's reading itself is evidence: names this module does not extract (operators,
    // types, a statement it cannot parse) resolve the same only while it stays the same.
    out.items.push(EvidenceItem::Relation {
        name: SESSION.into(),
        resolved: format!("search_path {} as role {}", view.search_path, view.role),
        oid: 0,
        object: "session".into(),
    });
    let Some(named) = named(sql) else {
        return out;
    };
    if named.after_a_change {
        out.items.push(EvidenceItem::Unresolved {
            name: "(later statements)".into(),
            why: "they follow a statement in the same text that may change what names mean (a SET, a COMMIT or ROLLBACK, a DROP, …); send the statement on its own".into(),
        });
    }
    for name in &named.names {
        let item = match name.kind {
            Kind::Relation => relation(m, name, &mut out),
            Kind::Schema => schema(m, name, &mut out),
            Kind::Function => function(m, name),
            Kind::Call => call(m, name),
        };
        match item {
            Ok(Some(item)) => out.items.push(item),
            Ok(None) => {}
            Err(why) => out.items.push(EvidenceItem::Unresolved {
                name: name.display(),
                why,
            }),
        }
    }
    out
}

fn pg(e: postgres::Error) -> String {
    format!("the catalog could not be read: {e}")
}

fn is_temp_schema(s: &str) -> bool {
    s == "pg_temp" || s.strip_prefix("pg_temp_").is_some_and(|n| n.parse::<u32>().is_ok())
}

fn relation(m: &mut Measuring, name: &Name, out: &mut Resolution) -> Result<Option<EvidenceItem>, String> {
    if name.schema().is_some_and(is_temp_schema) {
        return Err("it is in a temporary schema, which only its own session can see into".into());
    }
    let c = m.client();
    if !name.qualified() {
        // The session searches its own temporary schema first; another connection cannot tell
        // which temporary schema is the session's, so any temporary relation of this name may
        // be the one it means.
        let shadow = c
            .query_opt(
                "SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.relname = $1 AND n.nspname ~ '^pg_temp_[0-9]+$' LIMIT 1",
                &[&name.object()],
            )
            .map_err(pg)?;
        if let Some(row) = shadow {
            let temp: String = row.get(0);
            return Err(format!(
                "a temporary relation of that name exists ({temp}), and the gateway cannot tell whether it is this session's, which would come first; write the name with its schema"
            ));
        }
    }
    let row = c
        .query_opt(
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relkind::text
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
            &[&name.lookup()],
        )
        .map_err(pg)?;
    let Some(row) = row else {
        // Nothing of that name: where it would be created is what the session decides.
        let schema = match name.schema() {
            Some(s) => s.to_owned(),
            None => c
                .query_one("SELECT coalesce(current_schema()::text, '')", &[])
                .map_err(pg)?
                .get(0),
        };
        out.missing.push(name.display());
        return Ok(Some(EvidenceItem::Relation {
            name: name.display(),
            resolved: format!("{schema}.{}", name.object()),
            oid: 0,
            object: "missing".into(),
        }));
    };
    let (oid, schema, table, kind): (u32, String, String, String) = (row.get(0), row.get(1), row.get(2), row.get(3));
    let kind = relkind(&kind);
    if kind == "table" || kind == "partitioned table" {
        out.tables.push(Table {
            shown: format!("{}.{}", shown(&schema), shown(&table)),
            sql: format!("{}.{}", quote(&schema), quote(&table)),
            oid,
        });
    }
    Ok(Some(EvidenceItem::Relation {
        name: name.display(),
        // As the vault names tables: schema, a dot, the table.
        resolved: format!("{schema}.{table}"),
        oid,
        object: kind.into(),
    }))
}

fn schema(m: &mut Measuring, name: &Name, out: &mut Resolution) -> Result<Option<EvidenceItem>, String> {
    if is_temp_schema(name.object()) {
        return Err("it is a temporary schema, which only its own session can see into".into());
    }
    let row = m
        .client()
        .query_opt(
            "SELECT oid, nspname::text FROM pg_namespace WHERE oid = to_regnamespace($1)",
            &[&name.lookup()],
        )
        .map_err(pg)?;
    Ok(Some(match row {
        Some(row) => {
            let (oid, schema): (u32, String) = (row.get(0), row.get(1));
            out.schemas.push((schema.clone(), oid));
            EvidenceItem::Relation {
                name: name.display(),
                resolved: schema,
                oid,
                object: "schema".into(),
            }
        }
        None => EvidenceItem::Relation {
            name: name.display(),
            resolved: name.object().to_owned(),
            oid: 0,
            object: "missing".into(),
        },
    }))
}

/// How a function is shown: schema, name and identity arguments.
const FUNCTION_TEXT: &str = "format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))";

/// A function a statement drops: its arguments pick exactly one.
fn function(m: &mut Measuring, name: &Name) -> Result<Option<EvidenceItem>, String> {
    let lookup = if name.args.is_some() {
        "to_regprocedure($1)"
    } else {
        "to_regproc($1)"
    };
    let row = m
        .client()
        .query_opt(
            &format!(
                "SELECT p.oid, {FUNCTION_TEXT} FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = {lookup}"
            ),
            &[&name.lookup()],
        )
        .map_err(pg)?;
    Ok(Some(match row {
        Some(row) => EvidenceItem::Relation {
            name: name.display(),
            resolved: row.get(1),
            oid: row.get(0),
            object: "function".into(),
        },
        // Missing, or (without arguments) not unique: either way the statement fails as it is.
        None => EvidenceItem::Relation {
            name: name.display(),
            resolved: name.display(),
            oid: 0,
            object: "missing".into(),
        },
    }))
}

/// A function a statement calls: every candidate the session would consider (its arguments pick
/// among them when it runs). Calls that only reach `pg_catalog` are left out — they stay in the
/// evidence's digest by their absence: should the same call later reach another schema, the
/// evidence changes.
fn call(m: &mut Measuring, name: &Name) -> Result<Option<EvidenceItem>, String> {
    let (filter, schema) = match name.schema() {
        Some(s) => ("n.nspname = $2", s.to_owned()),
        None => ("pg_function_is_visible(p.oid) AND $2 = ''", String::new()),
    };
    let row = m
        .client()
        .query_one(
            &format!(
                "SELECT coalesce(string_agg({FUNCTION_TEXT}, ', ' ORDER BY n.nspname, p.oid), ''), count(*)::int8,
                        coalesce(min(p.oid), 0::oid), coalesce(bool_and(n.nspname = 'pg_catalog'), true)
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1 AND {filter}"
            ),
            &[&name.object(), &schema],
        )
        .map_err(pg)?;
    let (candidates, count, oid, catalog): (String, i64, u32, bool) = (row.get(0), row.get(1), row.get(2), row.get(3));
    if count > 0 && catalog {
        return Ok(None);
    }
    Ok(Some(EvidenceItem::Relation {
        name: format!("{}()", name.display()),
        resolved: if count == 0 { name.display() } else { candidates },
        oid: if count == 1 { oid } else { 0 },
        object: if count == 0 { "missing" } else { "function" }.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_schemas_are_recognised() {
        assert!(is_temp_schema("pg_temp"));
        assert!(is_temp_schema("pg_temp_12"));
        assert!(!is_temp_schema("pg_temp_x"));
        assert!(!is_temp_schema("pg_toast_temp_3"));
        assert!(!is_temp_schema("public"));
    }

    #[test]
    fn an_unknowable_resolution_says_why() {
        let r = Resolution::unknowable("the transaction is aborted");
        assert_eq!(
            r.unresolved(),
            vec!["(session) cannot be resolved: the transaction is aborted".to_owned()]
        );
    }
}
