//! The JSON HTTP API (axum on tokio), on a unix socket and/or loopback TCP.
//!
//! ```text
//! GET    /v1/health                      → {"ok": true}
//! GET    /v1/whoami                      who the server takes the caller for
//! POST   /v1/actions                     submit an action                  → SubmitResponse
//! GET    /v1/actions/ID                  one action (overseers; agents their own)
//! GET    /v1/pending                     held actions
//! POST   /v1/actions/ID/approve          {"reason", "without_snapshot", "totp"} (operator proof)
//! POST   /v1/actions/ID/deny             the same
//! GET    /v1/log[?action=ID]             the audit chain (overseers)
//! GET    /v1/log/verify                  the chain checked under its key and its checkpoints
//! GET    /v1/tokens, POST /v1/tokens, POST /v1/tokens/ID/revoke        (administrators)
//! GET    /v1/operators, POST /v1/operators, DELETE /v1/operators/NAME  (administrators)
//! GET    /v1/secrets, PUT /v1/secrets/NAME, DELETE /v1/secrets/NAME     (administrators)
//! POST   /v1/explain                     what the running server would decide
//! ```
//! Over the socket the server knows the caller's unix user from the kernel (SO_PEERCRED); a bearer
//! token (`Authorization: Bearer …`) is checked when present and required over TCP and in local
//! mode. Errors are `{"error": kind, "message": text}` with a matching status code. Requests run
//! on blocking threads with a large stack, so no payload reaches the async workers' stacks.

mod exec_route;
mod peer_info;
mod routes;

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::Airlock;

pub(crate) use peer_info::PeerInfo;

/// Requests larger than this are refused before they are read.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The running API; dropping it does not stop it (call `stop`).
pub struct ServeHandle {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
    pub tcp: Option<String>,
    pub socket: Option<PathBuf>,
}

impl ServeHandle {
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Blocks until the server stops.
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bind_socket(path: &std::path::Path, service: bool) -> Result<std::os::unix::net::UnixListener, String> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    // Only ever replace a stale socket: never a file or link someone put there.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    // In service mode anyone local may connect (the kernel tells the server who they are); the
    // directory, writable by the service alone, is what keeps others from binding there.
    let mode = if service { 0o666 } else { 0o600 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("cannot secure {}: {e}", path.display()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(listener)
}

/// Starts the API on the configured TCP address and/or unix socket, on its own runtime.
pub fn serve(airlock: Arc<Airlock>, tcp: Option<&str>, socket: Option<PathBuf>) -> Result<ServeHandle, String> {
    let tcp_listener = match tcp {
        Some(addr) => {
            let l = std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
            l.set_nonblocking(true).map_err(|e| format!("{addr}: {e}"))?;
            Some(l)
        }
        None => None,
    };
    let unix_listener = match &socket {
        Some(p) => Some(bind_socket(p, airlock.config.is_service())?),
        None => None,
    };
    if tcp_listener.is_none() && unix_listener.is_none() {
        return Err("nothing to listen on: set server.listen or server.socket".into());
    }
    let tcp_addr = tcp_listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map(|a| a.to_string());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(512)
        // The classifier bounds its own recursion; a large stack is the margin above that bound.
        .thread_stack_size(32 * 1024 * 1024)
        .thread_name("airlock-api")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the API runtime: {e}"))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let app = routes::router(airlock);
    let thread = std::thread::Builder::new()
        .name("airlock-api".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut tasks = Vec::new();
                if let Some(l) = tcp_listener.and_then(|l| tokio::net::TcpListener::from_std(l).ok()) {
                    tasks.push(tokio::spawn(serve_until_stopped(l, app.clone(), stopped.clone())));
                }
                if let Some(l) = unix_listener.and_then(|l| tokio::net::UnixListener::from_std(l).ok()) {
                    tasks.push(tokio::spawn(serve_until_stopped(l, app, stopped)));
                }
                for t in tasks {
                    let _ = t.await;
                }
            });
            runtime.shutdown_timeout(std::time::Duration::from_secs(1));
        })
        .map_err(|e| format!("cannot start the API thread: {e}"))?;
    Ok(ServeHandle {
        stop: Some(stop),
        thread: Some(thread),
        tcp: tcp_addr,
        socket,
    })
}

/// Serves the API on one listener (TCP or unix socket) until `stopped` turns true; the peer of each
/// connection (`PeerInfo`) reaches the handlers.
async fn serve_until_stopped<L>(listener: L, app: axum::Router, mut stopped: tokio::sync::watch::Receiver<bool>)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
    for<'a> PeerInfo: axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let service = app.into_make_service_with_connect_info::<PeerInfo>();
    let _ = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|s| *s).await;
        })
        .await;
}
