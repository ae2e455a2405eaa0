//! The Postgres gateway end to end: a real `airlock serve` with `[postgres] listen`, a real
//! PostgreSQL 15 cluster started by the harness (the gateway logs in upstream with SCRAM as a role
//! that needs a password), and real clients: psql, tokio-postgres (through the `postgres` crate),
//! psycopg, and raw protocol bytes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use serde_json::{json, Value};

mod harness;
#[path = "../../vault/tests/pgcluster/mod.rs"]
mod pgcluster;

use harness::Instance;
use pgcluster::Cluster;

const UPSTREAM_PASSWORD: &str = "upstream-secret-Zq8";

struct Gateway {
    pg: Cluster,
    inst: Instance,
    port: u16,
    agent: String,
    alice: PathBuf,
    bob: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_gateway(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the gateway did not start listening");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_token(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned()
}

impl Gateway {
    /// A cluster with databases `shop` (production) and `scratch` (staging), and an Airlock whose
    /// gateway serves both as resources reached as role `app` with a password.
    fn start(name: &str) -> Gateway {
        Gateway::start_with(name, "")
    }

    /// `postgres_extra`: more `[postgres]` settings.
    fn start_with(name: &str, postgres_extra: &str) -> Gateway {
        Gateway::start_full(name, "", postgres_extra)
    }

    /// `server_extra`: `[server]` settings (`hold_wait`; held statements answer at once without it).
    fn start_full(name: &str, server_extra: &str, postgres_extra: &str) -> Gateway {
        let pg = Cluster::start(&format!("gw-{name}"));
        pg.password_role("app", UPSTREAM_PASSWORD);
        let mut admin = pg.client("postgres");
        for db in ["shop", "scratch"] {
            admin.batch_execute(&format!("CREATE DATABASE {db} OWNER app")).unwrap();
        }
        std::env::set_var("AIRLOCK_GW_TEST_PASSWORD", UPSTREAM_PASSWORD);
        let port = free_port();
        let resource = |name: &str, env: &str| {
            format!(
                "\n[[resource]]\nname = \"{name}\"\nkind = \"postgres\"\nenvironment = \"{env}\"\nurl = \"postgres://app@127.0.0.1:{}/{name}\"\nsecret_env = \"AIRLOCK_GW_TEST_PASSWORD\"\n",
                pg.port
            )
        };
        let extra = format!(
            "{server_extra}\n[postgres]\nlisten = \"127.0.0.1:{port}\"\n{postgres_extra}\n{}{}",
            resource("shop", "production"),
            resource("scratch", "staging")
        );
        let mut inst = Instance::new(&format!("gw-{name}"), &extra);
        inst.start();
        wait_for_gateway(port);
        let agent = read_token(&inst.token("claude", &[]));
        let alice = inst.token("alice", &["--operator"]);
        let bob = inst.token("bob", &["--operator"]);
        Gateway {
            pg,
            inst,
            port,
            agent,
            alice,
            bob,
        }
    }

    fn config(&self, db: &str, token: &str) -> postgres::Config {
        let mut c = postgres::Config::new();
        c.host("127.0.0.1")
            .port(self.port)
            .user("any-user-name")
            .password(token)
            .dbname(db)
            .connect_timeout(Duration::from_secs(10));
        c
    }

    fn client(&self, db: &str) -> postgres::Client {
        self.config(db, &self.agent).connect(postgres::NoTls).unwrap()
    }

    fn approve(&self, operator: &Path, id: &str) {
        let out = self.inst.approve(operator, id);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// The held action whose statement is `summary`, once it is pending (waits up to 10 s).
    fn pending_for(&self, summary: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(a) = self.pending().into_iter().find(|a| a["summary"] == summary) {
                return a;
            }
            assert!(Instant::now() < deadline, "{summary:?} was never held");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pending(&self) -> Vec<Value> {
        let out = self.inst.run(
            &["pending", "--json", "--token-file", &self.alice.display().to_string()],
            None,
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn psql(&self, db: &str, args: &[&str]) -> std::process::Output {
        Command::new("psql")
            .args([
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "agent",
                "-d",
                db,
            ])
            .args(args)
            .env("PGPASSWORD", &self.agent)
            .env("PGSSLMODE", "prefer")
            .output()
            .expect("psql must be installed (postgresql-client)")
    }
}

/// The SQLSTATE and message of a failed statement.
fn db_error(e: postgres::Error) -> (SqlState, String) {
    let db = e.as_db_error().unwrap_or_else(|| panic!("not a server error: {e}"));
    let text = format!(
        "{} {} {}",
        db.message(),
        db.detail().unwrap_or(""),
        db.hint().unwrap_or("")
    );
    (db.code().clone(), text)
}

/// The approval id in a held statement's message: `(id abcd1234)`.
fn held_id(text: &str) -> String {
    text.split("(id ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no approval id in {text:?}"))
        .to_owned()
}

#[test]
fn psql_scripts_run_through_the_gateway() {
    let gw = Gateway::start("psql");
    let dir = gw.inst.dir.clone();
    let csv = dir.join("items.csv");
    let script = dir.join("script.sql");
    std::fs::write(
        &script,
        format!(
            "CREATE TABLE items (id int PRIMARY KEY, name text, n numeric);
INSERT INTO items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 1000) g;
BEGIN;
UPDATE items SET name = 'changed' WHERE id = 1;
SELECT name FROM items WHERE id = 1;
COMMIT;
SELECT count(*) AS total FROM items \\; SELECT 'second of two' AS multi;
\\copy items (id, name) TO '{csv}' CSV
CREATE TABLE items_copy (id int, name text);
\\copy items_copy FROM '{csv}' CSV
SELECT 'copied ' || count(*) FROM items_copy;
SELECT name FROM items WHERE id = 2;
SELECT 'rows ' || count(*) FROM (SELECT g, repeat('x', 200) FROM generate_series(1, 300000) g) s;
",
            csv = csv.display()
        ),
    )
    .unwrap();
    let out = gw.psql(
        "scratch",
        &["-v", "ON_ERROR_STOP=1", "-f", &script.display().to_string()],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "changed",
        "1000",
        "second of two",
        "copied 1000",
        "item 2",
        "rows 300000",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing from:\n{stdout}");
    }
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 1000);

    // Describing the database (psql's catalog queries) is never held.
    let out = gw.psql(
        "scratch",
        &[
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "\\d items",
            "-c",
            "\\d+ items",
            "-c",
            "\\l",
            "-c",
            "\\df",
            "-c",
            "\\du",
            "-c",
            "\\dn",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("items_pkey"));

    // A held statement: psql prints Airlock's reason and hint, and the table stays.
    let out = gw.psql("scratch", &["-c", "DROP TABLE items"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("Airlock held this statement") && stderr.contains("airlock approve"),
        "{stderr}"
    );
    let n: i64 = gw
        .pg
        .client("scratch")
        .query_one("SELECT count(*) FROM items", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1000);
}

#[test]
fn tokio_postgres_simple_extended_copy_cancel_and_notify() {
    let gw = Gateway::start("tokio");
    let mut c = gw.client("scratch");
    // Simple protocol, several statements in one Query.
    c.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, body bytea, tags text[]); CREATE INDEX t_tags ON t USING gin (tags)",
    )
    .unwrap();
    // Extended protocol: a named prepared statement run many times, with binary parameters.
    let insert = c.prepare("INSERT INTO t VALUES ($1, $2, $3)").unwrap();
    for i in 0..200i32 {
        let body: Vec<u8> = (0..=255u8).map(|b| b.wrapping_add(i as u8)).collect();
        c.execute(&insert, &[&i, &body, &vec![format!("tag{}", i % 7)]])
            .unwrap();
    }
    // Unnamed statements each time.
    let rows = c
        .query(
            "SELECT id, body FROM t WHERE id < $1 AND $2 = ANY(tags) ORDER BY id",
            &[&50i32, &"tag3"],
        )
        .unwrap();
    assert_eq!(rows.len(), 7);
    let body: Vec<u8> = rows[0].get(1);
    assert_eq!(body.len(), 256);
    assert_eq!(body[0], 3);
    // Transactions.
    let mut tx = c.transaction().unwrap();
    tx.execute("INSERT INTO t (id) VALUES (1000)", &[]).unwrap();
    tx.rollback().unwrap();
    let mut tx = c.transaction().unwrap();
    tx.execute("INSERT INTO t (id) VALUES (1001)", &[]).unwrap();
    tx.commit().unwrap();
    let ids: Vec<i32> = c
        .query("SELECT id FROM t WHERE id >= 1000", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ids, vec![1001]);
    // COPY in and out.
    let mut w = c.copy_in("COPY t (id, tags) FROM STDIN").unwrap();
    for i in 5000..15000 {
        writeln!(w, "{i}\t{{copied}}").unwrap();
    }
    assert_eq!(w.finish().unwrap(), 10_000);
    let mut text = String::new();
    c.copy_out("COPY (SELECT id FROM t WHERE 'copied' = ANY(tags) ORDER BY id) TO STDOUT")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text.lines().count(), 10_000);
    assert_eq!(text.lines().last(), Some("14999"));
    // A large result.
    let big = c
        .query("SELECT g, repeat('y', 100) FROM generate_series(1, 150000) g", &[])
        .unwrap();
    assert_eq!(big.len(), 150_000);
    // Cancel: the gateway's key reaches the right upstream backend.
    let cancel = c.cancel_token();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        cancel.cancel_query(postgres::NoTls).unwrap();
    });
    let started = Instant::now();
    let err = c.batch_execute("SELECT pg_sleep(30)").unwrap_err();
    canceller.join().unwrap();
    assert_eq!(db_error(err).0, SqlState::QUERY_CANCELED);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(c.query_one("SELECT 1", &[]).unwrap().get::<_, i32>(0), 1);
    // LISTEN/NOTIFY across two gateway sessions.
    let mut listener = gw.client("scratch");
    listener.batch_execute("LISTEN airlock_test").unwrap();
    c.batch_execute("NOTIFY airlock_test, 'hello'").unwrap();
    let mut n = listener.notifications();
    let got = {
        use postgres::fallible_iterator::FallibleIterator;
        n.timeout_iter(Duration::from_secs(5)).next().unwrap().unwrap()
    };
    assert_eq!(got.payload(), "hello");
}

#[test]
fn psycopg_driver_checks_pass_through_the_gateway() {
    let gw = Gateway::start("psycopg");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pg/tests/drivers/psycopg_check.py");
    let probe = Command::new("python3").args(["-c", "import psycopg"]).output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "psycopg is required: pip install \"psycopg[binary]\" (.ci/run installs it)"
    );
    let out = Command::new("python3")
        .arg(&script)
        .env(
            "DSN",
            format!(
                "host=127.0.0.1 port={} dbname=scratch user=agent password={} sslmode=prefer",
                gw.port, gw.agent
            ),
        )
        .env("EXPECT_GATEWAY", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("11 passed, 0 failed"), "{stdout}");
}

fn users(pg: &Cluster) -> Vec<String> {
    pg.client("shop")
        .query("SELECT u::text FROM users u ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn a_held_drop_table_is_approved_snapshotted_run_once_and_undone() {
    let gw = Gateway::start("drop");
    gw.pg
        .client("shop")
        .batch_execute("SET ROLE app; CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL); INSERT INTO users (email) SELECT 'u' || i || '@x.io' FROM generate_series(1, 500) i;")
        .unwrap();
    let before = users(&gw.pg);
    let mut c = gw.client("shop");
    assert_eq!(
        c.query_one("SELECT count(*) FROM users", &[]).unwrap().get::<_, i64>(0),
        500
    );

    let (code, text) = db_error(c.batch_execute("DROP TABLE users").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(text.contains("destructive") && text.contains("production"), "{text}");
    let id = held_id(&text);
    // The session stays usable.
    assert_eq!(c.query_one("SELECT 1", &[]).unwrap().get::<_, i32>(0), 1);

    // The approver sees the blast radius: the table, its rows and size.
    let (_, delete_text) = db_error(c.batch_execute("DELETE FROM users WHERE id <= 100").unwrap_err());
    let delete_id = held_id(&delete_text);
    let pending = gw.pending();
    let drop = pending.iter().find(|a| a["id"] == id.as_str()).unwrap();
    let table = &drop["blast_radius"]["tables"][0];
    assert_eq!(table["name"], "public.users");
    assert_eq!(table["rows"], 500);
    assert!(table["bytes"].as_i64().unwrap() > 8192);
    let delete = pending.iter().find(|a| a["id"] == delete_id.as_str()).unwrap();
    let estimate = delete["blast_radius"]["planner_rows"].as_f64().unwrap();
    assert!(estimate >= 1.0, "{delete}");
    let human = gw
        .inst
        .run(&["pending", "--token-file", &gw.alice.display().to_string()], None);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("touches: table public.users: 500 rows"), "{human}");
    assert!(human.contains("the planner estimates"), "{human}");
    // The DELETE was only explained, never run.
    assert_eq!(users(&gw.pg).len(), 500);

    // Production: two different people.
    gw.approve(&gw.alice, &id);
    let (code, _) = db_error(c.batch_execute("DROP TABLE users").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE, "one approval is not enough");
    gw.approve(&gw.bob, &id);
    c.batch_execute("DROP TABLE users").unwrap();
    let gone: Option<String> = gw
        .pg
        .client("shop")
        .query_one("SELECT to_regclass('users')::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(gone, None);

    // Once only: the same statement is held again.
    let (code, again) = db_error(c.batch_execute("DROP TABLE users").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_ne!(held_id(&again), id);

    // The snapshot taken before it ran puts everything back.
    let out = gw.inst.run(&["undo", &id], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(users(&gw.pg), before);
    let next: i32 = gw
        .pg
        .client("shop")
        .query_one("INSERT INTO users (email) VALUES ('n@x.io') RETURNING id", &[])
        .unwrap()
        .get(0);
    assert_eq!(next, 501);
}

#[test]
fn an_approved_prepared_statement_runs_once() {
    let gw = Gateway::start("prepared");
    gw.pg
        .client("shop")
        .batch_execute("SET ROLE app; CREATE TABLE audit_trail (id int PRIMARY KEY, note text); INSERT INTO audit_trail SELECT g, 'n' FROM generate_series(1, 50) g;")
        .unwrap();
    let mut c = gw.client("shop");
    // A write in production is held at Parse.
    let (code, text) = db_error(c.prepare("UPDATE audit_trail SET note = $1 WHERE id = $2").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    gw.approve(&gw.alice, &held_id(&text));
    let update = c.prepare("UPDATE audit_trail SET note = $1 WHERE id = $2").unwrap();
    assert_eq!(c.execute(&update, &[&"approved", &1i32]).unwrap(), 1);
    let (code, text) = db_error(c.execute(&update, &[&"again", &2i32]).unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(text.contains("may not run again"), "{text}");
    assert_eq!(c.query_one("SELECT 1", &[]).unwrap().get::<_, i32>(0), 1);
    let notes: Vec<String> = gw
        .pg
        .client("shop")
        .query("SELECT note FROM audit_trail WHERE id <= 2 ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(notes, vec!["approved", "n"]);
}

#[test]
fn a_refused_statement_fails_the_transaction_like_a_server_error() {
    let gw = Gateway::start("txn");
    let mut c = gw.client("scratch");
    c.batch_execute("CREATE TABLE kept (id int)").unwrap();
    c.batch_execute("BEGIN").unwrap();
    c.batch_execute("INSERT INTO kept VALUES (1)").unwrap();
    let (code, _) = db_error(c.batch_execute("DROP TABLE kept").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    let (code, _) = db_error(c.batch_execute("SELECT 1").unwrap_err());
    assert_eq!(code, SqlState::IN_FAILED_SQL_TRANSACTION);
    c.batch_execute("ROLLBACK").unwrap();
    assert_eq!(
        c.query_one("SELECT count(*) FROM kept", &[]).unwrap().get::<_, i64>(0),
        0
    );
    // Extended protocol, same rules.
    let mut tx = c.transaction().unwrap();
    tx.execute("INSERT INTO kept VALUES ($1)", &[&2i32]).unwrap();
    let (code, _) = db_error(tx.execute("TRUNCATE kept", &[]).unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    let (code, _) = db_error(tx.query("SELECT 1", &[]).unwrap_err());
    assert_eq!(code, SqlState::IN_FAILED_SQL_TRANSACTION);
    tx.rollback().unwrap();
    assert_eq!(
        c.query_one("SELECT count(*) FROM kept", &[]).unwrap().get::<_, i64>(0),
        0
    );
}

#[test]
fn tokens_scope_and_wrong_passwords_are_refused_at_connect() {
    let gw = Gateway::start("auth");
    let staging = read_token(&gw.inst.token("stager", &["--env", "staging"]));
    let err = gw
        .config("shop", &staging)
        .connect(postgres::NoTls)
        .err()
        .expect("the connection must be refused");
    let (code, text) = db_error(err);
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(
        text.contains("may reach staging only") && text.contains("production"),
        "{text}"
    );
    // The same token reaches staging.
    let mut ok = gw.config("scratch", &staging).connect(postgres::NoTls).unwrap();
    assert_eq!(ok.query_one("SELECT 1", &[]).unwrap().get::<_, i32>(0), 1);
    // A password inside a statement stays out of the audit log (a new credential is held, and the
    // hold is recorded).
    let held = ok
        .batch_execute("CREATE ROLE airlock_probe LOGIN PASSWORD 'probe-secret-991'")
        .unwrap_err();
    assert!(format!("{held:?}").contains("held this statement"), "{held:?}");

    for wrong in [
        "not-a-token",
        UPSTREAM_PASSWORD,
        "alk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA000000",
    ] {
        let (code, text) = db_error(
            gw.config("scratch", wrong)
                .connect(postgres::NoTls)
                .err()
                .expect("the connection must be refused"),
        );
        assert_eq!(code, SqlState::INVALID_PASSWORD, "{text}");
    }
    // A revoked token no longer connects, and its open session is closed at its next statement once
    // the session rechecks (every 5 s).
    let mut open = gw.config("scratch", &staging).connect(postgres::NoTls).unwrap();
    let id = staging[4..12].to_owned();
    let out = gw.inst.run(&["token", "revoke", &id], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, _) = db_error(
        gw.config("scratch", &staging)
            .connect(postgres::NoTls)
            .err()
            .expect("the connection must be refused"),
    );
    assert_eq!(code, SqlState::INVALID_PASSWORD);
    std::thread::sleep(Duration::from_millis(5500));
    let err = open.batch_execute("SELECT 1").unwrap_err();
    if let Some(db) = err.as_db_error() {
        assert!(db.message().contains("revoked"), "{}", db.message());
    }
    assert!(open.batch_execute("SELECT 1").is_err(), "the session is closed");
    // Unknown database names are refused with the list of what there is.
    let (code, text) = db_error(
        gw.config("nope", &gw.agent)
            .connect(postgres::NoTls)
            .err()
            .expect("the connection must be refused"),
    );
    assert_eq!(code, SqlState::INVALID_CATALOG_NAME);
    assert!(text.contains("shop") && text.contains("scratch"), "{text}");

    // The audit chain has the statements and the refusals, never a token or the upstream password.
    std::thread::sleep(Duration::from_millis(400));
    let log = gw.inst.run(&["log", "--json"], None);
    let text = String::from_utf8_lossy(&log.stdout);
    assert!(text.contains("pg.statements") && text.contains("SELECT 1"), "{text}");
    assert!(text.contains("pg.refused") && text.contains("pg.auth_failed"));
    assert!(text.contains("CREATE ROLE airlock_probe"), "{text}");
    for secret in [
        gw.agent.as_str(),
        staging.as_str(),
        UPSTREAM_PASSWORD,
        "probe-secret-991",
    ] {
        assert!(!text.contains(secret));
    }
    assert!(gw.inst.run(&["log", "--verify"], None).status.success());
    let human = gw.inst.run(&["log"], None);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("allow read") && human.contains("SELECT 1") && human.contains("connected: stager"),
        "{human}"
    );
}

/// A raw, authenticated protocol session (SCRAM done by hand with postgres-protocol's client).
fn raw_session(gw: &Gateway) -> TcpStream {
    use postgres_protocol::authentication::sasl::{ChannelBinding, ScramSha256};
    use postgres_protocol::message::frontend;
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = bytes::BytesMut::new();
    frontend::startup_message([("user", "raw"), ("database", "scratch")], &mut buf).unwrap();
    s.write_all(&buf).unwrap();
    let mut scram = ScramSha256::new(gw.agent.as_bytes(), ChannelBinding::unsupported());
    loop {
        let (tag, body) = read_message(&mut s);
        buf.clear();
        match (tag, body.get(..4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))) {
            (b'R', Some(10)) => frontend::sasl_initial_response("SCRAM-SHA-256", scram.message(), &mut buf).unwrap(),
            (b'R', Some(11)) => {
                scram.update(&body[4..]).unwrap();
                frontend::sasl_response(scram.message(), &mut buf).unwrap();
            }
            (b'R', Some(12)) => scram.finish(&body[4..]).unwrap(),
            (b'Z', _) => return s,
            (b'E', _) => panic!("authentication failed: {}", String::from_utf8_lossy(&body)),
            _ => {}
        }
        s.write_all(&buf).unwrap();
    }
}

fn read_message(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).unwrap();
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    let mut body = vec![0u8; len - 4];
    s.read_exact(&mut body).unwrap();
    (head[0], body)
}

/// What the gateway says before it closes: the ErrorResponse's SQLSTATE, then end of stream.
fn error_then_close(s: &mut TcpStream) -> String {
    let (tag, body) = read_message(s);
    assert_eq!(tag, b'E', "{}", String::from_utf8_lossy(&body));
    let code = body
        .split(|&b| b == 0)
        .find_map(|f| f.strip_prefix(b"C"))
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "the connection should close after the error");
    code
}

#[test]
fn malformed_and_oversized_messages_close_only_their_connection() {
    let gw = Gateway::start("garbage");
    let mut bystander = gw.client("scratch");
    bystander.batch_execute("CREATE TABLE survivors (id int)").unwrap();

    // Garbage after authenticating: an unknown message type.
    let mut s = raw_session(&gw);
    s.write_all(b"\x01\x02\x03 this is not the postgres protocol \xff\xfe")
        .unwrap();
    assert_eq!(error_then_close(&mut s), "08P01");

    // A length that cannot be.
    let mut s = raw_session(&gw);
    s.write_all(b"Q\x00\x00\x00\x01").unwrap();
    assert_eq!(error_then_close(&mut s), "08P01");

    // A statement larger than the gateway judges.
    let mut s = raw_session(&gw);
    let mut query = b"SELECT '".to_vec();
    query.extend(std::iter::repeat_n(b'x', 2 << 20));
    query.extend_from_slice(b"'\0");
    let mut msg = vec![b'Q'];
    msg.extend(((query.len() + 4) as u32).to_be_bytes());
    msg.extend(query);
    let _ = s.write_all(&msg);
    assert_eq!(error_then_close(&mut s), "54000");

    // A malformed Parse (its parameter count runs past its end).
    let mut s = raw_session(&gw);
    s.write_all(b"P\x00\x00\x00\x10\x00SELECT 1\x00\x00\x09").unwrap();
    assert_eq!(error_then_close(&mut s), "08P01");

    // Garbage instead of a startup packet.
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"\x00\x00\x00\x10GET / HTTP/1.1\r\n").unwrap();
    assert_eq!(error_then_close(&mut s), "08P01");

    // Random bytes after authenticating, many times: every connection ends with an error, and
    // the gateway keeps serving.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..30 {
        let mut s = raw_session(&gw);
        let junk: Vec<u8> = (0..64)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let _ = s.write_all(&junk);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    bystander.batch_execute("INSERT INTO survivors VALUES (1)").unwrap();
    let mut fresh = gw.client("scratch");
    assert_eq!(
        fresh
            .query_one("SELECT count(*) FROM survivors", &[])
            .unwrap()
            .get::<_, i64>(0),
        1
    );
}

#[test]
fn a_statement_shape_seen_before_never_lets_a_tautology_through() {
    let gw = Gateway::start("shapes");
    let mut c = gw.client("scratch");
    c.batch_execute("CREATE TABLE rows_kept (id int, name text); INSERT INTO rows_kept SELECT g, 'n' || g FROM generate_series(1, 20) g")
        .unwrap();
    // Same shape, different literals: a targeted delete, a no-op, and then the unbounded one.
    c.batch_execute("DELETE FROM rows_kept WHERE 1 = 0").unwrap();
    c.batch_execute("DELETE FROM rows_kept WHERE id = 1").unwrap();
    c.batch_execute("DELETE FROM rows_kept WHERE id = 2").unwrap();
    let (code, _) = db_error(c.batch_execute("DELETE FROM rows_kept WHERE 1 = 1").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    let (code, _) = db_error(
        c.batch_execute("DELETE FROM rows_kept WHERE name LIKE '%'")
            .unwrap_err(),
    );
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    // A parameter that could make the WHERE true for every row is not judged a targeted write.
    let (code, text) = db_error(
        c.execute("DELETE FROM rows_kept WHERE name LIKE $1", &[&"%"])
            .unwrap_err(),
    );
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE, "{text}");
    assert_eq!(c.execute("DELETE FROM rows_kept WHERE id = $1", &[&3i32]).unwrap(), 1);
    assert_eq!(
        c.query_one("SELECT count(*) FROM rows_kept", &[])
            .unwrap()
            .get::<_, i64>(0),
        17
    );
}

#[test]
fn with_a_certificate_clients_must_use_tls() {
    let dir = harness::unique("tls-cert");
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = certificate(&dir, "gateway");
    let gw = Gateway::start_with(
        "tls",
        &format!("tls_cert = \"{}\"\ntls_key = \"{}\"", cert.display(), key.display()),
    );
    let out = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} dbname=scratch user=agent sslmode=require",
            gw.port
        ))
        .args(["-X", "-c", "\\conninfo", "-c", "SELECT 'over tls'"])
        .env("PGPASSWORD", &gw.agent)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("SSL connection") && stdout.contains("over tls"),
        "{stdout}"
    );
    // Plain text is refused, with what to do.
    let out = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} dbname=scratch user=agent sslmode=disable",
            gw.port
        ))
        .args(["-X", "-c", "SELECT 1"])
        .env("PGPASSWORD", &gw.agent)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("TLS connections only") && stderr.contains("sslmode=require"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cleanly_closed_session_is_reset_and_reused() {
    let gw = Gateway::start("pool");
    let pid_and_state = |c: &mut postgres::Client| -> (i32, String) {
        let row = c
            .query_one("SELECT pg_backend_pid(), current_setting('application_name')", &[])
            .unwrap();
        (row.get(0), row.get(1))
    };
    let mut first = gw.client("scratch");
    first.batch_execute("SET application_name = 'left behind'").unwrap();
    let (pid, name) = pid_and_state(&mut first);
    assert_eq!(name, "left behind");
    drop(first); // Terminate: a clean end.
    std::thread::sleep(Duration::from_millis(300));
    let mut second = gw.client("scratch");
    let (again, name) = pid_and_state(&mut second);
    assert_eq!(again, pid, "the idle upstream session is reused");
    assert_eq!(name, "", "and reset (DISCARD ALL) before reuse");
    // A session left inside a transaction is not reused.
    second.batch_execute("BEGIN").unwrap();
    drop(second);
    std::thread::sleep(Duration::from_millis(300));
    let mut third = gw.client("scratch");
    let (fresh, _) = pid_and_state(&mut third);
    assert_ne!(fresh, pid);
}

/// A self-signed certificate for `127.0.0.1`, usable as its own root.
fn certificate(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .args([
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed (.ci/run installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (cert, key)
}

#[test]
fn the_gateway_reaches_a_database_that_accepts_tls_only() {
    let pg = Cluster::start("gw-upstream-tls");
    pg.password_role("app", UPSTREAM_PASSWORD);
    let (cert, key) = certificate(&pg.dir, "server");
    let (other_cert, _) = certificate(&pg.dir, "stranger");
    assert!(Command::new("chown")
        .arg("postgres")
        .arg(&cert)
        .arg(&key)
        .status()
        .unwrap()
        .success());
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut admin = pg.client("postgres");
    for setting in [
        format!("ssl_cert_file = '{}'", cert.display()),
        format!("ssl_key_file = '{}'", key.display()),
        "ssl = on".to_owned(),
    ] {
        admin.batch_execute(&format!("ALTER SYSTEM SET {setting}")).unwrap();
    }
    let hba = pg.dir.join("data/pg_hba.conf");
    let old = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("hostnossl all app 127.0.0.1/32 reject\n{old}")).unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    admin.batch_execute("CREATE DATABASE secure OWNER app").unwrap();

    std::env::set_var("AIRLOCK_GW_TEST_PASSWORD", UPSTREAM_PASSWORD);
    let port = free_port();
    let resource = |name: &str, query: &str| {
        format!(
            "\n[[resource]]\nname = \"{name}\"\nkind = \"postgres\"\nenvironment = \"staging\"\nurl = \"postgres://app@127.0.0.1:{}/secure?{query}\"\nsecret_env = \"AIRLOCK_GW_TEST_PASSWORD\"\n",
            pg.port
        )
    };
    let extra = format!(
        "\n[postgres]\nlisten = \"127.0.0.1:{port}\"\n{}{}{}",
        resource(
            "verified",
            &format!("sslmode=verify-full&sslrootcert={}", cert.display())
        ),
        resource("encrypted", "sslmode=require"),
        resource(
            "wrong-root",
            &format!("sslmode=verify-full&sslrootcert={}", other_cert.display())
        ),
    );
    let mut inst = Instance::new("gw-upstream-tls", &extra);
    inst.start();
    wait_for_gateway(port);
    let token = read_token(&inst.token("claude", &[]));
    let connect = |db: &str| {
        let mut c = postgres::Config::new();
        c.host("127.0.0.1").port(port).user("agent").password(&token).dbname(db);
        c.connect(postgres::NoTls)
    };
    for db in ["verified", "encrypted"] {
        let mut c = connect(db).unwrap();
        let ssl: bool = c
            .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
            .unwrap()
            .get(0);
        assert!(ssl, "{db}: the upstream session must use TLS");
    }
    // The measuring connection reaches it over TLS too: a held statement's names resolve there.
    let alice = inst.token("alice", &["--operator"]);
    let mut c = connect("verified").unwrap();
    c.batch_execute("CREATE TABLE kept_tls (id int)").unwrap();
    let (code, _) = db_error(c.batch_execute("TRUNCATE kept_tls").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    let out = inst.run(
        &["pending", "--json", "--token-file", &alice.display().to_string()],
        None,
    );
    let pending: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let held = pending.iter().find(|a| a["summary"] == "TRUNCATE kept_tls").unwrap();
    assert_eq!(evidence_for(held, "kept_tls")["resolved"], "public.kept_tls", "{held}");
    let (code, text) = db_error(
        connect("wrong-root")
            .err()
            .expect("a certificate from another root is refused"),
    );
    assert_eq!(code, SqlState::CONNECTION_FAILURE);
    assert!(
        text.contains("TLS") && text.to_lowercase().contains("certificate"),
        "{text}"
    );
}

#[test]
fn startup_options_that_change_server_settings_are_refused() {
    let gw = Gateway::start("options");
    let mut config = gw.config("scratch", &gw.agent);
    config.options("-c session_replication_role=replica");
    let (code, text) = db_error(config.connect(postgres::NoTls).err().expect("options must be refused"));
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(
        text.contains("\"options\"") && text.contains("SET statements"),
        "{text}"
    );
    // Formatting parameters pass.
    let mut config = gw.config("scratch", &gw.agent);
    config.application_name("airlock-test");
    let mut c = config.connect(postgres::NoTls).unwrap();
    let name: String = c.query_one("SHOW application_name", &[]).unwrap().get(0);
    assert_eq!(name, "airlock-test");
}

#[test]
fn sql_level_prepare_and_execute_run_what_was_judged() {
    let gw = Gateway::start("sqlprepare");
    let mut c = gw.client("scratch");
    c.batch_execute("CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes SELECT g, 'n' FROM generate_series(1, 10) g")
        .unwrap();
    // A read, prepared once, executed as often as the agent likes.
    c.batch_execute("PREPARE one_note (int) AS SELECT body FROM notes WHERE id = $1")
        .unwrap();
    for id in 1..4 {
        c.batch_execute(&format!("EXECUTE one_note({id})")).unwrap();
    }
    c.batch_execute("DEALLOCATE one_note").unwrap();
    let (code, _) = db_error(c.batch_execute("EXECUTE one_note(1)").unwrap_err());
    assert_eq!(
        code,
        SqlState::INSUFFICIENT_PRIVILEGE,
        "a name no longer prepared is unknown again"
    );
    // A destructive one is held at PREPARE; approved, it executes once.
    let (code, text) = db_error(c.batch_execute("PREPARE wipe AS DELETE FROM notes").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    gw.approve(&gw.alice, &held_id(&text));
    c.batch_execute("PREPARE wipe AS DELETE FROM notes").unwrap();
    c.batch_execute("EXECUTE wipe").unwrap();
    let (code, text) = db_error(c.batch_execute("EXECUTE wipe").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(text.contains("may not run again"), "{text}");
}

/// Every row of a table as text, in order: what "byte for byte" compares.
fn rows_of(pg: &Cluster, db: &str, table: &str) -> Vec<String> {
    pg.client(db)
        .query(&format!("SELECT t::text FROM {table} t ORDER BY 1"), &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The evidence item of a held action for the name `name`.
fn evidence_for(action: &Value, name: &str) -> Value {
    action["evidence"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no evidence for {name} in {}", action["evidence"]))
}

/// The red-team trial: an approval given for `public.tmp_import` is not spent on the other schema's
/// table of the same name after a `SET search_path`; the new hold shows what the name means now,
/// and its snapshot copies that table, so `airlock undo` brings its 100 rows back.
#[test]
fn an_approval_covers_only_the_relations_its_names_meant() {
    let gw = Gateway::start("search-path");
    gw.pg
        .client("shop")
        .batch_execute(
            "SET ROLE app;
             CREATE TABLE public.tmp_import (id int PRIMARY KEY, note text);
             INSERT INTO public.tmp_import VALUES (1, 'the only public row');
             CREATE SCHEMA other;
             CREATE TABLE other.tmp_import (id int PRIMARY KEY, note text, amount numeric(12,2), raw bytea, at timestamptz);
             INSERT INTO other.tmp_import
               SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'row ' || g || ' é✓' END, g * 1.25,
                      decode(md5(g::text), 'hex'), '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour'
               FROM generate_series(1, 100) g;",
        )
        .unwrap();
    let other_before = rows_of(&gw.pg, "shop", "other.tmp_import");
    let public_before = rows_of(&gw.pg, "shop", "public.tmp_import");
    assert_eq!(other_before.len(), 100);
    let mut c = gw.client("shop");

    let (code, text) = db_error(c.batch_execute("DROP TABLE tmp_import").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    let first = held_id(&text);
    let held = gw.pending_for("DROP TABLE tmp_import");
    assert_eq!(held["id"], first.as_str());
    let table = &held["blast_radius"]["tables"][0];
    assert_eq!(
        (&table["name"], &table["rows"]),
        (&json!("public.tmp_import"), &json!(1)),
        "{held}"
    );
    let e = evidence_for(&held, "tmp_import");
    assert_eq!(
        (&e["resolved"], &e["object"]),
        (&json!("public.tmp_import"), &json!("table"))
    );
    assert_eq!(
        held["snapshot_plan"]["items"][0]["tables"],
        json!(["public.tmp_import"])
    );
    gw.approve(&gw.alice, &first);
    gw.approve(&gw.bob, &first);

    // The agent changes what the name means, then spends the approval: refused, held again.
    c.batch_execute("SET search_path = other, public").unwrap();
    let (code, text) = db_error(c.batch_execute("DROP TABLE tmp_import").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(
        text.contains("changed since it was approved") && text.contains("other.tmp_import"),
        "{text}"
    );
    let second = held_id(&text);
    assert_ne!(second, first);
    assert_eq!(rows_of(&gw.pg, "shop", "other.tmp_import"), other_before);
    assert_eq!(rows_of(&gw.pg, "shop", "public.tmp_import"), public_before);
    let held = gw.pending_for("DROP TABLE tmp_import");
    assert_eq!(held["id"], second.as_str());
    assert_eq!(held["supersedes"]["action"], first.as_str());
    let table = &held["blast_radius"]["tables"][0];
    assert_eq!(
        (&table["name"], &table["rows"]),
        (&json!("other.tmp_import"), &json!(100)),
        "{held}"
    );
    assert_eq!(held["snapshot_plan"]["items"][0]["tables"], json!(["other.tmp_import"]));
    let human = gw
        .inst
        .run(&["pending", "--token-file", &gw.alice.display().to_string()], None);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("touches: table other.tmp_import: 100 rows"), "{human}");

    // Approved as it now stands, it runs once, after a snapshot of the table it really drops.
    gw.approve(&gw.alice, &second);
    gw.approve(&gw.bob, &second);
    c.batch_execute("DROP TABLE tmp_import").unwrap();
    let exists = |name: &str| -> bool {
        gw.pg
            .client("shop")
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
            .unwrap()
            .get(0)
    };
    assert!(!exists("other.tmp_import"));
    assert_eq!(rows_of(&gw.pg, "shop", "public.tmp_import"), public_before);
    let out = gw.inst.run(&["undo", &second], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(rows_of(&gw.pg, "shop", "other.tmp_import"), other_before);

    // Asking the session takes no snapshot: after an approved LOCK (which takes none either), the
    // transaction may still choose its isolation level, as it must before its first query.
    let lock = "LOCK TABLE public.tmp_import IN ACCESS EXCLUSIVE MODE";
    let (_, text) = db_error(c.batch_execute(lock).unwrap_err());
    gw.approve(&gw.alice, &held_id(&text));
    c.batch_execute("BEGIN").unwrap();
    c.batch_execute(lock).unwrap();
    c.batch_execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE").unwrap();
    c.batch_execute("COMMIT").unwrap();
    // (Whereas any query would have fixed it.)
    c.batch_execute("BEGIN; SELECT 1").unwrap();
    let (code, _) = db_error(
        c.batch_execute("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            .unwrap_err(),
    );
    assert_eq!(code, SqlState::ACTIVE_SQL_TRANSACTION);
    c.batch_execute("ROLLBACK").unwrap();
}

#[test]
fn a_table_dropped_and_recreated_after_the_approval_is_another_table() {
    let gw = Gateway::start("recreated");
    let mut c = gw.client("scratch");
    c.batch_execute("CREATE TABLE ledger (id int); INSERT INTO ledger VALUES (1), (2)")
        .unwrap();
    let (_, text) = db_error(c.batch_execute("DROP TABLE ledger").unwrap_err());
    let first = held_id(&text);
    gw.approve(&gw.alice, &first);
    // Someone replaces the table under the same name (a new OID) before the approval is spent.
    gw.pg
        .client("scratch")
        .batch_execute("SET ROLE app; DROP TABLE ledger; CREATE TABLE ledger (id int, important text); INSERT INTO ledger VALUES (3, 'new')")
        .unwrap();
    let (code, text) = db_error(c.batch_execute("DROP TABLE ledger").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(
        text.contains("changed since it was approved") && text.contains("oid"),
        "{text}"
    );
    assert_ne!(held_id(&text), first);
    assert_eq!(rows_of(&gw.pg, "scratch", "ledger"), vec!["(3,new)".to_owned()]);
}

/// The gateway asks the session itself, however it changed how it reads names; when the session
/// cannot answer, the statement's evidence is unknown and no approval can cover it.
#[test]
fn the_session_is_asked_how_it_reads_names() {
    let gw = Gateway::start("asked");
    let mut c = gw.client("scratch");
    c.batch_execute(
        "CREATE TABLE tmp_import (id int); INSERT INTO tmp_import VALUES (1);
         CREATE SCHEMA other; CREATE TABLE other.tmp_import (id int); INSERT INTO other.tmp_import SELECT generate_series(1, 3)",
    )
    .unwrap();
    let resolved = |sql: &str| -> String {
        let a = gw.pending_for(sql);
        evidence_for(&a, "tmp_import")["resolved"].as_str().unwrap().to_owned()
    };
    // set_config() in a query.
    c.query_one("SELECT set_config('search_path', 'other, public', false)", &[])
        .unwrap();
    let (code, _) = db_error(c.batch_execute("TRUNCATE tmp_import").unwrap_err());
    assert_eq!(code, SqlState::INSUFFICIENT_PRIVILEGE);
    assert_eq!(resolved("TRUNCATE tmp_import"), "other.tmp_import");
    c.batch_execute("RESET search_path").unwrap();
    // SET LOCAL inside a transaction, which ends with it.
    c.batch_execute("BEGIN; SET LOCAL search_path = other, public").unwrap();
    let _ = c.batch_execute("DELETE FROM tmp_import").unwrap_err();
    assert_eq!(resolved("DELETE FROM tmp_import"), "other.tmp_import");
    c.batch_execute("ROLLBACK").unwrap();
    let _ = c.batch_execute("TRUNCATE TABLE tmp_import").unwrap_err();
    assert_eq!(resolved("TRUNCATE TABLE tmp_import"), "public.tmp_import");
    // After a COPY FROM STDIN over the extended protocol (whose first Sync the server ignores),
    // the session can still be asked.
    let mut w = c.copy_in("COPY tmp_import FROM STDIN").unwrap();
    w.write_all(b"2\n3\n").unwrap();
    assert_eq!(w.finish().unwrap(), 2);
    let _ = c.batch_execute("TRUNCATE ONLY tmp_import").unwrap_err();
    assert_eq!(resolved("TRUNCATE ONLY tmp_import"), "public.tmp_import");
    // In a failed transaction the session cannot answer: held (the client hears 25P02, as from
    // any statement there), with why, and never approvable.
    c.batch_execute("BEGIN").unwrap();
    let _ = c.batch_execute("SELECT 1/0").unwrap_err();
    let (code, _) = db_error(c.batch_execute("DROP TABLE tmp_import").unwrap_err());
    assert_eq!(code, SqlState::IN_FAILED_SQL_TRANSACTION);
    c.batch_execute("ROLLBACK").unwrap();
    assert_eq!(c.query_one("SELECT 1", &[]).unwrap().get::<_, i32>(0), 1);
    let aborted = gw.pending_for("DROP TABLE tmp_import");
    let why = evidence_for(&aborted, "(session)");
    assert!(why["why"].as_str().unwrap().contains("25P02"), "{why}");
    gw.approve(&gw.alice, aborted["id"].as_str().unwrap());
    let (code, text) = db_error(c.batch_execute("DROP TABLE tmp_import").unwrap_err());
    assert_eq!(
        code,
        SqlState::INSUFFICIENT_PRIVILEGE,
        "an unknown reading is never approved"
    );
    assert!(text.contains("changed since it was approved"), "{text}");
    // A temporary table may shadow the name: which one the session means is not known.
    c.batch_execute("CREATE TEMP TABLE tmp_import (x int)").unwrap();
    let _ = c.batch_execute("DROP TABLE tmp_import CASCADE").unwrap_err();
    let shadowed = gw.pending_for("DROP TABLE tmp_import CASCADE");
    let why = evidence_for(&shadowed, "tmp_import");
    assert!(why["why"].as_str().unwrap().contains("temporary"), "{why}");
    assert_eq!(
        rows_of(&gw.pg, "scratch", "public.tmp_import"),
        vec!["(1)".to_owned(), "(2)".to_owned(), "(3)".to_owned()]
    );
}

/// Raw protocol: the gateway's question to the session, in a pipeline and around the extended
/// protocol, never shows in what the client reads, and leaves the client's unnamed statement be.
#[test]
fn the_question_to_the_session_never_reaches_the_client() {
    use postgres_protocol::message::frontend;
    let gw = Gateway::start("question");
    gw.client("scratch")
        .batch_execute("CREATE TABLE rawt (id int); INSERT INTO rawt VALUES (1)")
        .unwrap();
    let mut s = raw_session(&gw);
    let mut buf = bytes::BytesMut::new();
    // A read, a held Parse/Bind/Execute/Sync and another read, in one write.
    frontend::query("SELECT 1", &mut buf).unwrap();
    frontend::parse("d", "DROP TABLE rawt", [], &mut buf).unwrap();
    bind(&mut buf, "", "d", &[]);
    frontend::execute("", 0, &mut buf).unwrap();
    frontend::sync(&mut buf);
    frontend::query("SELECT 2", &mut buf).unwrap();
    s.write_all(&buf).unwrap();
    let replies = read_replies(&mut s, 3);
    assert_eq!(tags(&replies), "TDCZ EZ TDCZ");
    let id = held_id(&String::from_utf8_lossy(&replies[4].1));

    // A second held statement inside the same extended batch: the session cannot be asked before
    // the client's Sync, so its evidence is unknown — at once, not after a wait.
    buf.clear();
    for table in ["rawt", "rawt2"] {
        frontend::parse("", &format!("TRUNCATE {table}"), [], &mut buf).unwrap();
        bind(&mut buf, "", "", &[]);
        frontend::execute("", 0, &mut buf).unwrap();
    }
    frontend::sync(&mut buf);
    let started = Instant::now();
    s.write_all(&buf).unwrap();
    assert_eq!(tags(&read_replies(&mut s, 1)), "EZ");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let second = gw.pending_for("TRUNCATE rawt2");
    let why = evidence_for(&second, "(session)");
    assert!(why["why"].as_str().unwrap().contains("batch"), "{why}");
    gw.approve(&gw.alice, &id);

    // The client's unnamed statement, prepared before the question, is still there after it.
    buf.clear();
    frontend::parse("", "SELECT $1::int + 1", [23], &mut buf).unwrap();
    frontend::sync(&mut buf);
    s.write_all(&buf).unwrap();
    assert_eq!(tags(&read_replies(&mut s, 1)), "1Z");
    buf.clear();
    frontend::parse("d", "DROP TABLE rawt", [], &mut buf).unwrap();
    bind(&mut buf, "p", "d", &[]);
    frontend::execute("p", 0, &mut buf).unwrap();
    frontend::sync(&mut buf);
    bind(&mut buf, "", "", &["41"]);
    frontend::execute("", 0, &mut buf).unwrap();
    frontend::sync(&mut buf);
    s.write_all(&buf).unwrap();
    let replies = read_replies(&mut s, 2);
    assert_eq!(tags(&replies), "12CZ 2DCZ");
    assert!(replies[5].1.ends_with(b"42"), "{:?}", replies[5]);
    let gone: Option<String> = gw
        .pg
        .client("scratch")
        .query_one("SELECT to_regclass('rawt')::text", &[])
        .unwrap()
        .get(0);
    assert_eq!(gone, None);
}

/// A Bind with text parameters and text results.
fn bind(buf: &mut bytes::BytesMut, portal: &str, statement: &str, values: &[&str]) {
    postgres_protocol::message::frontend::bind(
        portal,
        statement,
        [0i16],
        values.iter().copied(),
        |v: &str, b: &mut bytes::BytesMut| {
            b.extend_from_slice(v.as_bytes());
            Ok(postgres_protocol::IsNull::No)
        },
        [0i16],
        buf,
    )
    .map_err(|_| "bind")
    .unwrap();
}

/// Messages until the `n`-th ReadyForQuery (notices and parameter changes left out).
fn read_replies(s: &mut TcpStream, n: usize) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut ready = 0;
    while ready < n {
        let (tag, body) = read_message(s);
        if matches!(tag, b'N' | b'S') {
            continue;
        }
        ready += usize::from(tag == b'Z');
        out.push((tag, body));
    }
    out
}

/// Their types, a space after each ReadyForQuery.
fn tags(replies: &[(u8, Vec<u8>)]) -> String {
    let mut s = String::new();
    for (t, _) in replies {
        s.push(*t as char);
        if *t == b'Z' {
            s.push(' ');
        }
    }
    s.trim_end().to_owned()
}

/// Hold means hold: with `hold_wait`, a held statement waits for the humans and then runs, or fails
/// with their refusal; the client's cancel or statement_timeout ends the wait cleanly.
#[test]
fn a_held_statement_waits_for_the_humans() {
    let gw = Gateway::start_full("waits", "hold_wait = \"20s\"", "");
    let mut c = gw.client("scratch");
    c.batch_execute(
        "CREATE TABLE approved_t (id int); CREATE TABLE denied_t (id int); CREATE TABLE canceled_t (id int)",
    )
    .unwrap();
    let alice = gw.alice.display().to_string();

    // Approved while it waits: the statement completes right after.
    let (started, done, approving, approved) = std::thread::scope(|scope| {
        let human = scope.spawn(|| {
            let held = gw.pending_for("DROP TABLE approved_t");
            std::thread::sleep(Duration::from_millis(700));
            let approving = Instant::now();
            gw.approve(&gw.alice, held["id"].as_str().unwrap());
            (approving, Instant::now())
        });
        let started = Instant::now();
        c.batch_execute("DROP TABLE approved_t").unwrap();
        let done = Instant::now();
        let (approving, approved) = human.join().unwrap();
        (started, done, approving, approved)
    });
    eprintln!(
        "approved wait: blocked {:?}; done {:?} after the approve command started, {:?} after it returned",
        done - started,
        done.saturating_duration_since(approving),
        done.saturating_duration_since(approved)
    );
    assert!(done - started >= Duration::from_millis(700), "it waited for the human");
    assert!(done.saturating_duration_since(approved) < Duration::from_secs(1));
    assert!(done.saturating_duration_since(approving) < Duration::from_secs(2));

    // Refused while it waits: the statement fails with the human's reason.
    let text = std::thread::scope(|scope| {
        scope.spawn(|| {
            let held = gw.pending_for("DROP TABLE denied_t");
            let id = held["id"].as_str().unwrap();
            let out = gw.inst.run(
                &[
                    "deny",
                    id,
                    "--reason",
                    "denied_t holds the audit trail",
                    "--token-file",
                    &alice,
                ],
                None,
            );
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        });
        db_error(c.batch_execute("DROP TABLE denied_t").unwrap_err())
    });
    assert_eq!(text.0, SqlState::INSUFFICIENT_PRIVILEGE);
    assert!(
        text.1.contains("refused") && text.1.contains("denied_t holds the audit trail"),
        "{}",
        text.1
    );

    // Canceled by the client while it waits: 57014, and the session goes on.
    let cancel = c.cancel_token();
    let started = Instant::now();
    let err = std::thread::scope(|scope| {
        scope.spawn(|| {
            gw.pending_for("DROP TABLE canceled_t");
            std::thread::sleep(Duration::from_millis(300));
            cancel.cancel_query(postgres::NoTls).unwrap();
        });
        c.batch_execute("DROP TABLE canceled_t").unwrap_err()
    });
    let (code, text) = db_error(err);
    assert_eq!(code, SqlState::QUERY_CANCELED, "{text}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(c.query_one("SELECT 1", &[]).unwrap().get::<_, i32>(0), 1);

    // The client's statement_timeout ends the wait too; after it, approving and retrying works.
    c.batch_execute("SET statement_timeout = '1s'").unwrap();
    let started = Instant::now();
    let (code, text) = db_error(c.batch_execute("DROP TABLE canceled_t").unwrap_err());
    let waited = started.elapsed();
    assert_eq!(code, SqlState::QUERY_CANCELED, "{text}");
    assert!(text.contains("statement timeout"), "{text}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    c.batch_execute("RESET statement_timeout").unwrap();
    let held = gw.pending_for("DROP TABLE canceled_t");
    gw.approve(&gw.alice, held["id"].as_str().unwrap());
    c.batch_execute("DROP TABLE canceled_t").unwrap();
    assert_eq!(rows_of(&gw.pg, "scratch", "denied_t"), Vec::<String>::new());
}
