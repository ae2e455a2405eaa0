//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits), the second factor an
//! operator types from an authenticator app. The shared secret lives in the service's state only,
//! so an agent that reads everything its unix user can still cannot produce a code.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP: i64 = 30;
/// Steps either side of now that are accepted (clock drift between the phone and the server).
const WINDOW: i64 = 1;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| !matches!(c, b'=' | b' ' | b'-')) {
        let v = BASE32.iter().position(|&x| x == c.to_ascii_uppercase())? as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// A new 160-bit secret, base32.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)?;
    Ok(base32_encode(&bytes))
}

/// The code for one time step (`digits` long).
fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let offset = (h[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([h[offset] & 0x7f, h[offset + 1], h[offset + 2], h[offset + 3]]);
    format!("{:0width$}", bin % 10u32.pow(digits), width = digits as usize)
}

/// The code for the step that holds `unix_time`.
pub fn code_at(secret_b32: &str, unix_time: i64) -> Option<String> {
    let secret = base32_decode(secret_b32)?;
    Some(hotp(&secret, (unix_time.max(0) / STEP) as u64, 6))
}

/// The time step a code belongs to, within the accepted window around `now`; None when it matches
/// none. Compares every candidate in constant time.
pub fn matching_step(secret_b32: &str, code: &str, now: i64) -> Option<i64> {
    let secret = base32_decode(secret_b32)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let here = now.max(0) / STEP;
    let mut found = None;
    for step in (here - WINDOW)..=(here + WINDOW) {
        let expected = hotp(&secret, step.max(0) as u64, 6);
        let same = expected
            .bytes()
            .zip(code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
        if same && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Every byte but RFC 3986's unreserved characters percent-encoded: safe as a URI path segment or
/// query value.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The `otpauth://` URI authenticator apps import (as a QR code or pasted).
pub fn otpauth_uri(instance: &str, operator: &str, secret_b32: &str) -> String {
    let enc = percent_encode;
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(instance),
        enc(operator),
        enc(instance)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_sha1_vectors() {
        let secret = b"12345678901234567890";
        // RFC 6238 appendix B, 8-digit values: 94287082, 07081804, 14050471.
        assert_eq!(hotp(secret, 59 / 30, 8), "94287082");
        assert_eq!(hotp(secret, 1_111_111_109 / 30, 8), "07081804");
        assert_eq!(hotp(secret, 1_111_111_111 / 30, 8), "14050471");
        let b32 = base32_encode(secret);
        assert_eq!(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(code_at(&b32, 59).unwrap(), "287082");
    }

    #[test]
    fn codes_match_only_near_their_time() {
        let s = new_secret().unwrap();
        let now = 1_800_000_000;
        let code = code_at(&s, now).unwrap();
        assert_eq!(matching_step(&s, &code, now), Some(now / STEP));
        assert_eq!(matching_step(&s, &code, now + STEP), Some(now / STEP));
        assert_eq!(matching_step(&s, &code, now + 5 * STEP), None);
        assert_eq!(matching_step(&s, "12345", now), None);
        assert_eq!(matching_step(&s, "abcdef", now), None);
        assert_eq!(base32_decode(&s).unwrap().len(), 20);
        assert!(base32_decode("not base32!").is_none());
    }

    #[test]
    fn the_uri_names_the_operator_and_escapes() {
        let uri = otpauth_uri("Airlock host", "alice@example", "ABC");
        assert_eq!(
            uri,
            "otpauth://totp/Airlock%20host:alice%40example?secret=ABC&issuer=Airlock%20host&algorithm=SHA1&digits=6&period=30"
        );
    }
}
