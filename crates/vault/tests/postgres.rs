//! PostgreSQL snapshots against a real cluster started by the harness.

mod pgcluster;

use airlock_vault::{Key, LocalBackend, PgScope, Vault, VaultError};
use pgcluster::Cluster;

const SCHEMA: &str = r#"
CREATE TABLE customers (
    id serial PRIMARY KEY,
    email text UNIQUE NOT NULL,
    tags text[],
    profile jsonb,
    avatar bytea,
    score numeric(10,2) CHECK (score >= 0),
    created timestamptz DEFAULT now()
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id int REFERENCES customers (id),
    note text,
    total_cents int NOT NULL,
    total numeric GENERATED ALWAYS AS (total_cents / 100.0) STORED
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE TABLE empty_table (x int);
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Mixed ""Case"" Table" (v text);
INSERT INTO customers (email, tags, profile, avatar, score) VALUES
  ('a@x.io', ARRAY['vip','eu'], '{"lang": "fr", "n": [1,2]}', '\x00ff10'::bytea, 12.50),
  ('b@x.io', NULL, NULL, NULL, NULL),
  ('c@x.io', '{}', '{}', ''::bytea, 0);
INSERT INTO orders (customer_id, note, total_cents) SELECT 1 + (i % 3), CASE WHEN i % 5 = 0 THEN NULL ELSE 'order ' || i END, i * 7 FROM generate_series(1, 2000) i;
INSERT INTO "Odd Schema"."Mixed ""Case"" Table" VALUES ('tab	and "quote"'), (NULL);
SELECT setval('customers_id_seq', 40);
"#;

fn rows(c: &mut postgres::Client, sql: &str) -> Vec<String> {
    c.query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect()
}

fn fingerprint(c: &mut postgres::Client) -> Vec<Vec<String>> {
    vec![
        rows(c, "SELECT t::text FROM customers t ORDER BY id"),
        rows(c, "SELECT t::text FROM orders t ORDER BY id"),
        rows(c, "SELECT count(*)::text FROM empty_table"),
        rows(c, r#"SELECT coalesce(v, '<null>') FROM "Odd Schema"."Mixed ""Case"" Table" ORDER BY 1"#),
        rows(c, "SELECT last_value::text || is_called::text FROM customers_id_seq"),
        rows(c, "SELECT conname::text || ':' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid IN ('customers'::regclass, 'orders'::regclass) ORDER BY 1"),
        rows(c, "SELECT indexname::text FROM pg_indexes WHERE tablename IN ('customers', 'orders') ORDER BY 1"),
    ]
}

fn vault(name: &str) -> (Vault, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("airlock-pgvault-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (
        Vault::create(LocalBackend::new(dir.join("vault")).unwrap(), Key::generate().unwrap()).unwrap(),
        dir,
    )
}

#[test]
fn tables_round_trip_with_awkward_data_sequences_constraints_and_indexes() {
    let pg = Cluster::start("roundtrip");
    let mut c = pg.client("postgres");
    c.batch_execute(SCHEMA).unwrap();
    let before = fingerprint(&mut c);
    let (v, dir) = vault("roundtrip");
    let scope = PgScope::Tables(vec![
        "customers".into(),
        "orders".into(),
        "empty_table".into(),
        "Odd Schema.Mixed \"Case\" Table".into(),
    ]);
    // Trust auth ignores the password; the manifest must not keep it.
    let with_password = pg.url("postgres").replace("postgres@", "postgres:s3cret-pw@");
    let snap = v
        .snapshot_postgres(&with_password, &scope, "shop", Some("act"), None)
        .unwrap();
    assert!(!snap.origin.contains("s3cret-pw"), "{}", snap.origin);

    // Restoring over existing tables is refused; nothing changes.
    assert!(matches!(
        v.restore_postgres(&snap.id, &pg.url("postgres"), false),
        Err(VaultError::WouldClobber(_))
    ));

    c.batch_execute(
        r#"DROP TABLE orders; DROP TABLE customers; DROP TABLE empty_table; DROP SCHEMA "Odd Schema" CASCADE;"#,
    )
    .unwrap();
    v.restore_postgres(&snap.id, &pg.url("postgres"), false).unwrap();
    let mut c = pg.client("postgres");
    assert_eq!(fingerprint(&mut c), before);
    // The sequence continues where it was, identity too, and constraints hold.
    let next: i32 = c
        .query_one("INSERT INTO customers (email) VALUES ('new@x.io') RETURNING id", &[])
        .unwrap()
        .get(0);
    assert_eq!(next, 41);
    let next_order: i64 = c
        .query_one(
            "INSERT INTO orders (customer_id, total_cents) VALUES (1, 5) RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(next_order, 2001);
    assert!(c
        .execute("INSERT INTO customers (email, score) VALUES ('neg@x.io', -1)", &[])
        .is_err());
    assert!(c
        .execute("INSERT INTO orders (customer_id, total_cents) VALUES (999, 1)", &[])
        .is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_whole_database_restores_into_another_database_and_dedups() {
    let pg = Cluster::start("database");
    let mut c = pg.client("postgres");
    c.batch_execute("CREATE DATABASE shop").unwrap();
    c.batch_execute("CREATE DATABASE shop_restored").unwrap();
    let mut shop = pg.client("shop");
    shop.batch_execute(SCHEMA).unwrap();
    let before = fingerprint(&mut shop);
    let (v, dir) = vault("database");
    let first = v
        .snapshot_postgres(&pg.url("shop"), &PgScope::Database, "shop", None, None)
        .unwrap();
    let second = v
        .snapshot_postgres(&pg.url("shop"), &PgScope::Database, "shop", None, None)
        .unwrap();
    assert!(
        (second.stored as f64) < first.bytes as f64 * 0.05 + 4096.0,
        "second snapshot stored {} of {}",
        second.stored,
        first.bytes
    );
    v.restore_postgres(&first.id, &pg.url("shop_restored"), false).unwrap();
    let mut restored = pg.client("shop_restored");
    assert_eq!(fingerprint(&mut restored), before);
    assert!(v.check(true).unwrap().problems.is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_missing_table_is_a_clear_error() {
    let pg = Cluster::start("missing");
    let (v, dir) = vault("missing");
    let err = v
        .snapshot_postgres(
            &pg.url("postgres"),
            &PgScope::Tables(vec!["nope".into()]),
            "x",
            None,
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("no table public.nope"), "{err}");
    assert!(v.snapshots().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_damaged_snapshot_never_reaches_the_database() {
    let pg = Cluster::start("damaged");
    let mut c = pg.client("postgres");
    c.batch_execute(SCHEMA).unwrap();
    let (v, dir) = vault("damaged");
    let snap = v
        .snapshot_postgres(
            &pg.url("postgres"),
            &PgScope::Tables(vec!["orders".into()]),
            "shop",
            None,
            None,
        )
        .unwrap();
    c.batch_execute("DROP TABLE orders").unwrap();
    for pack in std::fs::read_dir(dir.join("vault/packs")).unwrap() {
        let pack = pack.unwrap().path();
        let mut bytes = std::fs::read(&pack).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x80;
        std::fs::write(&pack, bytes).unwrap();
    }
    let err = v.restore_postgres(&snap.id, &pg.url("postgres"), false).unwrap_err();
    assert!(matches!(err, VaultError::Corrupt(_)), "{err}");
    let exists: bool = c
        .query_one("SELECT to_regclass('orders') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!exists, "the failed restore must leave nothing behind");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_dropped_database_is_created_again_on_restore() {
    let pg = Cluster::start("dropdb");
    let mut c = pg.client("postgres");
    c.batch_execute("CREATE DATABASE doomed").unwrap();
    let mut doomed = pg.client("doomed");
    doomed.batch_execute(SCHEMA).unwrap();
    let before = fingerprint(&mut doomed);
    drop(doomed);
    let (v, dir) = vault("dropdb");
    let snap = v
        .snapshot_postgres(&pg.url("doomed"), &PgScope::Database, "doomed", None, None)
        .unwrap();
    c.batch_execute("DROP DATABASE doomed").unwrap();
    v.restore_postgres(&snap.id, &pg.url("doomed"), false).unwrap();
    assert_eq!(fingerprint(&mut pg.client("doomed")), before);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn tables_restore_beside_the_originals_under_another_schema() {
    let pg = Cluster::start("beside");
    let mut c = pg.client("postgres");
    c.batch_execute(SCHEMA).unwrap();
    let (v, dir) = vault("beside");
    let snap = v
        .snapshot_postgres(
            &pg.url("postgres"),
            &PgScope::Tables(vec!["customers".into(), "orders".into()]),
            "shop",
            None,
            None,
        )
        .unwrap();
    c.batch_execute("UPDATE orders SET note = 'changed after the snapshot'")
        .unwrap();
    v.restore_postgres_as(&snap.id, &pg.url("postgres"), Some("recovered"), false)
        .unwrap();
    let mut c = pg.client("postgres");
    let old: Vec<String> = rows(
        &mut c,
        "SELECT coalesce(note, '-') FROM recovered.orders ORDER BY id LIMIT 3",
    );
    assert_eq!(old, vec!["order 1", "order 2", "order 3"]);
    let live: i64 = c
        .query_one(
            "SELECT count(*) FROM orders WHERE note = 'changed after the snapshot'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(live, 2000, "the originals are untouched");
    let next: i32 = c
        .query_one(
            "INSERT INTO recovered.customers (email) VALUES ('z@x.io') RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        next, 41,
        "the restored serial has its own sequence at the snapshot's value"
    );
    let _ = std::fs::remove_dir_all(dir);
}
