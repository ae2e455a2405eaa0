//! A provider's answer streams back to the agent with the secret masked out of it: an API that
//! echoes the credential it was sent (in an error, a debug field) must not hand it to the agent.
//! The last `len - 1` bytes of each chunk wait for the next one, so that a secret split across
//! chunks is still found.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};

pub const MASK: &[u8] = b"[secret withheld by Airlock]";

/// `body` with every occurrence of `secret` replaced by [`MASK`].
pub struct Masked<B> {
    inner: B,
    secret: Vec<u8>,
    pending: BytesMut,
    done: bool,
}

impl<B> Masked<B> {
    pub fn new(inner: B, secret: &str) -> Masked<B> {
        Masked {
            inner,
            secret: secret.as_bytes().to_vec(),
            pending: BytesMut::new(),
            done: false,
        }
    }
}

/// `data` with every occurrence of `secret` replaced.
pub fn mask(data: &[u8], secret: &[u8]) -> Vec<u8> {
    if secret.is_empty() || data.len() < secret.len() {
        return data.to_vec();
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(secret) {
            out.extend_from_slice(MASK);
            i += secret.len();
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

impl<B> Masked<B> {
    /// Masks what is pending and releases all of it but a tail that could begin a secret.
    fn release(&mut self, all: bool) -> Option<Bytes> {
        let masked = mask(&self.pending, &self.secret);
        let keep = if all {
            0
        } else {
            self.secret.len().saturating_sub(1).min(masked.len())
        };
        let cut = masked.len() - keep;
        self.pending = BytesMut::from(&masked[cut..]);
        (cut > 0).then(|| Bytes::copy_from_slice(&masked[..cut]))
    }
}

impl<B> Body for Masked<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(this.release(true).map(|b| Ok(Frame::data(b))));
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => this.done = true,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                // Trailers (not data) are rare enough from APIs that they are dropped rather
                // than reordered after what is pending.
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        this.pending.extend_from_slice(&data);
                        if let Some(out) = this.release(false) {
                            return Poll::Ready(Some(Ok(Frame::data(out))));
                        }
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_secret_is_masked_whole() {
        assert_eq!(
            mask(b"a SECRET b SECRET", b"SECRET"),
            [b"a ".as_slice(), MASK, b" b ", MASK].concat()
        );
        assert_eq!(mask(b"SECRE", b"SECRET"), b"SECRE");
    }

    fn stream(chunks: &[Vec<u8>], secret: &str) -> Vec<u8> {
        let mut m = Masked::new(http_body_util::Empty::<Bytes>::new(), secret);
        let mut out = Vec::new();
        for c in chunks {
            m.pending.extend_from_slice(c);
            if let Some(b) = m.release(false) {
                out.extend_from_slice(&b);
            }
        }
        if let Some(b) = m.release(true) {
            out.extend_from_slice(&b);
        }
        out
    }

    proptest! {
        #[test]
        fn a_secret_split_across_chunks_never_gets_through(
            before in "[a-z ]{0,20}", after in "[a-z ]{0,20}", cuts in proptest::collection::vec(0usize..60, 0..6)
        ) {
            let secret = "tok_Zq8v7Y3xK2";
            let text = format!("{before}{secret}{after}{secret}");
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(text.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut at = 0;
            for c in cuts.into_iter().chain([text.len()]) {
                chunks.push(text.as_bytes()[at..c.max(at)].to_vec());
                at = c.max(at);
            }
            let out = stream(&chunks, secret);
            prop_assert!(!String::from_utf8_lossy(&out).contains(secret));
            prop_assert_eq!(out, mask(text.as_bytes(), secret.as_bytes()));
        }
    }
}
