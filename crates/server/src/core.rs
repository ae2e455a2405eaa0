//! One Airlock instance: its configuration, policy (reloaded when its file changes), state, vault
//! and audit key. The stages an action goes through are in `pipeline`; the humans' side in
//! `approvals`; tokens in `tokens`.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use airlock_config::Config;
use airlock_policy::Policy;
use airlock_store::{from_hex, to_hex, ActionRecord, AuditEntry, AuditKey, NewAudit, SqliteStore, Store};

use crate::api::ActionView;
use crate::ids::now;
use crate::snapshots::VaultSlot;
use crate::ApiError;

/// The control plane of one Airlock instance.
pub struct Airlock {
    pub config: Config,
    pub(crate) policy: RwLock<Arc<Policy>>,
    /// Why the policy file last failed to load, if it did (the previous policy stays in force).
    pub(crate) policy_error: RwLock<Option<String>>,
    /// The digest of the policy file's text last read (so a reload acts on changes only).
    pub(crate) policy_seen: std::sync::Mutex<Option<String>>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) audit_key: AuditKey,
    pub(crate) airlock_paths: Vec<PathBuf>,
    vault: VaultSlot,
    /// The SCRAM salt once read: it never changes after it is first stored.
    scram_salt: std::sync::OnceLock<Vec<u8>>,
    events: crate::events::Events,
}

impl Airlock {
    /// Opens the instance described by `config`: its policy and its state.
    pub fn open(config: Config) -> Result<Airlock, ApiError> {
        let (policy, policy_error) = crate::policy_reload::load(&config)?;
        let policy_text = config.policy_path().and_then(|p| std::fs::read_to_string(p).ok());
        let state = config.state_path().map_err(ApiError::Internal)?;
        let key_path = config.audit_key_path().map_err(ApiError::Internal)?;
        if let Some(dir) = key_path.parent() {
            crate::checkpoint::private_dir(dir)?;
        }
        let (audit_key, created) = AuditKey::load_or_create(&key_path)?;
        let store = SqliteStore::open(&state, audit_key.clone())?;
        if created {
            // A new key: whatever chain exists was sealed under none; seal it now, once.
            store.reseal_audit()?;
        }
        let vault = VaultSlot::new(&config);
        let mut airlock_paths = vec![
            config.dir.clone(),
            state.clone(),
            key_path,
            config.secrets_dir().map_err(ApiError::Internal)?,
            vault.dir().to_path_buf(),
            vault.key_file().to_path_buf(),
        ];
        if let Some(p) = config.policy_path() {
            airlock_paths.push(p);
        }
        // A system install, and the agents' system-wide settings where a managed hook lives: an
        // agent that changes them switches Airlock off, whichever instance judges it.
        use airlock_config::SystemPaths;
        for p in [
            SystemPaths::BINARY,
            SystemPaths::CONFIG_DIR,
            SystemPaths::DATA,
            SystemPaths::RUN,
            SystemPaths::UNIT,
            "/etc/claude-code",
            "/etc/codex",
            "/etc/gemini-cli",
            "/etc/cursor",
        ] {
            airlock_paths.push(PathBuf::from(p));
        }
        Ok(Airlock {
            config,
            policy: RwLock::new(Arc::new(policy)),
            policy_error: RwLock::new(policy_error),
            policy_seen: std::sync::Mutex::new(policy_text.map(|t| airlock_store::digest_parts(&[&t]))),
            store: Arc::new(store),
            audit_key,
            airlock_paths,
            vault,
            scram_salt: std::sync::OnceLock::new(),
            events: crate::events::Events::new(),
        })
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The instance's vault (created with a new key file on first use).
    pub fn vault(&self) -> Result<&airlock_vault::Vault, ApiError> {
        self.vault
            .get()
            .map_err(|e| ApiError::Internal(format!("the vault: {e}")))
    }

    pub(crate) fn audit(
        &self,
        kind: &str,
        action_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<AuditEntry, ApiError> {
        let entry = self.store.append_audit(NewAudit {
            at: now(),
            kind: kind.into(),
            action_id: action_id.map(str::to_owned),
            detail,
        })?;
        if let Some(id) = &entry.action_id {
            self.events.send(crate::events::ActionEvent {
                kind: entry.kind.clone(),
                action_id: id.clone(),
                seq: entry.seq,
                at: entry.at,
            });
        }
        Ok(entry)
    }

    /// Every event about actions from now on (see [`ActionEvent`](crate::ActionEvent)).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::ActionEvent> {
        self.events.subscribe()
    }

    /// The instance's SCRAM salt, shared by every token (see `airlock_store::ScramVerifier`);
    /// created on first use.
    pub fn scram_salt(&self) -> Result<Vec<u8>, ApiError> {
        if let Some(salt) = self.scram_salt.get() {
            return Ok(salt.clone());
        }
        let mut fresh = [0u8; 16];
        getrandom::fill(&mut fresh).map_err(|e| ApiError::Internal(format!("no randomness for a salt: {e}")))?;
        let stored = self.store.setting_or_insert("scram_salt", &to_hex(&fresh))?;
        let salt = from_hex(&stored).ok_or_else(|| ApiError::Internal("the stored SCRAM salt is damaged".into()))?;
        Ok(self.scram_salt.get_or_init(|| salt).clone())
    }

    /// Whether the policy decides without reading an action's text (see `Policy::ignores_text`).
    pub fn policy_ignores_text(&self) -> bool {
        self.policy().ignores_text()
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records an event in the audit chain (the Postgres gateway's connections and statement
    /// batches).
    pub fn record(&self, kind: &str, action_id: Option<&str>, detail: serde_json::Value) -> Result<(), ApiError> {
        self.audit(kind, action_id, detail).map(|_| ())
    }

    pub(crate) fn view(&self, a: &ActionRecord) -> Result<ActionView, ApiError> {
        let approved_by = self.store.approvals(&a.id)?.into_iter().map(|x| x.operator).collect();
        let environments = a.detail["resolved"]
            .as_array()
            .map(|rs| dedup(rs.iter().filter_map(|r| r["environment"].as_str().map(str::to_owned))))
            .unwrap_or_default();
        let mut reasons: Vec<String> = Vec::new();
        for key in ["assessment", "decision"] {
            for r in a.detail[key]["reasons"].as_array().into_iter().flatten() {
                if let Some(s) = r.as_str() {
                    reasons.push(s.to_owned());
                }
            }
        }
        Ok(ActionView {
            id: a.id.clone(),
            state: a.state.as_str().into(),
            agent: a.agent.clone(),
            kind: a.kind.clone(),
            summary: a.summary.clone(),
            cwd: a.cwd.clone(),
            source: a.source.clone(),
            risk: a.risk.clone(),
            environments,
            reasons,
            approvals_needed: a.approvals_needed,
            approved_by,
            snapshot: a.snapshot,
            snapshot_plan: serde_json::from_value(a.detail["snapshot_plan"].clone()).ok(),
            snapshots: a.snapshots.clone(),
            blast_radius: Some(a.detail["blast_radius"].clone()).filter(|v| !v.is_null()),
            evidence: serde_json::from_value(a.detail["evidence"].clone()).ok(),
            supersedes: Some(a.detail["supersedes"].clone()).filter(|v| !v.is_null()),
            created_at: a.created_at,
            until: a.until,
        })
    }
}

pub(crate) fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}
