#![allow(dead_code)] // each test binary uses a different part of this module

//! A virtual filesystem for tests: exactly the listed paths exist (directories are the parents of
//! listed paths), so that `>` onto an existing file can be told from `>` onto a new one.

use std::path::{Path, PathBuf};

use std::collections::HashMap;

use airlock_classify::{GitState, PathState, World};

pub const CWD: &str = "/work/proj";
pub const HOME: &str = "/home/agent";

pub struct ListedWorld {
    pub files: Vec<PathBuf>,
}

impl ListedWorld {
    pub fn new(files: Vec<PathBuf>) -> ListedWorld {
        ListedWorld { files }
    }
}

impl World for ListedWorld {
    fn path_state(&self, path: &Path) -> PathState {
        listed_state(&self.files, path)
    }
}

fn listed_state(files: &[PathBuf], path: &Path) -> PathState {
    if files.iter().any(|f| f == path) {
        PathState::File
    } else if files.iter().any(|f| f.starts_with(path)) {
        PathState::Dir
    } else {
        PathState::Missing
    }
}

/// A case's world: the listed paths exist (`exists`, `files` with their content, `git_clean`),
/// `files` are readable, and `git_clean` paths are tracked and unmodified (every other existing
/// file is untracked or modified).
pub struct CaseWorld {
    pub exists: Vec<PathBuf>,
    pub files: HashMap<String, String>,
    pub git_clean: Vec<PathBuf>,
}

impl CaseWorld {
    fn all(&self) -> Vec<PathBuf> {
        self.exists
            .iter()
            .cloned()
            .chain(self.files.keys().map(PathBuf::from))
            .chain(self.git_clean.iter().cloned())
            .collect()
    }
}

impl World for CaseWorld {
    fn path_state(&self, path: &Path) -> PathState {
        listed_state(&self.all(), path)
    }

    fn read_script(&self, path: &Path) -> Option<String> {
        self.files.get(path.to_str()?).cloned()
    }

    fn git_state(&self, path: &Path) -> GitState {
        let inside: Vec<PathBuf> = self.all().into_iter().filter(|f| f.starts_with(path)).collect();
        if self.git_clean.is_empty() || inside.is_empty() {
            return GitState::Unknown;
        }
        if inside.iter().all(|f| self.git_clean.contains(f)) {
            GitState::Clean
        } else {
            GitState::Dirty
        }
    }
}

/// Whether an expected `kind:value` target (kind `any` matches every kind) is among `actual`.
pub fn has_target(actual: &[airlock_classify::Target], expected: &str) -> bool {
    let (kind, value) = expected.split_once(':').unwrap_or(("any", expected));
    actual
        .iter()
        .any(|t| t.value == value && (kind == "any" || t.kind.as_str() == kind))
}
