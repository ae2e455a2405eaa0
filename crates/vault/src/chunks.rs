//! Writing chunks: dedup against everything the vault holds, pack new ones, then record them in an
//! index file. Packs are written before the index that names them.

use std::collections::HashMap;
use std::sync::Mutex;

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

/// Collects new chunks of one snapshot.
pub(crate) struct ChunkWriter<'a> {
    backend: &'a dyn Backend,
    sealer: &'a Sealer,
    known: &'a Mutex<HashMap<String, Location>>,
    progress: &'a Mutex<Option<crate::vault::Progress>>,
    pack_id: String,
    pack: Vec<u8>,
    in_pack: Vec<IndexEntry>,
    written: Vec<IndexEntry>,
    /// New chunks waiting to be sealed, several at a time on all cores.
    batch: Vec<(String, Vec<u8>)>,
    batch_bytes: usize,
    pub stored: u64,
}

const BATCH_BYTES: usize = 8 * 1024 * 1024;

impl<'a> ChunkWriter<'a> {
    pub(crate) fn new(
        backend: &'a dyn Backend,
        sealer: &'a Sealer,
        known: &'a Mutex<HashMap<String, Location>>,
        progress: &'a Mutex<Option<crate::vault::Progress>>,
    ) -> Result<Self, VaultError> {
        Ok(ChunkWriter {
            backend,
            sealer,
            known,
            progress,
            pack_id: random_id()?,
            pack: Vec::new(),
            in_pack: Vec::new(),
            written: Vec::new(),
            batch: Vec::new(),
            batch_bytes: 0,
            stored: 0,
        })
    }

    /// Stores a chunk unless the vault already has it; returns its id.
    pub(crate) fn add(&mut self, data: &[u8]) -> Result<String, VaultError> {
        if let Some(f) = self.progress.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            f(data.len() as u64);
        }
        let id = self.sealer.chunk_id(data);
        let seen = self.known.lock().unwrap_or_else(|p| p.into_inner()).contains_key(&id)
            || self.in_pack.iter().any(|e| e.id == id)
            || self.written.iter().any(|e| e.id == id)
            || self.batch.iter().any(|(b, _)| *b == id);
        if seen {
            return Ok(id);
        }
        self.batch_bytes += data.len();
        self.batch.push((id.clone(), data.to_vec()));
        if self.batch_bytes >= BATCH_BYTES {
            self.seal_batch()?;
        }
        Ok(id)
    }

    /// Compresses and encrypts the waiting chunks in parallel, then appends them in order.
    fn seal_batch(&mut self) -> Result<(), VaultError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
        let per = batch.len().div_ceil(workers);
        let sealer = self.sealer;
        let sealed: Vec<Result<Vec<Vec<u8>>, VaultError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(per.max(1))
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(_, d)| sealer.seal(d, true))
                            .collect::<Result<Vec<_>, _>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(VaultError::Invalid("a sealing thread panicked".into())))
                })
                .collect()
        });
        let mut blobs = Vec::with_capacity(batch.len());
        for part in sealed {
            blobs.extend(part?);
        }
        for ((id, data), blob) in batch.into_iter().zip(blobs) {
            let at = Location {
                pack: self.pack_id.clone(),
                offset: self.pack.len() as u64,
                length: blob.len() as u64,
                raw: data.len() as u64,
            };
            self.stored += blob.len() as u64;
            self.pack.extend_from_slice(&blob);
            self.in_pack.push(IndexEntry { id, at });
            if self.pack.len() >= PACK_TARGET {
                self.flush_pack()?;
            }
        }
        Ok(())
    }

    fn flush_pack(&mut self) -> Result<(), VaultError> {
        if self.pack.is_empty() {
            return Ok(());
        }
        self.backend.put(&format!("packs/{}", self.pack_id), &self.pack)?;
        self.written.append(&mut self.in_pack);
        self.pack.clear();
        self.pack_id = random_id()?;
        Ok(())
    }

    /// Writes the last pack, then the index naming every new chunk; after this the chunks are
    /// durable and known.
    pub(crate) fn finish(mut self) -> Result<u64, VaultError> {
        self.seal_batch()?;
        self.flush_pack()?;
        if !self.written.is_empty() {
            let json = serde_json::to_vec(&self.written).map_err(|e| VaultError::Invalid(e.to_string()))?;
            let sealed = self.sealer.seal(&json, true)?;
            self.stored += sealed.len() as u64;
            self.backend.put(&format!("index/{}", random_id()?), &sealed)?;
            let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            for e in self.written {
                known.insert(e.id, e.at);
            }
        }
        Ok(self.stored)
    }
}
