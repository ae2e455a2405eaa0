//! The secret store as administrators reach it through the socket: names in, values never out.

use serde_json::json;

use crate::auth::Caller;
use crate::{Airlock, ApiError};

fn secret_error(e: airlock_config::SecretError) -> ApiError {
    match e {
        airlock_config::SecretError::Io { .. } => ApiError::Internal(e.to_string()),
        airlock_config::SecretError::Missing(_) => ApiError::NotFound(e.to_string()),
        _ => ApiError::BadRequest(e.to_string()),
    }
}

impl Airlock {
    /// Stores (or replaces) a secret. The value is never echoed, logged or returned.
    pub fn set_secret(&self, caller: &Caller, name: &str, value: &str) -> Result<(), ApiError> {
        self.require_admin(caller)?;
        let dir = self.config.secrets_dir().map_err(ApiError::Internal)?;
        airlock_config::write_secret(&dir, name, value).map_err(secret_error)?;
        self.audit(
            "secret.set",
            None,
            json!({ "secret": name, "by": caller.peer.as_ref().map(crate::peer::Peer::label) }),
        )?;
        Ok(())
    }

    pub fn secrets(&self, caller: &Caller) -> Result<Vec<String>, ApiError> {
        self.require_admin(caller)?;
        let dir = self.config.secrets_dir().map_err(ApiError::Internal)?;
        airlock_config::list_secrets(&dir).map_err(secret_error)
    }

    pub fn remove_secret(&self, caller: &Caller, name: &str) -> Result<(), ApiError> {
        self.require_admin(caller)?;
        let dir = self.config.secrets_dir().map_err(ApiError::Internal)?;
        if !airlock_config::remove_secret(&dir, name).map_err(secret_error)? {
            return Err(ApiError::NotFound(format!("no secret named {name}")));
        }
        self.audit("secret.removed", None, json!({ "secret": name }))?;
        Ok(())
    }
}
