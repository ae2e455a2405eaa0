//! What the end-to-end agent tests need around the real agent CLIs: the pinned npm packages
//! (installed once into a cache outside the repository), the stand-in for their model APIs, an
//! isolated home per test, and one headless run of each agent.
//!
//! The model services (Anthropic, OpenAI, Google) are third parties this test machine cannot
//! reach, so each run talks to `standin.py`: one local server that speaks all three APIs and
//! answers with scripted tool calls. Everything else is real: the agent's CLI, its hook runner,
//! `airlock install`, the hook binary, `airlock serve`, and the files the tools touch.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::harness::{Instance, BIN};

/// The versions the tests pin (and `scripts/provision.sh` installs).
pub const PACKAGES: [(&str, &str); 3] = [
    ("@anthropic-ai/claude-code", "2.1.332"),
    ("@openai/codex", "0.171.0"),
    ("@google/gemini-cli", "0.61.0"),
];

fn node_dir() -> PathBuf {
    match std::env::var_os("AIRLOCK_TEST_NODE") {
        Some(d) => d.into(),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/airlock-tests/node"),
    }
}

fn installed_version(dir: &Path, package: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("node_modules").join(package).join("package.json")).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["version"].as_str().map(str::to_owned)
}

/// The directory of the agents' executables, installing the pinned packages first when the cache
/// lacks them (what `scripts/provision.sh` does before `cargo test`).
pub fn agent_bin() -> PathBuf {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = node_dir();
    let missing: Vec<String> = PACKAGES
        .iter()
        .filter(|(p, v)| installed_version(&dir, p).as_deref() != Some(*v))
        .map(|(p, v)| format!("{p}@{v}"))
        .collect();
    if !missing.is_empty() {
        std::fs::create_dir_all(&dir).unwrap();
        let all: Vec<String> = PACKAGES.iter().map(|(p, v)| format!("{p}@{v}")).collect();
        let status = Command::new("npm")
            .args([
                "install",
                "--save-exact",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&dir)
            .args(&all)
            .stdout(Stdio::null())
            .status()
            .expect("npm (Node.js) is needed to install the agent CLIs; run scripts/provision.sh");
        assert!(status.success(), "npm install of {missing:?} failed");
    }
    dir.join("node_modules/.bin")
}

/// The stand-in model API, serving one script.
pub struct Standin {
    child: Child,
    pub port: u16,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Standin {
    pub fn start(dir: &Path, steps: &Value) -> Standin {
        std::fs::create_dir_all(dir).unwrap();
        let script = dir.join("script.json");
        std::fs::write(&script, json!({ "steps": steps }).to_string()).unwrap();
        let port_file = dir.join("port");
        let log = dir.join("requests.jsonl");
        let _ = std::fs::remove_file(&port_file);
        let child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents/standin.py"))
            .arg("--script")
            .arg(&script)
            .arg("--log")
            .arg(&log)
            .arg("--port-file")
            .arg(&port_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "the stand-in did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Standin { child, port }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cli {
    Claude,
    Codex,
    Gemini,
}

impl Cli {
    pub fn agent(self) -> &'static str {
        match self {
            Cli::Claude => "claude-code",
            Cli::Codex => "codex",
            Cli::Gemini => "gemini",
        }
    }
}

/// One test's world: a running Airlock, a project in its staging environment, the agent's home.
pub struct World {
    pub inst: Instance,
    pub cli: Cli,
    pub home: PathBuf,
    pub project: PathBuf,
    pub operator: PathBuf,
    runs: usize,
}

/// `[server]` lines for the tests: a held call answers at once where the server supports a hold
/// wait (a human is not going to approve while the agent waits here).
fn server_extra(extra: &str) -> String {
    let probe = Instance::new("hold-wait-probe", "hold_wait = \"0s\"");
    let supported = probe.run(&["token", "list"], None).status.success();
    if supported {
        format!("hold_wait = \"0s\"\n{extra}")
    } else {
        extra.to_owned()
    }
}

impl World {
    pub fn new(name: &str, cli: Cli, server: &str) -> World {
        let mut inst = Instance::new(name, &server_extra(server));
        inst.start();
        let home = inst.dir.join("home");
        let project = inst.staging().join("project");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        let project = std::fs::canonicalize(project).unwrap();
        let operator = inst.token("alice", &["--operator"]);
        let world = World {
            inst,
            cli,
            home,
            project,
            operator,
            runs: 0,
        };
        world.write_agent_config();
        world
    }

    pub fn codex_home(&self) -> PathBuf {
        self.home.join(".codex")
    }

    /// What the user has before Airlock comes: the agent pointed at the stand-in (its port is
    /// filled in per run), and for Codex and Gemini this project trusted, as the user would have.
    fn write_agent_config(&self) {
        match self.cli {
            Cli::Claude => {}
            Cli::Codex => {
                std::fs::create_dir_all(self.codex_home()).unwrap();
                std::fs::write(
                    self.codex_home().join("config.toml"),
                    format!(
                        "model = \"gpt-5.5\"\nmodel_provider = \"standin\"\napproval_policy = \"never\"\nsandbox_mode = \"danger-full-access\"\n\n[model_providers.standin]\nname = \"standin\"\nbase_url = \"http://127.0.0.1:PORT/v1\"\nwire_api = \"responses\"\nenv_key = \"STANDIN_API_KEY\"\nrequest_max_retries = 0\nstream_max_retries = 0\nsupports_websockets = false\n\n[projects.\"{}\"]\ntrust_level = \"trusted\"\n",
                        self.project.display()
                    ),
                )
                .unwrap();
            }
            Cli::Gemini => {
                let dir = self.home.join(".gemini");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(
                    dir.join("settings.json"),
                    "// the user's own settings (Gemini reads comments)\n{\n  \"security\": {\"auth\": {\"selectedType\": \"gemini-api-key\"}},\n  \"general\": {\"enableAutoUpdate\": false, \"enableAutoUpdateNotification\": false},\n  \"privacy\": {\"usageStatisticsEnabled\": false},\n  \"telemetry\": {\"enabled\": false}\n}\n",
                )
                .unwrap();
                std::fs::write(
                    dir.join("trustedFolders.json"),
                    json!({ self.project.display().to_string(): "TRUST_FOLDER" }).to_string(),
                )
                .unwrap();
            }
        }
    }

    /// Runs an `airlock` command (this instance, the agent's home) with the binary `exe`.
    pub fn airlock_with(&self, exe: &Path, args: &[&str]) -> std::process::Output {
        Command::new(exe)
            .args(args)
            .arg("--config")
            .arg(&self.inst.config)
            .env("HOME", &self.home)
            .env("CODEX_HOME", self.codex_home())
            .env_remove("AIRLOCK_TOKEN")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn airlock(&self, args: &[&str]) -> std::process::Output {
        self.airlock_with(Path::new(BIN), args)
    }

    /// `airlock install AGENT --project DIR` with the binary `exe`; returns its report.
    pub fn install_with(&self, exe: &Path) -> String {
        let out = self.airlock_with(
            exe,
            &[
                "install",
                self.cli.agent(),
                "--project",
                &self.project.display().to_string(),
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
        text
    }

    pub fn install(&self) -> String {
        self.install_with(Path::new(BIN))
    }

    /// The id of the one action waiting for approval.
    pub fn held_id(&self) -> String {
        let out = self.airlock(&[
            "pending",
            "--json",
            "--token-file",
            &self.operator.display().to_string(),
        ]);
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["id"].as_str())
            .collect();
        assert_eq!(ids.len(), 1, "{list}");
        ids[0].to_owned()
    }

    pub fn approve(&self, id: &str) {
        let out = self.airlock(&["approve", id, "--token-file", &self.operator.display().to_string()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    /// One headless run of the agent through the scripted `steps`, in the project; returns what it
    /// printed (the stand-in's last answer lists every tool result it saw) and how long it took.
    pub fn run(&mut self, steps: Value, extra_args: &[&str]) -> Run {
        self.runs += 1;
        let standin = Standin::start(&self.inst.dir.join(format!("standin-{}", self.runs)), &steps);
        let bin = agent_bin();
        let url = format!("http://127.0.0.1:{}", standin.port);
        let (program, mut args, envs): (&str, Vec<&str>, Vec<(&str, String)>) = match self.cli {
            Cli::Claude => (
                "claude",
                vec!["-p", "do the task"],
                vec![
                    ("ANTHROPIC_BASE_URL", url),
                    ("ANTHROPIC_API_KEY", "sk-test".into()),
                    // Root may bypass permissions only in a sandbox: this test's throwaway home.
                    ("IS_SANDBOX", "1".into()),
                    ("DISABLE_AUTOUPDATER", "1".into()),
                    ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
                ],
            ),
            Cli::Codex => {
                let config = self.codex_home().join("config.toml");
                let text = std::fs::read_to_string(&config).unwrap();
                std::fs::write(&config, with_port(&text, standin.port)).unwrap();
                (
                    "codex",
                    vec!["exec", "--skip-git-repo-check"],
                    vec![
                        ("CODEX_HOME", self.codex_home().display().to_string()),
                        ("STANDIN_API_KEY", "sk-test".into()),
                    ],
                )
            }
            Cli::Gemini => (
                "gemini",
                vec!["--yolo"],
                vec![
                    ("GEMINI_API_KEY", "test-key".into()),
                    ("GOOGLE_GEMINI_BASE_URL", url),
                    // This machine's own system settings stay out of the test.
                    (
                        "GEMINI_CLI_SYSTEM_SETTINGS_PATH",
                        "/nonexistent/gemini-system-settings.json".into(),
                    ),
                    (
                        "GEMINI_CLI_SYSTEM_DEFAULTS_PATH",
                        "/nonexistent/gemini-system-defaults.json".into(),
                    ),
                ],
            ),
        };
        args.extend_from_slice(extra_args);
        match self.cli {
            Cli::Codex => args.push("do the task"),
            Cli::Gemini => args.extend(["-p", "do the task"]),
            Cli::Claude => {}
        }
        let mut cmd = Command::new(bin.join(program));
        cmd.args(&args)
            .current_dir(&self.project)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .envs(envs)
            // Codex reads a prompt from a stdin that is not a terminal: give it none.
            .stdin(Stdio::null());
        let start = Instant::now();
        let out = cmd.output().unwrap();
        let run = Run {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            code: out.status.code(),
            secs: start.elapsed().as_secs_f64(),
        };
        eprintln!(
            "{:?} run {} took {:.1} s (exit {:?})",
            self.cli, self.runs, run.secs, run.code
        );
        run
    }
}

/// Puts the stand-in's port into Codex's provider URL.
fn with_port(config: &str, port: u16) -> String {
    config
        .lines()
        .map(|l| {
            if l.starts_with("base_url = \"http://127.0.0.1:") {
                format!("base_url = \"http://127.0.0.1:{port}/v1\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
    pub secs: f64,
}

impl Run {
    pub fn said(&self, text: &str) -> bool {
        self.stdout.contains(text) || self.stderr.contains(text)
    }

    pub fn show(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            self.stdout,
            tail(&self.stderr)
        )
    }
}

fn tail(s: &str) -> &str {
    let start = s.len().saturating_sub(3000);
    let start = (start..=s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len());
    &s[start..]
}
