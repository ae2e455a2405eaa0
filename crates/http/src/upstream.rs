//! The connection to one provider: HTTP/1.1 over TLS (or plain HTTP to a loopback upstream, which
//! the config allows for nothing else), kept alive and reused. hyper's low-level client is used
//! with a small pool of our own because everything else in the gateway is async already, and a
//! call's answer must stream back while other calls wait for humans on the same runtime.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::HttpError;

/// Idle connections kept per upstream.
const MAX_IDLE: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a resource's calls go.
pub struct Upstream {
    pub host: String,
    pub port: u16,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Upstream {
    pub fn new(host: &str, port: u16, tls: Option<tokio_rustls::TlsConnector>) -> Result<Upstream, HttpError> {
        let tls = match tls {
            Some(c) => {
                let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
                    .map_err(|_| HttpError::Setup(format!("{host:?} is not a host name TLS can check")))?;
                Some((c, name))
            }
            None => None,
        };
        Ok(Upstream {
            host: host.to_owned(),
            port,
            tls,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// A ready connection: an idle one, else a new one.
    async fn connection(&self) -> Result<SendRequest<Full<Bytes>>, HttpError> {
        {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(pos) = idle.iter().position(SendRequest::is_ready) {
                return Ok(idle.swap_remove(pos));
            }
            // Busy ones (an answer still streaming) stay; closed ones go.
            idle.retain(|s| !s.is_closed());
        }
        self.connect().await
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, HttpError> {
        let addr = (self.host.trim_matches(['[', ']']), self.port);
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| HttpError::Upstream(format!("connecting to {}:{} timed out", self.host, self.port)))?
            .map_err(|e| HttpError::Upstream(format!("cannot connect to {}:{}: {e}", self.host, self.port)))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| HttpError::Upstream(format!("TLS with {}: {e}", self.host)))?;
                handshake(TokioIo::new(stream)).await
            }
            None => handshake(TokioIo::new(tcp)).await,
        }
    }

    /// Sends one request; the answer's body streams.
    pub async fn send(&self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, HttpError> {
        let mut sender = self.connection().await?;
        let answer = sender
            .send_request(req)
            .await
            .map_err(|e| HttpError::Upstream(format!("{} did not answer: {e}", self.host)))?;
        // The connection goes back to the pool now; it is ready again once this answer's body is
        // read, and `connection` skips it until then.
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(sender);
        }
        Ok(answer)
    }
}

async fn handshake<T>(io: TokioIo<T>) -> Result<SendRequest<Full<Bytes>>, HttpError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| HttpError::Upstream(format!("HTTP handshake: {e}")))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}
