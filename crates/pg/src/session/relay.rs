//! The relay: client → server frames messages and judges Query and Parse (and Bind of statements
//! an approval let through once), asking the session how it reads names and waiting for the humans
//! when a statement is held; server → client drops the ParseComplete and BindComplete of
//! substituted refusals and the replies to the gateway's own question, and watches ReadyForQuery.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::ask::ask;
use super::flow::Flow;
use super::prepared::{recognise, Prepared, PreparedNames};
use super::waiting::{wait, Held};
use crate::cancel::{Cancels, UpstreamKey};
use crate::gateway::Shared;
use crate::judge::{Caller, Decided, Quick, Verdict};
use crate::messages::{
    auth_ok, backend_key_data, bind_statement, parameter_status, parse_message, query_text, ready_for_query,
    substitute_error, ErrorResponse, Framer, Piece, FRONTEND_TAGS,
};
use crate::pool::PoolKey;
use crate::probe::SessionView;
use crate::upstream::{self, Upstream};
use crate::PgError;

use super::{send_fatal, Client};

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
struct Relay {
    skips: Mutex<VecDeque<Skip>>,
    /// Which replies answer what (epochs are counted there).
    flow: Flow,
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

pub(super) async fn relay<S: Client>(
    shared: &Arc<Shared>,
    mut client: S,
    caller: Caller,
    mut upstream: Upstream,
    key: PoolKey,
) {
    let (pid, secret, cancels) = shared.cancels.register(UpstreamKey {
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
        skips: Mutex::new(VecDeque::new()),
        flow: Flow::new(),
    };
    let end = if client.write_all(&hello).await.is_err() {
        End::ClientGone
    } else {
        let (mut cr, mut cw) = tokio::io::split(&mut client);
        let (mut ur, mut uw) = tokio::io::split(&mut upstream.stream);
        tokio::select! {
            e = client_to_server(shared, &caller, &state, cancels, &mut cr, &mut uw) => e,
            e = server_to_client(&state, &mut ur, &mut cw) => e,
        }
    };
    shared.cancels.remove(pid);
    let in_step = state.flow.in_step();
    let idle = state.flow.status() == b'I';
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
    /// SQL-level prepared statements and the EXECUTEs they allow.
    prepared: PreparedNames,
    /// The session's CancelRequests, watched while a held statement waits.
    cancels: Cancels,
}

/// What goes upstream: bytes queued while a read from the client is handled, written together —
/// or at once, before the gateway asks the session a question of its own.
struct Outbox<'a, W> {
    w: &'a mut W,
    out: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> Outbox<'_, W> {
    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.w.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }
}

async fn judge<W: AsyncWrite + Unpin>(
    shared: &Arc<Shared>,
    caller: &Caller,
    state: &Relay,
    side: &mut ClientSide,
    sql: &str,
    up: &mut Outbox<'_, W>,
) -> Verdict {
    let prepared = recognise(sql);
    if let Some(Prepared::Execute(name)) = &prepared {
        match side.prepared.execute(name) {
            Some(true) => {
                shared.judge.executed(caller, sql);
                return Verdict::Forward { once: false };
            }
            Some(false) => {
                return Verdict::refuse(
                    format!("Airlock let the PREPARE of {name} through once, on approval; it may not run again"),
                    String::new(),
                    "Prepare it again and a human approves it again.",
                )
            }
            None => {}
        }
    }
    let verdict = judge_text(shared, caller, state, side, sql, up).await;
    if let (Some(what), Verdict::Forward { once }) = (&prepared, &verdict) {
        side.prepared.allowed(what, *once);
    }
    verdict
}

/// The judgement of a statement's text. One that policy allows outright costs no round trip; one
/// that is held or spends an approval first asks the session how it reads names (its evidence
/// depends on it), and a held one then waits for the humans when `[server] hold_wait` allows.
async fn judge_text<W: AsyncWrite + Unpin>(
    shared: &Arc<Shared>,
    caller: &Caller,
    state: &Relay,
    side: &mut ClientSide,
    sql: &str,
    up: &mut Outbox<'_, W>,
) -> Verdict {
    let since = Instant::now();
    let asks = match shared.judge.quick(caller, sql, &mut side.shapes) {
        Quick::Done(v) => return v,
        Quick::Decide { asks } => asks,
    };
    let view = if !asks {
        Err("policy refuses it outright".to_owned())
    } else if let Err(e) = up.flush().await {
        Err(format!("the session could not be reached: {e}"))
    } else {
        ask(&state.flow, up.w).await
    };
    let airlock = shared.judge.airlock();
    // Subscribed before the statement is submitted, so that no decision falls in between.
    let events = (view.is_ok() && !airlock.config.hold_wait.is_zero()).then(|| airlock.subscribe());
    match (decide(shared, caller, sql, view.clone()).await, events, view) {
        (Decided::Held { id, verdict }, Some(events), Ok(view)) => {
            let held = Held { id, verdict, since };
            wait(shared, caller, sql, &view, held, events, &mut side.cancels).await
        }
        (Decided::Held { verdict, .. } | Decided::Done(verdict), _, _) => verdict,
    }
}

/// The full decision, on a blocking thread (the state file, the catalog, perhaps a snapshot).
pub(super) async fn decide(
    shared: &Arc<Shared>,
    caller: &Caller,
    sql: &str,
    view: Result<SessionView, String>,
) -> Decided {
    let (shared, caller, sql) = (shared.clone(), caller.clone(), sql.to_owned());
    tokio::task::spawn_blocking(move || shared.judge.decide(&caller, &sql, &view))
        .await
        .unwrap_or_else(|_| {
            Decided::Done(Verdict::refuse(
                "Airlock failed while judging this statement, so it did not run".into(),
                String::new(),
                "Report this to the operator.",
            ))
        })
}

async fn client_to_server<R, W>(
    shared: &Arc<Shared>,
    caller: &Caller,
    state: &Relay,
    cancels: Cancels,
    r: &mut R,
    w: &mut W,
) -> End
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut up = Outbox {
        w,
        out: Vec::with_capacity(16 * 1024),
    };
    let mut framer = Framer::new(MAX_STATEMENT, Some(FRONTEND_TAGS));
    let mut side = ClientSide {
        parses: 0,
        once: HashMap::new(),
        token_checked: Instant::now(),
        shapes: HashMap::new(),
        prepared: PreparedNames::default(),
        cancels,
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
        let mut pos = 0;
        loop {
            let watching_binds = !side.once.is_empty();
            let whole = |t: u8| matches!(t, b'Q' | b'P' | b'S' | b'X' | b'F') || (t == b'B' && watching_binds);
            // A message passed in pieces is recorded by its type as its first piece goes.
            let starts = framer.at_boundary().then(|| buf.get(pos).copied()).flatten();
            let piece = match framer.next(&buf[pos..], whole) {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => return protocol_fatal(e),
            };
            match piece {
                Piece::Pass(n) => {
                    if let Some(tag) = starts {
                        state.flow.forwarded(tag);
                    }
                    up.out.extend_from_slice(&buf[pos..pos + n]);
                    pos += n;
                }
                Piece::Whole { tag, len } => {
                    let msg = &buf[pos..pos + len];
                    pos += len;
                    match handle(shared, caller, state, &mut side, tag, msg, &mut up).await {
                        Ok(true) => {}
                        Ok(false) => {
                            let _ = up.flush().await;
                            return End::Terminated;
                        }
                        Err(e) => return protocol_fatal(e),
                    }
                }
            }
        }
        buf.advance(pos);
        if up.flush().await.is_err() {
            return End::UpstreamGone;
        }
    }
}

/// Handles one whole client message; false on Terminate.
async fn handle<W: AsyncWrite + Unpin>(
    shared: &Arc<Shared>,
    caller: &Caller,
    state: &Relay,
    side: &mut ClientSide,
    tag: u8,
    msg: &[u8],
    up: &mut Outbox<'_, W>,
) -> Result<bool, PgError> {
    let body = &msg[5..];
    let refuse_extended = |side: &mut ClientSide, out: &mut Vec<u8>, verdict: Verdict| {
        let Verdict::Refuse {
            code,
            message,
            detail,
            hint,
        } = verdict
        else {
            return;
        };
        state.skips.lock().unwrap_or_else(|p| p.into_inner()).push_back(Skip {
            epoch: state.flow.sent(),
            ordinal: side.parses,
        });
        side.parses += 1;
        // The substitute replaces the unnamed statement.
        side.once.remove("");
        out.extend(substitute_error(code, &message, &detail, &hint, true));
    };
    match tag {
        b'X' => return Ok(false),
        b'Q' => {
            // A cancel sent before this statement arrived was for an earlier one.
            side.cancels.mark_unchanged();
            let sql = query_text(body)?;
            match judge(shared, caller, state, side, sql, up).await {
                Verdict::Forward { .. } => up.out.extend_from_slice(msg),
                Verdict::Refuse {
                    code,
                    message,
                    detail,
                    hint,
                } => up.out.extend(substitute_error(code, &message, &detail, &hint, false)),
            }
            state.flow.forwarded(b'Q');
            side.parses = 0;
        }
        b'P' => {
            side.cancels.mark_unchanged();
            let (name, sql) = parse_message(body)?;
            match judge(shared, caller, state, side, sql, up).await {
                Verdict::Forward { once } => {
                    if once {
                        side.once.insert(name.to_owned(), 1);
                    } else {
                        side.once.remove(name);
                    }
                    up.out.extend_from_slice(msg);
                    side.parses += 1;
                }
                refusal => refuse_extended(side, &mut up.out, refusal),
            }
            state.flow.forwarded(b'P');
        }
        b'B' => {
            let statement = bind_statement(body)?;
            match side.once.get_mut(statement) {
                Some(0) => refuse_extended(
                    side,
                    &mut up.out,
                    Verdict::refuse(
                        "Airlock let this statement through once, on approval; it may not run again".into(),
                        String::new(),
                        "Ask for a new approval: send the statement again (a new Parse) and a human approves it.",
                    ),
                ),
                Some(left) => {
                    *left -= 1;
                    up.out.extend_from_slice(msg);
                }
                None => up.out.extend_from_slice(msg),
            }
            state.flow.forwarded(b'B');
        }
        b'S' => {
            up.out.extend_from_slice(msg);
            state.flow.forwarded(b'S');
            side.parses = 0;
        }
        b'F' => {
            // FunctionCall reaches any function by OID, past every SQL check: never let it through.
            up.out.extend(substitute_error(
                crate::judge::REFUSED,
                "Airlock refuses the protocol's FunctionCall message (it would bypass statement checks)",
                "",
                "Call the function in a SQL statement instead (SELECT f(...)).",
                false,
            ));
            state.flow.forwarded(b'Q');
            side.parses = 0;
        }
        _ => {
            up.out.extend_from_slice(msg);
            state.flow.forwarded(tag);
        }
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
            let whole = |t: u8| matches!(t, b'Z' | b'1' | b'2') || state.flow.watching(t);
            let piece = match framer.next(&buf[pos..], whole) {
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
                    // The gateway's own question is answered here, never to the client.
                    let mut keep = !state.flow.reply(&buf[pos..pos + len]);
                    match tag {
                        b'Z' => {
                            let epoch = state.flow.answered();
                            parses = 0;
                            drop_bind = false;
                            let mut skips = state.skips.lock().unwrap_or_else(|p| p.into_inner());
                            while skips.front().is_some_and(|s| s.epoch < epoch) {
                                skips.pop_front();
                            }
                        }
                        b'1' if keep => {
                            let here = Skip {
                                epoch: state.flow.answered(),
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
                        b'2' if keep && drop_bind => {
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
