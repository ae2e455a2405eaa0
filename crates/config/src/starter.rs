//! What `airlock init` writes: a commented starter config, and the header of the starter policy
//! (the default policy follows it).

pub const STARTER_CONFIG: &str = r#"# Airlock configuration. Relative paths are relative to this file's directory.
# Every key is checked: a typo is an error that names the key and the line.

[server]
# The JSON API for hooks and the CLI. Keep it on loopback.
listen = "127.0.0.1:7457"
# A unix socket as well (optional):
# socket = "airlock.sock"
# Control-plane state: actions, decisions, approvals, tokens, the audit chain.
state = "sqlite:state.db"
# The policy (Cedar). Without it, Airlock's built-in default applies.
policy = "policy.cedar"
# How long an approval stays valid once given, and how long a held action waits.
approval_ttl = "15m"
hold_ttl = "24h"

[vault]
# Snapshots taken before approved destructive actions. The key file is created (mode 0600) on first
# use; AIRLOCK_VAULT_KEY (64 hex characters) overrides it. Losing the key means losing the vault.
dir = "vault"
key_file = "vault.key"
# Paths larger than this are not snapshotted; the approver must acknowledge that explicitly.
max_snapshot_bytes = 1073741824
# Snapshots taken before an action cannot be deleted for this long.
retention = "7d"

# The Postgres gateway: `airlock serve` runs it when listen is set (`airlock pg` runs it alone).
# Agents connect with any user name and their token as the password; the database name picks a
# postgres [[resource]], whose real credentials only Airlock holds.
# [postgres]
# listen = "127.0.0.1:6432"
# With a certificate and key, clients must use TLS (and the gateway may listen off loopback):
# tls_cert = "gateway.crt"
# tls_key = "gateway.key"

[defaults]
# The environment of local paths that no [[environment]] claims.
local_environment = "development"

# Environments: a target (host, database, path, cloud flag, kube context) belongs to the first
# environment whose rules match. A host or API nobody claims is "unknown", which the default policy
# treats like production.
[[environment]]
name = "production"
hosts = ["*.prod.example.com"]
databases = []
paths = []
cloud = ["production", "prod"]
contexts = []

[[environment]]
name = "staging"
hosts = ["*.staging.example.com"]
cloud = ["staging"]

# Resources Airlock knows how to reach. Secrets are referenced, never written here:
# secret_env names an environment variable, secret_file a file only Airlock can read.
# [[resource]]
# name = "shop-db"
# kind = "postgres"
# environment = "production"
# url = "postgres://app@db.prod.example.com:5432/shop"
# secret_env = "SHOP_DB_PASSWORD"

# Agents and the environments their tokens reach by default.
# [[agent]]
# name = "claude"
# environments = ["staging", "development"]
"#;

pub const STARTER_POLICY_HEADER: &str = "// Airlock policy (Cedar). `airlock policy check` validates it against the schema;\n// `airlock policy explain shell 'CMD'` shows which policies decide an action.\n\n";
