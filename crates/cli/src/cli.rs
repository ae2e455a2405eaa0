use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Airlock sits between coding agents and your infrastructure: it knows what an action will do and
/// holds anything destructive until a human approves it.
#[derive(Debug, Parser)]
#[command(name = "airlock", version, about, propagate_version = true)]
pub struct Cli {
    /// The config file (else AIRLOCK_CONFIG, ./airlock.toml, or the user config dir).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Say what an action will do: read, write, destructive, or unknown, with its targets and why.
    ///
    /// With INPUT, classifies it and explains the result. Without INPUT, reads JSON lines
    /// {"input": "…", "cwd": "…"} from stdin and writes one JSON result per line, in order.
    Classify(ClassifyArgs),
    /// Replay the incident on embedded defaults in a temp dir: what Airlock stops, and why.
    Demo(DemoArgs),
    /// Write a commented starter airlock.toml and policy.cedar.
    Init(InitArgs),
    /// Run the server: the state, the policy, and the API hooks and the CLI use.
    Serve,
    /// Run the Postgres gateway alone (`[postgres] listen`): agents connect with their token as the
    /// password, Airlock judges every statement. `serve` runs it too when it is configured.
    Pg,
    /// Run the API gateway alone (`[http] listen`): agents call http://<listen>/<resource>/<path>
    /// with their Airlock token, Airlock judges every call and adds the provider's credential to
    /// allowed ones. `serve` runs it too when it is configured.
    Http,
    /// Run a provider CLI (railway, fly, aws, gh…) with a resource's credential that the agent never
    /// sees: the command is judged as a shell action, and only once it is allowed does Airlock's
    /// server run it with the credential in the variable the CLI reads (`cli_env`), relaying its
    /// output.
    Exec(ExecArgs),
    /// Issue, list and revoke tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// List the actions held for approval (operator token).
    Pending(JsonArgs),
    /// Approve a held action (operator token; never the agent that asked).
    Approve(DecideArgs),
    /// Refuse a held action (operator token).
    Deny(DecideArgs),
    /// Show the audit log, or verify its hash chain.
    Log(LogArgs),
    /// Check the policy, or explain how it decides an action.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Run as an agent's hook: read the agent's hook JSON on stdin, answer in its format.
    Hook(HookArgs),
    /// Add Airlock's hook to an agent's settings (and give the agent a token).
    Install(InstallArgs),
    /// Remove Airlock's hook from an agent's settings.
    Uninstall(InstallArgs),
    /// List the vault's snapshots.
    Snapshots(SnapshotsArgs),
    /// Restore one snapshot, to where it came from or elsewhere.
    Restore(RestoreArgs),
    /// Put back everything an action's snapshots captured.
    Undo(UndoArgs),
    /// Check or prune the vault.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// Scheduled backups of [[backup]] resources.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Install Airlock as a service under its own unix user (as root). Run `airlock setup --help`
    /// to see exactly what it does.
    Setup(SetupArgs),
    /// Start, stop or look at the service (systemd when it runs, else a background process).
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Check that Airlock really guards this user's agents, and say what to fix.
    Doctor(DoctorArgs),
    /// Store resource credentials with the service (administrators).
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Enroll the people who approve (administrators).
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Standing grants: list them, or end one now.
    Grants(GrantsArgs),
}

#[derive(Debug, Args)]
pub struct GrantsArgs {
    #[command(subcommand)]
    pub command: Option<GrantsCommand>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Subcommand)]
pub enum GrantsCommand {
    /// End a grant now.
    Revoke { id: String },
}

/// `airlock setup`. As root, and idempotent (running it again changes only what differs):
///
/// 1. creates the system user and group `airlock` (no login shell, home /var/lib/airlock);
/// 2. copies this binary to /usr/local/bin/airlock (root:root, 0755) — the binary every hook runs;
/// 3. writes /etc/airlock/airlock.toml and policy.cedar (root:airlock, 0750/0640) unless they exist;
/// 4. creates /var/lib/airlock (airlock, 0700) for the state, the vault, the keys and the secrets;
/// 5. creates /run/airlock (airlock, 0755): only the service can create its socket there;
/// 6. writes /etc/systemd/system/airlock.service (restart on failure, NoNewPrivileges,
///    ProtectSystem=strict, ReadWritePaths=/var/lib/airlock, ProtectHome=read-only,
///    CAP_DAC_READ_SEARCH so snapshots can read what they copy) and enables and starts it when
///    systemd is running; otherwise starts the service in the background (`airlock service`).
///
/// `--remove` stops the service and removes the unit, the binary and /etc/airlock; it keeps the
/// vault and the state in /var/lib/airlock unless `--purge` is given as well.
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct SetupArgs {
    /// Undo the install (keeps /var/lib/airlock: the vault and the state).
    #[arg(long)]
    pub remove: bool,
    /// With --remove: also delete /var/lib/airlock — every snapshot and the audit log. It must be
    /// given twice (`--purge --purge`), on purpose.
    #[arg(long, requires = "remove", action = clap::ArgAction::Count)]
    pub purge: u8,
    /// A unix user (besides root) who administers Airlock: issues tokens, enrolls operators (repeat).
    #[arg(long = "admin", value_name = "USER")]
    pub admins: Vec<String>,
    /// Do not start the service.
    #[arg(long)]
    pub no_start: bool,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Start the service (as root).
    Start,
    /// Stop the service (as root).
    Stop,
    /// Stop, then start (as root).
    Restart,
    /// Whether it runs, as whom, and where.
    Status(JsonOnly),
}

#[derive(Debug, Args)]
pub struct JsonOnly {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[arg(long)]
    pub json: bool,
    /// The project whose agent settings to check (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret; its value is read from stdin (one line) and never shown again.
    Set { name: String },
    /// The stored secrets' names.
    List(JsonOnly),
    /// Delete a secret.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Enroll an operator: prints their authenticator secret (TOTP) once, and, when the approval
    /// page is on, a one-time code that enrolls their passkey there.
    Add {
        name: String,
        /// A unix user (distinct from every agent's) whose own connections also prove this operator.
        #[arg(long, value_name = "USER")]
        unix_user: Option<String>,
        /// No authenticator: the unix user alone proves them.
        #[arg(long, requires = "unix_user")]
        no_totp: bool,
        #[arg(long)]
        json: bool,
    },
    /// The enrolled operators.
    List(JsonOnly),
    /// Remove an operator.
    Remove { name: String },
    /// A new one-time code for an operator to enroll a passkey on the approval page (a new device,
    /// or an operator enrolled before the page was on); an unused older code stops working.
    Enroll {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take the configured backups now (all, or one resource's).
    Run {
        /// A [[backup]] resource name.
        resource: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct SnapshotsArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The snapshot's id (from `airlock snapshots`).
    pub id: String,
    /// Restore here instead of the original location (a path, or for PostgreSQL a database URL).
    #[arg(long, value_name = "PATH")]
    pub to: Option<PathBuf>,
    /// Overwrite data that exists there now.
    #[arg(long)]
    pub force: bool,
    /// PostgreSQL: restore the tables into this schema, beside the originals.
    #[arg(long, value_name = "SCHEMA")]
    pub as_schema: Option<String>,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The action's id (as held, approved and run).
    pub action: String,
    /// Restore beside the originals, into this directory.
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Overwrite data that changed since the snapshot.
    #[arg(long)]
    pub force: bool,
    /// PostgreSQL: restore the tables into this schema, beside the originals.
    #[arg(long, value_name = "SCHEMA")]
    pub as_schema: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Check the vault's structure; with --read-data, decrypt and re-hash every chunk.
    Check {
        #[arg(long)]
        read_data: bool,
        #[arg(long)]
        json: bool,
    },
    /// Delete snapshots beyond the newest N per resource (locked ones always stay), then unused packs.
    Prune {
        #[arg(long, default_value_t = 10)]
        keep_last: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// A shell command line.
    Shell,
    /// SQL (PostgreSQL dialect).
    Sql,
    /// An HTTP request: "METHOD URL", header lines, a blank line, the body; or a JSON object.
    Http,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Shell => "shell",
            Kind::Sql => "sql",
            Kind::Http => "http",
        }
    }
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// What kind of action INPUT is.
    #[arg(value_enum)]
    pub kind: Kind,
    /// The action. Omit it to read JSON lines from stdin.
    pub input: Option<String>,
    /// Print one JSON object instead of the explanation.
    #[arg(long)]
    pub json: bool,
    /// Directory the action runs in (relative paths resolve against it). Default: the current one.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's directory instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Keep everything this instance has (config, policy, state, vault) in DIR.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token; it is printed once and stored only as a hash.
    Create(TokenCreateArgs),
    /// List tokens (ids, never the tokens).
    List(JsonArgs),
    /// Revoke a token by id.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// Who the token is for: the agent, or for --operator the person.
    #[arg(long)]
    pub agent: String,
    /// An environment the token may reach (repeat); none means all.
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// The highest risk it may submit.
    #[arg(long, value_parser = ["read", "write", "destructive"])]
    pub max_risk: Option<String>,
    /// How long it lives (15m, 8h, 30d). Default: forever.
    #[arg(long)]
    pub ttl: Option<String>,
    /// An operator token (alko_…): may approve and deny, never submit-and-approve its own (an
    /// unprivileged instance only: in service mode operators prove themselves otherwise).
    #[arg(long)]
    pub operator: bool,
    /// The unix user that alone may present the token (over the service's socket).
    #[arg(long, value_name = "USER")]
    pub unix_user: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Args, Clone)]
pub struct AuthArgs {
    /// Read the token from this file instead of AIRLOCK_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The held action's id.
    pub id: String,
    /// Approve even though some targets are too large to snapshot (they cannot be undone).
    #[arg(long)]
    pub without_snapshot: bool,
    /// Why (kept in the audit log).
    #[arg(long)]
    pub reason: Option<String>,
    /// Prove yourself with your authenticator's code (service mode); without a value, you are asked.
    #[arg(long, value_name = "CODE", num_args = 0..=1, default_missing_value = "")]
    pub totp: Option<String>,
    /// The operator you are (with --totp; default: your unix user name).
    #[arg(long = "as", value_name = "OPERATOR")]
    pub operator: Option<String>,
    /// Approve: also let this same action through for this agent in this project for this long
    /// (8h, 1d; at most 7d) — a standing grant, made when every approval asks for one.
    #[arg(long = "for", value_name = "DURATION")]
    pub grant_for: Option<String>,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[arg(long)]
    pub json: bool,
    /// Keep printing new entries as they are appended.
    #[arg(long)]
    pub follow: bool,
    /// Only this action's entries.
    #[arg(long, value_name = "ID")]
    pub action: Option<String>,
    /// Check the sealed chain and its checkpoints; exit 1 naming the first entry that was edited,
    /// removed, reordered or cut off.
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate the policy against Airlock's schema.
    Check {
        /// The policy file (default: the configured one).
        file: Option<PathBuf>,
    },
    /// Show the assessment, the resolved environment, the decision and the policies behind it.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    #[arg(value_enum)]
    pub kind: Kind,
    pub input: String,
    /// The agent asking.
    #[arg(long, default_value = "agent")]
    pub agent: String,
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// claude-code, cursor, codex or gemini.
    pub agent: String,
    #[command(flatten)]
    pub auth: AuthArgs,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// claude-code, cursor, codex or gemini.
    #[arg(required_unless_present = "all")]
    pub agent: Option<String>,
    /// Every agent this machine has (its CLI on PATH or its configuration directory present).
    #[arg(long, conflicts_with = "agent")]
    pub all: bool,
    /// The project whose settings to change (default: the current directory).
    #[arg(long, value_name = "DIR", conflicts_with = "user")]
    pub project: Option<PathBuf>,
    /// Change the user's settings instead of a project's.
    #[arg(long)]
    pub user: bool,
    /// Environments the agent's token may reach (repeat; default: the [[agent]] entry's, else all).
    #[arg(long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// As root: the agent's system-wide managed settings, which users cannot override.
    #[arg(long, conflicts_with_all = ["project", "user"])]
    pub system: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The [[resource]] whose credential the command gets (it names cli_env).
    #[arg(long, value_name = "NAME")]
    pub resource: String,
    /// The command and its arguments (after --).
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<String>,
    /// The agent this runs for (service mode without a token).
    #[arg(long)]
    pub agent: Option<String>,
    /// When the command is held, answer at once instead of waiting for the humans.
    #[arg(long)]
    pub no_wait: bool,
    #[command(flatten)]
    pub auth: AuthArgs,
}
