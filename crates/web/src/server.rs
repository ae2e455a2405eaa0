//! The page's listener: loopback TCP, or TLS when a certificate is configured. Each connection is
//! served by hyper on the page's own runtime; before its first request the connection's owner is
//! looked up (loopback only) so [`guard`](crate::routes) can refuse agent users.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use airlock_server::Airlock;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

use crate::routes::{router, App, Conn};
use crate::state::State;
use crate::webauthn::RelyingParty;
use crate::WebError;

/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(20);

/// The running page; dropping it does not stop it (call [`stop`](WebHandle::stop)).
pub struct WebHandle {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The address people open (`[web] url`).
    pub origin: String,
}

impl WebHandle {
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, WebError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| WebError::Tls(format!("web.tls_cert {}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(WebError::Tls(format!(
            "web.tls_cert {}: no PEM certificate in it",
            cert.display()
        )));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| WebError::Tls(format!("web.tls_key {}: {e}", key.display())))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| WebError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| WebError::Tls(format!("web.tls_cert and tls_key do not make a usable pair: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Starts the approval page described by the instance's `[web]` section, on its own thread and
/// runtime.
pub fn start(airlock: Arc<Airlock>) -> Result<WebHandle, WebError> {
    let web = airlock.config.web.clone();
    let (Some(origin), Some(rp_id)) = (web.origin(), web.rp_id()) else {
        return Err(WebError::Off);
    };
    let tls = match (&web.tls_cert, &web.tls_key) {
        (Some(c), Some(k)) => Some(tls_acceptor(&airlock.config.path(c), &airlock.config.path(k))?),
        _ => None,
    };
    let listen = web.listen.trim().to_owned();
    let listener = std::net::TcpListener::bind(&listen).map_err(|source| WebError::Listen {
        addr: listen.clone(),
        source,
    })?;
    listener.set_nonblocking(true).map_err(WebError::Runtime)?;
    let addr = listener.local_addr().map_err(WebError::Runtime)?;
    let app = Arc::new(App {
        rp: RelyingParty {
            id: rp_id.to_owned(),
            origin: origin.to_owned(),
        },
        tls: tls.is_some(),
        session_ttl: airlock.config.session_ttl.as_secs() as i64,
        memory: State::default(),
        airlock,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(64)
        .thread_name("airlock-web")
        .enable_all()
        .build()
        .map_err(WebError::Runtime)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let origin = origin.to_owned();
    let thread = std::thread::Builder::new()
        .name("airlock-web".into())
        .spawn(move || {
            runtime.block_on(accept(listener, app, tls, stopped));
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(WebError::Runtime)?;
    Ok(WebHandle {
        stop: Some(stop),
        thread: Some(thread),
        addr,
        origin,
    })
}

async fn accept(
    listener: std::net::TcpListener,
    app: Arc<App>,
    tls: Option<TlsAcceptor>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let routes = router(app);
    loop {
        let (tcp, peer) = tokio::select! {
            got = listener.accept() => match got {
                Ok(c) => c,
                // Out of descriptors and the like: wait a little rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.wait_for(|s| *s) => return,
        };
        let (routes, tls) = (routes.clone(), tls.clone());
        tokio::spawn(async move {
            let Ok(local) = tcp.local_addr() else { return };
            let uid = tokio::task::spawn_blocking(move || crate::owner::client_uid(peer, local))
                .await
                .ok()
                .flatten();
            let conn = Conn { uid };
            match tls {
                Some(acceptor) => {
                    if let Ok(Ok(stream)) = tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(tcp)).await {
                        serve(stream, routes, conn).await;
                    }
                }
                None => serve(tcp, routes, conn).await,
            }
        });
    }
}

async fn serve<S>(stream: S, routes: axum::Router, conn: Conn)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(conn);
        routes.clone().call(req.map(axum::body::Body::new))
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
