//! The API gateway end to end: a real `airlock serve` with `[http] listen`, agents calling it with
//! curl (its environment holding nothing but the agent's Airlock token), and upstream a stand-in
//! for Railway's GraphQL API and for a generic REST API (`tests/http_gateway/standin.py`) — Railway
//! is a third party this machine cannot reach — over TLS whose certificate comes from a throwaway
//! CA the test makes with openssl. The brokered-command test (`airlock exec`) installs the real
//! service (`tests/system`) and runs the agent side as its own unix user.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod harness;
mod system;

use harness::Instance;

/// The real Railway token: only Airlock and the stand-in know it.
const SECRET: &str = "rw_live_7f3a9c2e5b8d4f1a6c0e9b2d7a4f8c1e";
/// The token the agent found in an unrelated file (the incident's).
const FOUND: &str = "9f1c2d3e4b5a69788796a5b4c3d2e1f0";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A throwaway CA and a certificate for localhost/127.0.0.1 it signs; and a second CA that signs
/// nothing the stand-in uses.
fn make_pki(dir: &Path) {
    for ca in ["ca", "other-ca"] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN=airlock test {ca}"),
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
            ],
        );
    }
    std::fs::write(dir.join("san.cnf"), "subjectAltName = DNS:localhost, IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.cnf",
            "-out",
            "server.pem",
        ],
    );
}

struct Standin {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Standin {
    fn start(dir: &Path) -> Standin {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/http_gateway/standin.py");
        let secret_file = dir.join("standin-secret");
        std::fs::write(&secret_file, SECRET).unwrap();
        let log = dir.join("standin.log");
        let port_file = dir.join("standin.port");
        let child = Command::new("python3")
            .arg(script)
            .args([
                dir.join("server.pem"),
                dir.join("server.key"),
                log.clone(),
                port_file.clone(),
                secret_file,
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("python3");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                break p.trim().parse().unwrap();
            }
            assert!(Instant::now() < deadline, "the stand-in did not start");
            std::thread::sleep(Duration::from_millis(20));
        };
        Standin { child, port, log }
    }

    /// Every call the stand-in saw, in order.
    fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn graphql_fields(&self) -> Vec<String> {
        self.calls()
            .iter()
            .filter(|c| c["api"] == "graphql")
            .flat_map(|c| c["fields"].as_array().cloned().unwrap_or_default())
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    }
}

/// An agent: a home of its own, and nothing in its environment but PATH, HOME and its token.
struct Agent {
    home: PathBuf,
    token: String,
}

/// What the agent got back: status, JSON body (or the text), curl's own time for the transfer.
struct Answer {
    status: u16,
    body: Value,
    text: String,
    seconds: f64,
}

fn curl(home: &Path, args: &[&str]) -> Answer {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-w", "\n%{http_code} %{time_total}"])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", home)
        .current_dir(home)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
    let mut parts = tail.split_whitespace();
    let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let seconds = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    Answer {
        status,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
        text: body.to_owned(),
        seconds,
    }
}

impl Agent {
    fn call(&self, url: &str, extra: &[&str]) -> Answer {
        let auth = format!("Authorization: Bearer {}", self.token);
        let mut args = vec!["-H", auth.as_str()];
        args.extend_from_slice(extra);
        args.push(url);
        curl(&self.home, &args)
    }

    fn graphql(&self, url: &str, query: &str, variables: Value, extra: &[&str]) -> Answer {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let mut args = vec!["-H", "Content-Type: application/json", "--data-binary", body.as_str()];
        args.extend_from_slice(extra);
        self.call(url, &args)
    }

    /// Every byte the agent's user could read of its own: its home directory's files.
    fn files_contain(&self, needle: &str) -> bool {
        fn walk(p: &Path, needle: &str) -> bool {
            let Ok(rd) = std::fs::read_dir(p) else { return false };
            rd.flatten().any(|e| {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, needle)
                } else {
                    std::fs::read(&p).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle))
                }
            })
        }
        walk(&self.home, needle)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn first_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_owned()
}

/// A running Airlock with the gateway, the stand-in, an agent and two operators.
struct World {
    standin: Standin,
    inst: Instance,
    gateway: String,
    agent: Agent,
    staging_agent: Agent,
    alice: PathBuf,
    bob: PathBuf,
}

const SCHEMA: &str = r#"{"data":{"__schema":{"queryType":{"name":"Query"},"mutationType":{"name":"Mutation"},"types":[
  {"name":"Query","fields":[{"name":"me","description":"The caller"},{"name":"volume","description":"A volume"}]},
  {"name":"Mutation","fields":[
    {"name":"volumeCreate","description":"Create a persistent volume in a project"},
    {"name":"volumeDelete","description":"Delete a persistent volume in a project"},
    {"name":"serviceInstanceRedeploy","description":"Redeploy a service instance"},
    {"name":"variableCollectionReplace","description":"Erases every variable of a service"}]}]}}}"#;

/// An OpenAPI document for the REST stand-in: what it says an operation does is what counts.
const OPENAPI: &str = r#"{"openapi":"3.0.0","servers":[{"url":"https://api.example.com/rest/v1"}],"paths":{
  "/projects":{"get":{"operationId":"listProjects","summary":"List projects"}},
  "/projects/{id}/tidy":{"post":{"operationId":"tidyProject","description":"Permanently removes every file of the project"}},
  "/projects/{id}/labels":{"post":{"operationId":"labelProject","summary":"Add a label to a project"}}}}"#;

impl World {
    fn start(name: &str) -> World {
        let mut inst = Instance::new(name, "hold_wait = \"30s\"");
        let pki = inst.dir.join("pki");
        std::fs::create_dir_all(&pki).unwrap();
        make_pki(&pki);
        let standin = Standin::start(&pki);
        std::fs::write(inst.dir.join("airlock/railway-schema.json"), SCHEMA).unwrap();
        std::fs::write(inst.dir.join("airlock/api-openapi.json"), OPENAPI).unwrap();
        // The real credential lives in the server's environment (local mode), never the agent's.
        std::env::set_var("AIRLOCK_TEST_RAILWAY_TOKEN", SECRET);
        let port = free_port();
        let ca = pki.join("ca.pem").display().to_string();
        let other = pki.join("other-ca.pem").display().to_string();
        let resource = |name: &str, env: &str, path: &str, extra: &str, ca: &str| {
            format!(
                "\n[[resource]]\nname = \"{name}\"\nkind = \"http\"\nenvironment = \"{env}\"\nurl = \"https://localhost:{}{path}\"\nsecret_env = \"AIRLOCK_TEST_RAILWAY_TOKEN\"\ntls_ca = \"{ca}\"\n{extra}",
                standin.port
            )
        };
        let mut config = std::fs::read_to_string(&inst.config).unwrap();
        config.push_str(&format!("\n[http]\nlisten = \"127.0.0.1:{port}\"\n"));
        config.push_str(&resource(
            "railway",
            "production",
            "/graphql/v2",
            "dialect = \"graphql\"\nprovider = \"railway\"\n",
            &ca,
        ));
        config.push_str(&resource(
            "railway-schema",
            "production",
            "/graphql/v2",
            "schema = \"railway-schema.json\"\nprovider = \"railway\"\n",
            &ca,
        ));
        config.push_str(&resource("api", "staging", "/rest/v1", "dialect = \"rest\"\n", &ca));
        config.push_str(&resource(
            "api-spec",
            "staging",
            "/rest/v1",
            "schema = \"api-openapi.json\"\n",
            &ca,
        ));
        config.push_str(&resource(
            "elsewhere",
            "staging",
            "/rest/v1",
            "dialect = \"rest\"\n",
            &other,
        ));
        std::fs::write(&inst.config, config).unwrap();
        inst.start();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the API gateway did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let home = |who: &str| {
            let h = inst.dir.join("agents").join(who);
            std::fs::create_dir_all(&h).unwrap();
            h
        };
        let agent = Agent {
            token: first_line(&inst.token("claude", &[])),
            home: home("claude"),
        };
        let staging_agent = Agent {
            token: first_line(&inst.token("intern", &["--env", "staging"])),
            home: home("intern"),
        };
        // The agent keeps its own token in a file of its own, as agents do.
        std::fs::write(agent.home.join(".airlock-token"), &agent.token).unwrap();
        World {
            alice: inst.token("alice", &["--operator"]),
            bob: inst.token("bob", &["--operator"]),
            gateway: format!("http://127.0.0.1:{port}"),
            standin,
            inst,
            agent,
            staging_agent,
        }
    }

    fn url(&self, resource_and_path: &str) -> String {
        format!("{}/{resource_and_path}", self.gateway)
    }

    fn approve(&self, operator: &Path, id: &str) {
        let out = self.inst.approve(operator, id);
        assert!(
            out.status.success(),
            "approve: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The held action whose summary contains `needle`, once it is there.
    fn pending_with(&self, needle: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.inst.run(
                &["pending", "--json", "--token-file", &self.alice.display().to_string()],
                None,
            );
            let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if let Some(a) = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["summary"].as_str().is_some_and(|s| s.contains(needle)))
            {
                return a.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no held action with {needle:?}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        let out = self.inst.run(
            &["log", "--json", "--token-file", &self.alice.display().to_string()],
            None,
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn percentile(mut xs: Vec<f64>, p: f64) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[((xs.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn railway_through_the_gateway_the_incident_held_backed_up_and_undone() {
    let w = World::start("railway");
    let railway = w.url("railway");
    let mut answers: Vec<String> = Vec::new();

    // A read query passes, the real credential added by Airlock; latency against direct calls.
    let me = w
        .agent
        .graphql(&railway, "query { me { name volumes } }", json!({}), &[]);
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["data"]["me"]["name"], "stand-in");
    let (mut through, mut direct) = (Vec::new(), Vec::new());
    let direct_url = format!("https://localhost:{}/graphql/v2", w.standin.port);
    let ca = w.inst.dir.join("pki/ca.pem").display().to_string();
    let auth = format!("Authorization: Bearer {SECRET}");
    for _ in 0..15 {
        through.push(
            w.agent
                .graphql(&railway, "query { me { name } }", json!({}), &[])
                .seconds,
        );
        let d = curl(
            &w.inst.dir,
            &[
                "--cacert",
                &ca,
                "-H",
                &auth,
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                r#"{"query":"query { me { name } }"}"#,
                &direct_url,
            ],
        );
        assert_eq!(d.status, 200);
        direct.push(d.seconds);
    }
    eprintln!(
        "read query latency (curl time_total, 15 each): through the gateway p50 {:.1} ms p99 {:.1} ms; direct p50 {:.1} ms p99 {:.1} ms",
        percentile(through.clone(), 0.5) * 1e3,
        percentile(through, 0.99) * 1e3,
        percentile(direct.clone(), 0.5) * 1e3,
        percentile(direct, 0.99) * 1e3
    );
    let gateway_calls: Vec<Value> = w.standin.calls();
    assert!(gateway_calls.iter().all(|c| c["auth"] == "real"), "{gateway_calls:?}");

    // The incident: the agent sends the token it found. Beside its own token: refused by name.
    let before = w.standin.calls().len();
    let found_header = format!("Project-Access-Token: {FOUND}");
    let foreign = w.agent.graphql(
        &railway,
        "mutation($id: String!) { volumeDelete(volumeId: $id) }",
        json!({"id": "vol_prod"}),
        &["-H", &found_header],
    );
    assert_eq!(foreign.status, 403, "{}", foreign.text);
    assert_eq!(foreign.body["airlock"]["decision"], "refused");
    assert!(
        foreign.text.to_lowercase().contains("project-access-token") && !foreign.text.contains(FOUND),
        "{}",
        foreign.text
    );
    // Instead of its own token: no Airlock token, no call.
    let instead = curl(
        &w.agent.home,
        &[
            "-H",
            &format!("Authorization: Bearer {FOUND}"),
            "--data-binary",
            r#"{"query":"mutation { volumeDelete(volumeId: \"vol_prod\") }"}"#,
            &railway,
        ],
    );
    assert_eq!(instead.status, 401, "{}", instead.text);
    // In the body: a provider token format is refused by the control plane.
    let in_body = w.agent.graphql(
        &railway,
        "mutation($t: String!) { variableCollectionUpsert(token: $t) }",
        json!({"t": "ghp_0123456789abcdefghijklmnopqrstuvwxyz"}),
        &["-H", "Prefer: wait=0"],
    );
    assert_eq!(in_body.status, 403, "{}", in_body.text);
    assert!(in_body.text.contains("GitHub"), "{}", in_body.text);
    assert_eq!(w.standin.calls().len(), before, "a refused call reached the provider");
    answers.extend([foreign.text, instead.text, in_body.text]);

    // A staging token never reaches a production resource.
    let staging = w
        .staging_agent
        .graphql(&railway, "query { me { name } }", json!({}), &[]);
    assert_eq!(staging.status, 403, "{}", staging.text);
    assert!(staging.text.contains("staging only"), "{}", staging.text);
    answers.push(staging.text);

    // volumeDelete: held; the agent's call waits while two operators approve; the provider backs
    // the volume up and locks the backup first; the deletion is forwarded once.
    let delete = "mutation($id: String!) { volumeDelete(volumeId: $id) }";
    let agent = Agent {
        home: w.agent.home.clone(),
        token: w.agent.token.clone(),
    };
    let url = railway.clone();
    let waiting = std::thread::spawn(move || agent.graphql(&url, delete, json!({"id": "vol_prod"}), &[]));
    let held = w.pending_with("volumeDelete");
    let id = held["id"].as_str().unwrap().to_owned();
    assert_eq!(held["approvals_needed"], 2);
    let why = held["reasons"].to_string();
    assert!(
        why.contains("back") && why.contains("lock"),
        "the approver sees the backup plan: {why}"
    );
    assert!(
        w.standin.graphql_fields().iter().all(|f| f != "volumeDelete"),
        "forwarded before approval"
    );
    w.approve(&w.alice, &id);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        w.standin.graphql_fields().iter().all(|f| f != "volumeDelete"),
        "one approval let it through"
    );
    w.approve(&w.bob, &id);
    let done = waiting.join().unwrap();
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body["data"]["volumeDelete"], true);
    let fields = w.standin.graphql_fields();
    let tail: Vec<&str> = fields.iter().map(String::as_str).skip_while(|f| *f == "me").collect();
    assert_eq!(
        tail,
        [
            "volume",
            "volumeInstanceBackupCreate",
            "workflowStatus",
            "volumeInstanceBackupList",
            "volumeInstanceBackupLock",
            "volumeDelete"
        ],
        "the backup and lock come first, then the deletion, once"
    );
    // The same call again is held again, not forwarded.
    let again = w
        .agent
        .graphql(&railway, delete, json!({"id": "vol_prod"}), &["-H", "Prefer: wait=0"]);
    assert_eq!(again.status, 403, "{}", again.text);
    assert_eq!(again.body["airlock"]["decision"], "held");
    assert!(again.body["airlock"]["how_to_approve"]
        .as_str()
        .unwrap()
        .contains("airlock approve"));
    assert_eq!(
        w.standin
            .graphql_fields()
            .iter()
            .filter(|f| *f == "volumeDelete")
            .count(),
        1
    );
    answers.extend([done.text, again.text]);

    // airlock undo ID: Railway restores the locked backup.
    let undo = w.inst.run(&["undo", &id], None);
    assert!(undo.status.success(), "undo: {}", String::from_utf8_lossy(&undo.stderr));
    let restore = w.standin.calls().last().cloned().unwrap();
    assert_eq!(restore["fields"], json!(["volumeInstanceBackupRestore"]));
    assert_eq!(restore["variables"], json!({"backup": "bk_new", "instance": "vi_prod"}));
    assert_eq!(restore["auth"], "real");

    // With the provider's schema configured, a mutation it does not know is unknown and held.
    let nuke = w.agent.graphql(
        &w.url("railway-schema"),
        "mutation { serviceMigrate(id: \"svc_1\") }",
        json!({}),
        &["-H", "Prefer: wait=0"],
    );
    assert_eq!(nuke.status, 403, "{}", nuke.text);
    assert_eq!(nuke.body["airlock"]["decision"], "held");
    assert_eq!(nuke.body["airlock"]["risk"], "unknown");
    assert!(nuke.text.contains("schema"), "{}", nuke.text);
    let wipe = w.agent.graphql(
        &w.url("railway-schema"),
        "mutation { variableCollectionReplace(serviceId: \"s\") }",
        json!({}),
        &["-H", "Prefer: wait=0"],
    );
    assert_eq!(
        wipe.body["airlock"]["risk"], "destructive",
        "the schema's description says it erases: {}",
        wipe.text
    );
    let known = w
        .agent
        .graphql(&w.url("railway-schema"), "query { me { name } }", json!({}), &[]);
    assert_eq!(known.status, 200, "{}", known.text);
    assert!(!w.standin.graphql_fields().iter().any(|f| f == "serviceMigrate"));
    answers.extend([nuke.text, wipe.text]);

    // A provider that echoes the credential it received: the agent gets it masked.
    let echo = w.agent.graphql(&railway, "query { echoHeaders }", json!({}), &[]);
    assert_eq!(echo.status, 200);
    assert!(
        echo.text.contains("secret withheld by Airlock") && !echo.text.contains(SECRET),
        "{}",
        echo.text
    );
    answers.push(echo.text);

    // An upstream whose certificate does not chain to the configured root is not called.
    let n = w.standin.calls().len();
    let other = w.agent.call(&w.url("elsewhere/projects"), &[]);
    assert_eq!(other.status, 502, "{}", other.text);
    assert_eq!(w.standin.calls().len(), n);
    answers.push(other.text);

    // Nowhere the agent can look holds the real token: not its environment (only PATH and HOME and
    // its own token, see `curl`), its files, an answer or error it got, or the audit log.
    assert!(!w.agent.files_contain(SECRET));
    for a in &answers {
        assert!(!a.contains(SECRET), "{a}");
    }
    let log = w.log();
    assert!(!log.contains(SECRET), "the audit log holds the real token");
    assert!(
        log.contains("action.provider_snapshot") && log.contains("http.calls") && log.contains("http.refused"),
        "{log}"
    );
    let verify = w.inst.run(
        &["log", "--verify", "--token-file", &w.alice.display().to_string()],
        None,
    );
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    assert!(
        w.standin.calls().iter().all(|c| c["auth"] != "airlock-token"),
        "an Airlock token reached the provider"
    );
}

#[test]
fn generic_rest_deletes_are_held_and_reads_pass() {
    let w = World::start("rest");
    let get = w.agent.call(&w.url("api/projects?limit=5"), &[]);
    assert_eq!(get.status, 200, "{}", get.text);
    assert_eq!(get.body["path"], "/rest/v1/projects?limit=5");
    let delete = w
        .agent
        .call(&w.url("api/projects/p1"), &["-X", "DELETE", "-H", "Prefer: wait=0"]);
    assert_eq!(delete.status, 403, "{}", delete.text);
    assert_eq!(delete.body["airlock"]["decision"], "held");
    assert_eq!(delete.body["airlock"]["risk"], "destructive");
    let id = delete.body["airlock"]["id"].as_str().unwrap().to_owned();
    let deletes = || w.standin.calls().iter().filter(|c| c["method"] == "DELETE").count();
    assert_eq!(deletes(), 0);
    // A method override is the method that runs.
    let sneaky = w.agent.call(
        &w.url("api/projects/p2"),
        &[
            "-X",
            "POST",
            "-H",
            "X-HTTP-Method-Override: DELETE",
            "-H",
            "Prefer: wait=0",
        ],
    );
    assert_eq!(sneaky.body["airlock"]["risk"], "destructive", "{}", sneaky.text);
    // Climbing out of the resource's base path is refused.
    let climb = w.agent.call(&w.url("api/%2e%2e/admin"), &["--path-as-is"]);
    assert_eq!(climb.status, 400, "{}", climb.text);
    w.approve(&w.alice, &id);
    let retry = w.agent.call(&w.url("api/projects/p1"), &["-X", "DELETE"]);
    assert_eq!(retry.status, 200, "{}", retry.text);
    assert_eq!(deletes(), 1);
    // With an OpenAPI document: what it describes as removing is destructive, what it does not
    // know is unknown (held), a documented read passes.
    let calls = w.standin.calls().len();
    let listed = w.agent.call(&w.url("api-spec/projects"), &[]);
    assert_eq!(listed.status, 200, "{}", listed.text);
    let label = w.agent.call(
        &w.url("api-spec/projects/p1/labels"),
        &["-X", "POST", "-H", "Prefer: wait=0"],
    );
    assert_eq!(label.status, 200, "a documented write passes: {}", label.text);
    let tidy = w.agent.call(
        &w.url("api-spec/projects/p1/tidy"),
        &["-X", "POST", "-H", "Prefer: wait=0"],
    );
    assert_eq!(tidy.status, 403, "{}", tidy.text);
    assert_eq!(tidy.body["airlock"]["risk"], "destructive", "{}", tidy.text);
    let undocumented = w.agent.call(
        &w.url("api-spec/projects/p1/transfer"),
        &["-X", "POST", "-H", "Prefer: wait=0"],
    );
    assert_eq!(undocumented.status, 403, "{}", undocumented.text);
    assert_eq!(undocumented.body["airlock"]["decision"], "held");
    assert_eq!(undocumented.body["airlock"]["risk"], "unknown", "{}", undocumented.text);
    assert!(undocumented.text.contains("OpenAPI"), "{}", undocumented.text);
    assert_eq!(
        w.standin.calls().len(),
        calls + 2,
        "only the documented read and write reached the API"
    );
    let unknown = w.agent.call(&w.url("nothing/here"), &[]);
    assert_eq!(unknown.status, 404);
    assert!(
        unknown.text.contains("railway"),
        "the answer lists the resources: {}",
        unknown.text
    );
}

/// The CLI stand-in the brokered command runs: it proves it got the credential (by its hash),
/// leaves its pid where the test can find it, and lives long enough to be inspected.
const CLI_STANDIN: &str = "#!/bin/sh\necho $$ > /tmp/airlock-exec-test/pid\nsleep 2\nprintf 'token-sha256=%s\\n' \"$(printf %s \"$RAILWAY_TOKEN\" | sha256sum | cut -d' ' -f1)\"\necho \"raw=$RAILWAY_TOKEN\"\n";

#[test]
fn brokered_commands_get_the_secret_and_the_agent_cannot_read_it() {
    let sys = system::system();
    let _one = system::serial();
    let tools = Path::new("/tmp/airlock-exec-test");
    let _ = std::fs::remove_dir_all(tools);
    std::fs::create_dir_all(tools).unwrap();
    std::fs::set_permissions(tools, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let cli = tools.join("railway-standin");
    std::fs::write(&cli, CLI_STANDIN).unwrap();
    std::fs::set_permissions(&cli, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = "/etc/airlock/airlock.toml";
    let mut text = std::fs::read_to_string(config).unwrap();
    if !text.contains("railway-cli") {
        text.push_str("\n[[resource]]\nname = \"railway-cli\"\nkind = \"http\"\nenvironment = \"staging\"\nurl = \"https://backboard.railway.app/graphql/v2\"\nsecret = \"railway-token\"\ncli_env = \"RAILWAY_TOKEN\"\n");
        std::fs::write(config, text).unwrap();
    }
    system::ok(&system::root(&["secret", "set", "railway-token"], Some(SECRET)));
    system::ok(&system::root(&["service", "restart"], None));

    let agent = &sys.agent;
    let cli_path = cli.display().to_string();
    let running = {
        let agent = agent.clone();
        let cli_path = cli_path.clone();
        std::thread::spawn(move || {
            agent.airlock(&["exec", "--resource", "railway-cli", "--", &cli_path, "whoami"], None)
        })
    };
    let pid_file = tools.join("pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pid_file.exists() {
        assert!(Instant::now() < deadline, "the brokered command did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
    let environ = format!("/proc/{pid}/environ");
    // The agent's own user cannot read the command's environment...
    let peek = agent.sh(&format!("cat {environ}"));
    assert!(!peek.status.success(), "the agent read {environ}");
    assert!(!String::from_utf8_lossy(&peek.stdout).contains(SECRET));
    // ...which does hold the secret (root can see it), under the service's unix user.
    let env = std::fs::read(&environ).unwrap();
    assert!(String::from_utf8_lossy(&env).contains(&format!("RAILWAY_TOKEN={SECRET}")));
    let owner = system::ok(&system::run("ps", &["-o", "user=", "-p", &pid]));
    assert_eq!(owner.trim(), "airlock");
    let out = running.join().unwrap();
    let stdout = system::ok(&out);
    let expected = {
        use sha2::Digest;
        airlock_hex(&sha2::Sha256::digest(SECRET.as_bytes()))
    };
    assert!(stdout.contains(&format!("token-sha256={expected}")), "{stdout}");
    assert!(
        stdout.contains("raw=[secret withheld by Airlock]") && !stdout.contains(SECRET),
        "{stdout}"
    );
    // The agent's environment never had it either.
    let printenv = agent.sh("env");
    assert!(!String::from_utf8_lossy(&printenv.stdout).contains(SECRET));

    // A destructive provider command is held and never runs.
    let _ = std::fs::remove_file(&pid_file);
    let held = agent.airlock(
        &[
            "exec",
            "--no-wait",
            "--resource",
            "railway-cli",
            "--",
            "railway",
            "volume",
            "delete",
            "--volume",
            "vol_prod",
        ],
        None,
    );
    assert_eq!(held.status.code(), Some(2), "{}", String::from_utf8_lossy(&held.stderr));
    assert!(
        String::from_utf8_lossy(&held.stderr).contains("held"),
        "{}",
        String::from_utf8_lossy(&held.stderr)
    );
}

fn airlock_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
