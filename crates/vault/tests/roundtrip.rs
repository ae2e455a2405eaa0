//! Real files and real SQLite databases through the vault and back.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use airlock_vault::{Key, LocalBackend, Vault, VaultError};

#[path = "testdata/mod.rs"]
mod testdata;

use testdata::noise;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "airlock-vault-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn vault(dir: &Path, key: &Key) -> Vault {
    let backend = LocalBackend::new(dir.join("vault")).unwrap();
    if dir.join("vault/config").exists() {
        Vault::open(backend, key.clone()).unwrap()
    } else {
        Vault::create(backend, key.clone()).unwrap()
    }
}

fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::write(root.join("a.txt"), "alpha\n").unwrap();
    std::fs::write(root.join("empty"), "").unwrap();
    std::fs::write(root.join("sub/big.bin"), noise(5 * 1024 * 1024 + 123, 7)).unwrap();
    std::fs::write(root.join(OsStr::from_bytes(b"caf\xe9-latin1.txt")), "non-utf8 name").unwrap();
    std::fs::set_permissions(root.join("a.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("../a.txt", root.join("sub/link")).unwrap();
    std::fs::write(root.join("sub/deeper/x.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(root.join("sub/deeper/x.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn describe(root: &Path) -> Vec<(Vec<u8>, u32, i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().as_os_str().as_bytes().to_vec();
        let content = if m.file_type().is_symlink() {
            std::fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec()
        } else if m.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            Vec::new()
        } else {
            std::fs::read(&p).unwrap()
        };
        let mtime = if m.file_type().is_symlink() { 0 } else { m.mtime() };
        out.push((rel, m.permissions().mode() & 0o7777, mtime, content));
    }
    out.sort();
    out
}

#[test]
fn a_directory_tree_round_trips_with_modes_times_links_and_odd_names() {
    let d = Dir::new("tree");
    let key = Key::generate().unwrap();
    let v = vault(&d.0, &key);
    let src = d.0.join("src");
    tree(&src);
    let before = describe(&src);
    let snap = v.snapshot_path(&src, "src", Some("act1"), None).unwrap();
    assert_eq!(snap.action_id.as_deref(), Some("act1"));
    std::fs::remove_dir_all(&src).unwrap();
    v.restore_path(&snap.id, None, false).unwrap();
    assert_eq!(describe(&src), before);
    // Beside the original, too.
    let beside = d.0.join("beside");
    v.restore_path(&snap.id, Some(&beside), false).unwrap();
    assert_eq!(describe(&beside), before);
}

#[test]
fn restore_refuses_to_clobber_unless_forced() {
    let d = Dir::new("clobber");
    let key = Key::generate().unwrap();
    let v = vault(&d.0, &key);
    let src = d.0.join("src");
    tree(&src);
    let snap = v.snapshot_path(&src, "src", None, None).unwrap();
    std::fs::write(src.join("a.txt"), "changed since").unwrap();
    assert!(matches!(
        v.restore_path(&snap.id, None, false),
        Err(VaultError::WouldClobber(_))
    ));
    v.restore_path(&snap.id, None, true).unwrap();
    assert_eq!(std::fs::read_to_string(src.join("a.txt")).unwrap(), "alpha\n");
}

#[test]
fn a_second_snapshot_of_unchanged_data_adds_under_one_percent() {
    let d = Dir::new("dedup");
    let key = Key::generate().unwrap();
    let v = vault(&d.0, &key);
    let src = d.0.join("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..4 {
        std::fs::write(src.join(format!("f{i}")), noise(3 * 1024 * 1024, i + 1)).unwrap();
    }
    let first = v.snapshot_path(&src, "src", None, None).unwrap();
    let second = v.snapshot_path(&src, "src", None, None).unwrap();
    assert!(first.stored > first.bytes / 2, "the first snapshot stores the data");
    assert!(
        (second.stored as f64) < first.bytes as f64 * 0.01,
        "second added {} of {}",
        second.stored,
        first.bytes
    );
}

#[test]
fn a_flipped_byte_in_a_pack_is_named_by_check_and_never_restored() {
    let d = Dir::new("corrupt");
    let key = Key::generate().unwrap();
    let v = vault(&d.0, &key);
    let src = d.0.join("src");
    tree(&src);
    let snap = v.snapshot_path(&src, "src", None, None).unwrap();
    assert!(v.check(true).unwrap().problems.is_empty());
    let pack = std::fs::read_dir(d.0.join("vault/packs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&pack, bytes).unwrap();
    let report = v.check(true).unwrap();
    let pack_name = pack.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains(&pack_name) && p.contains("failed authentication")),
        "{:?}",
        report.problems
    );
    assert!(v.check(false).unwrap().problems.is_empty(), "structure alone is intact");
    std::fs::remove_dir_all(&src).unwrap();
    assert!(matches!(
        v.restore_path(&snap.id, None, false),
        Err(VaultError::Corrupt(_))
    ));
    assert!(!src.exists(), "nothing is written when data fails authentication");
}

#[test]
fn a_locked_snapshot_cannot_be_deleted_or_pruned() {
    let d = Dir::new("lock");
    let key = Key::generate().unwrap();
    let v = vault(&d.0, &key);
    let src = d.0.join("src");
    tree(&src);
    let locked = v.snapshot_path(&src, "src", None, Some(i64::MAX)).unwrap();
    let free = v.snapshot_path(&src, "src", None, None).unwrap();
    assert!(matches!(v.delete_snapshot(&locked.id), Err(VaultError::Locked { .. })));
    let deleted = v.prune(&|_| false).unwrap();
    assert_eq!(deleted, vec![free.id.clone()]);
    assert!(v.snapshot(&locked.id).is_ok());
    assert!(v.check(true).unwrap().problems.is_empty());
}

#[test]
fn the_wrong_key_is_refused_clearly() {
    let d = Dir::new("key");
    let v = vault(&d.0, &Key::generate().unwrap());
    drop(v);
    let err = Vault::open(LocalBackend::new(d.0.join("vault")).unwrap(), Key::generate().unwrap())
        .err()
        .unwrap();
    assert!(matches!(err, VaultError::WrongKey));
    assert!(err.to_string().contains("wrong key"));
}

#[test]
fn a_sqlite_database_in_use_is_copied_consistently() {
    let d = Dir::new("sqlite");
    let key = Key::generate().unwrap();
    let v = vault(&d.0, &key);
    let db = d.0.join("app.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, blob BLOB, n REAL);",
    )
    .unwrap();
    for i in 0..500 {
        conn.execute(
            "INSERT INTO t (name, blob, n) VALUES (?1, ?2, ?3)",
            rusqlite::params![
                if i % 7 == 0 { None } else { Some(format!("row {i}")) },
                noise(100, i),
                i as f64 / 3.0
            ],
        )
        .unwrap();
    }
    // An open write transaction: the backup sees the committed state only.
    conn.execute_batch("BEGIN; INSERT INTO t (name) VALUES ('uncommitted');")
        .unwrap();
    let snap = v.snapshot_sqlite(&db, "app-db", None, None).unwrap();
    conn.execute_batch("ROLLBACK; DELETE FROM t;").unwrap();
    drop(conn);
    std::fs::remove_file(&db).unwrap();
    let _ = std::fs::remove_file(d.0.join("app.db-wal"));
    let _ = std::fs::remove_file(d.0.join("app.db-shm"));
    v.restore_path(&snap.id, None, false).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
    let nulls: i64 = conn
        .query_row("SELECT count(*) FROM t WHERE name IS NULL", [], |r| r.get(0))
        .unwrap();
    assert_eq!((n, nulls), (500, 72));
}

#[test]
fn chosen_files_restore_over_a_tree_and_leave_the_rest_alone() {
    let d = Dir::new("chosen");
    let root = d.0.join("tree");
    tree(&root);
    std::fs::write(root.join("tracked.rs"), "kept by git\n").unwrap();
    let key = Key::generate().unwrap();
    let v = vault(&d.0, &key);
    let chosen = [PathBuf::from("a.txt"), PathBuf::from("sub/deeper")];
    let snap = v.snapshot_files(&root, &chosen, "tree", None, None).unwrap();
    let stored: Vec<String> = snap
        .entries
        .iter()
        .map(|e| String::from_utf8(airlock_vault_unhex(&e.path_hex)).unwrap())
        .collect();
    assert_eq!(stored, ["a.txt", "sub/deeper", "sub/deeper/x.sh"]);
    // What a hard reset and a clean do: a changed file rewritten, an untracked tree deleted.
    std::fs::write(root.join("a.txt"), "reset\n").unwrap();
    std::fs::remove_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::write(root.join("tracked.rs"), "changed since\n").unwrap();
    // The tree is not empty, yet the chosen files go back without --force.
    v.restore_path(&snap.id, None, false).unwrap();
    assert_eq!(std::fs::read_to_string(root.join("a.txt")).unwrap(), "alpha\n");
    assert_eq!(
        std::fs::read_to_string(root.join("sub/deeper/x.sh")).unwrap(),
        "#!/bin/sh\n"
    );
    assert_eq!(
        std::fs::metadata(root.join("a.txt")).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        std::fs::read_to_string(root.join("tracked.rs")).unwrap(),
        "changed since\n"
    );
    // A chosen path outside the root is refused before anything is read.
    let escape = v.snapshot_files(&root, &[PathBuf::from("../x")], "tree", None, None);
    assert!(matches!(escape, Err(VaultError::Invalid(_))), "{escape:?}");
}

fn airlock_vault_unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}
