//! The approval page in a real browser, against a real service install (needs root, as CI has):
//! headless Chromium driven by Playwright (`tests/web/driver.cjs`) with a CDP virtual
//! authenticator, so every passkey ceremony is real WebAuthn that the server checks.
//!
//! One scenario, in order: operators enroll passkeys with one-time codes and sign in again; a held
//! action arrives on the open page live; it is opened and approved, and the agent's retry is let
//! through once; a production action needs two operators; a page request without a session, with a
//! forged CSRF token, or from the agent's unix user is refused; a local webhook receiver gets a
//! correctly signed notification within a second of the hold; the action page at 390 px wide has
//! no horizontal scroll (its screenshot is kept when `AIRLOCK_SCREENSHOT` names a file).

mod system;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use system::{ok, root, serial, system};

/// The Node driver and Playwright (installed by `scripts/provision.sh`).
fn playwright_core() -> String {
    let cache =
        std::env::var("XDG_CACHE_HOME").unwrap_or_else(|_| format!("{}/.cache", std::env::var("HOME").unwrap()));
    format!("{cache}/airlock-tests/node_modules/playwright-core")
}

struct Browser {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Browser {
    fn start() -> Browser {
        let driver = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/web/driver.cjs");
        let mut child = Command::new("node")
            .arg(driver)
            .env("PLAYWRIGHT_CORE", playwright_core())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (scripts/provision.sh installs it, with Chromium and playwright-core)");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Browser { child, stdin, stdout }
    }

    fn call(&mut self, command: Value) -> Value {
        writeln!(self.stdin, "{command}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert_eq!(
            answer["ok"],
            true,
            "{command}: {}",
            answer["error"].as_str().unwrap_or_default()
        );
        answer
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({ "cmd": "close" }));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver: every request it gets, with when it got it.
#[derive(Clone)]
struct Delivery {
    at: Instant,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn receiver() -> (String, Arc<Mutex<Vec<Delivery>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut headers = HashMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let length = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let at = Instant::now();
            let _ = reader
                .into_inner()
                .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
            sink.lock().unwrap().push(Delivery { at, headers, body });
        }
    });
    (url, got)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A raw HTTP request to the page; the status and the whole answer.
fn http(port: u16, request: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

fn post_form(port: u16, path: &str, cookie: Option<&str>, origin: bool, body: &str) -> (u16, String) {
    let cookie = cookie.map(|c| format!("Cookie: {c}\r\n")).unwrap_or_default();
    let origin = if origin {
        format!("Origin: http://localhost:{port}\r\n")
    } else {
        String::new()
    };
    http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: localhost:{port}\r\n{origin}{cookie}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn hmac_hex(secret: &[u8], message: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets the installed service up with the page, a webhook, and held hook calls that wait.
fn configure(port: u16, hook_url: &str) {
    ok(&root(&["secret", "set", "hook-key"], Some("test-webhook-signing-key")));
    ok(&root(&["service", "stop"], None));
    let config = std::fs::read_to_string("/etc/airlock/airlock.toml").unwrap();
    // Long enough for the page to approve while the first hook call waits; short enough that the
    // held calls that are meant to come back "held" do not slow the test much.
    let hold_wait = "8s";
    let config = config.replace("hold_wait = \"0s\"", &format!("hold_wait = \"{hold_wait}\"")) + &format!(
        "\n[web]\nlisten = \"127.0.0.1:{port}\"\nsession_ttl = \"10m\"\n\n[[notify]]\nkind = \"webhook\"\nurl = \"{hook_url}\"\nsecret = \"hook-key\"\n"
    );
    std::fs::write("/etc/airlock/airlock.toml", config).unwrap();
    ok(&root(&["service", "start"], None));
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the approval page did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `airlock operator add NAME`: the passkey enrollment URL and code it prints.
fn add_operator(name: &str) -> (String, String) {
    let e: Value = serde_json::from_str(&ok(&root(&["operator", "add", name, "--json"], None))).unwrap();
    (
        e["passkey"]["url"].as_str().unwrap().to_owned(),
        e["passkey"]["code"].as_str().unwrap().to_owned(),
    )
}

fn step(name: &str, started: Instant) {
    eprintln!("web: {name}: {} ms", started.elapsed().as_millis());
}

#[test]
fn operators_approve_on_the_page_with_passkeys() {
    let s = system();
    let _g = serial();
    let t = Instant::now();
    let port = free_port();
    let (hook_url, deliveries) = receiver();
    configure(port, &hook_url);
    let origin = format!("http://localhost:{port}");
    step("service restarted with the page and a webhook", t);

    // Enrollment with the one-time code `operator add` printed, then a real sign-in.
    let t = Instant::now();
    let mut b = Browser::start();
    let (url, code) = add_operator("carol");
    assert!(url.starts_with(&format!("{origin}/enroll")), "{url}");
    let page = b.call(json!({ "cmd": "enroll", "ctx": "carol", "url": url, "code": code }));
    assert!(page["text"].as_str().unwrap().contains("Held actions"), "{page}");
    // The code worked once: a second enrollment with it is refused.
    let body = json!({ "operator": "carol", "code": code }).to_string();
    let (status, answer) = http(
        port,
        &format!("POST /enroll/options HTTP/1.1\r\nHost: localhost\r\nOrigin: {origin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()),
    );
    assert_eq!(status, 403, "a spent enrollment code: {answer}");
    b.call(json!({ "cmd": "click", "ctx": "carol", "selector": "nav button" }));
    let signed = b.call(json!({ "cmd": "signin", "ctx": "carol", "url": format!("{origin}/history") }));
    assert!(signed["url"].as_str().unwrap().ends_with("/history"), "{signed}");
    assert!(
        signed["text"].as_str().unwrap().contains("The audit chain verifies"),
        "{signed}"
    );
    let keys = b.call(json!({ "cmd": "credentials", "ctx": "carol" }));
    assert_eq!(keys["count"], 1);
    step("carol enrolled a passkey, signed out and in again", t);

    // A held action arrives on the open page, live.
    let t = Instant::now();
    b.call(json!({ "cmd": "goto", "ctx": "carol", "url": format!("{origin}/") }));
    let scratch = s.agent.path("scratch");
    ok(&s
        .agent
        .sh(&format!("mkdir -p {0} && echo keep > {0}/notes.txt", scratch.display())));
    let command = format!("rm -rf {}", scratch.display());
    let retry = |c: &str| s.agent.claude(c, &s.agent.home);
    // The agent's hook call waits while a human looks: it is held, and the open page shows it.
    let waiting = {
        let (agent, command) = (s.agent.clone(), command.clone());
        std::thread::spawn(move || agent.claude(&command, &agent.home))
    };
    let shown = b
        .call(json!({ "cmd": "waitText", "ctx": "carol", "selector": "#pending", "value": command, "timeout": 10000 }));
    let held_at = Instant::now();
    eprintln!(
        "web: the held action appeared on the open page after {} ms",
        shown["waitedMs"]
    );
    let id = pending_id(&command);
    step("a held action arrived live", t);

    // The webhook: signed, within a second of the hold, with the redacted summary and the link.
    let t = Instant::now();
    let delivery = wait_for(Duration::from_secs(5), || {
        deliveries
            .lock()
            .unwrap()
            .iter()
            .find(|d| {
                d.headers.get("x-airlock-event").map(String::as_str) == Some("held")
                    && String::from_utf8_lossy(&d.body).contains(&id)
            })
            .cloned()
    })
    .expect("no webhook delivery for the held action");
    assert!(
        delivery.at <= held_at + Duration::from_secs(1),
        "the webhook came {:?} after the hold",
        delivery.at - held_at
    );
    let ts = &delivery.headers["x-airlock-timestamp"];
    let want = format!(
        "v1={}",
        hmac_hex(
            b"test-webhook-signing-key",
            &[ts.as_bytes(), b".", &delivery.body].concat()
        )
    );
    assert_eq!(delivery.headers["x-airlock-signature"], want);
    let body: Value = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!(body["action"]["summary"], command);
    assert_eq!(body["url"], format!("{origin}/actions/{id}"));
    step("the webhook was signed and on time", t);

    // Opened and approved; the agent's retry runs once, the next is held again.
    let t = Instant::now();
    let opened = b.call(json!({ "cmd": "goto", "ctx": "carol", "url": format!("{origin}/actions/{id}") }));
    let text = opened["text"].as_str().unwrap();
    for want in [
        command.as_str(),
        "Why it was held",
        "Targets",
        "Snapshot plan",
        "0 of 1",
        "Still needed: 1 more",
    ] {
        assert!(text.contains(want), "the action page lacks {want:?}:\n{text}");
    }
    let done = b.call(
        json!({ "cmd": "decide", "ctx": "carol", "id": id, "button": "approve", "reason": "scratch space, fine" }),
    );
    assert!(
        done["text"].as_str().unwrap().contains("You approved this action"),
        "{done}"
    );
    // The waiting hook call answers allow once the page approved: the agent's command just paused.
    let (decision, reason, _) = waiting.join().unwrap();
    assert_eq!(decision, "allow", "{reason}");
    let (decision, _, _) = retry(&command);
    assert_eq!(decision, "deny", "an approval is spent once");
    step("approved on the page; the retry ran once", t);

    // Production: two operators, never the same one twice.
    let t = Instant::now();
    let prod = s.agent.path("prod/data");
    ok(&s
        .agent
        .sh(&format!("mkdir -p {0} && echo rows > {0}/orders.csv", prod.display())));
    let prod_command = format!("rm -rf {}", prod.display());
    let (decision, reason, prod_id) = s.agent.claude(&prod_command, &s.agent.home);
    assert_eq!(decision, "deny", "{reason}");
    let prod_id = prod_id.unwrap();
    let done = b.call(
        json!({ "cmd": "decide", "ctx": "carol", "id": prod_id, "button": "approve", "reason": "restore drill" }),
    );
    assert!(done["text"].as_str().unwrap().contains("1 of 2"), "{done}");
    let carol = b.call(json!({ "cmd": "cookie", "ctx": "carol" }));
    let cookie = format!(
        "{}={}",
        carol["name"].as_str().unwrap(),
        carol["value"].as_str().unwrap()
    );
    let csrf = carol["csrf"].as_str().unwrap().to_owned();
    let (status, answer) = post_form(
        port,
        &format!("/actions/{prod_id}/approve"),
        Some(&cookie),
        true,
        &format!("csrf={csrf}&reason=twice"),
    );
    assert_eq!(status, 409, "one operator approving twice: {answer}");
    assert!(answer.contains("already approved"), "{answer}");
    assert_eq!(
        s.agent.claude(&prod_command, &s.agent.home).0,
        "deny",
        "1 of 2 approvals lets nothing through"
    );

    let (url, code) = add_operator("dave");
    b.call(json!({ "cmd": "context", "name": "dave", "width": 390 }));
    b.call(json!({ "cmd": "enroll", "ctx": "dave", "url": url, "code": code }));
    let opened = b.call(json!({ "cmd": "goto", "ctx": "dave", "url": format!("{origin}/actions/{prod_id}") }));
    assert!(opened["text"].as_str().unwrap().contains("production"), "{opened}");
    let shot = std::env::var("AIRLOCK_SCREENSHOT")
        .unwrap_or_else(|_| std::env::temp_dir().join("approval-page-390.png").display().to_string());
    let shot_answer = b.call(json!({ "cmd": "screenshot", "ctx": "dave", "path": shot, "width": 390 }));
    assert_eq!(shot_answer["overflow"], 0, "the action page scrolls sideways at 390 px");
    let done = b.call(
        json!({ "cmd": "decide", "ctx": "dave", "id": prod_id, "button": "approve", "reason": "second pair of eyes" }),
    );
    assert!(done["text"].as_str().unwrap().contains("approved"), "{done}");
    let (decision, reason, _) = s.agent.claude(&prod_command, &s.agent.home);
    assert_eq!(decision, "allow", "{reason}");
    // (In hook mode the agent runs the command itself once the hook allows it.)
    step("a production action took two operators", t);

    // Refusals: no session, a forged CSRF token, a POST from elsewhere, the agent's own unix user.
    let t = Instant::now();
    let (_, _, third) = s
        .agent
        .claude(&format!("rm -rf {}", s.agent.path("prod").display()), &s.agent.home);
    let third = third.unwrap();
    let (status, answer) = http(
        port,
        &format!("GET /actions/{third} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 303, "{answer}");
    assert!(answer.contains("location: /login?next="), "{answer}");
    let (status, _) = post_form(
        port,
        &format!("/actions/{third}/approve"),
        None,
        true,
        &format!("csrf={csrf}&reason=x"),
    );
    assert_eq!(status, 401, "an approval without a session");
    let (status, answer) = post_form(
        port,
        &format!("/actions/{third}/approve"),
        Some(&cookie),
        true,
        "csrf=forged-token-value&reason=x",
    );
    assert_eq!(status, 403, "a forged CSRF token: {answer}");
    let (status, _) = post_form(
        port,
        &format!("/actions/{third}/approve"),
        Some(&cookie),
        false,
        &format!("csrf={csrf}&reason=x"),
    );
    assert_eq!(status, 403, "a form from another origin");
    let as_agent = |path: &str| {
        let script = format!(
            "exec 3<>/dev/tcp/127.0.0.1/{port}; printf 'GET {path} HTTP/1.1\\r\\nHost: localhost\\r\\nCookie: {cookie}\\r\\nConnection: close\\r\\n\\r\\n' >&3; head -1 <&3"
        );
        String::from_utf8_lossy(&s.agent.cmd("/bin/bash", &["-c", &script], &[], None).stdout).into_owned()
    };
    assert!(as_agent("/login").starts_with("HTTP/1.1 403"), "{}", as_agent("/login"));
    assert!(
        as_agent(&format!("/actions/{third}")).starts_with("HTTP/1.1 403"),
        "even with an operator's cookie"
    );
    let state = b.call(json!({ "cmd": "goto", "ctx": "carol", "url": format!("{origin}/actions/{third}") }));
    assert!(
        state["text"].as_str().unwrap().contains("0 of 2"),
        "nothing above approved it: {state}"
    );
    step("refusals", t);

    let log = ok(&root(&["log", "--json"], None));
    assert!(
        log.contains("operator.passkey_enrolled")
            && log.contains("web.signed_in")
            && log.replace(": ", ":").contains("\"proof\":\"passkey\"")
    );
    assert!(!log.contains(&code), "an enrollment code in the audit log");
}

/// The id of the held action whose summary is `command` (the waiting hook has not answered yet).
fn pending_id(command: &str) -> String {
    let list: Value = serde_json::from_str(&ok(&root(&["pending", "--json"], None))).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["summary"] == command)
        .and_then(|a| a["id"].as_str())
        .unwrap()
        .to_owned()
}

fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
