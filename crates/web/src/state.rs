//! What the page keeps in memory: signed-in sessions and outstanding passkey challenges.
//!
//! Both are random 32-byte values. Sessions are kept by the SHA-256 of their cookie (a memory dump
//! shows no usable cookie) and end at `session_ttl` or sign-out; a restart signs everyone out.
//! Challenges are single-use (taken out on first use, whatever the outcome) and expire after
//! [`CHALLENGE_TTL`]. Both maps are bounded, so no amount of requests grows them without limit.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{digest, SHA256};

use crate::WebError;

/// How long the browser has to answer a passkey challenge.
pub(crate) const CHALLENGE_TTL: i64 = 120;
/// At most this many sessions and this many outstanding challenges.
const MAX_SESSIONS: usize = 10_000;
const MAX_CHALLENGES: usize = 1_000;
/// Wrong enrollment codes tolerated per minute, instance-wide (codes have 80 random bits; this
/// only keeps a guesser from filling the audit chain).
const CODE_FAILURES_PER_MINUTE: u32 = 20;

/// What a challenge was issued for: binding it to its ceremony keeps an answer to one from being
/// replayed to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    SignIn,
    Enroll {
        operator: String,
        code_hash: String,
        operator_since: i64,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) operator: String,
    /// The synchronizer token every form of this session carries.
    pub(crate) csrf: String,
    pub(crate) expires: i64,
}

struct Challenge {
    purpose: Purpose,
    expires: i64,
}

#[derive(Default)]
pub(crate) struct State {
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    challenges: Mutex<HashMap<Vec<u8>, Challenge>>,
    code_failures: Mutex<(i64, u32)>,
}

pub(crate) fn random_bytes() -> Result<[u8; 32], WebError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| WebError::Random(e.to_string()))?;
    Ok(b)
}

fn key(cookie: &str) -> [u8; 32] {
    let mut k = [0u8; 32];
    k.copy_from_slice(digest(&SHA256, cookie.as_bytes()).as_ref());
    k
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic: a poisoned map is still a valid map.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl State {
    /// Starts a session; returns the cookie value (shown to the browser only).
    pub(crate) fn sign_in(&self, operator: &str, now: i64, ttl: i64) -> Result<String, WebError> {
        let cookie = URL_SAFE_NO_PAD.encode(random_bytes()?);
        let csrf = URL_SAFE_NO_PAD.encode(random_bytes()?);
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            return Err(WebError::Busy);
        }
        sessions.insert(
            key(&cookie),
            Session {
                operator: operator.to_owned(),
                csrf,
                expires: now + ttl,
            },
        );
        Ok(cookie)
    }

    /// The live session a cookie names.
    pub(crate) fn session(&self, cookie: &str, now: i64) -> Option<Session> {
        let mut sessions = lock(&self.sessions);
        let k = key(cookie);
        match sessions.get(&k) {
            Some(s) if s.expires > now => Some(s.clone()),
            Some(_) => {
                sessions.remove(&k);
                None
            }
            None => None,
        }
    }

    pub(crate) fn sign_out(&self, cookie: &str) {
        lock(&self.sessions).remove(&key(cookie));
    }

    /// A new challenge for `purpose`.
    pub(crate) fn challenge(&self, purpose: Purpose, now: i64) -> Result<[u8; 32], WebError> {
        let c = random_bytes()?;
        let mut challenges = lock(&self.challenges);
        challenges.retain(|_, ch| ch.expires > now);
        if challenges.len() >= MAX_CHALLENGES {
            return Err(WebError::Busy);
        }
        challenges.insert(
            c.to_vec(),
            Challenge {
                purpose,
                expires: now + CHALLENGE_TTL,
            },
        );
        Ok(c)
    }

    /// Takes a challenge out (it is good once): its purpose, when it was issued and is still fresh.
    pub(crate) fn take_challenge(&self, challenge: &[u8], now: i64) -> Option<Purpose> {
        let ch = lock(&self.challenges).remove(challenge)?;
        (ch.expires > now).then_some(ch.purpose)
    }

    /// Counts a wrong enrollment code; false when too many came this minute.
    pub(crate) fn code_failure(&self, now: i64) -> bool {
        let mut f = lock(&self.code_failures);
        if now / 60 != f.0 {
            *f = (now / 60, 0);
        }
        f.1 += 1;
        f.1 <= CODE_FAILURES_PER_MINUTE
    }

    /// Whether enrollment codes may be tried now.
    pub(crate) fn codes_allowed(&self, now: i64) -> bool {
        let f = lock(&self.code_failures);
        now / 60 != f.0 || f.1 < CODE_FAILURES_PER_MINUTE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_end_and_cookies_are_not_kept() {
        let s = State::default();
        let cookie = s.sign_in("carol", 100, 60).unwrap();
        let session = s.session(&cookie, 159).unwrap();
        assert_eq!(session.operator, "carol");
        assert_ne!(session.csrf, cookie);
        assert!(s.session(&cookie, 160).is_none(), "expired");
        assert!(s.session(&cookie, 100).is_none(), "an expired session is gone for good");
        let c2 = s.sign_in("carol", 100, 60).unwrap();
        s.sign_out(&c2);
        assert!(s.session(&c2, 101).is_none());
        assert!(s.session("made-up", 101).is_none());
        assert!(!lock(&s.sessions).keys().any(|k| k.as_slice() == cookie.as_bytes()));
    }

    #[test]
    fn challenges_are_single_use_expiring_and_bound_to_their_purpose() {
        let s = State::default();
        let c = s.challenge(Purpose::SignIn, 100).unwrap();
        assert_eq!(s.take_challenge(&c, 101), Some(Purpose::SignIn));
        assert_eq!(s.take_challenge(&c, 101), None, "replayed");
        let old = s.challenge(Purpose::SignIn, 100).unwrap();
        assert_eq!(s.take_challenge(&old, 100 + CHALLENGE_TTL), None, "expired");
        assert_eq!(s.take_challenge(b"never issued", 100), None);
        for i in 0..MAX_CHALLENGES {
            s.challenge(Purpose::SignIn, 200 + i as i64 / 1000).unwrap();
        }
        assert!(matches!(s.challenge(Purpose::SignIn, 200), Err(WebError::Busy)));
        assert!(
            s.challenge(Purpose::SignIn, 200 + CHALLENGE_TTL + 1).is_ok(),
            "expired ones make room"
        );
    }

    #[test]
    fn wrong_codes_are_limited_per_minute() {
        let s = State::default();
        for _ in 0..CODE_FAILURES_PER_MINUTE {
            assert!(s.codes_allowed(60));
            assert!(s.code_failure(60));
        }
        assert!(!s.codes_allowed(61));
        assert!(s.codes_allowed(120));
    }
}
