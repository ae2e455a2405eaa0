//! Token format: `alk_` (agents) or `alko_` (operators), 36 random base62 characters (≈214 bits),
//! and a 6-character base62 CRC-32 of everything before it, so scanners can tell a real token from
//! a look-alike offline (`airlock_classify` verifies the checksum the same way). Tokens are stored as
//! SHA-256 hashes and compared in constant time.

use sha2::{Digest, Sha256};

/// Which kind of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Agent,
    Operator,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Agent => "alk_",
            TokenKind::Operator => "alko_",
        }
    }
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS: usize = 36;
const ID_CHARS: usize = 8;

/// A new token of `kind`. Fails only when the OS has no randomness to give.
pub fn generate_token(kind: TokenKind) -> Result<String, getrandom::Error> {
    let mut out = String::from(kind.prefix());
    let mut bytes = [0u8; 64];
    let mut produced = 0;
    // Rejection sampling keeps every base62 character equally likely.
    while produced < RANDOM_CHARS {
        getrandom::fill(&mut bytes)?;
        for b in bytes {
            if b < 248 && produced < RANDOM_CHARS {
                out.push(BASE62[(b % 62) as usize] as char);
                produced += 1;
            }
        }
    }
    let sum = airlock_classify::token_checksum(&out);
    out.push_str(&sum);
    Ok(out)
}

/// The public id of a token (safe to show and log).
pub fn token_id(token: &str) -> Option<String> {
    let body = token.strip_prefix("alko_").or_else(|| token.strip_prefix("alk_"))?;
    body.get(..ID_CHARS).map(str::to_owned)
}

pub fn hash_token(token: &str) -> String {
    crate::hex::to_hex(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_prefix_randomness_and_a_valid_checksum() {
        let a = generate_token(TokenKind::Agent).unwrap();
        let b = generate_token(TokenKind::Agent).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("alk_") && a.len() == 4 + RANDOM_CHARS + 6);
        assert!(airlock_classify::is_airlock_token(&a));
        let o = generate_token(TokenKind::Operator).unwrap();
        assert!(o.starts_with("alko_") && airlock_classify::is_airlock_token(&o));
        let mut forged = a.clone();
        forged.replace_range(10..11, if &a[10..11] == "A" { "B" } else { "A" });
        assert!(!airlock_classify::is_airlock_token(&forged));
        assert_eq!(token_id(&a).unwrap().len(), ID_CHARS);
        assert_eq!(hash_token(&a).len(), 64);
    }
}
