//! A throwaway PostgreSQL cluster for tests: initdb and pg_ctl from the machine's PostgreSQL 15
//! binaries, in a temp dir, on a free port; run as the `postgres` user when the tests run as root.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Cluster {
    pub dir: PathBuf,
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run(args: &[&str]) {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]);
        c
    } else {
        Command::new("env")
    };
    let out = cmd.args(args).output().expect("cannot run the PostgreSQL binaries");
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    pub fn start(name: &str) -> Cluster {
        assert!(
            Path::new(BIN).join("initdb").exists(),
            "PostgreSQL 15 binaries are required in {BIN} (.ci/run installs postgresql-15)"
        );
        let dir = std::env::temp_dir().join(format!("airlock-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if is_root() {
            assert!(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap()
                .success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = dir.join("data");
        run(&[
            &format!("{BIN}/initdb"),
            "-D",
            &data.display().to_string(),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.display()
        );
        run(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            &data.display().to_string(),
            "-o",
            &opts,
            "-l",
            &dir.join("log").display().to_string(),
            "-w",
            "start",
        ]);
        Cluster { dir, port }
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A login role that must authenticate with SCRAM-SHA-256 over TCP (everyone else stays trust).
    #[allow(dead_code)]
    pub fn password_role(&self, user: &str, password: &str) {
        self.client("postgres")
            .batch_execute(&format!(
                "SET password_encryption = 'scram-sha-256'; CREATE ROLE {user} LOGIN SUPERUSER PASSWORD '{password}'"
            ))
            .unwrap();
        let hba = self.dir.join("data/pg_hba.conf");
        let old = std::fs::read_to_string(&hba).unwrap();
        std::fs::write(&hba, format!("host all {user} 127.0.0.1/32 scram-sha-256\n{old}")).unwrap();
        self.client("postgres")
            .batch_execute("SELECT pg_reload_conf()")
            .unwrap();
        // The reload is a signal: give the postmaster a moment to read the file.
        std::thread::sleep(std::time::Duration::from_millis(300));
    }

    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(&self.url(db), postgres::NoTls).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c
        } else {
            Command::new("env")
        };
        let _ = cmd
            .args([&format!("{BIN}/pg_ctl"), "-D", &data, "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
