//! Tokens: issued (shown once, stored as a SHA-256 hash and a SCRAM verifier), checked in constant
//! time, revoked.

use airlock_store::{generate_token, hash_token, token_id, ScramVerifier, TokenKind, TokenRecord, SCRAM_ITERATIONS};
use serde_json::json;

use crate::api::NewToken;
use crate::ids::{constant_time_eq, now};
use crate::{Airlock, ApiError};

impl Airlock {
    /// Issues a token; returns it (shown once) and its record.
    pub fn create_token(
        &self,
        agent: &str,
        operator: bool,
        environments: Vec<String>,
        max_risk: Option<String>,
        ttl: Option<std::time::Duration>,
    ) -> Result<(String, TokenRecord), ApiError> {
        self.issue_token(&NewToken {
            agent: agent.to_owned(),
            operator,
            environments,
            max_risk,
            ttl_secs: ttl.map(|d| d.as_secs()),
            unix_user: None,
        })
    }

    /// Issues a token as `new` describes; returns it (shown once) and its record.
    pub fn issue_token(&self, new: &NewToken) -> Result<(String, TokenRecord), ApiError> {
        let NewToken {
            agent,
            operator,
            environments,
            max_risk,
            ttl_secs,
            unix_user,
        } = new.clone();
        let agent = agent.as_str();
        let ttl = ttl_secs.map(std::time::Duration::from_secs);
        let unix_uid = match &unix_user {
            Some(u) => Some(
                crate::peer::user_by_name(u)
                    .ok_or_else(|| ApiError::BadRequest(format!("there is no unix user {u:?} on this machine")))?
                    .uid,
            ),
            None => None,
        };
        if agent.is_empty() || agent.len() > 64 || agent.chars().any(char::is_control) {
            return Err(ApiError::BadRequest("a token needs an agent name".into()));
        }
        if let Some(r) = &max_risk {
            if !matches!(r.as_str(), "read" | "write" | "destructive") {
                return Err(ApiError::BadRequest(format!(
                    "--max-risk {r:?} is not read, write or destructive"
                )));
            }
        }
        let kind = if operator {
            TokenKind::Operator
        } else {
            TokenKind::Agent
        };
        let token = generate_token(kind).map_err(|e| ApiError::Internal(format!("no randomness for a token: {e}")))?;
        let scram = ScramVerifier::new(&token, &self.scram_salt()?, SCRAM_ITERATIONS);
        let at = now();
        let record = TokenRecord {
            id: token_id(&token).unwrap_or_default(),
            hash: hash_token(&token),
            agent: agent.to_owned(),
            operator,
            environments,
            max_risk,
            created_at: at,
            expires_at: ttl.map(|d| at + d.as_secs() as i64),
            revoked_at: None,
            scram: Some(scram.encode()),
            unix_uid,
        };
        self.store.insert_token(&record)?;
        self.audit(
            "token.created",
            None,
            json!({ "token": record.id, "agent": agent, "operator": operator, "environments": record.environments, "max_risk": record.max_risk, "expires_at": record.expires_at, "unix_user": unix_user }),
        )?;
        Ok((token, record))
    }

    pub fn revoke_token(&self, id: &str) -> Result<bool, ApiError> {
        let done = self.store.revoke_token(id, now())?;
        if done {
            self.audit("token.revoked", None, json!({ "token": id }))?;
        }
        Ok(done)
    }

    /// Checks a bearer token: format and checksum, then its stored hash in constant time, then
    /// revocation and expiry. Errors never echo the token.
    pub fn authenticate(&self, token: &str) -> Result<TokenRecord, ApiError> {
        let token = token.trim();
        if !airlock_classify::is_airlock_token(token) {
            return Err(ApiError::Unauthorized(
                "that is not an Airlock token (expected alk_… or alko_… with a valid checksum); set AIRLOCK_TOKEN or --token-file".into(),
            ));
        }
        let id = token_id(token).unwrap_or_default();
        let record = self
            .store
            .token(&id)?
            .ok_or_else(|| ApiError::Unauthorized(format!("token {id}… is not known to this Airlock")))?;
        if !constant_time_eq(&record.hash, &hash_token(token)) {
            return Err(ApiError::Unauthorized(format!(
                "token {id}… is not known to this Airlock"
            )));
        }
        if record.operator != token.starts_with("alko_") {
            return Err(ApiError::Unauthorized(format!(
                "token {id}… has the wrong prefix for its kind"
            )));
        }
        if !record.is_usable(now()) {
            return Err(ApiError::Unauthorized(format!(
                "token {id}… is revoked or expired; ask an operator for a new one"
            )));
        }
        Ok(record)
    }
}
