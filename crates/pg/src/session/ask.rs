//! Asking the client's own session how it reads names (the question and its answer are in
//! [`crate::probe`]), through the relay: only once the session owes the client nothing (see
//! `flow`), under a statement name of the gateway's own, its replies kept from the client.

use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use super::flow::Flow;
use crate::probe::{answer, question, SessionView};

/// How long a held statement waits for the client's earlier, pipelined statements to finish.
const QUIET_WAIT: Duration = Duration::from_secs(30);
/// How long the session has to answer four SHOWs.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("the OS has no randomness");
    u64::from_be_bytes(b)
}

/// The session's view, or why it is not known. `upstream` must have everything the client sent
/// before the statement being judged already written to it.
pub(super) async fn ask<W: AsyncWrite + Unpin>(flow: &Flow, upstream: &mut W) -> Result<SessionView, String> {
    flow.until_quiet(QUIET_WAIT).await?;
    let (tx, rx) = oneshot::channel();
    flow.asking(tx);
    // A name no client chooses by chance, so the question never touches a statement of theirs.
    let name = format!("airlock_question_{:016x}", random_u64());
    upstream
        .write_all(&question(&name))
        .await
        .map_err(|e| format!("the session could not be reached: {e}"))?;
    let reply = tokio::time::timeout(ANSWER_WAIT, rx)
        .await
        .map_err(|_| format!("the session did not answer within {} s", ANSWER_WAIT.as_secs()))?
        .map_err(|_| "the session ended".to_owned())?;
    answer(&reply)
}
