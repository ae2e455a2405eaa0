//! The listener and one call's way through it: route to the resource, the agent's token, foreign
//! credentials, the body (judged whole), the gateway's own reading, the control plane's decision,
//! the provider's protective calls when policy wants a snapshot, then the call forwarded with the
//! real credential and its answer streamed back with that credential masked out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_server::{Airlock, Listening, SubmitRequest};
use airlock_store::TokenRecord;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::json;

use crate::assess::{judge, Judgement};
use crate::audit::Batcher;
use crate::decide::{blocking, decide, Verdict};
use crate::mask::{mask, Masked};
use crate::refusal::Refusal;
use crate::request::{airlock_token, credential_header, decode, foreign_credential, Call};
use crate::resource::Resource;
use crate::HttpError;

/// The largest body judged: the classifier reads no more, and a call it cannot read whole is not
/// sent.
const MAX_BODY: usize = airlock_classify::MAX_INPUT_BYTES - 16 * 1024;

/// What every call shares.
pub struct Shared {
    pub airlock: Arc<Airlock>,
    pub resources: HashMap<String, Arc<Resource>>,
    pub audit: Batcher,
}

/// A running gateway. Dropping it stops it; [`Gateway::wait`] serves until the process ends.
pub struct Gateway(Listening);

impl Gateway {
    /// Listens on `[http] listen` of the instance's config.
    pub fn start(airlock: Arc<Airlock>) -> Result<Gateway, HttpError> {
        let listen = airlock.config.http.listen.trim().to_owned();
        if listen.is_empty() {
            return Err(HttpError::Setup(
                "no [http] listen address is configured (for example listen = \"127.0.0.1:7459\")".into(),
            ));
        }
        let resources = crate::resource::load(&airlock.config)?;
        let std_listener = std::net::TcpListener::bind(&listen)
            .map_err(|e| HttpError::Setup(format!("cannot listen on {listen}: {e}")))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let shared = Arc::new(Shared {
            audit: Batcher::start(airlock.clone()),
            airlock,
            resources,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("airlock-http")
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new().fallback(handle).with_state(shared);
        let thread = std::thread::Builder::new()
            .name("airlock-http-accept".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.await;
                        })
                        .await;
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;
        Ok(Gateway(Listening::new(addr, stop, thread)))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// Serves until the process ends.
    pub fn wait(self) {
        self.0.wait();
    }
}

async fn handle(State(gw): State<Arc<Shared>>, req: Request<Body>) -> Response {
    match serve(gw, req).await {
        Ok(r) => r,
        Err(r) => r.into_response(),
    }
}

/// `/<resource>/<path>` → the resource's name and the rest (`/…` or empty). A `.` or `..` segment
/// would let a call leave the resource's base path upstream.
fn split_path(raw: &str) -> Result<(&str, &str), Refusal> {
    let trimmed = raw.strip_prefix('/').unwrap_or(raw);
    let (name, rest) = trimmed
        .find('/')
        .map_or((trimmed, ""), |i| (&trimmed[..i], &trimmed[i..]));
    if rest.split('/').any(|s| matches!(decode(s).as_str(), "." | "..")) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "refused",
            "a path with . or .. segments is not sent on",
        ));
    }
    Ok((name, rest))
}

/// How long to wait for humans: `[server] hold_wait`, or less when the agent says
/// `Prefer: wait=N` (RFC 7240).
fn wait_for(headers: &HeaderMap, limit: Duration) -> Duration {
    let asked = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix("wait=")
                .and_then(|n| n.trim().parse::<u64>().ok())
        });
    asked.map_or(limit, |s| limit.min(Duration::from_secs(s)))
}

async fn authenticate(gw: &Arc<Shared>, headers: &HeaderMap) -> Result<(String, TokenRecord), Refusal> {
    let token = airlock_token(headers).ok_or_else(|| {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send your Airlock token: Authorization: Bearer alk_… (the provider's own credential stays with Airlock)",
        )
    })?;
    let t = token.clone();
    let a = gw.airlock.clone();
    let record = tokio::task::spawn_blocking(move || a.authenticate(&t))
        .await
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "error", "the token check failed"))?
        .map_err(|e| Refusal::new(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()))?;
    Ok((token, record))
}

async fn serve(gw: Arc<Shared>, req: Request<Body>) -> Result<Response, Refusal> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let (name, path) = split_path(parts.uri.path())?;
    let resource = gw.resources.get(name).cloned().ok_or_else(|| {
        let mut names: Vec<&String> = gw.resources.keys().collect();
        names.sort();
        Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no http resource is named {name:?}; call http://<gateway>/<resource>/<path>"),
        )
        .with(json!({ "resources": names }))
    })?;
    let (token, caller) = authenticate(&gw, &parts.headers).await?;
    if let Some((header, shown)) = foreign_credential(&parts.headers, &token) {
        return Err(foreign(&gw, &caller, &resource, &header, &shown).await);
    }
    if gw.audit.is_broken() {
        return Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "error",
            "Airlock cannot write its audit log, so it lets nothing through; ask an operator",
        ));
    }
    let body = Limited::new(body, MAX_BODY).collect().await.map_err(|_| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("Airlock judges each call whole and reads bodies up to {MAX_BODY} bytes; this one is larger, so it was not sent"),
        )
    })?;
    let call = Call::new(
        parts.method.clone(),
        path,
        parts.uri.query(),
        &parts.headers,
        body.to_bytes(),
    );
    let url = resource.upstream_url(&call.path, call.query.as_deref());
    let judgement = judge(&resource, &call);
    let submit = SubmitRequest {
        kind: "http".into(),
        input: call.judged_text(&url),
        cwd: Some(format!("http:{}", resource.name)),
        source: "http-gateway".into(),
        resource: Some(resource.name.clone()),
        findings: Some(judgement.findings.clone()),
        ..SubmitRequest::default()
    };
    let wait = wait_for(&parts.headers, gw.airlock.config.hold_wait);
    let (action, snapshot) = match decide(&gw.airlock, caller.clone(), submit, wait).await {
        Verdict::Forward { action, snapshot } => (action, snapshot),
        Verdict::Refuse(r) => return Err(r),
    };
    let secret = resource.secret(&gw.airlock.config).map_err(|e| {
        Refusal::new(
            StatusCode::BAD_GATEWAY,
            "error",
            format!(
                "Airlock cannot read {}'s credential, so the call was not sent: {e}",
                resource.name
            ),
        )
    })?;
    if snapshot {
        protect_first(&gw, &resource, &secret, &judgement, action.as_deref()).await?;
    }
    let answer = forward(&resource, &call, &secret)
        .await
        .map_err(|e| Refusal::new(StatusCode::BAD_GATEWAY, "upstream", masked(&e.to_string(), &secret)))?;
    record(
        &gw,
        &caller,
        &resource,
        &url,
        &judgement,
        action,
        answer.status().as_u16(),
        started,
    )
    .await;
    Ok(respond(answer, &secret))
}

/// A call carrying a credential other than the agent's token: refused and recorded, as the hook
/// refuses and records it. Only the header's name and the credential's first characters are kept.
async fn foreign(gw: &Arc<Shared>, caller: &TokenRecord, resource: &Resource, header: &str, shown: &str) -> Refusal {
    let detail = json!({ "agent": caller.agent, "token": caller.id, "resource": resource.name, "header": header, "credential": shown });
    let _ = blocking(&gw.airlock, move |a| a.record("http.refused", None, detail)).await;
    Refusal::new(
        StatusCode::FORBIDDEN,
        "refused",
        format!(
            "the call carries a credential in {header} ({shown}) that Airlock did not issue to this agent; agents send their Airlock token only, and Airlock adds {}'s credential itself. Do not try another credential or tool.",
            resource.name
        ),
    )
}

/// Runs the pack's protective calls for every protected operation of the call; any failure
/// refuses the call (its approval is spent: the humans must approve it again).
async fn protect_first(
    gw: &Arc<Shared>,
    resource: &Resource,
    secret: &str,
    judgement: &Judgement,
    action: Option<&str>,
) -> Result<(), Refusal> {
    for job in &judgement.protect {
        let result = crate::protect::run(resource, secret, job).await;
        let id = action.map(str::to_owned);
        match result {
            Ok(done) => {
                let detail = json!({
                    "resource": resource.name, "provider": resource.pack.as_ref().map(|p| p.name.clone()),
                    "operation": done.operation, "calls": done.calls, "undo": done.undo,
                });
                blocking(&gw.airlock, move |a| {
                    a.record("action.provider_snapshot", id.as_deref(), detail)
                })
                .await?;
            }
            Err(e) => {
                let why = masked(&e.to_string(), secret);
                let detail = json!({ "resource": resource.name, "operation": job.operation, "why": why });
                let _ = blocking(&gw.airlock, move |a| {
                    a.record("action.provider_snapshot_failed", id.as_deref(), detail)
                })
                .await;
                return Err(Refusal::new(
                    StatusCode::BAD_GATEWAY,
                    "protect_failed",
                    format!(
                        "Airlock did not send this call: the provider's own backup that must come first failed ({why}). Nothing was destroyed. Tell the user; do not run it another way."
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn masked(text: &str, secret: &str) -> String {
    String::from_utf8_lossy(&mask(text.as_bytes(), secret.as_bytes())).into_owned()
}

async fn forward(
    resource: &Resource,
    call: &Call,
    secret: &str,
) -> Result<http::Response<hyper::body::Incoming>, HttpError> {
    let (name, value) =
        credential_header(&resource.auth_header, &resource.auth_template, secret).map_err(HttpError::Secret)?;
    let authority = resource.origin.split_once("://").map_or("", |(_, a)| a);
    let mut builder = Request::builder()
        .method(call.wire_method.clone())
        .uri(resource.upstream_path(&call.path, call.query.as_deref()))
        .header(http::header::HOST, authority);
    for (k, v) in &call.headers {
        builder = builder.header(k, v);
    }
    let req = builder
        .header(name, value)
        .body(Full::new(call.body.clone()))
        .map_err(|e| HttpError::Upstream(format!("cannot build the upstream request: {e}")))?;
    resource.upstream.send(req).await
}

/// Records a forwarded call: in the batch when policy allowed it outright, else on its action.
#[allow(clippy::too_many_arguments)]
async fn record(
    gw: &Arc<Shared>,
    caller: &TokenRecord,
    resource: &Resource,
    url: &str,
    judgement: &Judgement,
    action: Option<String>,
    status: u16,
    started: Instant,
) {
    let entry = json!({
        "at": airlock_server::now(), "agent": caller.agent, "token": caller.id, "resource": resource.name,
        "url": airlock_classify::redact(url), "operations": judgement.operations,
        "risk": judgement.findings.risk.as_str(), "status": status, "ms": started.elapsed().as_millis() as u64,
    });
    match action {
        None => gw.audit.push(entry),
        Some(id) => {
            let _ = blocking(&gw.airlock, move |a| a.record("http.forwarded", Some(&id), entry)).await;
        }
    }
}

/// The provider's answer for the agent: hop-by-hop headers dropped, the secret masked everywhere.
fn respond(answer: http::Response<hyper::body::Incoming>, secret: &str) -> Response {
    let (parts, body) = answer.into_parts();
    let mut out = Response::builder().status(parts.status);
    for (k, v) in &parts.headers {
        if matches!(
            k.as_str(),
            "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "upgrade" | "trailer"
        ) {
            continue;
        }
        let clean = mask(v.as_bytes(), secret.as_bytes());
        if let Ok(v) = http::HeaderValue::from_bytes(&clean) {
            out = out.header(k, v);
        }
    }
    out.body(Body::new(Masked::new(body, secret)))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_resource_and_never_climb_out() {
        assert_eq!(split_path("/railway").unwrap(), ("railway", ""));
        assert_eq!(split_path("/api/v1/x").unwrap(), ("api", "/v1/x"));
        assert!(split_path("/api/v1/../admin").is_err());
        assert!(split_path("/api/%2e%2e/admin").is_err());
    }

    #[test]
    fn prefer_wait_shortens_the_wait_never_lengthens_it() {
        let mut h = HeaderMap::new();
        assert_eq!(wait_for(&h, Duration::from_secs(120)), Duration::from_secs(120));
        h.insert("prefer", "respond-async, wait=5".parse().unwrap());
        assert_eq!(wait_for(&h, Duration::from_secs(120)), Duration::from_secs(5));
        assert_eq!(wait_for(&h, Duration::from_secs(2)), Duration::from_secs(2));
    }
}
