//! # airlock-store
//!
//! Control-plane state: tokens (stored hashed), actions with their assessment and decision,
//! approvals, and the hash-chained audit log. [`Store`] is the seam: [`SqliteStore`] is the
//! embedded default (WAL, migrations, files created 0600); a PostgreSQL store can implement the
//! same trait without touching callers.
//!
//! ```
//! use airlock_store::{Store, SqliteStore, NewAudit};
//!
//! let store = SqliteStore::open_in_memory().unwrap();
//! store.append_audit(NewAudit { at: 1, kind: "action.submitted".into(), action_id: Some("a1".into()), detail: serde_json::json!({}) }).unwrap();
//! assert!(airlock_store::verify_chain(&store.audit(None).unwrap()).is_ok());
//! ```

mod audit;
mod error;
mod hex;
mod records;
mod scram;
mod sqlite;
mod token;

pub use audit::{verify_chain, AuditEntry, ChainBreak, NewAudit};
pub use error::StoreError;
pub use hex::{digest_parts, from_hex, to_hex};
pub use records::{ActionRecord, ActionState, ApprovalRecord, TokenRecord};
pub use scram::{hmac_sha256, ScramVerifier, SCRAM_ITERATIONS};
pub use sqlite::SqliteStore;
pub use token::{generate_token, hash_token, token_id, TokenKind};

/// Everything the control plane keeps. Implementations must make `consume` and `add_approval`
/// atomic: two racing callers can never both use one approval.
pub trait Store: Send + Sync {
    fn insert_token(&self, t: &TokenRecord) -> Result<(), StoreError>;
    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    fn revoke_token(&self, id: &str, at: i64) -> Result<bool, StoreError>;
    /// An instance setting; when absent, stores `default` first (atomically) and returns it.
    fn setting_or_insert(&self, key: &str, default: &str) -> Result<String, StoreError>;

    fn insert_action(&self, a: &ActionRecord) -> Result<(), StoreError>;
    fn action(&self, id: &str) -> Result<Option<ActionRecord>, StoreError>;
    /// The newest action with this fingerprint in one of `states`.
    fn action_by_fingerprint(
        &self,
        fingerprint: &str,
        states: &[ActionState],
    ) -> Result<Option<ActionRecord>, StoreError>;
    fn actions_in(&self, states: &[ActionState]) -> Result<Vec<ActionRecord>, StoreError>;
    /// Moves an action from `from` to `to`; false when it was not in `from` (someone else moved it).
    fn transition(
        &self,
        id: &str,
        from: ActionState,
        to: ActionState,
        at: i64,
        until: Option<i64>,
    ) -> Result<bool, StoreError>;

    /// Records the vault snapshots taken before the action ran.
    fn set_snapshots(&self, id: &str, snapshots: &[String]) -> Result<(), StoreError>;

    /// Records an approval; false when this operator already approved the action.
    fn add_approval(&self, a: &ApprovalRecord) -> Result<bool, StoreError>;
    fn approvals(&self, action_id: &str) -> Result<Vec<ApprovalRecord>, StoreError>;

    fn append_audit(&self, e: NewAudit) -> Result<AuditEntry, StoreError>;
    /// The audit chain in order, optionally only one action's entries.
    fn audit(&self, action_id: Option<&str>) -> Result<Vec<AuditEntry>, StoreError>;
}
