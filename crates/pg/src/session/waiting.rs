//! Hold means hold, in the gateway too: a statement held for approval waits for the humans' decision
//! — up to `[server] hold_wait`, and never longer than the client's own `statement_timeout` allows —
//! then runs (its approval spent, after the snapshot) or fails with their refusal. A CancelRequest
//! ends the wait as PostgreSQL ends a statement: SQLSTATE 57014, and the session stays usable.
//! When nobody decides in time the client hears that it is held, as before, and may retry once a
//! human approved. Waiting is async (the session's task, no thread) and never held the statement
//! upstream: nothing was sent there while the humans think.

use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_server::{wait_for_decision as settle, ActionEvent, Settled};
use tokio::sync::broadcast::Receiver;

use super::relay::decide;
use crate::cancel::Cancels;
use crate::gateway::Shared;
use crate::judge::{Caller, Decided, Verdict, CANCELED, REFUSED};
use crate::probe::SessionView;

/// A held statement, and since when its client has been waiting.
pub(super) struct Held {
    pub id: String,
    pub verdict: Verdict,
    pub since: Instant,
}

/// Waits for the decision on `held`; the verdict the client gets.
pub(super) async fn wait(
    shared: &Arc<Shared>,
    caller: &Caller,
    sql: &str,
    view: &SessionView,
    held: Held,
    mut events: Receiver<ActionEvent>,
    cancels: &mut Cancels,
) -> Verdict {
    let airlock = shared.judge.airlock();
    let hold_wait = airlock.config.hold_wait;
    let left = view.statement_timeout.map(|t| t.saturating_sub(held.since.elapsed()));
    let (limit, timeout_first) = match left {
        Some(t) if t < hold_wait => (t, true),
        _ => (hold_wait, false),
    };
    let started = Instant::now();
    let canceled = async {
        // A closed channel is a session being torn down, not a cancel.
        if cancels.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let settled = tokio::select! {
        s = settle(airlock, &mut events, &held.id, limit) => s,
        () = canceled => return canceled_while_held(&held.id, "canceling statement due to user request"),
    };
    match settled {
        Settled::Released => match decide(shared, caller, sql, Ok(view.clone())).await {
            Decided::Done(v) => v,
            // The evidence changed while it waited: held afresh, and the client hears why.
            Decided::Held { verdict, .. } => verdict,
        },
        Settled::Refused(reason) => Verdict::refuse(
            format!(
                "A human refused this statement (id {}){}",
                held.id,
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
            String::new(),
            "Do not try to reach the same result another way; tell the user what you wanted to do and why.",
        ),
        Settled::Open if timeout_first && started.elapsed() >= limit => {
            canceled_while_held(&held.id, "canceling statement due to statement timeout")
        }
        Settled::Open => still_held(held.verdict, limit),
    }
}

fn canceled_while_held(id: &str, message: &str) -> Verdict {
    Verdict::Refuse {
        code: CANCELED,
        message: message.to_owned(),
        detail: format!("Airlock was holding it for approval (id {id}); the hold stays open."),
        hint: format!("Once a human has run `airlock approve {id}`, send exactly the same statement again."),
    }
}

fn still_held(verdict: Verdict, waited: Duration) -> Verdict {
    match verdict {
        Verdict::Refuse {
            message, detail, hint, ..
        } => Verdict::Refuse {
            code: REFUSED,
            message: format!("No one decided within {} s. {message}", waited.as_secs()),
            detail,
            hint,
        },
        v => v,
    }
}
