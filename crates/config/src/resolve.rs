//! Resolution: an assessment's targets become resources with environments, the input of policy.

use std::path::{Path, PathBuf};

use airlock_classify::{glob_match, protected_reason, Assessment, Target, TargetKind};

use crate::Config;

/// A target matched to what the configuration knows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Resolved {
    /// A configured resource's name, or the target itself (`host:api.example.com`).
    pub name: String,
    /// `postgres`, `sqlite`, `path`, `host`, `cloud`, `kube`, `airlock`, `vault`, …
    pub kind: String,
    pub environment: String,
    /// What matched, for explanations.
    pub via: String,
}

/// Resolves targets against a configuration. Airlock's own locations are `airlock` resources, the
/// vault a `vault` resource: the policy forbids touching them.
pub struct Resolver<'a> {
    config: &'a Config,
    airlock_paths: Vec<PathBuf>,
    vault_paths: Vec<PathBuf>,
}

const UNKNOWN: &str = "unknown";

/// Targets that live on this machine when nothing says otherwise.
fn is_local_kind(kind: TargetKind) -> bool {
    matches!(
        kind,
        TargetKind::Container | TargetKind::Image | TargetKind::Volume | TargetKind::Branch | TargetKind::Process
    )
}

impl<'a> Resolver<'a> {
    pub fn new(config: &'a Config, airlock_paths: Vec<PathBuf>, vault_paths: Vec<PathBuf>) -> Resolver<'a> {
        Resolver {
            config,
            airlock_paths,
            vault_paths,
        }
    }

    pub fn resolve(&self, assessment: &Assessment, cwd: Option<&Path>, sql_without_connection: bool) -> Vec<Resolved> {
        let mut out: Vec<Resolved> = Vec::new();
        fn push(out: &mut Vec<Resolved>, r: Resolved) {
            if !out
                .iter()
                .any(|o| o.name == r.name && o.kind == r.kind && o.environment == r.environment)
            {
                out.push(r);
            }
        }
        let has_host = assessment.targets.iter().any(|t| t.kind == TargetKind::Host);
        let mut explicit_env = false;
        let mut remote_objects = Vec::new();
        for t in &assessment.targets {
            match t.kind {
                TargetKind::Path | TargetKind::Script | TargetKind::Worktree => {
                    push(&mut out, self.path(Path::new(&t.value)))
                }
                TargetKind::Host => {
                    explicit_env = true;
                    push(&mut out, self.host(&t.value));
                }
                TargetKind::Database => {
                    if let Some(r) = self.database(&t.value, has_host || sql_without_connection) {
                        explicit_env = true;
                        push(&mut out, r);
                    }
                }
                TargetKind::Environment | TargetKind::Context => {
                    explicit_env = true;
                    push(&mut out, self.cloud(t));
                }
                TargetKind::Project | TargetKind::Namespace | TargetKind::Profile | TargetKind::Region => {
                    if let Some(env) = self.env_by(|e| e.cloud.iter().any(|c| c == &t.value)) {
                        explicit_env = true;
                        push(
                            &mut out,
                            Resolved {
                                name: t.to_string(),
                                kind: "cloud".into(),
                                environment: env,
                                via: format!("{} matches an environment's cloud names", t),
                            },
                        );
                    }
                }
                TargetKind::Mcp => {
                    explicit_env = true;
                    push(&mut out, self.mcp_server(&t.value));
                }
                TargetKind::Process if t.value.to_ascii_lowercase().contains("airlock") => push(
                    &mut out,
                    Resolved {
                        name: "airlock".into(),
                        kind: "airlock".into(),
                        environment: self.config.defaults.local_environment.clone(),
                        via: "the action stops or administers Airlock itself".into(),
                    },
                ),
                k if is_local_kind(k) => {}
                TargetKind::Table | TargetKind::Schema | TargetKind::Port | TargetKind::Url => {}
                _ => remote_objects.push(t),
            }
        }
        // Objects of remote APIs (buckets, apps, services, API ids) with nothing that places them:
        // an environment nobody claimed is treated like production.
        if !explicit_env {
            for t in remote_objects {
                push(
                    &mut out,
                    Resolved {
                        name: t.to_string(),
                        kind: "cloud".into(),
                        environment: UNKNOWN.into(),
                        via: "a remote object with no environment flag, context or host that places it".into(),
                    },
                );
            }
        }
        if sql_without_connection && out.is_empty() {
            push(
                &mut out,
                Resolved {
                    name: "(database)".into(),
                    kind: "postgres".into(),
                    environment: UNKNOWN.into(),
                    via: "SQL with no connection that says which database it reaches".into(),
                },
            );
        }
        if out.is_empty() {
            let dir = cwd.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
            let mut r = self.path(&dir);
            r.via = format!("the working directory: {}", r.via);
            push(&mut out, r);
        }
        out
    }

    fn env_by(&self, pred: impl Fn(&crate::EnvironmentConfig) -> bool) -> Option<String> {
        self.config
            .environments
            .iter()
            .find(|e| pred(e))
            .map(|e| e.name.clone())
    }

    fn path(&self, p: &Path) -> Resolved {
        let local = &self.config.defaults.local_environment;
        if self.vault_paths.iter().any(|v| p.starts_with(v) || v.starts_with(p)) {
            return Resolved {
                name: "vault".into(),
                kind: "vault".into(),
                environment: local.clone(),
                via: format!("{} is the vault", p.display()),
            };
        }
        if protected_reason(&p.display().to_string(), &self.airlock_paths).is_some() {
            return Resolved {
                name: "airlock".into(),
                kind: "airlock".into(),
                environment: local.clone(),
                via: format!("{} belongs to Airlock or an agent's hook settings", p.display()),
            };
        }
        for r in &self.config.resources {
            if let Some(rp) = &r.path {
                let rp = self.config.path(rp);
                if p.starts_with(&rp) {
                    return Resolved {
                        name: r.name.clone(),
                        kind: r.kind.clone(),
                        environment: r.environment.clone(),
                        via: format!("{} is under resource {}", p.display(), r.name),
                    };
                }
            }
        }
        let best = self
            .config
            .environments
            .iter()
            .flat_map(|e| e.paths.iter().map(move |prefix| (e, self.config.path(prefix))))
            .filter(|(_, prefix)| p.starts_with(prefix))
            .max_by_key(|(_, prefix)| prefix.components().count());
        match best {
            Some((e, prefix)) => Resolved {
                name: p.display().to_string(),
                kind: "path".into(),
                environment: e.name.clone(),
                via: format!("under {}", prefix.display()),
            },
            None => Resolved {
                name: p.display().to_string(),
                kind: "path".into(),
                environment: local.clone(),
                via: "a local path no environment claims".into(),
            },
        }
    }

    /// An MCP server: the `[[resource]] kind = "mcp"` that names it, else `unknown` (treated like
    /// production): a tool call reaches whatever the server is connected to, which the working
    /// directory says nothing about.
    fn mcp_server(&self, server: &str) -> Resolved {
        if let Some(r) = self
            .config
            .resources
            .iter()
            .find(|r| r.kind == "mcp" && r.name == server)
        {
            return Resolved {
                name: r.name.clone(),
                kind: "mcp".into(),
                environment: r.environment.clone(),
                via: format!("the MCP server {server} is resource {}", r.name),
            };
        }
        Resolved {
            name: format!("mcp:{server}"),
            kind: "mcp".into(),
            environment: UNKNOWN.into(),
            via: format!("no [[resource]] kind = \"mcp\" names the MCP server {server:?}"),
        }
    }

    /// The environment a host belongs to: a resource's, an environment's host glob, local for
    /// loopback, else `unknown`.
    pub fn host(&self, host: &str) -> Resolved {
        for r in &self.config.resources {
            if r.url
                .as_deref()
                .and_then(url_host)
                .is_some_and(|h| h.eq_ignore_ascii_case(host))
            {
                return Resolved {
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                    environment: r.environment.clone(),
                    via: format!("{host} is resource {}", r.name),
                };
            }
        }
        let environment = self.config.environment_of_host(host);
        let via = if environment == UNKNOWN {
            format!("no environment claims the host {host}")
        } else {
            format!("{host} matches environment {environment}")
        };
        Resolved {
            name: format!("host:{host}"),
            kind: "host".into(),
            environment,
            via,
        }
    }

    fn database(&self, db: &str, placed_elsewhere: bool) -> Option<Resolved> {
        for r in &self.config.resources {
            if r.url.as_deref().and_then(url_database).is_some_and(|d| d == db) {
                return Some(Resolved {
                    name: r.name.clone(),
                    kind: r.kind.clone(),
                    environment: r.environment.clone(),
                    via: format!("database {db} is resource {}", r.name),
                });
            }
        }
        if let Some(env) = self.env_by(|e| e.databases.iter().any(|d| d == db)) {
            return Some(Resolved {
                name: format!("database:{db}"),
                kind: "postgres".into(),
                environment: env.clone(),
                via: format!("database {db} belongs to {env}"),
            });
        }
        if placed_elsewhere {
            return None;
        }
        Some(Resolved {
            name: format!("database:{db}"),
            kind: "postgres".into(),
            environment: self.config.defaults.local_environment.clone(),
            via: format!("database {db} on the local server"),
        })
    }

    fn cloud(&self, t: &Target) -> Resolved {
        let env = match t.kind {
            TargetKind::Context => self.env_by(|e| e.contexts.iter().any(|c| c == &t.value)),
            _ => self.env_by(|e| e.name == t.value || e.cloud.iter().any(|c| c == &t.value)),
        };
        let kind = if t.kind == TargetKind::Context { "kube" } else { "cloud" };
        match env {
            Some(environment) => Resolved {
                name: t.to_string(),
                kind: kind.into(),
                via: format!("{t} belongs to {environment}"),
                environment,
            },
            None => Resolved {
                name: t.to_string(),
                kind: kind.into(),
                environment: UNKNOWN.into(),
                via: format!("no environment claims {t}"),
            },
        }
    }
}

impl Config {
    /// The environment of a host name: the first environment whose host globs match, the local
    /// environment for loopback, else `unknown`.
    pub fn environment_of_host(&self, host: &str) -> String {
        let host = host.to_ascii_lowercase();
        if let Some(e) = self
            .environments
            .iter()
            .find(|e| e.hosts.iter().any(|g| glob_match(&g.to_ascii_lowercase(), &host)))
        {
            return e.name.clone();
        }
        if host == "localhost" || host.ends_with(".localhost") || host == "::1" || host.starts_with("127.") {
            return self.defaults.local_environment.clone();
        }
        UNKNOWN.to_owned()
    }
}

fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    Some(rest.split(['/', '?']).next().unwrap_or_default())
}

fn url_host(url: &str) -> Option<&str> {
    let a = authority(url)?;
    let hostport = a.rsplit_once('@').map_or(a, |(_, h)| h);
    Some(hostport.rsplit_once(':').map_or(hostport, |(h, _)| h))
}

fn url_database(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let path = rest.split_once('/')?.1;
    let db = path.split(['?', '#']).next().unwrap_or_default();
    (!db.is_empty()).then_some(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_classify::{classify, Action, NoWorld};

    fn config() -> Config {
        Config::parse(
            r#"
            [[environment]]
            name = "production"
            hosts = ["*.prod.example.com"]
            databases = ["shop"]
            paths = ["/srv/prod"]
            cloud = ["production", "acme-prod"]
            contexts = ["prod-cluster"]

            [[environment]]
            name = "staging"
            hosts = ["*.staging.example.com"]
            paths = ["/srv/staging"]
            cloud = ["staging"]

            [[resource]]
            name = "shop-db"
            kind = "postgres"
            environment = "production"
            url = "postgres://app@db.prod.example.com:5432/shop"
            secret_env = "SHOP_DB_PASSWORD"

            [[resource]]
            name = "notes"
            kind = "mcp"
            environment = "staging"
            "#,
            Path::new("/etc/airlock"),
        )
        .unwrap()
    }

    fn envs(cmd: &str) -> Vec<String> {
        let c = config();
        let r = Resolver::new(&c, vec!["/etc/airlock".into()], vec!["/var/lib/airlock/vault".into()]);
        let a = classify(&Action::shell(cmd).with_cwd("/home/dev/app"), &NoWorld);
        r.resolve(&a, Some(Path::new("/home/dev/app")), false)
            .into_iter()
            .map(|x| format!("{}@{}", x.kind, x.environment))
            .collect()
    }

    #[test]
    fn targets_resolve_to_environments() {
        assert_eq!(
            envs("psql -h db.prod.example.com -d shop -c 'DROP TABLE x'"),
            ["postgres@production"]
        );
        assert_eq!(envs("rm -rf /srv/staging/uploads"), ["path@staging"]);
        assert_eq!(envs("rm -rf build"), ["path@development"]);
        assert_eq!(
            envs("kubectl delete ns app --context prod-cluster"),
            ["kube@production"]
        );
        assert_eq!(envs("railway volume delete --environment staging"), ["cloud@staging"]);
        assert_eq!(envs("curl -X DELETE https://api.unclaimed.dev/v1/x"), ["host@unknown"]);
        assert_eq!(envs("curl -X DELETE http://localhost:3000/x"), ["host@development"]);
        assert_eq!(envs("ls"), ["path@development"]);
    }

    #[test]
    fn airlock_and_vault_paths_are_their_own_kinds() {
        assert_eq!(envs("rm /etc/airlock/state.db"), ["airlock@development"]);
        assert_eq!(envs("cat /var/lib/airlock/vault/key"), ["vault@development"]);
        assert_eq!(envs("echo x > .claude/settings.json"), ["airlock@development"]);
    }

    fn tool_envs(call: &str) -> Vec<String> {
        let c = config();
        let r = Resolver::new(&c, vec![], vec![]);
        let a = classify(
            &Action::new(airlock_classify::ActionKind::Tool, call).with_cwd("/srv/staging/app"),
            &NoWorld,
        );
        r.resolve(&a, Some(Path::new("/srv/staging/app")), false)
            .into_iter()
            .map(|x| format!("{}:{}@{}", x.kind, x.name, x.environment))
            .collect()
    }

    #[test]
    fn mcp_servers_resolve_to_their_resource_never_to_the_working_directory() {
        assert_eq!(
            tool_envs(r#"{"name": "mcp__railway__volume_delete", "arguments": {"volumeId": "v1"}}"#),
            ["mcp:mcp:railway@unknown"]
        );
        assert_eq!(
            tool_envs(r#"{"name": "mcp__notes__add_note", "arguments": {"text": "hi"}}"#),
            ["mcp:notes@staging"]
        );
        // A name without a server part still resolves as an MCP server nobody configured.
        assert_eq!(
            tool_envs(r#"{"name": "mcp__query", "arguments": {}}"#),
            ["mcp:mcp:?@unknown"]
        );
    }
}
