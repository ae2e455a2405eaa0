//! Writing chunks: dedup against everything the vault holds, pack new ones, then record them in an
//! index file. Packs are written before the index that names them.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;

use serde::{Deserialize, Serialize};

use crate::crypto::Sealer;
use crate::{Backend, VaultError};

/// Where a chunk lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Location {
    pub pack: String,
    pub offset: u64,
    pub length: u64,
    pub raw: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct IndexEntry {
    pub id: String,
    #[serde(flatten)]
    pub at: Location,
}

const PACK_TARGET: usize = 16 * 1024 * 1024;

pub(crate) fn random_id() -> Result<String, VaultError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| VaultError::Random(e.to_string()))?;
    Ok(crate::manifest::hex(&b))
}

/// A chunk for a worker: its id, and where its bytes are (shared with the caller, not copied).
type Job = (String, std::sync::Arc<Vec<u8>>, std::ops::Range<usize>);

/// A sealed chunk coming back from a worker.
type Sealed = Result<(String, u64, Vec<u8>), VaultError>;

/// Collects new chunks of one snapshot. Hashing and deduplication happen on the caller's thread;
/// compression and encryption run on worker threads meanwhile, one per core, and the sealed blobs
/// are appended to packs as they come back.
pub(crate) struct ChunkWriter<'a> {
    backend: &'a dyn Backend,
    sealer: &'a Sealer,
    known: &'a Mutex<HashMap<String, Location>>,
    progress: &'a Mutex<Option<crate::vault::Progress>>,
    pack_id: String,
    pack: Vec<u8>,
    in_pack: Vec<IndexEntry>,
    written: Vec<IndexEntry>,
    in_flight: HashSet<String>,
    /// Packs written but not yet synced; synced all at once before the index names them.
    unsynced: Vec<String>,
    to_workers: Option<SyncSender<Job>>,
    from_workers: Receiver<Sealed>,
    workers: Vec<JoinHandle<()>>,
    pub stored: u64,
}

impl<'a> ChunkWriter<'a> {
    pub(crate) fn new(
        backend: &'a dyn Backend,
        sealer: &'a Sealer,
        known: &'a Mutex<HashMap<String, Location>>,
        progress: &'a Mutex<Option<crate::vault::Progress>>,
    ) -> Result<Self, VaultError> {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
        let (to_workers, jobs) = sync_channel::<Job>(n * 2);
        let (done, from_workers) = sync_channel::<Sealed>(n * 4);
        let jobs = std::sync::Arc::new(Mutex::new(jobs));
        let workers = (0..n)
            .map(|_| {
                let jobs = std::sync::Arc::clone(&jobs);
                let done = done.clone();
                let sealer = sealer.clone();
                std::thread::spawn(move || loop {
                    let job = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((id, buf, range)) = job else { return };
                    let data = &buf[range];
                    let sealed = sealer.seal(data, true).map(|blob| (id, data.len() as u64, blob));
                    if done.send(sealed).is_err() {
                        return;
                    }
                })
            })
            .collect();
        Ok(ChunkWriter {
            backend,
            sealer,
            known,
            progress,
            pack_id: random_id()?,
            pack: Vec::new(),
            in_pack: Vec::new(),
            written: Vec::new(),
            in_flight: HashSet::new(),
            unsynced: Vec::new(),
            to_workers: Some(to_workers),
            from_workers,
            workers,
            stored: 0,
        })
    }

    /// Stores a chunk unless the vault already has it; returns its id.
    pub(crate) fn add(&mut self, data: &[u8]) -> Result<String, VaultError> {
        let len = data.len();
        self.add_range(&std::sync::Arc::new(data.to_vec()), 0..len)
    }

    /// Stores `buf[range]` as a chunk, sharing `buf` with the workers instead of copying it.
    pub(crate) fn add_range(
        &mut self,
        buf: &std::sync::Arc<Vec<u8>>,
        range: std::ops::Range<usize>,
    ) -> Result<String, VaultError> {
        let data = &buf[range.clone()];
        if let Some(f) = self.progress.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            f(data.len() as u64);
        }
        let id = self.sealer.chunk_id(data);
        let seen = self.in_flight.contains(&id)
            || self.known.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&id)
            || self.in_pack.iter().any(|e| e.id == id)
            || self.written.iter().any(|e| e.id == id);
        if seen {
            return Ok(id);
        }
        self.in_flight.insert(id.clone());
        let mut job = Some((id.clone(), std::sync::Arc::clone(buf), range));
        // Hand the chunk to a worker; while they are all busy, take in what they finished.
        while let Some(j) = job.take() {
            let sender = self
                .to_workers
                .as_ref()
                .ok_or_else(|| VaultError::Invalid("the chunk writer is closed".into()))?;
            match sender.try_send(j) {
                Ok(()) => {}
                Err(std::sync::mpsc::TrySendError::Full(j)) => {
                    job = Some(j);
                    let sealed = self
                        .from_workers
                        .recv()
                        .map_err(|_| VaultError::Invalid("the sealing workers stopped".into()))?;
                    self.append(sealed)?;
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                    return Err(VaultError::Invalid("the sealing workers stopped".into()))
                }
            }
        }
        while let Ok(sealed) = self.from_workers.try_recv() {
            self.append(sealed)?;
        }
        Ok(id)
    }

    fn append(&mut self, sealed: Sealed) -> Result<(), VaultError> {
        let (id, raw, blob) = sealed?;
        self.in_flight.remove(&id);
        let at = Location {
            pack: self.pack_id.clone(),
            offset: self.pack.len() as u64,
            length: blob.len() as u64,
            raw,
        };
        self.stored += blob.len() as u64;
        self.pack.extend_from_slice(&blob);
        self.in_pack.push(IndexEntry { id, at });
        if self.pack.len() >= PACK_TARGET {
            self.flush_pack()?;
        }
        Ok(())
    }

    fn flush_pack(&mut self) -> Result<(), VaultError> {
        if self.pack.is_empty() {
            return Ok(());
        }
        let name = format!("packs/{}", self.pack_id);
        self.backend.put_unsynced(&name, &self.pack)?;
        self.unsynced.push(name);
        self.written.append(&mut self.in_pack);
        self.pack.clear();
        self.pack_id = random_id()?;
        Ok(())
    }

    /// Waits for the workers, writes the last pack, then the index naming every new chunk; after
    /// this the chunks are durable and known.
    pub(crate) fn finish(mut self) -> Result<u64, VaultError> {
        drop(self.to_workers.take());
        while !self.in_flight.is_empty() {
            let sealed = self
                .from_workers
                .recv()
                .map_err(|_| VaultError::Invalid("the sealing workers stopped".into()))?;
            self.append(sealed)?;
        }
        for w in std::mem::take(&mut self.workers) {
            let _ = w.join();
        }
        self.flush_pack()?;
        self.backend.sync(&self.unsynced)?;
        if !self.written.is_empty() {
            let json = serde_json::to_vec(&self.written).map_err(|e| VaultError::Invalid(e.to_string()))?;
            let sealed = self.sealer.seal(&json, true)?;
            self.stored += sealed.len() as u64;
            self.backend.put(&format!("index/{}", random_id()?), &sealed)?;
            let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            for e in std::mem::take(&mut self.written) {
                known.insert(e.id, e.at);
            }
        }
        Ok(self.stored)
    }
}

impl Drop for ChunkWriter<'_> {
    fn drop(&mut self) {
        // An abandoned snapshot (an error mid-way): stop the workers; nothing is indexed.
        drop(self.to_workers.take());
        while self.from_workers.try_recv().is_ok() {}
        for w in std::mem::take(&mut self.workers) {
            // Workers blocked on a full result channel exit once the receiver is gone (at drop).
            drop(w);
        }
    }
}
