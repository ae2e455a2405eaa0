//! Who is calling, and what that lets them do.
//!
//! Two instance modes (see `airlock_config::Mode`):
//!
//! - **local** (`airlock init`): callers are their bearer tokens; an operator token approves and
//!   administers. Not a security boundary: whoever reads the token file is the operator.
//! - **service** (`airlock setup`): callers come through the unix socket and the kernel says which
//!   unix user they are. Administrators are root and the users in `[server] admins`. A token, when
//!   presented, narrows what an agent may reach and may be bound to one unix user. An approval needs
//!   proof no agent's unix user can produce: the socket of an operator's own unix user (never one
//!   that has submitted actions as an agent), or a TOTP code from the operator's authenticator.

use airlock_store::{ActionRecord, TokenRecord};

use crate::api::TotpProof;
use crate::peer::Peer;
use crate::{Airlock, ApiError};

/// Wrong TOTP codes in a row before an operator is locked, and for how long.
const TOTP_FAILURE_LIMIT: u32 = 5;
const TOTP_LOCK_SECS: i64 = 300;

/// Who is calling, as far as Airlock can know it.
#[derive(Clone, Debug, Default)]
pub struct Caller {
    /// The bearer token, checked.
    pub token: Option<TokenRecord>,
    /// The unix peer, from the kernel (unix socket only).
    pub peer: Option<Peer>,
    /// An operator the approval page proved with a passkey (set in-process by the page's session
    /// layer after a WebAuthn assertion; never taken from a request).
    pub passkey_operator: Option<String>,
}

impl Caller {
    /// A caller known by its token alone (in-process callers such as the Postgres gateway).
    pub fn token(token: TokenRecord) -> Caller {
        Caller {
            token: Some(token),
            peer: None,
            passkey_operator: None,
        }
    }
}

/// A human's approval, with how they proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approver {
    /// The operator's name (for root without an operator record, `root`).
    pub name: String,
    /// `token:ID`, `unix:USER` or `totp`: kept with the approval and in the audit chain.
    pub proof: String,
}

impl Airlock {
    /// Checks what a request carries: its token (when any) against its unix peer (when any).
    pub fn identify(&self, bearer: Option<&str>, peer: Option<Peer>) -> Result<Caller, ApiError> {
        let token = match bearer {
            Some(t) => Some(self.authenticate(t)?),
            None => None,
        };
        if let Some(t) = &token {
            if let Some(bound) = t.unix_uid {
                if peer.as_ref().map(|p| p.uid) != Some(bound) {
                    return Err(ApiError::Unauthorized(format!(
                        "token {}… belongs to unix user {} and only that user may present it, over Airlock's socket",
                        t.id,
                        crate::peer::user_name(bound).unwrap_or_else(|| format!("uid {bound}"))
                    )));
                }
            }
        }
        if token.is_none() && !(self.config.is_service() && peer.is_some()) {
            return Err(ApiError::Unauthorized(
                "missing Authorization: Bearer <token> (set AIRLOCK_TOKEN or --token-file)".into(),
            ));
        }
        Ok(Caller {
            token,
            peer,
            passkey_operator: None,
        })
    }

    /// Whether the caller administers this instance.
    pub fn is_admin(&self, caller: &Caller) -> bool {
        if self.config.is_service() {
            caller
                .peer
                .as_ref()
                .is_some_and(|p| p.uid == 0 || p.user.as_ref().is_some_and(|u| self.config.server.admins.contains(u)))
        } else {
            caller.token.as_ref().is_some_and(|t| t.operator)
        }
    }

    pub(crate) fn require_admin(&self, caller: &Caller) -> Result<(), ApiError> {
        if self.is_admin(caller) {
            return Ok(());
        }
        Err(ApiError::Forbidden(if self.config.is_service() {
            format!(
                "{} is not an administrator of this Airlock: run it as root (sudo), or as a unix user listed in [server] admins",
                caller.peer.as_ref().map_or_else(|| "this caller".to_owned(), Peer::label)
            )
        } else {
            "this needs an operator token (alko_…); agent tokens can only submit actions and read their own results"
                .into()
        }))
    }

    /// Whether the caller may see every held action and the log: administrators, operators proven
    /// by their unix user or (on the approval page) their passkey; in local mode operator tokens.
    pub(crate) fn is_overseer(&self, caller: &Caller) -> Result<bool, ApiError> {
        if self.is_admin(caller) {
            return Ok(true);
        }
        if let Some(name) = &caller.passkey_operator {
            return Ok(self.store.operator(name)?.is_some());
        }
        if !self.config.is_service() {
            return Ok(false);
        }
        Ok(self.operator_by_peer(caller)?.is_some())
    }

    /// The agent an action is submitted as: the token's, or for a tokenless socket caller the
    /// agent it names, with the environments its `[[agent]]` entry gives.
    pub fn agent_of(&self, caller: &Caller, claimed: Option<&str>) -> Result<TokenRecord, ApiError> {
        if let Some(t) = &caller.token {
            return Ok(t.clone());
        }
        let peer = caller
            .peer
            .as_ref()
            .ok_or_else(|| ApiError::Unauthorized("an action needs a token or Airlock's socket".into()))?;
        let name = claimed.filter(|n| !n.trim().is_empty()).unwrap_or("agent");
        self.agent_named(name, Some(peer.uid))
    }

    /// An agent without a token of its own: its name, the environments its `[[agent]]` entry gives,
    /// and the unix user it runs as (when known).
    pub fn agent_named(&self, name: &str, uid: Option<u32>) -> Result<TokenRecord, ApiError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
            return Err(ApiError::BadRequest(
                "an agent name is 1 to 64 printable characters".into(),
            ));
        }
        let environments = self
            .config
            .agents
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.environments.clone())
            .unwrap_or_default();
        Ok(TokenRecord {
            id: match uid {
                Some(u) => format!(
                    "unix:{}",
                    crate::peer::user_name(u).unwrap_or_else(|| format!("uid {u}"))
                ),
                None => "explain".into(),
            },
            hash: String::new(),
            agent: name.to_owned(),
            operator: false,
            environments,
            max_risk: None,
            created_at: 0,
            expires_at: None,
            revoked_at: None,
            scram: None,
            unix_uid: uid,
        })
    }

    /// Issues a token: administrators any; in service mode any local unix user an agent token for
    /// itself, bound to its unix user and no wider than its `[[agent]]` entry allows.
    pub fn issue_token_for(
        &self,
        caller: &Caller,
        mut new: crate::api::NewToken,
    ) -> Result<(String, TokenRecord), ApiError> {
        if self.is_admin(caller) {
            return self.issue_token(&new);
        }
        let Some(peer) = caller.peer.as_ref().filter(|_| self.config.is_service()) else {
            return Err(ApiError::Forbidden("issuing tokens needs an administrator".into()));
        };
        if new.operator {
            return Err(ApiError::Forbidden(
                "only an administrator issues operator tokens".into(),
            ));
        }
        let user = peer
            .user
            .clone()
            .ok_or_else(|| ApiError::Forbidden(format!("uid {} has no user name to bind a token to", peer.uid)))?;
        if new.unix_user.as_deref().is_some_and(|u| u != user) {
            return Err(ApiError::Forbidden(format!(
                "{user} may issue tokens for itself only; an administrator issues them for others"
            )));
        }
        new.unix_user = Some(user);
        let defaults = self
            .config
            .agents
            .iter()
            .find(|a| a.name == new.agent)
            .map(|a| a.environments.clone())
            .unwrap_or_default();
        if new.environments.is_empty() {
            new.environments = defaults;
        } else if !defaults.is_empty() {
            if let Some(e) = new.environments.iter().find(|e| !defaults.contains(e)) {
                return Err(ApiError::Forbidden(format!(
                    "agent {} may reach {} only ([[agent]] in the config); {e} needs an administrator",
                    new.agent,
                    defaults.join(", ")
                )));
            }
        }
        self.issue_token(&new)
    }

    /// The operator whose unix user is the caller's peer, when that user never acted as an agent.
    fn operator_by_peer(&self, caller: &Caller) -> Result<Option<Approver>, ApiError> {
        let Some(peer) = &caller.peer else {
            return Ok(None);
        };
        if self.store.agent_users()?.iter().any(|(uid, _)| *uid == peer.uid) {
            return Ok(None);
        }
        if peer.uid == 0 {
            return Ok(Some(Approver {
                name: "root".into(),
                proof: "unix:root".into(),
            }));
        }
        let Some(user) = &peer.user else {
            return Ok(None);
        };
        Ok(self
            .store
            .operators()?
            .into_iter()
            .find(|o| o.unix_user.as_deref() == Some(user.as_str()))
            .map(|o| Approver {
                name: o.name,
                proof: format!("unix:{user}"),
            }))
    }

    /// Checks a TOTP code for an operator: locked after repeated failures, each code good once.
    fn operator_by_totp(&self, proof: &TotpProof) -> Result<Approver, ApiError> {
        let at = crate::now();
        let refused = || ApiError::Forbidden(format!("no operator {:?} with that code", proof.operator));
        let op = self.store.operator(&proof.operator)?.ok_or_else(refused)?;
        if op.locked_until.is_some_and(|u| at < u) {
            return Err(ApiError::Forbidden(format!(
                "operator {} is locked after {TOTP_FAILURE_LIMIT} wrong codes; try again in a few minutes",
                op.name
            )));
        }
        let secret = op
            .totp_secret
            .as_deref()
            .ok_or_else(|| ApiError::Forbidden(format!("operator {} has no authenticator enrolled", op.name)))?;
        let Some(step) = crate::totp::matching_step(secret, &proof.code, at) else {
            self.store
                .totp_failure(&op.name, at, TOTP_FAILURE_LIMIT, TOTP_LOCK_SECS)?;
            self.audit(
                "operator.totp_refused",
                None,
                serde_json::json!({ "operator": op.name }),
            )?;
            return Err(refused());
        };
        if !self.store.spend_totp_step(&op.name, step)? {
            return Err(ApiError::Forbidden(
                "that code was already used; wait for the next one".into(),
            ));
        }
        Ok(Approver {
            name: op.name,
            proof: "totp".into(),
        })
    }

    /// Who approves (or denies) `action`, and how they proved it; refused when the caller cannot
    /// prove to be an operator, or is the one who asked.
    pub(crate) fn approver(
        &self,
        caller: &Caller,
        totp: Option<&TotpProof>,
        action: &ActionRecord,
    ) -> Result<Approver, ApiError> {
        let who = if !self.config.is_service() {
            let t = caller.token.as_ref().filter(|t| t.operator).ok_or_else(|| {
                ApiError::Forbidden(
                    "this needs an operator token (alko_…); agent tokens can only submit actions and read their own results"
                        .into(),
                )
            })?;
            Approver {
                name: t.agent.clone(),
                proof: format!("token:{}", t.id),
            }
        } else if let Some(name) = &caller.passkey_operator {
            let op = self
                .store
                .operator(name)?
                .ok_or_else(|| ApiError::Forbidden(format!("operator {name} was removed")))?;
            Approver {
                name: op.name,
                proof: "passkey".into(),
            }
        } else if let Some(proof) = totp {
            self.operator_by_totp(proof)?
        } else if let Some(a) = self.operator_by_peer(caller)? {
            a
        } else {
            return Err(ApiError::Forbidden(format!(
                "{} cannot approve: approvals need proof an agent cannot produce — an operator's own unix user (one that never ran an agent), or an operator's authenticator code (`airlock approve ID --totp`). Tokens do not approve in service mode.",
                caller.peer.as_ref().map_or_else(|| "this caller".to_owned(), Peer::label)
            )));
        };
        let same_token = caller.token.as_ref().is_some_and(|t| t.id == action.token_id);
        let same_user = self.config.is_service()
            && totp.is_none()
            && caller.passkey_operator.is_none()
            && caller.peer.as_ref().is_some_and(|p| Some(p.uid) == action.peer_uid);
        if same_token || same_user || who.name == action.agent {
            return Err(ApiError::Forbidden(format!(
                "action {} was requested by {}; someone else must approve it",
                action.id, action.agent
            )));
        }
        Ok(who)
    }
}
