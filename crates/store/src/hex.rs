//! Hex and hashing shared by tokens, SCRAM verifiers, the audit chain and action fingerprints.

use sha2::{Digest, Sha256};

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex; None for odd lengths or anything that is not a hex digit.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// SHA-256 over length-prefixed parts, hex: the same parts in another order or split differently
/// never collide.
pub fn digest_parts(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    to_hex(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_bad_text() {
        assert_eq!(from_hex(&to_hex(&[0, 1, 0xab, 0xff])).unwrap(), vec![0, 1, 0xab, 0xff]);
        for bad in ["abc", "zz", "é1", "+1"] {
            assert_eq!(from_hex(bad), None, "{bad}");
        }
        assert_ne!(digest_parts(&["ab", "c"]), digest_parts(&["a", "bc"]));
    }
}
