//! The classifier's window on the real filesystem: whether a path exists (to tell an overwrite
//! from a new file) and the content of scripts an action runs.

use std::fs;
use std::io::Read;
use std::path::Path;

use airlock_classify::{PathState, World, MAX_INPUT_BYTES};

pub struct FsWorld;

impl World for FsWorld {
    fn path_state(&self, path: &Path) -> PathState {
        // symlink_metadata: a dangling symlink is still something an overwrite replaces.
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => PathState::Dir,
            Ok(_) => PathState::File,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => PathState::Missing,
            Err(_) => PathState::Unknown,
        }
    }

    fn read_script(&self, path: &Path) -> Option<String> {
        let file = fs::File::open(path).ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        let mut text = String::new();
        // A script too large to read in full is judged by name only, never by a prefix.
        let read = file.take(MAX_INPUT_BYTES as u64 + 1).read_to_string(&mut text).ok()?;
        (read <= MAX_INPUT_BYTES).then_some(text)
    }
}
