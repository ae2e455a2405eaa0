//! The JSON shapes of the API, shared by the server, the CLI and the hooks.

use serde::{Deserialize, Serialize};

/// An action for decision.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// `shell`, `sql`, `http` or `tool`.
    pub kind: String,
    pub input: String,
    #[serde(default)]
    pub cwd: Option<String>,
    /// Where it came from: `hook:claude-code`, `cli`…
    #[serde(default)]
    pub source: String,
    /// The configured resource the action reaches, when the caller knows it for certain (the
    /// Postgres gateway: the connection's database). Never taken from the HTTP API, where an agent
    /// could name a milder resource than the one its command reaches.
    #[serde(skip)]
    pub resource: Option<String>,
    /// Wait (up to `[server] hold_wait`) for the humans' decision when the action is held.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
    /// The agent, for a caller without a token on the socket (the hook names the agent it runs for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Who submitted it, from the socket's peer credentials: set by the server, never by a caller.
    #[serde(skip)]
    pub peer: Option<crate::peer::Peer>,
    /// What an in-process gateway knows about the action that the classifier cannot (the API
    /// gateway: the provider's schema and operations), merged into the classifier's assessment,
    /// the most alarming part winning. Never taken from the HTTP API: it could only lower nothing,
    /// but an agent has no business describing its own action.
    #[serde(skip)]
    pub findings: Option<airlock_classify::Assessment>,
}

impl SubmitRequest {
    pub fn shell(input: &str, cwd: &str, source: &str) -> SubmitRequest {
        SubmitRequest {
            kind: "shell".into(),
            input: input.into(),
            cwd: Some(cwd.into()),
            source: source.into(),
            ..SubmitRequest::default()
        }
    }
}

/// The decision on a submitted action.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubmitResponse {
    /// The action's id: what a human approves.
    pub id: String,
    /// `allow`, `deny` or `ask` (held for approval).
    pub decision: String,
    pub risk: String,
    /// The action as recorded, secrets redacted.
    pub summary: String,
    pub reasons: Vec<String>,
    pub environments: Vec<String>,
    pub approvals_needed: u32,
    pub approvals: u32,
    pub snapshot: bool,
    /// What to tell the agent, in full sentences.
    pub message: String,
    /// For an allowed action: whether the hook grants it outright (a human approved this exact
    /// action, or `[hooks] allowed = "allow"`), rather than deferring to the agent's own
    /// permission rules.
    #[serde(default)]
    pub grant: bool,
}

/// `approve` / `deny` request body.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    #[serde(default)]
    pub reason: Option<String>,
    /// Acknowledges that some targets are too large to snapshot and will not be copied.
    #[serde(default)]
    pub without_snapshot: bool,
    /// An operator's authenticator code (service mode).
    #[serde(default)]
    pub totp: Option<TotpProof>,
    /// Also let this same action through for this agent in this project for this long (a standing
    /// grant; made when every approval that releases the action asks for one).
    #[serde(default)]
    pub grant_secs: Option<u64>,
}

/// An operator and the code their authenticator shows now.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpProof {
    pub operator: String,
    pub code: String,
}

/// A token to issue.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub agent: String,
    #[serde(default)]
    pub operator: bool,
    #[serde(default)]
    pub environments: Vec<String>,
    #[serde(default)]
    pub max_risk: Option<String>,
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// The unix user that alone may present it over the socket.
    #[serde(default)]
    pub unix_user: Option<String>,
}

/// A token as listed (never the token itself).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub agent: String,
    pub operator: bool,
    pub environments: Vec<String>,
    pub max_risk: Option<String>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub unix_user: Option<String>,
}

impl From<&airlock_store::TokenRecord> for TokenView {
    fn from(t: &airlock_store::TokenRecord) -> TokenView {
        TokenView {
            id: t.id.clone(),
            agent: t.agent.clone(),
            operator: t.operator,
            environments: t.environments.clone(),
            max_risk: t.max_risk.clone(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            unix_user: t
                .unix_uid
                .map(|uid| crate::peer::user_name(uid).unwrap_or_else(|| format!("uid {uid}"))),
        }
    }
}

/// A token just issued: shown once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IssuedToken {
    pub token: String,
    #[serde(flatten)]
    pub view: TokenView,
}

/// A stored action as operators see it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ActionView {
    pub id: String,
    pub state: String,
    pub agent: String,
    pub kind: String,
    pub summary: String,
    pub cwd: String,
    pub source: String,
    pub risk: String,
    pub environments: Vec<String>,
    pub reasons: Vec<String>,
    pub approvals_needed: u32,
    pub approved_by: Vec<String>,
    pub snapshot: bool,
    /// What a snapshot will copy before the action runs, and what it will not.
    pub snapshot_plan: Option<crate::Plan>,
    /// Snapshots taken before it ran.
    pub snapshots: Vec<String>,
    /// What the action would touch, measured when it was held (the Postgres gateway: tables, their
    /// row counts and sizes, the planner's row estimate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blast_radius: Option<serde_json::Value>,
    /// What the approval covers (paths with their inodes, scripts by content, SQL relations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<crate::pipeline::Evidence>,
    /// The approval this hold replaces because the action's targets changed, and what changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<serde_json::Value>,
    pub created_at: i64,
    pub until: Option<i64>,
}

/// Everything the pipeline concluded about an action (what `policy explain` prints).
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    pub assessment: airlock_classify::Assessment,
    pub resolved: Vec<airlock_config::Resolved>,
    pub credentials: Vec<airlock_classify::Credential>,
    /// Why the token's scope refuses the action, if it does.
    pub scope: Option<String>,
    pub decision: airlock_policy::Decision,
    pub fingerprint: String,
    /// The scripts the action runs, with the hash of what the classifier read.
    pub scripts: Vec<crate::pipeline::ScriptRead>,
}
