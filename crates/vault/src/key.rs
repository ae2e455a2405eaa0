//! The vault key: 32 random bytes in a file created 0600 (or hex in `AIRLOCK_VAULT_KEY`). Losing it
//! means losing the vault: nothing in the vault can be read without it.

use std::path::Path;

use crate::error::{io, VaultError};

#[derive(Clone)]
pub struct Key {
    bytes: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)")
    }
}

impl Key {
    pub fn generate() -> Result<Key, VaultError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| VaultError::Random(e.to_string()))?;
        Ok(Key { bytes })
    }

    pub fn from_hex(text: &str) -> Result<Key, VaultError> {
        let t = text.trim();
        if t.len() != 64 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VaultError::BadKey("expected 64 hexadecimal characters".into()));
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&t[i * 2..i * 2 + 2], 16).map_err(|e| VaultError::BadKey(e.to_string()))?;
        }
        Ok(Key { bytes })
    }

    pub fn to_hex(&self) -> String {
        self.bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads a key file, refusing one that others can read.
    pub fn load(path: &Path) -> Result<Key, VaultError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(io(format!("cannot read the vault key {}", path.display())))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(VaultError::BadKey(format!(
                "{} is readable by others; chmod 600 it",
                path.display()
            )));
        }
        let text =
            std::fs::read_to_string(path).map_err(io(format!("cannot read the vault key {}", path.display())))?;
        Key::from_hex(&text)
    }

    /// Writes a new key file, mode 0600; refuses to replace an existing one.
    pub fn create_file(path: &Path) -> Result<Key, VaultError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let key = Key::generate()?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io(format!("cannot create the vault key {}", path.display())))?;
        f.write_all(format!("{}\n", key.to_hex()).as_bytes())
            .map_err(io("cannot write the vault key"))?;
        f.sync_all().map_err(io("cannot write the vault key"))?;
        Ok(key)
    }

    /// A subkey for one purpose, so that chunk ids and encryption never share key material.
    pub(crate) fn derive(&self, purpose: &str) -> [u8; 32] {
        blake3::derive_key(&format!("airlock vault 2026 {purpose}"), &self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_validation() {
        let k = Key::generate().unwrap();
        assert_eq!(Key::from_hex(&k.to_hex()).unwrap().to_hex(), k.to_hex());
        assert!(Key::from_hex("abc").is_err());
        assert!(format!("{k:?}").contains('…'));
    }
}
