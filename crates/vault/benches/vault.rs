//! Vault throughput against peers measured in the same run:
//! - a directory snapshot vs `tar | zstd -3`;
//! - a PostgreSQL table snapshot vs `pg_dump -Fc -t`, and its restore vs `pg_restore`;
//! - raw ingest (chunk, hash, compress, encrypt, pack) of in-memory data.
//!
//! `AIRLOCK_BENCH_MB` sets the data size (default 1024). `cargo bench -p airlock-vault --bench vault`

#[path = "../tests/pgcluster/mod.rs"]
mod pgcluster;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use airlock_vault::{Key, LocalBackend, PgScope, Vault};

fn mb() -> usize {
    std::env::var("AIRLOCK_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

/// Half compressible text, half noise, like a real project tree with assets.
fn fill(dir: &Path, total: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let file = 8 * 1024 * 1024;
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for i in 0..total.div_ceil(file) {
        let mut buf = Vec::with_capacity(file);
        if i % 2 == 0 {
            while buf.len() < file {
                buf.extend_from_slice(format!("{i},row {},value {}\n", buf.len(), buf.len() % 9973).as_bytes());
            }
            buf.truncate(file);
        } else {
            for _ in 0..file {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(x as u8);
            }
        }
        std::fs::write(dir.join(format!("f{i:04}")), buf).unwrap();
    }
}

fn time(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn shell(cmd: &str) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "{cmd}");
}

fn line(what: &str, ours: Duration, peer: Duration, peer_name: &str, bytes: usize) {
    let mbs = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!(
        "{what:<34} airlock {:>7.2} s ({:>6.0} MB/s)   {peer_name:<16} {:>7.2} s ({:>6.0} MB/s)   ratio {:.2}x",
        ours.as_secs_f64(),
        mbs(ours),
        peer.as_secs_f64(),
        mbs(peer),
        ours.as_secs_f64() / peer.as_secs_f64()
    );
}

fn main() {
    let size = mb() * 1024 * 1024;
    let root = std::env::temp_dir().join(format!("airlock-bench-vault-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    println!(
        "vault benchmarks, {} MiB of data, {} cores",
        mb(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Ingest: the chunk-hash-compress-encrypt path alone, data already in memory (page cache).
    let data_dir = root.join("tree");
    fill(&data_dir, size);
    let _ = Command::new("sync").status();
    let vault = Vault::create(LocalBackend::new(root.join("vault")).unwrap(), Key::generate().unwrap()).unwrap();
    let ours = time(|| {
        vault.snapshot_path(&data_dir, "tree", None, None).unwrap();
    });
    let tar_out = root.join("tree.tar.zst");
    let peer = time(|| {
        shell(&format!(
            "tar -cf - -C {} tree | zstd -3 -q -T1 -o {}",
            root.display(),
            tar_out.display()
        ))
    });
    line("directory snapshot", ours, peer, "tar | zstd -3", size);
    let again = time(|| {
        vault.snapshot_path(&data_dir, "tree", None, None).unwrap();
    });
    println!(
        "{:<34} airlock {:>7.2} s (unchanged data, deduplicated)",
        "directory snapshot, second time",
        again.as_secs_f64()
    );
    std::fs::remove_dir_all(&data_dir).unwrap();

    if std::env::var_os("AIRLOCK_BENCH_SKIP_PG").is_some() {
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    // PostgreSQL: one table of about the same size.
    let pg = pgcluster::Cluster::start("bench");
    let mut c = pg.client("postgres");
    let rows = size / 200;
    c.batch_execute(&format!(
        "CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz NOT NULL, kind text NOT NULL, payload jsonb, blob bytea);
         INSERT INTO events (at, kind, payload, blob)
         SELECT now() - (i || ' seconds')::interval, 'kind-' || (i % 17), jsonb_build_object('i', i, 'tag', md5(i::text)), decode(md5(i::text) || md5((i+1)::text), 'hex')
         FROM generate_series(1, {rows}) i;"
    ))
    .unwrap();
    c.batch_execute("VACUUM ANALYZE events").unwrap();
    let table_bytes: i64 = c.query_one("SELECT pg_table_size('events')", &[]).unwrap().get(0);
    let ours = time(|| {
        vault
            .snapshot_postgres(
                &pg.url("postgres"),
                &PgScope::Tables(vec!["events".into()]),
                "events",
                None,
                None,
            )
            .unwrap();
    });
    let dump = root.join("events.dump");
    let pg_bin = "/usr/lib/postgresql/15/bin";
    let peer = time(|| {
        shell(&format!(
            "{pg_bin}/pg_dump -Fc -t events -f {} '{}'",
            dump.display(),
            pg.url("postgres")
        ))
    });
    line(
        "PostgreSQL table snapshot",
        ours,
        peer,
        "pg_dump -Fc -t",
        table_bytes as usize,
    );
    let snap = vault
        .snapshots()
        .unwrap()
        .into_iter()
        .rev()
        .find(|s| s.resource == "events")
        .unwrap();
    c.batch_execute("CREATE DATABASE restore_a").unwrap();
    c.batch_execute("CREATE DATABASE restore_b").unwrap();
    let ours = time(|| {
        vault.restore_postgres(&snap.id, &pg.url("restore_a"), false).unwrap();
    });
    let peer = time(|| {
        shell(&format!(
            "{pg_bin}/pg_restore -d '{}' {}",
            pg.url("restore_b"),
            dump.display()
        ))
    });
    line(
        "PostgreSQL table restore",
        ours,
        peer,
        "pg_restore",
        table_bytes as usize,
    );
    drop(pg);
    let _ = std::fs::remove_dir_all(&root);
}
