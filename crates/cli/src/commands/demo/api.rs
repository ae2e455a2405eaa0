//! The demo's API half: the incident replayed through the API gateway. The agent holds no Railway
//! token at all, only its Airlock token; Railway is played by a small local stand-in (plain HTTP on
//! loopback, which the gateway allows for a loopback upstream only), so the demo stays offline.
//! The read passes; the found token is refused; `volumeDelete` is held; after two approvals the
//! stand-in sees Railway's own backup and lock before the deletion; `airlock undo` restores it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use serde_json::{json, Value};

use super::{wrap, Demo, FOUND_TOKEN};

/// The credential Airlock holds for Railway in the demo (only the server and the stand-in know it).
pub(super) const DEMO_RAILWAY_TOKEN: &str = "demo-railway-token-3c9f7a21";
pub(super) const TOKEN_VAR: &str = "AIRLOCK_DEMO_RAILWAY_TOKEN";

/// A stand-in for Railway's GraphQL API: the root fields of each call it received, in order.
pub(super) struct Railway {
    pub port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

/// The root fields the stand-in knows, as they appear in a document.
const FIELDS: [&str; 8] = [
    "volumeInstanceBackupCreate(",
    "volumeInstanceBackupList(",
    "volumeInstanceBackupLock(",
    "volumeInstanceBackupRestore(",
    "volumeDelete(",
    "workflowStatus(",
    "volume(",
    "me {",
];

fn answer(query: &str) -> (Vec<String>, Value) {
    let mut seen = Vec::new();
    let mut data = serde_json::Map::new();
    for f in FIELDS.iter().filter(|f| query.contains(*f)) {
        let name = f.trim_end_matches(['(', ' ', '{']);
        seen.push(name.to_owned());
        let v = match name {
            "volume" => json!({"volumeInstances": {"edges": [{"node": {"id": "vi_prod_db"}}]}}),
            "volumeInstanceBackupCreate" => json!({"workflowId": "wf_1"}),
            "workflowStatus" => json!({"status": "Complete"}),
            "volumeInstanceBackupList" => json!([{"id": "bk_before_airlock", "createdAt": "2026-12-01T00:00:00Z"}]),
            "volumeInstanceBackupRestore" => json!({"workflowId": "wf_2"}),
            "me" => json!({"name": "demo team"}),
            _ => json!(true),
        };
        data.insert(name.to_owned(), v);
    }
    (seen, json!({ "data": data }))
}

fn serve_one(mut stream: TcpStream, seen: &Mutex<Vec<String>>) -> Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let (mut length, mut authorized) = (0usize, false);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':').unwrap_or((l, ""));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().unwrap_or(0),
            "authorization" => authorized = v.trim() == format!("Bearer {DEMO_RAILWAY_TOKEN}"),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let query = serde_json::from_slice::<Value>(&body).unwrap_or_default()["query"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (fields, out) = answer(&query);
    let (status, out) = if authorized {
        seen.lock().unwrap_or_else(|p| p.into_inner()).extend(fields);
        ("200 OK", out)
    } else {
        ("401 Unauthorized", json!({"errors": [{"message": "Not Authorized"}]}))
    };
    let text = out.to_string();
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    Ok(())
}

impl Railway {
    pub fn start() -> Result<Railway> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve_one(stream, &log);
            }
        });
        Ok(Railway { port, seen })
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The `[http]` section and the Railway resource for the demo's config.
    pub fn config(&self, gateway_port: u16) -> String {
        format!(
            "\n[http]\nlisten = \"127.0.0.1:{gateway_port}\"\n\n[[resource]]\nname = \"railway\"\nkind = \"http\"\nenvironment = \"production\"\nurl = \"http://127.0.0.1:{}/graphql/v2\"\nsecret_env = \"{TOKEN_VAR}\"\ndialect = \"graphql\"\nprovider = \"railway\"\n",
            self.port
        )
    }
}

/// One HTTP/1.1 call to the gateway: its status and JSON body.
fn call(port: u16, headers: &[(&str, &str)], body: &str) -> Result<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    let mut head = format!(
        "POST /railway HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    s.write_all(format!("{head}\r\n{body}").as_bytes())?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, rest) = raw.split_once("\r\n\r\n").ok_or_else(|| anyhow!("no answer"))?;
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let text = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

impl Demo {
    /// An agent's call through the API gateway, shown and checked like a hook's answer.
    fn agent_calls(
        &mut self,
        port: u16,
        label: &str,
        headers: &[(&str, &str)],
        query: &str,
        expect: &str,
    ) -> Result<Option<String>> {
        let body = json!({ "query": query }).to_string();
        let (status, answer) = call(port, headers, &body)?;
        let shown = match (status, answer["airlock"]["decision"].as_str()) {
            (200, _) => "ALLOW",
            (_, Some("held")) => "HELD",
            _ => "DENY",
        };
        let why = answer["airlock"]["message"]
            .as_str()
            .or_else(|| answer["errors"][0]["message"].as_str())
            .map_or_else(|| answer["data"].to_string(), str::to_owned);
        println!("\n  agent> POST http://127.0.0.1:{port}/railway  {query}");
        println!("  Airlock: {shown} ({status})");
        println!("    {}", wrap(&why, 96).join("\n    "));
        if shown != expect {
            self.failures.push(format!("{label}: expected {expect}, got {shown}"));
        }
        self.rows.push((
            label.to_owned(),
            shown.to_owned(),
            why.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(110)
                .collect(),
        ));
        Ok(answer["airlock"]["id"].as_str().map(str::to_owned))
    }
}

/// The API half of the demo.
pub(super) fn replay(
    demo: &mut Demo,
    railway: &Railway,
    port: u16,
    agent_token: &str,
    operators: [&std::path::Path; 2],
) -> Result<()> {
    println!("\nNow the same incident through the API gateway. The agent has no Railway token at all: it");
    println!("calls http://127.0.0.1:{port}/railway with its Airlock token, and Airlock adds Railway's.");
    let auth = format!("Bearer {agent_token}");
    let own = [("Authorization", auth.as_str())];
    demo.agent_calls(port, "API: a read query", &own, "query { me { name } }", "ALLOW")?;
    let found = [("Authorization", auth.as_str()), ("Project-Access-Token", FOUND_TOKEN)];
    let delete = "mutation { volumeDelete(volumeId: \"vol_prod_db\") }";
    demo.agent_calls(
        port,
        "API: volumeDelete with the found token added",
        &found,
        delete,
        "DENY",
    )?;
    let id = demo
        .agent_calls(port, "API: volumeDelete", &own, delete, "HELD")?
        .ok_or_else(|| anyhow!("the held volumeDelete got no id"))?;
    for op in operators {
        demo.human(&["approve", &id, "--token-file", &op.display().to_string()])?;
    }
    demo.agent_calls(
        port,
        "API: volumeDelete, approved by two (backup first)",
        &own,
        delete,
        "ALLOW",
    )?;
    let seen = railway.seen();
    println!("    Railway saw, in order: {}", seen.join(", "));
    let expected = [
        "me",
        "volume",
        "volumeInstanceBackupCreate",
        "workflowStatus",
        "volumeInstanceBackupList",
        "volumeInstanceBackupLock",
        "volumeDelete",
    ];
    if seen != expected {
        demo.failures
            .push(format!("Railway should have seen {expected:?}, saw {seen:?}"));
    }
    println!(
        "\nThe volume is gone at Railway, but its backup was locked first. One command asks Railway to restore it:"
    );
    demo.human(&["undo", &id])?;
    let restored = railway
        .seen()
        .last()
        .is_some_and(|f| f == "volumeInstanceBackupRestore");
    if !restored {
        demo.failures
            .push("undo did not ask Railway to restore the backup".into());
    }
    demo.rows.push((
        "API: undo of volumeDelete".into(),
        if restored { "UNDONE" } else { "FAILED" }.into(),
        "Railway restored the backup Airlock had it lock before the deletion".into(),
    ));
    Ok(())
}
