//! `[http]` and `[[resource]] kind = "http"`: the API gateway. Agents call
//! `http://<listen>/<resource>/<path>` with their Airlock token; the gateway judges each call and,
//! for one that is allowed, forwards it to the resource's `url` with the real credential.

use serde::Deserialize;

/// `[http]`: the API gateway.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Where the gateway listens (`127.0.0.1:7459`); empty: no gateway. Loopback only: agents send
    /// their Airlock token to it in plain HTTP.
    #[serde(default)]
    pub listen: String,
}

impl HttpConfig {
    pub fn enabled(&self) -> bool {
        !self.listen.trim().is_empty()
    }
}

/// The API dialect of an `http` resource: how its calls are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// GraphQL: every call's document is parsed, each root field judged.
    Graphql,
    /// REST: method and path semantics (DELETE destroys).
    #[default]
    Rest,
}

/// The credential header an `http` resource's upstream receives by default.
pub const DEFAULT_AUTH_HEADER: &str = "Authorization";
/// The default value template: `{secret}` is replaced by the resource's secret.
pub const DEFAULT_AUTH_TEMPLATE: &str = "Bearer {secret}";

/// Whether `host` is a loopback host (a name or an address).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_matches(['[', ']']);
    h == "localhost" || h == "::1" || h.starts_with("127.")
}

/// `scheme` and `host` of an absolute http(s) URL.
fn scheme_and_host(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.contains('@') {
        return None;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then_some((scheme, host))
}

/// Checks `[http]` and every `kind = "http"` resource.
pub(crate) fn check(http: &HttpConfig, resources: &[crate::ResourceConfig]) -> Result<(), String> {
    let listen = http.listen.trim();
    if !listen.is_empty() {
        let host = listen
            .rsplit_once(':')
            .map(|(h, _)| h)
            .ok_or_else(|| format!("http.listen = {listen:?}: expected HOST:PORT"))?;
        if !is_loopback_host(host) {
            return Err(format!(
                "http.listen = {listen:?}: the API gateway listens on loopback only (agents send their Airlock token to it in plain HTTP)"
            ));
        }
    }
    for r in resources {
        let at = format!("resource {:?}", r.name);
        if r.kind != "http" {
            let http_only = [
                ("dialect", r.dialect.is_some()),
                ("schema", r.schema.is_some()),
                ("provider", r.provider.is_some()),
                ("auth_header", r.auth_header.is_some()),
                ("auth_template", r.auth_template.is_some()),
                ("tls_ca", r.tls_ca.is_some()),
            ];
            if let Some((key, _)) = http_only.iter().find(|(_, set)| *set) {
                return Err(format!("{at}: {key} is for kind = \"http\" resources"));
            }
            continue;
        }
        if r.name.is_empty() || !r.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(format!(
                "{at}: an http resource's name is the first path segment agents call (letters, digits, '-', '_', '.')"
            ));
        }
        let url = r
            .url
            .as_deref()
            .ok_or_else(|| format!("{at}: an http resource needs url = \"https://…\" (the upstream API's base URL)"))?;
        let (scheme, host) = scheme_and_host(url)
            .ok_or_else(|| format!("{at}: url = {url:?} is not an absolute http(s) URL without credentials"))?;
        match scheme {
            "https" => {}
            "http" if is_loopback_host(host) => {}
            "http" => {
                return Err(format!(
                    "{at}: url = {url:?}: plain HTTP only to a loopback upstream; the credential would cross the network readable"
                ))
            }
            other => return Err(format!("{at}: url scheme {other:?} is not http or https")),
        }
        if url.contains(['?', '#']) {
            return Err(format!("{at}: url = {url:?}: a base URL has no query or fragment"));
        }
        if r.secret.is_none() && r.secret_env.is_none() && r.secret_file.is_none() {
            return Err(format!(
                "{at}: an http resource needs its credential: secret = \"NAME\" (the secret store) or, unprivileged, secret_env"
            ));
        }
        if let Some(t) = &r.auth_template {
            if !t.contains("{secret}") {
                return Err(format!("{at}: auth_template must contain {{secret}}"));
            }
        }
        if let Some(h) = &r.auth_header {
            if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(format!("{at}: auth_header {h:?} is not a header name"));
            }
        }
        if let Some(e) = &r.cli_env {
            if e.is_empty() || !e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(format!("{at}: cli_env {e:?} is not an environment variable name"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Config;
    use std::path::Path;

    fn parse(extra: &str) -> Result<Config, String> {
        Config::parse(
            &format!("[[environment]]\nname = \"production\"\n[[resource]]\nname = \"railway\"\nkind = \"http\"\nenvironment = \"production\"\n{extra}"),
            Path::new("/"),
        )
    }

    #[test]
    fn http_resources_are_checked() {
        let ok = parse("url = \"https://backboard.railway.app/graphql/v2\"\nsecret_env = \"T\"\ndialect = \"graphql\"")
            .unwrap();
        assert_eq!(ok.resources[0].dialect, Some(super::Dialect::Graphql));
        assert!(parse("url = \"http://127.0.0.1:9/x\"\nsecret_env = \"T\"").is_ok());
        for (extra, want) in [
            ("secret_env = \"T\"", "needs url"),
            ("url = \"http://api.example.com\"\nsecret_env = \"T\"", "plain HTTP"),
            (
                "url = \"https://u@api.example.com\"\nsecret_env = \"T\"",
                "without credentials",
            ),
            ("url = \"https://api.example.com\"", "credential"),
            (
                "url = \"https://api.example.com\"\nsecret_env = \"T\"\nauth_template = \"Bearer\"",
                "{secret}",
            ),
            (
                "url = \"https://api.example.com\"\nsecret_env = \"T\"\ndialect = \"soap\"",
                "soap",
            ),
        ] {
            let err = parse(extra).unwrap_err();
            assert!(err.contains(want), "{extra}: {err}");
        }
    }

    #[test]
    fn the_gateway_stays_on_loopback() {
        assert!(Config::parse("[http]\nlisten = \"127.0.0.1:7459\"", Path::new("/")).is_ok());
        let err = Config::parse("[http]\nlisten = \"0.0.0.0:7459\"", Path::new("/")).unwrap_err();
        assert!(err.contains("loopback"), "{err}");
    }
}
