//! The demo's database half: a throwaway PostgreSQL cluster (when the machine has the server
//! binaries), the agent connecting through the gateway with its token, a held `DROP TABLE` with its
//! blast radius, two approvals, the snapshot, and `airlock undo`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::{wrap, Demo};

/// A PostgreSQL cluster in the demo's directory, stopped when dropped.
pub(super) struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

pub(super) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The newest PostgreSQL server binaries under /usr/lib/postgresql, if any.
fn server_binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

impl Cluster {
    fn run(&self, tool: &str, args: &[&str]) -> Result<()> {
        let program = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd
            .args(args)
            .output()
            .with_context(|| format!("cannot run {}", program.display()))?;
        if !out.status.success() {
            bail!("{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    /// Starts one, or None when PostgreSQL's server binaries are not installed.
    pub fn start(dir: &Path) -> Result<Option<Cluster>> {
        let Some(bin) = server_binaries() else {
            return Ok(None);
        };
        // PostgreSQL refuses to run as root: then it runs as the `postgres` user.
        let as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let root = dir.join("pg");
        std::fs::create_dir_all(&root)?;
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(&root)
                .status()?
                .success();
            if !ok {
                bail!("cannot give {} to the postgres user", root.display());
            }
        }
        let cluster = Cluster {
            bin,
            data: root.join("data"),
            port: free_port()?,
            as_postgres,
        };
        let data = cluster.data.display().to_string();
        cluster.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        )?;
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            cluster.port,
            root.display()
        );
        let log = root.join("log").display().to_string();
        cluster.run("pg_ctl", &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"])?;
        Ok(Some(cluster))
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The config for the gateway and the `shop` resource (production).
    pub fn config(&self, gateway_port: u16) -> String {
        format!(
            "\n[postgres]\nlisten = \"127.0.0.1:{gateway_port}\"\n\n[[resource]]\nname = \"shop\"\nkind = \"postgres\"\nenvironment = \"production\"\nurl = \"{}\"\n",
            self.url("shop")
        )
    }

    /// The `shop` database with 300 orders.
    pub fn seed(&self) -> Result<()> {
        let mut admin = postgres::Client::connect(&self.url("postgres"), postgres::NoTls)?;
        admin.batch_execute("CREATE DATABASE shop")?;
        let mut shop = postgres::Client::connect(&self.url("shop"), postgres::NoTls)?;
        shop.batch_execute(
            "CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, cents int NOT NULL, placed timestamptz NOT NULL DEFAULT now());
             INSERT INTO orders (customer, cents) SELECT 'customer ' || g, g * 137 % 10000 FROM generate_series(1, 300) g;",
        )?;
        Ok(())
    }

    fn orders(&self) -> Result<Vec<String>> {
        let mut shop = postgres::Client::connect(&self.url("shop"), postgres::NoTls)?;
        Ok(shop
            .query("SELECT o::text FROM orders o ORDER BY id", &[])?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
    }
}

impl Demo {
    /// One statement from the agent through the gateway: ALLOW, HELD or DENY, and the approval id.
    fn agent_sql(&mut self, client: &mut postgres::Client, label: &str, sql: &str, expect: &str) -> Option<String> {
        println!("\n  agent (psql)> {sql}");
        let (shown, text) = match client.simple_query(sql) {
            Ok(_) => ("ALLOW", "ran through the gateway".to_owned()),
            Err(e) => {
                let text = e.as_db_error().map_or_else(
                    || e.to_string(),
                    |d| format!("{}. {}", d.message(), d.hint().unwrap_or("")),
                );
                (
                    if text.contains("held this statement") {
                        "HELD"
                    } else {
                        "DENY"
                    },
                    text,
                )
            }
        };
        println!("  Airlock: {shown}");
        println!("    {}", wrap(&text, 96).join("\n    "));
        if shown != expect {
            self.failures.push(format!("{label}: expected {expect}, got {shown}"));
        }
        self.rows
            .push((label.to_owned(), shown.to_owned(), super::short_reason(&text)));
        text.split("(id ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(str::to_owned)
    }
}

pub(super) fn replay(
    demo: &mut Demo,
    cluster: &Cluster,
    gateway_port: u16,
    agent: &Path,
    operators: [&Path; 2],
) -> Result<()> {
    println!("\nThe same promise for databases. The agent has no database password at all: it connects to");
    println!("Airlock's Postgres gateway with its Airlock token; Airlock holds the real credentials and");
    println!("judges every statement.");
    let token = std::fs::read_to_string(agent)?
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let mut config = postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(gateway_port)
        .user("claude")
        .password(&token)
        .dbname("shop")
        .connect_timeout(Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut client = loop {
        match config.connect(postgres::NoTls) {
            Ok(c) => break c,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => bail!("cannot reach the gateway on port {gateway_port}: {e}"),
        }
    };
    let before = cluster.orders()?;
    demo.agent_sql(
        &mut client,
        "SQL read through the gateway",
        "SELECT count(*) FROM orders",
        "ALLOW",
    );
    let id = demo
        .agent_sql(
            &mut client,
            "DROP TABLE through the gateway",
            "DROP TABLE orders",
            "HELD",
        )
        .ok_or_else(|| anyhow!("the DROP TABLE got no approval id"))?;
    println!("\nThe approvers see what it would touch, measured from the catalog (never by running it):");
    println!("\n  human$ airlock pending");
    let (_, pending, _) = demo.airlock(&["pending", "--token-file", &operators[0].display().to_string()], None)?;
    let mut lines = pending.lines().skip_while(|l| !l.starts_with(&id));
    if let Some(first) = lines.next() {
        println!("    {first}");
        for line in lines.take_while(|l| l.starts_with(' ')) {
            println!("    {line}");
        }
    }
    for op in operators {
        demo.human(&["approve", &id, "--token-file", &op.display().to_string()])?;
    }
    demo.agent_sql(
        &mut client,
        "approved DROP TABLE, retried (snapshot first)",
        "DROP TABLE orders",
        "ALLOW",
    );
    println!("\nThe table is gone. Undo puts it back from the snapshot taken just before:");
    demo.human(&["undo", &id])?;
    demo.rows_restored("undo of the dropped table", &before, &cluster.orders()?);
    Ok(())
}
