//! Authentication requests ('R') the gateway sends, and the SASLInitialResponse ('p') it reads.

use super::{cstr, message};
use crate::PgError;

pub fn auth_ok() -> Vec<u8> {
    message(b'R', &0i32.to_be_bytes())
}

/// AuthenticationSASL offering SCRAM-SHA-256 only (no channel binding: `-PLUS` is not offered).
pub fn auth_sasl() -> Vec<u8> {
    let mut body = 10i32.to_be_bytes().to_vec();
    body.extend_from_slice(b"SCRAM-SHA-256\0\0");
    message(b'R', &body)
}

pub fn auth_sasl_continue(data: &[u8]) -> Vec<u8> {
    let mut body = 11i32.to_be_bytes().to_vec();
    body.extend_from_slice(data);
    message(b'R', &body)
}

pub fn auth_sasl_final(data: &[u8]) -> Vec<u8> {
    let mut body = 12i32.to_be_bytes().to_vec();
    body.extend_from_slice(data);
    message(b'R', &body)
}

/// SASLInitialResponse: the mechanism and the client-first-message.
#[derive(Debug, PartialEq, Eq)]
pub struct SaslInitial {
    pub mechanism: String,
    pub data: Vec<u8>,
}

impl SaslInitial {
    pub fn parse(body: &[u8]) -> Result<SaslInitial, PgError> {
        let (mechanism, rest) = cstr(body)?;
        if rest.len() < 4 {
            return Err(PgError::Protocol("SASLInitialResponse is truncated".into()));
        }
        let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        let data = &rest[4..];
        if len < 0 || len as usize != data.len() {
            return Err(PgError::Protocol(
                "SASLInitialResponse's length does not match its data".into(),
            ));
        }
        Ok(SaslInitial {
            mechanism: mechanism.to_owned(),
            data: data.to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_initial_round_trips_from_the_client_encoder() {
        let mut buf = bytes::BytesMut::new();
        postgres_protocol::message::frontend::sasl_initial_response("SCRAM-SHA-256", b"n,,n=,r=abc", &mut buf).unwrap();
        let parsed = SaslInitial::parse(&buf[5..]).unwrap();
        assert_eq!(parsed.mechanism, "SCRAM-SHA-256");
        assert_eq!(parsed.data, b"n,,n=,r=abc");
        assert!(SaslInitial::parse(&buf[5..buf.len() - 1]).is_err());
    }
}
