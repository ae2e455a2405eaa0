//! The classifier's window on the real filesystem: whether a path exists (to tell an overwrite
//! from a new file), the content of scripts an action runs, whether git can restore a path, and
//! which program an executable really is.
//!
//! Nothing here runs a program: git's answer is read from the index file itself, because running
//! `git status` in the agent's repository would run whatever that repository configures
//! (`core.fsmonitor`, clean filters) with Airlock's rights. Every walk and read is bounded.

use std::fs;
use std::io::Read;
use std::path::Path;

use airlock_classify::{GitState, PathState, World, MAX_INPUT_BYTES};

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

    fn git_state(&self, path: &Path) -> GitState {
        git_index::state(path)
    }

    fn program_identity(&self, path: &Path) -> Option<String> {
        programs::identity(path)
    }
}

/// Whether git can restore a path, read from the repository's index (formats 2 to 4).
mod git_index {
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};

    use airlock_classify::GitState;

    /// Files a directory may hold for it to be judged; a bigger tree is not walked.
    const MAX_FILES: usize = 20_000;
    /// An index larger than this is not read.
    const MAX_INDEX: u64 = 64 * 1024 * 1024;
    /// Files larger than this are not hashed when their timestamps disagree with the index.
    const MAX_HASH: u64 = 16 * 1024 * 1024;

    struct Entry {
        mtime: (u32, u32),
        size: u32,
        sha: [u8; 20],
        mode: u32,
    }

    pub(super) fn state(path: &Path) -> GitState {
        let Some((root, index)) = repository(path) else {
            return GitState::Unknown;
        };
        let Some(entries) = read_index(&index) else {
            return GitState::Unknown;
        };
        if path.strip_prefix(&root).is_err() {
            return GitState::Unknown;
        }
        let Ok(meta) = fs::symlink_metadata(path) else {
            return GitState::Unknown;
        };
        let mut files = Vec::new();
        if meta.is_dir() {
            if !walk(path, &mut files) {
                return GitState::Unknown;
            }
        } else {
            files.push(path.to_path_buf());
        }
        if files.is_empty() {
            return GitState::Unknown;
        }
        for f in files {
            let Ok(r) = f.strip_prefix(&root) else {
                return GitState::Dirty;
            };
            let key = r.to_string_lossy().into_owned();
            match entries.binary_search_by(|(p, _)| p.as_str().cmp(&key)) {
                Ok(i) if clean(&f, &entries[i].1) => {}
                _ => return GitState::Dirty,
            }
        }
        GitState::Clean
    }

    /// The work tree's root and its index file: `.git` as a directory, or a worktree's `.git`
    /// file pointing to its git directory.
    fn repository(path: &Path) -> Option<(PathBuf, PathBuf)> {
        let mut dir = if path.is_dir() { path } else { path.parent()? };
        for _ in 0..64 {
            let dot = dir.join(".git");
            if let Ok(m) = fs::symlink_metadata(&dot) {
                if m.is_dir() {
                    return Some((dir.to_path_buf(), dot.join("index")));
                }
                let text = fs::read_to_string(&dot).ok()?;
                let gitdir = text.strip_prefix("gitdir:")?.trim();
                return Some((dir.to_path_buf(), dir.join(gitdir).join("index")));
            }
            dir = dir.parent()?;
        }
        None
    }

    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> bool {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = fs::read_dir(&d) else { return false };
            for e in rd.flatten() {
                let Ok(t) = e.file_type() else { return false };
                if t.is_dir() {
                    if e.file_name() == ".git" {
                        return false;
                    }
                    stack.push(e.path());
                } else {
                    out.push(e.path());
                }
                if out.len() > MAX_FILES {
                    return false;
                }
            }
        }
        true
    }

    fn clean(path: &Path, e: &Entry) -> bool {
        let Ok(m) = fs::symlink_metadata(path) else {
            return false;
        };
        if !m.is_file() || e.mode & 0o170000 != 0o100000 {
            return false;
        }
        // git's own shortcut: same size and modification time means unchanged.
        if m.size() as u32 == e.size && (m.mtime() as u32, m.mtime_nsec() as u32) == e.mtime {
            return true;
        }
        if m.size() > MAX_HASH {
            return false;
        }
        let Ok(data) = fs::read(path) else { return false };
        let mut blob = format!("blob {}\0", data.len()).into_bytes();
        blob.extend_from_slice(&data);
        super::sha1::digest(&blob) == e.sha
    }

    fn read_index(path: &Path) -> Option<Vec<(String, Entry)>> {
        if fs::metadata(path).ok()?.len() > MAX_INDEX {
            return None;
        }
        let data = fs::read(path).ok()?;
        if data.get(..4)? != b"DIRC" {
            return None;
        }
        let be = |at: usize| -> Option<u32> { Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?)) };
        let version = be(4)?;
        if !(2..=4).contains(&version) {
            return None;
        }
        let count = be(8)? as usize;
        let mut at = 12;
        let mut out = Vec::with_capacity(count.min(1 << 20));
        let mut previous = String::new();
        for _ in 0..count {
            let start = at;
            let entry = Entry {
                mtime: (be(at + 8)?, be(at + 12)?),
                mode: be(at + 24)?,
                size: be(at + 36)?,
                sha: data.get(at + 40..at + 60)?.try_into().ok()?,
            };
            let flags = u16::from_be_bytes(data.get(at + 60..at + 62)?.try_into().ok()?);
            at += 62;
            if version >= 3 && flags & 0x4000 != 0 {
                at += 2;
            }
            let name = if version == 4 {
                // The path is the previous one with N bytes removed and a new suffix.
                let (strip, used) = varint(data.get(at..)?)?;
                at += used;
                let end = at + data.get(at..)?.iter().position(|&b| b == 0)?;
                let keep = previous.len().checked_sub(strip)?;
                let name = format!("{}{}", previous.get(..keep)?, String::from_utf8_lossy(&data[at..end]));
                at = end + 1;
                name
            } else {
                let end = at + data.get(at..)?.iter().position(|&b| b == 0)?;
                let name = String::from_utf8_lossy(&data[at..end]).into_owned();
                // Entries are padded with NULs to a multiple of eight bytes.
                at = start + (end - start + 8) / 8 * 8;
                name
            };
            previous.clone_from(&name);
            out.push((name, entry));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Some(out)
    }

    fn varint(b: &[u8]) -> Option<(usize, usize)> {
        let mut i = 0;
        let mut value = (*b.first()? & 0x7f) as usize;
        while b.get(i)? & 0x80 != 0 {
            i += 1;
            value = ((value + 1) << 7) | (*b.get(i)? & 0x7f) as usize;
            if i > 8 {
                return None;
            }
        }
        Some((value, i + 1))
    }
}

/// Which program an executable really is: the target of its symlinks, or the program on the
/// standard PATH directories whose content it copies byte for byte.
mod programs {
    use std::collections::HashMap;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    const PATH_DIRS: [&str; 6] = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    /// Executables larger than this are not compared.
    const MAX_COMPARE: u64 = 64 * 1024 * 1024;

    pub(super) fn identity(path: &Path) -> Option<String> {
        let name = path.file_name()?.to_string_lossy().into_owned();
        let real = fs::canonicalize(path).ok()?;
        let real_name = real.file_name()?.to_string_lossy().into_owned();
        if real_name != name {
            return Some(real_name);
        }
        let meta = fs::metadata(&real).ok()?;
        if !meta.is_file() || meta.len() > MAX_COMPARE || meta.len() == 0 {
            return None;
        }
        let candidates = by_size().get(&meta.len())?;
        let content = fs::read(&real).ok()?;
        candidates
            .iter()
            .filter(|c| c.as_path() != real.as_path())
            .find(|c| fs::read(c).is_ok_and(|other| other == content))
            .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
    }

    /// The programs on the standard PATH, by size, listed once per process.
    fn by_size() -> &'static HashMap<u64, Vec<PathBuf>> {
        static INDEX: OnceLock<HashMap<u64, Vec<PathBuf>>> = OnceLock::new();
        INDEX.get_or_init(|| {
            let mut map: HashMap<u64, Vec<PathBuf>> = HashMap::new();
            for dir in PATH_DIRS {
                for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                    if let Ok(m) = fs::symlink_metadata(e.path()) {
                        if m.is_file() {
                            map.entry(m.len()).or_default().push(e.path());
                        }
                    }
                }
            }
            map
        })
    }
}

/// SHA-1, to compare a file with its blob id in the git index (not for security).
mod sha1 {
    pub(super) fn digest(data: &[u8]) -> [u8; 20] {
        let mut h: [u32; 5] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0];
        let mut msg = data.to_vec();
        let bits = (data.len() as u64).wrapping_mul(8);
        msg.push(0x80);
        while msg.len() % 64 != 56 {
            msg.push(0);
        }
        msg.extend_from_slice(&bits.to_be_bytes());
        for chunk in msg.chunks(64) {
            let mut w = [0u32; 80];
            for (i, word) in chunk.chunks(4).enumerate() {
                w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            }
            for i in 16..80 {
                w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
            }
            let [mut a, mut b, mut c, mut d, mut e] = h;
            for (i, wi) in w.iter().enumerate() {
                let (f, k) = match i {
                    0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                    20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                    40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                    _ => (b ^ c ^ d, 0xCA62_C1D6),
                };
                let t = a
                    .rotate_left(5)
                    .wrapping_add(f)
                    .wrapping_add(e)
                    .wrapping_add(k)
                    .wrapping_add(*wi);
                e = d;
                d = c;
                c = b.rotate_left(30);
                b = a;
                a = t;
            }
            for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
                *x = x.wrapping_add(y);
            }
        }
        let mut out = [0u8; 20];
        for (i, x) in h.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn sha1_matches_known_vectors() {
        let hex = |d: [u8; 20]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(hex(sha1::digest(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex(sha1::digest(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn git_state_tells_tracked_unmodified_from_modified_and_untracked() {
        let dir = std::env::temp_dir().join(format!("airlock-world-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(dir.join("src/a.rs"), "fn a() {}\n").unwrap();
        fs::write(dir.join("src/b.rs"), "fn b() {}\n").unwrap();
        let git = |args: &[&str]| {
            Command::new("git")
                .args(["-c", "user.email=t@t", "-c", "user.name=t"])
                .args(args)
                .current_dir(&dir)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        };
        if !git(&["init", "-q"]) {
            return; // no git on this machine: nothing to compare with
        }
        assert!(git(&["add", "."]) && git(&["commit", "-qm", "x"]));
        assert_eq!(FsWorld.git_state(&dir.join("src/a.rs")), GitState::Clean);
        assert_eq!(FsWorld.git_state(&dir.join("src")), GitState::Clean);
        fs::write(dir.join("src/b.rs"), "fn b() { changed() }\n").unwrap();
        assert_eq!(FsWorld.git_state(&dir.join("src/b.rs")), GitState::Dirty);
        fs::write(dir.join("src/new.rs"), "").unwrap();
        assert_eq!(FsWorld.git_state(&dir.join("src/new.rs")), GitState::Dirty);
        assert_eq!(FsWorld.git_state(&dir.join("src")), GitState::Dirty);
        assert_eq!(FsWorld.git_state(Path::new("/proc/self")), GitState::Unknown);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn program_identity_sees_copies_and_links() {
        let Some(rm) = ["/bin/rm", "/usr/bin/rm"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())
        else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("airlock-prog-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::copy(rm, dir.join("cleanup")).unwrap();
        std::os::unix::fs::symlink(rm, dir.join("tidy")).unwrap();
        assert_eq!(FsWorld.program_identity(&dir.join("cleanup")).as_deref(), Some("rm"));
        assert_eq!(FsWorld.program_identity(&dir.join("tidy")).as_deref(), Some("rm"));
        fs::write(dir.join("mine"), "#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(FsWorld.program_identity(&dir.join("mine")), None);
        let _ = fs::remove_dir_all(&dir);
    }
}
