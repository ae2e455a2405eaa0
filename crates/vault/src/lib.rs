//! # airlock-vault
//!
//! Where Airlock keeps what a destructive action is about to destroy. A content-addressed store:
//! data is cut into content-defined chunks (FastCDC), identified by a keyed BLAKE3 hash,
//! compressed (zstd), sealed with AES-256-GCM, and written into pack files. Snapshot
//! manifests say what was captured, from which resource, for which action.
//!
//! Writes are crash-safe: every file is written under a temporary name, fsynced and renamed, and a
//! snapshot's packs precede its index, which precedes its manifest; a crash never leaves a listed
//! snapshot that cannot be restored. Objects are never rewritten. A snapshot can carry a retention
//! lock; deleting it before then is refused.
//!
//! ```
//! use airlock_vault::{Key, LocalBackend, Vault};
//!
//! let dir = std::env::temp_dir().join(format!("vault-doc-{}", std::process::id()));
//! let vault = Vault::create(LocalBackend::new(dir.join("vault")).unwrap(), Key::generate().unwrap()).unwrap();
//! let src = dir.join("data");
//! std::fs::create_dir_all(&src).unwrap();
//! std::fs::write(src.join("orders.csv"), "1,widget\n").unwrap();
//! let snap = vault.snapshot_path(&src, "orders", None, None).unwrap();
//! std::fs::remove_dir_all(&src).unwrap();
//! vault.restore_path(&snap.id, None, false).unwrap();
//! assert_eq!(std::fs::read_to_string(src.join("orders.csv")).unwrap(), "1,widget\n");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod backend;
mod chunks;
mod crypto;
mod error;
mod key;
mod manifest;
mod paths;
mod postgres;
mod sqlite;
mod vault;

pub use backend::{Backend, LocalBackend};
pub use error::VaultError;
pub use key::Key;
pub use manifest::{Entry, EntryKind, Snapshot, SnapshotSummary, SourceKind};
pub use postgres::PgScope;
pub use vault::{without_password, CheckReport, Progress, Vault};
