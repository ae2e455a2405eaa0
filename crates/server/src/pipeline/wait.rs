//! Waiting on a hold: a hook that asked (or the Postgres gateway, for a held statement) may wait
//! (up to `[server] hold_wait`) for the humans' decision instead of being told to come back, so the
//! agent's command simply pauses. Waiting is async — thousands of callers can wait at once without a
//! thread each.

use std::time::Duration;

use airlock_store::ActionState;
use tokio::sync::broadcast::{error::RecvError, Receiver};

use crate::{ActionEvent, Airlock};

/// How a hold ended, as far as a waiter knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Enough humans approved: retry now to spend the approval.
    Released,
    /// A human refused it, with their reason.
    Refused(Option<String>),
    /// It lapsed or was spent elsewhere, or nobody decided in time.
    Open,
}

fn settled_state(airlock: &Airlock, id: &str) -> Option<Settled> {
    let a = airlock.store.action(id).ok()??;
    match a.state {
        ActionState::Approved => Some(Settled::Released),
        ActionState::Rejected => Some(Settled::Refused(refusal_reason(airlock, id))),
        ActionState::Held => None,
        _ => Some(Settled::Open),
    }
}

fn refusal_reason(airlock: &Airlock, id: &str) -> Option<String> {
    airlock
        .store
        .audit(Some(id))
        .ok()?
        .into_iter()
        .rev()
        .find(|e| e.kind == "action.rejected")
        .map(|e| {
            let who = e.detail["operator"].as_str().unwrap_or("a human").to_owned();
            match e.detail["reason"].as_str() {
                Some(r) if !r.is_empty() => format!("{who}: {r}"),
                _ => who,
            }
        })
}

/// Waits until the hold on `id` is decided or `limit` passes. `events` must have been subscribed
/// before the action was submitted, so that no decision can fall between the two.
pub async fn settle(airlock: &Airlock, events: &mut Receiver<ActionEvent>, id: &str, limit: Duration) -> Settled {
    if let Some(s) = settled_state(airlock, id) {
        return s;
    }
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(e)) if e.action_id == id && e.settles_hold() => {
                return settled_state(airlock, id).unwrap_or(Settled::Open);
            }
            Ok(Ok(_)) => {}
            // Missed events: the state says where the hold is.
            Ok(Err(RecvError::Lagged(_))) => {
                if let Some(s) = settled_state(airlock, id) {
                    return s;
                }
            }
            Ok(Err(RecvError::Closed)) | Err(_) => return Settled::Open,
        }
    }
}
