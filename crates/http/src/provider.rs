//! Calls Airlock itself makes to a provider, with the resource's credential: a pack's protective
//! calls before a destructive operation, and its undo. JSON in, JSON out; a GraphQL answer with
//! errors is a failure.

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;

use crate::request::credential_header;
use crate::resource::Resource;
use crate::HttpError;

/// Answers larger than this are not read.
const MAX_ANSWER: usize = 8 << 20;

/// A call, rendered: what is sent.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rendered {
    pub method: String,
    /// Relative to the resource's url (empty: the url itself, as for GraphQL).
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
}

/// Sends `call` to `resource` with `secret`; the answer's status and JSON body.
pub async fn send(resource: &Resource, secret: &str, call: &Rendered) -> Result<(u16, Value), HttpError> {
    let (name, value) =
        credential_header(&resource.auth_header, &resource.auth_template, secret).map_err(HttpError::Secret)?;
    let body = call.json.as_ref().map(Value::to_string).unwrap_or_default();
    let mut builder = Request::builder()
        .method(call.method.as_str())
        .uri(resource.upstream_path(&call.path, None))
        .header(http::header::HOST, resource.upstream.host.as_str())
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "airlock")
        .header(name, value);
    if call.json.is_some() {
        builder = builder.header(http::header::CONTENT_TYPE, "application/json");
    }
    let req = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| HttpError::Upstream(format!("cannot build the call: {e}")))?;
    let answer: Response<_> = resource.upstream.send(req).await?;
    let status = answer.status().as_u16();
    let bytes = Limited::new(answer.into_body(), MAX_ANSWER)
        .collect()
        .await
        .map_err(|e| HttpError::Upstream(format!("reading {}'s answer: {e}", resource.name)))?
        .to_bytes();
    let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, json))
}

/// The answer, when it is a success: 2xx and no GraphQL errors.
pub fn success(what: &str, status: u16, json: Value, secret: &str) -> Result<Value, HttpError> {
    let errors = json.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty());
    if (200..300).contains(&status) && errors.is_none() {
        return Ok(json);
    }
    let detail = match errors {
        Some(e) => e
            .iter()
            .filter_map(|x| x.get("message").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("; "),
        None => json.to_string().chars().take(300).collect(),
    };
    // Whatever the provider said, it never carries the credential on.
    let detail = String::from_utf8_lossy(&crate::mask::mask(detail.as_bytes(), secret.as_bytes())).into_owned();
    Err(HttpError::Protect(format!(
        "{what}: the provider answered {status}: {detail}"
    )))
}
