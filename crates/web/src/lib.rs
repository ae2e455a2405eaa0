//! # airlock-web
//!
//! The approval page that `airlock serve` runs at `[web] listen`: operators sign in with a
//! passkey, watch held actions arrive live, read one action in full (the exact redacted payload,
//! reasons, targets, blast radius, snapshot plan and what will not be recoverable, approvals so far
//! and who still must approve), and approve or deny it with a reason. History shows the audit
//! chain and whether it verifies.
//!
//! - **Passkeys** (WebAuthn, checked here with ring: ES256, EdDSA and RS256) are enrolled with a
//!   one-time code an administrator issues (`airlock operator add NAME`); a signed-in operator is
//!   an in-process [`Caller`](airlock_server::Caller) with `passkey_operator` set, so approving here
//!   runs the same [`Airlock::approve`](airlock_server::Airlock::approve) as the CLI: N-of-M,
//!   never the requester, expiry.
//! - **Sessions** live in memory, expire after `[web] session_ttl`, and travel in an `HttpOnly`,
//!   `SameSite=Strict` cookie (`Secure` and `__Host-` with TLS, which is required off loopback).
//!   Every POST must come from the page's origin; every form carries its session's CSRF token.
//! - **Agents are refused**: a request whose loopback connection belongs to a unix user that ran
//!   agents gets 403 before anything else.
//!
//! ```
//! use std::io::{Read, Write};
//!
//! let dir = std::env::temp_dir().join(format!("airlock-web-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let config = airlock_config::Config::parse(
//!     "[server]\nmode = \"service\"\nlisten = \"\"\nsocket = \"a.sock\"\n\
//!      [web]\nlisten = \"127.0.0.1:0\"\nurl = \"http://localhost:7458\"\n",
//!     &dir,
//! )
//! .unwrap();
//! let airlock = std::sync::Arc::new(airlock_server::Airlock::open(config).unwrap());
//! let page = airlock_web::start(airlock).unwrap();
//!
//! // Without a session the held actions are not shown: the browser is sent to sign in.
//! let mut tcp = std::net::TcpStream::connect(page.addr).unwrap();
//! tcp.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
//! let mut answer = String::new();
//! tcp.read_to_string(&mut answer).unwrap();
//! assert!(answer.starts_with("HTTP/1.1 303") && answer.contains("location: /login?next="));
//! page.stop();
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod error;
mod html;
mod owner;
mod pages;
mod routes;
mod server;
mod state;
mod webauthn;

pub use error::WebError;
pub use server::{start, WebHandle};
