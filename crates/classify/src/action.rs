use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Which language an action's payload is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    /// A shell command line, as an agent's shell tool would run it.
    Shell,
    /// SQL text (PostgreSQL dialect), one or several statements.
    Sql,
    /// An HTTP request: `METHOD URL`, header lines, a blank line, the body; or a JSON object with
    /// `method`, `url`, `headers` and `body`.
    Http,
    /// An agent tool call other than a shell command (an MCP tool, a file write): JSON
    /// `{"name": "...", "arguments": {...}}`.
    Tool,
}

/// What an agent wants to do, as far as classification needs to know.
#[derive(Clone, Debug)]
pub struct Action {
    pub kind: ActionKind,
    pub input: String,
    /// Where relative paths in the action are resolved. Without it, relative paths stay relative.
    pub cwd: Option<PathBuf>,
    /// What `~` means. Without it, `~` stays as written.
    pub home: Option<PathBuf>,
    /// Extra paths the action must not modify (Airlock's own state, vault, config), on top of the
    /// built-in list of agent hook settings files.
    pub protected_paths: Vec<PathBuf>,
}

impl Action {
    pub fn new(kind: ActionKind, input: impl Into<String>) -> Action {
        Action {
            kind,
            input: input.into(),
            cwd: None,
            home: None,
            protected_paths: Vec::new(),
        }
    }

    pub fn shell(input: impl Into<String>) -> Action {
        Action::new(ActionKind::Shell, input)
    }

    pub fn sql(input: impl Into<String>) -> Action {
        Action::new(ActionKind::Sql, input)
    }

    pub fn http(input: impl Into<String>) -> Action {
        Action::new(ActionKind::Http, input)
    }

    #[must_use]
    pub fn with_cwd(mut self, cwd: impl Into<PathBuf>) -> Action {
        self.cwd = Some(cwd.into());
        self
    }

    #[must_use]
    pub fn with_home(mut self, home: impl Into<PathBuf>) -> Action {
        self.home = Some(home.into());
        self
    }

    #[must_use]
    pub fn with_protected_path(mut self, path: impl Into<PathBuf>) -> Action {
        self.protected_paths.push(path.into());
        self
    }
}

/// What is at a path, as far as the caller could tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathState {
    Missing,
    File,
    Dir,
    /// The caller could not or did not look. Overwrites of such paths count as destructive.
    Unknown,
}

/// The classifier's only window on the outside world, supplied by the caller.
///
/// `airlock-classify` does no I/O itself: a caller that can look at the filesystem (the CLI, a hook)
/// passes an implementation that does, and a caller that cannot passes [`NoWorld`], in which case the
/// classifier assumes the worst (an overwritten path may exist; a script's content is unknown).
pub trait World {
    /// What is at `path` (absolute when the action had a cwd).
    fn path_state(&self, _path: &Path) -> PathState {
        PathState::Unknown
    }

    /// The text of a script the action runs, if the caller can and will read it.
    fn read_script(&self, _path: &Path) -> Option<String> {
        None
    }

    /// Whether git can give back what is at `path` exactly as it is now: a file tracked and
    /// unmodified, or a directory holding only such files. Deleting it then loses nothing that
    /// `git checkout` cannot restore.
    fn git_state(&self, _path: &Path) -> GitState {
        GitState::Unknown
    }

    /// The program on the machine's PATH that the executable at `path` really is, by name, when it
    /// is a link to or a copy of one (`./cleanup` copied from `/bin/rm` is `rm`).
    fn program_identity(&self, _path: &Path) -> Option<String> {
        None
    }
}

/// What git knows about a path (see [`World::git_state`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitState {
    /// Tracked and unmodified: git can restore it.
    Clean,
    /// Untracked, ignored, modified, or holding any such file.
    Dirty,
    /// Not in a repository, or the caller could not tell.
    Unknown,
}

/// A world the classifier cannot see into.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoWorld;

impl World for NoWorld {}
