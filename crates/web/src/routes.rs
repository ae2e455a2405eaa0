//! The page's routes. Every request first passes [`guard`] (agent users refused, security headers
//! on every answer); pages need a session; every POST needs this page's origin, and every form a
//! session's CSRF token.
//!
//! ```text
//! GET  /login, POST /login/options, POST /login         sign in with a passkey
//! GET  /enroll, POST /enroll/options, POST /enroll      enroll a passkey with a one-time code
//! GET  /                                                held actions (live)
//! GET  /pending.html                                    the list alone (the live refresh)
//! GET  /events                                          server-sent events: one per audit entry about an action
//! GET  /actions/ID, POST /actions/ID/approve|deny       one action; a decision with a reason
//! GET  /history                                         the audit chain and whether it verifies
//! POST /logout
//! ```

use std::convert::Infallible;
use std::sync::Arc;

use airlock_server::{Airlock, ApiError, ApproveRequest, Caller};
use airlock_store::{enrollment_code_hash, PasskeyRecord};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::json;

use crate::pages::{self, ActionExtras, Viewer};
use crate::state::{Purpose, Session, State as Memory};
use crate::webauthn::{self, Assertion, RelyingParty, WebAuthnError};

/// The newest audit entries the history page shows.
const HISTORY_ROWS: usize = 200;

/// Everything the handlers share.
pub(crate) struct App {
    pub(crate) airlock: Arc<Airlock>,
    pub(crate) memory: Memory,
    pub(crate) rp: RelyingParty,
    /// Served over TLS: cookies are `Secure` and `__Host-` prefixed.
    pub(crate) tls: bool,
    pub(crate) session_ttl: i64,
}

type Shared = Arc<App>;

/// The connection a request came on, put in by the server for [`guard`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Conn {
    /// The unix user owning the client's socket, when it is on this machine.
    pub(crate) uid: Option<u32>,
}

impl App {
    fn cookie_name(&self) -> &'static str {
        if self.tls {
            "__Host-airlock_session"
        } else {
            "airlock_session"
        }
    }

    fn set_cookie(&self, value: &str, max_age: i64) -> String {
        format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
            self.cookie_name(),
            if self.tls { "; Secure" } else { "" }
        )
    }

    fn cookie<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        let name = self.cookie_name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// The signed-in session, with its cookie.
    fn session(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let cookie = self.cookie(headers)?;
        Some((cookie.to_owned(), self.memory.session(cookie, airlock_server::now())?))
    }

    /// A POST from this page: its `Origin` (or, without one, its `Referer`) is the page's origin.
    fn same_origin(&self, headers: &HeaderMap) -> bool {
        let header = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
        match (header(header::ORIGIN), header(header::REFERER)) {
            (Some(origin), _) => origin == self.rp.origin,
            (None, Some(referer)) => referer
                .strip_prefix(self.rp.origin.as_str())
                .is_some_and(|rest| rest.starts_with('/')),
            (None, None) => false,
        }
    }
}

fn caller(operator: &str) -> Caller {
    Caller {
        passkey_operator: Some(operator.to_owned()),
        ..Caller::default()
    }
}

pub(crate) fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(pending))
        .route("/pending.html", get(pending_fragment))
        .route("/events", get(events))
        .route("/actions/{id}", get(action))
        .route("/actions/{id}/approve", post(approve))
        .route("/actions/{id}/deny", post(deny))
        .route("/history", get(history))
        .route("/login", get(login_page).post(login))
        .route("/login/options", post(login_options))
        .route("/enroll", get(enroll_page).post(enroll))
        .route("/enroll/options", post(enroll_options))
        .route("/logout", post(logout))
        .route("/static/app.js", get(script))
        .route("/static/style.css", get(style))
        .fallback(|| async { refusal(StatusCode::NOT_FOUND, "Not found", "There is no such page.") })
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&app), guard))
        .with_state(app)
}

fn refusal(status: StatusCode, title: &str, text: &str) -> Response {
    (status, Html(pages::problem(title, text))).into_response()
}

/// Runs blocking control-plane work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something failed",
            "Airlock failed while answering this page; nothing was decided by it.",
        )
    })
}

fn api_refusal(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    refusal(status, "Refused", &e.to_string())
}

/// Every request: refused when it comes from a unix user that runs agents; every answer carries
/// headers that keep it out of frames, caches and other origins.
async fn guard(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let uid = req.extensions().get::<Conn>().and_then(|c| c.uid);
    let mut response = match uid {
        Some(uid) => {
            let a = Arc::clone(&app.airlock);
            match blocking(move || a.store().agent_users()).await {
                Ok(Ok(users)) => match users.iter().find(|(u, _)| *u == uid) {
                    Some((_, name)) => refusal(
                        StatusCode::FORBIDDEN,
                        "Refused",
                        &format!("This page does not answer unix user {name}: it runs agents through Airlock. Approvals come from people, on their own devices."),
                    ),
                    None => next.run(req).await,
                },
                Ok(Err(_)) | Err(_) => refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "Airlock cannot read its state right now.",
                ),
            }
        }
        None => next.run(req).await,
    };
    let h = response.headers_mut();
    let set = |h: &mut HeaderMap, k: &'static str, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, "content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    set(h, "x-frame-options", "DENY");
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "cross-origin-opener-policy", "same-origin");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    if app.tls {
        set(h, "strict-transport-security", "max-age=31536000");
    }
    response
}

/// Why a request stops before its handler's work.
enum Stop {
    /// No session: sign in, then come back here.
    SignIn(String),
    Refused(StatusCode, &'static str, &'static str),
}

impl IntoResponse for Stop {
    fn into_response(self) -> Response {
        match self {
            Stop::SignIn(back_to) => {
                Redirect::to(&format!("/login?next={}", URL_SAFE_NO_PAD.encode(back_to))).into_response()
            }
            Stop::Refused(status, title, text) => refusal(status, title, text),
        }
    }
}

/// A page that needs a session: the viewer, or a redirect to sign in and come back.
fn signed_in(app: &App, headers: &HeaderMap, back_to: &str) -> Result<(String, Session), Stop> {
    app.session(headers).ok_or_else(|| Stop::SignIn(back_to.to_owned()))
}

async fn pending(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let (_, s) = match signed_in(&app, &headers, "/") {
        Ok(v) => v,
        Err(stop) => return stop.into_response(),
    };
    let a = Arc::clone(&app.airlock);
    let op = s.operator.clone();
    match blocking(move || a.pending(&caller(&op))).await {
        Ok(Ok(list)) => {
            let viewer = Viewer {
                operator: &s.operator,
                csrf: &s.csrf,
            };
            Html(pages::pending(&viewer, &list, airlock_server::now())).into_response()
        }
        Ok(Err(e)) => api_refusal(&e),
        Err(r) => r,
    }
}

async fn pending_fragment(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let Some((_, s)) = app.session(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let a = Arc::clone(&app.airlock);
    match blocking(move || a.pending(&caller(&s.operator))).await {
        Ok(Ok(list)) => Html(pages::pending_list(&list, airlock_server::now())).into_response(),
        Ok(Err(e)) => api_refusal(&e),
        Err(r) => r,
    }
}

/// One event per audit entry about an action, until the session ends.
async fn events(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let Some((_, s)) = app.session(&headers) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let rx = app.airlock.subscribe();
    let left = (s.expires - airlock_server::now()).max(0) as u64;
    let end = tokio::time::Instant::now() + std::time::Duration::from_secs(left);
    let stream = futures_util::stream::unfold(rx, move |mut rx| async move {
        use tokio::sync::broadcast::error::RecvError;
        let event = tokio::select! {
            got = rx.recv() => got,
            _ = tokio::time::sleep_until(end) => return None,
        };
        let data = match event {
            Ok(e) => json!({ "kind": e.kind, "action_id": e.action_id, "seq": e.seq }),
            // Missed some: the page re-reads the list anyway.
            Err(RecvError::Lagged(_)) => json!({ "kind": "lagged" }),
            Err(RecvError::Closed) => return None,
        };
        Some((
            Ok::<_, Infallible>(Event::default().event("action").data(data.to_string())),
            rx,
        ))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

#[derive(Deserialize, Default)]
struct ActionQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn action(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ActionQuery>,
) -> Response {
    let (_, s) = match signed_in(&app, &headers, &format!("/actions/{id}")) {
        Ok(v) => v,
        Err(stop) => return stop.into_response(),
    };
    let notice = match q.done.as_deref() {
        Some("approved") => Some((true, "You approved this action.".to_owned())),
        Some("denied") => Some((true, "You denied this action; the agent is told so.".to_owned())),
        _ => None,
    };
    render_action(&app, &s, &id, notice, StatusCode::OK).await
}

async fn render_action(
    app: &Shared,
    s: &Session,
    id: &str,
    notice: Option<(bool, String)>,
    status: StatusCode,
) -> Response {
    let a = Arc::clone(&app.airlock);
    let (op, id) = (s.operator.clone(), id.to_owned());
    let loaded = blocking(move || -> Result<_, ApiError> {
        let c = caller(&op);
        let view = a.action(&c, &id)?;
        let detail = a.store().action(&id)?.map(|r| r.detail).unwrap_or_default();
        let operators = a.store().operators()?.into_iter().map(|o| o.name).collect();
        let history = a.log(&c, Some(&id))?;
        Ok((view, detail, operators, history))
    })
    .await;
    match loaded {
        Ok(Ok((view, detail, operators, history))) => {
            let extras = ActionExtras {
                detail: &detail,
                operators,
                history,
                notice,
            };
            let viewer = Viewer {
                operator: &s.operator,
                csrf: &s.csrf,
            };
            (
                status,
                Html(pages::action(&viewer, &view, &extras, airlock_server::now())),
            )
                .into_response()
        }
        Ok(Err(e)) => api_refusal(&e),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct DecideForm {
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    without_snapshot: Option<String>,
    /// A standing grant's window in hours (empty: this once).
    #[serde(default)]
    grant_hours: String,
}

/// The checks every form passes: a session, this page's origin, the session's CSRF token.
fn form_session(app: &App, headers: &HeaderMap, csrf: &str) -> Result<(String, Session), Stop> {
    let Some((cookie, s)) = app.session(headers) else {
        return Err(Stop::Refused(
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "Sign in with your passkey first.",
        ));
    };
    if !app.same_origin(headers) {
        return Err(Stop::Refused(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form was not sent from the approval page.",
        ));
    }
    if !constant_time_eq(csrf.as_bytes(), s.csrf.as_bytes()) {
        return Err(Stop::Refused(
            StatusCode::FORBIDDEN,
            "Refused",
            "This form's token is not this session's (reload the page and try again).",
        ));
    }
    Ok((cookie, s))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn approve(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    decide(app, headers, id, f, true).await
}

async fn deny(
    State(app): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Response {
    decide(app, headers, id, f, false).await
}

/// Approves or denies through the same `Airlock` calls as the CLI: N-of-M, "never the requester",
/// expiry and the snapshot acknowledgement are enforced there, once for every channel.
async fn decide(app: Shared, headers: HeaderMap, id: String, f: DecideForm, approve: bool) -> Response {
    let (_, s) = match form_session(&app, &headers, &f.csrf) {
        Ok(v) => v,
        Err(stop) => return stop.into_response(),
    };
    let req = ApproveRequest {
        reason: Some(f.reason.trim().to_owned()).filter(|r| !r.is_empty()),
        without_snapshot: f.without_snapshot.is_some(),
        totp: None,
        grant_secs: f.grant_hours.trim().parse::<u64>().ok().map(|h| h * 3600),
    };
    let a = Arc::clone(&app.airlock);
    let (op, aid) = (s.operator.clone(), id.clone());
    let done = blocking(move || {
        let c = caller(&op);
        if approve {
            a.approve(&c, &aid, req)
        } else {
            a.deny(&c, &aid, req)
        }
    })
    .await;
    match done {
        Ok(Ok(_)) => Redirect::to(&format!(
            "/actions/{id}?done={}",
            if approve { "approved" } else { "denied" }
        ))
        .into_response(),
        Ok(Err(e)) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN);
            render_action(&app, &s, &id, Some((false, e.to_string())), status).await
        }
        Err(r) => r,
    }
}

async fn history(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let (_, s) = match signed_in(&app, &headers, "/history") {
        Ok(v) => v,
        Err(stop) => return stop.into_response(),
    };
    let a = Arc::clone(&app.airlock);
    let op = s.operator.clone();
    let loaded = blocking(move || -> Result<_, ApiError> {
        let check = a.verify_log()?;
        let mut entries = a.log(&caller(&op), None)?;
        let total = entries.len();
        entries.reverse();
        entries.truncate(HISTORY_ROWS);
        Ok((check, entries, total))
    })
    .await;
    match loaded {
        Ok(Ok((check, entries, total))) => {
            let viewer = Viewer {
                operator: &s.operator,
                csrf: &s.csrf,
            };
            Html(pages::history(&viewer, &entries, total, &check)).into_response()
        }
        Ok(Err(e)) => api_refusal(&e),
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    operator: Option<String>,
}

/// Where to go after signing in: a path on this page only (never `//elsewhere`).
fn next_path(encoded: Option<&str>) -> String {
    encoded
        .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains(['\\', '\r', '\n']))
        .unwrap_or_else(|| "/".into())
}

async fn login_page(State(app): State<Shared>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let next = next_path(q.next.as_deref());
    if app.session(&headers).is_some() {
        return Redirect::to(&next).into_response();
    }
    Html(pages::login(&URL_SAFE_NO_PAD.encode(&next), None)).into_response()
}

async fn enroll_page(Query(q): Query<LoginQuery>) -> Response {
    Html(pages::enroll(q.operator.as_deref().unwrap_or_default())).into_response()
}

/// A JSON answer for the page's script: `{"error": …}` with a status, or the value.
fn json_error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

#[derive(Deserialize, Default)]
struct LoginOptions {
    #[serde(default)]
    operator: Option<String>,
}

async fn login_options(State(app): State<Shared>, headers: HeaderMap, Json(body): Json<LoginOptions>) -> Response {
    if !app.same_origin(&headers) {
        return json_error(StatusCode::FORBIDDEN, "not sent from the approval page");
    }
    let challenge = match app.memory.challenge(Purpose::SignIn, airlock_server::now()) {
        Ok(c) => c,
        Err(e) => return json_error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let a = Arc::clone(&app.airlock);
    let name = body.operator.filter(|o| !o.trim().is_empty());
    let allow = match blocking(move || match name {
        Some(n) => a.store().passkeys_of(n.trim()),
        None => Ok(Vec::new()),
    })
    .await
    {
        Ok(Ok(keys)) => keys,
        _ => {
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Airlock cannot read its state right now",
            )
        }
    };
    let allow: Vec<_> = allow
        .iter()
        .map(|k| json!({ "type": "public-key", "id": k.id }))
        .collect();
    Json(json!({ "publicKey": {
        "challenge": URL_SAFE_NO_PAD.encode(challenge),
        "rpId": app.rp.id,
        "timeout": crate::state::CHALLENGE_TTL * 1000,
        "userVerification": "required",
        "allowCredentials": allow,
    }}))
    .into_response()
}

/// A credential as the page's script sends it: every binary field base64url.
#[derive(Deserialize)]
struct CredentialBody {
    id: String,
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    #[serde(rename = "authenticatorData", default)]
    authenticator_data: String,
    #[serde(default)]
    signature: String,
    #[serde(rename = "attestationObject", default)]
    attestation_object: String,
    #[serde(default)]
    next: Option<String>,
}

fn b64(field: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(field.trim_end_matches('=')).ok()
}

/// The challenge a client data JSON answers (to find what it was issued for).
fn answered_challenge(client_data_json: &[u8]) -> Option<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_slice(client_data_json).ok()?;
    URL_SAFE_NO_PAD
        .decode(v["challenge"].as_str()?.trim_end_matches('='))
        .ok()
}

enum SignInError {
    WebAuthn(WebAuthnError),
    Refused(String),
    State,
}

async fn login(State(app): State<Shared>, headers: HeaderMap, Json(body): Json<CredentialBody>) -> Response {
    if !app.same_origin(&headers) {
        return json_error(StatusCode::FORBIDDEN, "not sent from the approval page");
    }
    let (client_data_json, authenticator_data, signature) = match (
        b64(&body.client_data_json),
        b64(&body.authenticator_data),
        b64(&body.signature),
    ) {
        (Some(c), Some(a), Some(s)) => (c, a, s),
        _ => return json_error(StatusCode::BAD_REQUEST, "a field is not base64url"),
    };
    let now = airlock_server::now();
    let challenge = answered_challenge(&client_data_json).unwrap_or_default();
    if app.memory.take_challenge(&challenge, now) != Some(Purpose::SignIn) {
        return json_error(StatusCode::FORBIDDEN, WebAuthnError::WrongChallenge);
    }
    let assertion = Assertion {
        client_data_json,
        authenticator_data,
        signature,
    };
    let (a, rp, id) = (Arc::clone(&app.airlock), app.rp.clone(), body.id.clone());
    let checked = blocking(move || sign_in(&a, &rp, &challenge, &id, &assertion, now)).await;
    let operator = match checked {
        Ok(Ok(op)) => op,
        Ok(Err(e)) => {
            let why = match e {
                SignInError::WebAuthn(w) => w.to_string(),
                SignInError::Refused(r) => r,
                SignInError::State => {
                    return json_error(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Airlock cannot read its state right now",
                    )
                }
            };
            let a = Arc::clone(&app.airlock);
            let logged = why.clone();
            let _ = blocking(move || a.record("web.sign_in_refused", None, json!({ "why": logged }))).await;
            return json_error(StatusCode::FORBIDDEN, why);
        }
        Err(r) => return r,
    };
    start_session(&app, &operator, &next_path(body.next.as_deref()))
}

/// Checks a sign-in against the stored passkey; the operator it proves.
fn sign_in(
    a: &Airlock,
    rp: &RelyingParty,
    challenge: &[u8],
    credential_id: &str,
    assertion: &Assertion,
    now: i64,
) -> Result<String, SignInError> {
    let key = a
        .store()
        .passkey(credential_id)
        .map_err(|_| SignInError::State)?
        .ok_or_else(|| SignInError::Refused("this passkey is not enrolled here".into()))?;
    let op = a
        .store()
        .operator(&key.operator)
        .map_err(|_| SignInError::State)?
        .filter(|o| o.created_at == key.operator_since)
        .ok_or_else(|| SignInError::Refused(format!("operator {} was removed", key.operator)))?;
    let count = webauthn::verify_assertion(rp, challenge, assertion, &key.public_key, key.sign_count)
        .map_err(SignInError::WebAuthn)?;
    if !a
        .store()
        .use_passkey(&key.id, count, now)
        .map_err(|_| SignInError::State)?
    {
        return Err(SignInError::WebAuthn(WebAuthnError::CounterWentBackwards {
            stored: key.sign_count,
            got: count,
        }));
    }
    a.record(
        "web.signed_in",
        None,
        json!({ "operator": op.name, "passkey": short(&key.id) }),
    )
    .map_err(|_| SignInError::State)?;
    Ok(op.name)
}

fn short(id: &str) -> String {
    id.chars().take(10).collect()
}

fn start_session(app: &App, operator: &str, next: &str) -> Response {
    match app.memory.sign_in(operator, airlock_server::now(), app.session_ttl) {
        Ok(cookie) => {
            let mut r = Json(json!({ "next": next, "operator": operator })).into_response();
            if let Ok(v) = HeaderValue::from_str(&app.set_cookie(&cookie, app.session_ttl)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Err(e) => json_error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

#[derive(Deserialize)]
struct EnrollOptions {
    operator: String,
    code: String,
}

/// The stable WebAuthn user handle of an operator (a new one if the name is enrolled anew).
fn user_handle(operator: &str, since: i64) -> Vec<u8> {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("airlock-operator\0{operator}\0{since}").as_bytes(),
    );
    d.as_ref()[..16].to_vec()
}

async fn enroll_options(State(app): State<Shared>, headers: HeaderMap, Json(body): Json<EnrollOptions>) -> Response {
    if !app.same_origin(&headers) {
        return json_error(StatusCode::FORBIDDEN, "not sent from the approval page");
    }
    let now = airlock_server::now();
    if !app.memory.codes_allowed(now) {
        return json_error(StatusCode::TOO_MANY_REQUESTS, "too many wrong codes; wait a minute");
    }
    let operator = body.operator.trim().to_owned();
    let code_hash = enrollment_code_hash(&body.code);
    let a = Arc::clone(&app.airlock);
    let (op_name, hash) = (operator.clone(), code_hash.clone());
    let found = blocking(move || -> Result<_, airlock_store::StoreError> {
        let code = a.store().enrollment(&hash, now)?.filter(|e| e.operator == op_name);
        let op = a.store().operator(&op_name)?;
        let existing = a.store().passkeys_of(&op_name)?;
        Ok(code.and(op).map(|op| (op, existing)))
    })
    .await;
    let (op, existing) = match found {
        Ok(Ok(Some(v))) => v,
        Ok(Ok(None)) => {
            app.memory.code_failure(now);
            let a = Arc::clone(&app.airlock);
            let _ = blocking(move || a.record("web.enrollment_refused", None, json!({ "operator": operator }))).await;
            return json_error(
                StatusCode::FORBIDDEN,
                "no such code for that operator (codes work once and expire; an administrator can issue a new one with `airlock operator enroll NAME`)",
            );
        }
        _ => {
            return json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Airlock cannot read its state right now",
            )
        }
    };
    let purpose = Purpose::Enroll {
        operator: op.name.clone(),
        code_hash,
        operator_since: op.created_at,
    };
    let challenge = match app.memory.challenge(purpose, now) {
        Ok(c) => c,
        Err(e) => return json_error(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let params: Vec<_> = webauthn::ALGORITHMS
        .iter()
        .map(|alg| json!({ "type": "public-key", "alg": alg }))
        .collect();
    let exclude: Vec<_> = existing
        .iter()
        .map(|k| json!({ "type": "public-key", "id": k.id }))
        .collect();
    Json(json!({ "publicKey": {
        "challenge": URL_SAFE_NO_PAD.encode(challenge),
        "rp": { "id": app.rp.id, "name": "Airlock" },
        "user": { "id": URL_SAFE_NO_PAD.encode(user_handle(&op.name, op.created_at)), "name": op.name, "displayName": op.name },
        "pubKeyCredParams": params,
        "timeout": crate::state::CHALLENGE_TTL * 1000,
        "attestation": "none",
        "authenticatorSelection": { "residentKey": "preferred", "requireResidentKey": false, "userVerification": "required" },
        "excludeCredentials": exclude,
    }}))
    .into_response()
}

async fn enroll(State(app): State<Shared>, headers: HeaderMap, Json(body): Json<CredentialBody>) -> Response {
    if !app.same_origin(&headers) {
        return json_error(StatusCode::FORBIDDEN, "not sent from the approval page");
    }
    let (client_data_json, attestation) = match (b64(&body.client_data_json), b64(&body.attestation_object)) {
        (Some(c), Some(a)) => (c, a),
        _ => return json_error(StatusCode::BAD_REQUEST, "a field is not base64url"),
    };
    let now = airlock_server::now();
    let challenge = answered_challenge(&client_data_json).unwrap_or_default();
    let Some(Purpose::Enroll {
        operator,
        code_hash,
        operator_since,
    }) = app.memory.take_challenge(&challenge, now)
    else {
        return json_error(StatusCode::FORBIDDEN, WebAuthnError::WrongChallenge);
    };
    let reg = match webauthn::verify_registration(&app.rp, &challenge, &client_data_json, &attestation) {
        Ok(r) => r,
        Err(e) => return json_error(StatusCode::FORBIDDEN, e),
    };
    let id = URL_SAFE_NO_PAD.encode(&reg.credential_id);
    if id != body.id.trim_end_matches('=') {
        return json_error(
            StatusCode::BAD_REQUEST,
            "the credential id does not match the authenticator data",
        );
    }
    let record = PasskeyRecord {
        id,
        operator: operator.clone(),
        operator_since,
        public_key: reg.public_key,
        alg: reg.alg,
        sign_count: reg.sign_count,
        created_at: now,
        last_used_at: None,
    };
    let a = Arc::clone(&app.airlock);
    let stored = blocking(move || -> Result<bool, ApiError> {
        if a.store().passkey(&record.id)?.is_some() {
            return Ok(false);
        }
        if !a.store().enroll_passkey(&code_hash, &record, now)? {
            return Ok(false);
        }
        a.record(
            "operator.passkey_enrolled",
            None,
            json!({ "operator": record.operator, "passkey": short(&record.id), "alg": record.alg }),
        )?;
        Ok(true)
    })
    .await;
    match stored {
        Ok(Ok(true)) => start_session(&app, &operator, "/"),
        Ok(Ok(false)) => json_error(
            StatusCode::CONFLICT,
            "the code was used or expired meanwhile, or this passkey is enrolled already",
        ),
        _ => json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Airlock cannot keep the passkey right now",
        ),
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
}

async fn logout(State(app): State<Shared>, headers: HeaderMap, Form(f): Form<LogoutForm>) -> Response {
    let (cookie, _) = match form_session(&app, &headers, &f.csrf) {
        Ok(v) => v,
        Err(stop) => return stop.into_response(),
    };
    app.memory.sign_out(&cookie);
    let mut r = Redirect::to("/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&app.set_cookie("", 0)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response()
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", include_str!("../static/app.js"))
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("../static/style.css"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_path_on_this_page_only() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        assert_eq!(next_path(Some(&enc("/actions/ab12"))), "/actions/ab12");
        for bad in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil",
            "x",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(next_path(Some(&enc(bad))), "/", "{bad:?}");
        }
        assert_eq!(next_path(Some("%%%")), "/");
        assert_eq!(next_path(None), "/");
    }

    #[test]
    fn user_handles_change_when_a_name_is_enrolled_anew() {
        assert_eq!(user_handle("carol", 1), user_handle("carol", 1));
        assert_ne!(user_handle("carol", 1), user_handle("carol", 2));
        assert_eq!(user_handle("carol", 1).len(), 16);
    }

    #[test]
    fn answered_challenges_are_read_from_client_data() {
        let cd = br#"{"type":"webauthn.get","challenge":"AQID","origin":"x"}"#;
        assert_eq!(answered_challenge(cd), Some(vec![1, 2, 3]));
        assert_eq!(answered_challenge(b"{}"), None);
        assert_eq!(answered_challenge(b"\xff"), None);
    }
}
