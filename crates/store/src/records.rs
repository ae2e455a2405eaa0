use serde::{Deserialize, Serialize};

/// A token as stored: never the token itself, only its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Public identifier (the first characters after the prefix); safe to show.
    pub id: String,
    /// SHA-256 of the whole token, hex.
    pub hash: String,
    /// The agent (or, for operator tokens, the person) it was issued to.
    pub agent: String,
    pub operator: bool,
    /// Environments it may reach; empty means all.
    pub environments: Vec<String>,
    /// Highest risk it may submit (`read`, `write`, `destructive`); None means any.
    pub max_risk: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The SCRAM-SHA-256 verifier (`ScramVerifier::encode`) the Postgres gateway checks; None for
    /// tokens issued before the gateway existed.
    #[serde(default)]
    pub scram: Option<String>,
    /// The unix user (uid) that alone may present it over the socket; None: anyone holding it.
    #[serde(default)]
    pub unix_uid: Option<u32>,
}

impl TokenRecord {
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }
}

/// Where an action is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionState {
    /// Allowed by policy as submitted.
    Allowed,
    /// Refused by scope, credentials or policy.
    Denied,
    /// Waiting for human approval.
    Held,
    /// Approved; the agent may run it once before `until`.
    Approved,
    /// The approved action was let through (single use spent).
    Consumed,
    /// A human refused it.
    Rejected,
    /// Held or approved too long without being used.
    Expired,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Allowed => "allowed",
            ActionState::Denied => "denied",
            ActionState::Held => "held",
            ActionState::Approved => "approved",
            ActionState::Consumed => "consumed",
            ActionState::Rejected => "rejected",
            ActionState::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<ActionState> {
        Some(match s {
            "allowed" => ActionState::Allowed,
            "denied" => ActionState::Denied,
            "held" => ActionState::Held,
            "approved" => ActionState::Approved,
            "consumed" => ActionState::Consumed,
            "rejected" => ActionState::Rejected,
            "expired" => ActionState::Expired,
            _ => return None,
        })
    }
}

/// One action an agent submitted, with what Airlock made of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub id: String,
    pub fingerprint: String,
    pub agent: String,
    pub token_id: String,
    /// shell, sql, http, tool
    pub kind: String,
    /// The action as submitted, secrets redacted.
    pub summary: String,
    pub cwd: String,
    pub source: String,
    pub risk: String,
    /// The full assessment, resolved resources and decision, as JSON.
    pub detail: serde_json::Value,
    pub approvals_needed: u32,
    pub snapshot: bool,
    pub state: ActionState,
    pub created_at: i64,
    pub updated_at: i64,
    /// For held actions, when the hold lapses; for approved ones, when the approval does.
    pub until: Option<i64>,
    /// Vault snapshots taken before it ran (what `airlock undo` restores).
    #[serde(default)]
    pub snapshots: Vec<String>,
    /// The unix user that submitted it, when it came through the socket: never its approver.
    #[serde(default)]
    pub peer_uid: Option<u32>,
}

/// A person who may approve: by their own unix user (distinct from every agent's), by a TOTP code
/// from their authenticator, or (the web page) by a passkey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorRecord {
    pub name: String,
    /// A unix user whose socket connections prove this operator.
    pub unix_user: Option<String>,
    /// The TOTP shared secret (RFC 6238), base32; only the service reads it.
    #[serde(skip_serializing)]
    pub totp_secret: Option<String>,
    /// The last TOTP time step accepted: a code is good once.
    pub totp_last_step: i64,
    /// Wrong codes in a row; at the limit the operator is locked until `locked_until`.
    pub failures: u32,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub removed_at: Option<i64>,
}

/// One operator's approval of one held action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub action_id: String,
    pub operator: String,
    pub token_id: String,
    pub reason: Option<String>,
    pub at: i64,
}

/// A standing grant: one action (by its match digest), for one agent, in one project, until a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub id: String,
    pub agent: String,
    /// Digest of the action's kind, text and resolved environments (see the server's grants).
    pub match_digest: String,
    /// The project directory (the action's cwd must be inside it).
    pub project: String,
    pub summary: String,
    pub granted_by: String,
    pub source_action: Option<String>,
    pub created_at: i64,
    pub until: i64,
    pub revoked_at: Option<i64>,
}

/// A passkey (WebAuthn credential) an operator enrolled on the approval page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRecord {
    /// The credential id, base64url without padding.
    pub id: String,
    pub operator: String,
    /// The `created_at` of the operator record it was enrolled for: an operator removed and
    /// enrolled again under the same name does not inherit the old passkeys.
    pub operator_since: i64,
    /// The COSE public key as the authenticator gave it.
    pub public_key: Vec<u8>,
    /// The COSE algorithm (-7 ES256, -8 EdDSA, -257 RS256).
    pub alg: i64,
    /// The authenticator's signature counter at its last use (0: it keeps none).
    pub sign_count: u32,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A one-time code an administrator issued so an operator can enroll a passkey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentRecord {
    /// SHA-256 of the code, hex: the code itself is shown once and never stored.
    pub code_hash: String,
    pub operator: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}
