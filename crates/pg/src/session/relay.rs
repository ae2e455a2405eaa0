//! The relay: client → server frames messages and judges Query and Parse (and Bind of statements
//! an approval let through once); server → client drops the ParseComplete and BindComplete of
//! substituted refusals and watches ReadyForQuery.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::prepared::{recognise, Prepared, PreparedNames};
use crate::cancel::UpstreamKey;
use crate::gateway::Shared;
use crate::judge::{Caller, Verdict};
use crate::messages::{
    auth_ok, backend_key_data, bind_statement, parameter_status, parse_message, query_text, ready_for_query,
    substitute_error, ErrorResponse, Framer, Piece, FRONTEND_TAGS,
};
use crate::pool::PoolKey;
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

pub(super) async fn relay<S: Client>(
    shared: &Arc<Shared>,
    mut client: S,
    caller: Caller,
    mut upstream: Upstream,
    key: PoolKey,
) {
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
    /// SQL-level prepared statements and the EXECUTEs they allow.
    prepared: PreparedNames,
}

async fn judge(shared: &Arc<Shared>, caller: &Caller, side: &mut ClientSide, sql: &str) -> Verdict {
    let prepared = recognise(sql);
    if let Some(Prepared::Execute(name)) = &prepared {
        match side.prepared.execute(name) {
            Some(true) => {
                shared.judge.executed(caller, sql);
                return Verdict::Forward { once: false };
            }
            Some(false) => {
                return Verdict::Refuse {
                    message: format!(
                        "Airlock let the PREPARE of {name} through once, on approval; it may not run again"
                    ),
                    detail: String::new(),
                    hint: "Prepare it again and a human approves it again.".into(),
                }
            }
            None => {}
        }
    }
    let verdict = judge_text(shared, caller, side, sql).await;
    if let (Some(what), Verdict::Forward { once }) = (&prepared, &verdict) {
        side.prepared.allowed(what, *once);
    }
    verdict
}

async fn judge_text(shared: &Arc<Shared>, caller: &Caller, side: &mut ClientSide, sql: &str) -> Verdict {
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
        prepared: PreparedNames::default(),
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
