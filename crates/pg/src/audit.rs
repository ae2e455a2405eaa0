//! Statement decisions go into the audit chain in batches: one chained entry per batch, every
//! statement in it. Writing one entry per statement would make SQLite the gateway's ceiling. If the
//! chain cannot be written, [`AuditBatcher::is_broken`] turns true and the gateway refuses
//! everything until it can.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use airlock_classify::redact;
use airlock_server::Airlock;
use serde_json::{json, Value};

const MAX_BATCH: usize = 1000;
/// How long a decision may wait before it is in the chain.
const PERIOD: Duration = Duration::from_millis(100);

pub struct AuditBatcher {
    tx: Sender<Value>,
    broken: Arc<AtomicBool>,
}

impl AuditBatcher {
    pub fn start(airlock: Arc<Airlock>) -> AuditBatcher {
        let (tx, rx) = channel::<Value>();
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
                            Ok(mut v) => {
                                if let Some(sql) = v.get("sql").and_then(Value::as_str) {
                                    v["sql"] = Value::String(redact(sql));
                                }
                                batch.push(v);
                            }
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

    /// Queues a statement's decision; its `sql` is redacted before it is written.
    pub fn push(&self, entry: Value) {
        let _ = self.tx.send(entry);
    }

    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }
}
