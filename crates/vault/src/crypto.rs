//! Sealing: zstd (when it pays), then AES-256-GCM with a random 96-bit nonce stored in front.
//! AES-GCM runs on the CPU's AES and carry-less multiply instructions; random nonces stay far below
//! the 2^32 messages per key that bound their collision risk (a vault holds millions of chunks, not
//! billions).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::VaultError;

const NONCE: usize = 12;

#[derive(Clone)]
pub(crate) struct Sealer {
    cipher: Aes256Gcm,
    id_key: [u8; 32],
}

impl Sealer {
    pub(crate) fn new(key: &crate::Key) -> Sealer {
        Sealer {
            cipher: Aes256Gcm::new(&key.derive("encryption").into()),
            id_key: key.derive("chunk id"),
        }
    }

    /// The id of a chunk: a keyed hash, so ids reveal nothing about content to whoever lacks the key.
    pub(crate) fn chunk_id(&self, data: &[u8]) -> String {
        blake3::keyed_hash(&self.id_key, data).to_hex().to_string()
    }

    /// Seals `plain`: a one-byte header (0 stored, 1 zstd), the body, encrypted together. Data that
    /// does not compress (a quick trial on its first 64 KiB says so) is stored as it is: compressing
    /// noise costs time and saves nothing.
    pub(crate) fn seal(&self, plain: &[u8], compress: bool) -> Result<Vec<u8>, VaultError> {
        let worth_it = compress && {
            let sample = &plain[..plain.len().min(64 * 1024)];
            zstd::bulk::compress(sample, 1).map_or(true, |c| (c.len() as f64) < sample.len() as f64 * 0.97)
        };
        let body = if worth_it {
            let mut b = vec![1u8];
            b.extend(
                zstd::bulk::compress(plain, 3).map_err(|e| VaultError::Invalid(format!("compression failed: {e}")))?,
            );
            b
        } else {
            let mut b = Vec::with_capacity(plain.len() + 1);
            b.push(0u8);
            b.extend_from_slice(plain);
            b
        };
        let mut nonce = [0u8; NONCE];
        getrandom::fill(&mut nonce).map_err(|e| VaultError::Random(e.to_string()))?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), body.as_slice())
            .map_err(|_| VaultError::Invalid("encryption failed".into()))?;
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a sealed blob; `decompress_to` bounds the size it may expand to; `what` names it in the
    /// error when it fails authentication.
    pub(crate) fn open(&self, blob: &[u8], decompress_to: Option<usize>, what: &str) -> Result<Vec<u8>, VaultError> {
        if blob.len() < NONCE + 16 {
            return Err(VaultError::Corrupt(what.to_owned()));
        }
        let (nonce, sealed) = blob.split_at(NONCE);
        let body = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| VaultError::Corrupt(what.to_owned()))?;
        match body.split_first() {
            Some((0, rest)) => Ok(rest.to_vec()),
            Some((1, rest)) => zstd::bulk::decompress(rest, decompress_to.unwrap_or(512 * 1024 * 1024))
                .map_err(|_| VaultError::Corrupt(what.to_owned())),
            _ => Err(VaultError::Corrupt(what.to_owned())),
        }
    }
}
