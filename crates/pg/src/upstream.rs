//! Connections to the real database, made with the resource's credentials (trust, cleartext, MD5 or
//! SCRAM-SHA-256), which never reach the client.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use postgres::config::Host;
use postgres_protocol::authentication::md5_hash;
use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
use postgres_protocol::message::backend::{ErrorFields, Message};
use postgres_protocol::message::frontend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::upstream_tls::{UpstreamStream, UpstreamTls};
use crate::PgError;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and as whom to connect, from a resource's URL.
#[derive(Clone)]
pub struct Target {
    host: String,
    port: u16,
    user: String,
    password: Option<Vec<u8>>,
    dbname: String,
    tls: UpstreamTls,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}/{}", self.user, self.host, self.port, self.dbname)
    }
}

impl Target {
    /// Reads a `postgres://` URL (or a libpq conninfo string). Errors never repeat the password.
    pub fn from_url(url: &str) -> Result<Target, PgError> {
        let (rest, sslmode, sslrootcert) = take_tls_params(url);
        let tls = UpstreamTls::from_params(sslmode.as_deref(), sslrootcert.as_deref())?;
        let config: postgres::Config = rest
            .parse()
            .map_err(|_| PgError::Setup("the resource's url is not a PostgreSQL connection url".into()))?;
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(_) => {
                return Err(PgError::Setup(
                    "the resource's url names a unix socket; the gateway connects over TCP (host:port)".into(),
                ))
            }
            None => "localhost".into(),
        };
        let user = config
            .get_user()
            .ok_or_else(|| PgError::Setup("the resource's url names no user".into()))?
            .to_owned();
        Ok(Target {
            port: config.get_ports().first().copied().unwrap_or(5432),
            dbname: config.get_dbname().unwrap_or(&user).to_owned(),
            password: config.get_password().map(<[u8]>::to_vec),
            user,
            host,
            tls,
        })
    }
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query (or a conninfo string), which the gateway
/// handles itself: the URL without them, and their values.
pub(crate) fn take_tls_params(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    let mut take = |pair: &str| -> bool {
        match pair.split_once('=') {
            Some(("sslmode", v)) => mode = Some(v.to_owned()),
            Some(("sslrootcert", v)) => root = Some(v.to_owned()),
            _ => return false,
        }
        true
    };
    let rest = if let Some((base, query)) = url.split_once('?') {
        let kept: Vec<&str> = query.split('&').filter(|p| !take(p)).collect();
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else if !url.contains("://") {
        url.split_whitespace()
            .filter(|p| !take(p))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        url.to_owned()
    };
    (rest, mode, root)
}

/// An authenticated upstream session, idle and ready for queries.
#[derive(Debug)]
pub struct Upstream {
    pub stream: UpstreamStream,
    pub addr: SocketAddr,
    /// The ParameterStatus values the server reported.
    pub params: Vec<(String, String)>,
    pub pid: i32,
    pub secret: i32,
}

/// "message (SQLSTATE code)" of an ErrorResponse.
pub(crate) fn error_text(fields: &mut ErrorFields<'_>) -> String {
    use postgres::fallible_iterator::FallibleIterator;
    let (mut code, mut message) = (String::new(), String::new());
    while let Ok(Some(f)) = fields.next() {
        let value = String::from_utf8_lossy(f.value_bytes()).into_owned();
        match f.type_() {
            b'C' => code = value,
            b'M' => message = value,
            _ => {}
        }
    }
    format!("{message} (SQLSTATE {code})")
}

async fn read_message(stream: &mut UpstreamStream, buf: &mut BytesMut) -> Result<Message, PgError> {
    loop {
        if let Some(m) = Message::parse(buf).map_err(|e| PgError::Upstream(format!("bad reply: {e}")))? {
            return Ok(m);
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(PgError::Upstream("the server closed the connection".into()));
        }
    }
}

async fn send<W: tokio::io::AsyncWrite + Unpin>(stream: &mut W, buf: &mut BytesMut) -> Result<(), PgError> {
    stream.write_all(buf).await?;
    buf.clear();
    Ok(())
}

/// Startup parameters a client may pass on; `user`, `database` and `replication` are the gateway's.
pub(crate) fn passes_on(name: &str) -> bool {
    !matches!(name, "user" | "database" | "replication")
}

/// Connects and authenticates, passing the client's own startup parameters.
pub async fn connect(target: &Target, client_params: &[(String, String)]) -> Result<Upstream, PgError> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect_inner(target, client_params))
        .await
        .map_err(|_| PgError::Upstream(format!("no answer from {}:{} within 10 s", target.host, target.port)))?
}

async fn connect_inner(target: &Target, client_params: &[(String, String)]) -> Result<Upstream, PgError> {
    let stream = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(|e| PgError::Upstream(format!("cannot connect to {}:{}: {e}", target.host, target.port)))?;
    stream.set_nodelay(true)?;
    let addr = stream.peer_addr()?;
    let mut stream = negotiate_tls(target, stream).await?;
    let mut params: Vec<(&str, &str)> = vec![("user", &target.user), ("database", &target.dbname)];
    params.extend(
        client_params
            .iter()
            .filter(|(k, _)| passes_on(k))
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let mut out = BytesMut::new();
    frontend::startup_message(params.iter().copied(), &mut out)?;
    send(&mut stream, &mut out).await?;

    let mut buf = BytesMut::with_capacity(8192);
    let password = || {
        target.password.clone().ok_or_else(|| {
            PgError::Upstream(
                "the server asks for a password and the resource has none (set secret_env or secret_file)".into(),
            )
        })
    };
    let mut scram: Option<ScramSha256> = None;
    let mut upstream = Upstream {
        stream,
        addr,
        params: Vec::new(),
        pid: 0,
        secret: 0,
    };
    loop {
        match read_message(&mut upstream.stream, &mut buf).await? {
            Message::AuthenticationOk => {}
            Message::AuthenticationCleartextPassword => {
                frontend::password_message(&password()?, &mut out)?;
            }
            Message::AuthenticationMd5Password(body) => {
                let hash = md5_hash(target.user.as_bytes(), &password()?, body.salt());
                frontend::password_message(hash.as_bytes(), &mut out)?;
            }
            Message::AuthenticationSasl(body) => {
                use postgres::fallible_iterator::FallibleIterator;
                let mut mechanisms = body.mechanisms();
                let mut offered = false;
                while let Ok(Some(m)) = mechanisms.next() {
                    offered |= m == "SCRAM-SHA-256";
                }
                if !offered {
                    return Err(PgError::Upstream(
                        "the server offers no SASL mechanism the gateway supports".into(),
                    ));
                }
                let s = ScramSha256::new(&password()?, ChannelBinding::unsupported());
                frontend::sasl_initial_response("SCRAM-SHA-256", s.message(), &mut out)?;
                scram = Some(s);
            }
            Message::AuthenticationSaslContinue(body) => {
                let s = scram
                    .as_mut()
                    .ok_or_else(|| PgError::Upstream("SASL continued before it started".into()))?;
                s.update(body.data())
                    .map_err(|e| PgError::Upstream(format!("SCRAM: {e}")))?;
                frontend::sasl_response(s.message(), &mut out)?;
            }
            Message::AuthenticationSaslFinal(body) => {
                scram
                    .as_mut()
                    .ok_or_else(|| PgError::Upstream("SASL finished before it started".into()))?
                    .finish(body.data())
                    .map_err(|e| PgError::Upstream(format!("SCRAM: the server's signature is wrong: {e}")))?;
            }
            Message::ParameterStatus(body) => {
                let name = body.name().map_err(|e| PgError::Upstream(e.to_string()))?;
                let value = body.value().map_err(|e| PgError::Upstream(e.to_string()))?;
                upstream.params.push((name.to_owned(), value.to_owned()));
            }
            Message::BackendKeyData(body) => {
                upstream.pid = body.process_id();
                upstream.secret = body.secret_key();
            }
            Message::ReadyForQuery(_) => {
                if !buf.is_empty() {
                    return Err(PgError::Upstream(
                        "the server sent more than it should during startup".into(),
                    ));
                }
                return Ok(upstream);
            }
            Message::ErrorResponse(body) => {
                return Err(PgError::Upstream(error_text(&mut body.fields())));
            }
            Message::NoticeResponse(_) => {}
            Message::AuthenticationGss | Message::AuthenticationSspi | Message::AuthenticationKerberosV5 => {
                return Err(PgError::Upstream(
                    "the server asks for GSS/SSPI/Kerberos, which the gateway does not do".into(),
                ));
            }
            _ => return Err(PgError::Upstream("unexpected message during startup".into())),
        }
        if !out.is_empty() {
            send(&mut upstream.stream, &mut out).await?;
        }
    }
}

/// SSLRequest, then the TLS handshake when the server agrees (and the URL wants it).
async fn negotiate_tls(target: &Target, mut tcp: TcpStream) -> Result<UpstreamStream, PgError> {
    let Some(connector) = target.tls.connector()? else {
        return Ok(UpstreamStream::Plain(tcp));
    };
    let mut out = BytesMut::new();
    frontend::ssl_request(&mut out);
    send(&mut tcp, &mut out).await?;
    let mut answer = [0u8; 1];
    tcp.read_exact(&mut answer).await?;
    match (answer[0], &target.tls) {
        (b'S', _) => {
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|_| PgError::Setup(format!("{:?} is not a host name TLS can check", target.host)))?;
            let tls = connector
                .connect(name, tcp)
                .await
                .map_err(|e| PgError::Upstream(format!("TLS with {}:{}: {e}", target.host, target.port)))?;
            Ok(UpstreamStream::Tls(Box::new(tls)))
        }
        (b'N', UpstreamTls::Prefer) => Ok(UpstreamStream::Plain(tcp)),
        (b'N', _) => Err(PgError::Upstream(format!(
            "{}:{} does not offer TLS, and the resource's url requires it",
            target.host, target.port
        ))),
        _ => Err(PgError::Upstream("unexpected answer to SSLRequest".into())),
    }
}

/// Runs one simple statement on an idle session and waits for it (the pool's reset).
pub async fn reset(upstream: &mut Upstream) -> Result<(), PgError> {
    let mut out = BytesMut::new();
    frontend::query("DISCARD ALL", &mut out)?;
    send(&mut upstream.stream, &mut out).await?;
    let mut buf = BytesMut::new();
    let mut failed = None;
    loop {
        match read_message(&mut upstream.stream, &mut buf).await? {
            Message::ErrorResponse(body) => failed = Some(error_text(&mut body.fields())),
            Message::ReadyForQuery(body) if body.status() == b'I' && buf.is_empty() => {
                return failed.map_or(Ok(()), |e| Err(PgError::Upstream(e)));
            }
            Message::ReadyForQuery(_) => return Err(PgError::Upstream("the session is not idle after reset".into())),
            _ => {}
        }
    }
}

/// Asks the server to cancel what backend `pid` runs (a new connection, as the protocol wants).
pub async fn cancel(addr: SocketAddr, pid: i32, secret: i32) -> Result<(), PgError> {
    let mut stream = TcpStream::connect(addr).await?;
    let mut out = BytesMut::new();
    frontend::cancel_request(pid, secret, &mut out);
    stream.write_all(&out).await?;
    stream.shutdown().await?;
    Ok(())
}
