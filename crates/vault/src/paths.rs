//! Files and directory trees: captured with modes, mtimes and symlinks, restored in place or
//! elsewhere. File names are bytes, so non-UTF-8 names survive the round trip.

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use crate::chunks::ChunkWriter;
use crate::error::{io, VaultError};
use crate::manifest::{hex, unhex, Entry, EntryKind};

const MIN: u32 = 512 * 1024;
const AVG: u32 = 1024 * 1024;
const MAX: u32 = 4 * 1024 * 1024;
/// Files up to this size are read whole and chunked in memory; larger ones are streamed.
const WHOLE_FILE: u64 = 128 * 1024 * 1024;

/// Walks `root` (without following symlinks) and stores every file's content.
pub(crate) fn capture(root: &Path, writer: &mut ChunkWriter<'_>) -> Result<(Vec<Entry>, u64), VaultError> {
    capture_selected(root, vec![PathBuf::new()], writer)
}

/// Stores the chosen paths under `root` (relative; a directory brings its whole tree), and nothing
/// else: a working tree's untracked and changed files, without what git already keeps.
pub(crate) fn capture_selected(
    root: &Path,
    mut chosen: Vec<PathBuf>,
    writer: &mut ChunkWriter<'_>,
) -> Result<(Vec<Entry>, u64), VaultError> {
    if let Some(bad) = chosen
        .iter()
        .find(|p| p.is_absolute() || p.components().any(|c| matches!(c, std::path::Component::ParentDir)))
    {
        return Err(VaultError::Invalid(format!(
            "{} is not a path under {}",
            bad.display(),
            root.display()
        )));
    }
    let mut entries = Vec::new();
    let mut bytes = 0;
    chosen.sort();
    chosen.reverse();
    let mut stack = chosen;
    while let Some(rel) = stack.pop() {
        let full = if rel.as_os_str().is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        let meta = fs::symlink_metadata(&full).map_err(io(format!("cannot read {}", full.display())))?;
        let mut entry = Entry {
            path_hex: hex(rel.as_os_str().as_bytes()),
            kind: EntryKind::File,
            mode: meta.permissions().mode() & 0o7777,
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec() as u32,
            uid: Some(meta.uid()),
            gid: Some(meta.gid()),
            size: 0,
            chunks: Vec::new(),
            target_hex: None,
        };
        if meta.file_type().is_symlink() {
            entry.kind = EntryKind::Symlink;
            let target = fs::read_link(&full).map_err(io(format!("cannot read the link {}", full.display())))?;
            entry.target_hex = Some(hex(target.as_os_str().as_bytes()));
        } else if meta.is_dir() {
            entry.kind = EntryKind::Dir;
            let mut children: Vec<PathBuf> = fs::read_dir(&full)
                .map_err(io(format!("cannot list {}", full.display())))?
                .map(|e| e.map(|e| rel.join(e.file_name())))
                .collect::<Result<_, _>>()
                .map_err(io(format!("cannot list {}", full.display())))?;
            children.sort();
            children.reverse();
            stack.extend(children);
        } else if meta.is_file() {
            let file = fs::File::open(&full).map_err(io(format!("cannot read {}", full.display())))?;
            entry.size = meta.len();
            bytes += meta.len();
            if meta.len() <= u64::from(MIN) {
                let mut data = Vec::with_capacity(meta.len() as usize);
                file.take(u64::from(MAX))
                    .read_to_end(&mut data)
                    .map_err(io(format!("cannot read {}", full.display())))?;
                if !data.is_empty() {
                    entry.chunks.push(writer.add(&data)?);
                }
            } else if meta.len() <= WHOLE_FILE {
                // Read at once and cut in place: the streaming chunker copies and shifts its buffer
                // for every chunk, which costs more than the chunking itself.
                let mut data = Vec::with_capacity(meta.len() as usize);
                file.take(WHOLE_FILE + 1)
                    .read_to_end(&mut data)
                    .map_err(io(format!("cannot read {}", full.display())))?;
                let data = std::sync::Arc::new(data);
                for c in fastcdc::v2020::FastCDC::new(&data, MIN, AVG, MAX) {
                    entry
                        .chunks
                        .push(writer.add_range(&data, c.offset..c.offset + c.length)?);
                }
            } else {
                for chunk in fastcdc::v2020::StreamCDC::new(file, MIN, AVG, MAX) {
                    let chunk =
                        chunk.map_err(|e| VaultError::Invalid(format!("cannot read {}: {e:?}", full.display())))?;
                    entry.chunks.push(writer.add(&chunk.data)?);
                }
            }
        } else {
            // Sockets, fifos and devices hold no data to keep.
            continue;
        }
        entries.push(entry);
    }
    Ok((entries, bytes))
}

fn rel_path(e: &Entry) -> Result<PathBuf, VaultError> {
    let bytes = unhex(&e.path_hex).ok_or_else(|| VaultError::Invalid("a manifest entry has a bad name".into()))?;
    let p = PathBuf::from(OsStr::from_bytes(&bytes));
    if p.is_absolute() || p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(VaultError::Invalid(format!(
            "a manifest entry escapes its root: {}",
            p.display()
        )));
    }
    Ok(p)
}

/// Restores entries under `root`. Refuses to overwrite an existing path unless `force`.
pub(crate) fn restore(
    entries: &[Entry],
    root: &Path,
    force: bool,
    read: &dyn Fn(&str) -> Result<Vec<u8>, VaultError>,
) -> Result<(), VaultError> {
    if !force && fs::symlink_metadata(root).is_ok() {
        let empty_dir = fs::read_dir(root).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty_dir {
            return Err(VaultError::WouldClobber(root.display().to_string()));
        }
    }
    let mut dirs = Vec::new();
    for e in entries {
        let rel = rel_path(e)?;
        let target = if rel.as_os_str().is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(io(format!("cannot create {}", parent.display())))?;
        }
        match e.kind {
            EntryKind::Dir => {
                fs::create_dir_all(&target).map_err(io(format!("cannot create {}", target.display())))?;
                dirs.push((target, e));
            }
            EntryKind::Symlink => {
                let t = e
                    .target_hex
                    .as_deref()
                    .and_then(unhex)
                    .ok_or_else(|| VaultError::Invalid("a symlink without a target".into()))?;
                if force {
                    let _ = fs::remove_file(&target);
                }
                std::os::unix::fs::symlink(OsStr::from_bytes(&t), &target)
                    .map_err(io(format!("cannot create the link {}", target.display())))?;
                set_owner(&target, e)?;
            }
            EntryKind::File => {
                // Every chunk is read (and authenticated) before the file is touched.
                let mut data = Vec::with_capacity(e.size as usize);
                for c in &e.chunks {
                    data.extend_from_slice(&read(c)?);
                }
                let tmp = target.with_file_name(format!(
                    ".{}.airlock-restore",
                    target.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
                ));
                fs::write(&tmp, &data).map_err(io(format!("cannot write {}", tmp.display())))?;
                set_owner(&tmp, e)?;
                fs::set_permissions(&tmp, fs::Permissions::from_mode(e.mode))
                    .map_err(io(format!("cannot set the mode of {}", tmp.display())))?;
                set_mtime(&tmp, e)?;
                fs::rename(&tmp, &target).map_err(io(format!("cannot move {} into place", target.display())))?;
            }
        }
    }
    // Directories last: writing into them changed their mtimes.
    for (d, e) in dirs.into_iter().rev() {
        set_owner(&d, e)?;
        fs::set_permissions(&d, fs::Permissions::from_mode(e.mode))
            .map_err(io(format!("cannot set the mode of {}", d.display())))?;
        set_mtime(&d, e)?;
    }
    Ok(())
}

/// Gives a restored entry its original owner when this process may (root, restoring what a
/// service snapshotted from another user's files); otherwise it stays the restorer's own.
fn set_owner(path: &Path, e: &Entry) -> Result<(), VaultError> {
    let (Some(uid), Some(gid)) = (e.uid, e.gid) else {
        return Ok(());
    };
    match std::os::unix::fs::lchown(path, Some(uid), Some(gid)) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => Ok(()),
        Err(err) => Err(io(format!("cannot set the owner of {}", path.display()))(err)),
    }
}

fn set_mtime(path: &Path, e: &Entry) -> Result<(), VaultError> {
    let t = if e.mtime >= 0 {
        UNIX_EPOCH + Duration::new(e.mtime as u64, e.mtime_nsec)
    } else {
        UNIX_EPOCH
    };
    let f = fs::File::open(path).map_err(io(format!("cannot open {}", path.display())))?;
    f.set_times(fs::FileTimes::new().set_modified(t))
        .map_err(io(format!("cannot set the time of {}", path.display())))
}
