//! The pages, server-rendered: sign-in, enrollment, held actions, one action, history.

use std::fmt::Write;

use airlock_server::{ActionView, LogVerification};
use airlock_store::AuditEntry;
use serde_json::Value;

use crate::html::{ago, esc, json, layout, utc, Nav};

/// The signed-in operator, as pages show them.
pub(crate) struct Viewer<'a> {
    pub(crate) operator: &'a str,
    pub(crate) csrf: &'a str,
}

impl Viewer<'_> {
    fn nav(&self) -> Option<Nav<'_>> {
        Some(Nav {
            operator: self.operator,
            csrf: self.csrf,
        })
    }
}

pub(crate) fn login(next: &str, message: Option<&str>) -> String {
    let body = format!(
        r#"<section class="narrow" aria-labelledby="h">
<h1 id="h">Sign in</h1>
<p>Operators sign in with their passkey. A link from a notification opens the action after this step; it never approves anything by itself.</p>
{}
<form id="signin" data-next="{}">
<label for="operator">Operator name <span class="hint">(optional: for a security key that keeps no passkey list)</span></label>
<input id="operator" name="operator" autocomplete="username webauthn" autocapitalize="none" spellcheck="false">
<button type="submit" class="primary">Sign in with a passkey</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
<p class="hint">No passkey yet? An administrator runs <code>airlock operator add NAME</code> (or <code>airlock operator enroll NAME</code>) and gives you a one-time code: <a href="/enroll">enroll a passkey</a>.</p>
</section>"#,
        message
            .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m)))
            .unwrap_or_default(),
        esc(next)
    );
    layout("Sign in", "login", None, None, &body)
}

pub(crate) fn enroll(operator: &str) -> String {
    let body = format!(
        r#"<section class="narrow" aria-labelledby="h">
<h1 id="h">Enroll a passkey</h1>
<p>Use the one-time code an administrator gave you. Your passkey then proves you to Airlock on this page; the code works once.</p>
<form id="enroll">
<label for="operator">Operator name</label>
<input id="operator" name="operator" required value="{}" autocomplete="username" autocapitalize="none" spellcheck="false">
<label for="code">One-time code</label>
<input id="code" name="code" required autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" placeholder="XXXX-XXXX-XXXX-XXXX">
<button type="submit" class="primary">Create a passkey</button>
</form>
<p id="status" role="status" aria-live="polite"></p>
</section>"#,
        esc(operator)
    );
    layout("Enroll a passkey", "enroll", None, None, &body)
}

/// A refusal or an error, as a page.
pub(crate) fn problem(title: &str, text: &str) -> String {
    let body = format!(
        r#"<section class="narrow"><h1>{}</h1><p class="error" role="alert">{}</p><p><a href="/">Back to the held actions</a></p></section>"#,
        esc(title),
        esc(text)
    );
    layout(title, "problem", None, None, &body)
}

fn badge(class: &str, text: &str) -> String {
    format!(r#"<span class="badge {}">{}</span>"#, esc(class), esc(text))
}

fn environments(envs: &[String]) -> String {
    envs.iter()
        .map(|e| {
            badge(
                &format!("env env-{}", e.replace(|c: char| !c.is_ascii_alphanumeric(), "-")),
                e,
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// The list of held actions (also served alone, for the live refresh).
pub(crate) fn pending_list(actions: &[ActionView], now: i64) -> String {
    if actions.is_empty() {
        return r#"<p class="empty">Nothing is waiting for approval.</p>"#.into();
    }
    let mut out = String::from(r#"<ul class="cards">"#);
    for a in actions {
        let _ = write!(
            out,
            r#"<li class="card risk-{risk_class}"><a href="/actions/{id}"><code class="summary">{summary}</code></a>
<p class="meta">{envs} {risk} <span>{agent}</span> · <span>{got}/{need} approvals</span> · <span>held {held}</span>{until}</p></li>"#,
            risk_class = esc(&a.risk),
            id = esc(&a.id),
            summary = esc(&truncate(&a.summary, 240)),
            envs = environments(&a.environments),
            risk = badge("risk", &a.risk),
            agent = esc(&a.agent),
            got = a.approved_by.len(),
            need = a.approvals_needed,
            held = ago(a.created_at, now),
            until = a
                .until
                .map(|u| format!(" · expires {}", ago(u, now)))
                .unwrap_or_default(),
        );
    }
    out.push_str("</ul>");
    out
}

pub(crate) fn pending(viewer: &Viewer<'_>, actions: &[ActionView], now: i64) -> String {
    let body = format!(
        r#"<section aria-labelledby="h"><h1 id="h">Held actions</h1>
<p class="hint" id="live" role="status" aria-live="polite">Live: actions appear here as agents ask.</p>
<div id="pending">{}</div></section>"#,
        pending_list(actions, now)
    );
    layout("Held actions", "pending", None, viewer.nav(), &body)
}

/// Everything the action page shows besides the view itself, read from the action's detail.
pub(crate) struct ActionExtras<'a> {
    /// The stored assessment, resolution and decision (and whatever stages add, such as evidence).
    pub(crate) detail: &'a Value,
    /// Every live operator's name (to say who may still approve).
    pub(crate) operators: Vec<String>,
    pub(crate) history: Vec<AuditEntry>,
    /// What just happened (`approved`, `denied`), or why it did not.
    pub(crate) notice: Option<(bool, String)>,
}

fn targets(detail: &Value) -> String {
    let mut rows = String::new();
    for r in detail["resolved"].as_array().into_iter().flatten() {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&airlock_classify::redact(r["name"].as_str().unwrap_or_default())),
            esc(r["kind"].as_str().unwrap_or_default()),
            esc(r["environment"].as_str().unwrap_or_default()),
            esc(r["via"].as_str().unwrap_or_default()),
        );
    }
    let found: Vec<String> = detail["assessment"]["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            format!(
                "<li>{} <code>{}</code></li>",
                esc(t["kind"].as_str().unwrap_or_default()),
                esc(&airlock_classify::redact(t["value"].as_str().unwrap_or_default()))
            )
        })
        .collect();
    if rows.is_empty() && found.is_empty() {
        return "<p>No target was found.</p>".into();
    }
    format!(
        r#"<div class="scroll"><table><thead><tr><th scope="col">Resource</th><th scope="col">Kind</th><th scope="col">Environment</th><th scope="col">Matched by</th></tr></thead><tbody>{rows}</tbody></table></div><ul class="plain">{}</ul>"#,
        found.join("")
    )
}

fn operations(detail: &Value) -> String {
    let items: Vec<String> = detail["assessment"]["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            format!(
                "<li>{} <code>{}</code> — {}</li>",
                badge("risk", o["risk"].as_str().unwrap_or_default()),
                esc(&airlock_classify::redact(o["summary"].as_str().unwrap_or_default())),
                esc(o["reason"].as_str().unwrap_or_default())
            )
        })
        .collect();
    format!(r#"<ul class="plain">{}</ul>"#, items.join(""))
}

fn snapshot_plan(a: &ActionView) -> String {
    let destroys = matches!(a.risk.as_str(), "destructive" | "unknown");
    let Some(plan) = a.snapshot_plan.as_ref().filter(|_| a.snapshot) else {
        return if destroys {
            r#"<p class="danger">No snapshot is planned: what this action destroys cannot be brought back by Airlock.</p>"#.into()
        } else {
            "<p>No snapshot is needed.</p>".into()
        };
    };
    let mut out = String::new();
    if !plan.items.is_empty() {
        out.push_str("<p>Copied into the vault before it runs (<code>airlock undo</code> restores them):</p><ul class=\"plain\">");
        for i in &plan.items {
            let _ = write!(out, "<li><code>{}</code></li>", esc(&i.describe()));
        }
        out.push_str("</ul>");
    }
    if !plan.over_cap.is_empty() || !plan.uncovered.is_empty() {
        out.push_str(r#"<div class="danger"><p><strong>Will NOT be recoverable:</strong></p><ul class="plain">"#);
        for i in &plan.over_cap {
            let _ = write!(
                out,
                "<li><code>{}</code> ({}): larger than the vault's snapshot limit, not copied</li>",
                esc(&i.path),
                bytes(i.bytes)
            );
        }
        for u in &plan.uncovered {
            let _ = write!(
                out,
                "<li><code>{}</code>: no snapshot source can copy it</li>",
                esc(&airlock_classify::redact(u))
            );
        }
        out.push_str("</ul></div>");
    }
    if out.is_empty() {
        out.push_str("<p>Nothing to copy.</p>");
    }
    out
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} bytes")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Who approved, how many more are needed, and who may still give them.
fn approvals(a: &ActionView, operators: &[String]) -> String {
    let mut out = format!(
        "<p><strong>{} of {}</strong> approval{} so far",
        a.approved_by.len(),
        a.approvals_needed,
        if a.approvals_needed == 1 { "" } else { "s" }
    );
    if !a.approved_by.is_empty() {
        let _ = write!(out, ": {}", esc(&a.approved_by.join(", ")));
    }
    out.push_str(".</p>");
    let missing = (a.approvals_needed as usize).saturating_sub(a.approved_by.len());
    if a.state == "held" && missing > 0 {
        let eligible: Vec<&str> = operators
            .iter()
            .map(String::as_str)
            .filter(|o| !a.approved_by.iter().any(|b| b == o) && *o != a.agent)
            .collect();
        let _ = write!(
            out,
            "<p>Still needed: {missing} more, each from a different operator other than the requester ({}){}</p>",
            esc(&a.agent),
            if eligible.is_empty() {
                ". No enrolled operator is left who could give it.".to_owned()
            } else {
                format!(": {}.", esc(&eligible.join(", ")))
            }
        );
    }
    out
}

fn decision_forms(a: &ActionView, viewer: &Viewer<'_>) -> String {
    if a.state != "held" {
        return format!(
            "<p>This action is <strong>{}</strong>: there is nothing to decide.</p>",
            esc(&a.state)
        );
    }
    if viewer.operator == a.agent {
        return "<p>You requested this action: someone else must approve it.</p>".into();
    }
    if a.approved_by.iter().any(|b| b == viewer.operator) {
        return "<p>You approved this action. It needs a different operator now.</p>".into();
    }
    let over_cap = a.snapshot_plan.as_ref().is_some_and(|p| !p.over_cap.is_empty());
    let acknowledge = if over_cap {
        r#"<p><label class="check danger"><input type="checkbox" name="without_snapshot" value="1" required> I accept that the items above marked NOT recoverable will not be copied first.</label></p>"#
    } else {
        ""
    };
    format!(
        r#"<form method="post" action="/actions/{id}/approve" class="decide">
<input type="hidden" name="csrf" value="{csrf}">
<label for="reason-approve">Reason for approving <span class="hint">(kept in the audit log)</span></label>
<textarea id="reason-approve" name="reason" rows="2" maxlength="500"></textarea>
{acknowledge}<label for="grant">Also let this same action through for this agent in this project</label>
<select id="grant" name="grant_hours">
<option value="" selected>no: this once only</option>
<option value="1">for 1 hour</option>
<option value="8">for 8 hours</option>
<option value="24">for 24 hours</option>
</select>
<button type="submit" class="approve">Approve</button>
</form>
<form method="post" action="/actions/{id}/deny" class="decide">
<input type="hidden" name="csrf" value="{csrf}">
<label for="reason-deny">Reason for denying</label>
<textarea id="reason-deny" name="reason" rows="2" maxlength="500"></textarea>
<button type="submit" class="deny">Deny</button>
</form>"#,
        id = esc(&a.id),
        csrf = esc(viewer.csrf),
    )
}

fn history_rows(entries: &[AuditEntry], with_action: bool) -> String {
    let mut rows = String::new();
    for e in entries {
        let action = match (&e.action_id, with_action) {
            (Some(id), true) => format!(r#"<a href="/actions/{0}">{0}</a>"#, esc(id)),
            _ => String::new(),
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
            e.seq,
            esc(&utc(e.at)),
            esc(&e.kind),
            if with_action {
                format!("<td>{action}</td>")
            } else {
                String::new()
            },
            esc(&describe(&e.detail)),
        );
    }
    rows
}

/// One line about an audit entry: who, what, why (redacted).
fn describe(detail: &Value) -> String {
    let mut parts = Vec::new();
    for key in ["operator", "agent", "decision", "summary", "reason", "why", "proof"] {
        if let Some(s) = detail[key].as_str().filter(|s| !s.is_empty()) {
            parts.push(format!("{key}: {}", truncate(&airlock_classify::redact(s), 160)));
        }
    }
    parts.join(" · ")
}

pub(crate) fn action(viewer: &Viewer<'_>, a: &ActionView, extras: &ActionExtras<'_>, now: i64) -> String {
    let notice = match &extras.notice {
        Some((true, text)) => format!(r#"<p class="ok" role="status">{}</p>"#, esc(text)),
        Some((false, text)) => format!(r#"<p class="error" role="alert">{}</p>"#, esc(text)),
        None => String::new(),
    };
    let reasons: String = a.reasons.iter().map(|r| format!("<li>{}</li>", esc(r))).collect();
    let blast = a
        .blast_radius
        .as_ref()
        .map(|b| {
            format!(
                r#"<section aria-labelledby="blast-h"><h2 id="blast-h">Blast radius</h2>{}</section>"#,
                json(b)
            )
        })
        .unwrap_or_default();
    let evidence = evidence(extras.detail);
    let body = format!(
        r#"{notice}<article aria-labelledby="h">
<h1 id="h">Action <code>{id}</code> {state}</h1>
<p class="meta">{envs} {risk}</p>
<section aria-labelledby="payload-h"><h2 id="payload-h">What the agent wants to run</h2>
<pre class="payload"><code>{summary}</code></pre><p class="hint">Exactly as submitted, with secrets masked.</p></section>
<dl class="facts">
<dt>Agent</dt><dd>{agent}</dd>
<dt>Kind</dt><dd>{kind} from {source}</dd>
<dt>Working directory</dt><dd><code>{cwd}</code></dd>
<dt>Asked</dt><dd>{asked} ({asked_ago})</dd>
<dt>Hold expires</dt><dd>{until}</dd>
</dl>
<section aria-labelledby="why-h"><h2 id="why-h">Why it was held</h2><ul>{reasons}</ul></section>
<section aria-labelledby="ops-h"><h2 id="ops-h">What it does</h2>{ops}</section>
<section aria-labelledby="targets-h"><h2 id="targets-h">Targets</h2>{targets}</section>
{blast}{evidence}
<section aria-labelledby="snap-h"><h2 id="snap-h">Snapshot plan</h2>{plan}</section>
<section aria-labelledby="appr-h"><h2 id="appr-h">Approvals</h2>{approvals}</section>
<section aria-labelledby="decide-h"><h2 id="decide-h">Your decision</h2>{forms}</section>
<section aria-labelledby="hist-h"><h2 id="hist-h">This action's audit entries</h2>
<div class="scroll"><table><thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">What</th><th scope="col">Detail</th></tr></thead><tbody>{history}</tbody></table></div></section>
</article>"#,
        id = esc(&a.id),
        state = badge(&format!("state state-{}", a.state), &a.state),
        envs = environments(&a.environments),
        risk = badge("risk", &a.risk),
        summary = esc(&a.summary),
        agent = esc(&a.agent),
        kind = esc(&a.kind),
        source = esc(&a.source),
        cwd = esc(&a.cwd),
        asked = esc(&utc(a.created_at)),
        asked_ago = ago(a.created_at, now),
        until = a
            .until
            .map(|u| format!("{} ({})", esc(&utc(u)), ago(u, now)))
            .unwrap_or_else(|| "—".into()),
        ops = operations(extras.detail),
        targets = targets(extras.detail),
        plan = snapshot_plan(a),
        approvals = approvals(a, &extras.operators),
        forms = decision_forms(a, viewer),
        history = history_rows(&extras.history, false),
    );
    layout(&format!("Action {}", a.id), "action", Some(&a.id), viewer.nav(), &body)
}

/// What the approval covers, when the pipeline recorded it (`detail.evidence`: paths and inodes,
/// script digests, SQL relations), and a standing grant when one applies (`detail.grant`). Both are
/// shown as they are stored, so new kinds of evidence appear without changes here.
fn evidence(detail: &Value) -> String {
    let mut out = String::new();
    if let Some(e) = detail.get("evidence").filter(|v| !v.is_null()) {
        let _ = write!(
            out,
            r#"<section aria-labelledby="ev-h"><h2 id="ev-h">What the approval covers</h2><p class="hint">Rechecked when the action runs: if any of this changed, the approval does not apply.</p>{}</section>"#,
            json(e)
        );
    }
    if let Some(g) = detail.get("grant").filter(|v| !v.is_null()) {
        let _ = write!(
            out,
            r#"<section aria-labelledby="grant-h"><h2 id="grant-h">Standing grant</h2>{}</section>"#,
            json(g)
        );
    }
    out
}

pub(crate) fn history(viewer: &Viewer<'_>, entries: &[AuditEntry], total: usize, check: &LogVerification) -> String {
    let status = match &check.problem {
        None => format!(
            r#"<p class="ok" role="status">The audit chain verifies: {} entries, each sealed under the service's key and linked to the one before; {} of {} checkpoints in the vault carry a valid seal{}.</p>"#,
            check.entries,
            check.sealed_checkpoints,
            check.checkpoints,
            check
                .newest_checkpoint
                .map(|n| format!(", the newest at entry {n}"))
                .unwrap_or_default()
        ),
        Some(p) => format!(
            r#"<p class="error" role="alert"><strong>The audit chain does not verify:</strong> {}</p>"#,
            esc(p)
        ),
    };
    let body = format!(
        r#"<section aria-labelledby="h"><h1 id="h">History</h1>{status}
<p class="hint">The newest {} of {total} entries.</p>
<div class="scroll"><table><thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">What</th><th scope="col">Action</th><th scope="col">Detail</th></tr></thead>
<tbody>{}</tbody></table></div></section>"#,
        entries.len(),
        history_rows(entries, true)
    );
    layout("History", "history", None, viewer.nav(), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> ActionView {
        serde_json::from_value(serde_json::json!({
            "id": "ab12cd34", "state": "held", "agent": "claude", "kind": "shell",
            "summary": "rm -rf /srv/prod/<data>", "cwd": "/srv", "source": "hook:claude-code",
            "risk": "destructive", "environments": ["production"], "reasons": ["deletes files"],
            "approvals_needed": 2, "approved_by": ["alice"], "snapshot": true,
            "snapshot_plan": { "items": [{ "path": "/srv/prod/a", "kind": "path", "bytes": 2048 }],
                               "over_cap": [{ "path": "/srv/prod/big", "kind": "path", "bytes": 5_000_000_000u64 }],
                               "uncovered": ["api.example.com"] },
            "snapshots": [], "created_at": 1000, "until": 5000
        }))
        .unwrap()
    }

    #[test]
    fn the_action_page_shows_what_is_at_stake_and_who_may_decide() {
        let detail = serde_json::json!({
            "resolved": [{ "name": "prod", "kind": "path", "environment": "production", "via": "path /srv/prod" }],
            "assessment": { "targets": [{ "kind": "path", "value": "/srv/prod" }], "operations": [] },
            "evidence": { "paths": [{ "path": "/srv/prod", "inode": 42 }] }
        });
        let extras = ActionExtras {
            detail: &detail,
            operators: vec!["alice".into(), "bob".into(), "claude".into()],
            history: Vec::new(),
            notice: None,
        };
        let bob = Viewer {
            operator: "bob",
            csrf: "tok",
        };
        let page = action(&bob, &view(), &extras, 1100);
        assert!(page.contains("rm -rf /srv/prod/&lt;data&gt;"));
        assert!(
            page.contains("Will NOT be recoverable")
                && page.contains("/srv/prod/big")
                && page.contains("api.example.com")
        );
        assert!(page.contains("1 of 2</strong> approvals so far: alice"));
        assert!(
            page.contains("Still needed: 1 more") && page.contains(": bob."),
            "the requester and alice are not eligible"
        );
        assert!(page.contains(r#"name="csrf" value="tok""#) && page.contains("without_snapshot"));
        assert!(page.contains("What the approval covers") && page.contains("inode"));
        let alice = Viewer {
            operator: "alice",
            csrf: "tok",
        };
        assert!(action(&alice, &view(), &extras, 1100).contains("You approved this action"));
        let claude = Viewer {
            operator: "claude",
            csrf: "tok",
        };
        assert!(!action(&claude, &view(), &extras, 1100).contains("/approve"));
    }

    #[test]
    fn a_destructive_action_without_a_snapshot_says_so() {
        let mut a = view();
        a.snapshot = false;
        assert!(snapshot_plan(&a).contains("cannot be brought back"));
        a.risk = "write".into();
        assert!(!snapshot_plan(&a).contains("danger"));
    }

    #[test]
    fn the_pending_list_links_each_action() {
        let list = pending_list(&[view()], 1100);
        assert!(list.contains(r#"href="/actions/ab12cd34""#) && list.contains("1/2 approvals"));
        assert!(pending_list(&[], 0).contains("Nothing is waiting"));
    }
}
