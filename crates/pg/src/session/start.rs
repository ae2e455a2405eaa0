//! Authentication (SCRAM with the token), the startup parameters that may pass, the resource the
//! database name picks, the token's scope, and the upstream session (from the pool or new).

use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use airlock_config::ResourceConfig;
use airlock_store::{ScramVerifier, TokenRecord};
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::audit::Entry;
use crate::gateway::Shared;
use crate::judge::Caller;
use crate::messages::{auth_sasl, auth_sasl_continue, auth_sasl_final, ErrorResponse, SaslInitial};
use crate::pool::PoolKey;
use crate::scram::ScramExchange;
use crate::upstream::{self, Target, Upstream};
use crate::PgError;

use super::{send_fatal, Client};

/// Reads one message of type `tag` during startup (small, whole).
async fn read_auth_message<R: AsyncRead + Unpin>(r: &mut R, tag: u8) -> Result<Vec<u8>, PgError> {
    let mut head = [0u8; 5];
    r.read_exact(&mut head).await?;
    if head[0] != tag {
        return Err(PgError::Protocol(format!(
            "expected a '{}' message during authentication, got 0x{:02x}",
            tag as char, head[0]
        )));
    }
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if !(4..=8192).contains(&len) {
        return Err(PgError::Protocol(format!(
            "an authentication message of {len} bytes is invalid"
        )));
    }
    let mut body = vec![0u8; len - 4];
    r.read_exact(&mut body).await?;
    Ok(body)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the OS has no randomness");
    b
}

/// Startup parameters that only shape how results look, and the gateway's own.
fn startup_parameter_passes(name: &str) -> bool {
    const PASS: [&str; 13] = [
        "user",
        "database",
        "replication",
        "application_name",
        "fallback_application_name",
        "client_encoding",
        "datestyle",
        "timezone",
        "intervalstyle",
        "extra_float_digits",
        "search_path",
        "bytea_output",
        "lc_messages",
    ];
    PASS.contains(&name.to_ascii_lowercase().as_str())
}

pub(super) type Started = (Caller, Upstream, PoolKey);

/// Authentication, the resource and its upstream session. None when the connection was answered
/// and is done (a refusal already sent).
pub(super) async fn start<S: Client>(
    shared: &Shared,
    client: &mut S,
    params: Vec<(String, String)>,
    peer: SocketAddr,
) -> Result<Option<Started>, PgError> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("replication").is_some_and(|v| v != "false" && v != "0") {
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "42501",
                "Airlock: replication connections are not allowed through the gateway",
            ),
        )
        .await;
        return Ok(None);
    }
    // Every other startup parameter sets a server setting with no statement to judge
    // (`options=-c session_replication_role=replica` turns off triggers and foreign keys): only the
    // ones drivers send for formatting pass.
    if let Some((name, _)) = params.iter().find(|(k, _)| !startup_parameter_passes(k)) {
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "42501",
                format!("Airlock: the startup parameter {name:?} is not passed to the database (it changes server settings without a statement Airlock can judge)"),
            )
            .with_hint("Leave it out of the connection string and use SET statements after connecting."),
        )
        .await;
        return Ok(None);
    }
    let user = get("user").unwrap_or_default();
    let database = get("database").filter(|d| !d.is_empty()).unwrap_or(user);

    let Some(token) = authenticate(shared, client).await? else {
        shared
            .judge
            .airlock()
            .record(
                "pg.auth_failed",
                None,
                json!({ "peer": peer.to_string(), "database": database }),
            )
            .ok();
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "28P01",
                "Airlock: password authentication failed: the password must be an Airlock agent token issued by this instance",
            )
            .with_hint("Use the token from `airlock token create --agent NAME` as the password (any user name). Tokens issued before the gateway existed must be reissued."),
        )
        .await;
        return Ok(None);
    };

    let airlock = shared.judge.airlock();
    let Some(resource) = airlock
        .config
        .resources
        .iter()
        .find(|r| r.name == database && r.kind == "postgres")
    else {
        let names: Vec<&str> = airlock
            .config
            .resources
            .iter()
            .filter(|r| r.kind == "postgres")
            .map(|r| r.name.as_str())
            .collect();
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "3D000",
                format!("Airlock: database {database:?} is not a PostgreSQL resource this gateway serves"),
            )
            .with_hint(format!(
                "Connect with the database name set to one of: {}",
                names.join(", ")
            )),
        )
        .await;
        return Ok(None);
    };
    if !token.environments.is_empty() && !token.environments.contains(&resource.environment) {
        airlock
            .record(
                "pg.refused",
                None,
                json!({ "agent": token.agent, "token": token.id, "resource": resource.name, "why": "environment outside the token's scope" }),
            )
            .ok();
        send_fatal(
            client,
            &ErrorResponse::fatal(
                "42501",
                format!(
                    "Airlock: token {}… may reach {} only, and database {:?} is in {}",
                    token.id,
                    token.environments.join(", "),
                    resource.name,
                    resource.environment
                ),
            )
            .with_hint(
                "Ask an operator for a token whose scope includes that environment; do not use another credential.",
            ),
        )
        .await;
        return Ok(None);
    }

    let key = PoolKey::new(&resource.name, &params);
    let upstream = match shared.pool.checkout(&key) {
        Some(u) => u,
        None => match connect_upstream(resource, &airlock.config, &params).await {
            Ok(u) => u,
            Err(e) => {
                send_fatal(
                    client,
                    &ErrorResponse::fatal(
                        "08006",
                        format!("Airlock cannot reach the database of resource {}: {e}", resource.name),
                    ),
                )
                .await;
                return Ok(None);
            }
        },
    };
    let session = shared.sessions.fetch_add(1, Ordering::Relaxed) + 1;
    shared.judge.audit().push(Entry::Connected {
        at: airlock_server::now(),
        session,
        agent: token.agent.clone(),
        token: token.id.clone(),
        resource: resource.name.clone(),
        peer: peer.to_string(),
    });
    let caller = Caller {
        token,
        resource: resource.name.clone(),
        session,
    };
    Ok(Some((caller, upstream, key)))
}

async fn connect_upstream(
    resource: &ResourceConfig,
    config: &airlock_config::Config,
    params: &[(String, String)],
) -> Result<Upstream, PgError> {
    let url = resource.connection_url(config).map_err(PgError::Setup)?;
    let target = Target::from_url(&url)?;
    upstream::connect(&target, params).await
}

/// SCRAM-SHA-256 against every usable token's verifier; the token whose verifier accepts the proof.
async fn authenticate<S: Client>(shared: &Shared, client: &mut S) -> Result<Option<TokenRecord>, PgError> {
    client.write_all(&auth_sasl()).await?;
    let initial = SaslInitial::parse(&read_auth_message(client, b'p').await?)?;
    if initial.mechanism != "SCRAM-SHA-256" {
        return Err(PgError::Protocol(format!(
            "SASL mechanism {:?} was not offered; use SCRAM-SHA-256",
            initial.mechanism
        )));
    }
    let airlock = shared.judge.airlock();
    let salt = airlock.scram_salt().map_err(|e| PgError::Setup(e.to_string()))?;
    let (exchange, server_first) = ScramExchange::start(&initial.data, &salt, &random_bytes::<18>())?;
    client.write_all(&auth_sasl_continue(&server_first)).await?;
    let client_final = read_auth_message(client, b'p').await?;
    let at = airlock_server::now();
    let (mut tokens, verifiers): (Vec<TokenRecord>, Vec<ScramVerifier>) = airlock
        .store()
        .tokens()
        .map_err(|e| PgError::Setup(format!("cannot read the tokens: {e}")))?
        .into_iter()
        .filter(|t| t.is_usable(at))
        .filter_map(|t| {
            let v = ScramVerifier::decode(t.scram.as_deref()?)?;
            Some((t, v))
        })
        .unzip();
    let Some((index, server_final)) = exchange.finish(&client_final, &verifiers)? else {
        return Ok(None);
    };
    client.write_all(&auth_sasl_final(&server_final)).await?;
    Ok(Some(tokens.swap_remove(index)))
}
