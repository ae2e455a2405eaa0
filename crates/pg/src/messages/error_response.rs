//! ErrorResponse ('E'): how the gateway's own refusals reach a client, as PostgreSQL would send them.

use super::message;

/// An error as the client will see it: severity, SQLSTATE, message, and optional detail and hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorResponse {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl ErrorResponse {
    /// An error that ends the connection.
    pub fn fatal(code: &'static str, message: impl Into<String>) -> ErrorResponse {
        ErrorResponse {
            severity: "FATAL",
            code,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> ErrorResponse {
        self.hint = Some(hint.into());
        self
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let mut field = |tag: u8, value: &str| {
            body.push(tag);
            body.extend(value.bytes().filter(|&b| b != 0));
            body.push(0);
        };
        field(b'S', self.severity);
        field(b'V', self.severity);
        field(b'C', self.code);
        field(b'M', &self.message);
        if let Some(d) = &self.detail {
            field(b'D', d);
        }
        if let Some(h) = &self.hint {
            field(b'H', h);
        }
        body.push(0);
        message(b'E', &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use postgres_protocol::message::backend::Message;

    #[test]
    fn encodes_a_response_postgres_clients_parse() {
        let bytes = ErrorResponse::fatal("28P01", "no\0pe")
            .with_hint("use a token")
            .encode();
        let mut buf = BytesMut::from(&bytes[..]);
        let Some(Message::ErrorResponse(body)) = Message::parse(&mut buf).unwrap() else {
            panic!("not an ErrorResponse")
        };
        use postgres::fallible_iterator::FallibleIterator;
        let mut fields = body.fields();
        let mut seen = Vec::new();
        while let Some(f) = fields.next().unwrap() {
            seen.push((f.type_(), String::from_utf8_lossy(f.value_bytes()).into_owned()));
        }
        assert!(seen.contains(&(b'C', "28P01".into())));
        assert!(seen.contains(&(b'M', "nope".into())));
        assert!(seen.contains(&(b'H', "use a token".into())));
    }
}
