//! Transactions that end in ROLLBACK: what ran inside them is undone, so it changed nothing.
//!
//! Only statements the database really rolls back count: row changes and, in PostgreSQL, table
//! definitions. A function call with effects outside the transaction (`pg_terminate_backend`,
//! `dblink`), anything unknown, or DDL in MySQL (which commits implicitly) keeps its own risk.

use sqlparser::ast::Statement;

use super::{statement, SqlDialect};
use crate::assessment::Findings;
use crate::ctx::Ctx;
use crate::Risk;

pub(super) fn statements(list: &[Statement], dialect: SqlDialect, ctx: &mut Ctx<'_>) {
    // The findings from before the open transaction, and whether everything inside rolls back.
    let mut open: Option<(Findings, bool)> = None;
    for st in list {
        if !ctx.tick() {
            return;
        }
        match st {
            Statement::StartTransaction { .. } if open.is_none() => {
                open = Some((std::mem::take(&mut ctx.found), true));
                statement::classify(st, ctx);
            }
            Statement::Rollback { savepoint: None, .. } if open.is_some() => {
                let Some((outer, undoable)) = open.take() else { continue };
                let inner = std::mem::replace(&mut ctx.found, outer);
                if undoable && inner.risk() != Some(Risk::Unknown) {
                    ctx.found.absorb_targets(inner);
                    ctx.op(
                        Risk::Read,
                        &st.to_string(),
                        "the transaction is rolled back: what ran inside it is undone",
                    );
                } else {
                    ctx.found.absorb(inner);
                }
            }
            Statement::Commit { .. } if open.is_some() => {
                close(&mut open, ctx);
                statement::classify(st, ctx);
            }
            _ => {
                if let Some((_, undoable)) = open.as_mut() {
                    *undoable &= rolls_back(st, dialect);
                }
                statement::classify(st, ctx);
            }
        }
    }
    close(&mut open, ctx);
}

fn close(open: &mut Option<(Findings, bool)>, ctx: &mut Ctx<'_>) {
    if let Some((outer, _)) = open.take() {
        let inner = std::mem::replace(&mut ctx.found, outer);
        ctx.found.absorb(inner);
    }
}

fn rolls_back(st: &Statement, dialect: SqlDialect) -> bool {
    let dml = matches!(
        st,
        Statement::Query(_) | Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) | Statement::Merge(_)
    );
    let ddl = matches!(
        st,
        Statement::Truncate(_) | Statement::CreateTable(_) | Statement::AlterTable(_) | Statement::Drop { .. }
    );
    (dml || (ddl && dialect == SqlDialect::Postgres)) && !calls_functions(st)
}

fn calls_functions(st: &Statement) -> bool {
    let text = st.to_string();
    // Any call may act outside the transaction; count(*) and friends are the common harmless case.
    text.contains('(')
        && text
            .to_ascii_lowercase()
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '('))
            .any(|w| {
                w.ends_with('(')
                    && !matches!(
                        w,
                        "count(" | "sum(" | "max(" | "min(" | "avg(" | "now(" | "in(" | "(" | "values("
                    )
            })
}
