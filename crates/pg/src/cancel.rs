//! Cancel keys. Each client gets the gateway's own (pid, secret); a CancelRequest quoting them is
//! sent on to the upstream backend that session holds, with that backend's real key, and told to
//! the session itself: a statement the gateway holds while humans decide is not running upstream,
//! so only the gateway can cancel its wait.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

#[derive(Clone, Copy, Debug)]
pub struct UpstreamKey {
    pub addr: SocketAddr,
    pub pid: i32,
    pub secret: i32,
}

/// Counts a session's cancel requests; the session watches it while a statement waits.
pub type Cancels = watch::Receiver<u64>;

#[derive(Debug)]
struct Entry {
    secret: i32,
    upstream: UpstreamKey,
    cancels: Arc<watch::Sender<u64>>,
}

#[derive(Debug, Default)]
pub struct CancelKeys {
    keys: Mutex<HashMap<i32, Entry>>,
}

fn random_i32() -> i32 {
    let mut b = [0u8; 4];
    // Without randomness, a predictable key would let anyone cancel anyone's queries.
    getrandom::fill(&mut b).expect("the OS has no randomness");
    i32::from_be_bytes(b)
}

impl CancelKeys {
    /// A new client-facing key for a session on `upstream`, and what its cancels tell it.
    pub fn register(&self, upstream: UpstreamKey) -> (i32, i32, Cancels) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let pid = random_i32() & 0x7fff_ffff;
            if pid != 0 && !keys.contains_key(&pid) {
                let secret = random_i32();
                let (tx, rx) = watch::channel(0);
                keys.insert(
                    pid,
                    Entry {
                        secret,
                        upstream,
                        cancels: Arc::new(tx),
                    },
                );
                return (pid, secret, rx);
            }
        }
    }

    pub fn remove(&self, pid: i32) {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).remove(&pid);
    }

    /// A client's CancelRequest: tells its session and returns the upstream key to cancel with;
    /// None when (pid, secret) is not a live session's (the secret is compared in constant time).
    pub fn cancel(&self, pid: i32, secret: i32) -> Option<UpstreamKey> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let entry = keys.get(&pid)?;
        let diff = (entry.secret ^ secret).to_be_bytes().iter().fold(0u8, |a, b| a | b);
        if diff != 0 {
            return None;
        }
        entry.cancels.send_modify(|n| *n += 1);
        Some(entry.upstream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_secret_cancels() {
        let keys = CancelKeys::default();
        let up = UpstreamKey {
            addr: "127.0.0.1:5432".parse().unwrap(),
            pid: 42,
            secret: 7,
        };
        let (pid, secret, mut cancels) = keys.register(up);
        cancels.mark_unchanged();
        assert!(keys.cancel(pid, secret.wrapping_add(1)).is_none());
        assert!(
            !cancels.has_changed().unwrap(),
            "a wrong secret tells the session nothing"
        );
        assert_eq!(keys.cancel(pid, secret).unwrap().pid, 42);
        assert!(cancels.has_changed().unwrap());
        keys.remove(pid);
        assert!(keys.cancel(pid, secret).is_none());
    }
}
