//! An agent's request as the gateway reads it: which resource, the agent's Airlock token (taken
//! out, never forwarded), any other credential (refused), the method that really runs (method
//! override headers count), and the text the control plane judges — the request as it will reach
//! the provider, without the headers that change on every retry.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

/// Headers a request may carry that hold credentials (any name with token, secret, password, auth
/// or key in it counts too, see [`is_credential_header`]).
const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "apikey"];
/// Header names with these words are not credentials, whatever else they contain.
const NOT_CREDENTIALS: [&str; 3] = ["idempotency-key", "x-idempotency-key", "sec-websocket-key"];
/// Headers that change what a REST call does: they are part of what is judged.
const METHOD_OVERRIDES: [&str; 3] = ["x-http-method-override", "x-http-method", "x-method-override"];
/// Hop-by-hop and per-connection headers: never forwarded.
const HOP_BY_HOP: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    // Bodies come back uncompressed, so that the secret can be masked in them.
    "accept-encoding",
];

/// Whether a header carries a credential.
pub fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if NOT_CREDENTIALS.contains(&n.as_str()) {
        return false;
    }
    CREDENTIAL_HEADERS.contains(&n.as_str())
        || [
            "token",
            "secret",
            "password",
            "auth",
            "api-key",
            "apikey",
            "access-key",
            "session",
        ]
        .iter()
        .any(|w| n.contains(w))
}

/// The agent's Airlock token: `Authorization: Bearer alk_…`, or any credential header whose whole
/// value is an Airlock token (SDKs that send their key in `X-Api-Key` and the like).
pub fn airlock_token(headers: &HeaderMap) -> Option<String> {
    for (name, value) in headers {
        let Ok(v) = value.to_str() else { continue };
        let v = v.trim();
        let candidate = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .unwrap_or(v)
            .trim();
        if is_credential_header(name.as_str()) && airlock_classify::is_airlock_token(candidate) {
            return Some(candidate.to_owned());
        }
    }
    None
}

/// A credential header other than the agent's own token: (header name, what it looks like).
pub fn foreign_credential(headers: &HeaderMap, own: &str) -> Option<(String, String)> {
    for (name, value) in headers {
        if !is_credential_header(name.as_str()) {
            continue;
        }
        let v = String::from_utf8_lossy(value.as_bytes());
        let bare = v.trim().strip_prefix("Bearer ").unwrap_or(v.trim()).trim();
        if bare == own || bare.is_empty() {
            continue;
        }
        let shown: String = bare.chars().take(4).collect();
        return Some((name.as_str().to_owned(), format!("{shown}…")));
    }
    None
}

/// One call, as it will be forwarded.
#[derive(Clone, Debug)]
pub struct Call {
    /// The method that runs: the request's, or a method override header's.
    pub method: String,
    /// The method on the wire.
    pub wire_method: Method,
    /// The path after the resource's name (`/volumes/7`, or empty), as sent.
    pub path: String,
    pub query: Option<String>,
    /// The headers to forward: no credentials, no hop-by-hop headers.
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Call {
    /// The call from a request's parts; `path` is what follows the resource's name.
    pub fn new(method: Method, path: &str, query: Option<&str>, headers: &HeaderMap, body: Bytes) -> Call {
        let mut forward = HeaderMap::new();
        for (name, value) in headers {
            let n = name.as_str();
            if is_credential_header(n) || HOP_BY_HOP.contains(&n) {
                continue;
            }
            forward.append(name.clone(), value.clone());
        }
        let overridden = METHOD_OVERRIDES
            .iter()
            .find_map(|h| headers.get(*h))
            .and_then(|v| v.to_str().ok())
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty());
        Call {
            method: overridden.unwrap_or_else(|| method.as_str().to_owned()),
            wire_method: method,
            path: path.to_owned(),
            query: query.map(str::to_owned),
            headers: forward,
            body,
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The query string's pairs, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect()
    }

    /// The text the control plane judges and fingerprints: the request line with the upstream
    /// URL, the headers that change what runs, and the body. Headers that differ on every retry
    /// (user agents, request ids, idempotency keys) are left out, so that the approved retry of
    /// the same call is the same action.
    pub fn judged_text(&self, upstream_url: &str) -> String {
        let mut text = format!("{} {upstream_url}\n", self.wire_method);
        for name in std::iter::once("content-type").chain(METHOD_OVERRIDES) {
            if let Some(v) = self.headers.get(name).and_then(|v| v.to_str().ok()) {
                text.push_str(&format!("{name}: {v}\n"));
            }
        }
        text.push('\n');
        text.push_str(&self.body_text());
        text
    }
}

/// Percent-decoding (and `+` as space, as forms send it); invalid escapes stay as they are.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() && bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit() => {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) * 16 + hex(bytes[i + 2]));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The credential header for the upstream: `name: template` with the secret put in.
pub fn credential_header(name: &str, template: &str, secret: &str) -> Result<(HeaderName, HeaderValue), String> {
    let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("{name:?} is not a header name"))?;
    let mut value = HeaderValue::from_str(&template.replace("{secret}", secret))
        .map_err(|_| "the resource's secret cannot be sent in a header (it has control characters)".to_owned())?;
    value.set_sensitive(true);
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn credentials_are_told_apart() {
        assert!(is_credential_header("Authorization"));
        assert!(is_credential_header("Project-Access-Token"));
        assert!(is_credential_header("X-Api-Key"));
        assert!(!is_credential_header("Idempotency-Key"));
        assert!(!is_credential_header("Content-Type"));
        let own = "alk_0123456789abcdefghijklmnopqrstuvwxyzAB";
        let h = headers(&[("authorization", "Bearer 9f1c2d3e4b5a69788796a5b4c3d2e1f0")]);
        assert_eq!(foreign_credential(&h, own).unwrap().1, "9f1c…");
        let h = headers(&[("authorization", &format!("Bearer {own}"))]);
        assert!(foreign_credential(&h, own).is_none());
    }

    #[test]
    fn the_judged_text_keeps_what_changes_what_runs() {
        let h = headers(&[
            ("content-type", "application/json"),
            ("user-agent", "sdk/1.2"),
            ("x-request-id", "r-77"),
            ("x-http-method-override", "delete"),
            ("authorization", "Bearer x"),
        ]);
        let call = Call::new(Method::POST, "/volumes/1", None, &h, Bytes::from_static(b"{}"));
        assert_eq!(call.method, "DELETE");
        assert!(call.headers.get("authorization").is_none());
        let text = call.judged_text("https://api.example.com/v1/volumes/1");
        assert_eq!(
            text,
            "POST https://api.example.com/v1/volumes/1\ncontent-type: application/json\nx-http-method-override: delete\n\n{}"
        );
    }

    proptest! {
        #[test]
        fn decoding_is_total(s in ".{0,40}") {
            let _ = decode(&s);
        }

        #[test]
        fn decoding_inverts_encoding(s in "[ -~]{0,30}") {
            let encoded = crate::pack::template::encode_segment(&s);
            prop_assert_eq!(decode(&encoded), s);
        }
    }
}
