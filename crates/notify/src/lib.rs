//! # airlock-notify
//!
//! Tells humans when an action is held, approved, released, denied or expires: `[[notify]]`
//! entries of kind `webhook` (a JSON [`Notice`], signed: see [`signature`]), `slack` (an incoming
//! webhook with the summary, environment, risk and a link to the approval page), `ntfy` (a topic,
//! with a button that opens the page) and `desktop` (`notify-send`, for a local instance).
//!
//! Notifications never hold a decision back. [`start`] subscribes to the instance's action events
//! on a thread of its own; each entry has its own bounded queue and delivery thread, which retries
//! with backoff; a full queue drops the notification (and says so on stderr) rather than wait. What
//! they carry is the redacted summary Airlock stores, never the raw payload, and a link that still
//! asks for a passkey.
//!
//! ```
//! use airlock_notify::{signature, verify};
//!
//! let body = br#"{"event":"held"}"#;
//! let header = signature(b"shared-secret", 1_700_000_000, body);
//! assert!(header.starts_with("v1="));
//! assert!(verify(b"shared-secret", 1_700_000_000, body, &header));
//! assert!(!verify(b"shared-secret", 1_700_000_000, br#"{"event":"released"}"#, &header));
//! ```

mod notice;
mod sign;
mod sinks;

use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use airlock_server::{ActionEvent, Airlock};

pub use notice::{event_name, ActionSummary, Notice};
pub use sign::{signature, verify};

use sinks::Sink;

/// Notifications waiting per entry before new ones are dropped.
const QUEUE: usize = 256;
/// Delivery attempts per notification, and the first wait between them (doubled each time).
const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Why notifications cannot start.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot start the notifier thread: {0}")]
    Thread(std::io::Error),
}

/// The running notifier (its threads end with the process).
pub struct Notifier {
    /// The entries that are delivering (an entry whose secret cannot be read is left out, and
    /// `start` says so on stderr).
    pub active: usize,
}

/// Starts delivering the instance's `[[notify]]` entries.
pub fn start(airlock: Arc<Airlock>) -> Result<Notifier, NotifyError> {
    let mut queues: Vec<(Sink, SyncSender<Notice>)> = Vec::new();
    for entry in &airlock.config.notify {
        let secret = match entry.secret_of(&airlock.config) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("airlock: notifications: {e}; that entry is off until it can be read (restart after `airlock secret set`)");
                continue;
            }
        };
        let sink = Sink {
            entry: entry.clone(),
            secret,
        };
        let (tx, rx) = sync_channel::<Notice>(QUEUE);
        let worker = sink.clone();
        std::thread::Builder::new()
            .name("airlock-notify".into())
            .spawn(move || deliver_all(&worker, rx))
            .map_err(NotifyError::Thread)?;
        queues.push((sink, tx));
    }
    let active = queues.len();
    if active > 0 {
        let events = airlock.subscribe();
        std::thread::Builder::new()
            .name("airlock-notify".into())
            .spawn(move || dispatch(&airlock, events, &queues))
            .map_err(NotifyError::Thread)?;
    }
    Ok(Notifier { active })
}

/// Turns action events into notices and hands them to each entry that wants them, never waiting.
fn dispatch(
    airlock: &Airlock,
    mut events: tokio::sync::broadcast::Receiver<ActionEvent>,
    queues: &[(Sink, SyncSender<Notice>)],
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let event = match events.blocking_recv() {
            Ok(e) => e,
            Err(RecvError::Lagged(n)) => {
                eprintln!("airlock: notifications: {n} events were missed (too many at once)");
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        let Some(notice) = notice_for(airlock, &event) else {
            continue;
        };
        for (sink, tx) in queues {
            if !sink.entry.wants(&notice.event) {
                continue;
            }
            if let Err(TrySendError::Full(n)) = tx.try_send(notice.clone()) {
                eprintln!(
                    "airlock: notifications: {} is not keeping up; dropped the {} notice of action {}",
                    sink.label(),
                    n.event,
                    n.action.id
                );
            }
        }
    }
}

/// The notice for an event, when it is one people are told about.
fn notice_for(airlock: &Airlock, event: &ActionEvent) -> Option<Notice> {
    let store = airlock.store();
    let action = store.action(&event.action_id).ok()??;
    let name = event_name(&event.kind, &action)?;
    let approvals = store.approvals(&action.id).unwrap_or_default();
    Some(Notice {
        event: name.to_owned(),
        url: airlock
            .config
            .web
            .origin()
            .map(|o| format!("{o}/actions/{}", action.id)),
        action: ActionSummary::new(&action, &approvals),
        at: event.at,
        seq: event.seq,
    })
}

/// One entry's delivery thread: each notice in turn, retried with backoff.
fn deliver_all(sink: &Sink, queue: std::sync::mpsc::Receiver<Notice>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(sinks::TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!("airlock/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    for notice in queue {
        deliver_one(sink, &agent, &notice, FIRST_BACKOFF);
    }
}

fn deliver_one(sink: &Sink, agent: &ureq::Agent, notice: &Notice, first_backoff: Duration) -> bool {
    let mut wait = first_backoff;
    for attempt in 1..=ATTEMPTS {
        match sink.deliver(agent, notice, airlock_server::now()) {
            Ok(()) => return true,
            Err(why) if attempt == ATTEMPTS => {
                eprintln!(
                    "airlock: notifications: gave up on {} for the {} notice of action {} after {ATTEMPTS} tries: {why}",
                    sink.label(),
                    notice.event,
                    notice.action.id
                );
            }
            Err(_) => {
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_config::{NotifyConfig, NotifyKind};
    use std::io::{BufRead, BufReader, Read, Write};

    /// What the receiver got: each request's header lines and body.
    type Received = Vec<(Vec<String>, Vec<u8>)>;

    /// A receiver that answers each request with the next status, and hands back what it got.
    fn receiver(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Received>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut got = Vec::new();
            for status in statuses {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut headers = Vec::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let line = line.trim_end().to_owned();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    headers.push(line);
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let mut stream = reader.into_inner();
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                got.push((headers, body));
            }
            got
        });
        (url, handle)
    }

    fn webhook(url: &str) -> Sink {
        Sink {
            entry: NotifyConfig {
                kind: NotifyKind::Webhook,
                url: Some(url.into()),
                secret: None,
                secret_value: Some("s3cret".into()),
                events: vec![],
                command: None,
            },
            secret: Some("s3cret".into()),
        }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .http_status_as_error(false)
            .build()
            .into()
    }

    #[test]
    fn a_webhook_is_signed_and_retried_until_it_is_taken() {
        let (url, got) = receiver(vec![500, 503, 200]);
        let notice = notice::sample("held");
        assert!(deliver_one(
            &webhook(&url),
            &agent(),
            &notice,
            Duration::from_millis(10)
        ));
        let got = got.join().unwrap();
        assert_eq!(got.len(), 3, "two failures, then taken");
        let (headers, body) = &got[2];
        let header = |name: &str| {
            headers
                .iter()
                .find_map(|h| {
                    h.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v.trim().to_owned())
                })
                .unwrap()
        };
        let ts: i64 = header("x-airlock-timestamp").parse().unwrap();
        assert!(verify(b"s3cret", ts, body, &header("x-airlock-signature")));
        assert_eq!(header("x-airlock-event"), "held");
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["action"]["summary"], "rm -rf /srv/prod/data");
        assert_eq!(v["url"], "https://airlock.example/actions/ab12cd34");
    }

    #[test]
    fn a_dead_receiver_is_given_up_on() {
        // Nothing listens here (bound, then closed).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let start = std::time::Instant::now();
        assert!(!deliver_one(
            &webhook(&format!("http://127.0.0.1:{port}/")),
            &agent(),
            &notice::sample("held"),
            Duration::from_millis(5)
        ));
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
