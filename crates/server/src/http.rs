//! The JSON HTTP API, on loopback TCP and/or a unix socket.
//!
//! ```text
//! GET  /v1/health                      → {"ok": true}
//! POST /v1/actions                     submit an action (any token)      → SubmitResponse
//! GET  /v1/actions/ID                  one action (operators; agents their own)
//! GET  /v1/pending                     held actions (operator)
//! POST /v1/actions/ID/approve          {"reason": …} (operator)
//! POST /v1/actions/ID/deny             {"reason": …} (operator)
//! GET  /v1/log[?action=ID]             the audit chain (operator)
//! ```
//! Every request but health carries `Authorization: Bearer TOKEN`. Errors are
//! `{"error": kind, "message": text}` with a matching status code.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Request, Response, Server};

use crate::api::{ApproveRequest, SubmitRequest};
use crate::{Airlock, ApiError};

const MAX_BODY: u64 = 1024 * 1024;
const WORKERS: usize = 4;

/// The running servers; dropping it does not stop them (call `stop`).
pub struct ServeHandle {
    servers: Vec<Arc<Server>>,
    threads: Vec<JoinHandle<()>>,
    pub tcp: Option<String>,
    pub socket: Option<PathBuf>,
}

impl ServeHandle {
    pub fn stop(self) {
        for s in &self.servers {
            s.unblock();
        }
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Blocks until the servers stop.
    pub fn wait(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Starts the API on the configured TCP address and/or unix socket.
pub fn serve(airlock: Arc<Airlock>, tcp: Option<&str>, socket: Option<PathBuf>) -> Result<ServeHandle, String> {
    let mut handle = ServeHandle {
        servers: Vec::new(),
        threads: Vec::new(),
        tcp: None,
        socket: None,
    };
    if let Some(addr) = tcp {
        let server = Server::http(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        handle.tcp = server.server_addr().to_ip().map(|a| a.to_string());
        handle.servers.push(Arc::new(server));
    }
    if let Some(path) = &socket {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::remove_file(path);
        let server = Server::http_unix(path).map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot secure {}: {e}", path.display()))?;
        handle.socket = Some(path.clone());
        handle.servers.push(Arc::new(server));
    }
    if handle.servers.is_empty() {
        return Err("nothing to listen on: set server.listen or server.socket".into());
    }
    for server in &handle.servers {
        for _ in 0..WORKERS {
            let server = Arc::clone(server);
            let airlock = Arc::clone(&airlock);
            handle.threads.push(std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    handle_request(&airlock, request);
                }
            }));
        }
    }
    Ok(handle)
}

fn json_response(status: u16, body: &serde_json::Value) -> Response<std::io::Cursor<Vec<u8>>> {
    let header = Header::from_bytes("Content-Type", "application/json").expect("static header is valid");
    Response::from_data(body.to_string().into_bytes())
        .with_status_code(status)
        .with_header(header)
}

fn handle_request(airlock: &Airlock, mut request: Request) {
    let result = route(airlock, &mut request);
    let response = match result {
        Ok(v) => json_response(200, &v),
        Err(e) => json_response(e.status(), &serde_json::to_value(&e).unwrap_or_default()),
    };
    let _ = request.respond(response);
}

fn bearer(request: &Request) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .and_then(|h| h.value.as_str().strip_prefix("Bearer ").map(|t| t.trim().to_owned()))
}

fn body<T: serde::de::DeserializeOwned + Default>(request: &mut Request) -> Result<T, ApiError> {
    let mut text = String::new();
    request
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_string(&mut text)
        .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
    if text.len() as u64 > MAX_BODY {
        return Err(ApiError::BadRequest("the request body is larger than 1 MiB".into()));
    }
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(&text)
        .map_err(|e| ApiError::BadRequest(format!("the request body is not the expected JSON: {e}")))
}

fn to_json<T: serde::Serialize>(v: T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::Internal(e.to_string()))
}

fn route(airlock: &Airlock, request: &mut Request) -> Result<serde_json::Value, ApiError> {
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = request.method().clone();
    if parts == ["v1", "health"] {
        return Ok(serde_json::json!({ "ok": true }));
    }
    let token =
        bearer(request).ok_or_else(|| ApiError::Unauthorized("missing Authorization: Bearer <token>".into()))?;
    let caller = airlock.authenticate(&token)?;
    match (method, parts.as_slice()) {
        (Method::Post, ["v1", "actions"]) => {
            let req: SubmitRequest = body(request)?;
            to_json(airlock.submit(&caller, req)?)
        }
        (Method::Get, ["v1", "actions", id]) => to_json(airlock.action(&caller, id)?),
        (Method::Get, ["v1", "pending"]) => to_json(airlock.pending(&caller)?),
        (Method::Post, ["v1", "actions", id, "approve"]) => {
            let req: ApproveRequest = body(request)?;
            to_json(airlock.approve(&caller, id, req.reason, req.without_snapshot)?)
        }
        (Method::Post, ["v1", "actions", id, "deny"]) => {
            let req: ApproveRequest = body(request)?;
            to_json(airlock.deny(&caller, id, req.reason)?)
        }
        (Method::Get, ["v1", "log"]) => {
            let action = query.split('&').find_map(|kv| kv.strip_prefix("action="));
            to_json(airlock.log(&caller, action)?)
        }
        (m, _) => Err(ApiError::NotFound(format!("no endpoint {m} {path}"))),
    }
}
