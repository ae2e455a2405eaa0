//! The pipeline: classify → credentials → resolve → token scope → policy → hold or allow → record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_classify::{classify, find_credentials, redact, Action, ActionKind, Risk};
use airlock_config::{Config, Resolved, Resolver};
use airlock_policy::{ActionDetails, Decision, Outcome, Policy, Subject, Target};
use airlock_store::{
    from_hex, generate_token, hash_token, to_hex, token_id, ActionRecord, ActionState, ApprovalRecord, AuditEntry,
    AuditKey, NewAudit, ScramVerifier, SqliteStore, Store, TokenKind, TokenRecord, SCRAM_ITERATIONS,
};
use serde_json::json;

use crate::api::{ActionView, ApproveRequest, Evaluation, NewToken, SubmitRequest, SubmitResponse};
use crate::auth::Caller;
use crate::ids::{action_id, constant_time_eq, digest, now};
use crate::snapshots::{plan, Plan, VaultSlot};
use crate::{ApiError, FsWorld};

/// The control plane of one Airlock instance.
pub struct Airlock {
    pub config: Config,
    policy: Policy,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) audit_key: AuditKey,
    airlock_paths: Vec<PathBuf>,
    vault: VaultSlot,
    /// The SCRAM salt once read: it never changes after it is first stored.
    scram_salt: std::sync::OnceLock<Vec<u8>>,
    events: crate::events::Events,
}

fn risk_rank(r: &str) -> u8 {
    match r {
        "read" => 0,
        "write" => 1,
        _ => 2,
    }
}

fn kind_of(k: &str) -> Result<ActionKind, ApiError> {
    Ok(match k {
        "shell" => ActionKind::Shell,
        "sql" => ActionKind::Sql,
        "http" => ActionKind::Http,
        "tool" => ActionKind::Tool,
        other => {
            return Err(ApiError::BadRequest(format!(
                "kind {other:?} is not shell, sql, http or tool"
            )))
        }
    })
}

impl Airlock {
    /// Opens the instance described by `config`: its policy and its state.
    pub fn open(config: Config) -> Result<Airlock, ApiError> {
        let policy = match config.policy_path() {
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| ApiError::Internal(format!("cannot read the policy {}: {e}", p.display())))?;
                Policy::parse(&text).map_err(|e| ApiError::Internal(format!("{}: {e}", p.display())))?
            }
            None => Policy::default_policy(),
        };
        let state = config.state_path().map_err(ApiError::Internal)?;
        let key_path = config.audit_key_path().map_err(ApiError::Internal)?;
        if let Some(dir) = key_path.parent() {
            crate::checkpoint::private_dir(dir)?;
        }
        let (audit_key, created) = AuditKey::load_or_create(&key_path)?;
        let store = SqliteStore::open(&state, audit_key.clone())?;
        if created {
            // A new key: whatever chain exists was sealed under none; seal it now, once.
            store.reseal_audit()?;
        }
        let vault = VaultSlot::new(&config);
        let mut airlock_paths = vec![
            config.dir.clone(),
            state.clone(),
            key_path,
            config.secrets_dir().map_err(ApiError::Internal)?,
            vault.dir().to_path_buf(),
            vault.key_file().to_path_buf(),
        ];
        if let Some(p) = config.policy_path() {
            airlock_paths.push(p);
        }
        // A system install, and the agents' system-wide settings where a managed hook lives: an
        // agent that changes them switches Airlock off, whichever instance judges it.
        use airlock_config::SystemPaths;
        for p in [
            SystemPaths::BINARY,
            SystemPaths::CONFIG_DIR,
            SystemPaths::DATA,
            SystemPaths::RUN,
            SystemPaths::UNIT,
            "/etc/claude-code",
            "/etc/codex",
            "/etc/gemini-cli",
            "/etc/cursor",
        ] {
            airlock_paths.push(PathBuf::from(p));
        }
        Ok(Airlock {
            config,
            policy,
            store: Arc::new(store),
            audit_key,
            airlock_paths,
            vault,
            scram_salt: std::sync::OnceLock::new(),
            events: crate::events::Events::new(),
        })
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The instance's vault (created with a new key file on first use).
    pub fn vault(&self) -> Result<&airlock_vault::Vault, ApiError> {
        self.vault
            .get()
            .map_err(|e| ApiError::Internal(format!("the vault: {e}")))
    }

    /// Takes the planned snapshots; the ids, or why it failed (then the action must not run).
    fn take_snapshots(&self, action_id: &str, plan: &Plan) -> Result<Vec<String>, String> {
        if plan.items.is_empty() {
            return Ok(Vec::new());
        }
        let vault = self.vault.get()?;
        let lock = Some(now() + self.config.retention.as_secs() as i64);
        let mut ids = Vec::new();
        for item in &plan.items {
            let path = Path::new(&item.path);
            let snap = match item.kind.as_str() {
                "sqlite" => vault.snapshot_sqlite(path, &item.path, Some(action_id), lock),
                "postgres" => {
                    let resource = self
                        .config
                        .resources
                        .iter()
                        .find(|r| r.name == item.path)
                        .ok_or_else(|| format!("resource {} is gone from the config", item.path))?;
                    let url = resource.connection_url(&self.config)?;
                    let scope = if !item.tables.is_empty() {
                        airlock_vault::PgScope::Tables(item.tables.clone())
                    } else if let Some(s) = &item.schema {
                        airlock_vault::PgScope::Schema(s.clone())
                    } else {
                        airlock_vault::PgScope::Database
                    };
                    vault.snapshot_postgres(&url, &scope, &item.path, Some(action_id), lock)
                }
                _ => vault.snapshot_path(path, &item.path, Some(action_id), lock),
            }
            .map_err(|e| format!("the snapshot of {} failed: {e}", item.path))?;
            ids.push(snap.id);
        }
        Ok(ids)
    }

    pub(crate) fn audit(
        &self,
        kind: &str,
        action_id: Option<&str>,
        detail: serde_json::Value,
    ) -> Result<AuditEntry, ApiError> {
        let entry = self.store.append_audit(NewAudit {
            at: now(),
            kind: kind.into(),
            action_id: action_id.map(str::to_owned),
            detail,
        })?;
        if let Some(id) = &entry.action_id {
            self.events.send(crate::events::ActionEvent {
                kind: entry.kind.clone(),
                action_id: id.clone(),
                seq: entry.seq,
                at: entry.at,
            });
        }
        Ok(entry)
    }

    /// Every event about actions from now on (see [`ActionEvent`](crate::ActionEvent)).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::ActionEvent> {
        self.events.subscribe()
    }

    /// Issues a token; returns it (shown once) and its record.
    pub fn create_token(
        &self,
        agent: &str,
        operator: bool,
        environments: Vec<String>,
        max_risk: Option<String>,
        ttl: Option<std::time::Duration>,
    ) -> Result<(String, TokenRecord), ApiError> {
        self.issue_token(&NewToken {
            agent: agent.to_owned(),
            operator,
            environments,
            max_risk,
            ttl_secs: ttl.map(|d| d.as_secs()),
            unix_user: None,
        })
    }

    /// Issues a token as `new` describes; returns it (shown once) and its record.
    pub fn issue_token(&self, new: &NewToken) -> Result<(String, TokenRecord), ApiError> {
        let NewToken {
            agent,
            operator,
            environments,
            max_risk,
            ttl_secs,
            unix_user,
        } = new.clone();
        let agent = agent.as_str();
        let ttl = ttl_secs.map(std::time::Duration::from_secs);
        let unix_uid = match &unix_user {
            Some(u) => Some(
                crate::peer::user_by_name(u)
                    .ok_or_else(|| ApiError::BadRequest(format!("there is no unix user {u:?} on this machine")))?
                    .uid,
            ),
            None => None,
        };
        if agent.is_empty() || agent.len() > 64 || agent.chars().any(char::is_control) {
            return Err(ApiError::BadRequest("a token needs an agent name".into()));
        }
        if let Some(r) = &max_risk {
            if !matches!(r.as_str(), "read" | "write" | "destructive") {
                return Err(ApiError::BadRequest(format!(
                    "--max-risk {r:?} is not read, write or destructive"
                )));
            }
        }
        let kind = if operator {
            TokenKind::Operator
        } else {
            TokenKind::Agent
        };
        let token = generate_token(kind).map_err(|e| ApiError::Internal(format!("no randomness for a token: {e}")))?;
        let scram = ScramVerifier::new(&token, &self.scram_salt()?, SCRAM_ITERATIONS);
        let at = now();
        let record = TokenRecord {
            id: token_id(&token).unwrap_or_default(),
            hash: hash_token(&token),
            agent: agent.to_owned(),
            operator,
            environments,
            max_risk,
            created_at: at,
            expires_at: ttl.map(|d| at + d.as_secs() as i64),
            revoked_at: None,
            scram: Some(scram.encode()),
            unix_uid,
        };
        self.store.insert_token(&record)?;
        self.audit(
            "token.created",
            None,
            json!({ "token": record.id, "agent": agent, "operator": operator, "environments": record.environments, "max_risk": record.max_risk, "expires_at": record.expires_at, "unix_user": unix_user }),
        )?;
        Ok((token, record))
    }

    /// The instance's SCRAM salt, shared by every token (see `airlock_store::ScramVerifier`);
    /// created on first use.
    pub fn scram_salt(&self) -> Result<Vec<u8>, ApiError> {
        if let Some(salt) = self.scram_salt.get() {
            return Ok(salt.clone());
        }
        let mut fresh = [0u8; 16];
        getrandom::fill(&mut fresh).map_err(|e| ApiError::Internal(format!("no randomness for a salt: {e}")))?;
        let stored = self.store.setting_or_insert("scram_salt", &to_hex(&fresh))?;
        let salt = from_hex(&stored).ok_or_else(|| ApiError::Internal("the stored SCRAM salt is damaged".into()))?;
        Ok(self.scram_salt.get_or_init(|| salt).clone())
    }

    /// Whether the policy decides without reading an action's text (see `Policy::ignores_text`).
    pub fn policy_ignores_text(&self) -> bool {
        self.policy.ignores_text()
    }

    /// Records an event in the audit chain (the Postgres gateway's connections and statement
    /// batches).
    pub fn record(&self, kind: &str, action_id: Option<&str>, detail: serde_json::Value) -> Result<(), ApiError> {
        self.audit(kind, action_id, detail).map(|_| ())
    }

    pub fn revoke_token(&self, id: &str) -> Result<bool, ApiError> {
        let done = self.store.revoke_token(id, now())?;
        if done {
            self.audit("token.revoked", None, json!({ "token": id }))?;
        }
        Ok(done)
    }

    /// Checks a bearer token: format and checksum, then its stored hash in constant time, then
    /// revocation and expiry. Errors never echo the token.
    pub fn authenticate(&self, token: &str) -> Result<TokenRecord, ApiError> {
        let token = token.trim();
        if !airlock_classify::is_airlock_token(token) {
            return Err(ApiError::Unauthorized(
                "that is not an Airlock token (expected alk_… or alko_… with a valid checksum); set AIRLOCK_TOKEN or --token-file".into(),
            ));
        }
        let id = token_id(token).unwrap_or_default();
        let record = self
            .store
            .token(&id)?
            .ok_or_else(|| ApiError::Unauthorized(format!("token {id}… is not known to this Airlock")))?;
        if !constant_time_eq(&record.hash, &hash_token(token)) {
            return Err(ApiError::Unauthorized(format!(
                "token {id}… is not known to this Airlock"
            )));
        }
        if record.operator != token.starts_with("alko_") {
            return Err(ApiError::Unauthorized(format!(
                "token {id}… has the wrong prefix for its kind"
            )));
        }
        if !record.is_usable(now()) {
            return Err(ApiError::Unauthorized(format!(
                "token {id}… is revoked or expired; ask an operator for a new one"
            )));
        }
        Ok(record)
    }

    /// Runs the pipeline without recording anything (what `policy explain` shows).
    pub fn evaluate(
        &self,
        caller: &TokenRecord,
        req: &SubmitRequest,
        own_token: Option<&str>,
    ) -> Result<Evaluation, ApiError> {
        let kind = kind_of(&req.kind)?;
        let cwd = req.cwd.clone().unwrap_or_else(|| "/".into());
        let mut action = Action::new(kind, req.input.clone()).with_cwd(&cwd);
        action.home = std::env::var_os("HOME").map(PathBuf::from);
        action.protected_paths = self.airlock_paths.clone();
        let assessment = classify(&action, &FsWorld);
        let credentials = find_credentials(&req.input, own_token);
        let resolved = match &req.resource {
            Some(name) => {
                let r = self
                    .config
                    .resources
                    .iter()
                    .find(|r| &r.name == name)
                    .ok_or_else(|| ApiError::BadRequest(format!("no [[resource]] is named {name:?}")))?;
                vec![Resolved {
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                    environment: r.environment.clone(),
                    via: "the gateway connection's database".into(),
                }]
            }
            None => Resolver::new(&self.config, self.airlock_paths.clone(), Vec::new()).resolve(
                &assessment,
                Some(Path::new(&cwd)),
                kind == ActionKind::Sql,
            ),
        };
        let subject = Subject {
            name: caller.agent.clone(),
            operator: caller.operator,
        };
        let targets: Vec<Target> = resolved
            .iter()
            .map(|r| Target {
                name: r.name.clone(),
                kind: r.kind.clone(),
                environment: r.environment.clone(),
            })
            .collect();
        let details = ActionDetails {
            kind: req.kind.clone(),
            cwd: cwd.clone(),
            source: req.source.clone(),
            summary: redact(&req.input),
        };
        let risk_name = match assessment.risk {
            Risk::Unknown => "unknown",
            r => r.as_str(),
        };
        let mut scope = None;
        if !caller.environments.is_empty() {
            if let Some(r) = resolved.iter().find(|r| !caller.environments.contains(&r.environment)) {
                scope = Some(format!(
                    "this token may reach {} only, and the action reaches {} ({}, via {})",
                    caller.environments.join(", "),
                    r.environment,
                    r.name,
                    r.via
                ));
            }
        }
        if let Some(max) = &caller.max_risk {
            if risk_rank(risk_name) > risk_rank(max) {
                scope = Some(format!(
                    "this token may submit {max} actions at most, and the action is {risk_name}"
                ));
            }
        }
        let decision = if let Some(why) = &scope {
            Decision {
                outcome: Outcome::Deny,
                snapshot: false,
                policies: vec!["token scope".into()],
                reasons: vec![why.clone()],
            }
        } else if !credentials.is_empty() {
            let kinds: Vec<String> = credentials
                .iter()
                .map(|c| format!("a {} ({})", c.kind, c.prefix))
                .collect();
            Decision {
                outcome: Outcome::Deny,
                snapshot: false,
                policies: vec!["credentials".into()],
                reasons: vec![format!(
                    "the action carries {}, which Airlock did not issue to this agent; agents use their Airlock token only",
                    kinds.join(" and ")
                )],
            }
        } else {
            self.policy.decide(&subject, assessment.risk, &targets, &details)
        };
        let mut canon: Vec<String> = resolved
            .iter()
            .map(|r| format!("{}|{}|{}", r.name, r.kind, r.environment))
            .collect();
        canon.sort();
        let fingerprint = digest(&[&caller.agent, &req.kind, &req.input, &cwd, &canon.join("\n")]);
        Ok(Evaluation {
            assessment,
            resolved,
            credentials,
            scope,
            decision,
            fingerprint,
        })
    }

    /// Decides an action for an agent and records it. A held action that humans approved is let
    /// through exactly once, and only for the same fingerprint.
    pub fn submit(&self, caller: &TokenRecord, req: SubmitRequest) -> Result<SubmitResponse, ApiError> {
        self.submit_with(caller, req, &|_| None)
    }

    /// [`submit`](Self::submit), keeping for the approver what `blast_radius` measures of the
    /// action's reach. It is called only when the action is newly held, never when an approval is
    /// spent or the action already waits.
    pub fn submit_with(
        &self,
        caller: &TokenRecord,
        req: SubmitRequest,
        blast_radius: &dyn Fn(&Evaluation) -> Option<serde_json::Value>,
    ) -> Result<SubmitResponse, ApiError> {
        if req.input.len() > airlock_classify::MAX_INPUT_BYTES {
            return Err(ApiError::BadRequest("the action is larger than Airlock accepts".into()));
        }
        let ev = self.evaluate(caller, &req, None)?;
        let at = now();
        if let Some(peer) = req.peer.as_ref().filter(|_| self.config.is_service()) {
            self.store.note_agent_user(peer.uid, &peer.label(), at)?;
        }
        let summary = redact(&req.input);
        let envs: Vec<String> = dedup(ev.resolved.iter().map(|r| r.environment.clone()));
        let risk = ev.assessment.risk.as_str().to_owned();
        let mut reasons = ev.assessment.reasons.clone();
        reasons.extend(ev.decision.reasons.iter().cloned());

        if let Outcome::Ask { approvals } = ev.decision.outcome {
            // An approved twin of this exact action: spend the approval.
            if let Some(a) = self
                .store
                .action_by_fingerprint(&ev.fingerprint, &[ActionState::Approved])?
            {
                if a.until.is_some_and(|u| at < u) {
                    if self
                        .store
                        .transition(&a.id, ActionState::Approved, ActionState::Consumed, at, None)?
                    {
                        let by: Vec<String> = self.store.approvals(&a.id)?.into_iter().map(|x| x.operator).collect();
                        let mut snapshot_note = String::new();
                        if a.snapshot {
                            let planned: Plan =
                                serde_json::from_value(a.detail["snapshot_plan"].clone()).unwrap_or_default();
                            match self.take_snapshots(&a.id, &planned) {
                                Ok(ids) => {
                                    self.store.set_snapshots(&a.id, &ids)?;
                                    self.audit("action.snapshotted", Some(&a.id), json!({ "snapshots": ids, "not_copied": planned.over_cap, "no_source": planned.uncovered }))?;
                                    if !ids.is_empty() {
                                        snapshot_note = format!(
                                            " Snapshot{} {} taken first; `airlock undo {}` restores it.",
                                            if ids.len() > 1 { "s" } else { "" },
                                            ids.join(", "),
                                            a.id
                                        );
                                    }
                                }
                                Err(why) => {
                                    self.audit("action.snapshot_failed", Some(&a.id), json!({ "why": why }))?;
                                    return Ok(SubmitResponse {
                                        id: a.id.clone(),
                                        decision: "deny".into(),
                                        risk,
                                        summary,
                                        reasons: vec![why.clone()],
                                        environments: envs,
                                        approvals_needed: approvals,
                                        approvals: by.len() as u32,
                                        snapshot: true,
                                        grant: false,
                                        message: format!("Airlock refused this approved action because the snapshot that must precede it failed: {why}. Tell the user; do not run it another way."),
                                    });
                                }
                            }
                        }
                        self.audit(
                            "action.consumed",
                            Some(&a.id),
                            json!({ "agent": caller.agent, "approved_by": by }),
                        )?;
                        return Ok(SubmitResponse {
                            id: a.id.clone(),
                            decision: "allow".into(),
                            risk,
                            summary,
                            reasons,
                            environments: envs,
                            approvals_needed: approvals,
                            approvals: by.len() as u32,
                            snapshot: ev.decision.snapshot,
                            grant: true,
                            message: format!(
                                "Approved by {} (approval {}); allowed this once.{snapshot_note}",
                                by.join(", "),
                                a.id
                            ),
                        });
                    }
                } else {
                    self.store
                        .transition(&a.id, ActionState::Approved, ActionState::Expired, at, None)?;
                    self.audit("action.expired", Some(&a.id), json!({ "was": "approved" }))?;
                }
            }
            // Already waiting: the same id again, so the human sees one request, not a pile.
            if let Some(a) = self
                .store
                .action_by_fingerprint(&ev.fingerprint, &[ActionState::Held])?
            {
                if a.until.is_none_or(|u| at < u) {
                    let got = self.store.approvals(&a.id)?.len() as u32;
                    return Ok(self.held_response(
                        &a.id,
                        approvals,
                        got,
                        risk,
                        summary,
                        reasons,
                        envs,
                        ev.decision.snapshot,
                    ));
                }
                self.store
                    .transition(&a.id, ActionState::Held, ActionState::Expired, at, None)?;
                self.audit("action.expired", Some(&a.id), json!({ "was": "held" }))?;
            }
        }

        let id = action_id().map_err(|e| ApiError::Internal(format!("no randomness for an id: {e}")))?;
        let (state, decision, approvals_needed, until) = match ev.decision.outcome {
            Outcome::Allow => (ActionState::Allowed, "allow", 0, None),
            Outcome::Deny => (ActionState::Denied, "deny", 0, None),
            Outcome::Ask { approvals } => (
                ActionState::Held,
                "ask",
                approvals,
                Some(at + self.config.hold_ttl.as_secs() as i64),
            ),
        };
        let snapshot_plan = (state == ActionState::Held && ev.decision.snapshot).then(|| {
            plan(
                &ev.assessment,
                &ev.resolved,
                &self.config,
                &self.airlock_paths,
                self.config.vault.max_snapshot_bytes,
            )
        });
        let detail = json!({
            "assessment": ev.assessment,
            "resolved": ev.resolved,
            "decision": ev.decision,
            "credentials": ev.credentials,
            "snapshot_plan": snapshot_plan,
            "blast_radius": if state == ActionState::Held { blast_radius(&ev) } else { None },
        });
        let record = ActionRecord {
            id: id.clone(),
            fingerprint: ev.fingerprint.clone(),
            agent: caller.agent.clone(),
            token_id: caller.id.clone(),
            kind: req.kind.clone(),
            summary: summary.clone(),
            cwd: req.cwd.clone().unwrap_or_default(),
            source: req.source.clone(),
            risk: risk.clone(),
            detail,
            approvals_needed,
            snapshot: ev.decision.snapshot,
            state,
            created_at: at,
            updated_at: at,
            until,
            snapshots: Vec::new(),
            peer_uid: req.peer.as_ref().map(|p| p.uid),
        };
        self.store.insert_action(&record)?;
        self.audit(
            "action.decided",
            Some(&id),
            json!({ "agent": caller.agent, "token": caller.id, "unix_user": req.peer.as_ref().map(crate::peer::Peer::label), "source": req.source, "kind": req.kind, "summary": summary, "risk": risk, "environments": envs, "decision": decision, "policies": ev.decision.policies, "reasons": reasons }),
        )?;
        Ok(match state {
            ActionState::Held => self.held_response(
                &id,
                approvals_needed,
                0,
                risk,
                summary,
                reasons,
                envs,
                ev.decision.snapshot,
            ),
            _ => {
                let message = if decision == "allow" {
                    "Allowed by Airlock.".to_owned()
                } else {
                    format!(
                        "Airlock refused this action: {}. Do not try to reach the same result another way (another command, tool or credential); tell the user what you wanted to do and why.",
                        reasons.last().cloned().unwrap_or_default()
                    )
                };
                SubmitResponse {
                    id,
                    decision: decision.into(),
                    risk,
                    summary,
                    reasons,
                    environments: envs,
                    approvals_needed: 0,
                    approvals: 0,
                    snapshot: ev.decision.snapshot,
                    message,
                    grant: decision == "allow" && self.config.hooks.allowed == airlock_config::Allowed::Allow,
                }
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn held_response(
        &self,
        id: &str,
        needed: u32,
        got: u32,
        risk: String,
        summary: String,
        reasons: Vec<String>,
        envs: Vec<String>,
        snapshot: bool,
    ) -> SubmitResponse {
        let who = if needed > 1 {
            format!("{needed} different humans must each run")
        } else {
            "a human must run".to_owned()
        };
        let message = format!(
            "Airlock held this action for approval (id {id}): `{summary}` is {risk} in {}. Why: {}. To let it run, {who} `airlock approve {id}`{}. Do not look for another way to do this (another command, tool, token or credential): wait for the approval, then retry exactly the same command from the same directory, and it will be allowed once.",
            envs.join(", "),
            reasons.join("; "),
            if got > 0 { format!(" ({got} of {needed} approvals so far)") } else { String::new() },
        );
        SubmitResponse {
            id: id.to_owned(),
            decision: "ask".into(),
            risk,
            summary,
            reasons,
            environments: envs,
            approvals_needed: needed,
            approvals: got,
            snapshot,
            message,
            grant: false,
        }
    }

    fn view(&self, a: &ActionRecord) -> Result<ActionView, ApiError> {
        let approved_by = self.store.approvals(&a.id)?.into_iter().map(|x| x.operator).collect();
        let environments = a.detail["resolved"]
            .as_array()
            .map(|rs| dedup(rs.iter().filter_map(|r| r["environment"].as_str().map(str::to_owned))))
            .unwrap_or_default();
        let mut reasons: Vec<String> = Vec::new();
        for key in ["assessment", "decision"] {
            for r in a.detail[key]["reasons"].as_array().into_iter().flatten() {
                if let Some(s) = r.as_str() {
                    reasons.push(s.to_owned());
                }
            }
        }
        Ok(ActionView {
            id: a.id.clone(),
            state: a.state.as_str().into(),
            agent: a.agent.clone(),
            kind: a.kind.clone(),
            summary: a.summary.clone(),
            cwd: a.cwd.clone(),
            source: a.source.clone(),
            risk: a.risk.clone(),
            environments,
            reasons,
            approvals_needed: a.approvals_needed,
            approved_by,
            snapshot: a.snapshot,
            snapshot_plan: serde_json::from_value(a.detail["snapshot_plan"].clone()).ok(),
            snapshots: a.snapshots.clone(),
            blast_radius: Some(a.detail["blast_radius"].clone()).filter(|v| !v.is_null()),
            created_at: a.created_at,
            until: a.until,
        })
    }

    /// Held actions still waiting: all of them for administrators and operators, a caller's own
    /// otherwise.
    pub fn pending(&self, caller: &Caller) -> Result<Vec<ActionView>, ApiError> {
        let all = self.is_overseer(caller)?;
        if !all && caller.peer.is_none() {
            // Local mode without an operator token.
            self.require_admin(caller)?;
        }
        let at = now();
        let mut out = Vec::new();
        for a in self.store.actions_in(&[ActionState::Held])? {
            if a.until.is_some_and(|u| at >= u) {
                self.store
                    .transition(&a.id, ActionState::Held, ActionState::Expired, at, None)?;
                self.audit("action.expired", Some(&a.id), json!({ "was": "held" }))?;
                continue;
            }
            if all || caller.peer.as_ref().is_some_and(|p| Some(p.uid) == a.peer_uid) {
                out.push(self.view(&a)?);
            }
        }
        Ok(out)
    }

    /// One action: administrators and operators see any, agents their own only.
    pub fn action(&self, caller: &Caller, id: &str) -> Result<ActionView, ApiError> {
        let a = self
            .store
            .action(id)?
            .ok_or_else(|| ApiError::NotFound(format!("no action {id}")))?;
        let own = caller.token.as_ref().is_some_and(|t| t.agent == a.agent && !t.operator)
            || caller.peer.as_ref().is_some_and(|p| Some(p.uid) == a.peer_uid);
        if !own && !self.is_overseer(caller)? {
            return Err(ApiError::NotFound(format!("no action {id}")));
        }
        self.view(&a)
    }

    fn held_action(&self, id: &str) -> Result<ActionRecord, ApiError> {
        self.store
            .action(id)?
            .ok_or_else(|| ApiError::NotFound(format!("no action {id}; `airlock pending` lists the held ones")))
    }

    /// Records one operator's approval; the action becomes usable once enough distinct operators
    /// approved, for `approval_ttl`.
    pub fn approve(&self, caller: &Caller, id: &str, req: ApproveRequest) -> Result<ActionView, ApiError> {
        let at = now();
        let a = self.held_action(id)?;
        let who = match self.approver(caller, req.totp.as_ref(), &a) {
            Ok(w) => w,
            Err(e) => {
                self.audit(
                    "approval.refused",
                    Some(id),
                    json!({ "caller": caller.peer.as_ref().map(crate::peer::Peer::label), "token": caller.token.as_ref().map(|t| &t.id), "why": e.to_string() }),
                )?;
                return Err(e);
            }
        };
        if a.state != ActionState::Held {
            return Err(ApiError::Conflict(format!(
                "action {id} is {}, not held; nothing to approve",
                a.state.as_str()
            )));
        }
        if a.until.is_some_and(|u| at >= u) {
            self.store
                .transition(id, ActionState::Held, ActionState::Expired, at, None)?;
            self.audit("action.expired", Some(id), json!({ "was": "held" }))?;
            return Err(ApiError::Conflict(format!(
                "action {id} waited too long and expired; the agent must ask again"
            )));
        }
        let planned: Plan = serde_json::from_value(a.detail["snapshot_plan"].clone()).unwrap_or_default();
        if !planned.over_cap.is_empty() && !req.without_snapshot {
            let big: Vec<String> = planned
                .over_cap
                .iter()
                .map(|i| format!("{} ({} bytes)", i.path, i.bytes))
                .collect();
            return Err(ApiError::Conflict(format!(
                "no snapshot will be taken of {}: larger than vault.max_snapshot_bytes. If you accept that it cannot be undone, approve with --without-snapshot",
                big.join(", ")
            )));
        }
        let record = ApprovalRecord {
            action_id: id.to_owned(),
            operator: who.name.clone(),
            token_id: who.proof.clone(),
            reason: req.reason.clone(),
            at,
        };
        if !self.store.add_approval(&record)? {
            return Err(ApiError::Conflict(format!(
                "{} already approved action {id}; it needs a different person",
                who.name
            )));
        }
        let count = self.store.approvals(id)?.len() as u32;
        self.audit("action.approved", Some(id), json!({ "operator": who.name, "proof": who.proof, "reason": req.reason, "approvals": count, "needed": a.approvals_needed, "without_snapshot": req.without_snapshot }))?;
        if count >= a.approvals_needed {
            let until = at + self.config.approval_ttl.as_secs() as i64;
            if self
                .store
                .transition(id, ActionState::Held, ActionState::Approved, at, Some(until))?
            {
                self.audit("action.released", Some(id), json!({ "until": until }))?;
            }
        }
        self.view(&self.held_action(id)?)
    }

    /// A human refuses a held action (with the same proof an approval needs).
    pub fn deny(&self, caller: &Caller, id: &str, req: ApproveRequest) -> Result<ActionView, ApiError> {
        let a = self.held_action(id)?;
        let who = self.approver(caller, req.totp.as_ref(), &a)?;
        if !self
            .store
            .transition(id, ActionState::Held, ActionState::Rejected, now(), None)?
        {
            return Err(ApiError::Conflict(format!(
                "action {id} is {}, not held; nothing to deny",
                a.state.as_str()
            )));
        }
        self.audit(
            "action.rejected",
            Some(id),
            json!({ "operator": who.name, "proof": who.proof, "reason": req.reason }),
        )?;
        self.view(&self.held_action(id)?)
    }

    /// The audit log (administrators and operators).
    pub fn log(&self, caller: &Caller, action: Option<&str>) -> Result<Vec<AuditEntry>, ApiError> {
        if !self.is_overseer(caller)? {
            self.require_admin(caller)?;
        }
        Ok(self.store.audit(action)?)
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}
