//! Cancel keys. Each client gets the gateway's own (pid, secret); a CancelRequest quoting them is
//! sent on to the upstream backend that session holds, with that backend's real key.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug)]
pub struct UpstreamKey {
    pub addr: SocketAddr,
    pub pid: i32,
    pub secret: i32,
}

#[derive(Debug, Default)]
pub struct CancelKeys {
    keys: Mutex<HashMap<i32, (i32, UpstreamKey)>>,
}

fn random_i32() -> i32 {
    let mut b = [0u8; 4];
    // Without randomness, a predictable key would let anyone cancel anyone's queries.
    getrandom::fill(&mut b).expect("the OS has no randomness");
    i32::from_be_bytes(b)
}

impl CancelKeys {
    /// A new client-facing key for a session on `upstream`.
    pub fn register(&self, upstream: UpstreamKey) -> (i32, i32) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let pid = random_i32() & 0x7fff_ffff;
            if pid != 0 && !keys.contains_key(&pid) {
                let secret = random_i32();
                keys.insert(pid, (secret, upstream));
                return (pid, secret);
            }
        }
    }

    pub fn remove(&self, pid: i32) {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).remove(&pid);
    }

    /// The upstream key for a client's (pid, secret); the secret is compared in constant time.
    pub fn lookup(&self, pid: i32, secret: i32) -> Option<UpstreamKey> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let (expected, up) = keys.get(&pid)?;
        let diff = (expected ^ secret).to_be_bytes().iter().fold(0u8, |a, b| a | b);
        (diff == 0).then_some(*up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_secret_finds_the_upstream() {
        let keys = CancelKeys::default();
        let up = UpstreamKey {
            addr: "127.0.0.1:5432".parse().unwrap(),
            pid: 42,
            secret: 7,
        };
        let (pid, secret) = keys.register(up);
        assert_eq!(keys.lookup(pid, secret).unwrap().pid, 42);
        assert!(keys.lookup(pid, secret.wrapping_add(1)).is_none());
        keys.remove(pid);
        assert!(keys.lookup(pid, secret).is_none());
    }
}
