#![allow(dead_code)] // each test binary uses a different part of this module

//! A virtual filesystem for tests: exactly the listed paths exist (directories are the parents of
//! listed paths), so that `>` onto an existing file can be told from `>` onto a new one.

use std::path::{Path, PathBuf};

use airlock_classify::{PathState, World};

pub const CWD: &str = "/work/proj";
pub const HOME: &str = "/home/agent";

pub struct ListedWorld {
    pub files: Vec<PathBuf>,
}

impl World for ListedWorld {
    fn path_state(&self, path: &Path) -> PathState {
        if self.files.iter().any(|f| f == path) {
            PathState::File
        } else if self.files.iter().any(|f| f.starts_with(path)) {
            PathState::Dir
        } else {
            PathState::Missing
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
