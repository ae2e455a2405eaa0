//! A git working tree's uncommitted files — what `git clean -fdx`, `git reset --hard` or a
//! discarding checkout destroys — found by reading the index file, never by running git.
//!
//! Running git in the agent's repository would run whatever the agent wrote into `.git/config`
//! (`core.fsmonitor`, hooks) as Airlock's own user, so the index (format versions 2 to 4) is read
//! here and compared with the files on disk the way git does: a tracked file whose size or mtime
//! differs from its index entry is changed; a file or directory the index does not know is
//! untracked (ignored files included — `clean -x` removes them too).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Entries in an index beyond this are not believed (a hostile or corrupt file).
const MAX_ENTRIES: u32 = 5_000_000;
/// Paths visited in the tree before the walk gives up (what is left is reported, not copied).
pub(crate) const MAX_VISITS: usize = 200_000;

/// One path the action would discard: a changed or untracked file, or an untracked directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discarded {
    /// Relative to the working tree's top.
    pub rel: PathBuf,
    pub bytes: u64,
}

/// The working tree that holds `dir`, and what in it is not safe in git.
#[derive(Debug)]
pub struct Uncommitted {
    pub top: PathBuf,
    pub paths: Vec<Discarded>,
    /// The walk stopped early: more may be discarded than `paths` lists.
    pub truncated: bool,
}

/// Why a tree's uncommitted files could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("{0} is not inside a git working tree")]
    NotARepository(String),
    #[error("the git index of {0} cannot be read: {1}")]
    Index(String, String),
}

/// Lists what in `dir`'s working tree git could not give back: untracked paths and tracked files
/// changed since they were staged. `cap` bounds the bytes counted per untracked directory.
pub fn uncommitted(dir: &Path, cap: u64) -> Result<Uncommitted, WorktreeError> {
    let (top, git_dir) = find_top(dir).ok_or_else(|| WorktreeError::NotARepository(dir.display().to_string()))?;
    let index_file = git_dir.join("index");
    let index = match fs::read(&index_file) {
        Ok(bytes) => parse_index(&bytes).map_err(|e| WorktreeError::Index(top.display().to_string(), e))?,
        // A repository with no commit and nothing staged has no index: everything is untracked.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
        Err(e) => return Err(WorktreeError::Index(top.display().to_string(), e.to_string())),
    };
    let dirs: HashSet<PathBuf> = index
        .keys()
        .flat_map(|p| p.ancestors().skip(1).map(Path::to_path_buf).collect::<Vec<_>>())
        .collect();
    let mut walk = Walk {
        top: &top,
        index: &index,
        dirs: &dirs,
        cap,
        visits: 0,
        out: Vec::new(),
    };
    walk.dir(Path::new(""));
    let truncated = walk.visits > MAX_VISITS;
    Ok(Uncommitted {
        paths: walk.out,
        top,
        truncated,
    })
}

/// The working tree's top and its git directory (a `.git` file points elsewhere, as in linked
/// worktrees and submodules).
fn find_top(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    for d in dir.ancestors() {
        let dot = d.join(".git");
        let Ok(meta) = fs::symlink_metadata(&dot) else { continue };
        if meta.is_dir() {
            return Some((d.to_path_buf(), dot));
        }
        if meta.is_file() {
            let text = fs::read_to_string(&dot).ok()?;
            let target = text.strip_prefix("gitdir:")?.trim();
            return Some((d.to_path_buf(), d.join(target)));
        }
    }
    None
}

/// What the index says about a tracked file: enough to tell whether it changed on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    mtime: u32,
    mtime_nsec: u32,
    size: u32,
}

fn be32(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| "it ends early".to_owned())
}

/// Parses an index file (`DIRC`, versions 2, 3 and 4) into path → stamp.
fn parse_index(b: &[u8]) -> Result<HashMap<PathBuf, Stamp>, String> {
    use std::os::unix::ffi::OsStrExt;
    if b.get(..4) != Some(b"DIRC") {
        return Err("it is not a git index".into());
    }
    let version = be32(b, 4)?;
    if !(2..=4).contains(&version) {
        return Err(format!("index version {version} is not one Airlock reads"));
    }
    let count = be32(b, 8)?;
    if count > MAX_ENTRIES {
        return Err(format!("it claims {count} entries"));
    }
    let mut out = HashMap::with_capacity(count.min(100_000) as usize);
    let mut at = 12usize;
    let mut previous: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = at;
        let stamp = Stamp {
            mtime: be32(b, at + 8)?,
            mtime_nsec: be32(b, at + 12)?,
            size: be32(b, at + 36)?,
        };
        let flags = b
            .get(at + 60..at + 62)
            .map(|s| u16::from_be_bytes([s[0], s[1]]))
            .ok_or("it ends early")?;
        at += 62;
        if version >= 3 && flags & 0x4000 != 0 {
            at += 2;
        }
        let name = if version == 4 {
            let (strip, used) = varint(b.get(at..).ok_or("it ends early")?)?;
            at += used;
            let end = b[at..].iter().position(|&c| c == 0).ok_or("a name has no end")?;
            let keep = previous.len().checked_sub(strip).ok_or("a name strips too much")?;
            let mut name = previous[..keep].to_vec();
            name.extend_from_slice(&b[at..at + end]);
            at += end + 1;
            name
        } else {
            let end = b
                .get(at..)
                .and_then(|rest| rest.iter().position(|&c| c == 0))
                .ok_or("a name has no end")?;
            let name = b[at..at + end].to_vec();
            // Entries are padded with NULs to a multiple of eight bytes.
            at = start + (at - start + end + 8) / 8 * 8;
            name
        };
        // Stages 1–3 (a conflicted merge) name the same path again.
        out.entry(PathBuf::from(std::ffi::OsStr::from_bytes(&name)))
            .or_insert(stamp);
        previous = name;
    }
    Ok(out)
}

/// Git's offset varint (index v4): big-endian groups of seven bits, each continuation adding one.
fn varint(b: &[u8]) -> Result<(usize, usize), String> {
    let mut value: usize = 0;
    for (i, &c) in b.iter().enumerate().take(10) {
        if i > 0 {
            value = value.checked_add(1).ok_or("a varint overflows")?;
        }
        value = value.checked_mul(128).ok_or("a varint overflows")? | usize::from(c & 0x7f);
        if c & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    Err("a varint has no end".into())
}

struct Walk<'a> {
    top: &'a Path,
    index: &'a HashMap<PathBuf, Stamp>,
    dirs: &'a HashSet<PathBuf>,
    cap: u64,
    visits: usize,
    out: Vec<Discarded>,
}

impl Walk<'_> {
    fn dir(&mut self, rel: &Path) {
        let Ok(read) = fs::read_dir(self.top.join(rel)) else {
            return;
        };
        let mut names: Vec<_> = read.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
        names.sort();
        for name in names {
            self.visits += 1;
            if self.visits > MAX_VISITS {
                return;
            }
            if name == ".git" {
                continue;
            }
            let rel = rel.join(&name);
            let Ok(meta) = fs::symlink_metadata(self.top.join(&rel)) else {
                continue;
            };
            if meta.is_dir() {
                if self.dirs.contains(&rel) {
                    self.dir(&rel);
                } else if !self.index.contains_key(&rel) {
                    // A directory git knows nothing under (node_modules/, a new module): one unit.
                    let bytes = crate::snapshots::du(&self.top.join(&rel), self.cap);
                    self.out.push(Discarded { rel, bytes });
                }
            } else if self.changed(&rel, &meta) {
                self.out.push(Discarded { rel, bytes: meta.len() });
            }
        }
    }

    fn changed(&self, rel: &Path, meta: &fs::Metadata) -> bool {
        match self.index.get(rel) {
            None => true,
            // The index keeps 32 bits of each; git compares the same truncated values.
            Some(s) => {
                s.size != meta.size() as u32
                    || s.mtime != meta.mtime() as u32
                    || s.mtime_nsec != meta.mtime_nsec() as u32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &[u8], size: u32, extended: bool) -> Vec<u8> {
        let mut e = vec![0u8; 62];
        e[8..12].copy_from_slice(&7u32.to_be_bytes());
        e[36..40].copy_from_slice(&size.to_be_bytes());
        let mut flags = name.len().min(0xfff) as u16;
        if extended {
            flags |= 0x4000;
        }
        e[60..62].copy_from_slice(&flags.to_be_bytes());
        if extended {
            e.extend_from_slice(&[0, 0]);
        }
        e.extend_from_slice(name);
        let len = e.len();
        e.resize((len + 8) / 8 * 8, 0);
        e
    }

    fn index(version: u32, entries: &[Vec<u8>]) -> Vec<u8> {
        let mut b = b"DIRC".to_vec();
        b.extend_from_slice(&version.to_be_bytes());
        b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            b.extend_from_slice(e);
        }
        b
    }

    #[test]
    fn version_two_and_three_entries_parse_with_their_padding() {
        let b = index(3, &[entry(b"a.txt", 5, false), entry(b"src/main.rs", 99, true)]);
        let parsed = parse_index(&b).unwrap();
        assert_eq!(parsed[Path::new("a.txt")].size, 5);
        assert_eq!(parsed[Path::new("src/main.rs")].size, 99);
        assert_eq!(parsed[Path::new("src/main.rs")].mtime, 7);
    }

    #[test]
    fn version_four_names_share_prefixes() {
        let mut b = index(4, &[]);
        b[8..12].copy_from_slice(&2u32.to_be_bytes());
        for (strip, suffix) in [(0u8, &b"src/a.rs"[..]), (4, b"b.rs")] {
            b.extend_from_slice(&[0u8; 62]);
            b.push(strip);
            b.extend_from_slice(suffix);
            b.push(0);
        }
        let parsed = parse_index(&b).unwrap();
        assert!(parsed.contains_key(Path::new("src/a.rs")) && parsed.contains_key(Path::new("src/b.rs")));
    }

    #[test]
    fn a_hostile_index_is_an_error_not_a_panic() {
        assert!(parse_index(b"DIRC").is_err());
        assert!(parse_index(&index(9, &[])).is_err());
        let mut huge = index(2, &[]);
        huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_index(&huge).is_err());
        let mut cut = index(2, &[entry(b"a", 1, false)]);
        cut.truncate(40);
        cut[8..12].copy_from_slice(&1u32.to_be_bytes());
        assert!(parse_index(&cut).is_err());
        let mut v4 = index(4, &[]);
        v4[8..12].copy_from_slice(&1u32.to_be_bytes());
        v4.extend_from_slice(&[0u8; 62]);
        v4.extend_from_slice(&[9, b'x', 0]);
        assert!(parse_index(&v4).is_err(), "strips more than the previous name");
    }

    fn git(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn a_real_repository_lists_what_git_would_discard_in_every_index_version() {
        for version in ["2", "3", "4"] {
            let top = std::env::temp_dir().join(format!("airlock-worktree-{}-{version}", std::process::id()));
            let _ = fs::remove_dir_all(&top);
            fs::create_dir_all(top.join("src/deep")).unwrap();
            fs::write(top.join("src/deep/kept.rs"), "same").unwrap();
            fs::write(top.join("src/edited.rs"), "before").unwrap();
            fs::write(top.join(".gitignore"), "target/\n").unwrap();
            git(&top, &["init", "-q"]);
            git(&top, &["add", "."]);
            git(&top, &["commit", "-qm", "one"]);
            git(&top, &["update-index", "--index-version", version]);
            fs::write(top.join("src/edited.rs"), "after, longer").unwrap();
            fs::create_dir_all(top.join("target/debug")).unwrap();
            fs::write(top.join("target/debug/bin"), "x".repeat(100)).unwrap();
            fs::write(top.join("src/new.rs"), "new").unwrap();
            let found = uncommitted(&top.join("src"), 1 << 20).unwrap();
            let mut listed: Vec<_> = found
                .paths
                .iter()
                .map(|d| (d.rel.display().to_string(), d.bytes))
                .collect();
            listed.sort();
            assert_eq!(
                listed,
                [
                    ("src/edited.rs".to_owned(), 13),
                    ("src/new.rs".to_owned(), 3),
                    ("target".to_owned(), 100)
                ],
                "index version {version}"
            );
            assert_eq!(found.top, top);
            fs::remove_dir_all(&top).unwrap();
        }
        assert!(matches!(
            uncommitted(Path::new("/proc/self"), 1),
            Err(WorktreeError::NotARepository(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_after_the_header_parse_or_fail_cleanly(version in 2u32..=4, count in 0u32..50, tail in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let mut b = index(version, &[]);
            b[8..12].copy_from_slice(&count.to_be_bytes());
            b.extend_from_slice(&tail);
            let _ = parse_index(&b);
        }
    }
}
