//! # airlock-store
//!
//! Control-plane state: tokens (stored hashed), actions with their assessment and decision,
//! approvals, and the hash-chained audit log. [`Store`] is the seam: [`SqliteStore`] is the
//! embedded default (WAL, migrations, files created 0600); a PostgreSQL store can implement the
//! same trait without touching callers.
//!
//! The audit chain is sealed with an [`AuditKey`] (HMAC-SHA256) that only the service reads, so
//! someone who can write the state but not read the key cannot rewrite it unseen.
//!
//! ```
//! use airlock_store::{AuditKey, NewAudit, SqliteStore, Store};
//!
//! let key = AuditKey::generate().unwrap();
//! let store = SqliteStore::open_in_memory(key.clone()).unwrap();
//! store.append_audit(NewAudit { at: 1, kind: "action.submitted".into(), action_id: Some("a1".into()), detail: serde_json::json!({}) }).unwrap();
//! assert!(airlock_store::verify_chain(&store.audit(None).unwrap(), &key).is_ok());
//! assert!(airlock_store::verify_chain(&store.audit(None).unwrap(), &AuditKey::generate().unwrap()).is_err());
//! ```

mod audit;
mod error;
mod hex;
mod records;
mod scram;
mod sqlite;
mod token;

pub use audit::{verify_chain, AuditEntry, AuditKey, ChainBreak, Checkpoint, NewAudit};
pub use error::StoreError;
pub use hex::{digest_parts, from_hex, to_hex};
pub use records::{
    ActionRecord, ActionState, ApprovalRecord, EnrollmentRecord, GrantRecord, OperatorRecord, PasskeyRecord,
    TokenRecord,
};
pub use scram::{hmac_sha256, ScramVerifier, SCRAM_ITERATIONS};
pub use sqlite::SqliteStore;
pub use token::{enrollment_code_hash, generate_enrollment_code, generate_token, hash_token, token_id, TokenKind};

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
    /// The newest entry's sequence number and hash.
    fn audit_head(&self) -> Result<Option<(i64, String)>, StoreError>;
    /// Seals every entry anew under the store's key, in one transaction: only when the key was just
    /// created (the chain so far was written under none).
    fn reseal_audit(&self) -> Result<usize, StoreError>;

    /// Enrolls an operator; false when a live one has that name.
    fn insert_operator(&self, o: &OperatorRecord) -> Result<bool, StoreError>;
    fn operator(&self, name: &str) -> Result<Option<OperatorRecord>, StoreError>;
    fn operators(&self) -> Result<Vec<OperatorRecord>, StoreError>;
    fn remove_operator(&self, name: &str, at: i64) -> Result<bool, StoreError>;
    /// Spends a TOTP time step for the operator (and clears its failures); false when that step or a
    /// later one was already used — a code is good once. Atomic.
    fn spend_totp_step(&self, name: &str, step: i64) -> Result<bool, StoreError>;
    /// Counts a wrong code; at `limit` in a row the operator is locked for `lock_secs`. Returns the
    /// count before any reset.
    fn totp_failure(&self, name: &str, at: i64, limit: u32, lock_secs: i64) -> Result<u32, StoreError>;

    /// Remembers a unix user that submitted actions as an agent: such a user never proves an
    /// operator by its peer credentials.
    fn note_agent_user(&self, uid: u32, name: &str, at: i64) -> Result<(), StoreError>;
    fn agent_users(&self) -> Result<Vec<(u32, String)>, StoreError>;

    fn insert_grant(&self, g: &GrantRecord) -> Result<(), StoreError>;
    /// Every grant, newest first (live, lapsed and revoked).
    fn grants(&self) -> Result<Vec<GrantRecord>, StoreError>;
    /// The live grants for this agent and action digest at `at`.
    fn live_grants(&self, agent: &str, match_digest: &str, at: i64) -> Result<Vec<GrantRecord>, StoreError>;
    fn revoke_grant(&self, id: &str, at: i64) -> Result<bool, StoreError>;
    /// The audit chain in order, optionally only one action's entries.
    fn audit(&self, action_id: Option<&str>) -> Result<Vec<AuditEntry>, StoreError>;

    /// Keeps a passkey enrollment code (its hash); an earlier unused code for the operator is
    /// void from then on.
    fn insert_enrollment(&self, e: &EnrollmentRecord) -> Result<(), StoreError>;
    /// The enrollment code with this hash, when it is unused and not expired at `at`.
    fn enrollment(&self, code_hash: &str, at: i64) -> Result<Option<EnrollmentRecord>, StoreError>;
    /// Spends an enrollment code and keeps the passkey it enrolled, in one transaction; false when
    /// the code was used, voided or expired meanwhile (nothing is stored then).
    fn enroll_passkey(&self, code_hash: &str, p: &PasskeyRecord, at: i64) -> Result<bool, StoreError>;
    fn passkey(&self, id: &str) -> Result<Option<PasskeyRecord>, StoreError>;
    fn passkeys_of(&self, operator: &str) -> Result<Vec<PasskeyRecord>, StoreError>;
    /// Records a sign-in with the passkey. Atomic compare-and-set on the signature counter: false
    /// when `sign_count` is not above the stored one, unless the authenticator keeps no counter
    /// (both zero) — a counter going backwards means a cloned authenticator.
    fn use_passkey(&self, id: &str, sign_count: u32, at: i64) -> Result<bool, StoreError>;
}
