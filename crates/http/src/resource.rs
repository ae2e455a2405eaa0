//! The `kind = "http"` resources of a config, made ready to serve: the upstream's address and base
//! path, how its calls are read (dialect, schema, provider pack), and where its credential goes.

use std::collections::HashMap;
use std::sync::Arc;

use airlock_config::{Config, Dialect, ResourceConfig, DEFAULT_AUTH_HEADER, DEFAULT_AUTH_TEMPLATE};

use crate::pack::Pack;
use crate::schema::Schema;
use crate::upstream::Upstream;
use crate::HttpError;

/// One API resource.
pub struct Resource {
    pub name: String,
    /// `https://host[:port]` — scheme, host and port of the upstream, no path.
    pub origin: String,
    /// The url's path without a trailing slash (`/graphql/v2`, or empty).
    pub base_path: String,
    pub dialect: Dialect,
    pub schema: Option<Schema>,
    pub pack: Option<Pack>,
    pub auth_header: String,
    pub auth_template: String,
    pub upstream: Upstream,
    config: ResourceConfig,
}

impl Resource {
    pub fn from_config(r: &ResourceConfig, config: &Config) -> Result<Resource, HttpError> {
        let at = |m: String| HttpError::Setup(format!("resource {}: {m}", r.name));
        let url = r.url.as_deref().ok_or_else(|| at("no url".into()))?;
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| at("url is not scheme://…".into()))?;
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| (&rest[..i], &rest[i..]));
        let (host, port) =
            split_authority(authority, scheme).ok_or_else(|| at(format!("cannot read the host of {url:?}")))?;
        let tls = match scheme {
            "https" => Some(crate::tls::connector(
                r.tls_ca.as_ref().map(|p| config.path(p)).as_deref(),
            )?),
            "http" if airlock_config::is_loopback_host(&host) => None,
            _ => return Err(at("plain HTTP goes to a loopback upstream only".into())),
        };
        let schema = match &r.schema {
            Some(p) => Some(Schema::load(&config.path(p))?),
            None => None,
        };
        let dialect = match (&schema, r.dialect) {
            (_, Some(d)) => d,
            (Some(Schema::Graphql(_)), None) => Dialect::Graphql,
            _ if path.contains("graphql") => Dialect::Graphql,
            _ => Dialect::Rest,
        };
        match (&schema, dialect) {
            (Some(Schema::Graphql(_)), Dialect::Rest) | (Some(Schema::OpenApi(_)), Dialect::Graphql) => {
                return Err(at("the schema's kind does not fit the dialect".into()))
            }
            _ => {}
        }
        let pack = match &r.provider {
            Some(p) => Some(Pack::named(p, &config.dir)?),
            None => Pack::for_host(&host),
        };
        Ok(Resource {
            name: r.name.clone(),
            origin: format!("{scheme}://{authority}"),
            base_path: path.trim_end_matches('/').to_owned(),
            dialect,
            schema,
            pack,
            auth_header: r.auth_header.clone().unwrap_or_else(|| DEFAULT_AUTH_HEADER.into()),
            auth_template: r.auth_template.clone().unwrap_or_else(|| DEFAULT_AUTH_TEMPLATE.into()),
            upstream: Upstream::new(&host, port, tls)?,
            config: r.clone(),
        })
    }

    /// The upstream path for a call's path (after the resource's name).
    pub fn upstream_path(&self, path: &str, query: Option<&str>) -> String {
        let mut p = format!("{}{}", self.base_path, path);
        if p.is_empty() {
            p.push('/');
        }
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            p.push('?');
            p.push_str(q);
        }
        p
    }

    /// The absolute upstream URL of a call (what is judged and shown to approvers).
    pub fn upstream_url(&self, path: &str, query: Option<&str>) -> String {
        format!("{}{}", self.origin, self.upstream_path(path, query))
    }

    /// The resource's secret, read afresh (a rotated secret takes effect on the next call). Never
    /// log it.
    pub fn secret(&self, config: &Config) -> Result<String, HttpError> {
        self.config
            .secret_value(config)
            .map_err(HttpError::Secret)?
            .ok_or_else(|| HttpError::Secret(format!("resource {} names no secret", self.name)))
    }
}

fn split_authority(authority: &str, scheme: &str) -> Option<(String, u16)> {
    let default = if scheme == "https" { 443 } else { 80 };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default,
        };
        return Some((format!("[{host}]"), port));
    }
    match authority.rsplit_once(':') {
        Some((h, p)) => Some((h.to_owned(), p.parse().ok()?)),
        None => Some((authority.to_owned(), default)),
    }
}

/// Every `http` resource of the config, by name.
pub fn load(config: &Config) -> Result<HashMap<String, Arc<Resource>>, HttpError> {
    config
        .resources
        .iter()
        .filter(|r| r.kind == "http")
        .map(|r| Ok((r.name.clone(), Arc::new(Resource::from_config(r, config)?))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_split() {
        assert_eq!(
            split_authority("api.example.com", "https"),
            Some(("api.example.com".into(), 443))
        );
        assert_eq!(
            split_authority("127.0.0.1:8080", "http"),
            Some(("127.0.0.1".into(), 8080))
        );
        assert_eq!(split_authority("[::1]:9", "http"), Some(("[::1]".into(), 9)));
        assert_eq!(split_authority("h:x", "http"), None);
    }
}
