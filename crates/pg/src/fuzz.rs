//! One entry point that feeds arbitrary bytes to every parser a client can reach: the startup
//! packet, SCRAM, the message framer and the messages the gateway reads. The property tests call
//! it with random input; `fuzz/` wraps it for cargo-fuzz.

use airlock_store::{ScramVerifier, SCRAM_ITERATIONS};

use crate::messages::{bind_statement, parse_message, query_text, Framer, Piece, SaslInitial, Startup, FRONTEND_TAGS};
use crate::scram::ScramExchange;

/// Must never panic or loop, whatever `data` is.
pub fn frontend(data: &[u8]) {
    let _ = Startup::parse(data);
    let _ = SaslInitial::parse(data);
    let verifier = ScramVerifier::new("alk_fuzz", b"salt", SCRAM_ITERATIONS.min(2));
    let half = data.len() / 2;
    if let Ok((exchange, _)) = ScramExchange::start(&data[..half], b"salt", b"nonce") {
        let _ = exchange.finish(&data[half..], std::slice::from_ref(&verifier));
    }
    // Frame the bytes as they would arrive, in uneven pieces.
    let mut framer = Framer::new(4096, Some(FRONTEND_TAGS));
    let mut buf: Vec<u8> = Vec::new();
    for chunk in data.chunks(7) {
        buf.extend_from_slice(chunk);
        let mut pos = 0;
        loop {
            match framer.next(&buf[pos..], |t| matches!(t, b'Q' | b'P' | b'B')) {
                Ok(Some(Piece::Pass(n))) => pos += n,
                Ok(Some(Piece::Whole { tag, len })) => {
                    let body = &buf[pos + 5..pos + len];
                    match tag {
                        b'Q' => {
                            if let Ok(sql) = query_text(body) {
                                let _ = crate::shape::shape(sql);
                            }
                        }
                        b'P' => {
                            let _ = parse_message(body);
                        }
                        _ => {
                            let _ = bind_statement(body);
                        }
                    }
                    pos += len;
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        buf.drain(..pos);
    }
    let text = String::from_utf8_lossy(data);
    let _ = crate::shape::shape(&text);
    let _ = crate::messages::refusal_sql(&text, &text, &text, &text);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            super::frontend(&data);
        }

        /// Well-framed messages of every client type with arbitrary bodies.
        #[test]
        fn framed_garbage_never_panics(
            msgs in proptest::collection::vec((proptest::sample::select(super::FRONTEND_TAGS.to_vec()), proptest::collection::vec(any::<u8>(), 0..80)), 0..12)
        ) {
            let mut data = Vec::new();
            for (tag, body) in msgs {
                data.extend(crate::messages::message(tag, &body));
            }
            super::frontend(&data);
        }
    }
}
