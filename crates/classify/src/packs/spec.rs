//! The on-disk shape of rule packs (see `packs/README.md`). Unknown keys are errors, so that a typo in a
//! pack fails the build's tests instead of silently weakening a rule.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PackFile {
    #[serde(default)]
    pub tool: Vec<ToolSpec>,
    #[serde(default)]
    pub wrapper: Vec<WrapperSpec>,
    #[serde(default)]
    pub api: Vec<ApiSpec>,
    #[serde(default)]
    pub command: Vec<KeywordSpec>,
    #[serde(default)]
    pub function: Vec<KeywordSpec>,
    #[serde(default)]
    pub mutation: Vec<KeywordSpec>,
    #[serde(default)]
    pub verbs: Option<VerbsSpec>,
    #[serde(default)]
    pub regenerable: Vec<RegenSpec>,
    #[serde(default)]
    pub example: Vec<ExampleSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ToolSpec {
    pub names: Vec<String>,
    #[serde(default = "default_write")]
    pub default: String,
    #[serde(default)]
    pub value_flags: Vec<String>,
    /// Flags that never take a separate value, whatever the converted Fig grammar says.
    #[serde(default)]
    pub switches: Vec<String>,
    #[serde(default)]
    pub short_clusters: Option<bool>,
    #[serde(default)]
    pub target_flags: BTreeMap<String, String>,
    #[serde(default)]
    pub kv_targets: BTreeMap<String, String>,
    /// Keys of positional `KEY=VALUE` words whose value is a file the tool overwrites (`dd of=`).
    #[serde(default)]
    pub kv_overwrite: Vec<String>,
    #[serde(default)]
    pub rule: Vec<RuleSpec>,
}

fn default_write() -> String {
    "write".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSpec {
    #[serde(default)]
    pub sub: Vec<String>,
    #[serde(default)]
    pub flags_any: Vec<String>,
    #[serde(default)]
    pub flags_all: Vec<String>,
    #[serde(default)]
    pub flags_none: Vec<String>,
    #[serde(default)]
    pub args_any: Vec<String>,
    #[serde(default)]
    pub any_word: Vec<String>,
    pub risk: String,
    pub reason: String,
    #[serde(default)]
    pub targets: Option<String>,
    #[serde(default)]
    pub skip: usize,
    #[serde(default)]
    pub overwrite: Option<String>,
    /// The rule's targets are deleted: when every one is regenerable or git can restore it, the
    /// rule counts as a write.
    #[serde(default)]
    pub deletes: bool,
    /// The rule discards a working tree's uncommitted files (`git clean -f`, `git reset --hard`):
    /// the tree (the `-C DIR` value, else the cwd) becomes a `worktree` target, so the snapshot
    /// copies its untracked and changed files.
    #[serde(default)]
    pub worktree: bool,
    /// Targets the rule always names, as `"kind:value"` (`compose down -v` names the project's
    /// volumes): what no argument spells out still reaches the approver.
    #[serde(default)]
    pub implies: Vec<String>,
    /// When this rule matches, its risk is the verdict whatever else matches (a tool's own dry
    /// run: `git push -n`, `wal-g delete` without `--confirm`).
    #[serde(default)]
    pub overrides: bool,
}

/// Paths whose deletion the toolchain undoes (see `packs/regenerable.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RegenSpec {
    pub names: Vec<String>,
    #[serde(default)]
    pub beside: Vec<String>,
    #[serde(default)]
    pub home: bool,
    pub reason: String,
}

/// A program that runs another program: `sudo`, `timeout 5`, `ssh HOST`, `kubectl exec POD --`…
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WrapperSpec {
    pub names: Vec<String>,
    /// Words after the program name that select this wrapper (`["exec"]` for `docker exec`).
    #[serde(default)]
    pub sub: Vec<String>,
    #[serde(default)]
    pub value_flags: Vec<String>,
    /// Positionals between the options and the wrapped command (`timeout DURATION`, `ssh HOST`).
    #[serde(default)]
    pub skip: usize,
    /// Target kind of the skipped positionals (`host` for ssh, `container` for docker exec).
    #[serde(default)]
    pub skip_kind: Option<String>,
    /// `argv`: the rest is a command and its arguments; `shell`: the rest is joined and parsed as a
    /// shell command line (ssh, watch).
    #[serde(default = "default_argv")]
    pub mode: String,
    /// Leading `NAME=VALUE` words are environment assignments (env).
    #[serde(default)]
    pub assignments: bool,
    /// Flags after which the wrapper only prints or queries, running nothing (`command -v`).
    #[serde(default)]
    pub read_flags: Vec<String>,
    /// Flags whose value is itself a shell command line (`su -c`, `env -S`).
    #[serde(default)]
    pub shell_flags: Vec<String>,
    #[serde(default)]
    pub target_flags: BTreeMap<String, String>,
    /// The wrapped command reads its arguments from stdin (xargs): they are unknown.
    #[serde(default)]
    pub stdin_args: bool,
    /// Flags whose value mounts a host path into the command's world (`docker run -v HOST:CTR`).
    #[serde(default)]
    pub mount_flags: Vec<String>,
}

fn default_argv() -> String {
    "argv".to_owned()
}

/// A call in an interpreter one-liner (`shutil.rmtree`, `fs.rmSync`, `system`…).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApiSpec {
    pub langs: Vec<String>,
    pub names: Vec<String>,
    /// `risk`: the call has the rule's risk; `shell`/`sql`: its first string argument is a shell
    /// command / SQL to classify; `code`: its argument is code in the same language; `filter`:
    /// destructive with an empty filter argument (`deleteMany({})`), else the rule's risk;
    /// `command`: its argument is a command document whose first key names the operation
    /// (`runCommand({dropDatabase: 1})`), judged like a call of that name.
    #[serde(default = "default_effect")]
    pub effect: String,
    #[serde(default = "default_write")]
    pub risk: String,
    pub reason: String,
    /// Target kind of the first string argument (`path` for file deletions).
    #[serde(default)]
    pub targets: Option<String>,
}

fn default_effect() -> String {
    "risk".to_owned()
}

/// A keyword with a risk: a Redis command, a SQL function, a GraphQL mutation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeywordSpec {
    pub names: Vec<String>,
    pub risk: String,
    pub reason: String,
    /// SQL functions only: the dialects that have it built in (all when empty).
    #[serde(default)]
    pub dialects: Vec<String>,
}

/// Words that make an API operation name destructive (`volumeDelete`, `delete_users`, `/purge`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VerbsSpec {
    pub destructive: Vec<String>,
    /// Extra words that make an unknown program's subcommand destructive.
    #[serde(default)]
    pub subcommand: Vec<String>,
    /// Boolean arguments that, when true, make any mutation destructive (`force: true`).
    #[serde(default)]
    pub destructive_flags: Vec<String>,
}

/// A command and the risk the whole classifier must give it; run by the pack tests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleSpec {
    pub cmd: String,
    pub risk: String,
    #[serde(default)]
    pub targets: Vec<String>,
}
