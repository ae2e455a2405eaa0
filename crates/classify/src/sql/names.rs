use sqlparser::ast::{Ident, ObjectName, ObjectNamePart, TableFactor, TableWithJoins};

/// An identifier as PostgreSQL stores it: unquoted names fold to lowercase, quoted ones keep case.
pub(super) fn ident(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_lowercase()
    }
}

/// A possibly qualified name, normalised (`Public.Users` → `public.users`).
pub(super) fn object(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => ident(i),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The last part of a name (a function's own name without its schema) and whether it is qualified.
pub(super) fn last_part(name: &ObjectName) -> (String, Option<String>) {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => ident(i),
            other => other.to_string(),
        })
        .collect();
    match parts.split_last() {
        Some((last, [])) => (last.clone(), None),
        Some((last, rest)) => (last.clone(), Some(rest.join("."))),
        None => (String::new(), None),
    }
}

/// The named tables of a FROM list (joins included).
pub(super) fn tables_of(list: &[TableWithJoins]) -> Vec<String> {
    let mut out = Vec::new();
    for t in list {
        factor(&t.relation, &mut out);
        for j in &t.joins {
            factor(&j.relation, &mut out);
        }
    }
    out
}

pub(super) fn factor(f: &TableFactor, out: &mut Vec<String>) {
    if let TableFactor::Table { name, args: None, .. } = f {
        out.push(object(name));
    }
}
