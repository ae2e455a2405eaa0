//! Which replies answer what. Both directions of a session share a [`Flow`]: the client side
//! records each request it forwards, the reply side each ReadyForQuery that answers one, so the
//! gateway knows when the server owes the client nothing more — the only moment it may put a
//! question of its own to the session (see `ask`), whose replies the reply side then keeps from
//! the client.
//!
//! The count can only err one way. Every Query and Sync the gateway forwards is answered by at
//! most one ReadyForQuery, and the server sends none unasked, so "everything sent was answered"
//! is never concluded early; a count that runs high (a client that breaks the protocol) only keeps
//! the session from ever looking quiet, and then the gateway does not ask. The one legitimate
//! exception is COPY FROM STDIN: while it runs, the server ignores Syncs (tokio-postgres and libpq
//! send one right after the Execute that starts it). Those are struck from the count only when the
//! shape of what was sent leaves no doubt which they are (see [`State::copy_ended`]); otherwise the
//! session's flow is lost for good and the gateway never asks it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

/// A request the server answers with one ReadyForQuery, or the end of a COPY FROM STDIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sent {
    Query,
    Sync,
    /// The gateway's own question.
    Question,
    /// CopyDone or CopyFail, sent while the server was copying in.
    CopyEnd,
}

/// Whether the server owes the client nothing, so the gateway may ask the session.
#[derive(Debug, PartialEq, Eq)]
pub enum Quiet {
    Yes,
    /// Replies to earlier requests are still coming: it will be.
    Owed,
    /// Not while the client's message being judged waits (an open extended batch, a COPY), or
    /// never again (a lost flow), because…
    No(&'static str),
}

#[derive(Debug)]
struct State {
    unanswered: VecDeque<Sent>,
    /// Queries and Syncs sent (ignored Syncs included until struck), and those answered.
    sent: u64,
    answered: u64,
    /// An extended-protocol message went out since the last Sync or Query: a batch is open.
    batch_open: bool,
    copy_in: bool,
    copy_end_sent: bool,
    lost: Option<&'static str>,
    /// The last ReadyForQuery's transaction status.
    status: u8,
    question: Option<oneshot::Sender<Vec<u8>>>,
    answer: Vec<u8>,
}

pub struct Flow {
    state: Mutex<State>,
    changed: Notify,
    /// Mirrors for the reply side's check of every message (no lock per message).
    copy_in: AtomicBool,
    asking: AtomicBool,
}

const LOST_COPY: &str = "a COPY FROM STDIN ended in a way the gateway cannot match to the messages the client sent";

impl State {
    fn counted(&self) -> bool {
        self.unanswered.iter().any(|s| *s != Sent::CopyEnd)
    }

    /// The server finished copying in. It ignored every Sync it read while copying: those after the
    /// message that started the COPY (an Execute, or a Query — then first in the queue) and before
    /// the CopyDone or CopyFail that ended it, which is the first such the client sent after the
    /// server said it was copying. Only when the queue reads exactly `Query? Sync* CopyEnd` are
    /// those Syncs known; anything else loses the flow.
    fn copy_ended(&mut self, cleanly: bool) {
        self.copy_in = false;
        self.copy_end_sent = false;
        let query = usize::from(self.unanswered.front() == Some(&Sent::Query));
        let syncs = self
            .unanswered
            .iter()
            .skip(query)
            .take_while(|s| **s == Sent::Sync)
            .count();
        let end = self.unanswered.get(query + syncs) == Some(&Sent::CopyEnd);
        // A clean end came from the client's CopyDone, which must be there. After an error, a Sync
        // the client sent may have been read after the error (and answered): only a copy with none
        // to strike is known.
        let known = if cleanly { end } else { syncs == 0 };
        if !known {
            self.lost = Some(LOST_COPY);
            return;
        }
        self.unanswered.drain(query..query + syncs + usize::from(end));
        self.answered += syncs as u64;
        // An Execute started it: its batch stays open until a Sync the server does read.
        if query == 0 && !self.counted() {
            self.batch_open = true;
        }
    }
}

impl Flow {
    pub fn new() -> Flow {
        Flow {
            state: Mutex::new(State {
                unanswered: VecDeque::new(),
                sent: 0,
                answered: 0,
                batch_open: false,
                copy_in: false,
                copy_end_sent: false,
                lost: None,
                status: b'I',
                question: None,
                answer: Vec::new(),
            }),
            changed: Notify::new(),
            copy_in: AtomicBool::new(false),
            asking: AtomicBool::new(false),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    // The client side.

    /// A message of type `tag` goes upstream (called as it is queued, before it is written).
    pub fn forwarded(&self, tag: u8) {
        // CopyData, Flush and the rest change nothing here: no lock for them.
        if !matches!(tag, b'Q' | b'S' | b'P' | b'B' | b'E' | b'D' | b'C' | b'c' | b'f') {
            return;
        }
        let mut s = self.state();
        match tag {
            b'Q' | b'S' => {
                s.unanswered
                    .push_back(if tag == b'Q' { Sent::Query } else { Sent::Sync });
                s.sent += 1;
                s.batch_open = false;
            }
            b'P' | b'B' | b'E' | b'D' | b'C' => s.batch_open = true,
            b'c' | b'f' if s.copy_in && !s.copy_end_sent => {
                s.unanswered.push_back(Sent::CopyEnd);
                s.copy_end_sent = true;
            }
            _ => {}
        }
    }

    /// Queries and Syncs sent so far (the epoch of what is sent next).
    pub fn sent(&self) -> u64 {
        self.state().sent
    }

    pub fn quiet(&self) -> Quiet {
        let s = self.state();
        if let Some(why) = s.lost {
            Quiet::No(why)
        } else if s.batch_open {
            Quiet::No("the statement came inside an extended-protocol batch the client had not closed with a Sync; send it in a batch of its own")
        } else if s.copy_in {
            Quiet::No("the statement came while a COPY FROM STDIN was running")
        } else if s.counted() {
            Quiet::Owed
        } else {
            Quiet::Yes
        }
    }

    /// Waits, at most `limit`, until the session owes the client nothing.
    pub async fn until_quiet(&self, limit: Duration) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.quiet() {
                Quiet::Yes => return Ok(()),
                Quiet::No(why) => return Err(why.to_owned()),
                Quiet::Owed => {}
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return Err(format!(
                    "the session was still answering the client's earlier statements after {} s",
                    limit.as_secs()
                ));
            }
        }
    }

    /// The gateway's own question is about to go upstream: everything up to its ReadyForQuery is
    /// sent to `answer`, never to the client. Call only when [`quiet`](Self::quiet).
    pub fn asking(&self, answer: oneshot::Sender<Vec<u8>>) {
        let mut s = self.state();
        s.unanswered.push_back(Sent::Question);
        s.sent += 1;
        s.question = Some(answer);
        s.answer.clear();
        self.asking.store(true, Ordering::SeqCst);
    }

    /// Whether a session ended here may serve another client: nothing owed, nothing lost.
    pub fn in_step(&self) -> bool {
        let s = self.state();
        !s.counted() && s.lost.is_none()
    }

    pub fn status(&self) -> u8 {
        self.state().status
    }

    // The reply side.

    /// Whether the reply side must see a message of type `tag` whole.
    pub fn watching(&self, tag: u8) -> bool {
        tag == b'G'
            || self.asking.load(Ordering::SeqCst)
            || (self.copy_in.load(Ordering::SeqCst) && matches!(tag, b'C' | b'E'))
    }

    /// A whole message from the server; true when it answers the gateway's question (and so must
    /// not reach the client).
    pub fn reply(&self, msg: &[u8]) -> bool {
        let tag = msg[0];
        let mut s = self.state();
        // Notifications and parameter changes are the session's, whoever asked last.
        let ours = self.asking.load(Ordering::SeqCst) && !matches!(tag, b'A' | b'S');
        if ours {
            s.answer.extend_from_slice(msg);
        }
        match tag {
            b'Z' => self.ready(&mut s, msg.get(5).copied().unwrap_or(b'I')),
            b'G' => {
                s.copy_in = true;
                s.copy_end_sent = false;
                self.copy_in.store(true, Ordering::SeqCst);
            }
            b'C' | b'E' if s.copy_in => {
                s.copy_ended(tag == b'C');
                self.copy_in.store(false, Ordering::SeqCst);
                self.changed.notify_waiters();
            }
            _ => {}
        }
        ours
    }

    fn ready(&self, s: &mut State, status: u8) {
        s.status = status;
        while s.unanswered.front() == Some(&Sent::CopyEnd) {
            s.unanswered.pop_front();
        }
        match s.unanswered.pop_front() {
            Some(Sent::Question) => {
                self.asking.store(false, Ordering::SeqCst);
                let answer = std::mem::take(&mut s.answer);
                if let Some(tx) = s.question.take() {
                    let _ = tx.send(answer);
                }
            }
            Some(_) => {}
            None => s.lost = Some("the server answered more than the gateway sent"),
        }
        s.answered += 1;
        self.changed.notify_waiters();
    }

    /// ReadyForQuery messages received (and ignored Syncs struck): the epoch being answered.
    pub fn answered(&self) -> u64 {
        self.state().answered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::message;

    fn client(f: &Flow, tags: &str) {
        for t in tags.bytes() {
            f.forwarded(t);
        }
    }

    fn server(f: &Flow, tags: &str) -> Vec<bool> {
        tags.bytes()
            .map(|t| f.reply(&message(t, if t == b'Z' { b"I" } else { b"" })))
            .collect()
    }

    #[test]
    fn quiet_only_when_every_request_was_answered_and_no_batch_is_open() {
        let f = Flow::new();
        assert_eq!(f.quiet(), Quiet::Yes);
        client(&f, "QQ");
        server(&f, "TDCZ");
        assert_eq!(f.quiet(), Quiet::Owed, "one Query still owed");
        server(&f, "CZ");
        assert_eq!(f.quiet(), Quiet::Yes);
        client(&f, "PBE");
        assert!(matches!(f.quiet(), Quiet::No(_)), "an extended batch is open");
        client(&f, "S");
        server(&f, "123Z");
        assert_eq!(f.quiet(), Quiet::Yes);
        assert!(f.in_step());
    }

    #[test]
    fn the_question_s_replies_are_kept_from_the_client() {
        let f = Flow::new();
        let (tx, mut rx) = oneshot::channel();
        f.asking(tx);
        assert_eq!(
            server(&f, "12DCN33AS"),
            vec![true, true, true, true, true, true, true, false, false]
        );
        assert!(rx.try_recv().is_err());
        assert_eq!(server(&f, "Z"), vec![true]);
        let answer = rx.try_recv().unwrap();
        assert_eq!(answer.len(), 7 * 5 + 6);
        assert_eq!(server(&f, "DZ"), vec![false, false], "later replies are the client's");
    }

    #[test]
    fn an_extended_copy_in_strikes_the_sync_the_server_ignored() {
        // tokio-postgres: Bind, Execute, Sync; then CopyData…, CopyDone, Sync.
        let f = Flow::new();
        client(&f, "BES");
        server(&f, "2G");
        client(&f, "ddc");
        assert!(matches!(f.quiet(), Quiet::No(_)), "copying");
        server(&f, "C");
        assert!(
            matches!(f.quiet(), Quiet::No(_)),
            "the batch stays open until the client's next Sync"
        );
        client(&f, "S");
        server(&f, "Z");
        assert_eq!(f.quiet(), Quiet::Yes);
        assert_eq!(f.sent(), f.answered());
    }

    #[test]
    fn a_simple_copy_in_strikes_nothing() {
        let f = Flow::new();
        client(&f, "Q");
        server(&f, "G");
        client(&f, "dddc");
        server(&f, "CZ");
        assert_eq!(f.quiet(), Quiet::Yes);
        // A COPY that fails on its data: the server errs while the client still sends.
        client(&f, "Q");
        server(&f, "G");
        client(&f, "d");
        server(&f, "EZ");
        client(&f, "dc");
        assert_eq!(f.quiet(), Quiet::Yes);
    }

    #[test]
    fn a_copy_that_cannot_be_matched_loses_the_flow_for_good() {
        // A client that sends CopyDone before the server said it copies, then more Syncs.
        let f = Flow::new();
        client(&f, "BESc");
        server(&f, "2G");
        client(&f, "S");
        server(&f, "C");
        assert!(matches!(f.quiet(), Quiet::No(_)));
        assert!(!f.in_step());
        // An extended COPY that fails: whether its Sync was read before or after the error is not
        // known.
        let f = Flow::new();
        client(&f, "BES");
        server(&f, "2G");
        server(&f, "E");
        assert!(matches!(f.quiet(), Quiet::No(_)));
    }

    #[test]
    fn a_count_that_runs_high_never_looks_quiet() {
        // A Query inside a failed extended batch is skipped by the server: never answered.
        let f = Flow::new();
        client(&f, "PQS");
        server(&f, "EZ");
        assert_eq!(f.quiet(), Quiet::Owed);
    }
}
