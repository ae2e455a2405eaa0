//! The objects a statement names — relations (tables, views, sequences, indexes), schemas and
//! functions — as PostgreSQL will look them up: each part of a name folded the way its parser folds
//! it (unquoted ASCII letters to lowercase, quoted parts as written).
//!
//! These are what an approval is bound to (see `resolve`): the gateway resolves each name under
//! the session's `search_path` and records what it means. A name is only worth recording if it
//! still means the same thing when the statement runs, so a multi-statement text whose later
//! statements follow one that may change name resolution (a `SET`, a `COMMIT` that ends a
//! `SET LOCAL`, a `DROP` that uncovers another schema's table of the same name, …) is reported as
//! such: its names cannot be resolved ahead of time.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    ArgMode, Expr, FunctionDesc, Ident, ObjectName, ObjectNamePart, ObjectType, Query, Set, Statement, TableFactor,
    Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// What kind of object a name is looked up as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `pg_class`: tables, views, sequences, indexes, …
    Relation,
    Schema,
    /// A function or procedure a statement drops, with its argument types.
    Function,
    /// A function a statement calls (its argument types are not known here).
    Call,
}

/// One name, as PostgreSQL will read it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Name {
    pub kind: Kind,
    /// The parts, folded: `Other."Tmp"` is `["other", "Tmp"]`.
    pub parts: Vec<String>,
    /// For [`Kind::Function`]: the argument types (as written) that pick one function.
    pub args: Option<Vec<String>>,
}

/// Quotes one identifier for PostgreSQL (always, so that the text reads back exactly).
pub fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// An identifier as the text a human would write: bare when PostgreSQL would read it back the
/// same, quoted otherwise.
pub fn shown(ident: &str) -> String {
    let bare = ident.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if bare {
        ident.to_owned()
    } else {
        quote(ident)
    }
}

impl Name {
    /// Whether the name carries its schema (and so does not depend on the `search_path`).
    pub fn qualified(&self) -> bool {
        self.parts.len() > 1
    }

    /// The name's last part (the object's own name).
    pub fn object(&self) -> &str {
        self.parts.last().map(String::as_str).unwrap_or("")
    }

    /// The schema it names, if qualified (a database part before it is ignored, as PostgreSQL
    /// checks it against the current database).
    pub fn schema(&self) -> Option<&str> {
        let n = self.parts.len();
        (n > 1).then(|| self.parts[n - 2].as_str())
    }

    /// The name as written, for people: `other.tmp_import`, `"Weird"."Name"`.
    pub fn display(&self) -> String {
        let mut s = self.parts.iter().map(|p| shown(p)).collect::<Vec<_>>().join(".");
        if let Some(args) = &self.args {
            s.push_str(&format!("({})", args.join(", ")));
        }
        s
    }

    /// The text `to_regclass`, `to_regnamespace` and `to_regprocedure` read back as this name:
    /// every part quoted.
    pub fn lookup(&self) -> String {
        let mut s = self.parts.iter().map(|p| quote(p)).collect::<Vec<_>>().join(".");
        if let Some(args) = &self.args {
            s.push_str(&format!("({})", args.join(", ")));
        }
        s
    }
}

/// What a text names, and whether all of it can be resolved before it runs.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Named {
    /// Each distinct name, in the order first seen.
    pub names: Vec<Name>,
    /// A statement that names something comes after one that may change what names mean.
    pub after_a_change: bool,
}

/// The names `sql` uses, or None when it does not parse (then nothing about its names is known).
pub fn named(sql: &str) -> Option<Named> {
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let mut out = Named::default();
    let mut seen = HashSet::new();
    let mut changed = false;
    for st in &statements {
        let mut collect = Collect::default();
        let _ = st.visit(&mut collect);
        explicit(st, &mut collect.names);
        let names: Vec<Name> = collect
            .names
            .into_iter()
            .filter(|n| !(n.kind == Kind::Relation && !n.qualified() && collect.ctes.contains(n.object())))
            .collect();
        if changed && !names.is_empty() {
            out.after_a_change = true;
        }
        for n in names {
            if seen.insert(n.clone()) {
                out.names.push(n);
            }
        }
        changed |= !inert(st);
    }
    Some(out)
}

/// Statements after which every name still means what it meant before: opening a transaction or
/// a savepoint. (Ending one is not: a `COMMIT` or `ROLLBACK` undoes a `SET LOCAL search_path`.)
fn inert(st: &Statement) -> bool {
    matches!(
        st,
        Statement::StartTransaction { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Set(Set::SetTransaction { .. })
    )
}

/// A part of a name, folded as PostgreSQL folds it: only ASCII letters, and only when unquoted.
fn fold(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_ascii_lowercase()
    }
}

fn parts(name: &ObjectName) -> Option<Vec<String>> {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(fold(i)),
            ObjectNamePart::Function(_) => None,
        })
        .collect()
}

fn push(out: &mut Vec<Name>, kind: Kind, name: &ObjectName, args: Option<Vec<String>>) {
    if let Some(parts) = parts(name).filter(|p| !p.is_empty()) {
        out.push(Name { kind, parts, args });
    }
}

/// Relations and calls anywhere in a statement (nested statements included), and the names its
/// `WITH` clauses define (which are not relations).
#[derive(Default)]
struct Collect {
    names: Vec<Name>,
    ctes: HashSet<String>,
    /// The table factor just entered is a function (`FROM generate_series(…)`): its name, visited
    /// next as a relation, is a call.
    table_function: bool,
}

impl Visitor for Collect {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        for cte in q.with.iter().flat_map(|w| &w.cte_tables) {
            self.ctes.insert(fold(&cte.alias.name));
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        self.table_function = matches!(t, TableFactor::Table { args: Some(_), .. });
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
        let kind = if std::mem::take(&mut self.table_function) {
            Kind::Call
        } else {
            Kind::Relation
        };
        push(&mut self.names, kind, r, None);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            push(&mut self.names, Kind::Call, &f.name, None);
        }
        ControlFlow::Continue(())
    }
}

/// Names the visitor does not reach: what DROP statements drop.
fn explicit(st: &Statement, out: &mut Vec<Name>) {
    match st {
        Statement::Drop { object_type, names, .. } => {
            let kind = match object_type {
                ObjectType::Table
                | ObjectType::View
                | ObjectType::MaterializedView
                | ObjectType::ForeignTable
                | ObjectType::Index
                | ObjectType::Sequence => Kind::Relation,
                ObjectType::Schema => Kind::Schema,
                _ => return,
            };
            for n in names {
                push(out, kind, n, None);
            }
        }
        Statement::DropFunction(d) => functions(&d.func_desc, out),
        Statement::DropProcedure { proc_desc, .. } => functions(proc_desc, out),
        _ => {}
    }
}

fn functions(list: &[FunctionDesc], out: &mut Vec<Name>) {
    for f in list {
        // OUT arguments are not part of a function's identity.
        let args = f.args.as_ref().map(|args| {
            args.iter()
                .filter(|a| !matches!(a.mode, Some(ArgMode::Out)))
                .map(|a| a.data_type.to_string())
                .collect()
        });
        push(out, Kind::Function, &f.name, args);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shown_names(sql: &str) -> Vec<(Kind, String)> {
        named(sql)
            .unwrap()
            .names
            .into_iter()
            .map(|n| (n.kind, n.display()))
            .collect()
    }

    #[test]
    fn relations_are_folded_as_postgres_folds_them() {
        assert_eq!(
            shown_names("DROP TABLE tmp_import"),
            vec![(Kind::Relation, "tmp_import".into())]
        );
        assert_eq!(
            shown_names(r#"DROP TABLE Other."Tmp Import", "X""y""#),
            vec![
                (Kind::Relation, r#"other."Tmp Import""#.into()),
                (Kind::Relation, r#""X""y""#.into())
            ]
        );
        let n = &named(r#"TRUNCATE "My.Schema".t"#).unwrap().names[0];
        assert_eq!(n.parts, vec!["My.Schema".to_owned(), "t".to_owned()]);
        assert_eq!(n.lookup(), r#""My.Schema"."t""#);
        assert_eq!(n.schema(), Some("My.Schema"));
        // Only ASCII letters fold (PostgreSQL in UTF-8 leaves the others).
        assert_eq!(named("DROP TABLE ÉTÉ").unwrap().names[0].parts, vec!["ÉtÉ".to_owned()]);
    }

    #[test]
    fn every_kind_of_name_is_found() {
        assert_eq!(
            shown_names("DELETE FROM a USING b WHERE a.id = b.id AND b.t < now()"),
            vec![
                (Kind::Relation, "a".into()),
                (Kind::Relation, "b".into()),
                (Kind::Call, "now".into())
            ]
        );
        assert_eq!(
            shown_names("DROP SCHEMA other CASCADE"),
            vec![(Kind::Schema, "other".into())]
        );
        assert_eq!(
            shown_names("DROP FUNCTION wipe(int, OUT x text), public.f"),
            vec![
                (Kind::Function, "wipe(INT)".into()),
                (Kind::Function, "public.f".into())
            ]
        );
        assert_eq!(
            shown_names("DROP SEQUENCE s; DROP VIEW v"),
            vec![(Kind::Relation, "s".into()), (Kind::Relation, "v".into())]
        );
        assert_eq!(
            shown_names("INSERT INTO t SELECT * FROM generate_series(1, 3)"),
            vec![(Kind::Relation, "t".into()), (Kind::Call, "generate_series".into())]
        );
    }

    #[test]
    fn with_queries_are_not_relations() {
        assert_eq!(
            shown_names("WITH old AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT id FROM old)"),
            vec![(Kind::Relation, "t".into())]
        );
    }

    #[test]
    fn names_after_a_statement_that_may_change_them_cannot_be_resolved_ahead() {
        assert!(!named("BEGIN; DROP TABLE t; COMMIT").unwrap().after_a_change);
        assert!(!named("DROP TABLE t").unwrap().after_a_change);
        for sql in [
            "SET search_path = other, public; DROP TABLE tmp_import",
            "COMMIT; DROP TABLE t",
            "DROP TABLE t; DROP TABLE t",
            "SELECT set_config('search_path', 'other', false); DELETE FROM t",
        ] {
            assert!(named(sql).unwrap().after_a_change, "{sql}");
        }
    }

    #[test]
    fn unparsable_text_names_nothing_known() {
        assert_eq!(named("DROP TABLE ((("), None);
    }

    proptest! {
        /// Any text: no panic.
        #[test]
        fn never_panics(sql in "\\PC{0,200}") {
            let _ = named(&sql);
        }

        /// A name written with quotes reads back, through `lookup`, as the same parts.
        #[test]
        fn quoted_names_read_back(schema in "[a-zA-Z0-9 _.\"$é]{1,20}", table in "[a-zA-Z0-9 _.\"$é]{1,20}") {
            let sql = format!("DROP TABLE {}.{}", quote(&schema), quote(&table));
            let n = named(&sql).unwrap().names.remove(0);
            prop_assert_eq!(&n.parts, &vec![schema.clone(), table.clone()]);
            let again = named(&format!("DROP TABLE {}", n.lookup())).unwrap().names.remove(0);
            prop_assert_eq!(&again.parts, &n.parts);
            let shown = named(&format!("DROP TABLE {}", n.display())).unwrap().names.remove(0);
            prop_assert_eq!(shown.parts, n.parts);
        }

        /// Unquoted names fold ASCII letters only.
        #[test]
        fn unquoted_names_fold_ascii(table in "[a-zA-Z_][a-zA-Z0-9_]{0,20}") {
            prop_assume!(!sqlparser::keywords::ALL_KEYWORDS.contains(&table.to_ascii_uppercase().as_str()));
            let n = named(&format!("TRUNCATE {table}")).unwrap().names.remove(0);
            prop_assert_eq!(n.parts, vec![table.to_ascii_lowercase()]);
        }
    }
}
