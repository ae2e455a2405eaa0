//! The control plane's decision on a call, exactly as for a hook or a SQL statement: the quick
//! path (policy allows outright and asks for no snapshot: forward, and batch the record), else a
//! full submission — refused, held (the gateway waits up to `hold_wait` for the humans, as a hook
//! does, then answers 403 with the action's id), or an approval spent once.

use std::sync::Arc;
use std::time::Duration;

use airlock_policy::Outcome;
use airlock_server::{wait_for_decision, Airlock, ApiError, Probe, Settled, SubmitRequest, SubmitResponse};
use airlock_store::TokenRecord;
use http::StatusCode;
use serde_json::json;

use crate::refusal::Refusal;

/// What to do with the call.
#[derive(Debug)]
pub enum Verdict {
    /// Forward it. `action`: the recorded action that let it through (None on the quick path);
    /// `snapshot`: policy wants what it destroys copied first.
    Forward {
        action: Option<String>,
        snapshot: bool,
    },
    Refuse(Refusal),
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "error",
        format!("Airlock could not decide on this call, so it was not sent: {e}"),
    )
}

/// Runs `f` on a blocking thread (the state and the classifier are synchronous).
pub async fn blocking<T, F>(airlock: &Arc<Airlock>, f: F) -> Result<T, Refusal>
where
    T: Send + 'static,
    F: FnOnce(&Airlock) -> Result<T, ApiError> + Send + 'static,
{
    let a = airlock.clone();
    match tokio::task::spawn_blocking(move || f(&a)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(e)),
        Err(_) => Err(internal("the decision failed")),
    }
}

/// Decides `req` for `caller`, waiting up to `wait` for humans when it is held.
pub async fn decide(airlock: &Arc<Airlock>, caller: TokenRecord, req: SubmitRequest, wait: Duration) -> Verdict {
    match decide_inner(airlock, caller, req, wait).await {
        Ok(v) => v,
        Err(r) => Verdict::Refuse(r),
    }
}

async fn decide_inner(
    airlock: &Arc<Airlock>,
    caller: TokenRecord,
    req: SubmitRequest,
    wait: Duration,
) -> Result<Verdict, Refusal> {
    let (c, r) = (caller.clone(), req.clone());
    let ev = blocking(airlock, move |a| a.evaluate(&c, &r, None)).await?;
    if ev.decision.outcome == Outcome::Allow && !ev.decision.snapshot {
        return Ok(Verdict::Forward {
            action: None,
            snapshot: false,
        });
    }
    // Subscribed before submitting: no decision can fall in between.
    let mut events = airlock.subscribe();
    let (c, r) = (caller.clone(), req.clone());
    let answer = blocking(airlock, move |a| a.submit_with(&c, r, &Probe::NONE)).await?;
    if answer.decision != "ask" || wait.is_zero() {
        return Ok(verdict(answer, None));
    }
    match wait_for_decision(airlock, &mut events, &answer.id, wait).await {
        Settled::Released => {
            let again = blocking(airlock, move |a| a.submit_with(&caller, req, &Probe::NONE)).await?;
            Ok(verdict(again, None))
        }
        Settled::Refused(reason) => Ok(Verdict::Refuse(
            Refusal::new(
                StatusCode::FORBIDDEN,
                "refused",
                format!(
                    "A human refused this call (id {}){}. Do not try to reach the same result another way (another tool, token or credential); tell the user what you wanted to do.",
                    answer.id,
                    reason.map(|r| format!(": {r}")).unwrap_or_default()
                ),
            )
            .with(json!({ "id": answer.id })),
        )),
        Settled::Open => Ok(verdict(answer, Some(wait))),
    }
}

fn verdict(answer: SubmitResponse, waited: Option<Duration>) -> Verdict {
    match answer.decision.as_str() {
        "allow" => Verdict::Forward {
            action: Some(answer.id),
            snapshot: answer.snapshot,
        },
        "ask" => Verdict::Refuse(held(answer, waited)),
        _ => Verdict::Refuse(
            Refusal::new(StatusCode::FORBIDDEN, "refused", answer.message.clone()).with(json!({
                "id": answer.id, "risk": answer.risk, "environments": answer.environments, "reasons": answer.reasons,
            })),
        ),
    }
}

/// The answer for a held call: 403, its id, and how a human lets it run.
fn held(answer: SubmitResponse, waited: Option<Duration>) -> Refusal {
    let approvers = if answer.approvals_needed > 1 {
        format!("{} different operators must each run", answer.approvals_needed)
    } else {
        "an operator must run".to_owned()
    };
    let how = format!(
        "{approvers} `airlock approve {}` (or approve it on the approval page); then send exactly the same request again and it is forwarded once.",
        answer.id
    );
    let waited = waited
        .map(|w| format!("No one decided within {} s. ", w.as_secs()))
        .unwrap_or_default();
    Refusal::new(StatusCode::FORBIDDEN, "held", format!("{waited}{}", answer.message)).with(json!({
        "id": answer.id,
        "risk": answer.risk,
        "environments": answer.environments,
        "reasons": answer.reasons,
        "approvals_needed": answer.approvals_needed,
        "approvals": answer.approvals,
        "snapshot": answer.snapshot,
        "how_to_approve": how,
    }))
}
