//! The embedded store: one SQLite file in WAL mode, created 0600, migrated on open.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::audit::{entry_hash, AuditKey, GENESIS};
use crate::{
    ActionRecord, ActionState, ApprovalRecord, AuditEntry, EnrollmentRecord, GrantRecord, NewAudit, OperatorRecord,
    PasskeyRecord, Store, StoreError, TokenRecord,
};

const MIGRATIONS: &[&str] = &[
    // 1: the initial schema
    "CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL,
        agent TEXT NOT NULL,
        operator INTEGER NOT NULL,
        environments TEXT NOT NULL,
        max_risk TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
     );
     CREATE TABLE actions (
        id TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        agent TEXT NOT NULL,
        token_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        summary TEXT NOT NULL,
        cwd TEXT NOT NULL,
        source TEXT NOT NULL,
        risk TEXT NOT NULL,
        detail TEXT NOT NULL,
        approvals_needed INTEGER NOT NULL,
        snapshot INTEGER NOT NULL,
        state TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        until INTEGER
     );
     CREATE INDEX actions_fingerprint ON actions (fingerprint, state);
     CREATE INDEX actions_state ON actions (state);
     CREATE TABLE approvals (
        action_id TEXT NOT NULL REFERENCES actions (id),
        operator TEXT NOT NULL,
        token_id TEXT NOT NULL,
        reason TEXT,
        at INTEGER NOT NULL,
        PRIMARY KEY (action_id, operator)
     );
     CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        action_id TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
     );
     CREATE INDEX audit_action ON audit (action_id);",
    // 2: the vault snapshots taken before an action ran
    "ALTER TABLE actions ADD COLUMN snapshots TEXT NOT NULL DEFAULT '[]';",
    // 3: SCRAM verifiers for the Postgres gateway, and instance settings (the shared SCRAM salt)
    "ALTER TABLE tokens ADD COLUMN scram TEXT;
     CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 4: the boundary: tokens bound to a unix user, who submitted an action, operators, agent users
    "ALTER TABLE tokens ADD COLUMN unix_uid INTEGER;
     ALTER TABLE actions ADD COLUMN peer_uid INTEGER;
     CREATE TABLE operators (
        name TEXT PRIMARY KEY,
        unix_user TEXT,
        totp_secret TEXT,
        totp_last_step INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        created_at INTEGER NOT NULL,
        removed_at INTEGER
     );
     CREATE TABLE agent_users (uid INTEGER PRIMARY KEY, name TEXT NOT NULL, first_seen INTEGER NOT NULL);",
    // 5: standing grants: an approver lets one action through for one agent in one project for a while
    "CREATE TABLE grants (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        match_digest TEXT NOT NULL,
        project TEXT NOT NULL,
        summary TEXT NOT NULL,
        granted_by TEXT NOT NULL,
        source_action TEXT,
        created_at INTEGER NOT NULL,
        until INTEGER NOT NULL,
        revoked_at INTEGER
     );
     CREATE INDEX grants_match ON grants (match_digest, agent);",
    // 6: the approval page: operators' passkeys and the one-time codes that enroll them
    "CREATE TABLE passkeys (
        id TEXT PRIMARY KEY,
        operator TEXT NOT NULL,
        operator_since INTEGER NOT NULL,
        public_key BLOB NOT NULL,
        alg INTEGER NOT NULL,
        sign_count INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
     );
     CREATE INDEX passkeys_operator ON passkeys (operator);
     CREATE TABLE passkey_enrollments (
        code_hash TEXT PRIMARY KEY,
        operator TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
     );",
];

/// SQLite-backed state.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    key: AuditKey,
}

fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file_err = |source| StoreError::File {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            std::fs::create_dir_all(parent).map_err(file_err)?;
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700)).map_err(file_err)?;
        }
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(file_err)?;
    // An existing file keeps whatever mode it had; tighten it. SQLite gives the -wal and -shm files
    // the database file's mode.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(file_err)?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed, mode 0600) and migrates the state file; audit entries are sealed
    /// with `key`.
    pub fn open(path: &Path, key: AuditKey) -> Result<SqliteStore, StoreError> {
        create_private(path)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Self::migrate(conn, key)
    }

    pub fn open_in_memory(key: AuditKey) -> Result<SqliteStore, StoreError> {
        Self::migrate(Connection::open_in_memory()?, key)
    }

    fn migrate(mut conn: Connection, key: AuditKey) -> Result<SqliteStore, StoreError> {
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew { found: version, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
            tx.commit()?;
        }
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            key,
        })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll back),
        // so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let envs: String = r.get("environments")?;
    Ok(TokenRecord {
        id: r.get("id")?,
        hash: r.get("hash")?,
        agent: r.get("agent")?,
        operator: r.get("operator")?,
        environments: serde_json::from_str(&envs).unwrap_or_default(),
        max_risk: r.get("max_risk")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        revoked_at: r.get("revoked_at")?,
        scram: r.get("scram")?,
        unix_uid: r.get("unix_uid")?,
    })
}

fn grant_row(r: &Row<'_>) -> rusqlite::Result<GrantRecord> {
    Ok(GrantRecord {
        id: r.get("id")?,
        agent: r.get("agent")?,
        match_digest: r.get("match_digest")?,
        project: r.get("project")?,
        summary: r.get("summary")?,
        granted_by: r.get("granted_by")?,
        source_action: r.get("source_action")?,
        created_at: r.get("created_at")?,
        until: r.get("until")?,
        revoked_at: r.get("revoked_at")?,
    })
}

fn operator_row(r: &Row<'_>) -> rusqlite::Result<OperatorRecord> {
    Ok(OperatorRecord {
        name: r.get("name")?,
        unix_user: r.get("unix_user")?,
        totp_secret: r.get("totp_secret")?,
        totp_last_step: r.get("totp_last_step")?,
        failures: r.get("failures")?,
        locked_until: r.get("locked_until")?,
        created_at: r.get("created_at")?,
        removed_at: r.get("removed_at")?,
    })
}

fn action_row(r: &Row<'_>) -> rusqlite::Result<ActionRecord> {
    let detail: String = r.get("detail")?;
    let state: String = r.get("state")?;
    Ok(ActionRecord {
        id: r.get("id")?,
        fingerprint: r.get("fingerprint")?,
        agent: r.get("agent")?,
        token_id: r.get("token_id")?,
        kind: r.get("kind")?,
        summary: r.get("summary")?,
        cwd: r.get("cwd")?,
        source: r.get("source")?,
        risk: r.get("risk")?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        approvals_needed: r.get("approvals_needed")?,
        snapshot: r.get("snapshot")?,
        state: ActionState::parse(&state).unwrap_or(ActionState::Denied),
        created_at: r.get("created_at")?,
        updated_at: r.get("updated_at")?,
        until: r.get("until")?,
        snapshots: serde_json::from_str(&r.get::<_, String>("snapshots")?).unwrap_or_default(),
        peer_uid: r.get("peer_uid")?,
    })
}

fn audit_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    let detail: String = r.get("detail")?;
    Ok(AuditEntry {
        seq: r.get("seq")?,
        at: r.get("at")?,
        kind: r.get("kind")?,
        action_id: r.get("action_id")?,
        // A detail that no longer parses was tampered with: keep its text so the hash check fails.
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
        prev_hash: r.get("prev_hash")?,
        hash: r.get("hash")?,
    })
}

fn passkey_row(r: &Row<'_>) -> rusqlite::Result<PasskeyRecord> {
    Ok(PasskeyRecord {
        id: r.get("id")?,
        operator: r.get("operator")?,
        operator_since: r.get("operator_since")?,
        public_key: r.get("public_key")?,
        alg: r.get("alg")?,
        sign_count: r.get("sign_count")?,
        created_at: r.get("created_at")?,
        last_used_at: r.get("last_used_at")?,
    })
}

fn enrollment_row(r: &Row<'_>) -> rusqlite::Result<EnrollmentRecord> {
    Ok(EnrollmentRecord {
        code_hash: r.get("code_hash")?,
        operator: r.get("operator")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        used_at: r.get("used_at")?,
    })
}

fn states_sql(states: &[ActionState]) -> String {
    states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

impl Store for SqliteStore {
    fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO tokens (id, hash, agent, operator, environments, max_risk, created_at, expires_at, revoked_at, scram, unix_uid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                t.id,
                t.hash,
                t.agent,
                t.operator,
                serde_json::to_string(&t.environments).unwrap_or_else(|_| "[]".into()),
                t.max_risk,
                t.created_at,
                t.expires_at,
                t.revoked_at,
                t.scram,
                t.unix_uid
            ],
        )?;
        Ok(())
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT * FROM tokens WHERE id = ?1", [id], token_row)
            .optional()?)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let db = self.db();
        let mut st = db.prepare("SELECT * FROM tokens ORDER BY created_at")?;
        let rows = st.query_map([], token_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn revoke_token(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, at],
        )?;
        Ok(n == 1)
    }

    fn setting_or_insert(&self, key: &str, default: &str) -> Result<String, StoreError> {
        let db = self.db();
        db.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
            params![key, default],
        )?;
        Ok(db.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))?)
    }

    fn insert_action(&self, a: &ActionRecord) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO actions (id, fingerprint, agent, token_id, kind, summary, cwd, source, risk, detail,
                                  approvals_needed, snapshot, state, created_at, updated_at, until, peer_uid)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            params![
                a.id,
                a.fingerprint,
                a.agent,
                a.token_id,
                a.kind,
                a.summary,
                a.cwd,
                a.source,
                a.risk,
                a.detail.to_string(),
                a.approvals_needed,
                a.snapshot,
                a.state.as_str(),
                a.created_at,
                a.updated_at,
                a.until,
                a.peer_uid
            ],
        )?;
        Ok(())
    }

    fn action(&self, id: &str) -> Result<Option<ActionRecord>, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT * FROM actions WHERE id = ?1", [id], action_row)
            .optional()?)
    }

    fn action_by_fingerprint(
        &self,
        fingerprint: &str,
        states: &[ActionState],
    ) -> Result<Option<ActionRecord>, StoreError> {
        let sql = format!(
            "SELECT * FROM actions WHERE fingerprint = ?1 AND state IN ({}) ORDER BY created_at DESC, rowid DESC LIMIT 1",
            states_sql(states)
        );
        Ok(self.db().query_row(&sql, [fingerprint], action_row).optional()?)
    }

    fn actions_in(&self, states: &[ActionState]) -> Result<Vec<ActionRecord>, StoreError> {
        let sql = format!(
            "SELECT * FROM actions WHERE state IN ({}) ORDER BY created_at, rowid",
            states_sql(states)
        );
        let db = self.db();
        let mut st = db.prepare(&sql)?;
        let rows = st.query_map([], action_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn transition(
        &self,
        id: &str,
        from: ActionState,
        to: ActionState,
        at: i64,
        until: Option<i64>,
    ) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE actions SET state = ?3, updated_at = ?4, until = ?5 WHERE id = ?1 AND state = ?2",
            params![id, from.as_str(), to.as_str(), at, until],
        )?;
        Ok(n == 1)
    }

    fn set_snapshots(&self, id: &str, snapshots: &[String]) -> Result<(), StoreError> {
        let json = serde_json::to_string(snapshots).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.db()
            .execute("UPDATE actions SET snapshots = ?2 WHERE id = ?1", params![id, json])?;
        Ok(())
    }

    fn add_approval(&self, a: &ApprovalRecord) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "INSERT OR IGNORE INTO approvals (action_id, operator, token_id, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![a.action_id, a.operator, a.token_id, a.reason, a.at],
        )?;
        Ok(n == 1)
    }

    fn approvals(&self, action_id: &str) -> Result<Vec<ApprovalRecord>, StoreError> {
        let db = self.db();
        let mut st = db.prepare(
            "SELECT action_id, operator, token_id, reason, at FROM approvals WHERE action_id = ?1 ORDER BY at",
        )?;
        let rows = st
            .query_map([action_id], |r| {
                Ok(ApprovalRecord {
                    action_id: r.get(0)?,
                    operator: r.get(1)?,
                    token_id: r.get(2)?,
                    reason: r.get(3)?,
                    at: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn append_audit(&self, e: NewAudit) -> Result<AuditEntry, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let last: Option<(i64, String)> = tx
            .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let (seq, prev_hash) = match last {
            Some((s, h)) => (s + 1, h),
            None => (1, GENESIS.to_owned()),
        };
        let detail = serde_json::to_string(&e.detail).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let hash = entry_hash(
            &self.key,
            &prev_hash,
            seq,
            e.at,
            &e.kind,
            e.action_id.as_deref(),
            &detail,
        );
        tx.execute(
            "INSERT INTO audit (seq, at, kind, action_id, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![seq, e.at, e.kind, e.action_id, detail, prev_hash, hash],
        )?;
        tx.commit()?;
        Ok(AuditEntry {
            seq,
            at: e.at,
            kind: e.kind,
            action_id: e.action_id,
            detail: e.detail,
            prev_hash,
            hash,
        })
    }

    fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    fn reseal_audit(&self) -> Result<usize, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let rows: Vec<(i64, i64, String, Option<String>, String)> = {
            let mut st = tx.prepare("SELECT seq, at, kind, action_id, detail FROM audit ORDER BY seq")?;
            let r = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            r
        };
        let mut prev = GENESIS.to_owned();
        for (seq, at, kind, action_id, detail) in &rows {
            // Stored details are canonical JSON text; sealing their re-serialised form keeps one
            // definition of what a link covers.
            let canon = serde_json::from_str::<serde_json::Value>(detail)
                .map(|v| v.to_string())
                .unwrap_or_else(|_| detail.clone());
            let hash = entry_hash(&self.key, &prev, *seq, *at, kind, action_id.as_deref(), &canon);
            tx.execute(
                "UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE seq = ?1",
                params![seq, prev, hash],
            )?;
            prev = hash;
        }
        tx.commit()?;
        Ok(rows.len())
    }

    fn insert_operator(&self, o: &OperatorRecord) -> Result<bool, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let live: Option<String> = tx
            .query_row(
                "SELECT name FROM operators WHERE name = ?1 AND removed_at IS NULL",
                [&o.name],
                |r| r.get(0),
            )
            .optional()?;
        if live.is_some() {
            return Ok(false);
        }
        tx.execute("DELETE FROM operators WHERE name = ?1", [&o.name])?;
        tx.execute(
            "INSERT INTO operators (name, unix_user, totp_secret, totp_last_step, failures, locked_until, created_at, removed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![o.name, o.unix_user, o.totp_secret, o.totp_last_step, o.failures, o.locked_until, o.created_at, o.removed_at],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn operator(&self, name: &str) -> Result<Option<OperatorRecord>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT * FROM operators WHERE name = ?1 AND removed_at IS NULL",
                [name],
                operator_row,
            )
            .optional()?)
    }

    fn operators(&self) -> Result<Vec<OperatorRecord>, StoreError> {
        let db = self.db();
        let mut st = db.prepare("SELECT * FROM operators WHERE removed_at IS NULL ORDER BY name")?;
        let rows = st.query_map([], operator_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn remove_operator(&self, name: &str, at: i64) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE operators SET removed_at = ?2 WHERE name = ?1 AND removed_at IS NULL",
            params![name, at],
        )?;
        Ok(n == 1)
    }

    fn spend_totp_step(&self, name: &str, step: i64) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE operators SET totp_last_step = ?2, failures = 0, locked_until = NULL
             WHERE name = ?1 AND removed_at IS NULL AND totp_last_step < ?2",
            params![name, step],
        )?;
        Ok(n == 1)
    }

    fn totp_failure(&self, name: &str, at: i64, limit: u32, lock_secs: i64) -> Result<u32, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE operators SET failures = failures + 1 WHERE name = ?1 AND removed_at IS NULL",
            [name],
        )?;
        let failures: u32 = tx
            .query_row("SELECT failures FROM operators WHERE name = ?1", [name], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        if failures >= limit {
            tx.execute(
                "UPDATE operators SET failures = 0, locked_until = ?2 WHERE name = ?1",
                params![name, at + lock_secs],
            )?;
        }
        tx.commit()?;
        Ok(failures)
    }

    fn note_agent_user(&self, uid: u32, name: &str, at: i64) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO agent_users (uid, name, first_seen) VALUES (?1, ?2, ?3) ON CONFLICT (uid) DO NOTHING",
            params![uid, name, at],
        )?;
        Ok(())
    }

    fn agent_users(&self) -> Result<Vec<(u32, String)>, StoreError> {
        let db = self.db();
        let mut st = db.prepare("SELECT uid, name FROM agent_users ORDER BY uid")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn insert_grant(&self, g: &GrantRecord) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO grants (id, agent, match_digest, project, summary, granted_by, source_action, created_at, until, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![g.id, g.agent, g.match_digest, g.project, g.summary, g.granted_by, g.source_action, g.created_at, g.until, g.revoked_at],
        )?;
        Ok(())
    }

    fn grants(&self) -> Result<Vec<GrantRecord>, StoreError> {
        let db = self.db();
        let mut st = db.prepare("SELECT * FROM grants ORDER BY created_at DESC, rowid DESC LIMIT 1000")?;
        let rows = st.query_map([], grant_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn live_grants(&self, agent: &str, match_digest: &str, at: i64) -> Result<Vec<GrantRecord>, StoreError> {
        let db = self.db();
        let mut st = db.prepare(
            "SELECT * FROM grants WHERE agent = ?1 AND match_digest = ?2 AND until > ?3 AND revoked_at IS NULL",
        )?;
        let rows = st
            .query_map(params![agent, match_digest, at], grant_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn revoke_grant(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE grants SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, at],
        )?;
        Ok(n == 1)
    }

    fn audit(&self, action_id: Option<&str>) -> Result<Vec<AuditEntry>, StoreError> {
        let db = self.db();
        let rows = match action_id {
            Some(id) => {
                let mut st = db.prepare("SELECT * FROM audit WHERE action_id = ?1 ORDER BY seq")?;
                let r = st.query_map([id], audit_row)?.collect::<Result<Vec<_>, _>>()?;
                r
            }
            None => {
                let mut st = db.prepare("SELECT * FROM audit ORDER BY seq")?;
                let r = st.query_map([], audit_row)?.collect::<Result<Vec<_>, _>>()?;
                r
            }
        };
        Ok(rows)
    }

    fn insert_enrollment(&self, e: &EnrollmentRecord) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE passkey_enrollments SET used_at = ?2 WHERE operator = ?1 AND used_at IS NULL",
            params![e.operator, e.created_at],
        )?;
        tx.execute(
            "INSERT INTO passkey_enrollments (code_hash, operator, created_at, expires_at, used_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![e.code_hash, e.operator, e.created_at, e.expires_at, e.used_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn enrollment(&self, code_hash: &str, at: i64) -> Result<Option<EnrollmentRecord>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT * FROM passkey_enrollments WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                params![code_hash, at],
                enrollment_row,
            )
            .optional()?)
    }

    fn enroll_passkey(&self, code_hash: &str, p: &PasskeyRecord, at: i64) -> Result<bool, StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let spent = tx.execute(
            "UPDATE passkey_enrollments SET used_at = ?2 WHERE code_hash = ?1 AND operator = ?3 AND used_at IS NULL AND expires_at > ?2",
            params![code_hash, at, p.operator],
        )?;
        if spent != 1 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO passkeys (id, operator, operator_since, public_key, alg, sign_count, created_at, last_used_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                p.id,
                p.operator,
                p.operator_since,
                p.public_key,
                p.alg,
                p.sign_count,
                p.created_at,
                p.last_used_at
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn passkey(&self, id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT * FROM passkeys WHERE id = ?1", [id], passkey_row)
            .optional()?)
    }

    fn passkeys_of(&self, operator: &str) -> Result<Vec<PasskeyRecord>, StoreError> {
        let db = self.db();
        let mut st = db.prepare("SELECT * FROM passkeys WHERE operator = ?1 ORDER BY created_at")?;
        let rows = st.query_map([operator], passkey_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    fn use_passkey(&self, id: &str, sign_count: u32, at: i64) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE passkeys SET sign_count = ?2, last_used_at = ?3
             WHERE id = ?1 AND (sign_count < ?2 OR (sign_count = 0 AND ?2 = 0))",
            params![id, sign_count, at],
        )?;
        Ok(n == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{verify_chain, AuditKey, Checkpoint};

    fn key() -> AuditKey {
        AuditKey::from_bytes([7; 32])
    }

    fn mem() -> SqliteStore {
        SqliteStore::open_in_memory(key()).unwrap()
    }

    fn entry(n: i64) -> NewAudit {
        NewAudit {
            at: n,
            kind: "test".into(),
            action_id: Some(format!("a{n}")),
            detail: serde_json::json!({ "n": n }),
        }
    }

    #[test]
    fn the_chain_verifies_and_names_the_first_edited_entry() {
        let s = mem();
        for n in 1..=5 {
            s.append_audit(entry(n)).unwrap();
        }
        assert_eq!(verify_chain(&s.audit(None).unwrap(), &key()), Ok(5));
        s.db()
            .execute("UPDATE audit SET detail = '{\"n\":99}' WHERE seq = 3", [])
            .unwrap();
        assert_eq!(verify_chain(&s.audit(None).unwrap(), &key()).unwrap_err().seq, 3);
    }

    #[test]
    fn removed_and_reordered_entries_are_found() {
        let s = mem();
        for n in 1..=5 {
            s.append_audit(entry(n)).unwrap();
        }
        s.db().execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
        assert_eq!(verify_chain(&s.audit(None).unwrap(), &key()).unwrap_err().seq, 2);
        let s = mem();
        for n in 1..=3 {
            s.append_audit(entry(n)).unwrap();
        }
        s.db()
            .execute("UPDATE audit SET seq = seq + 10 WHERE seq = 2", [])
            .unwrap();
        s.db().execute("UPDATE audit SET seq = 2 WHERE seq = 3", []).unwrap();
        s.db().execute("UPDATE audit SET seq = 3 WHERE seq = 12", []).unwrap();
        assert!(verify_chain(&s.audit(None).unwrap(), &key()).is_err());
    }

    #[test]
    fn transitions_are_compare_and_set() {
        let s = mem();
        let a = ActionRecord {
            id: "abc".into(),
            fingerprint: "f".into(),
            agent: "claude".into(),
            token_id: "t".into(),
            kind: "shell".into(),
            summary: "rm -rf x".into(),
            cwd: "/".into(),
            source: "test".into(),
            risk: "destructive".into(),
            detail: serde_json::json!({}),
            approvals_needed: 1,
            snapshot: true,
            state: ActionState::Approved,
            created_at: 1,
            updated_at: 1,
            until: Some(100),
            snapshots: Vec::new(),
            peer_uid: Some(1000),
        };
        s.insert_action(&a).unwrap();
        assert!(s
            .transition("abc", ActionState::Approved, ActionState::Consumed, 2, None)
            .unwrap());
        assert!(!s
            .transition("abc", ActionState::Approved, ActionState::Consumed, 3, None)
            .unwrap());
    }

    #[test]
    fn state_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("airlock-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("state.db");
        let s = SqliteStore::open(&path, key()).unwrap();
        s.append_audit(entry(1)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_chain_rewritten_without_the_key_is_found() {
        let s = mem();
        for n in 1..=6 {
            s.append_audit(entry(n)).unwrap();
        }
        // Someone who can write the state but not read the key deletes two entries and recomputes
        // every later link with a key of their own (here: unkeyed SHA-256 would be the same attack).
        s.db().execute("DELETE FROM audit WHERE seq IN (3, 4)", []).unwrap();
        let other = AuditKey::from_bytes([9; 32]);
        let mut prev = GENESIS.to_owned();
        let rows: Vec<(i64, i64, String, Option<String>, String)> = {
            let db = s.db();
            let mut st = db
                .prepare("SELECT seq, at, kind, action_id, detail FROM audit ORDER BY seq")
                .unwrap();
            let r = st
                .query_map([], |r| {
                    Ok((
                        r.get(0).unwrap(),
                        r.get(1).unwrap(),
                        r.get(2).unwrap(),
                        r.get(3).unwrap(),
                        r.get(4).unwrap(),
                    ))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            r
        };
        for (i, (seq, at, kind, action, detail)) in rows.iter().enumerate() {
            let new_seq = i as i64 + 1;
            let hash = entry_hash(&other, &prev, new_seq, *at, kind, action.as_deref(), detail);
            s.db()
                .execute(
                    "UPDATE audit SET seq = ?2, prev_hash = ?3, hash = ?4 WHERE seq = ?1",
                    params![seq, new_seq, prev, hash],
                )
                .unwrap();
            prev = hash;
        }
        assert_eq!(verify_chain(&s.audit(None).unwrap(), &other), Ok(4));
        let err = verify_chain(&s.audit(None).unwrap(), &key()).unwrap_err();
        assert_eq!(err.seq, 1, "{err}");
    }

    #[test]
    fn a_truncation_is_found_by_the_checkpoint() {
        let s = mem();
        for n in 1..=5 {
            s.append_audit(entry(n)).unwrap();
        }
        let all = s.audit(None).unwrap();
        let cp = Checkpoint::seal(&key(), 5, &all[4].hash, 100);
        assert!(cp.is_sealed_by(&key()) && !cp.is_sealed_by(&AuditKey::from_bytes([1; 32])));
        assert_eq!(cp.check(&all), Ok(()));
        s.db().execute("DELETE FROM audit WHERE seq >= 4", []).unwrap();
        let left = s.audit(None).unwrap();
        assert_eq!(verify_chain(&left, &key()), Ok(3), "a prefix is still a valid chain");
        let err = cp.check(&left).unwrap_err();
        assert!(err.problem.contains("truncated"), "{err}");
        let mut forged = cp.clone();
        forged.seq = 3;
        assert!(!forged.is_sealed_by(&key()));
    }

    #[test]
    fn resealing_keys_an_existing_chain() {
        let s = mem();
        for n in 1..=3 {
            s.append_audit(entry(n)).unwrap();
        }
        s.db()
            .execute("UPDATE audit SET hash = 'x', prev_hash = 'y'", [])
            .unwrap();
        assert!(verify_chain(&s.audit(None).unwrap(), &key()).is_err());
        assert_eq!(s.reseal_audit().unwrap(), 3);
        assert_eq!(verify_chain(&s.audit(None).unwrap(), &key()), Ok(3));
    }

    #[test]
    fn totp_steps_are_spent_once_and_failures_lock() {
        let s = mem();
        let op = OperatorRecord {
            name: "alice".into(),
            unix_user: None,
            totp_secret: Some("JBSWY3DPEHPK3PXP".into()),
            totp_last_step: 0,
            failures: 0,
            locked_until: None,
            created_at: 1,
            removed_at: None,
        };
        assert!(s.insert_operator(&op).unwrap());
        assert!(!s.insert_operator(&op).unwrap(), "a live name is never enrolled twice");
        assert!(s.spend_totp_step("alice", 10).unwrap());
        assert!(!s.spend_totp_step("alice", 10).unwrap(), "the same code twice");
        assert!(!s.spend_totp_step("alice", 9).unwrap(), "an older code");
        for i in 1..5 {
            assert_eq!(s.totp_failure("alice", 100, 5, 300).unwrap(), i);
        }
        assert_eq!(s.operator("alice").unwrap().unwrap().locked_until, None);
        assert_eq!(s.totp_failure("alice", 100, 5, 300).unwrap(), 5);
        assert_eq!(s.operator("alice").unwrap().unwrap().locked_until, Some(400));
        assert!(s.remove_operator("alice", 5).unwrap());
        assert!(s.operator("alice").unwrap().is_none());
        assert!(s.insert_operator(&op).unwrap(), "a removed name can be enrolled again");
        s.note_agent_user(1001, "dev", 1).unwrap();
        s.note_agent_user(1001, "dev", 2).unwrap();
        assert_eq!(s.agent_users().unwrap(), vec![(1001, "dev".to_owned())]);
    }

    #[test]
    fn an_enrollment_code_enrolls_one_passkey_once_and_counters_only_go_up() {
        let s = mem();
        let code = EnrollmentRecord {
            code_hash: "h1".into(),
            operator: "carol".into(),
            created_at: 10,
            expires_at: 100,
            used_at: None,
        };
        s.insert_enrollment(&code).unwrap();
        assert!(s.enrollment("h1", 50).unwrap().is_some());
        assert!(s.enrollment("h1", 100).unwrap().is_none(), "expired");
        let key = PasskeyRecord {
            id: "cred".into(),
            operator: "carol".into(),
            operator_since: 5,
            public_key: vec![1, 2, 3],
            alg: -7,
            sign_count: 0,
            created_at: 20,
            last_used_at: None,
        };
        assert!(
            !s.enroll_passkey("h1", &key, 100).unwrap(),
            "an expired code enrolls nothing"
        );
        assert!(s.enroll_passkey("h1", &key, 20).unwrap());
        assert!(
            !s.enroll_passkey(
                "h1",
                &PasskeyRecord {
                    id: "c2".into(),
                    ..key.clone()
                },
                21
            )
            .unwrap(),
            "a code is good once"
        );
        assert!(s.passkey("c2").unwrap().is_none());
        assert_eq!(s.passkeys_of("carol").unwrap(), vec![key.clone()]);
        // A newer code voids an unused older one.
        s.insert_enrollment(&EnrollmentRecord {
            code_hash: "h2".into(),
            ..code.clone()
        })
        .unwrap();
        s.insert_enrollment(&EnrollmentRecord {
            code_hash: "h3".into(),
            created_at: 11,
            ..code
        })
        .unwrap();
        assert!(s.enrollment("h2", 50).unwrap().is_none() && s.enrollment("h3", 50).unwrap().is_some());
        // Counters: zero stays allowed only while both are zero; then strictly increasing.
        assert!(s.use_passkey("cred", 0, 30).unwrap());
        assert!(s.use_passkey("cred", 5, 31).unwrap());
        assert!(!s.use_passkey("cred", 5, 32).unwrap(), "replayed counter");
        assert!(!s.use_passkey("cred", 3, 33).unwrap(), "counter went backwards");
        assert!(!s.use_passkey("cred", 0, 34).unwrap(), "a counter that stopped");
        assert_eq!(s.passkey("cred").unwrap().unwrap().sign_count, 5);
    }
}
