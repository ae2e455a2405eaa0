//! Decisions on statements: the quick path (policy allows outright: forward, and batch the audit
//! entry) runs inline; everything else goes through the control plane's `submit`, which holds,
//! refuses, or spends an approval and takes the snapshot first.

use std::sync::Arc;

use std::collections::HashMap;

use airlock_classify::{find_credentials, Assessment, Risk, TargetKind};
use airlock_policy::Outcome;
use airlock_server::{now, Airlock, Evaluation, SubmitRequest};
use airlock_store::TokenRecord;
use serde_json::{json, Value};

use crate::audit::{AuditBatcher, Entry};
use crate::shape::shape;

/// Shapes a session remembers before it starts over.
const MAX_SHAPES: usize = 1024;

/// Who is asking, on which resource.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: TokenRecord,
    pub resource: String,
    pub session: u64,
}

/// What to do with a statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it on. `once`: an approval let it through, so a prepared statement may run once only.
    Forward { once: bool },
    /// Send the refusal instead.
    Refuse {
        message: String,
        detail: String,
        hint: String,
    },
}

impl Verdict {
    fn refuse(message: String, detail: String, hint: &str) -> Verdict {
        Verdict::Refuse {
            message,
            detail,
            hint: hint.to_owned(),
        }
    }
}

pub struct Judge {
    airlock: Arc<Airlock>,
    audit: AuditBatcher,
}

const DONT_WORK_AROUND: &str =
    "Tell the user what you wanted to do and why. Do not try to reach the same result another way (another statement, tool or credential).";

impl Judge {
    pub fn new(airlock: Arc<Airlock>) -> Judge {
        Judge {
            audit: AuditBatcher::start(airlock.clone()),
            airlock,
        }
    }

    pub fn airlock(&self) -> &Airlock {
        &self.airlock
    }

    pub fn audit(&self) -> &AuditBatcher {
        &self.audit
    }

    fn request(caller: &Caller, sql: &str) -> SubmitRequest {
        SubmitRequest {
            kind: "sql".into(),
            input: sql.to_owned(),
            cwd: Some(format!("postgres:{}", caller.resource)),
            source: "pg-gateway".into(),
            resource: Some(caller.resource.clone()),
            ..SubmitRequest::default()
        }
    }

    /// The verdict when policy allows the statement outright (no I/O but a queued audit entry);
    /// None when it needs [`decide`](Self::decide). `shapes` are the session's allowed statement
    /// shapes and their risk (see [`crate::shape`]).
    pub fn quick(&self, caller: &Caller, sql: &str, shapes: &mut HashMap<String, Risk>) -> Option<Verdict> {
        if self.audit.is_broken() {
            return Some(Verdict::refuse(
                "Airlock cannot write its audit log, so it lets nothing through".into(),
                String::new(),
                "Ask an operator to check the Airlock state file (disk full? permissions?).",
            ));
        }
        let shape = self.airlock.policy_ignores_text().then(|| shape(sql)).flatten();
        if let Some(risk) = shape.as_ref().and_then(|s| shapes.get(s)) {
            if find_credentials(sql, None).is_empty() {
                self.allowed(caller, sql, *risk);
                return Some(Verdict::Forward { once: false });
            }
        }
        let ev = self
            .airlock
            .evaluate(&caller.token, &Self::request(caller, sql), None)
            .ok()?;
        if ev.decision.outcome != Outcome::Allow {
            return None;
        }
        self.allowed(caller, sql, ev.assessment.risk);
        if let Some(s) = shape {
            // The shape is remembered only if, with every literal an unknown parameter, it is
            // judged the same: then no literal value can change the judgement (the classifier
            // calls a WHERE that turns on a parameter unknown, never a read or a write).
            let same = self
                .airlock
                .evaluate(&caller.token, &Self::request(caller, &s), None)
                .is_ok_and(|e| e.assessment.risk == ev.assessment.risk && e.decision.outcome == Outcome::Allow);
            if same && ev.credentials.is_empty() {
                if shapes.len() >= MAX_SHAPES {
                    shapes.clear();
                }
                shapes.insert(s, ev.assessment.risk);
            }
        }
        Some(Verdict::Forward { once: false })
    }

    /// Records an EXECUTE of a statement judged when it was prepared.
    pub fn executed(&self, caller: &Caller, sql: &str) {
        self.audit.push(Entry::Executed {
            at: now(),
            session: caller.session,
            sql: sql.to_owned(),
        });
    }

    fn allowed(&self, caller: &Caller, sql: &str, risk: Risk) {
        self.audit.push(Entry::Allowed {
            at: now(),
            session: caller.session,
            sql: sql.to_owned(),
            risk,
        });
    }

    /// The full decision: blocking (the state file, the database's catalog, perhaps a snapshot).
    pub fn decide(&self, caller: &Caller, sql: &str) -> Verdict {
        let measure = |ev: &Evaluation| Some(self.blast_radius(caller, sql, &ev.assessment));
        let answer = match self.airlock.submit_with(
            &caller.token,
            Self::request(caller, sql),
            &airlock_server::Probe {
                blast_radius: &measure,
                evidence: &|_| Vec::new(),
            },
        ) {
            Ok(a) => a,
            Err(e) => {
                return Verdict::refuse(
                    format!("Airlock could not record a decision on this statement, so it did not run: {e}"),
                    String::new(),
                    DONT_WORK_AROUND,
                )
            }
        };
        match answer.decision.as_str() {
            "allow" => Verdict::Forward { once: true },
            "ask" => Verdict::refuse(
                format!(
                    "Airlock held this statement for approval (id {}): it is {} in {}",
                    answer.id,
                    answer.risk,
                    answer.environments.join(", ")
                ),
                answer.reasons.join("; "),
                &format!(
                    "A human must run `airlock approve {}`{}. Then send exactly the same statement again on this database and it runs once. Do not look for another way to do this.",
                    answer.id,
                    if answer.approvals_needed > 1 {
                        format!(" ({} different people)", answer.approvals_needed)
                    } else {
                        String::new()
                    }
                ),
            ),
            _ => Verdict::refuse(
                format!(
                    "Airlock refused this statement: {}",
                    answer.reasons.last().cloned().unwrap_or_default()
                ),
                answer.reasons.join("; "),
                DONT_WORK_AROUND,
            ),
        }
    }

    /// What a held statement would touch, from the database's catalog and planner. Never runs the
    /// statement: EXPLAIN without ANALYZE, in a read-only transaction, over the extended protocol
    /// (which refuses a second statement smuggled into the text).
    fn blast_radius(&self, caller: &Caller, sql: &str, assessment: &Assessment) -> Value {
        match self.measure(caller, sql, assessment) {
            Ok(v) => v,
            Err(e) => json!({ "error": format!("could not measure: {e}") }),
        }
    }

    fn measure(&self, caller: &Caller, sql: &str, assessment: &Assessment) -> Result<Value, String> {
        let config = &self.airlock.config;
        let resource = config
            .resources
            .iter()
            .find(|r| r.name == caller.resource)
            .ok_or("the resource is gone from the config")?;
        let url = resource.connection_url(config)?;
        let mut pg_config: postgres::Config = url
            .parse()
            .map_err(|_| "the resource's url does not parse".to_owned())?;
        pg_config.connect_timeout(std::time::Duration::from_secs(5));
        let mut client = pg_config
            .connect(postgres::NoTls)
            .map_err(|e| format!("cannot connect: {e}"))?;
        let pg = |e: postgres::Error| e.to_string();
        client
            .batch_execute("SET statement_timeout = '5s'; SET lock_timeout = '2s'")
            .map_err(pg)?;
        let mut tables = Vec::new();
        for t in assessment.targets.iter().filter(|t| t.kind == TargetKind::Table) {
            let row = client
                .query_opt(
                    "SELECT c.oid::regclass::text, c.reltuples::float8, pg_total_relation_size(c.oid)::int8
                     FROM pg_class c WHERE c.oid = to_regclass($1)",
                    &[&t.value],
                )
                .map_err(pg)?;
            let Some(row) = row else {
                tables.push(json!({ "name": t.value, "exists": false }));
                continue;
            };
            let (name, estimate, bytes): (String, f64, i64) = (row.get(0), row.get(1), row.get(2));
            // reltuples is -1 until the table was first vacuumed or analyzed: count small ones.
            let (rows, how) = if estimate >= 0.0 {
                (estimate as i64, "catalog estimate")
            } else if bytes < 64 << 20 {
                let n: i64 = client
                    // regclass text is already quoted where it must be.
                    .query_one(&format!("SELECT count(*) FROM {name}"), &[])
                    .map_err(pg)?
                    .get(0);
                (n, "counted")
            } else {
                (-1, "unknown (never analyzed)")
            };
            tables.push(json!({ "name": name, "rows": rows, "rows_from": how, "bytes": bytes }));
        }
        for s in assessment.targets.iter().filter(|t| t.kind == TargetKind::Schema) {
            let row = client
                .query_one(
                    "SELECT count(*)::int8, coalesce(sum(greatest(c.reltuples, 0)), 0)::int8, coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8
                     FROM pg_class c WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p')",
                    &[&s.value],
                )
                .map_err(pg)?;
            tables.push(json!({ "schema": s.value, "tables": row.get::<_, i64>(0), "rows": row.get::<_, i64>(1), "rows_from": "catalog estimate", "bytes": row.get::<_, i64>(2) }));
        }
        for d in assessment.targets.iter().filter(|t| t.kind == TargetKind::Database) {
            let bytes: Option<i64> = client
                .query_one(
                    "SELECT pg_database_size(datname) FROM pg_database WHERE datname = $1",
                    &[&d.value],
                )
                .ok()
                .map(|r| r.get(0));
            tables.push(json!({ "database": d.value, "bytes": bytes }));
        }
        let mut out = json!({ "tables": tables });
        if is_filtered_dml(sql) {
            out["planner_rows"] = match planner_rows(&mut client, sql) {
                Ok(n) => json!(n),
                Err(e) => json!(format!("no estimate: {e}")),
            };
        }
        Ok(out)
    }
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

fn planner_rows(client: &mut postgres::Client, sql: &str) -> Result<f64, String> {
    let mut tx = client
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(|e| e.to_string())?;
    let row = tx
        .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), &[])
        .map_err(|e| e.to_string())?;
    let text: RawText = row.get(0);
    let _ = tx.rollback();
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
