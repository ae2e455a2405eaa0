//! The server side of SCRAM-SHA-256: the client proves it holds an Airlock token; the gateway finds
//! which one among the instance's verifiers (the client names no token before it proves one).

use airlock_store::{ScramVerifier, SCRAM_ITERATIONS};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::PgError;

/// One exchange, after the client's first message.
#[derive(Debug)]
pub struct ScramExchange {
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

fn attribute(part: &str, name: char) -> Option<&str> {
    part.strip_prefix(name)?.strip_prefix('=')
}

fn printable_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

impl ScramExchange {
    /// Reads the client-first-message; returns the exchange and the server-first-message.
    pub fn start(client_first: &[u8], salt: &[u8], server_nonce: &[u8]) -> Result<(ScramExchange, Vec<u8>), PgError> {
        let text = std::str::from_utf8(client_first)
            .map_err(|_| PgError::Protocol("the SCRAM client-first-message is not UTF-8".into()))?;
        let mut parts = text.splitn(3, ',');
        let (flag, authzid, bare) = match (parts.next(), parts.next(), parts.next()) {
            (Some(f), Some(a), Some(b)) => (f, a, b),
            _ => return Err(PgError::Protocol("the SCRAM client-first-message is malformed".into())),
        };
        if flag.starts_with("p=") {
            return Err(PgError::Protocol(
                "SCRAM channel binding was not offered; use channel_binding=prefer or disable".into(),
            ));
        }
        if flag != "n" && flag != "y" {
            return Err(PgError::Protocol("the SCRAM gs2 header is malformed".into()));
        }
        let mut attrs = bare.split(',');
        let _user = attrs
            .next()
            .and_then(|a| attribute(a, 'n'))
            .ok_or_else(|| PgError::Protocol("the SCRAM client-first-message has no user".into()))?;
        let client_nonce = attrs
            .next()
            .and_then(|a| attribute(a, 'r'))
            .filter(|n| printable_nonce(n))
            .ok_or_else(|| PgError::Protocol("the SCRAM client-first-message has no valid nonce".into()))?;
        let nonce = format!("{client_nonce}{}", B64.encode(server_nonce));
        let server_first = format!("r={nonce},s={},i={SCRAM_ITERATIONS}", B64.encode(salt));
        let exchange = ScramExchange {
            gs2_header: format!("{flag},{authzid},"),
            client_first_bare: bare.to_owned(),
            server_first: server_first.clone(),
            nonce,
        };
        Ok((exchange, server_first.into_bytes()))
    }

    /// Reads the client-final-message and finds the verifier that accepts its proof: its index and
    /// the server-final-message. None when no token matches.
    pub fn finish(
        &self,
        client_final: &[u8],
        verifiers: &[ScramVerifier],
    ) -> Result<Option<(usize, Vec<u8>)>, PgError> {
        let text = std::str::from_utf8(client_final)
            .map_err(|_| PgError::Protocol("the SCRAM client-final-message is not UTF-8".into()))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or_else(|| PgError::Protocol("the SCRAM client-final-message has no proof".into()))?;
        let mut attrs = without_proof.split(',');
        let binding = attrs
            .next()
            .and_then(|a| attribute(a, 'c'))
            .ok_or_else(|| PgError::Protocol("the SCRAM client-final-message has no channel binding".into()))?;
        if B64.decode(binding).ok().as_deref() != Some(self.gs2_header.as_bytes()) {
            return Err(PgError::Protocol(
                "the SCRAM channel binding does not match the first message".into(),
            ));
        }
        if attrs.next().and_then(|a| attribute(a, 'r')) != Some(self.nonce.as_str()) {
            return Err(PgError::Protocol("the SCRAM nonce does not match".into()));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| PgError::Protocol("the SCRAM proof is not base64".into()))?;
        let auth_message = format!("{},{},{without_proof}", self.client_first_bare, self.server_first);
        for (i, v) in verifiers.iter().enumerate() {
            if v.verify_proof(auth_message.as_bytes(), &proof) {
                let signature = v.server_signature(auth_message.as_bytes());
                return Ok(Some((i, format!("v={}", B64.encode(signature)).into_bytes())));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};

    /// The client side is postgres-protocol's (what tokio-postgres uses), so this is a real exchange.
    #[test]
    fn a_real_client_proves_its_token_and_checks_the_server() {
        let salt = b"0123456789abcdef";
        let tokens = ["alk_one", "alk_two", "alk_three"];
        let verifiers: Vec<ScramVerifier> = tokens
            .iter()
            .map(|t| ScramVerifier::new(t, salt, SCRAM_ITERATIONS))
            .collect();
        let mut client = ScramSha256::new(b"alk_two", ChannelBinding::unsupported());
        let (ex, first) = ScramExchange::start(client.message(), salt, b"server-nonce-bytes").unwrap();
        client.update(&first).unwrap();
        let (index, last) = ex.finish(client.message(), &verifiers).unwrap().unwrap();
        assert_eq!(index, 1);
        client.finish(&last).unwrap();

        let mut stranger = ScramSha256::new(b"alk_four", ChannelBinding::unsupported());
        let (ex, first) = ScramExchange::start(stranger.message(), salt, b"n2").unwrap();
        stranger.update(&first).unwrap();
        assert!(ex.finish(stranger.message(), &verifiers).unwrap().is_none());
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"n",
            b"n,,",
            b"p=tls-unique,,n=,r=x",
            b"n,,n=,r=",
            b"\xff\xfe",
            b"x,,n=,r=a",
        ] {
            assert!(ScramExchange::start(bad, b"s", b"n").is_err(), "{bad:?}");
        }
        let (ex, _) = ScramExchange::start(b"n,,n=,r=abc", b"s", b"n").unwrap();
        for bad in [&b""[..], b"c=biws", b"c=biws,r=abc,p=!!", b"c=eHl6,r=abcbg==,p=AAAA"] {
            assert!(ex.finish(bad, &[]).is_err(), "{bad:?}");
        }
    }
}
