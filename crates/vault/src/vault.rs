use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::chunks::{random_id, ChunkWriter, IndexEntry, Location};
use crate::crypto::Sealer;
use crate::manifest::{Snapshot, SnapshotSummary, SourceKind};
use crate::{Backend, Key, VaultError};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// An opened vault.
pub struct Vault {
    backend: Box<dyn Backend>,
    sealer: Sealer,
    index: Mutex<HashMap<String, Location>>,
    progress: Mutex<Option<Progress>>,
}

/// Called with the number of bytes just captured or restored (for progress bars).
pub type Progress = Box<dyn Fn(u64) + Send + Sync>;

/// What `check` found.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CheckReport {
    pub snapshots: usize,
    pub packs: usize,
    pub chunks: usize,
    pub chunks_read: usize,
    /// Every problem, naming the object.
    pub problems: Vec<String>,
}

impl Vault {
    /// Makes a new vault in an empty backend.
    pub fn create(backend: impl Backend + 'static, key: Key) -> Result<Vault, VaultError> {
        if backend.exists("config") {
            return Err(VaultError::Invalid("a vault already exists there".into()));
        }
        let sealer = Sealer::new(&key);
        let config = serde_json::json!({ "version": 1, "created_at": now() }).to_string();
        backend.put("config", &sealer.seal(config.as_bytes(), false)?)?;
        Ok(Vault {
            backend: Box::new(backend),
            sealer,
            index: Mutex::new(HashMap::new()),
            progress: Mutex::new(None),
        })
    }

    /// Opens an existing vault; a wrong key is refused before anything else is read.
    pub fn open(backend: impl Backend + 'static, key: Key) -> Result<Vault, VaultError> {
        let sealer = Sealer::new(&key);
        let config = backend.get("config")?;
        sealer
            .open(&config, None, "the vault config")
            .map_err(|_| VaultError::WrongKey)?;
        let vault = Vault {
            backend: Box::new(backend),
            sealer,
            index: Mutex::new(HashMap::new()),
            progress: Mutex::new(None),
        };
        let mut index = HashMap::new();
        for name in vault.backend.list("index")? {
            for e in vault.read_index(&name)? {
                index.insert(e.id, e.at);
            }
        }
        *vault.index.lock().unwrap_or_else(|p| p.into_inner()) = index;
        Ok(vault)
    }

    /// Reports bytes captured and restored to `f` from now on.
    pub fn set_progress(&self, f: Option<Progress>) {
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = f;
    }

    pub(crate) fn report(&self, bytes: u64) {
        if let Some(f) = self.progress.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            f(bytes);
        }
    }

    fn read_index(&self, name: &str) -> Result<Vec<IndexEntry>, VaultError> {
        let raw = self.backend.get(name)?;
        let json = self
            .sealer
            .open(&raw, Some(256 * 1024 * 1024), &format!("index file {name}"))?;
        serde_json::from_slice(&json).map_err(|_| VaultError::Corrupt(format!("index file {name}")))
    }

    /// A chunk writer for one new snapshot.
    fn writer(&self) -> Result<ChunkWriter<'_>, VaultError> {
        ChunkWriter::new(self.backend.as_ref(), &self.sealer, &self.index, &self.progress)
    }

    fn write_snapshot(&self, snap: &Snapshot) -> Result<(), VaultError> {
        let json = serde_json::to_vec(snap).map_err(|e| VaultError::Invalid(e.to_string()))?;
        self.backend
            .put(&format!("snapshots/{}", snap.id), &self.sealer.seal(&json, true)?)
    }

    /// Captures a file or directory tree.
    pub fn snapshot_path(
        &self,
        path: &Path,
        resource: &str,
        action_id: Option<&str>,
        locked_until: Option<i64>,
    ) -> Result<Snapshot, VaultError> {
        // The empty relative path is the root itself: the whole tree.
        let whole = vec![PathBuf::new()];
        self.snapshot_under(path, whole, SourceKind::Path, resource, action_id, locked_until)
    }

    /// Captures chosen paths under `root` (relative to it): what a `git clean` or `git reset
    /// --hard` would discard, without the tracked files git keeps. Restoring puts back exactly
    /// these paths, over whatever is there then.
    pub fn snapshot_files(
        &self,
        root: &Path,
        chosen: &[PathBuf],
        resource: &str,
        action_id: Option<&str>,
        locked_until: Option<i64>,
    ) -> Result<Snapshot, VaultError> {
        self.snapshot_under(
            root,
            chosen.to_vec(),
            SourceKind::Files,
            resource,
            action_id,
            locked_until,
        )
    }

    /// Captures `chosen` (relative paths) under `root`, recorded as a snapshot of `kind`.
    fn snapshot_under(
        &self,
        root: &Path,
        chosen: Vec<PathBuf>,
        kind: SourceKind,
        resource: &str,
        action_id: Option<&str>,
        locked_until: Option<i64>,
    ) -> Result<Snapshot, VaultError> {
        let origin =
            std::path::absolute(root).map_err(crate::error::io(format!("cannot resolve {}", root.display())))?;
        let mut writer = self.writer()?;
        let (entries, bytes) = crate::paths::capture_selected(&origin, chosen, &mut writer)?;
        self.finish(writer, kind, resource, &origin, action_id, locked_until, entries, bytes)
    }

    /// Captures a SQLite database consistently, while it may be in use.
    pub fn snapshot_sqlite(
        &self,
        db: &Path,
        resource: &str,
        action_id: Option<&str>,
        locked_until: Option<i64>,
    ) -> Result<Snapshot, VaultError> {
        let origin = std::path::absolute(db).map_err(crate::error::io(format!("cannot resolve {}", db.display())))?;
        let tmp = std::env::temp_dir().join(format!("airlock-sqlite-{}.db", random_id()?));
        let result = (|| {
            crate::sqlite::backup(&origin, &tmp)?;
            let mut writer = self.writer()?;
            let (mut entries, bytes) = crate::paths::capture(&tmp, &mut writer)?;
            // Keep the original file's mode and times, not the temporary copy's.
            if let (Some(e), Ok(meta)) = (entries.first_mut(), std::fs::metadata(&origin)) {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                e.mode = meta.permissions().mode() & 0o7777;
                e.mtime = meta.mtime();
                e.mtime_nsec = meta.mtime_nsec() as u32;
            }
            self.finish(
                writer,
                SourceKind::Sqlite,
                resource,
                &origin,
                action_id,
                locked_until,
                entries,
                bytes,
            )
        })();
        let _ = std::fs::remove_file(&tmp);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        writer: ChunkWriter<'_>,
        source: SourceKind,
        resource: &str,
        origin: &Path,
        action_id: Option<&str>,
        locked_until: Option<i64>,
        entries: Vec<crate::Entry>,
        bytes: u64,
    ) -> Result<Snapshot, VaultError> {
        // Packs, then the index, then the manifest: only a complete snapshot is ever listed.
        let stored = writer.finish()?;
        let snap = Snapshot {
            id: random_id()?[..16].to_owned(),
            created_at: now(),
            source,
            resource: resource.to_owned(),
            origin: origin.display().to_string(),
            action_id: action_id.map(str::to_owned),
            locked_until,
            entries,
            bytes,
            stored,
        };
        self.write_snapshot(&snap)?;
        Ok(snap)
    }

    /// Captures PostgreSQL tables, a schema or a whole database, consistently. `url` carries the
    /// credentials; the manifest keeps it without its password.
    pub fn snapshot_postgres(
        &self,
        url: &str,
        scope: &crate::PgScope,
        resource: &str,
        action_id: Option<&str>,
        locked_until: Option<i64>,
    ) -> Result<Snapshot, VaultError> {
        let mut writer = self.writer()?;
        let mut data_entries: Vec<crate::Entry> = Vec::new();
        let tables = crate::postgres::capture(url, scope, &mut |i, reader| {
            let mut chunks = Vec::new();
            let mut bytes = 0u64;
            for chunk in fastcdc::v2020::StreamCDC::new(reader, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024) {
                let chunk = chunk.map_err(|e| VaultError::Invalid(format!("PostgreSQL COPY: {e:?}")))?;
                bytes += chunk.data.len() as u64;
                chunks.push(writer.add(&chunk.data)?);
            }
            data_entries.push(file_entry(&format!("data/{i}"), bytes, chunks));
            Ok(bytes)
        })?;
        let json = serde_json::to_vec(&tables).map_err(|e| VaultError::Invalid(e.to_string()))?;
        let id = writer.add(&json)?;
        let mut entries = vec![file_entry("tables.json", json.len() as u64, vec![id])];
        let bytes = data_entries.iter().map(|e| e.size).sum::<u64>() + json.len() as u64;
        entries.extend(data_entries);
        self.finish(
            writer,
            SourceKind::Postgres,
            resource,
            Path::new(&without_password(url)),
            action_id,
            locked_until,
            entries,
            bytes,
        )
    }

    /// Restores a PostgreSQL snapshot into the database at `url` (the same one, or another).
    /// Existing tables are refused unless `force`; everything happens in one transaction.
    pub fn restore_postgres(&self, id: &str, url: &str, force: bool) -> Result<usize, VaultError> {
        self.restore_postgres_as(id, url, None, force)
    }

    /// Like `restore_postgres`, with every table put into `schema` instead of its own (restoring
    /// beside the originals, under new names).
    pub fn restore_postgres_as(
        &self,
        id: &str,
        url: &str,
        schema: Option<&str>,
        force: bool,
    ) -> Result<usize, VaultError> {
        let snap = self.snapshot(id)?;
        if snap.source != SourceKind::Postgres {
            return Err(VaultError::Invalid(format!(
                "snapshot {id} is not a PostgreSQL snapshot"
            )));
        }
        let read_entry = |name: &str| -> Result<Vec<u8>, VaultError> {
            let hexname = crate::manifest::hex(name.as_bytes());
            let e = snap
                .entries
                .iter()
                .find(|e| e.path_hex == hexname)
                .ok_or_else(|| VaultError::Corrupt(format!("snapshot {id} ({name} missing)")))?;
            let mut out = Vec::with_capacity(e.size as usize);
            for c in &e.chunks {
                out.extend_from_slice(&self.read_chunk(c)?);
            }
            Ok(out)
        };
        let tables: Vec<crate::postgres::Table> = serde_json::from_slice(&read_entry("tables.json")?)
            .map_err(|_| VaultError::Corrupt(format!("snapshot {id} (tables.json)")))?;
        let stream = |i: usize, sink: &mut crate::postgres::Sink<'_>| -> Result<(), VaultError> {
            let hexname = crate::manifest::hex(format!("data/{i}").as_bytes());
            let e = snap
                .entries
                .iter()
                .find(|e| e.path_hex == hexname)
                .ok_or_else(|| VaultError::Corrupt(format!("snapshot {id} (data/{i} missing)")))?;
            for c in &e.chunks {
                sink(&self.read_chunk(c)?)?;
            }
            Ok(())
        };
        let tables = match schema {
            Some(s) => crate::postgres::in_schema(&tables, s),
            None => tables,
        };
        crate::postgres::restore(url, &tables, force, schema, &stream)?;
        Ok(tables.len())
    }

    /// Keeps a small record beside the snapshots (`checkpoints/NAME`: the audit chain's sealed
    /// checkpoints). Written once under a new name, never rewritten; a name that exists is refused.
    pub fn put_checkpoint(&self, name: &str, data: &[u8]) -> Result<(), VaultError> {
        if name.is_empty() || name.contains('/') {
            return Err(VaultError::Invalid(format!("bad checkpoint name {name:?}")));
        }
        let object = format!("checkpoints/{name}");
        if self.backend.exists(&object) {
            return Err(VaultError::Invalid(format!("checkpoint {name} exists already")));
        }
        self.backend.put(&object, data)
    }

    /// The names of the kept checkpoints, sorted.
    pub fn checkpoints(&self) -> Result<Vec<String>, VaultError> {
        let mut names: Vec<String> = self
            .backend
            .list("checkpoints")?
            .into_iter()
            .map(|n| n.trim_start_matches("checkpoints/").to_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    pub fn checkpoint(&self, name: &str) -> Result<Vec<u8>, VaultError> {
        if name.is_empty() || name.contains('/') {
            return Err(VaultError::Invalid(format!("bad checkpoint name {name:?}")));
        }
        self.backend.get(&format!("checkpoints/{name}"))
    }

    /// Every complete snapshot, oldest first.
    pub fn snapshots(&self) -> Result<Vec<SnapshotSummary>, VaultError> {
        let mut out = Vec::new();
        for name in self.backend.list("snapshots")? {
            let id = name.trim_start_matches("snapshots/");
            out.push(self.snapshot(id)?.summary());
        }
        out.sort_by_key(|s| (s.created_at, s.id.clone()));
        Ok(out)
    }

    pub fn snapshot(&self, id: &str) -> Result<Snapshot, VaultError> {
        let name = format!("snapshots/{id}");
        if id.is_empty() || id.contains('/') || !self.backend.exists(&name) {
            return Err(VaultError::NoSnapshot(id.to_owned()));
        }
        let raw = self.backend.get(&name)?;
        let json = self
            .sealer
            .open(&raw, Some(512 * 1024 * 1024), &format!("snapshot {id}"))?;
        serde_json::from_slice(&json).map_err(|_| VaultError::Corrupt(format!("snapshot {id}")))
    }

    /// Restores any snapshot: files and SQLite to a path, PostgreSQL into `pg_url`'s database.
    pub fn restore(
        &self,
        id: &str,
        to: Option<&Path>,
        pg_url: Option<&str>,
        pg_schema: Option<&str>,
        force: bool,
    ) -> Result<String, VaultError> {
        let snap = self.snapshot(id)?;
        match snap.source {
            SourceKind::Postgres => {
                let url = pg_url.ok_or_else(|| {
                    VaultError::Invalid(format!(
                        "snapshot {id} is PostgreSQL: give the database URL to restore into"
                    ))
                })?;
                let n = self.restore_postgres_as(id, url, pg_schema, force)?;
                Ok(format!("{n} table(s) into {}", without_password(url)))
            }
            _ => Ok(self.restore_path(id, to, force)?.display().to_string()),
        }
    }

    /// One chunk, decrypted and checked against its id.
    pub fn read_chunk(&self, id: &str) -> Result<Vec<u8>, VaultError> {
        let data = self.verify_chunk(id)?;
        self.report(data.len() as u64);
        Ok(data)
    }

    /// Like `read_chunk`, without counting towards progress (the check before a restore).
    fn verify_chunk(&self, id: &str) -> Result<Vec<u8>, VaultError> {
        let at = self
            .index
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| VaultError::Corrupt(format!("chunk {id} (not in any index)")))?;
        let pack = self.backend.get(&format!("packs/{}", at.pack))?;
        let what = format!("chunk {id} in pack {}", at.pack);
        let blob = pack
            .get(at.offset as usize..(at.offset + at.length) as usize)
            .ok_or_else(|| VaultError::Corrupt(what.clone()))?;
        let data = self.sealer.open(blob, Some(at.raw as usize), &what)?;
        if self.sealer.chunk_id(&data) != id {
            return Err(VaultError::Corrupt(what));
        }
        Ok(data)
    }

    /// Restores a snapshot to where it came from, or to `to`. Refuses to overwrite existing data
    /// unless `force`; every chunk is authenticated before anything is written.
    pub fn restore_path(&self, id: &str, to: Option<&Path>, force: bool) -> Result<PathBuf, VaultError> {
        let snap = self.snapshot(id)?;
        if snap.source == SourceKind::Postgres {
            return Err(VaultError::Invalid(format!(
                "snapshot {id} is PostgreSQL: it restores into a database, not a path"
            )));
        }
        let target = to.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(&snap.origin));
        for e in &snap.entries {
            for c in &e.chunks {
                self.verify_chunk(c)?;
            }
        }
        // Chosen files go back over what is there: the tree itself exists, and putting back the
        // discarded versions is the point of the undo.
        let force = force || snap.source == SourceKind::Files;
        crate::paths::restore(&snap.entries, &target, force, &|c| self.read_chunk(c))?;
        Ok(target)
    }

    /// Checks structure (every snapshot's chunks are indexed in packs that exist) and, with
    /// `read_data`, decrypts and re-hashes every chunk.
    pub fn check(&self, read_data: bool) -> Result<CheckReport, VaultError> {
        let mut report = CheckReport::default();
        let packs: HashSet<String> = self
            .backend
            .list("packs")?
            .into_iter()
            .map(|p| p.trim_start_matches("packs/").to_owned())
            .collect();
        report.packs = packs.len();
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner()).clone();
        report.chunks = index.len();
        let mut needed: HashSet<String> = HashSet::new();
        for name in self.backend.list("snapshots")? {
            let id = name.trim_start_matches("snapshots/").to_owned();
            match self.snapshot(&id) {
                Ok(s) => {
                    report.snapshots += 1;
                    for e in &s.entries {
                        for c in &e.chunks {
                            if !index.contains_key(c) {
                                report.problems.push(format!("snapshot {id}: chunk {c} is in no index"));
                            }
                            needed.insert(c.clone());
                        }
                    }
                }
                Err(e) => report.problems.push(format!("snapshot {id}: {e}")),
            }
        }
        for c in &needed {
            if let Some(at) = index.get(c) {
                if !packs.contains(&at.pack) {
                    report
                        .problems
                        .push(format!("chunk {c}: its pack {} is missing", at.pack));
                } else if read_data {
                    report.chunks_read += 1;
                    if let Err(e) = self.verify_chunk(c) {
                        report.problems.push(e.to_string());
                    }
                }
            }
        }
        report.problems.sort();
        Ok(report)
    }

    /// Deletes a snapshot (its chunks stay until `prune`). Refused while it is locked.
    pub fn delete_snapshot(&self, id: &str) -> Result<(), VaultError> {
        let snap = self.snapshot(id)?;
        if let Some(until) = snap.locked_until.filter(|u| *u > now()) {
            return Err(VaultError::Locked {
                id: id.to_owned(),
                until,
            });
        }
        self.backend.remove(&format!("snapshots/{id}"))
    }

    /// Deletes the snapshots `keep` rejects (never a locked one), then the packs no kept snapshot
    /// uses. Returns the ids deleted.
    pub fn prune(&self, keep: &dyn Fn(&SnapshotSummary) -> bool) -> Result<Vec<String>, VaultError> {
        let mut deleted = Vec::new();
        for s in self.snapshots()? {
            let locked = s.locked_until.is_some_and(|u| u > now());
            if !locked && !keep(&s) {
                self.backend.remove(&format!("snapshots/{}", s.id))?;
                deleted.push(s.id);
            }
        }
        let mut used: HashSet<String> = HashSet::new();
        for s in self.snapshots()? {
            for e in self.snapshot(&s.id)?.entries {
                used.extend(e.chunks);
            }
        }
        let index = self.index.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut pack_used: HashMap<&str, bool> = HashMap::new();
        for (id, at) in &index {
            *pack_used.entry(at.pack.as_str()).or_default() |= used.contains(id);
        }
        let dead: Vec<&str> = pack_used.iter().filter(|(_, u)| !**u).map(|(p, _)| *p).collect();
        if !dead.is_empty() {
            // A new index of what stays, written before the old ones and the dead packs go.
            let keep_entries: Vec<IndexEntry> = index
                .iter()
                .filter(|(_, at)| !dead.contains(&at.pack.as_str()))
                .map(|(id, at)| IndexEntry {
                    id: id.clone(),
                    at: at.clone(),
                })
                .collect();
            let old = self.backend.list("index")?;
            let json = serde_json::to_vec(&keep_entries).map_err(|e| VaultError::Invalid(e.to_string()))?;
            self.backend
                .put(&format!("index/{}", random_id()?), &self.sealer.seal(&json, true)?)?;
            for name in old {
                self.backend.remove(&name)?;
            }
            for p in &dead {
                self.backend.remove(&format!("packs/{p}"))?;
            }
            let mut live = self.index.lock().unwrap_or_else(|p| p.into_inner());
            live.retain(|_, at| !dead.contains(&at.pack.as_str()));
        }
        Ok(deleted)
    }
}

fn file_entry(name: &str, size: u64, chunks: Vec<String>) -> crate::Entry {
    crate::Entry {
        path_hex: crate::manifest::hex(name.as_bytes()),
        kind: crate::EntryKind::File,
        mode: 0o600,
        mtime: now(),
        mtime_nsec: 0,
        uid: None,
        gid: None,
        size,
        chunks,
        target_hex: None,
    }
}

/// A connection URL with its password removed (manifests and messages never hold secrets).
pub fn without_password(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            let user = userinfo.split(':').next().unwrap_or_default();
            return format!("{scheme}://{user}@{host}{tail}");
        }
        return url.to_owned();
    }
    // key=value form: drop password=…
    url.split_whitespace()
        .filter(|kv| !kv.starts_with("password="))
        .collect::<Vec<_>>()
        .join(" ")
}
