//! The measuring connection: the gateway's own connection to a resource — never the client's
//! session — set up to read names exactly as the client's session reads them (the same role, the
//! same `search_path`, both as that session reported them; see [`crate::probe`]), inside a
//! read-only transaction with a statement and a lock timeout. Evidence and the blast radius are
//! read through it.
//!
//! [`Measured`] is one decision's measurement: the connection is opened on first use and each
//! name resolved once, so that the evidence an approval is bound to and the blast radius the
//! approver is shown describe the same relations, even when the control plane asks for evidence
//! twice (to check an approval, then to hold afresh).

use std::cell::{OnceCell, RefCell};
use std::time::Duration;

use airlock_server::{Evaluation, EvidenceItem};
use postgres::config::SslMode;
use serde_json::{json, Value};

use crate::measure_tls::Rustls;
use crate::probe::SessionView;
use crate::resolve::{resolve, Resolution};
use crate::upstream::take_tls_params;
use crate::upstream_tls::UpstreamTls;

/// A read-only transaction on the resource that reads names as the client's session does.
pub struct Measuring {
    client: postgres::Client,
}

impl Measuring {
    pub fn open(config: &airlock_config::Config, resource: &str, view: &SessionView) -> Result<Measuring, String> {
        let resource = config
            .resources
            .iter()
            .find(|r| r.name == resource)
            .ok_or("the resource is gone from the config")?;
        let url = resource.connection_url(config)?;
        // TLS as the URL asks, the way the gateway's own sessions do it.
        let (rest, mode, root) = take_tls_params(&url);
        let tls = UpstreamTls::from_params(mode.as_deref(), root.as_deref()).map_err(|e| e.to_string())?;
        let mut pg_config: postgres::Config = rest
            .parse()
            .map_err(|_| "the resource's url does not parse".to_owned())?;
        pg_config.connect_timeout(Duration::from_secs(5));
        pg_config.ssl_mode(match tls {
            UpstreamTls::Disable => SslMode::Disable,
            UpstreamTls::Prefer => SslMode::Prefer,
            UpstreamTls::Require | UpstreamTls::VerifyFull { .. } => SslMode::Require,
        });
        let connected = match tls.connector().map_err(|e| e.to_string())? {
            Some(connector) => pg_config.connect(Rustls(connector)),
            None => pg_config.connect(postgres::NoTls),
        };
        let mut client = connected.map_err(|e| format!("cannot connect: {e}"))?;
        client
            .batch_execute("BEGIN READ ONLY; SET LOCAL statement_timeout = '5s'; SET LOCAL lock_timeout = '2s'")
            .map_err(|e| e.to_string())?;
        // The role decides which schemas may be searched (USAGE) and what "$user" means.
        client
            .query_one(
                "SELECT set_config('role', $1, true), set_config('search_path', $2, true)",
                &[&view.role, &view.search_path],
            )
            .map_err(|e| format!("cannot take the session's role {:?} and search_path: {e}", view.role))?;
        Ok(Measuring { client })
    }

    pub fn client(&mut self) -> &mut postgres::Client {
        &mut self.client
    }
}

/// One decision's measurement of one statement.
pub struct Measured<'a> {
    config: &'a airlock_config::Config,
    resource: &'a str,
    sql: &'a str,
    view: &'a Result<SessionView, String>,
    connection: RefCell<Option<Result<Measuring, String>>>,
    resolution: OnceCell<Resolution>,
}

impl<'a> Measured<'a> {
    pub fn new(
        config: &'a airlock_config::Config,
        resource: &'a str,
        sql: &'a str,
        view: &'a Result<SessionView, String>,
    ) -> Measured<'a> {
        Measured {
            config,
            resource,
            sql,
            view,
            connection: RefCell::new(None),
            resolution: OnceCell::new(),
        }
    }

    /// Runs `f` on the measuring connection, opened on first use.
    fn with<T>(&self, f: impl FnOnce(&mut Measuring) -> T) -> Result<T, String> {
        let view = self.view.as_ref().map_err(Clone::clone)?;
        let mut slot = self.connection.borrow_mut();
        let connection = slot.get_or_insert_with(|| Measuring::open(self.config, self.resource, view));
        connection.as_mut().map(f).map_err(|e| e.clone())
    }

    fn resolution(&self) -> &Resolution {
        self.resolution.get_or_init(|| match self.view {
            Err(why) => Resolution::unknowable(why),
            Ok(view) => self
                .with(|m| resolve(m, view, self.sql))
                .unwrap_or_else(|e| Resolution::unknowable(&format!("the gateway could not measure: {e}"))),
        })
    }

    /// What the approval covers: the session's view and every name the statement uses, resolved.
    pub fn evidence(&self) -> Vec<EvidenceItem> {
        self.resolution().items.clone()
    }

    /// What could not be established (when the names were resolved at all): no approval covers it.
    pub fn unresolved(&self) -> Vec<String> {
        self.resolution.get().map(Resolution::unresolved).unwrap_or_default()
    }

    /// What the approver is shown: the same resolved relations with their sizes.
    pub fn blast_radius(&self, ev: &Evaluation) -> Value {
        let resolution = self.resolution();
        if self.view.is_err() {
            return json!({ "error": resolution.unresolved().join("; ") });
        }
        self.with(|m| crate::blast::blast_radius(m, self.sql, &ev.assessment, resolution))
            .unwrap_or_else(|e| json!({ "error": format!("could not measure: {e}") }))
    }
}
