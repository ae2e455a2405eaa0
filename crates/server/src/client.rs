//! The API's client side, for the CLI and the hooks: a small HTTP/1.1 client over loopback TCP or
//! a unix socket, with timeouts, so that a hook never waits long on a server that is gone.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;

/// Where the server is.
#[derive(Clone, Debug)]
pub enum Endpoint {
    Tcp(String),
    Unix(PathBuf),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "http://{a}"),
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the Airlock server at {endpoint}: {source}. Is `airlock serve` running?")]
    Unreachable { endpoint: String, source: std::io::Error },
    #[error("the Airlock server answered {status}: {message}")]
    Api { status: u16, kind: String, message: String },
    #[error("the Airlock server's answer could not be read: {0}")]
    Protocol(String),
    #[error("{endpoint} is served by {served_by}, not by Airlock's service user: refusing to trust it (is `airlock service` running? `airlock doctor` checks)")]
    Impostor { endpoint: String, served_by: String },
}

pub struct Client {
    pub endpoint: Endpoint,
    token: Option<String>,
    timeout: Duration,
    /// The uid the socket's server must run as (service mode); checked on every connection.
    expect_uid: Option<u32>,
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

impl Client {
    pub fn new(endpoint: Endpoint, token: Option<String>) -> Client {
        Client {
            endpoint,
            token,
            timeout: Duration::from_secs(10),
            expect_uid: None,
        }
    }

    /// Trusts a unix socket only when the process serving it runs as `uid` (SO_PEERCRED).
    #[must_use]
    pub fn expecting_peer(mut self, uid: u32) -> Client {
        self.expect_uid = Some(uid);
        self
    }

    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = timeout;
        self
    }

    fn connect(&self) -> Result<Box<dyn Stream>, ClientError> {
        let unreachable = |source| ClientError::Unreachable {
            endpoint: self.endpoint.to_string(),
            source,
        };
        match &self.endpoint {
            Endpoint::Tcp(_) if self.expect_uid.is_some() => Err(ClientError::Impostor {
                endpoint: self.endpoint.to_string(),
                served_by: "a TCP listener (whose owner cannot be checked)".into(),
            }),
            Endpoint::Tcp(addr) => {
                let sock = addr.parse().map_err(|_| {
                    unreachable(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "not an IP:port address",
                    ))
                })?;
                let s = TcpStream::connect_timeout(&sock, self.timeout).map_err(unreachable)?;
                s.set_read_timeout(Some(self.timeout)).map_err(unreachable)?;
                s.set_write_timeout(Some(self.timeout)).map_err(unreachable)?;
                let _ = s.set_nodelay(true);
                Ok(Box::new(s))
            }
            Endpoint::Unix(path) => {
                let s = UnixStream::connect(path).map_err(unreachable)?;
                if let Some(uid) = self.expect_uid {
                    let peer = crate::peer::peer_of(&s).map_err(unreachable)?;
                    if peer.uid != uid {
                        return Err(ClientError::Impostor {
                            endpoint: self.endpoint.to_string(),
                            served_by: peer.label(),
                        });
                    }
                }
                s.set_read_timeout(Some(self.timeout)).map_err(unreachable)?;
                s.set_write_timeout(Some(self.timeout)).map_err(unreachable)?;
                Ok(Box::new(s))
            }
        }
    }

    /// Sends a request; decodes a 200 answer as `T`, anything else as an error.
    pub fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, ClientError> {
        let mut stream = self.connect()?;
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: airlock\r\nConnection: close\r\nContent-Length: {}\r\n",
            payload.len()
        );
        if body.is_some() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        let io = |source| ClientError::Unreachable {
            endpoint: self.endpoint.to_string(),
            source,
        };
        stream.write_all(head.as_bytes()).map_err(io)?;
        stream.write_all(payload.as_bytes()).map_err(io)?;
        stream.flush().map_err(io)?;
        let mut raw = Vec::new();
        stream.take(16 * 1024 * 1024).read_to_end(&mut raw).map_err(io)?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| ClientError::Protocol("no header end".into()))?;
        let status: u16 = head
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ClientError::Protocol("no status line".into()))?;
        let chunked = head
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding: chunked"));
        let body = if chunked { dechunk(body) } else { body.to_owned() };
        if status != 200 {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            return Err(ClientError::Api {
                status,
                kind: v["error"].as_str().unwrap_or("error").to_owned(),
                message: v["message"].as_str().map_or_else(|| body.clone(), str::to_owned),
            });
        }
        serde_json::from_str(&body).map_err(|e| ClientError::Protocol(e.to_string()))
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
