//! Just enough URL parsing to find where a request lands: scheme, host, port, path, query.

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
    pub path: String,
    pub query: String,
}

impl Url {
    /// Parses an absolute URL, or a bare `host/path` (which curl and friends accept) as http.
    pub(crate) fn parse(raw: &str) -> Option<Url> {
        let raw = raw.trim();
        let (scheme, rest) = match raw.split_once("://") {
            Some((s, r)) if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) => {
                (s.to_ascii_lowercase(), r)
            }
            Some(_) => return None,
            None => ("http".to_owned(), raw),
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let tail = &rest[end..];
        // Credentials in the authority are never kept.
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']')?;
            (h.to_owned(), after.strip_prefix(':').and_then(|p| p.parse().ok()))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
                    (h.to_owned(), p.parse().ok())
                }
                _ => (hostport.to_owned(), None),
            }
        };
        let host = host.to_ascii_lowercase();
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.split('#').next().unwrap_or_default().to_owned()),
            None => (tail.split('#').next().unwrap_or_default().to_owned(), String::new()),
        };
        // A host-less shorthand such as httpie's `:3000/x` means localhost.
        let host = if host.is_empty() && port.is_some() {
            "localhost".to_owned()
        } else {
            host
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return None;
        }
        Some(Url {
            scheme,
            host,
            port,
            path: if path.is_empty() { "/".to_owned() } else { path },
            query,
        })
    }

    pub(crate) fn is_loopback(&self) -> bool {
        let h = self.host.as_str();
        h == "localhost"
            || h.ends_with(".localhost")
            || h == "::1"
            || h == "0.0.0.0"
            || h.split('.').next() == Some("127") && h.split('.').count() == 4
    }

    /// The URL without credentials or query (queries often carry tokens).
    pub(crate) fn redacted(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{}://{}:{}{}", self.scheme, host, p, self.path),
            None => format!("{}://{}{}", self.scheme, host, self.path),
        }
    }

    /// Decoded query parameters.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_and_drops_credentials() {
        let u = Url::parse("postgres://admin:hunter2@db.prod.example.com:5432/shop?sslmode=require").unwrap();
        assert_eq!(u.host, "db.prod.example.com");
        assert_eq!(u.port, Some(5432));
        assert_eq!(u.path, "/shop");
        assert!(!u.redacted().contains("hunter2"));
        assert!(!u.redacted().contains("sslmode"));
        assert_eq!(Url::parse("example.com/a").unwrap().host, "example.com");
        assert_eq!(Url::parse("http://[::1]:8080/").unwrap().host, "::1");
    }

    #[test]
    fn knows_loopback() {
        for h in [
            "http://localhost:3000/x",
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://api.localhost/",
        ] {
            assert!(Url::parse(h).unwrap().is_loopback(), "{h}");
        }
        assert!(!Url::parse("https://api.example.com/").unwrap().is_loopback());
        assert!(!Url::parse("https://127.example.com/").unwrap().is_loopback());
    }

    #[test]
    fn decodes_percent_escapes_safely() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
