//! Operators: the people who approve. Enrolled by an administrator, each with an authenticator
//! secret (TOTP) shown once, and optionally a unix user whose socket connections prove them.

use airlock_store::OperatorRecord;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::Caller;
use crate::{now, Airlock, ApiError};

/// `POST /v1/operators`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOperator {
    pub name: String,
    /// A unix user whose socket connections prove this operator (never one that runs agents).
    #[serde(default)]
    pub unix_user: Option<String>,
    /// Enroll an authenticator (TOTP) secret.
    #[serde(default = "yes")]
    pub totp: bool,
}

fn yes() -> bool {
    true
}

/// An operator as listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OperatorView {
    pub name: String,
    pub unix_user: Option<String>,
    pub totp: bool,
    pub locked_until: Option<i64>,
    pub created_at: i64,
}

/// A new operator: the authenticator secret, shown this once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Enrollment {
    #[serde(flatten)]
    pub operator: OperatorView,
    pub totp_secret: Option<String>,
    pub totp_uri: Option<String>,
    /// When the approval page is on: the one-time code that enrolls the operator's passkey.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passkey: Option<PasskeyEnrollment>,
}

/// A one-time code an operator types on the approval page to enroll a passkey (shown this once;
/// only its hash is kept). A newer code voids an unused older one.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasskeyEnrollment {
    pub operator: String,
    pub code: String,
    /// Where to type it.
    pub url: String,
    pub expires_at: i64,
}

impl From<&OperatorRecord> for OperatorView {
    fn from(o: &OperatorRecord) -> OperatorView {
        OperatorView {
            name: o.name.clone(),
            unix_user: o.unix_user.clone(),
            totp: o.totp_secret.is_some(),
            locked_until: o.locked_until,
            created_at: o.created_at,
        }
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

impl Airlock {
    pub fn add_operator(&self, caller: &Caller, new: &NewOperator) -> Result<Enrollment, ApiError> {
        self.require_admin(caller)?;
        if !valid_name(&new.name) || new.name == "root" {
            return Err(ApiError::BadRequest(format!(
                "{:?} is not an operator name: use 1–64 letters, digits, '.', '_', '@' or '-' (and not root)",
                new.name
            )));
        }
        if let Some(u) = &new.unix_user {
            let user = crate::peer::user_by_name(u)
                .ok_or_else(|| ApiError::BadRequest(format!("there is no unix user {u:?} on this machine")))?;
            if self.store.agent_users()?.iter().any(|(uid, _)| *uid == user.uid) {
                return Err(ApiError::BadRequest(format!(
                    "unix user {u} has run agents through Airlock, so its connections cannot prove an operator; give the operator an authenticator instead (omit --unix-user)"
                )));
            }
        }
        if new.unix_user.is_none() && !new.totp {
            return Err(ApiError::BadRequest(
                "an operator needs a way to prove who they are: an authenticator (TOTP) or a unix user".into(),
            ));
        }
        let secret = if new.totp {
            Some(crate::totp::new_secret().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?)
        } else {
            None
        };
        let record = OperatorRecord {
            name: new.name.clone(),
            unix_user: new.unix_user.clone(),
            totp_secret: secret.clone(),
            totp_last_step: 0,
            failures: 0,
            locked_until: None,
            created_at: now(),
            removed_at: None,
        };
        if !self.store.insert_operator(&record)? {
            return Err(ApiError::Conflict(format!(
                "operator {} exists; `airlock operator remove {}` first to enroll them again",
                new.name, new.name
            )));
        }
        self.audit(
            "operator.added",
            None,
            json!({ "operator": new.name, "unix_user": new.unix_user, "totp": new.totp, "by": caller.peer.as_ref().map(crate::peer::Peer::label) }),
        )?;
        let host = hostname();
        let passkey = if self.config.web.enabled() {
            Some(self.issue_passkey_code(&new.name)?)
        } else {
            None
        };
        Ok(Enrollment {
            operator: OperatorView::from(&record),
            totp_uri: secret
                .as_deref()
                .map(|s| crate::totp::otpauth_uri(&format!("Airlock {host}"), &new.name, s)),
            totp_secret: secret,
            passkey,
        })
    }

    /// A new one-time code for an operator to enroll a passkey on the approval page (a new phone,
    /// a lost key, or an operator enrolled before the page was on).
    pub fn passkey_enrollment(&self, caller: &Caller, name: &str) -> Result<PasskeyEnrollment, ApiError> {
        self.require_admin(caller)?;
        if !self.config.web.enabled() {
            return Err(ApiError::Conflict(
                "the approval page is off: set [web] listen in the config first".into(),
            ));
        }
        if self.store.operator(name)?.is_none() {
            return Err(ApiError::NotFound(format!("no operator {name}")));
        }
        self.issue_passkey_code(name)
    }

    fn issue_passkey_code(&self, name: &str) -> Result<PasskeyEnrollment, ApiError> {
        let code =
            airlock_store::generate_enrollment_code().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
        let at = now();
        let expires_at = at + self.config.enrollment_ttl.as_secs() as i64;
        self.store.insert_enrollment(&airlock_store::EnrollmentRecord {
            code_hash: airlock_store::enrollment_code_hash(&code),
            operator: name.to_owned(),
            created_at: at,
            expires_at,
            used_at: None,
        })?;
        self.audit(
            "operator.enrollment_code",
            None,
            json!({ "operator": name, "expires_at": expires_at }),
        )?;
        Ok(PasskeyEnrollment {
            operator: name.to_owned(),
            code,
            url: format!(
                "{}/enroll?operator={name}",
                self.config.web.origin().unwrap_or_default()
            ),
            expires_at,
        })
    }

    pub fn operators(&self, caller: &Caller) -> Result<Vec<OperatorView>, ApiError> {
        if !self.is_overseer(caller)? {
            self.require_admin(caller)?;
        }
        Ok(self.store.operators()?.iter().map(OperatorView::from).collect())
    }

    pub fn remove_operator(&self, caller: &Caller, name: &str) -> Result<(), ApiError> {
        self.require_admin(caller)?;
        if !self.store.remove_operator(name, now())? {
            return Err(ApiError::NotFound(format!("no operator {name}")));
        }
        self.audit("operator.removed", None, json!({ "operator": name }))?;
        Ok(())
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}
