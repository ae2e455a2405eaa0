//! SQL-level `PREPARE name AS …`, `EXECUTE name(…)`, `DEALLOCATE`: the statement was judged when it
//! was prepared, so `EXECUTE` of a name this session prepared runs what was judged — as often as it
//! likes if policy allowed it outright, once if an approval let the PREPARE through. An EXECUTE of a
//! name the gateway did not see prepared stays unknown.

use std::collections::HashMap;

use sqlparser::ast::{DiscardObject, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// What a statement does to the session's SQL-level prepared statements.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Prepared {
    Prepare(String),
    Execute(String),
    Deallocate(String),
    DeallocateAll,
}

/// Recognises the four forms, parsing only texts that start with their keywords.
pub(super) fn recognise(sql: &str) -> Option<Prepared> {
    let head = sql.trim_start().as_bytes();
    let starts = |k: &str| {
        head.get(..k.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(k.as_bytes()))
    };
    if !["prepare", "execute", "deallocate", "discard"].into_iter().any(starts) {
        return None;
    }
    let statements = Parser::parse_sql(&PostgreSqlDialect {}, sql).ok()?;
    let [statement] = statements.as_slice() else {
        return None;
    };
    Some(match statement {
        Statement::Prepare { name, .. } => Prepared::Prepare(name.value.to_lowercase()),
        Statement::Execute {
            name: Some(name),
            immediate: false,
            into,
            using,
            ..
        } if into.is_empty() && using.is_empty() => Prepared::Execute(name.to_string().to_lowercase()),
        Statement::Deallocate { name, .. } if name.value.eq_ignore_ascii_case("all") => Prepared::DeallocateAll,
        Statement::Deallocate { name, .. } => Prepared::Deallocate(name.value.to_lowercase()),
        Statement::Discard {
            object_type: DiscardObject::ALL | DiscardObject::PLANS,
        } => Prepared::DeallocateAll,
        _ => return None,
    })
}

/// The session's prepared names and how many more EXECUTEs each may have (None: any number).
#[derive(Debug, Default)]
pub(super) struct PreparedNames(HashMap<String, Option<u32>>);

impl PreparedNames {
    /// Whether an EXECUTE of `name` may run as judged at PREPARE (and counts it).
    pub fn execute(&mut self, name: &str) -> Option<bool> {
        let left = self.0.get_mut(name)?;
        Some(match left {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        })
    }

    /// Records what an allowed statement did.
    pub fn allowed(&mut self, what: &Prepared, once: bool) {
        match what {
            Prepared::Prepare(name) => {
                self.0.insert(name.clone(), once.then_some(1));
            }
            Prepared::Deallocate(name) => {
                self.0.remove(name);
            }
            Prepared::DeallocateAll => self.0.clear(),
            Prepared::Execute(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_are_recognised() {
        assert_eq!(
            recognise("PREPARE q (int) AS SELECT $1"),
            Some(Prepared::Prepare("q".into()))
        );
        assert_eq!(recognise("execute Q(1)"), Some(Prepared::Execute("q".into())));
        assert_eq!(recognise("EXECUTE q"), Some(Prepared::Execute("q".into())));
        assert_eq!(recognise("DEALLOCATE q"), Some(Prepared::Deallocate("q".into())));
        assert_eq!(recognise("DEALLOCATE ALL"), Some(Prepared::DeallocateAll));
        assert_eq!(recognise("DISCARD ALL"), Some(Prepared::DeallocateAll));
        assert_eq!(recognise("SELECT 1"), None);
        assert_eq!(recognise("EXECUTE q(1); DROP TABLE t"), None);
    }

    #[test]
    fn an_approved_prepare_executes_once() {
        let mut names = PreparedNames::default();
        names.allowed(&Prepared::Prepare("d".into()), true);
        names.allowed(&Prepared::Prepare("r".into()), false);
        assert_eq!(names.execute("d"), Some(true));
        assert_eq!(names.execute("d"), Some(false));
        assert_eq!(names.execute("r"), Some(true));
        assert_eq!(names.execute("r"), Some(true));
        assert_eq!(names.execute("x"), None);
        names.allowed(&Prepared::DeallocateAll, false);
        assert_eq!(names.execute("r"), None);
    }
}
