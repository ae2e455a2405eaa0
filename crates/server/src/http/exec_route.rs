//! `POST /v1/exec`: a brokered command, judged like a submitted action (waiting for humans when
//! asked to), then run by the server with the resource's credential (see `crate::exec`).

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::routes::{blocking, parse, refused, still_held, App, Call};
use crate::exec::{ExecRequest, ExecResponse};
use crate::pipeline::{wait_for_decision as settle, Settled};

pub(super) async fn exec(State(app): State<App>, call: Call, body: Bytes) -> Response {
    let mut events = app.subscribe();
    let again = call.clone();
    let run_as = call.clone();
    let first = blocking(app.clone(), call, move |a, c| {
        let req: ExecRequest = parse(&body)?;
        let mut submit = a.exec_action(&req)?;
        submit.peer = c.peer.clone();
        let agent = a.agent_of(&c, req.agent.as_deref())?;
        let answer = a.submit(&agent, submit.clone())?;
        Ok((answer, agent, submit, req))
    })
    .await;
    let (answer, agent, submit, req) = match first {
        Ok(x) => x,
        Err(e) => return e.into_response(),
    };
    let decided = if answer.decision == "ask" && req.wait && !app.config.hold_wait.is_zero() {
        let limit = app.config.hold_wait;
        match settle(&app, &mut events, &answer.id, limit).await {
            Settled::Released => match blocking(app.clone(), again, move |a, _| a.submit(&agent, submit)).await {
                Ok(v) => v,
                Err(e) => return e.into_response(),
            },
            Settled::Refused(reason) => refused(answer, reason),
            Settled::Open => still_held(answer, limit),
        }
    } else {
        answer
    };
    if decided.decision != "allow" {
        return Json(ExecResponse {
            decision: decided,
            ran: None,
        })
        .into_response();
    }
    match blocking(app, run_as, move |a, _| a.run_brokered(&req)).await {
        Ok(ran) => Json(ExecResponse {
            decision: decided,
            ran: Some(ran),
        })
        .into_response(),
        Err(e) => e.into_response(),
    }
}
