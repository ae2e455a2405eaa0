//! Where a system install lives (`airlock setup`). These are fixed on purpose: nothing a caller can
//! set — an environment variable, a user config — moves the place a hook or the CLI trusts.

use std::path::Path;

/// The unix user the service runs as.
pub const SERVICE_USER: &str = "airlock";

/// The fixed paths of a system install.
pub struct SystemPaths;

impl SystemPaths {
    /// Configuration and policy: root-owned, readable by the service's group only.
    pub const CONFIG_DIR: &'static str = "/etc/airlock";
    pub const CONFIG: &'static str = "/etc/airlock/airlock.toml";
    pub const POLICY: &'static str = "/etc/airlock/policy.cedar";
    /// State, vault, keys and secrets: owned by the service user, 0700.
    pub const DATA: &'static str = "/var/lib/airlock";
    /// The socket's directory: only the service user may create entries in it.
    pub const RUN: &'static str = "/run/airlock";
    pub const SOCKET: &'static str = "/run/airlock/airlock.sock";
    /// Where `airlock service start` keeps the server's pid when systemd is not running.
    pub const PID: &'static str = "/run/airlock/airlock.pid";
    pub const LOG: &'static str = "/var/log/airlock.log";
    /// The root-owned binary every hook runs.
    pub const BINARY: &'static str = "/usr/local/bin/airlock";
    pub const UNIT: &'static str = "/etc/systemd/system/airlock.service";

    /// Whether this machine has a system install (then hooks and the CLI use it unless `--config`
    /// names another instance explicitly). The directory, not the file: users other than root and
    /// the service cannot look inside it, and only root can create it.
    pub fn installed() -> bool {
        Path::new(Self::CONFIG_DIR).is_dir()
    }

    /// The configuration `airlock setup` writes.
    pub fn config_text() -> String {
        format!(
            r#"# Airlock, installed as a service by `airlock setup`. Edit as root; `airlock service restart`
# (or systemctl restart airlock) applies it. Every key is checked.

[server]
mode = "service"
# The API: a unix socket only. Callers are known by their peer credentials.
listen = ""
socket = "{socket}"
user = "{user}"
state = "sqlite:{data}/state.db"
policy = "{policy}"
# Unix users (besides root) who may issue tokens, enroll operators and store secrets:
admins = []
approval_ttl = "15m"
hold_ttl = "24h"

[vault]
dir = "{data}/vault"
key_file = "{data}/vault.key"
max_snapshot_bytes = 1073741824
retention = "7d"

[defaults]
local_environment = "development"

[[environment]]
name = "production"
hosts = ["*.prod.example.com"]
cloud = ["production", "prod"]

[[environment]]
name = "staging"
hosts = ["*.staging.example.com"]
cloud = ["staging"]

# Credentials live in Airlock's secret store (`airlock secret set NAME`, value on stdin):
# [[resource]]
# name = "shop"
# kind = "postgres"
# environment = "production"
# url = "postgres://app@db.prod.example.com:5432/shop"
# secret = "shop-db"
"#,
            socket = Self::SOCKET,
            user = SERVICE_USER,
            data = Self::DATA,
            policy = Self::POLICY,
        )
    }
}
