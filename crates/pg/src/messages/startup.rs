//! The first packet of a connection: StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::cstr;
use crate::PgError;

const PROTOCOL_3_0: u32 = 196_608;
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;
/// PostgreSQL's own limit on a startup packet.
const MAX_STARTUP: usize = 10_000;

/// What a client opened with.
#[derive(Debug, PartialEq, Eq)]
pub enum Startup {
    Ssl,
    GssEnc,
    Cancel { pid: i32, secret: i32 },
    Params(Vec<(String, String)>),
}

impl Startup {
    /// Parses a startup packet's body (after its length).
    pub fn parse(body: &[u8]) -> Result<Startup, PgError> {
        if body.len() < 4 {
            return Err(PgError::Protocol("the startup packet is too short".into()));
        }
        let code = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        let rest = &body[4..];
        match code {
            SSL_REQUEST => Ok(Startup::Ssl),
            GSSENC_REQUEST => Ok(Startup::GssEnc),
            CANCEL_REQUEST => {
                if rest.len() != 8 {
                    return Err(PgError::Protocol("a CancelRequest is 16 bytes".into()));
                }
                Ok(Startup::Cancel {
                    pid: i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]),
                    secret: i32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]),
                })
            }
            PROTOCOL_3_0 => {
                let mut params = Vec::new();
                let mut rest = rest;
                while rest.first().is_some_and(|&b| b != 0) {
                    let (name, after) = cstr(rest)?;
                    let (value, after) = cstr(after)?;
                    params.push((name.to_owned(), value.to_owned()));
                    rest = after;
                }
                if rest != [0] {
                    return Err(PgError::Protocol(
                        "the startup packet does not end where its length says".into(),
                    ));
                }
                Ok(Startup::Params(params))
            }
            other => Err(PgError::Protocol(format!(
                "unsupported frontend protocol {}.{}: Airlock speaks 3.0",
                other >> 16,
                other & 0xffff
            ))),
        }
    }
}

/// Reads one startup packet.
pub async fn read_startup<R: AsyncRead + Unpin>(stream: &mut R) -> Result<Startup, PgError> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if !(8..=MAX_STARTUP).contains(&len) {
        return Err(PgError::Protocol(format!("a startup packet of {len} bytes is invalid")));
    }
    let mut body = vec![0u8; len - 4];
    stream.read_exact(&mut body).await?;
    Startup::parse(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_parameters_parse() {
        let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0bob\0database\0shop\0\0");
        assert_eq!(
            Startup::parse(&body).unwrap(),
            Startup::Params(vec![("user".into(), "bob".into()), ("database".into(), "shop".into())])
        );
        assert_eq!(Startup::parse(&SSL_REQUEST.to_be_bytes()).unwrap(), Startup::Ssl);
    }

    #[test]
    fn truncated_and_unknown_startups_are_errors() {
        let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0bob");
        assert!(Startup::parse(&body).is_err());
        assert!(Startup::parse(&[0, 2, 0, 0]).is_err());
        assert!(Startup::parse(&[1]).is_err());
    }
}
