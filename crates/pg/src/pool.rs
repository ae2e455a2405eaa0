//! Idle upstream sessions, per resource and startup parameters (session pooling: a client holds one
//! upstream session from connect to disconnect; a clean disconnect returns it here after a reset).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::upstream::Upstream;

/// Which sessions can stand in for each other: same resource, same client startup parameters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub resource: String,
    pub params: Vec<(String, String)>,
}

impl PoolKey {
    pub fn new(resource: &str, params: &[(String, String)]) -> PoolKey {
        let mut params: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| crate::upstream::passes_on(k))
            .cloned()
            .collect();
        params.sort();
        PoolKey {
            resource: resource.to_owned(),
            params,
        }
    }
}

#[derive(Debug, Default)]
pub struct Pool {
    idle: Mutex<HashMap<PoolKey, Vec<Upstream>>>,
    max_idle: usize,
}

impl Pool {
    pub fn new(max_idle: usize) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::new()),
            max_idle,
        }
    }

    /// An idle session that is still alive (nothing to read, not closed), if there is one.
    pub fn checkout(&self, key: &PoolKey) -> Option<Upstream> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.get_mut(key)?;
        while let Some(up) = list.pop() {
            // EOF or stray bytes (the server ended the session) make it unusable.
            if up.stream.is_quiet() {
                return Some(up);
            }
        }
        None
    }

    pub fn checkin(&self, key: PoolKey, up: Upstream) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry(key).or_default();
        if list.len() < self.max_idle {
            list.push(up);
        }
    }
}
