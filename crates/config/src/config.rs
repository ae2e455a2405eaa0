use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::duration::parse_duration;

/// A configuration that cannot be used. The message names the key and the line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// `[server]`: where the API listens and where state lives.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Loopback TCP address for the JSON API.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// A unix socket for the API, besides or instead of TCP (relative to the config's directory).
    #[serde(default)]
    pub socket: Option<PathBuf>,
    /// Where control-plane state lives: `sqlite:PATH` (relative to the config's directory).
    #[serde(default = "default_state")]
    pub state: String,
    /// How long an approval stays valid.
    #[serde(default = "default_approval_ttl")]
    pub approval_ttl: String,
    /// How long a held action waits for approval before it lapses.
    #[serde(default = "default_hold_ttl")]
    pub hold_ttl: String,
    /// The policy file (relative to the config's directory); the built-in default when absent.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// `local` (the default; what `airlock init` makes): the instance belongs to the user who runs
    /// it and is **not a security boundary** — operator tokens approve, and anyone who can read the
    /// instance's files can do what it can. `service` (what `airlock setup` makes): Airlock runs as
    /// its own unix user, callers are known by their socket peer credentials, and approvals need
    /// proof an agent's unix user cannot produce.
    #[serde(default)]
    pub mode: Mode,
    /// Unix users (besides root) who administer the instance through the socket: issue tokens,
    /// enroll operators, store secrets.
    #[serde(default)]
    pub admins: Vec<String>,
    /// The unix user the service runs as; hooks and the CLI refuse a socket whose peer is anyone else.
    #[serde(default = "default_service_user")]
    pub user: String,
    /// How often the service seals the audit chain's head into the vault (at most 60 s).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: String,
    /// How long a held hook call waits for a human's decision before it answers "held" (at most
    /// 240 s; `airlock install` sets each agent's hook timeout above it).
    #[serde(default = "default_hold_wait")]
    pub hold_wait: String,
}

/// Whether the instance is a security boundary (see [`ServerConfig::mode`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Local,
    Service,
}

fn default_service_user() -> String {
    crate::system::SERVICE_USER.to_owned()
}
fn default_checkpoint_every() -> String {
    "60s".to_owned()
}
fn default_hold_wait() -> String {
    "120s".to_owned()
}

fn default_listen() -> String {
    "127.0.0.1:7457".to_owned()
}
fn default_state() -> String {
    "sqlite:state.db".to_owned()
}
fn default_approval_ttl() -> String {
    "15m".to_owned()
}
fn default_hold_ttl() -> String {
    "24h".to_owned()
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: default_listen(),
            socket: None,
            state: default_state(),
            approval_ttl: default_approval_ttl(),
            hold_ttl: default_hold_ttl(),
            policy: None,
            mode: Mode::Local,
            admins: Vec::new(),
            user: default_service_user(),
            checkpoint_every: default_checkpoint_every(),
            hold_wait: default_hold_wait(),
        }
    }
}

/// `[vault]`: where snapshots go before destructive actions run.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VaultConfig {
    /// The vault directory (relative to the config's directory).
    #[serde(default = "default_vault_dir")]
    pub dir: PathBuf,
    /// The key file, created 0600 on first use. `AIRLOCK_VAULT_KEY` (64 hex characters) overrides it.
    /// Losing the key means losing the vault.
    #[serde(default = "default_key_file")]
    pub key_file: PathBuf,
    /// Paths larger than this are not snapshotted; the approver must acknowledge that.
    #[serde(default = "default_max_snapshot")]
    pub max_snapshot_bytes: u64,
    /// How long a snapshot taken before an action is locked against deletion.
    #[serde(default = "default_retention")]
    pub retention: String,
}

fn default_vault_dir() -> PathBuf {
    PathBuf::from("vault")
}
fn default_key_file() -> PathBuf {
    PathBuf::from("vault.key")
}
fn default_max_snapshot() -> u64 {
    1024 * 1024 * 1024
}
fn default_retention() -> String {
    "7d".to_owned()
}

impl Default for VaultConfig {
    fn default() -> VaultConfig {
        VaultConfig {
            dir: default_vault_dir(),
            key_file: default_key_file(),
            max_snapshot_bytes: default_max_snapshot(),
            retention: default_retention(),
        }
    }
}

/// `[postgres]`: the Postgres gateway. Agents connect with their token as the password; the
/// database name picks a `postgres` [[resource]], whose real credentials only Airlock holds.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// Where the gateway listens (`127.0.0.1:6432`); empty: no gateway. Off loopback only with TLS.
    #[serde(default)]
    pub listen: String,
    /// A PEM certificate chain and its PEM private key: clients may (and off loopback must) use TLS.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Idle upstream connections kept per resource for the next session.
    #[serde(default = "default_pool_idle")]
    pub pool_idle: usize,
}

fn default_pool_idle() -> usize {
    16
}

/// `[hooks]`: how agents' hooks answer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksConfig {
    /// What a hook says for an action Airlock allows: `defer` (the default: no decision, so the
    /// agent's own permission rules and prompts still apply) or `allow` (skip them).
    #[serde(default)]
    pub allowed: Allowed,
}

/// See [`HooksConfig::allowed`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Allowed {
    #[default]
    Defer,
    Allow,
}

/// `[defaults]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// The environment of local paths and working directories that no environment claims.
    #[serde(default = "default_local")]
    pub local_environment: String,
}

fn default_local() -> String {
    "development".to_owned()
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            local_environment: default_local(),
        }
    }
}

/// `[[environment]]`: a name and the rules that put a target in it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    pub name: String,
    /// Host names or globs (`*.prod.example.com`), for databases, SSH and APIs alike.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Database names.
    #[serde(default)]
    pub databases: Vec<String>,
    /// Path prefixes.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// Values of cloud CLI flags (`--environment`, `--env`, `--project`, `--stack`…).
    #[serde(default)]
    pub cloud: Vec<String>,
    /// Kubernetes contexts.
    #[serde(default)]
    pub contexts: Vec<String>,
}

/// `[[resource]]`: something Airlock knows how to reach (and later snapshot).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceConfig {
    pub name: String,
    /// `postgres`, `sqlite`, `path`, `api`…
    pub kind: String,
    pub environment: String,
    /// Connection URL without its password (`postgres://app@db.prod.example.com:5432/shop`).
    #[serde(default)]
    pub url: Option<String>,
    /// Filesystem location for `path` and `sqlite` resources.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Name of the environment variable that holds the secret (password or token).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A file that holds the secret, readable by Airlock only.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// The name of a secret in Airlock's own secret store (`airlock secret set NAME`), kept beside
    /// the state and readable by the service only. The way to hold credentials in `service` mode.
    #[serde(default)]
    pub secret: Option<String>,
    /// `http` resources: how calls are read (`graphql` or `rest`, the default).
    #[serde(default)]
    pub dialect: Option<crate::http::Dialect>,
    /// `http` resources: the provider's GraphQL introspection JSON or OpenAPI document (JSON);
    /// calls are then judged by it, and an operation it does not know is unknown.
    #[serde(default)]
    pub schema: Option<PathBuf>,
    /// `http` resources: the provider pack (`railway`, or a pack file's path); by default the pack
    /// whose hosts include the url's host.
    #[serde(default)]
    pub provider: Option<String>,
    /// `http` resources: the header the upstream receives the credential in (`Authorization`).
    #[serde(default)]
    pub auth_header: Option<String>,
    /// `http` resources: that header's value, `{secret}` standing for the secret
    /// (`Bearer {secret}`).
    #[serde(default)]
    pub auth_template: Option<String>,
    /// `http` resources: a PEM file of the root certificates the upstream's certificate must chain
    /// to, instead of the public web roots.
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
    /// The environment variable a provider CLI reads the credential from (`RAILWAY_TOKEN`), for
    /// `airlock exec --resource NAME`.
    #[serde(default)]
    pub cli_env: Option<String>,
}

/// `[[backup]]`: a resource copied into the vault on a schedule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupConfig {
    /// A `[[resource]]` name (kind `path` or `sqlite`, with a `path`).
    pub resource: String,
    /// How often `airlock serve` takes one (`1h`, `30m`, `1d`).
    pub interval: String,
    #[serde(default)]
    pub keep: KeepRules,
}

/// Which scheduled backups stay: the newest `last`, and the newest in each of the last N hours,
/// days, weeks and months.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepRules {
    #[serde(default)]
    pub last: usize,
    #[serde(default)]
    pub hourly: usize,
    #[serde(default)]
    pub daily: usize,
    #[serde(default)]
    pub weekly: usize,
    #[serde(default)]
    pub monthly: usize,
}

impl ResourceConfig {
    /// The resource's secret, from the secret store, `secret_env` or `secret_file`; None when it
    /// references none. For Airlock's own use only: never log it.
    pub fn secret_value(&self, config: &Config) -> Result<Option<String>, String> {
        if let Some(name) = &self.secret {
            return crate::secrets::read_secret(&config.secrets_dir()?, name)
                .map(Some)
                .map_err(|e| format!("resource {}: {e}", self.name));
        }
        let config_dir = &config.dir;
        Ok(if let Some(var) = &self.secret_env {
            Some(
                std::env::var(var)
                    .map_err(|_| format!("resource {}: the environment variable {var} is not set", self.name))?,
            )
        } else if let Some(file) = &self.secret_file {
            let p = if file.is_absolute() {
                file.clone()
            } else {
                config_dir.join(file)
            };
            Some(
                std::fs::read_to_string(&p)
                    .map_err(|e| format!("resource {}: cannot read {}: {e}", self.name, p.display()))?
                    .trim()
                    .to_owned(),
            )
        } else {
            None
        })
    }

    /// The connection URL with the secret put in (see [`secret_value`](Self::secret_value)). For
    /// Airlock's own connections only: never log it.
    pub fn connection_url(&self, config: &Config) -> Result<String, String> {
        let url = self
            .url
            .as_deref()
            .ok_or_else(|| format!("resource {} has no url", self.name))?;
        let Some(secret) = self.secret_value(config)? else {
            return Ok(url.to_owned());
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("resource {}: url is not scheme://…", self.name))?;
        let (userinfo, host) = rest
            .split_once('@')
            .ok_or_else(|| format!("resource {}: url has no user@ to attach the secret to", self.name))?;
        let encoded: String = secret
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        Ok(format!("{scheme}://{userinfo}:{encoded}@{host}"))
    }
}

/// `[[agent]]`: an agent Airlock issues tokens to.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub name: String,
    /// Environments the agent's tokens may reach by default.
    #[serde(default)]
    pub environments: Vec<String>,
}

/// `[web]`: the approval page, where operators sign in with passkeys and approve or deny.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Where the page listens (`127.0.0.1:7458`); empty (the default): no page. Off loopback only
    /// with TLS.
    #[serde(default)]
    pub listen: String,
    /// The address people open (`https://airlock.example.com`): the passkeys' relying party and
    /// origin, and the links in notifications. Default: `http://localhost:PORT` (`https://` with
    /// TLS) for a loopback `listen`; required otherwise. Passkeys are bound to its host name, which
    /// must be a name (not an IP address).
    #[serde(default)]
    pub url: Option<String>,
    /// A PEM certificate chain and its PEM private key: the page is served over TLS (required off
    /// loopback), and its cookies are `Secure`.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// How long a sign-in lasts before the passkey is asked for again.
    #[serde(default = "default_session_ttl")]
    pub session_ttl: String,
    /// How long a passkey enrollment code (`airlock operator add`) stays valid.
    #[serde(default = "default_enrollment_ttl")]
    pub enrollment_ttl: String,
}

fn default_session_ttl() -> String {
    "1h".to_owned()
}
fn default_enrollment_ttl() -> String {
    "24h".to_owned()
}

impl Default for WebConfig {
    fn default() -> WebConfig {
        WebConfig {
            listen: String::new(),
            url: None,
            tls_cert: None,
            tls_key: None,
            session_ttl: default_session_ttl(),
            enrollment_ttl: default_enrollment_ttl(),
        }
    }
}

impl WebConfig {
    /// Whether the page is on.
    pub fn enabled(&self) -> bool {
        !self.listen.trim().is_empty()
    }

    /// The origin people open (`scheme://host[:port]`, no trailing slash); None when the page is off.
    /// Filled in by [`Config::parse`].
    pub fn origin(&self) -> Option<&str> {
        self.url.as_deref().filter(|_| self.enabled())
    }

    /// The passkeys' relying party id: the origin's host name.
    pub fn rp_id(&self) -> Option<&str> {
        let rest = self.origin()?.split_once("://")?.1;
        Some(match rest.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => rest.split(':').next().unwrap_or(rest),
        })
    }
}

/// `[[notify]] kind`: where a notification goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyKind {
    /// A JSON POST signed with HMAC-SHA256 (`X-Airlock-Signature`).
    Webhook,
    /// A Slack incoming webhook.
    Slack,
    /// An ntfy topic URL.
    Ntfy,
    /// `notify-send` on the desktop of the user who runs a local instance.
    Desktop,
}

/// The events a notification can be about (`[[notify]] events`).
pub const NOTIFY_EVENTS: [&str; 5] = ["held", "approved", "released", "rejected", "expired"];

/// `[[notify]]`: tell humans when an action is held, decided or expires.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub kind: NotifyKind,
    /// Where to POST (webhook, slack, ntfy).
    #[serde(default)]
    pub url: Option<String>,
    /// The name of a secret in Airlock's secret store (`airlock secret set NAME`): the webhook's
    /// signing key, or ntfy's access token.
    #[serde(default)]
    pub secret: Option<String>,
    /// The same secret written inline: local mode only (a service keeps secrets in its store).
    #[serde(default)]
    pub secret_value: Option<String>,
    /// Which events (`held`, `approved`, `released`, `rejected`, `expired`); empty: all of them.
    #[serde(default)]
    pub events: Vec<String>,
    /// Desktop only: the program to run instead of `notify-send`.
    #[serde(default)]
    pub command: Option<String>,
}

impl NotifyConfig {
    /// The entry's secret (see [`secret`](Self::secret)); None when it names none. Never log it.
    pub fn secret_of(&self, config: &Config) -> Result<Option<String>, String> {
        if let Some(name) = &self.secret {
            return crate::secrets::read_secret(&config.secrets_dir()?, name)
                .map(Some)
                .map_err(|e| format!("[[notify]] {:?}: {e}", self.kind));
        }
        Ok(self.secret_value.clone())
    }

    /// Whether this entry wants `event` (one of [`NOTIFY_EVENTS`]).
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

fn check_web(web: &mut WebConfig, mode: Mode) -> Result<(), String> {
    if !web.enabled() {
        return Ok(());
    }
    if mode != Mode::Service {
        return Err("web.listen: the approval page needs a service instance (`sudo airlock setup`), where operators prove themselves with passkeys; an unprivileged instance approves with operator tokens".into());
    }
    if web.tls_cert.is_some() != web.tls_key.is_some() {
        return Err("web: tls_cert and tls_key go together; set both or neither".into());
    }
    let listen = web.listen.trim().to_owned();
    let port = listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok())
        .ok_or_else(|| format!("web.listen = {listen:?}: expected HOST:PORT"))?;
    let tls = web.tls_cert.is_some();
    if !is_loopback(&listen) && !tls {
        return Err(format!(
            "web.listen = {listen:?}: off loopback the page needs TLS (set tls_cert and tls_key): sessions and approvals would cross the network readable"
        ));
    }
    let url = match web.url.take() {
        Some(u) => u.trim().trim_end_matches('/').to_owned(),
        None if is_loopback(&listen) => format!("{}://localhost:{port}", if tls { "https" } else { "http" }),
        None => {
            return Err("web.url: required when the page is off loopback (the address people open, https://…)".into())
        }
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("web.url = {url:?}: expected https://HOST[:PORT]"))?;
    let host = rest.split(':').next().unwrap_or_default();
    if rest.contains(['/', '?', '#', '@']) || host.is_empty() {
        return Err(format!(
            "web.url = {url:?}: an origin only (scheme, host, port), without a path"
        ));
    }
    if host.parse::<std::net::IpAddr>().is_ok() || rest.starts_with('[') {
        return Err(format!(
            "web.url = {url:?}: passkeys are bound to a host name, not an IP address (use localhost or a DNS name)"
        ));
    }
    match scheme {
        "https" => {}
        "http" if host == "localhost" && !tls && is_loopback(&listen) => {}
        _ => {
            return Err(format!(
                "web.url = {url:?}: browsers offer passkeys on https:// (or http://localhost for a loopback page)"
            ))
        }
    }
    web.url = Some(url);
    Ok(())
}

fn check_notify(entries: &[NotifyConfig], mode: Mode) -> Result<(), String> {
    for (i, n) in entries.iter().enumerate() {
        let at = format!("[[notify]] #{} (kind = {:?})", i + 1, n.kind);
        if let Some(e) = n.events.iter().find(|e| !NOTIFY_EVENTS.contains(&e.as_str())) {
            return Err(format!("{at}: event {e:?} is not one of {}", NOTIFY_EVENTS.join(", ")));
        }
        if n.secret.is_some() && n.secret_value.is_some() {
            return Err(format!(
                "{at}: set secret (a name in the secret store) or secret_value, not both"
            ));
        }
        if n.secret_value.is_some() && mode == Mode::Service {
            return Err(format!(
                "{at}: secret_value is for unprivileged instances; store it with `airlock secret set NAME` and reference it with secret = \"NAME\""
            ));
        }
        if let Some(name) = &n.secret {
            if !crate::secrets::valid_secret_name(name) {
                return Err(format!("{at}: secret {name:?} is not a secret name"));
            }
        }
        let url_ok = n
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"));
        match n.kind {
            NotifyKind::Desktop => {
                if mode == Mode::Service {
                    return Err(format!("{at}: desktop notifications are for a local single-user instance; a service has no desktop (use webhook, slack or ntfy)"));
                }
                if n.url.is_some() {
                    return Err(format!("{at}: a desktop notification has no url"));
                }
            }
            _ if !url_ok => return Err(format!("{at}: needs url = \"https://…\"")),
            NotifyKind::Webhook if n.secret.is_none() && n.secret_value.is_none() => {
                return Err(format!(
                    "{at}: a webhook is signed: set secret = \"NAME\" (a secret in the secret store)"
                ));
            }
            _ => {}
        }
        if n.command.is_some() && n.kind != NotifyKind::Desktop {
            return Err(format!("{at}: command is for desktop notifications only"));
        }
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerConfig,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    vault: VaultConfig,
    #[serde(default)]
    postgres: PostgresConfig,
    #[serde(default)]
    http: crate::http::HttpConfig,
    #[serde(default)]
    hooks: HooksConfig,
    #[serde(default)]
    environment: Vec<EnvironmentConfig>,
    #[serde(default)]
    resource: Vec<ResourceConfig>,
    #[serde(default)]
    agent: Vec<AgentConfig>,
    #[serde(default)]
    backup: Vec<BackupConfig>,
    #[serde(default)]
    web: WebConfig,
    #[serde(default)]
    notify: Vec<NotifyConfig>,
}

/// A loaded configuration. Relative paths in it resolve against `dir`.
#[derive(Clone, Debug)]
pub struct Config {
    pub dir: PathBuf,
    pub server: ServerConfig,
    pub defaults: Defaults,
    pub vault: VaultConfig,
    pub postgres: PostgresConfig,
    /// `[http]`: the API gateway.
    pub http: crate::http::HttpConfig,
    pub hooks: HooksConfig,
    pub environments: Vec<EnvironmentConfig>,
    pub resources: Vec<ResourceConfig>,
    pub agents: Vec<AgentConfig>,
    pub backups: Vec<BackupConfig>,
    pub approval_ttl: Duration,
    pub hold_ttl: Duration,
    pub retention: Duration,
    pub checkpoint_every: Duration,
    pub hold_wait: Duration,
    /// `[web]`, its `url` filled in (see [`WebConfig::origin`]).
    pub web: WebConfig,
    pub notify: Vec<NotifyConfig>,
    /// `web.session_ttl` and `web.enrollment_ttl`.
    pub session_ttl: Duration,
    pub enrollment_ttl: Duration,
}

/// The longest a held hook call may wait for a decision: hooks give up on the server after
/// [`HOOK_DEADLINE`], and agents' hook timeouts (set by `airlock install`) are above that.
pub const MAX_HOLD_WAIT: Duration = Duration::from_secs(240);
/// How long a hook waits for the server's answer before it refuses (it must answer before the
/// agent's own hook timeout, or the agent would let the action through).
pub const HOOK_DEADLINE: Duration = Duration::from_secs(270);
/// The timeout `airlock install` writes into each agent's hook settings.
pub const AGENT_HOOK_TIMEOUT: Duration = Duration::from_secs(300);

/// Whether `host:port` names a loopback address.
fn is_loopback(listen: &str) -> bool {
    let host = listen
        .rsplit_once(':')
        .map_or(listen, |(h, _)| h)
        .trim_matches(['[', ']']);
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

impl Config {
    /// Loads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Config::parse(&text, &dir).map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses config text whose relative paths resolve against `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Config, String> {
        let mut file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        check_web(&mut file.web, file.server.mode)?;
        check_notify(&file.notify, file.server.mode)?;
        let session_ttl = parse_duration(&file.web.session_ttl).map_err(|e| format!("web.session_ttl: {e}"))?;
        let enrollment_ttl =
            parse_duration(&file.web.enrollment_ttl).map_err(|e| format!("web.enrollment_ttl: {e}"))?;
        let approval_ttl =
            parse_duration(&file.server.approval_ttl).map_err(|e| format!("server.approval_ttl: {e}"))?;
        let hold_ttl = parse_duration(&file.server.hold_ttl).map_err(|e| format!("server.hold_ttl: {e}"))?;
        let retention = parse_duration(&file.vault.retention).map_err(|e| format!("vault.retention: {e}"))?;
        let checkpoint_every =
            parse_duration(&file.server.checkpoint_every).map_err(|e| format!("server.checkpoint_every: {e}"))?;
        if checkpoint_every.is_zero() || checkpoint_every > Duration::from_secs(60) {
            return Err("server.checkpoint_every: between 1s and 60s (a truncation of the audit log is detected back to the last checkpoint)".into());
        }
        let hold_wait = parse_duration(&file.server.hold_wait).map_err(|e| format!("server.hold_wait: {e}"))?;
        if hold_wait > MAX_HOLD_WAIT {
            return Err(format!(
                "server.hold_wait: at most {}s (agents' hook timeouts must stay above it)",
                MAX_HOLD_WAIT.as_secs()
            ));
        }
        if file.server.mode == Mode::Service {
            check_service(&file)?;
        }
        let listen = file.server.listen.trim();
        if !listen.is_empty() && !is_loopback(listen) {
            return Err(format!(
                "server.listen = {listen:?}: the API has no TLS and must stay on loopback (127.0.0.1 or ::1); use server.socket for local-only access"
            ));
        }
        let pg = &file.postgres;
        if pg.tls_cert.is_some() != pg.tls_key.is_some() {
            return Err("postgres: tls_cert and tls_key go together; set both or neither".into());
        }
        if !pg.listen.trim().is_empty() && !is_loopback(pg.listen.trim()) && pg.tls_cert.is_none() {
            return Err(format!(
                "postgres.listen = {:?}: off loopback the gateway needs TLS (set tls_cert and tls_key), or tokens would cross the network readable",
                pg.listen
            ));
        }
        let mut names = Vec::new();
        for e in &file.environment {
            if e.name.is_empty() || e.name == "unknown" {
                return Err(format!("environment name {:?} is reserved or empty", e.name));
            }
            if names.contains(&e.name) {
                return Err(format!("environment {:?} is defined twice", e.name));
            }
            names.push(e.name.clone());
        }
        for r in &file.resource {
            let known = names.contains(&r.environment) || r.environment == file.defaults.local_environment;
            if !known {
                return Err(format!(
                    "resource {:?}: environment {:?} is not defined (add an [[environment]] with that name)",
                    r.name, r.environment
                ));
            }
            if let Some(url) = &r.url {
                if url_has_password(url) {
                    return Err(format!(
                        "resource {:?}: its url holds a password; reference the secret with secret_env or secret_file instead",
                        r.name
                    ));
                }
            }
        }
        crate::http::check(&file.http, &file.resource)?;
        for b in &file.backup {
            let r = file
                .resource
                .iter()
                .find(|r| r.name == b.resource)
                .ok_or_else(|| format!("backup of {:?}: no [[resource]] has that name", b.resource))?;
            let usable = match r.kind.as_str() {
                "path" | "sqlite" => r.path.is_some(),
                "postgres" => r.url.is_some(),
                _ => false,
            };
            if !usable {
                return Err(format!(
                    "backup of {:?}: only path and sqlite resources with a path, and postgres resources with a url, can be backed up",
                    b.resource
                ));
            }
            parse_duration(&b.interval).map_err(|e| format!("backup of {:?}: interval: {e}", b.resource))?;
        }
        Ok(Config {
            dir: dir.to_path_buf(),
            server: file.server,
            defaults: file.defaults,
            vault: file.vault,
            postgres: file.postgres,
            http: file.http,
            hooks: file.hooks,
            environments: file.environment,
            resources: file.resource,
            agents: file.agent,
            backups: file.backup,
            approval_ttl,
            hold_ttl,
            retention,
            checkpoint_every,
            hold_wait,
            web: file.web,
            notify: file.notify,
            session_ttl,
            enrollment_ttl,
        })
    }

    /// The directory that holds the state file: the audit key and the secret store live beside it.
    pub fn state_dir(&self) -> Result<PathBuf, String> {
        let state = self.state_path()?;
        Ok(state
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.dir.clone()))
    }

    /// The secret store (`airlock secret set`): one 0600 file per secret in a 0700 directory.
    pub fn secrets_dir(&self) -> Result<PathBuf, String> {
        Ok(self.state_dir()?.join("secrets"))
    }

    /// The key that seals the audit chain (HMAC-SHA256), created 0600 beside the state.
    pub fn audit_key_path(&self) -> Result<PathBuf, String> {
        Ok(self.state_dir()?.join("audit.key"))
    }

    pub fn is_service(&self) -> bool {
        self.server.mode == Mode::Service
    }

    /// A path from the config, made absolute against the config's directory.
    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.dir.join(p)
        }
    }

    /// The state database file (`server.state = "sqlite:PATH"`).
    pub fn state_path(&self) -> Result<PathBuf, String> {
        match self.server.state.split_once(':') {
            Some(("sqlite", p)) => Ok(self.path(Path::new(p))),
            _ => Err(format!(
                "server.state = {:?}: only \"sqlite:PATH\" is supported for now",
                self.server.state
            )),
        }
    }

    /// The policy text: the configured file, or the built-in default.
    pub fn policy_path(&self) -> Option<PathBuf> {
        self.server.policy.as_ref().map(|p| self.path(p))
    }

    pub fn socket_path(&self) -> Option<PathBuf> {
        self.server.socket.as_ref().map(|p| self.path(p))
    }
}

/// What `mode = "service"` requires: callers reach it through the socket only (its peer
/// credentials are how callers are known), and no credential sits in an environment variable.
fn check_service(file: &File) -> Result<(), String> {
    if file.server.socket.is_none() {
        return Err(
            "server.mode = \"service\" needs server.socket (callers are known by the socket's peer credentials)".into(),
        );
    }
    if !file.server.listen.trim().is_empty() {
        return Err("server.mode = \"service\": set server.listen = \"\" (a TCP API cannot tell which unix user calls; use the socket)".into());
    }
    if let Some(r) = file.resource.iter().find(|r| r.secret_env.is_some()) {
        return Err(format!(
            "resource {:?}: secret_env is not allowed in service mode (a service's environment is visible to `systemctl show`); store it with `airlock secret set NAME` and reference it with secret = \"NAME\"",
            r.name
        ));
    }
    Ok(())
}

fn url_has_password(url: &str) -> bool {
    url.split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or_default())
        .and_then(|authority| authority.rsplit_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_name_the_key_and_the_line() {
        let err = Config::parse("[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n", Path::new("/")).unwrap_err();
        assert!(err.contains("lisen") && err.contains("line 3"), "{err}");
        let err = Config::parse("[[environment]]\nname = \"p\"\nhosts = 3\n", Path::new("/")).unwrap_err();
        assert!(err.contains("hosts") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Config::parse("[server]\napproval_ttl = \"soon\"", Path::new("/"))
            .unwrap_err()
            .contains("approval_ttl"));
        let inline_password = "[[environment]]\nname = \"prod\"\n[[resource]]\nname = \"db\"\nkind = \"postgres\"\nenvironment = \"prod\"\nurl = \"postgres://app:hunter2@db/x\"\n";
        let err = Config::parse(inline_password, Path::new("/")).unwrap_err();
        assert!(err.contains("password") && !err.contains("hunter2"), "{err}");
        assert!(Config::parse("[[environment]]\nname = \"unknown\"", Path::new("/")).is_err());
        assert!(Config::parse("[server]\nlisten = \"0.0.0.0:7457\"", Path::new("/"))
            .unwrap_err()
            .contains("loopback"));
    }

    #[test]
    fn the_gateway_leaves_loopback_only_with_tls() {
        let parse = |t: &str| Config::parse(t, Path::new("/"));
        assert_eq!(
            parse("[postgres]\nlisten = \"127.0.0.1:6432\"")
                .unwrap()
                .postgres
                .pool_idle,
            16
        );
        let err = parse("[postgres]\nlisten = \"0.0.0.0:6432\"").unwrap_err();
        assert!(err.contains("needs TLS"), "{err}");
        assert!(parse("[postgres]\nlisten = \"0.0.0.0:6432\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"").is_ok());
        let err = parse("[postgres]\nlisten = \"127.0.0.1:6432\"\ntls_cert = \"c.pem\"").unwrap_err();
        assert!(err.contains("go together"), "{err}");
    }

    #[test]
    fn service_mode_needs_the_socket_and_no_secret_in_the_environment() {
        let parse = |t: &str| Config::parse(t, Path::new("/etc/airlock"));
        let err = parse("[server]\nmode = \"service\"\nlisten = \"\"").unwrap_err();
        assert!(err.contains("server.socket"), "{err}");
        let err = parse("[server]\nmode = \"service\"\nsocket = \"/run/airlock/airlock.sock\"").unwrap_err();
        assert!(err.contains("listen"), "{err}");
        let env = "[server]\nmode = \"service\"\nlisten = \"\"\nsocket = \"/run/a.sock\"\n[[resource]]\nname = \"db\"\nkind = \"postgres\"\nenvironment = \"development\"\nsecret_env = \"PW\"\n";
        assert!(parse(env).unwrap_err().contains("airlock secret set"));
        let ok = parse("[server]\nmode = \"service\"\nlisten = \"\"\nsocket = \"/run/a.sock\"\nstate = \"sqlite:/var/lib/airlock/state.db\"").unwrap();
        assert!(ok.is_service());
        assert_eq!(ok.secrets_dir().unwrap(), PathBuf::from("/var/lib/airlock/secrets"));
        assert!(parse("[server]\ncheckpoint_every = \"5m\"").is_err());
    }

    #[test]
    fn relative_paths_resolve_against_the_config_dir() {
        let c = Config::parse("", Path::new("/srv/airlock")).unwrap();
        assert_eq!(c.state_path().unwrap(), PathBuf::from("/srv/airlock/state.db"));
        assert_eq!(c.approval_ttl.as_secs(), 900);
    }

    #[test]
    fn the_page_needs_a_service_a_host_name_and_tls_off_loopback() {
        let svc = "[server]\nmode = \"service\"\nlisten = \"\"\nsocket = \"/run/a.sock\"\n";
        let parse = |t: &str| Config::parse(&format!("{svc}{t}"), Path::new("/etc/airlock"));
        let c = parse("[web]\nlisten = \"127.0.0.1:7458\"").unwrap();
        assert_eq!(c.web.origin(), Some("http://localhost:7458"));
        assert_eq!(c.web.rp_id(), Some("localhost"));
        assert_eq!(c.session_ttl.as_secs(), 3600);
        assert!(Config::parse("", Path::new("/")).unwrap().web.origin().is_none());
        let local = Config::parse("[web]\nlisten = \"127.0.0.1:7458\"", Path::new("/")).unwrap_err();
        assert!(local.contains("service"), "{local}");
        let err = parse("[web]\nlisten = \"0.0.0.0:443\"\nurl = \"https://a.example\"").unwrap_err();
        assert!(err.contains("TLS"), "{err}");
        let c = parse("[web]\nlisten = \"0.0.0.0:443\"\nurl = \"https://airlock.example.com/\"\ntls_cert = \"c\"\ntls_key = \"k\"").unwrap();
        assert_eq!(c.web.origin(), Some("https://airlock.example.com"));
        assert_eq!(c.web.rp_id(), Some("airlock.example.com"));
        for bad in [
            "url = \"http://airlock.example.com\"",
            "url = \"https://10.0.0.1\"",
            "url = \"https://a.example/approve\"",
        ] {
            let err = parse(&format!(
                "[web]\nlisten = \"0.0.0.0:443\"\ntls_cert = \"c\"\ntls_key = \"k\"\n{bad}"
            ))
            .unwrap_err();
            assert!(err.contains("web.url"), "{bad}: {err}");
        }
        assert!(parse("[web]\nlisten = \"127.0.0.1:1\"\nsession_ttl = \"soon\"")
            .unwrap_err()
            .contains("session_ttl"));
    }

    #[test]
    fn notify_entries_are_checked() {
        let svc = "[server]\nmode = \"service\"\nlisten = \"\"\nsocket = \"/run/a.sock\"\n";
        let svc_parse = |t: &str| Config::parse(&format!("{svc}{t}"), Path::new("/etc/airlock"));
        let local_parse = |t: &str| Config::parse(t, Path::new("/"));
        let c = svc_parse("[[notify]]\nkind = \"webhook\"\nurl = \"https://hooks.example/x\"\nsecret = \"hook-key\"\nevents = [\"held\"]").unwrap();
        assert_eq!(c.notify[0].kind, NotifyKind::Webhook);
        assert!(c.notify[0].wants("held") && !c.notify[0].wants("expired"));
        for (text, want) in [
            ("[[notify]]\nkind = \"webhook\"\nurl = \"https://h.example\"", "signed"),
            (
                "[[notify]]\nkind = \"webhook\"\nurl = \"https://h.example\"\nsecret_value = \"x\"",
                "secret_value",
            ),
            ("[[notify]]\nkind = \"slack\"", "url"),
            ("[[notify]]\nkind = \"desktop\"", "desktop"),
            (
                "[[notify]]\nkind = \"ntfy\"\nurl = \"https://ntfy.sh/t\"\nevents = [\"eaten\"]",
                "eaten",
            ),
            ("[[notify]]\nkind = \"email\"", "email"),
        ] {
            let err = svc_parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        let c = local_parse("[[notify]]\nkind = \"desktop\"\n[[notify]]\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nsecret_value = \"k\"").unwrap();
        assert_eq!(c.notify[1].secret_of(&c).unwrap().as_deref(), Some("k"));
    }
}
