//! Statement decisions go into the audit chain in batches: one chained entry per batch, every
//! statement in it. Writing one entry per statement would make SQLite the gateway's ceiling. If the
//! chain cannot be written, [`AuditBatcher::is_broken`] turns true and the gateway refuses
//! everything until it can.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use airlock_classify::{redact, Risk};
use airlock_server::Airlock;
use serde_json::{json, Value};

const MAX_BATCH: usize = 1000;
/// How long a decision may wait before it is in the chain.
const PERIOD: Duration = Duration::from_millis(100);

/// What the gateway records, turned into JSON by the audit thread (off the sessions' path).
pub enum Entry {
    Connected {
        at: i64,
        session: u64,
        agent: String,
        token: String,
        resource: String,
        peer: String,
    },
    /// A statement let through on the quick path (the others are recorded as actions).
    Allowed {
        at: i64,
        session: u64,
        sql: String,
        risk: Risk,
    },
    /// An EXECUTE of a statement judged when this session prepared it.
    Executed { at: i64, session: u64, sql: String },
}

impl Entry {
    fn to_json(&self) -> Value {
        match self {
            Entry::Connected {
                at,
                session,
                agent,
                token,
                resource,
                peer,
            } => {
                json!({ "at": at, "session": session, "event": "connected", "agent": agent, "token": token, "resource": resource, "peer": peer })
            }
            Entry::Executed { at, session, sql } => {
                json!({ "at": at, "session": session, "sql": redact(sql), "risk": "as prepared", "decision": "allow" })
            }
            Entry::Allowed { at, session, sql, risk } => {
                json!({ "at": at, "session": session, "sql": redact(sql), "risk": risk.as_str(), "decision": "allow" })
            }
        }
    }
}

pub struct AuditBatcher {
    tx: Sender<Entry>,
    broken: Arc<AtomicBool>,
}

impl AuditBatcher {
    pub fn start(airlock: Arc<Airlock>) -> AuditBatcher {
        let (tx, rx) = channel::<Entry>();
        let broken = Arc::new(AtomicBool::new(false));
        let flag = broken.clone();
        std::thread::Builder::new()
            .name("airlock-pg-audit".into())
            .spawn(move || {
                // Wakes on a timer and drains, rather than on every statement: a wake-up per
                // statement would cost the gateway a context switch per statement.
                let mut done = false;
                while !done {
                    std::thread::sleep(PERIOD);
                    let mut batch: Vec<Value> = Vec::new();
                    loop {
                        match rx.try_recv() {
                            Ok(entry) => batch.push(entry.to_json()),
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => {
                                done = true;
                                break;
                            }
                        }
                    }
                    for chunk in batch.chunks(MAX_BATCH) {
                        if let Err(e) = airlock.record("pg.statements", None, json!({ "statements": chunk })) {
                            eprintln!("airlock pg: cannot write the audit log ({e}); refusing statements until it can");
                            flag.store(true, Ordering::SeqCst);
                        } else {
                            flag.store(false, Ordering::SeqCst);
                        }
                    }
                }
            })
            .expect("cannot start the audit thread");
        AuditBatcher { tx, broken }
    }

    /// Queues an entry; statements are redacted before they are written.
    pub fn push(&self, entry: Entry) {
        let _ = self.tx.send(entry);
    }

    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }
}
