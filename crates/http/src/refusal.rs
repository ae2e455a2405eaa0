//! What an agent is told when a call does not go through, as JSON it (and a GraphQL client, which
//! reads `errors`) can show: what happened, the action's id, and how a human lets it run.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{json, Value};

/// A call the gateway answers itself.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    /// `held`, `refused`, `unauthorized`, `not_found`, `too_large`, `protect_failed`, `upstream`, `error`.
    pub kind: &'static str,
    pub message: String,
    pub detail: Value,
}

impl Refusal {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            kind,
            message: message.into(),
            detail: json!({}),
        }
    }

    #[must_use]
    pub fn with(mut self, detail: Value) -> Refusal {
        self.detail = detail;
        self
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut airlock = json!({ "decision": self.kind, "message": self.message });
        if let (Value::Object(a), Value::Object(d)) = (&mut airlock, self.detail) {
            a.extend(d);
        }
        let id = airlock.get("id").and_then(Value::as_str).map(str::to_owned);
        let body = json!({
            "errors": [{ "message": self.message, "extensions": { "code": "AIRLOCK_".to_owned() + &self.kind.to_ascii_uppercase() } }],
            "airlock": airlock,
        });
        let mut r = (self.status, axum::Json(body)).into_response();
        if let Some(v) = id.and_then(|i| http::HeaderValue::from_str(&i).ok()) {
            r.headers_mut().insert("x-airlock-action", v);
        }
        r
    }
}
