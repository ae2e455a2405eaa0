//! The listener: accepts clients and runs each session on a small tokio runtime.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use airlock_server::{Airlock, Listening};

use crate::cancel::CancelKeys;
use crate::judge::Judge;
use crate::pool::Pool;
use crate::PgError;

/// What every session of one gateway shares.
pub struct Shared {
    pub judge: Judge,
    pub pool: Pool,
    pub cancels: CancelKeys,
    pub sessions: AtomicU64,
    /// Set when a certificate is configured: then every client must use TLS.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// A running gateway. Dropping it stops accepting; [`Gateway::wait`] serves until the process ends.
pub struct Gateway(Listening);

impl Gateway {
    /// Listens on `[postgres] listen` of the instance's config.
    pub fn start(airlock: Arc<Airlock>) -> Result<Gateway, PgError> {
        let listen = airlock.config.postgres.listen.trim().to_owned();
        if listen.is_empty() {
            return Err(PgError::Setup(
                "no [postgres] listen address is configured (for example listen = \"127.0.0.1:6432\")".into(),
            ));
        }
        let pg = &airlock.config.postgres;
        let tls = match (&pg.tls_cert, &pg.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::acceptor(
                &airlock.config.path(cert),
                &airlock.config.path(key),
            )?),
            _ => None,
        };
        let std_listener = std::net::TcpListener::bind(&listen)
            .map_err(|e| PgError::Setup(format!("cannot listen on {listen}: {e}")))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let shared = Arc::new(Shared {
            pool: Pool::new(airlock.config.postgres.pool_idle),
            judge: Judge::new(airlock),
            cancels: CancelKeys::default(),
            sessions: AtomicU64::new(0),
            tls,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("airlock-pg")
            .build()?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("airlock-pg-accept".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            eprintln!("airlock pg: {e}");
                            return;
                        }
                    };
                    loop {
                        tokio::select! {
                            _ = &mut stopped => return,
                            accepted = listener.accept() => match accepted {
                                Ok((stream, peer)) => {
                                    tokio::spawn(crate::session::run(shared.clone(), stream, peer));
                                }
                                Err(e) => {
                                    // Out of file descriptors and the like: wait rather than spin.
                                    eprintln!("airlock pg: accept failed: {e}");
                                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                                }
                            },
                        }
                    }
                });
                runtime.shutdown_timeout(std::time::Duration::from_secs(1));
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
