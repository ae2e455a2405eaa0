//! One client connection: startup and SCRAM, the upstream session, then the relay. Each direction
//! frames messages; client → server judges Query and Parse (and Bind of statements an approval
//! let through once); server → client drops the ParseComplete and BindComplete of substituted
//! refusals and watches ReadyForQuery.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use airlock_config::ResourceConfig;
use airlock_store::{ScramVerifier, TokenRecord};
use bytes::{Buf, BytesMut};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::audit::Entry;
use crate::cancel::UpstreamKey;
use crate::gateway::Shared;
use crate::judge::{Caller, Verdict};
use crate::messages::{
    auth_ok, auth_sasl, auth_sasl_continue, auth_sasl_final, backend_key_data, bind_statement, parameter_status,
    parse_message, query_text, read_startup, ready_for_query, substitute_error, ErrorResponse, Framer, Piece,
    SaslInitial, Startup, FRONTEND_TAGS,
};
use crate::pool::PoolKey;
use crate::scram::ScramExchange;
use crate::upstream::{self, Target, Upstream};
use crate::PgError;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a session checks that its token was not revoked meanwhile.
const TOKEN_RECHECK: Duration = Duration::from_secs(5);
/// The largest Query or Parse the gateway judges (a little over what the classifier reads).
const MAX_STATEMENT: usize = airlock_classify::MAX_INPUT_BYTES + 1024;

/// Where in the reply stream a substituted refusal's ParseComplete will come: after `epoch`
/// ReadyForQuery messages, as the `ordinal`-th ParseComplete since the last one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Skip {
    epoch: u64,
    ordinal: u64,
}

/// What both directions of one session share.
#[derive(Default)]
struct Relay {
    skips: Mutex<VecDeque<Skip>>,
    /// Query, Sync and FunctionCall messages sent upstream (each gets one ReadyForQuery).
    sent_epochs: AtomicU64,
    /// ReadyForQuery messages received.
    got_epochs: AtomicU64,
    /// The last ReadyForQuery status.
    status: std::sync::atomic::AtomicU8,
}

/// How the relay ended.
enum End {
    /// The client said Terminate.
    Terminated,
    ClientGone,
    UpstreamGone,
    /// A fatal error to report to the client before closing.
    Fatal(ErrorResponse),
}

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

/// Reads one message of type `tag` during startup (small, whole).
async fn read_auth_message<R: AsyncRead + Unpin>(r: &mut R, tag: u8) -> Result<Vec<u8>, PgError> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head).await?;
    if head[0] != tag {
        return Err(PgError::Protocol(format!(
            "expected a '{}' message during authentication, got 0x{:02x}",
            tag as char, head[0]
        )));
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if !(4..=8192).contains(&len) {
        return Err(PgError::Protocol(format!(
            "an authentication message of {len} bytes is invalid"
        )));
    }
    let mut body = vec![0u8; len - 4];
    r.read_exact(&mut body).await?;
    Ok(body)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS has no randomness");
    b
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
/// CancelRequest, and the StartupMessage.
async fn open(shared: &Shared, mut tcp: TcpStream) -> Opened {
    let startup_error = |e: PgError| ErrorResponse::fatal("08P01", format!("Airlock: {e}"));
    loop {
        match read_startup(&mut tcp).await {
            Err(PgError::Io(_)) => return Opened::Done,
            Err(e) => {
                send_fatal(&mut tcp, &startup_error(e)).await;
                return Opened::Done;
            }
            Ok(Startup::Ssl) if shared.tls.is_some() => {
                let Some(acceptor) = &shared.tls else {
                    return Opened::Done;
                };
                if tcp.write_all(b"S").await.is_err() {
                    return Opened::Done;
                }
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return Opened::Done;
                };
                return match read_startup(&mut tls).await {
                    Ok(Startup::Params(p)) => Opened::Tls(Box::new(tls), p),
                    Ok(Startup::Cancel { pid, secret }) => {
                        cancel(shared, pid, secret).await;
                        Opened::Done
                    }
                    Ok(_) => {
                        let e = PgError::Protocol("a second encryption request inside TLS".into());
                        send_fatal(&mut tls, &startup_error(e)).await;
                        Opened::Done
                    }
                    Err(PgError::Io(_)) => Opened::Done,
                    Err(e) => {
                        send_fatal(&mut tls, &startup_error(e)).await;
                        Opened::Done
                    }
                };
            }
            // No certificate, or GSS encryption (never offered): the client goes on in plain text.
            Ok(Startup::Ssl | Startup::GssEnc) => {
                if tcp.write_all(b"N").await.is_err() {
                    return Opened::Done;
                }
            }
            Ok(Startup::Cancel { pid, secret }) => {
                cancel(shared, pid, secret).await;
                return Opened::Done;
            }
            Ok(Startup::Params(_)) if shared.tls.is_some() => {
                send_fatal(
                    &mut tcp,
                    &ErrorResponse::fatal("28000", "Airlock: this gateway accepts TLS connections only")
                        .with_hint("Connect with sslmode=require (or verify-full with the gateway's certificate)."),
                )
                .await;
                return Opened::Done;
            }
            Ok(Startup::Params(p)) => return Opened::Plain(tcp, p),
        }
    }
}

async fn cancel(shared: &Shared, pid: i32, secret: i32) {
    if let Some(k) = shared.cancels.lookup(pid, secret) {
        let _ = upstream::cancel(k.addr, k.pid, k.secret).await;
    }
}

async fn serve<S: Client>(shared: Arc<Shared>, mut client: S, params: Vec<(String, String)>, peer: SocketAddr) {
    match tokio::time::timeout(STARTUP_TIMEOUT, start(&shared, &mut client, params, peer)).await {
        Ok(Ok(Some((caller, upstream, key)))) => relay(&shared, client, caller, upstream, key).await,
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

/// Startup parameters that only shape how results look, and the gateway's own.
fn startup_parameter_passes(name: &str) -> bool {
    const PASS: [&str; 13] = [
        "user",
        "database",
        "replication",
        "application_name",
        "fallback_application_name",
        "client_encoding",
        "datestyle",
        "timezone",
        "intervalstyle",
        "extra_float_digits",
        "search_path",
        "bytea_output",
        "lc_messages",
    ];
    PASS.contains(&name.to_ascii_lowercase().as_str())
}

/// A client connection, plain or TLS.
pub trait Client: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Client for T {}

type Started = (Caller, Upstream, PoolKey);

/// Authentication, the resource and its upstream session. None when the connection was answered
/// and is done (a refusal already sent).
async fn start<S: Client>(
    shared: &Shared,
    client: &mut S,
    params: Vec<(String, String)>,
    peer: SocketAddr,
) -> Result<Option<Started>, PgError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("replication").is_some_and(|v| v != "false" && v != "0") {
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "42501",
                "Airlock: replication connections are not allowed through the gateway",
            ),
        )
        .await;
        return Ok(None);
    }
    // Every other startup parameter sets a server setting with no statement to judge
    // (`options=-c session_replication_role=replica` turns off triggers and foreign keys): only the
    // ones drivers send for formatting pass.
    if let Some((name, _)) = params.iter().find(|(k, _)| !startup_parameter_passes(k)) {
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "42501",
                format!("Airlock: the startup parameter {name:?} is not passed to the database (it changes server settings without a statement Airlock can judge)"),
            )
            .with_hint("Leave it out of the connection string and use SET statements after connecting."),
        )
        .await;
        return Ok(None);
    }
    let user = get("user").unwrap_or_default();
    let database = get("database").filter(|d| !d.is_empty()).unwrap_or(user);

    let Some(token) = authenticate(shared, client).await? else {
        shared
            .judge
            .airlock()
            .record(
                "pg.auth_failed",
                None,
                json!({ "peer": peer.to_string(), "database": database }),
            )
            .ok();
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "28P01",
                "Airlock: password authentication failed: the password must be an Airlock agent token issued by this instance",
            )
            .with_hint("Use the token from `airlock token create --agent NAME` as the password (any user name). Tokens issued before the gateway existed must be reissued."),
        )
        .await;
        return Ok(None);
    };

    let airlock = shared.judge.airlock();
    let Some(resource) = airlock
        .config
        .resources
        .iter()
        .find(|r| r.name == database && r.kind == "postgres")
    else {
        let names: Vec<&str> = airlock
            .config
            .resources
            .iter()
            .filter(|r| r.kind == "postgres")
            .map(|r| r.name.as_str())
            .collect();
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "3D000",
                format!("Airlock: database {database:?} is not a PostgreSQL resource this gateway serves"),
            )
            .with_hint(format!(
                "Connect with the database name set to one of: {}",
                names.join(", ")
            )),
        )
        .await;
        return Ok(None);
    };
    if !token.environments.is_empty() && !token.environments.contains(&resource.environment) {
        airlock
            .record(
                "pg.refused",
                None,
                json!({ "agent": token.agent, "token": token.id, "resource": resource.name, "why": "environment outside the token's scope" }),
            )
            .ok();
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "42501",
                format!(
                    "Airlock: token {}… may reach {} only, and database {:?} is in {}",
                    token.id,
                    token.environments.join(", "),
                    resource.name,
                    resource.environment
                ),
            )
            .with_hint(
                "Ask an operator for a token whose scope includes that environment; do not use another credential.",
            ),
        )
        .await;
        return Ok(None);
    }

    let key = PoolKey::new(&resource.name, &params);
    let upstream = match shared.pool.checkout(&key) {
        Some(u) => u,
        None => match connect_upstream(resource, &airlock.config.dir, &params).await {
            Ok(u) => u,
            Err(e) => {
                send_fatal(
                    client,
                    &ErrorResponse::fatal(
                        "08006",
                        format!("Airlock cannot reach the database of resource {}: {e}", resource.name),
                    ),
                )
                .await;
                return Ok(None);
            }
        },
    };
    let session = shared.sessions.fetch_add(1, Ordering::Relaxed) + 1;
    shared.judge.audit().push(Entry::Connected {
        at: airlock_server::now(),
        session,
        agent: token.agent.clone(),
        token: token.id.clone(),
        resource: resource.name.clone(),
        peer: peer.to_string(),
    });
    let caller = Caller {
        token,
        resource: resource.name.clone(),
        session,
    };
    Ok(Some((caller, upstream, key)))
}

async fn connect_upstream(
    resource: &ResourceConfig,
    dir: &std::path::Path,
    params: &[(String, String)],
) -> Result<Upstream, PgError> {
    let url = resource.connection_url(dir).map_err(PgError::Setup)?;
    let target = Target::from_url(&url)?;
    upstream::connect(&target, params).await
}

/// SCRAM-SHA-256 against every usable token's verifier; the token whose verifier accepts the proof.
async fn authenticate<S: Client>(shared: &Shared, client: &mut S) -> Result<Option<TokenRecord>, PgError> {
    client.write_all(&auth_sasl()).await?;
    let initial = SaslInitial::parse(&read_auth_message(client, b'p').await?)?;
    if initial.mechanism != "SCRAM-SHA-256" {
        return Err(PgError::Protocol(format!(
            "SASL mechanism {:?} was not offered; use SCRAM-SHA-256",
            initial.mechanism
        )));
    }
    let airlock = shared.judge.airlock();
    let salt = airlock.scram_salt().map_err(|e| PgError::Setup(e.to_string()))?;
    let (exchange, server_first) = ScramExchange::start(&initial.data, &salt, &random_bytes::<18>())?;
    client.write_all(&auth_sasl_continue(&server_first)).await?;
    let client_final = read_auth_message(client, b'p').await?;
    let at = airlock_server::now();
    let tokens: Vec<(TokenRecord, ScramVerifier)> = airlock
        .store()
        .tokens()
        .map_err(|e| PgError::Setup(format!("cannot read the tokens: {e}")))?
        .into_iter()
        .filter(|t| t.is_usable(at))
        .filter_map(|t| {
            let v = ScramVerifier::decode(t.scram.as_deref()?)?;
            Some((t, v))
        })
        .collect();
    let verifiers: Vec<ScramVerifier> = tokens.iter().map(|(_, v)| v.clone()).collect();
    let Some((index, server_final)) = exchange.finish(&client_final, &verifiers)? else {
        return Ok(None);
    };
    client.write_all(&auth_sasl_final(&server_final)).await?;
    Ok(Some(tokens[index].0.clone()))
}

async fn relay<S: Client>(shared: &Arc<Shared>, mut client: S, caller: Caller, mut upstream: Upstream, key: PoolKey) {
    let (pid, secret) = shared.cancels.register(UpstreamKey {
        addr: upstream.addr,
        pid: upstream.pid,
        secret: upstream.secret,
    });
    let mut hello = auth_ok();
    for (k, v) in &upstream.params {
        hello.extend(parameter_status(k, v));
    }
    hello.extend(backend_key_data(pid, secret));
    hello.extend(ready_for_query(b'I'));
    let state = Relay {
        status: std::sync::atomic::AtomicU8::new(b'I'),
        ..Relay::default()
    };
    let end = if client.write_all(&hello).await.is_err() {
        End::ClientGone
    } else {
        let (mut cr, mut cw) = tokio::io::split(&mut client);
        let (mut ur, mut uw) = tokio::io::split(&mut upstream.stream);
        tokio::select! {
            e = client_to_server(shared, &caller, &state, &mut cr, &mut uw) => e,
            e = server_to_client(&state, &mut ur, &mut cw) => e,
        }
    };
    shared.cancels.remove(pid);
    let in_step = state.sent_epochs.load(Ordering::SeqCst) == state.got_epochs.load(Ordering::SeqCst);
    let idle = state.status.load(Ordering::SeqCst) == b'I';
    // Only a session the client ended cleanly, with nothing in flight and no transaction open, is
    // reset and kept for the next client.
    if let End::Fatal(e) = &end {
        send_fatal(&mut client, e).await;
    } else if matches!(end, End::Terminated) && in_step && idle && upstream::reset(&mut upstream).await.is_ok() {
        shared.pool.checkin(key, upstream);
    }
}

/// The fatal error for a protocol failure on the client's side.
fn protocol_fatal(e: PgError) -> End {
    match e {
        PgError::TooLarge { .. } => End::Fatal(ErrorResponse::fatal("54000", format!("Airlock: {e}"))),
        PgError::Io(_) => End::ClientGone,
        e => End::Fatal(ErrorResponse::fatal(
            "08P01",
            format!("Airlock: {e}; closing this connection"),
        )),
    }
}

struct ClientSide {
    /// ParseComplete messages sent upstream since the last Query/Sync/FunctionCall.
    parses: u64,
    /// Statements an approval let through: how many more Binds each may have.
    once: HashMap<String, u32>,
    token_checked: Instant,
    /// Statement shapes this session may run, with their risk.
    shapes: HashMap<String, airlock_classify::Risk>,
}

async fn judge(shared: &Arc<Shared>, caller: &Caller, side: &mut ClientSide, sql: &str) -> Verdict {
    if let Some(v) = shared.judge.quick(caller, sql, &mut side.shapes) {
        return v;
    }
    let (shared, caller, sql) = (shared.clone(), caller.clone(), sql.to_owned());
    tokio::task::spawn_blocking(move || shared.judge.decide(&caller, &sql))
        .await
        .unwrap_or_else(|_| Verdict::Refuse {
            message: "Airlock failed while judging this statement, so it did not run".into(),
            detail: String::new(),
            hint: "Report this to the operator.".into(),
        })
}

async fn client_to_server<R, W>(shared: &Arc<Shared>, caller: &Caller, state: &Relay, r: &mut R, w: &mut W) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(16 * 1024);
    let mut framer = Framer::new(MAX_STATEMENT, Some(FRONTEND_TAGS));
    let mut side = ClientSide {
        parses: 0,
        once: HashMap::new(),
        token_checked: Instant::now(),
        shapes: HashMap::new(),
    };
    loop {
        match r.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return End::ClientGone,
            Ok(_) => {}
        }
        if side.token_checked.elapsed() > TOKEN_RECHECK {
            side.token_checked = Instant::now();
            let usable = shared
                .judge
                .airlock()
                .store()
                .token(&caller.token.id)
                .ok()
                .flatten()
                .is_some_and(|t| t.is_usable(airlock_server::now()));
            if !usable {
                return End::Fatal(ErrorResponse::fatal(
                    "28000",
                    format!(
                        "Airlock: token {}… was revoked or expired; this session is closed",
                        caller.token.id
                    ),
                ));
            }
        }
        out.clear();
        let mut pos = 0;
        loop {
            let watching_binds = !side.once.is_empty();
            let whole = |t: u8| matches!(t, b'Q' | b'P' | b'S' | b'X' | b'F') || (t == b'B' && watching_binds);
            let piece = match framer.next(&buf[pos..], whole) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => return protocol_fatal(e),
            };
            match piece {
                Piece::Pass(n) => {
                    out.extend_from_slice(&buf[pos..pos + n]);
                    pos += n;
                }
                Piece::Whole { tag, len } => {
                    let msg = &buf[pos..pos + len];
                    pos += len;
                    match handle(shared, caller, state, &mut side, tag, msg, &mut out).await {
                        Ok(true) => {}
                        Ok(false) => {
                            let _ = w.write_all(&out).await;
                            return End::Terminated;
                        }
                        Err(e) => return protocol_fatal(e),
                    }
                }
            }
        }
        buf.advance(pos);
        if !out.is_empty() && w.write_all(&out).await.is_err() {
            return End::UpstreamGone;
        }
    }
}

/// Handles one whole client message; false on Terminate.
async fn handle(
    shared: &Arc<Shared>,
    caller: &Caller,
    state: &Relay,
    side: &mut ClientSide,
    tag: u8,
    msg: &[u8],
    out: &mut Vec<u8>,
) -> Result<bool, PgError> {
    let body = &msg[5..];
    let refuse_extended = |side: &mut ClientSide, out: &mut Vec<u8>, message: &str, detail: &str, hint: &str| {
        state.skips.lock().unwrap_or_else(|p| p.into_inner()).push_back(Skip {
            epoch: state.sent_epochs.load(Ordering::SeqCst),
            ordinal: side.parses,
        });
        side.parses += 1;
        // The substitute replaces the unnamed statement.
        side.once.remove("");
        out.extend(substitute_error(message, detail, hint, true));
    };
    match tag {
        b'X' => return Ok(false),
        b'Q' => {
            let sql = query_text(body)?;
            match judge(shared, caller, side, sql).await {
                Verdict::Forward { .. } => out.extend_from_slice(msg),
                Verdict::Refuse { message, detail, hint } => {
                    out.extend(substitute_error(&message, &detail, &hint, false))
                }
            }
            state.sent_epochs.fetch_add(1, Ordering::SeqCst);
            side.parses = 0;
        }
        b'P' => {
            let (name, sql) = parse_message(body)?;
            match judge(shared, caller, side, sql).await {
                Verdict::Forward { once } => {
                    if once {
                        side.once.insert(name.to_owned(), 1);
                    } else {
                        side.once.remove(name);
                    }
                    out.extend_from_slice(msg);
                    side.parses += 1;
                }
                Verdict::Refuse { message, detail, hint } => refuse_extended(side, out, &message, &detail, &hint),
            }
        }
        b'B' => {
            let statement = bind_statement(body)?;
            match side.once.get_mut(statement) {
                Some(0) => refuse_extended(
                    side,
                    out,
                    "Airlock let this statement through once, on approval; it may not run again",
                    "",
                    "Ask for a new approval: send the statement again (a new Parse) and a human approves it.",
                ),
                Some(left) => {
                    *left -= 1;
                    out.extend_from_slice(msg);
                }
                None => out.extend_from_slice(msg),
            }
        }
        b'S' => {
            out.extend_from_slice(msg);
            state.sent_epochs.fetch_add(1, Ordering::SeqCst);
            side.parses = 0;
        }
        b'F' => {
            // FunctionCall reaches any function by OID, past every SQL check: never let it through.
            out.extend(substitute_error(
                "Airlock refuses the protocol's FunctionCall message (it would bypass statement checks)",
                "",
                "Call the function in a SQL statement instead (SELECT f(...)).",
                false,
            ));
            state.sent_epochs.fetch_add(1, Ordering::SeqCst);
            side.parses = 0;
        }
        _ => out.extend_from_slice(msg),
    }
    Ok(true)
}

async fn server_to_client<R, W>(state: &Relay, r: &mut R, w: &mut W) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut framer = Framer::new(1 << 16, None);
    let mut parses = 0u64;
    let mut drop_bind = false;
    loop {
        match r.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return End::UpstreamGone,
            Ok(_) => {}
        }
        // Replies pass straight from the read buffer unless one was dropped; then the kept runs are
        // copied around it.
        out.clear();
        let mut pos = 0;
        let mut changed = false;
        let mut kept_from = 0;
        loop {
            let piece = match framer.next(&buf[pos..], |t| matches!(t, b'Z' | b'1' | b'2')) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => {
                    return End::Fatal(ErrorResponse::fatal(
                        "08P01",
                        format!("Airlock: the database sent something unreadable: {e}"),
                    ))
                }
            };
            let n = match piece {
                Piece::Pass(n) => n,
                Piece::Whole { tag, len } => {
                    let mut keep = true;
                    match tag {
                        b'Z' => {
                            state.status.store(buf[pos + 5], Ordering::SeqCst);
                            let epoch = state.got_epochs.fetch_add(1, Ordering::SeqCst) + 1;
                            parses = 0;
                            drop_bind = false;
                            let mut skips = state.skips.lock().unwrap_or_else(|p| p.into_inner());
                            while skips.front().is_some_and(|s| s.epoch < epoch) {
                                skips.pop_front();
                            }
                        }
                        b'1' => {
                            let here = Skip {
                                epoch: state.got_epochs.load(Ordering::SeqCst),
                                ordinal: parses,
                            };
                            parses += 1;
                            let mut skips = state.skips.lock().unwrap_or_else(|p| p.into_inner());
                            if skips.front() == Some(&here) {
                                skips.pop_front();
                                keep = false;
                                drop_bind = true;
                            }
                        }
                        b'2' if drop_bind => {
                            drop_bind = false;
                            keep = false;
                        }
                        _ => {}
                    }
                    if !keep {
                        changed = true;
                        out.extend_from_slice(&buf[kept_from..pos]);
                        pos += len;
                        kept_from = pos;
                        continue;
                    }
                    len
                }
            };
            pos += n;
        }
        let reply: &[u8] = if changed {
            out.extend_from_slice(&buf[kept_from..pos]);
            &out
        } else {
            &buf[..pos]
        };
        if !reply.is_empty() && w.write_all(reply).await.is_err() {
            return End::ClientGone;
        }
        buf.advance(pos);
    }
}
