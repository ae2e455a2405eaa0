//! Calls that policy allowed outright are written to the audit chain in batches (one chained
//! entry per batch, `http.calls`), as the Postgres gateway does for statements: an entry per call
//! would make the state file the gateway's ceiling. Held, refused and approved calls are actions
//! of their own, recorded before the agent hears the answer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Sender, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use airlock_server::Airlock;
use serde_json::{json, Value};

const MAX_BATCH: usize = 1000;
const PERIOD: Duration = Duration::from_millis(100);

pub struct Batcher {
    tx: Sender<Value>,
    broken: Arc<AtomicBool>,
}

impl Batcher {
    pub fn start(airlock: Arc<Airlock>) -> Batcher {
        let (tx, rx) = channel::<Value>();
        let broken = Arc::new(AtomicBool::new(false));
        let flag = broken.clone();
        std::thread::Builder::new()
            .name("airlock-http-audit".into())
            .spawn(move || {
                let mut done = false;
                while !done {
                    std::thread::sleep(PERIOD);
                    let mut batch = Vec::new();
                    loop {
                        match rx.try_recv() {
                            Ok(v) => batch.push(v),
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => {
                                done = true;
                                break;
                            }
                        }
                    }
                    for chunk in batch.chunks(MAX_BATCH) {
                        let ok = airlock.record("http.calls", None, json!({ "calls": chunk })).is_ok();
                        if !ok {
                            eprintln!("airlock http: cannot write the audit log; refusing calls until it can");
                        }
                        flag.store(!ok, Ordering::SeqCst);
                    }
                }
            })
            .expect("cannot start the audit thread");
        Batcher { tx, broken }
    }

    /// Queues one allowed call's record (already redacted by the caller).
    pub fn push(&self, entry: Value) {
        let _ = self.tx.send(entry);
    }

    /// Whether the chain could not be written: then nothing is let through.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }
}
