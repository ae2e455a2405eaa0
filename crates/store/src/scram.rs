//! SCRAM-SHA-256 (RFC 5802, RFC 7677) verifiers for tokens, so the Postgres gateway can let a client
//! prove it holds a token without the token crossing the wire and without Airlock storing it.
//!
//! A client starts SCRAM before it says which token it holds, so the salt and iteration count sent
//! in the server's first message cannot depend on the token: every token of an instance shares the
//! instance's salt. With ≈214 random bits per token that costs nothing an attacker could use.

use sha2::{Digest, Sha256};

use crate::hex::{from_hex, to_hex};

/// PBKDF2 rounds. RFC 7677's minimum; tokens are random, so more rounds would only slow clients.
pub const SCRAM_ITERATIONS: u32 = 4096;

/// What the gateway keeps per token: `StoredKey` and `ServerKey`, as PostgreSQL keeps them per role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramVerifier {
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// `Hi()` of RFC 5802: PBKDF2-HMAC-SHA-256 with one output block.
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac_sha256(password, &first);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac_sha256(password, &u);
        for (o, x) in out.iter_mut().zip(u) {
            *o ^= x;
        }
    }
    out
}

impl ScramVerifier {
    /// The verifier of `secret` under `salt`. PostgreSQL's SASLprep is the identity on tokens (ASCII
    /// letters, digits and `_`), so the secret's bytes are used as they are.
    pub fn new(secret: &str, salt: &[u8], iterations: u32) -> ScramVerifier {
        let salted = hi(secret.as_bytes(), salt, iterations);
        let client_key = hmac_sha256(&salted, b"Client Key");
        ScramVerifier {
            stored_key: Sha256::digest(client_key).into(),
            server_key: hmac_sha256(&salted, b"Server Key"),
        }
    }

    /// Checks a client's proof for `auth_message` in constant time.
    pub fn verify_proof(&self, auth_message: &[u8], proof: &[u8]) -> bool {
        if proof.len() != 32 {
            return false;
        }
        let signature = hmac_sha256(&self.stored_key, auth_message);
        let mut client_key = [0u8; 32];
        for (i, k) in client_key.iter_mut().enumerate() {
            *k = proof[i] ^ signature[i];
        }
        let candidate: [u8; 32] = Sha256::digest(client_key).into();
        candidate
            .iter()
            .zip(self.stored_key)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// What proves the server knew the verifier too.
    pub fn server_signature(&self, auth_message: &[u8]) -> [u8; 32] {
        hmac_sha256(&self.server_key, auth_message)
    }

    /// `stored:server`, hex: the column's format.
    pub fn encode(&self) -> String {
        format!("{}:{}", to_hex(&self.stored_key), to_hex(&self.server_key))
    }

    pub fn decode(text: &str) -> Option<ScramVerifier> {
        let (a, b) = text.split_once(':')?;
        Some(ScramVerifier {
            stored_key: from_hex(a)?.try_into().ok()?,
            server_key: from_hex(b)?.try_into().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(text: &str) -> Vec<u8> {
        // Just enough base64 for the RFC's vectors.
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut n = 0;
        let mut out = Vec::new();
        for c in text.bytes().filter(|&c| c != b'=') {
            bits = (bits << 6) | A.iter().position(|&a| a == c).unwrap() as u32;
            n += 6;
            if n >= 8 {
                n -= 8;
                out.push((bits >> n) as u8);
            }
        }
        out
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            to_hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// RFC 7677 section 3: user "user", password "pencil".
    #[test]
    fn rfc_7677_exchange_verifies_and_signs() {
        let salt = b64("W22ZaJ0SNY7soEsUEjb6gQ==");
        let v = ScramVerifier::new("pencil", &salt, 4096);
        let auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let proof = b64("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        assert!(v.verify_proof(auth.as_bytes(), &proof));
        assert_eq!(
            v.server_signature(auth.as_bytes()).to_vec(),
            b64("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        );
        let mut wrong = proof.clone();
        wrong[0] ^= 1;
        assert!(!v.verify_proof(auth.as_bytes(), &wrong));
        assert!(!v.verify_proof(auth.as_bytes(), &proof[..31]));
        assert_eq!(ScramVerifier::decode(&v.encode()), Some(v));
    }
}
