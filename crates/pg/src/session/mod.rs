//! One client connection: the startup packets (TLS, cancel), then [`start`] (SCRAM, the resource,
//! the upstream session), then [`relay`] — which keeps the replies in step with the requests
//! ([`flow`]), asks the session how it reads names when a statement is held ([`ask`]) and waits
//! for the humans' decision on it ([`waiting`]).

mod ask;
mod flow;
mod prepared;
mod relay;
mod start;
mod waiting;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::gateway::Shared;
use crate::messages::{read_startup, ErrorResponse, Startup};
use crate::upstream;
use crate::PgError;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends a fatal error and closes. Whatever the client is still sending is read and dropped for a
/// moment first: closing with unread bytes makes the kernel reset the connection, and the client
/// would lose the error that says why.
async fn send_fatal<S: AsyncRead + AsyncWrite + Unpin>(client: &mut S, e: &ErrorResponse) {
    let _ = client.write_all(&e.encode()).await;
    let _ = client.flush().await;
    let _ = client.shutdown().await;
    let drain = async {
        let mut sink = vec![0u8; 64 * 1024];
        let mut total = 0usize;
        while let Ok(n) = client.read(&mut sink).await {
            total += n;
            if n == 0 || total > 64 << 20 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// What the first packets of a connection settled.
enum Opened {
    Plain(TcpStream, Vec<(String, String)>),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>, Vec<(String, String)>),
    /// Answered and done: a CancelRequest, or a refusal already sent.
    Done,
}

pub async fn run(shared: Arc<Shared>, client: TcpStream, peer: SocketAddr) {
    let _ = client.set_nodelay(true);
    match tokio::time::timeout(STARTUP_TIMEOUT, open(&shared, client)).await {
        Ok(Opened::Plain(c, params)) => serve(shared, c, params, peer).await,
        Ok(Opened::Tls(c, params)) => serve(shared, *c, params, peer).await,
        Ok(Opened::Done) | Err(_) => {}
    }
}

/// The startup packets: SSLRequest (TLS when a certificate is configured), GSSENCRequest (never),
/// then the CancelRequest or StartupMessage, in plain text or inside TLS.
async fn open(shared: &Shared, mut tcp: TcpStream) -> Opened {
    loop {
        match read_startup(&mut tcp).await {
            Ok(Startup::Ssl) => {
                let Some(acceptor) = &shared.tls else {
                    // No certificate: the client goes on in plain text.
                    if tcp.write_all(b"N").await.is_err() {
                        return Opened::Done;
                    }
                    continue;
                };
                if tcp.write_all(b"S").await.is_err() {
                    return Opened::Done;
                }
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return Opened::Done;
                };
                let packet = read_startup(&mut tls).await;
                return match settle(shared, &mut tls, packet, true).await {
                    Some(params) => Opened::Tls(Box::new(tls), params),
                    None => Opened::Done,
                };
            }
            // GSS encryption is never offered.
            Ok(Startup::GssEnc) => {
                if tcp.write_all(b"N").await.is_err() {
                    return Opened::Done;
                }
            }
            packet => {
                return match settle(shared, &mut tcp, packet, false).await {
                    Some(params) => Opened::Plain(tcp, params),
                    None => Opened::Done,
                }
            }
        }
    }
}

/// The last startup packet: its parameters, or None when the connection was answered (a cancel, a
/// refusal, an error).
async fn settle<S: AsyncRead + AsyncWrite + Unpin>(
    shared: &Shared,
    stream: &mut S,
    packet: Result<Startup, PgError>,
    encrypted: bool,
) -> Option<Vec<(String, String)>> {
    let refusal = match packet {
        Ok(Startup::Params(params)) if encrypted || shared.tls.is_none() => return Some(params),
        Ok(Startup::Params(_)) => ErrorResponse::fatal("28000", "Airlock: this gateway accepts TLS connections only")
            .with_hint("Connect with sslmode=require (or verify-full with the gateway's certificate)."),
        Ok(Startup::Cancel { pid, secret }) => {
            cancel(shared, pid, secret).await;
            return None;
        }
        // Only inside TLS: a second encryption request.
        Ok(Startup::Ssl | Startup::GssEnc) => ErrorResponse::fatal(
            "08P01",
            "Airlock: protocol violation: a second encryption request inside TLS",
        ),
        Err(PgError::Io(_)) => return None,
        Err(e) => ErrorResponse::fatal("08P01", format!("Airlock: {e}")),
    };
    send_fatal(stream, &refusal).await;
    None
}

async fn cancel(shared: &Shared, pid: i32, secret: i32) {
    if let Some(k) = shared.cancels.cancel(pid, secret) {
        let _ = upstream::cancel(k.addr, k.pid, k.secret).await;
    }
}

async fn serve<S: Client>(shared: Arc<Shared>, mut client: S, params: Vec<(String, String)>, peer: SocketAddr) {
    match tokio::time::timeout(STARTUP_TIMEOUT, start::start(&shared, &mut client, params, peer)).await {
        Ok(Ok(Some((caller, upstream, key)))) => relay::relay(&shared, client, caller, upstream, key).await,
        Ok(Ok(None)) => {}
        Ok(Err(e)) => {
            let code = match &e {
                PgError::Protocol(_) | PgError::TooLarge { .. } => "08P01",
                _ => "08006",
            };
            send_fatal(&mut client, &ErrorResponse::fatal(code, format!("Airlock: {e}"))).await;
        }
        Err(_) => {
            send_fatal(
                &mut client,
                &ErrorResponse::fatal(
                    "08P01",
                    "Airlock: the connection did not finish starting up within 30 s",
                ),
            )
            .await
        }
    }
}

/// A client connection, plain or TLS.
pub trait Client: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Client for T {}
