//! # airlock-config
//!
//! `airlock.toml`: where the server listens and keeps its state, which environments exist and how
//! targets are matched to them, the resources Airlock knows (with secrets referenced, never
//! inlined), and the agents. Also the resolver that turns an assessment's targets into resources
//! with environments, the input of policy.
//!
//! ```
//! use airlock_config::Config;
//!
//! let config = Config::parse(r#"
//!     [[environment]]
//!     name = "production"
//!     hosts = ["*.prod.example.com"]
//! "#, std::path::Path::new("/etc/airlock")).unwrap();
//! assert_eq!(config.environment_of_host("db.prod.example.com"), "production");
//! assert_eq!(config.environment_of_host("api.unclaimed.dev"), "unknown");
//! ```

mod config;
mod discover;
mod duration;
mod http;
mod resolve;
mod secrets;
mod starter;
mod system;

pub use config::{
    AgentConfig, Allowed, BackupConfig, Config, ConfigError, Defaults, EnvironmentConfig, HooksConfig, KeepRules, Mode,
    NotifyConfig, NotifyKind, PostgresConfig, ResourceConfig, ServerConfig, VaultConfig, WebConfig, AGENT_HOOK_TIMEOUT,
    HOOK_DEADLINE, MAX_HOLD_WAIT, NOTIFY_EVENTS,
};
pub use discover::{discover, user_config_dir, Discovered};
pub use duration::parse_duration;
pub use http::{is_loopback_host, Dialect, HttpConfig, DEFAULT_AUTH_HEADER, DEFAULT_AUTH_TEMPLATE};
pub use resolve::{Resolved, Resolver};
pub use secrets::{list_secrets, read_secret, remove_secret, valid_secret_name, write_secret, SecretError};
pub use starter::{STARTER_CONFIG, STARTER_POLICY_HEADER};
pub use system::{SystemPaths, SERVICE_USER};
