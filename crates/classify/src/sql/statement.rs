//! One parsed statement: its risk, its targets, and every statement nested inside it.

use std::ops::ControlFlow;

use sqlparser::ast::{
    visit_statements, AlterTableOperation, CopySource, CopyTarget, Expr, FromTable, ObjectName, ObjectType, SetExpr,
    Statement, TableFactor, TableObject, Visit, Visitor,
};

use super::names::{factor, last_part, object, tables_of};
use super::power::{
    alter_table_harm, grant_power, policy_allows_all, role_membership, role_power, set_disables_safeguard,
};
use super::tautology::{truth, Truth};
use super::unbounded::keeps_every_row;
use crate::ctx::Ctx;
use crate::{Risk, TargetKind};

pub(super) fn classify(st: &Statement, ctx: &mut Ctx<'_>) {
    let text = st.to_string();
    // EXPLAIN without ANALYZE only plans: nothing inside it runs.
    let explain_only = match st {
        Statement::Explain { analyze, options, .. } => {
            let analyze_option = options.iter().flatten().any(|o| {
                o.name.value.eq_ignore_ascii_case("analyze")
                    && !o
                        .arg
                        .as_ref()
                        .is_some_and(|a| matches!(a.to_string().to_ascii_lowercase().as_str(), "false" | "off" | "0"))
            });
            !analyze && !analyze_option
        }
        Statement::ExplainTable { .. } => true,
        _ => false,
    };
    if explain_only {
        ctx.op(Risk::Read, &text, "EXPLAIN only shows a plan");
        return;
    }
    // Names defined by WITH, so that `DELETE … USING cte` is not read as a join with a table.
    ctx.sql_ctes = ctes(st);
    let _ = visit_statements(st, |inner| {
        // The statement itself is already rendered; nested ones are rendered on their own.
        let rendered = std::ptr::eq(inner, st).then_some(text.as_str());
        one(inner, rendered, ctx);
        ControlFlow::<()>::Continue(())
    });
    functions(st, &text, ctx);
}

struct Ctes(Vec<String>);

impl Visitor for Ctes {
    type Break = ();

    fn pre_visit_query(&mut self, q: &sqlparser::ast::Query) -> ControlFlow<()> {
        for cte in q.with.iter().flat_map(|w| &w.cte_tables) {
            self.0.push(cte.alias.name.value.to_lowercase());
        }
        ControlFlow::Continue(())
    }
}

fn ctes(st: &Statement) -> Vec<String> {
    let mut c = Ctes(Vec::new());
    let _ = st.visit(&mut c);
    c.0
}

/// Every function a statement calls, in expressions and as table functions in FROM
/// (`SELECT * FROM dblink(…)`).
struct Calls(Vec<ObjectName>);

impl Visitor for Calls {
    type Break = ();

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            self.0.push(f.name.clone());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        match t {
            TableFactor::Table {
                name, args: Some(_), ..
            } => self.0.push(name.clone()),
            TableFactor::Function { name, .. } => self.0.push(name.clone()),
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn functions(st: &Statement, text: &str, ctx: &mut Ctx<'_>) {
    let Some(packs) = ctx.packs(text) else {
        return;
    };
    let mut calls = Calls(Vec::new());
    let _ = st.visit(&mut calls);
    for f in calls.0 {
        let (name, schema) = last_part(&f);
        let builtin = schema.as_deref().is_none_or(|s| s == "pg_catalog");
        // Extension functions are listed by their qualified name (`cron.unschedule`).
        let qualified = object(&f);
        let dialect = ctx.sql_dialect;
        let in_dialect = |k: &&crate::packs::Keyword| k.dialects.is_empty() || k.dialects.iter().any(|d| d == dialect);
        let known = packs
            .sql_functions
            .get(&name)
            .filter(|_| builtin)
            .filter(in_dialect)
            .or_else(|| packs.sql_functions.get(&qualified).filter(|_| schema.is_some()));
        // pg_cron: the scheduled SQL is judged now; it will run again and again.
        if qualified == "cron.schedule" || qualified == "cron.schedule_in_database" {
            if let Some(sql) = last_quoted(text) {
                let before = ctx.found.risk();
                if ctx.enter("scheduled SQL") {
                    super::classify_into(&sql, ctx);
                    ctx.leave();
                }
                if ctx.found.risk() == Some(Risk::Destructive) && before != Some(Risk::Destructive) {
                    ctx.op(Risk::Destructive, text, "schedules destructive SQL to run repeatedly");
                    continue;
                }
            }
        }
        match known {
            Some(k) => ctx.op(k.risk, text, format!("{name}(): {}", k.reason)),
            None => ctx.op(
                Risk::Unknown,
                text,
                format!(
                    "calls {}(), which is not a built-in function Airlock knows; a user-defined function can do anything",
                    object(&f)
                ),
            ),
        }
    }
}

/// The last `$$…$$` or `'…'` literal of a statement's text (a scheduled job's command).
fn last_quoted(text: &str) -> Option<String> {
    if let Some(end) = text.rfind("$$") {
        let start = text[..end].rfind("$$")?;
        return Some(text[start + 2..end].to_owned());
    }
    let end = text.rfind('\'')?;
    let start = text[..end].rfind('\'')?;
    Some(text[start + 1..end].to_owned())
}

fn table(ctx: &mut Ctx<'_>, name: String) {
    ctx.target(TargetKind::Table, name);
}

/// Tables that are the database's own catalog: writing them corrupts the schema itself.
fn is_catalog(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("pg_catalog.")
        || n.starts_with("pg_")
        || n.starts_with("information_schema.")
        || n.starts_with("mysql.")
        || n.starts_with("sqlite_")
}

fn catalog_write(names: &[String], text: &str, ctx: &mut Ctx<'_>) {
    if let Some(n) = names.iter().find(|n| is_catalog(n)) {
        ctx.op(
            Risk::Destructive,
            text,
            format!("writes the system catalog {n}: the database's own definition of its schema"),
        );
    }
}

fn where_clause(kind: &str, selection: Option<&Expr>, tables: &[String], text: &str, ctx: &mut Ctx<'_>) {
    let list = tables.join(", ");
    if let Some(why) = selection.and_then(|e| keeps_every_row(e, tables)) {
        ctx.op(
            Risk::Destructive,
            text,
            format!("{kind} whose WHERE keeps every row ({why}) affects all of {list}"),
        );
        return;
    }
    match selection.map(truth) {
        None => ctx.op(
            Risk::Destructive,
            text,
            format!("{kind} without WHERE affects every row of {list}"),
        ),
        Some(Truth::Always) => ctx.op(
            Risk::Destructive,
            text,
            format!("{kind} with an always-true WHERE affects every row of {list}"),
        ),
        Some(Truth::Never) => ctx.op(
            Risk::Read,
            text,
            format!("{kind} whose WHERE is never true changes nothing"),
        ),
        Some(Truth::Depends) => ctx.op(
            Risk::Write,
            text,
            format!("{kind} restricted by its WHERE clause on {list}"),
        ),
        Some(Truth::Unbound) => ctx.op(
            Risk::Unknown,
            text,
            format!(
                "{kind} whose WHERE turns on a parameter's value ($1 = $2, LIKE $1, …): bound one way it affects every row of {list}, and that is not known until it runs"
            ),
        ),
    }
}

fn replication_logs(text: &str) -> bool {
    let t = text.to_ascii_uppercase();
    ["MASTER", "REPLICA", "SLAVE", "BINARY"].iter().any(|w| t.contains(w))
}

/// Whether a WHERE clause only joins columns of different tables (`a.x = b.y AND …`).
fn only_joins(e: &Expr) -> bool {
    match e {
        Expr::Nested(inner) => only_joins(inner),
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::And,
            right,
        } => only_joins(left) && only_joins(right),
        Expr::BinaryOp {
            left,
            op: sqlparser::ast::BinaryOperator::Eq,
            right,
        } => matches!(
            (left.as_ref(), right.as_ref()),
            (Expr::CompoundIdentifier(_), Expr::CompoundIdentifier(_))
        ),
        _ => false,
    }
}

/// SET of a setting that changes the session's identity or switches off a safeguard: triggers and
/// foreign keys (`session_replication_role = replica`), read-only mode, row-level security.
fn weakens_the_session(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    let t = t.trim_start_matches("set").trim_start();
    let scoped = t
        .strip_prefix("session ")
        .or_else(|| t.strip_prefix("local "))
        .unwrap_or(t);
    const NAMES: [&str; 9] = [
        "role",
        "session authorization",
        "session_authorization",
        "session_replication_role",
        "default_transaction_read_only",
        "transaction_read_only",
        "row_security",
        "transaction read write",
        "session characteristics",
    ];
    NAMES.iter().any(|name| t.starts_with(name) || scoped.starts_with(name))
}

/// Judges one statement, without descending (the caller visits nested statements).
fn one(st: &Statement, rendered: Option<&str>, ctx: &mut Ctx<'_>) {
    let owned;
    let text = match rendered {
        Some(text) => text,
        None => {
            owned = st.to_string();
            owned.as_str()
        }
    };
    match st {
        Statement::Query(q) => {
            let mut into = false;
            if let SetExpr::Select(s) = q.body.as_ref() {
                if let Some(i) = &s.into {
                    for t in &i.targets {
                        ctx.target(TargetKind::Table, t.to_string().to_lowercase());
                    }
                    into = true;
                }
                for t in tables_of(&s.from) {
                    table(ctx, t);
                }
            }
            if into {
                ctx.op(Risk::Write, text, "SELECT … INTO creates a table");
            } else {
                ctx.op(Risk::Read, text, "a query only reads");
            }
        }
        Statement::Insert(i) => {
            if let TableObject::TableName(n) = &i.table {
                table(ctx, object(n));
            }
            if i.overwrite {
                ctx.op(Risk::Destructive, text, "INSERT OVERWRITE replaces the table's content");
            } else {
                ctx.op(Risk::Write, text, "INSERT adds rows");
            }
        }
        Statement::Update(u) => {
            let mut names = Vec::new();
            factor(&u.table.relation, &mut names);
            for n in &names {
                table(ctx, n.clone());
            }
            catalog_write(&names, text, ctx);
            where_clause("UPDATE", u.selection.as_ref(), &names, text, ctx);
        }
        Statement::Delete(d) => {
            let mut names: Vec<String> = d.tables.iter().map(object).collect();
            if names.is_empty() {
                names = match &d.from {
                    FromTable::WithFromKeyword(l) | FromTable::WithoutKeyword(l) => tables_of(l),
                };
            }
            for n in &names {
                table(ctx, n.clone());
            }
            catalog_write(&names, text, ctx);
            let using_ctes = d
                .using
                .iter()
                .flatten()
                .all(|t| tables_of(std::slice::from_ref(t)).iter().all(|n| ctx.sql_ctes.contains(n)));
            if d.using.is_some() && !using_ctes && d.selection.as_ref().is_some_and(only_joins) {
                ctx.op(
                    Risk::Destructive,
                    text,
                    format!("DELETE … USING whose WHERE only joins the tables deletes every row of {} that has a match", names.join(", ")),
                );
                return;
            }
            where_clause("DELETE", d.selection.as_ref(), &names, text, ctx);
        }
        Statement::Truncate(t) => {
            let names: Vec<String> = t.table_names.iter().map(|n| object(&n.name)).collect();
            for n in &names {
                table(ctx, n.clone());
            }
            ctx.op(
                Risk::Destructive,
                text,
                format!("TRUNCATE empties {}", names.join(", ")),
            );
        }
        Statement::Drop { object_type, names, .. } => {
            let kind = match object_type {
                ObjectType::Table | ObjectType::View | ObjectType::MaterializedView | ObjectType::ForeignTable => {
                    TargetKind::Table
                }
                ObjectType::Schema => TargetKind::Schema,
                ObjectType::Database => TargetKind::Database,
                _ => TargetKind::Resource,
            };
            let names: Vec<String> = names.iter().map(object).collect();
            for n in &names {
                ctx.target(kind, n.clone());
            }
            ctx.op(
                Risk::Destructive,
                text,
                format!("DROP {object_type} removes {}", names.join(", ")),
            );
        }
        Statement::DropFunction(_)
        | Statement::DropProcedure { .. }
        | Statement::DropTrigger(_)
        | Statement::DropPolicy(_)
        | Statement::DropExtension(_)
        | Statement::DropDomain(_)
        | Statement::DropOperator(_)
        | Statement::DropOperatorFamily(_)
        | Statement::DropOperatorClass(_)
        | Statement::DropSecret { .. }
        | Statement::DropConnector { .. }
        | Statement::DropRule(_) => ctx.op(Risk::Destructive, text, "DROP removes a database object"),
        Statement::AlterTable(a) => {
            table(ctx, object(&a.name));
            let mut destructive = false;
            for op in &a.operations {
                if matches!(
                    op,
                    AlterTableOperation::DropColumn { .. }
                        | AlterTableOperation::DropConstraint { .. }
                        | AlterTableOperation::DropPrimaryKey { .. }
                        | AlterTableOperation::DropForeignKey { .. }
                        | AlterTableOperation::DropIndex { .. }
                        | AlterTableOperation::DropPartitions { .. }
                        | AlterTableOperation::DropProjection { .. }
                        | AlterTableOperation::DropClusteringKey
                ) {
                    destructive = true;
                }
            }
            if let Some(why) = a.operations.iter().find_map(alter_table_harm) {
                ctx.op(Risk::Destructive, text, why);
            } else if destructive {
                ctx.op(
                    Risk::Destructive,
                    text,
                    "ALTER TABLE … DROP removes a column, constraint or index and what it held",
                );
            } else {
                ctx.op(Risk::Write, text, "ALTER TABLE changes a table's definition");
            }
        }
        Statement::Copy { source, to, target, .. } => {
            if let CopySource::Table { table_name, .. } = source {
                table(ctx, object(table_name));
            }
            match (to, target) {
                (_, CopyTarget::Program { command }) => {
                    // The program runs as the database server's OS user: judged as a shell
                    // command, and never less than unknown.
                    let before = ctx.found.risk();
                    crate::shell::classify_nested(command, "COPY … PROGRAM", ctx);
                    if ctx.found.risk() != Some(Risk::Destructive) || before == Some(Risk::Destructive) {
                        ctx.op(Risk::Unknown, text, "COPY … PROGRAM runs a shell command on the database server");
                    }
                }
                (true, CopyTarget::Stdout) => ctx.op(Risk::Read, text, "COPY … TO STDOUT exports rows"),
                (false, CopyTarget::Stdin) => ctx.op(Risk::Write, text, "COPY … FROM STDIN loads rows into a table"),
                (true, _) => ctx.op(
                    Risk::Destructive,
                    text,
                    "COPY … TO a file writes (or overwrites) a file on the database server with the server's rights",
                ),
                (false, _) => ctx.op(
                    Risk::Destructive,
                    text,
                    "COPY … FROM a file reads any file the database server can read (keys, passwords)",
                ),
            }
        }
        Statement::Execute { .. } => ctx.op(
            Risk::Unknown,
            text,
            "EXECUTE runs a prepared or dynamic statement whose text is not visible here",
        ),
        Statement::Call(_) => ctx.op(
            Risk::Unknown,
            text,
            "CALL runs a stored procedure, which can do anything",
        ),
        Statement::Explain { .. } => ctx.op(Risk::Read, text, "EXPLAIN ANALYZE runs the statement it explains"),
        Statement::Kill { .. } => ctx.op(
            Risk::Destructive,
            text,
            "KILL ends another session or its query: its work is lost",
        ),
        Statement::Prepare { .. } => ctx.op(Risk::Read, text, "PREPARE stores a statement for later"),
        Statement::Merge(m) => {
            let mut names = Vec::new();
            factor(&m.table, &mut names);
            for n in names {
                table(ctx, n);
            }
            ctx.op(Risk::Write, text, "MERGE changes the rows its ON clause matches");
        }
        Statement::CreateTable(c) => {
            table(ctx, object(&c.name));
            if c.or_replace {
                ctx.op(
                    Risk::Destructive,
                    text,
                    "CREATE OR REPLACE TABLE discards the existing table",
                );
            } else {
                ctx.op(Risk::Write, text, "creates a table");
            }
        }
        Statement::CreateDatabase { db_name, .. } => {
            ctx.target(TargetKind::Database, object(db_name));
            ctx.op(Risk::Write, text, "creates a database");
        }
        Statement::CreateSchema { schema_name, .. } => {
            ctx.target(TargetKind::Schema, schema_name.to_string().to_lowercase());
            ctx.op(Risk::Write, text, "creates a schema");
        }
        Statement::CreateRole(_) | Statement::CreateUser(_) | Statement::AlterRole { .. } | Statement::AlterUser(_)
            if role_power(text).is_some() =>
        {
            ctx.op(Risk::Destructive, text, role_power(text).unwrap_or_default());
        }
        Statement::Grant(g) if grant_power(g).is_some() => {
            ctx.op(Risk::Destructive, text, grant_power(g).unwrap_or_default());
        }
        Statement::GrantRole(_) if role_membership(text).is_some() => {
            ctx.op(Risk::Destructive, text, role_membership(text).unwrap_or_default());
        }
        Statement::CreateExtension(_)
        | Statement::CreateServer(_)
        | Statement::CreateForeignTable(_)
        | Statement::CreateForeignDataWrapper(_)
        | Statement::CreateUserMapping(_) => ctx.op(
            Risk::Destructive,
            text,
            "loads code into the server or connects it to another server: it reaches beyond this database",
        ),
        Statement::CreateFunction(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateTrigger(_)
        | Statement::CreateRule(_) => ctx.op(
            Risk::Unknown,
            text,
            "defines code that runs later (a function, trigger or rule): what it will do is not known when it is defined",
        ),
        Statement::CreatePolicy(_) | Statement::AlterPolicy(_) if policy_allows_all(text) => ctx.op(
            Risk::Destructive,
            text,
            "a row-security policy that is always true lets every row through: row-level security is off in effect",
        ),
        Statement::Reset(_) if replication_logs(text) => ctx.op(
            Risk::Destructive,
            text,
            "RESET MASTER/REPLICA deletes the binary logs that replication and point-in-time recovery need",
        ),
        Statement::Set(_) if set_disables_safeguard(text).is_some() => {
            ctx.op(Risk::Destructive, text, set_disables_safeguard(text).unwrap_or_default());
        }
        Statement::CreateView(_)
        | Statement::CreateIndex(_)
        | Statement::CreateRole(_)
        | Statement::CreateUser(_)
        | Statement::CreateSequence { .. }
        | Statement::CreateType { .. }
        | Statement::CreateDomain(_)
        | Statement::CreatePolicy(_)
        | Statement::CreateVirtualTable { .. }
        | Statement::CreateCollation(_)
        | Statement::CreateAggregate(_)
        | Statement::CreateOperator(_)
        | Statement::CreateOperatorFamily(_)
        | Statement::CreateOperatorClass(_)
        | Statement::CreateTextSearch(_) => ctx.op(Risk::Write, text, "creates a database object"),
        Statement::AlterSchema(_)
        | Statement::AlterIndex { .. }
        | Statement::AlterView(_)
        | Statement::AlterFunction(_)
        | Statement::AlterType(_)
        | Statement::AlterCollation(_)
        | Statement::AlterOperator(_)
        | Statement::AlterOperatorFamily(_)
        | Statement::AlterOperatorClass(_)
        | Statement::AlterTextSearch(_)
        | Statement::AlterRole { .. }
        | Statement::AlterUser(_)
        | Statement::AlterPolicy(_)
        | Statement::AlterTrigger(_)
        | Statement::RenameTable(_)
        | Statement::Comment { .. }
        | Statement::Grant(_)
        | Statement::GrantRole(_)
        | Statement::Revoke(_)
        | Statement::RevokeRole(_)
        | Statement::AlterDefaultPrivileges(_)
        | Statement::RefreshMaterializedView(_)
        | Statement::Vacuum(_)
        | Statement::Analyze(_) => ctx.op(
            Risk::Write,
            text,
            "changes a definition, a privilege or maintenance state",
        ),
        Statement::Set(_) if weakens_the_session(text) => ctx.op(
            Risk::Write,
            text,
            "changes who the session acts as or turns off a safeguard (role, replication role, read-only, row security)",
        ),
        Statement::Lock(_) => ctx.op(
            Risk::Write,
            text,
            "LOCK blocks every other session using the table until the transaction ends",
        ),
        Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. }
        | Statement::Set(_)
        | Statement::Reset(_)
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowFunctions { .. }
        | Statement::ShowCollation { .. }
        | Statement::ShowObjects(_)
        | Statement::ShowCharset(_)
        | Statement::ShowProcessList { .. }
        | Statement::ShowCatalogs { .. }
        | Statement::Use(_)
        | Statement::Declare { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. }
        | Statement::Deallocate { .. }
        | Statement::Discard { .. }
        | Statement::LISTEN { .. }
        | Statement::UNLISTEN { .. }
        | Statement::NOTIFY { .. }
        | Statement::Pragma { .. } => ctx.op(
            Risk::Read,
            text,
            "session, transaction or catalog statement; changes no data",
        ),
        _ => ctx.op(
            Risk::Unknown,
            text,
            "this kind of statement is not modelled by Airlock, so its effect is treated as unknown",
        ),
    }
}
