//! Statements that are never a plain write: they hand out power (superuser, passwords, grants of
//! everything or of the server's files), reach outside the database (extensions, foreign servers),
//! switch a safeguard off (row-level security, triggers, foreign-key checks), or rewrite data in
//! place (a column's type).

use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, Grant, Grantee, GranteeName, Privileges};

/// Role attributes that grant power over the whole server, or a credential.
const ROLE_POWERS: [&str; 6] = [
    "SUPERUSER",
    "CREATEROLE",
    "CREATEDB",
    "BYPASSRLS",
    "REPLICATION",
    "PASSWORD",
];

/// Built-in roles whose membership reads or runs anything on the server, and the managed services'
/// admin roles.
const POWER_ROLES: [&str; 10] = [
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
    "pg_signal_backend",
    "pg_read_all_data",
    "pg_write_all_data",
    "pg_database_owner",
    "rds_superuser",
    "cloudsqlsuperuser",
    "azure_pg_admin",
];

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
}

/// `CREATE/ALTER ROLE|USER … SUPERUSER | PASSWORD …`: why it grants power, if it does.
pub(super) fn role_power(text: &str) -> Option<String> {
    words(text)
        .find(|w| ROLE_POWERS.contains(&w.as_str()))
        .map(|w| format!("gives the role {w}: power over the whole server or a new credential"))
}

pub(super) fn grant_power(g: &Grant) -> Option<String> {
    if matches!(g.privileges, Privileges::All { .. }) {
        return Some("grants ALL privileges".to_owned());
    }
    let public = g.grantees.iter().any(|Grantee { name, .. }| match name {
        Some(GranteeName::ObjectName(n)) => n.to_string().eq_ignore_ascii_case("public"),
        _ => false,
    }) || g
        .grantees
        .iter()
        .any(|gr| gr.to_string().eq_ignore_ascii_case("public"));
    if public {
        return Some("grants to PUBLIC: every role, present and future".to_owned());
    }
    role_membership(&g.to_string())
}

/// `GRANT pg_execute_server_program TO app`: membership in a role that reaches the server itself.
pub(super) fn role_membership(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    POWER_ROLES
        .iter()
        .find(|r| lower.contains(*r))
        .map(|r| format!("grants {r}, which reaches the server's files, programs or every table"))
}

/// `CREATE POLICY … USING (true)`: a policy that lets every row through disables row security.
pub(super) fn policy_allows_all(text: &str) -> bool {
    let squeezed: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    squeezed.contains("USING(TRUE)") || squeezed.contains("WITHCHECK(TRUE)")
}

/// An ALTER TABLE operation that switches a safeguard off or rewrites the data: why, if it does.
pub(super) fn alter_table_harm(op: &AlterTableOperation) -> Option<&'static str> {
    match op {
        AlterTableOperation::DisableRowLevelSecurity | AlterTableOperation::NoForceRowLevelSecurity => {
            Some("switches row-level security off: every row becomes visible and writable")
        }
        AlterTableOperation::DisableTrigger { .. } | AlterTableOperation::DisableRule { .. } => {
            Some("disables triggers or rules (audit, cascades, integrity checks)")
        }
        AlterTableOperation::SetUnlogged => Some("SET UNLOGGED: the table is no longer crash-safe or replicated"),
        AlterTableOperation::AlterColumn {
            op: AlterColumnOperation::SetDataType { data_type, using, .. },
            ..
        } if using.is_some() || !widening(&data_type.to_string()) => {
            Some("changes a column's type: every value is rewritten, and lost where it does not convert")
        }
        _ => None,
    }
}

/// Types that hold every value of the usual narrower types of their family (int → bigint,
/// varchar(n) → text): converting to them loses nothing.
fn widening(ty: &str) -> bool {
    matches!(
        ty.to_ascii_lowercase().as_str(),
        "bigint"
            | "int8"
            | "numeric"
            | "decimal"
            | "text"
            | "varchar"
            | "character varying"
            | "double precision"
            | "float8"
            | "jsonb"
            | "timestamptz"
            | "timestamp with time zone"
    )
}

/// A SET that turns off a safeguard for what follows in the session (not merely changes who acts).
pub(super) fn set_disables_safeguard(text: &str) -> Option<&'static str> {
    let t: String = text
        .to_ascii_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let off = |name: &str| {
        t.contains(name)
            && [
                "= 0", "=0", "to 0", "= off", "to off", "= false", "to false", "=off", "= 'off'", "to 'off'",
            ]
            .iter()
            .any(|v| t.contains(v))
    };
    if t.contains("session_replication_role") && t.contains("replica") {
        return Some("session_replication_role = replica switches off triggers and foreign-key checks");
    }
    for (name, why) in [
        (
            "foreign_key_checks",
            "FOREIGN_KEY_CHECKS = 0 switches off referential integrity",
        ),
        (
            "sql_safe_updates",
            "SQL_SAFE_UPDATES = 0 allows UPDATE and DELETE without a key in WHERE",
        ),
        ("unique_checks", "UNIQUE_CHECKS = 0 switches off uniqueness checks"),
        ("row_security", "row_security = off bypasses row-level security"),
        (
            "sql_log_bin",
            "SQL_LOG_BIN = 0 hides the changes from replicas and point-in-time recovery",
        ),
    ] {
        if off(name) {
            return Some(why);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_power_roles_and_settings() {
        assert!(role_power("ALTER ROLE app_user SUPERUSER").is_some());
        assert!(role_power("ALTER ROLE x WITH PASSWORD 'p'").is_some());
        assert!(role_power("ALTER ROLE x NOSUPERUSER").is_none());
        assert!(role_power("CREATE ROLE reader NOLOGIN").is_none());
        assert!(set_disables_safeguard("SET FOREIGN_KEY_CHECKS = 0").is_some());
        assert!(set_disables_safeguard("SET LOCAL session_replication_role TO 'replica'").is_some());
        assert!(set_disables_safeguard("SET search_path = app").is_none());
        assert!(policy_allows_all("CREATE POLICY p ON d FOR ALL USING (true)"));
        assert!(!policy_allows_all(
            "CREATE POLICY p ON d USING (tenant_id = current_setting('x'))"
        ));
    }
}
