//! Message boundaries in a byte stream. Messages the gateway must see arrive whole; all others pass
//! in whatever pieces the socket delivers, so a 1 GiB COPY or result set is never held in memory.

use crate::PgError;

/// Message types a client may send once the session started.
pub const FRONTEND_TAGS: &[u8] = b"BCcdDEfFHPpQSX";

/// PostgreSQL's own ceiling for one message.
const MAX_MESSAGE: usize = 1 << 30;

/// The next piece at the front of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// This many bytes belong to messages passed on as they are.
    Pass(usize),
    /// A whole message (header included) of `len` bytes to inspect.
    Whole { tag: u8, len: usize },
}

/// Tracks where messages start in one direction of a connection.
#[derive(Debug)]
pub struct Framer {
    /// Bytes of a passed message still to come.
    remaining: usize,
    /// The largest message that may be required whole.
    max_whole: usize,
    /// When set, a message type outside it is a protocol violation.
    tags: Option<&'static [u8]>,
}

impl Framer {
    pub fn new(max_whole: usize, tags: Option<&'static [u8]>) -> Framer {
        Framer {
            remaining: 0,
            max_whole,
            tags,
        }
    }

    /// Whether the next byte starts a message (so it is that message's type).
    pub fn at_boundary(&self) -> bool {
        self.remaining == 0
    }

    /// The next piece of `buf`, or None when more bytes are needed. `whole(tag)` says which
    /// messages must be seen whole.
    pub fn next(&mut self, buf: &[u8], whole: impl Fn(u8) -> bool) -> Result<Option<Piece>, PgError> {
        if buf.is_empty() {
            return Ok(None);
        }
        if self.remaining > 0 {
            let n = self.remaining.min(buf.len());
            self.remaining -= n;
            return Ok(Some(Piece::Pass(n)));
        }
        if buf.len() < 5 {
            return Ok(None);
        }
        let tag = buf[0];
        if let Some(tags) = self.tags {
            if !tags.contains(&tag) {
                return Err(PgError::Protocol(format!(
                    "message type 0x{tag:02x} is not one a client may send"
                )));
            }
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if !(4..=MAX_MESSAGE).contains(&len) {
            return Err(PgError::Protocol(format!("a message length of {len} is invalid")));
        }
        let total = len + 1;
        if whole(tag) {
            if total > self.max_whole {
                return Err(PgError::TooLarge {
                    tag: tag as char,
                    bytes: total,
                    limit: self.max_whole,
                });
            }
            if buf.len() < total {
                return Ok(None);
            }
            return Ok(Some(Piece::Whole { tag, len: total }));
        }
        let n = total.min(buf.len());
        self.remaining = total - n;
        Ok(Some(Piece::Pass(n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
        crate::messages::message(tag, body)
    }

    #[test]
    fn passes_stream_in_pieces_and_wholes_wait_for_their_bytes() {
        let mut stream = msg(b'd', &[7u8; 100]);
        stream.extend(msg(b'Q', b"SELECT 1\0"));
        let mut f = Framer::new(1024, Some(FRONTEND_TAGS));
        let is_q = |t: u8| t == b'Q';
        assert!(f.at_boundary());
        assert_eq!(f.next(&stream[..50], is_q).unwrap(), Some(Piece::Pass(50)));
        assert!(!f.at_boundary());
        assert_eq!(f.next(&stream[50..60], is_q).unwrap(), Some(Piece::Pass(10)));
        assert_eq!(f.next(&stream[60..105], is_q).unwrap(), Some(Piece::Pass(45)));
        assert!(f.at_boundary());
        assert_eq!(f.next(&stream[105..110], is_q).unwrap(), None);
        assert_eq!(
            f.next(&stream[105..], is_q).unwrap(),
            Some(Piece::Whole { tag: b'Q', len: 14 })
        );
    }

    #[test]
    fn garbage_and_oversized_messages_are_errors() {
        let mut f = Framer::new(64, Some(FRONTEND_TAGS));
        assert!(f.next(b"\x01\0\0\0\x04", |_| false).is_err());
        assert!(f.next(b"Q\0\0\0\x02", |_| true).is_err());
        assert!(matches!(
            f.next(&msg(b'Q', &[b'x'; 100]), |_| true),
            Err(PgError::TooLarge { .. })
        ));
    }
}
