//! The server survives its input: the worst shapes an agent can send, through the real hook and raw
//! on the socket, to one running `airlock serve`. Each is answered (refused or held, never allowed
//! unread) and the server keeps serving; a crash of the classifier on one payload would take every
//! agent's guard down with it.

mod harness;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use harness::Instance;
use serde_json::{json, Value};

/// Deep nesting of every construct that parsers recurse on, each about `size` bytes long.
fn nested_shapes(size: usize) -> Vec<(&'static str, String)> {
    let rep = |open: &str, close: &str, inner: &str| {
        let n = size / (open.len() + close.len()).max(1);
        format!("{}{inner}{}", open.repeat(n), close.repeat(n))
    };
    vec![
        ("coproc", format!("{}true", "coproc ".repeat(size / 7))),
        ("if", rep("if true; then ", "; fi", "rm -rf /srv/data")),
        ("while", rep("while true; do ", "; done", "rm -rf /srv/data")),
        ("case", rep("case x in x) ", ";; esac", "rm -rf /srv/data")),
        ("braces", rep("{ ", "; }", "rm -rf /srv/data")),
        ("subshells", rep("(", ")", "rm -rf /srv/data")),
        ("command substitution", rep("$(", ")", "rm -rf /srv/data")),
        ("backticks", rep("`", "`", "x")),
        ("arithmetic", rep("$((", "))", "1")),
        ("parameter expansion", rep("${x:-", "}", "rm")),
        ("functions", rep("f() { ", "; }", "rm -rf /srv/data")),
        ("nested eval", format!("{}rm -rf /srv/data", "eval ".repeat(size / 5))),
        ("brace expansion", rep("{a,", "}", "b")),
        ("pipes", format!("{}rm -rf /srv/data", "true | ".repeat(size / 7))),
        ("and-lists", format!("{}rm -rf /srv/data", "true && ".repeat(size / 8))),
        ("heredocs", "cat <<E\n".repeat(size / 8)),
        ("one long word", format!("rm -rf /srv/data/{}", "a".repeat(size))),
    ]
}

fn raw(inst: &Instance, request: &[u8]) -> std::io::Result<String> {
    let mut s = UnixStream::connect(inst.dir.join("airlock/airlock.sock"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    // The server may answer (413) and close before it has read everything: a failed write is fine,
    // the answer is what counts.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn alive(inst: &Instance) -> bool {
    raw(inst, b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_ok_and(|r| r.contains("\"ok\":true"))
}

#[test]
fn the_worst_shell_shapes_are_answered_and_the_server_keeps_serving() {
    let mut inst = Instance::new("hostile", "");
    inst.start();
    let agent = inst.token("claude", &[]);
    for size in [5_000, 60_000, 250_000] {
        for (name, command) in nested_shapes(size) {
            let started = Instant::now();
            let (d, reason, _) = inst.claude(&agent, &command, &inst.staging());
            assert_eq!(d, "deny", "{name} ({size} bytes) was let through: {reason}");
            assert!(
                !reason.contains("could not check"),
                "{name} ({size} bytes) got no answer from the server: {reason}"
            );
            assert!(alive(&inst), "the server died on {name} ({size} bytes)");
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{name} ({size} bytes) took {:?}",
                started.elapsed()
            );
        }
    }
}

#[test]
fn malformed_requests_get_errors_and_the_server_keeps_serving() {
    let mut inst = Instance::new("malformed", "");
    inst.start();
    let token = std::fs::read_to_string(inst.token("claude", &[])).unwrap();
    let token = token.trim();
    let post = |body: &[u8]| {
        let mut r = format!(
            "POST /v1/actions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    let deep_json = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    let deep_tool = json!({"kind": "tool", "input": format!("{}{}", "{\"a\":".repeat(20_000), "1".to_owned() + &"}".repeat(20_000))});
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("deeply nested JSON body", post(deep_json.as_bytes()), "400"),
        ("2 MiB body", post(&vec![b'x'; 2 * 1024 * 1024]), "413"),
        ("not JSON", post(b"\xff\xfe\x00garbage"), "400"),
        (
            "unknown field",
            post(br#"{"kind":"shell","input":"ls","evil":1}"#),
            "400",
        ),
        ("unknown kind", post(br#"{"kind":"nuke","input":"ls"}"#), "400"),
        (
            "deeply nested tool arguments",
            post(deep_tool.to_string().as_bytes()),
            "200",
        ),
        (
            "HTTP garbage",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
            "",
        ),
        (
            "a header bomb",
            format!("GET /v1/health HTTP/1.1\r\n{}\r\n\r\n", "X-A: b\r\n".repeat(100_000)).into_bytes(),
            "",
        ),
    ];
    for (name, request, status) in cases {
        let answer = raw(&inst, &request).unwrap_or_default();
        if !status.is_empty() {
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status}")),
                "{name}: {}",
                answer.chars().take(200).collect::<String>()
            );
        }
        if status == "200" {
            let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
            let v: Value = serde_json::from_str(body).unwrap_or_default();
            assert_ne!(v["decision"], "allow", "{name} was allowed");
        }
        assert!(alive(&inst), "the server died on {name}");
    }
    // Many at once: the server answers them all, then still serves.
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let sock = inst.dir.join("airlock/airlock.sock");
            let body = json!({"kind": "shell", "input": format!("{}true", "coproc ".repeat(20_000 + i))}).to_string();
            let req = format!(
                "POST /v1/actions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(sock).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                s.write_all(req.as_bytes()).unwrap();
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                out
            })
        })
        .collect();
    for h in handles {
        let out = h.join().unwrap();
        assert!(
            out.starts_with("HTTP/1.1 200"),
            "{}",
            out.chars().take(200).collect::<String>()
        );
        assert!(!out.contains("\"decision\":\"allow\""));
    }
    assert!(alive(&inst));
}
