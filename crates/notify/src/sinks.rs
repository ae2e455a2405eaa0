//! Where notifications go, and how each is written: a signed JSON webhook, a Slack incoming
//! webhook, an ntfy topic, or `notify-send` on a local desktop.

use std::time::Duration;

use airlock_config::{NotifyConfig, NotifyKind};
use serde_json::json;

use crate::{sign, Notice};

/// How long one delivery may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// One `[[notify]]` entry, its secret read.
#[derive(Clone)]
pub(crate) struct Sink {
    pub(crate) entry: NotifyConfig,
    /// The webhook's signing key or ntfy's access token. Never logged.
    pub(crate) secret: Option<String>,
}

impl Sink {
    pub(crate) fn label(&self) -> String {
        let kind = format!("{:?}", self.entry.kind).to_lowercase();
        match &self.entry.url {
            // The host only: a Slack or ntfy URL's path is itself a secret.
            Some(u) => format!("{kind} {}", u.split('/').take(3).collect::<Vec<_>>().join("/")),
            None => kind,
        }
    }

    /// Delivers once; why it failed, when it did.
    pub(crate) fn deliver(&self, agent: &ureq::Agent, notice: &Notice, now: i64) -> Result<(), String> {
        let url = self.entry.url.as_deref().unwrap_or_default();
        let sent = match self.entry.kind {
            NotifyKind::Webhook => {
                let body = serde_json::to_vec(notice).map_err(|e| e.to_string())?;
                let secret = self.secret.as_deref().unwrap_or_default();
                agent
                    .post(url)
                    .header("Content-Type", "application/json")
                    .header("X-Airlock-Event", &notice.event)
                    .header("X-Airlock-Timestamp", &now.to_string())
                    .header("X-Airlock-Signature", &sign::signature(secret.as_bytes(), now, &body))
                    .send(&body[..])
            }
            NotifyKind::Slack => {
                let body = serde_json::to_vec(&slack(notice)).map_err(|e| e.to_string())?;
                agent
                    .post(url)
                    .header("Content-Type", "application/json")
                    .send(&body[..])
            }
            NotifyKind::Ntfy => {
                let mut req = agent
                    .post(url)
                    .header("Title", &ascii(&format!("Airlock: {}", notice.title())))
                    .header("Priority", if notice.event == "held" { "high" } else { "default" })
                    .header("Tags", if notice.event == "held" { "warning" } else { "airlock" });
                if let Some(link) = &notice.url {
                    req = req
                        .header("Click", link)
                        .header("Actions", &format!("view, Open in Airlock, {link}, clear=true"));
                }
                if let Some(token) = &self.secret {
                    req = req.header("Authorization", &format!("Bearer {token}"));
                }
                req.send(notice.short_summary(1000).as_bytes())
            }
            NotifyKind::Desktop => return desktop(self.entry.command.as_deref(), notice),
        };
        match sent {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("answered {}", r.status())),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Header values stay printable ASCII.
fn ascii(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .collect()
}

/// Slack's mrkdwn escapes `&`, `<` and `>`; a code span cannot hold a backtick.
fn slack_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'")
}

fn slack(notice: &Notice) -> serde_json::Value {
    let a = &notice.action;
    let field =
        |name: &str, value: &str| json!({ "type": "mrkdwn", "text": format!("*{name}*\n{}", slack_text(value)) });
    let mut blocks = vec![
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("*{}*\n`{}`", slack_text(&notice.title()), slack_text(&notice.short_summary(500))) } }),
        json!({ "type": "section", "fields": [
            field("Environment", &a.environments.join(", ")),
            field("Risk", &a.risk),
            field("Agent", &a.agent),
            field("Approvals", &format!("{} of {}", a.approved_by.len(), a.approvals_needed)),
        ] }),
    ];
    if let Some(link) = &notice.url {
        blocks.push(json!({ "type": "actions", "elements": [
            { "type": "button", "text": { "type": "plain_text", "text": "Open in Airlock" }, "url": link, "style": "primary" }
        ] }));
    }
    let fallback = format!("{}: {}", notice.title(), notice.short_summary(200));
    json!({ "text": slack_text(&fallback), "blocks": blocks })
}

/// `notify-send` (or the configured program), given up on after [`TIMEOUT`].
fn desktop(command: Option<&str>, notice: &Notice) -> Result<(), String> {
    let program = command.unwrap_or("notify-send");
    let urgency = if notice.event == "held" { "critical" } else { "normal" };
    let mut body = notice.short_summary(300);
    if let Some(link) = &notice.url {
        body.push_str(&format!("\n{link}"));
    }
    let mut child = std::process::Command::new(program)
        .args([
            "--app-name=Airlock",
            &format!("--urgency={urgency}"),
            &format!("Airlock: {}", notice.title()),
            &body,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(()),
            Ok(Some(s)) => return Err(format!("{program} exited with {s}")),
            Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} did not finish"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notice::sample;

    #[test]
    fn slack_messages_carry_summary_environment_risk_and_link() {
        let mut n = sample("held");
        n.action.summary = "echo <b>&`x`".into();
        let m = slack(&n).to_string();
        assert!(
            m.contains("production")
                && m.contains("destructive")
                && m.contains("https://airlock.example/actions/ab12cd34")
        );
        assert!(m.contains("&lt;b&gt;&amp;'x'") && !m.contains("<b>"), "{m}");
    }

    #[test]
    fn labels_never_show_a_url_path() {
        let sink = Sink {
            entry: NotifyConfig {
                kind: NotifyKind::Slack,
                url: Some("https://hooks.slack.com/services/T000/B000/SECRETPART".into()),
                secret: None,
                secret_value: None,
                events: vec![],
                command: None,
            },
            secret: None,
        };
        assert_eq!(sink.label(), "slack https://hooks.slack.com");
    }

    #[test]
    fn desktop_notifications_run_the_program_and_time_out() {
        assert!(desktop(Some("true"), &sample("held")).is_ok());
        assert!(desktop(Some("false"), &sample("held")).unwrap_err().contains("exited"));
        assert!(desktop(Some("/nonexistent/notify"), &sample("held"))
            .unwrap_err()
            .contains("cannot run"));
    }
}
