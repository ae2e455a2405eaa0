//! What a held statement would touch, for the approver: the tables it names — exactly the
//! relations its evidence resolved, by OID, shown schema-qualified — with their row counts and
//! sizes, the schemas and databases it names with their sizes, and for a DELETE or UPDATE with a
//! WHERE the planner's row estimate. Read from the catalog and the planner through the measuring
//! connection; the statement itself never runs (EXPLAIN without ANALYZE, over the extended
//! protocol, which refuses a second statement smuggled into the text).

use airlock_classify::{Assessment, TargetKind};
use serde_json::{json, Value};

use crate::measure::Measuring;
use crate::resolve::Resolution;

/// Tables never vacuumed or analyzed and smaller than this are counted row by row.
const COUNT_BELOW: i64 = 64 << 20;

pub fn blast_radius(m: &mut Measuring, sql: &str, assessment: &Assessment, resolution: &Resolution) -> Value {
    match measure(m, sql, assessment, resolution) {
        Ok(v) => v,
        Err(e) => json!({ "error": format!("could not measure: {e}") }),
    }
}

fn measure(m: &mut Measuring, sql: &str, assessment: &Assessment, resolution: &Resolution) -> Result<Value, String> {
    let c = m.client();
    let pg = |e: postgres::Error| e.to_string();
    let mut tables = Vec::new();
    for t in &resolution.tables {
        let row = c
            .query_one(
                "SELECT c.reltuples::float8, pg_total_relation_size(c.oid)::int8 FROM pg_class c WHERE c.oid = $1",
                &[&t.oid],
            )
            .map_err(pg)?;
        let (estimate, bytes): (f64, i64) = (row.get(0), row.get(1));
        // reltuples is -1 until the table was first vacuumed or analyzed: count small ones.
        let (rows, how) = if estimate >= 0.0 {
            (estimate as i64, "catalog estimate")
        } else if bytes < COUNT_BELOW {
            let n: i64 = c
                .query_one(&format!("SELECT count(*) FROM {}", t.sql), &[])
                .map_err(pg)?
                .get(0);
            (n, "counted")
        } else {
            (-1, "unknown (never analyzed)")
        };
        tables.push(json!({ "name": t.shown, "oid": t.oid, "rows": rows, "rows_from": how, "bytes": bytes }));
    }
    for name in &resolution.missing {
        tables.push(json!({ "name": name, "exists": false }));
    }
    for (schema, oid) in &resolution.schemas {
        let row = c
            .query_one(
                "SELECT count(*)::int8, coalesce(sum(greatest(c.reltuples, 0)), 0)::int8, coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8
                 FROM pg_class c WHERE c.relnamespace = $1 AND c.relkind IN ('r', 'p')",
                &[oid],
            )
            .map_err(pg)?;
        tables.push(json!({ "schema": schema, "tables": row.get::<_, i64>(0), "rows": row.get::<_, i64>(1), "rows_from": "catalog estimate", "bytes": row.get::<_, i64>(2) }));
    }
    for d in assessment.targets.iter().filter(|t| t.kind == TargetKind::Database) {
        let bytes: Option<i64> = c
            .query_one(
                "SELECT pg_database_size(datname) FROM pg_database WHERE datname = $1",
                &[&d.value],
            )
            .ok()
            .map(|r| r.get(0));
        tables.push(json!({ "database": d.value, "bytes": bytes }));
    }
    let mut out = json!({ "tables": tables });
    let unresolved = resolution.unresolved();
    if !unresolved.is_empty() {
        out["error"] = json!(unresolved.join("; "));
    }
    if is_filtered_dml(sql) {
        out["planner_rows"] = match planner_rows(c, sql) {
            Ok(n) => json!(n),
            Err(e) => json!(format!("no estimate: {e}")),
        };
    }
    Ok(out)
}

/// A single DELETE or UPDATE with a WHERE clause: the planner can estimate how many rows it hits.
fn is_filtered_dml(sql: &str) -> bool {
    use sqlparser::ast::Statement;
    let Ok(statements) = sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::PostgreSqlDialect {}, sql) else {
        return false;
    };
    matches!(statements.as_slice(), [Statement::Delete(d)] if d.selection.is_some())
        || matches!(statements.as_slice(), [Statement::Update(u)] if u.selection.is_some())
}

/// EXPLAIN's JSON, read as text whatever its declared type.
struct RawText(String);

impl<'a> postgres::types::FromSql<'a> for RawText {
    fn from_sql(_: &postgres::types::Type, raw: &'a [u8]) -> Result<RawText, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawText(String::from_utf8(raw.to_vec())?))
    }
    fn accepts(_: &postgres::types::Type) -> bool {
        true
    }
}

/// The planner's estimate, inside a savepoint: a statement that does not plan (a missing column)
/// must not abort the measuring transaction.
fn planner_rows(c: &mut postgres::Client, sql: &str) -> Result<f64, String> {
    c.batch_execute("SAVEPOINT airlock_explain")
        .map_err(|e| e.to_string())?;
    let plan = c.query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), &[]);
    let _ = c.batch_execute("ROLLBACK TO SAVEPOINT airlock_explain");
    let text: RawText = plan.map_err(|e| e.to_string())?.get(0);
    let plan: Value = serde_json::from_str(&text.0).map_err(|e| e.to_string())?;
    let top = &plan[0]["Plan"];
    // DELETE and UPDATE plan as ModifyTable over the scan that finds the rows.
    let scan = if top["Node Type"] == "ModifyTable" {
        &top["Plans"][0]
    } else {
        top
    };
    scan["Plan Rows"]
        .as_f64()
        .ok_or_else(|| "the plan has no row estimate".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_filtered_deletes_and_updates_are_explained() {
        assert!(is_filtered_dml("DELETE FROM t WHERE id < 10"));
        assert!(is_filtered_dml("UPDATE t SET a = 1 WHERE b"));
        assert!(!is_filtered_dml("DELETE FROM t"));
        assert!(!is_filtered_dml("DELETE FROM t WHERE id < 10; DROP TABLE u"));
        assert!(!is_filtered_dml("DROP TABLE t"));
    }
}
