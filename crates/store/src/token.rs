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

/// Letters of a passkey enrollment code: Crockford's base32, without the ones read as others.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time enrollment code: 16 characters (80 random bits) in groups of four,
/// `7KQ2-M9XD-…`. Fails only when the OS has no randomness to give.
pub fn generate_enrollment_code() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b % 32)] as char)
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// How an enrollment code is stored: SHA-256 of its letters, upper-cased, without spaces or dashes
/// (so `7kq2 m9xd…` typed on a phone is the same code).
pub fn enrollment_code_hash(code: &str) -> String {
    let canon: String = code
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    crate::hex::to_hex(&Sha256::digest(format!("airlock-enrollment:{canon}").as_bytes()))
}

#[cfg(test)]
mod enrollment_tests {
    use super::*;

    #[test]
    fn codes_are_grouped_and_typed_loosely() {
        let code = generate_enrollment_code().unwrap();
        assert_eq!(code.len(), 19);
        assert_eq!(code.matches('-').count(), 3);
        assert_ne!(code, generate_enrollment_code().unwrap());
        let loose = code.to_ascii_lowercase().replace('-', " ");
        assert_eq!(enrollment_code_hash(&code), enrollment_code_hash(&loose));
        assert_ne!(enrollment_code_hash(&code), enrollment_code_hash("0000-0000-0000-0000"));
    }
}
