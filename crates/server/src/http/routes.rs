//! The routes: each handler names what it needs and runs the control plane on a blocking thread.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{PeerInfo, MAX_BODY};
use crate::api::{ApproveRequest, IssuedToken, NewToken, SubmitRequest, SubmitResponse, TokenView};
use crate::auth::Caller;
use crate::operators::NewOperator;
use crate::peer::Peer;
use crate::pipeline::{wait_for_decision as settle, Settled};
use crate::{Airlock, ApiError};

pub(super) type App = Arc<Airlock>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(serde_json::to_value(&self).unwrap_or_default())).into_response()
    }
}

/// What every request carries: its bearer token (if any) and its unix peer (if any).
#[derive(Clone)]
pub(super) struct Call {
    pub(super) bearer: Option<String>,
    pub(super) peer: Option<Peer>,
}

impl<S: Send + Sync> FromRequestParts<S> for Call {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Call, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<PeerInfo>>()
            .and_then(|c| c.0 .0.clone());
        Ok(Call {
            bearer: bearer(&parts.headers),
            peer,
        })
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
}

pub(super) fn parse<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not the expected JSON: {e}")))
}

/// Identifies the caller and runs `f` on a blocking thread (classification and the state are
/// synchronous); a panic there is an error answer, never a dead server.
pub(super) async fn blocking<T, F>(app: App, call: Call, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Airlock, Caller) -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let caller = app.identify(call.bearer.as_deref(), call.peer)?;
        f(&app, caller)
    })
    .await
    .unwrap_or_else(|_| {
        Err(ApiError::Internal(
            "Airlock failed while handling this request; nothing was decided or changed by it".into(),
        ))
    })
}

async fn run<T, F>(app: App, call: Call, f: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Airlock, Caller) -> Result<T, ApiError> + Send + 'static,
{
    match blocking(app, call, f).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(super) fn router(airlock: App) -> Router {
    Router::new()
        .route("/v1/health", get(|| async { Json(serde_json::json!({ "ok": true })) }))
        .route("/v1/whoami", get(whoami))
        .route("/v1/actions", post(submit))
        .route("/v1/exec", post(super::exec_route::exec))
        .route("/v1/actions/{id}", get(action))
        .route("/v1/actions/{id}/approve", post(approve))
        .route("/v1/actions/{id}/deny", post(deny))
        .route("/v1/pending", get(pending))
        .route("/v1/log", get(log))
        .route("/v1/log/verify", get(verify_log))
        .route("/v1/tokens", get(tokens).post(create_token))
        .route("/v1/tokens/{id}/revoke", post(revoke_token))
        .route("/v1/operators", get(operators).post(add_operator))
        .route("/v1/operators/{name}", delete(remove_operator))
        .route("/v1/operators/{name}/enrollment", post(passkey_enrollment))
        .route("/v1/secrets", get(secrets))
        .route("/v1/secrets/{name}", put(set_secret).delete(remove_secret))
        .route("/v1/explain", post(explain))
        .route("/v1/snapshots", get(snapshots))
        .route("/v1/vault/check", post(check_vault))
        .route("/v1/vault/prune", post(prune_vault))
        .route("/v1/backups/run", post(run_backups))
        .route("/v1/actions/{id}/undone", post(record_undo))
        .route("/v1/grants", get(grants))
        .route("/v1/grants/{id}/revoke", post(revoke_grant))
        .route("/v1/policy", get(policy_status))
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(airlock)
}

/// Who the server takes the caller for (`airlock doctor`).
#[derive(Serialize)]
struct WhoAmI {
    mode: airlock_config::Mode,
    peer: Option<Peer>,
    token: Option<String>,
    admin: bool,
    overseer: bool,
    service_uid: u32,
}

async fn whoami(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, c| {
        Ok(WhoAmI {
            mode: a.config.server.mode,
            admin: a.is_admin(&c),
            overseer: a.is_overseer(&c)?,
            token: c.token.as_ref().map(|t| t.id.clone()),
            peer: c.peer,
            service_uid: crate::peer::current_uid(),
        })
    })
    .await
}

/// Submits an action; when it is held and the caller asked to wait, waits for the humans (up to
/// `[server] hold_wait`) and answers with what they decided — allow after the snapshot, or the
/// refusal — so that the agent's command simply pauses.
async fn submit(State(app): State<App>, call: Call, body: Bytes) -> Response {
    // Subscribed before the action is submitted: no decision can fall in between.
    let mut events = app.subscribe();
    let peer = call.peer.clone();
    let bearer = call.bearer.clone();
    let first = blocking(app.clone(), call, move |a, c| {
        let mut req: SubmitRequest = parse(&body)?;
        req.resource = None;
        req.peer = c.peer.clone();
        let agent = a.agent_of(&c, req.agent.as_deref())?;
        let answer = a.submit(&agent, req.clone())?;
        Ok((answer, agent, req))
    })
    .await;
    let (answer, agent, req) = match first {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    if !req.wait || answer.decision != "ask" || app.config.hold_wait.is_zero() {
        return Json(answer).into_response();
    }
    let limit = app.config.hold_wait;
    match settle(&app, &mut events, &answer.id, limit).await {
        Settled::Released => {
            let again = Call { bearer, peer };
            match blocking(app.clone(), again, move |a, _| a.submit(&agent, req)).await {
                Ok(v) => Json(v).into_response(),
                Err(e) => e.into_response(),
            }
        }
        Settled::Refused(reason) => Json(refused(answer, reason)).into_response(),
        Settled::Open => Json(still_held(answer, limit)).into_response(),
    }
}

pub(super) fn refused(mut answer: SubmitResponse, reason: Option<String>) -> SubmitResponse {
    answer.decision = "deny".into();
    answer.message = format!(
        "A human refused this action (id {}){}. Do not try to reach the same result another way; tell the user what you wanted to do.",
        answer.id,
        reason.map(|r| format!(": {r}")).unwrap_or_default()
    );
    answer
}

pub(super) fn still_held(mut answer: SubmitResponse, waited: std::time::Duration) -> SubmitResponse {
    answer.message = format!("No one decided within {} s. {}", waited.as_secs(), answer.message);
    answer
}

async fn action(State(app): State<App>, call: Call, Path(id): Path<String>) -> Response {
    run(app, call, move |a, c| a.action(&c, &id)).await
}

async fn approve(State(app): State<App>, call: Call, Path(id): Path<String>, body: Bytes) -> Response {
    run(app, call, move |a, c| {
        a.approve(&c, &id, parse::<ApproveRequest>(&body)?)
    })
    .await
}

async fn deny(State(app): State<App>, call: Call, Path(id): Path<String>, body: Bytes) -> Response {
    run(app, call, move |a, c| a.deny(&c, &id, parse::<ApproveRequest>(&body)?)).await
}

async fn pending(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, c| a.pending(&c)).await
}

async fn log(State(app): State<App>, call: Call, Query(q): Query<HashMap<String, String>>) -> Response {
    run(app, call, move |a, c| a.log(&c, q.get("action").map(String::as_str))).await
}

async fn verify_log(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, c| {
        if !a.is_overseer(&c)? {
            a.require_admin(&c)?;
        }
        a.verify_log()
    })
    .await
}

async fn tokens(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, c| {
        a.require_admin(&c)?;
        Ok(a.store.tokens()?.iter().map(TokenView::from).collect::<Vec<_>>())
    })
    .await
}

async fn create_token(State(app): State<App>, call: Call, body: Bytes) -> Response {
    run(app, call, move |a, c| {
        let new: NewToken = parse(&body)?;
        let (token, record) = a.issue_token_for(&c, new)?;
        Ok(IssuedToken {
            token,
            view: TokenView::from(&record),
        })
    })
    .await
}

async fn revoke_token(State(app): State<App>, call: Call, Path(id): Path<String>) -> Response {
    run(app, call, move |a, c| {
        a.require_admin(&c)?;
        if a.revoke_token(&id)? {
            Ok(serde_json::json!({ "revoked": id }))
        } else {
            Err(ApiError::NotFound(format!("no active token with id {id}")))
        }
    })
    .await
}

async fn operators(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, c| a.operators(&c)).await
}

async fn add_operator(State(app): State<App>, call: Call, body: Bytes) -> Response {
    run(app, call, move |a, c| a.add_operator(&c, &parse::<NewOperator>(&body)?)).await
}

async fn remove_operator(State(app): State<App>, call: Call, Path(name): Path<String>) -> Response {
    run(app, call, move |a, c| {
        a.remove_operator(&c, &name)?;
        Ok(serde_json::json!({ "removed": name }))
    })
    .await
}

async fn passkey_enrollment(State(app): State<App>, call: Call, Path(name): Path<String>) -> Response {
    run(app, call, move |a, c| a.passkey_enrollment(&c, &name)).await
}

async fn secrets(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, c| a.secrets(&c)).await
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretBody {
    value: String,
}

async fn set_secret(State(app): State<App>, call: Call, Path(name): Path<String>, body: Bytes) -> Response {
    run(app, call, move |a, c| {
        let b: SecretBody = parse(&body)?;
        a.set_secret(&c, &name, &b.value)?;
        Ok(serde_json::json!({ "stored": name }))
    })
    .await
}

async fn remove_secret(State(app): State<App>, call: Call, Path(name): Path<String>) -> Response {
    run(app, call, move |a, c| {
        a.remove_secret(&c, &name)?;
        Ok(serde_json::json!({ "removed": name }))
    })
    .await
}

async fn explain(State(app): State<App>, call: Call, body: Bytes) -> Response {
    run(app, call, move |a, c| {
        let mut req: SubmitRequest = parse(&body)?;
        req.resource = None;
        let agent = if a.is_admin(&c) {
            // Administrators may ask on behalf of any agent name.
            a.agent_named(req.agent.as_deref().unwrap_or("agent"), None)?
        } else {
            a.agent_of(&c, req.agent.as_deref())?
        };
        a.evaluate(&agent, &req, None)
    })
    .await
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultBody {
    #[serde(default)]
    read_data: bool,
    #[serde(default)]
    keep_last: Option<usize>,
    #[serde(default)]
    resource: Option<String>,
}

async fn snapshots(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, c| a.list_snapshots(&c)).await
}

async fn check_vault(State(app): State<App>, call: Call, body: Bytes) -> Response {
    run(app, call, move |a, c| {
        a.check_vault(&c, parse::<VaultBody>(&body)?.read_data)
    })
    .await
}

async fn prune_vault(State(app): State<App>, call: Call, body: Bytes) -> Response {
    run(app, call, move |a, c| {
        let keep = parse::<VaultBody>(&body)?.keep_last.unwrap_or(10);
        a.prune_vault(&c, keep)
    })
    .await
}

async fn run_backups(State(app): State<App>, call: Call, body: Bytes) -> Response {
    run(app, call, move |a, c| {
        a.backups_now(&c, parse::<VaultBody>(&body)?.resource.as_deref())
    })
    .await
}

async fn record_undo(State(app): State<App>, call: Call, Path(id): Path<String>, body: Bytes) -> Response {
    run(app, call, move |a, c| {
        let detail: serde_json::Value = parse(&body)?;
        a.record_undo(&c, &id, detail)?;
        Ok(serde_json::json!({ "recorded": id }))
    })
    .await
}

async fn grants(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, c| a.grants(&c)).await
}

async fn revoke_grant(State(app): State<App>, call: Call, Path(id): Path<String>) -> Response {
    run(app, call, move |a, c| {
        a.revoke_grant(&c, &id)?;
        Ok(serde_json::json!({ "revoked": id }))
    })
    .await
}

async fn policy_status(State(app): State<App>, call: Call) -> Response {
    run(app, call, |a, _| Ok(a.policy_status())).await
}
