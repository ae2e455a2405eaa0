use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of thing an action touches. Later pipeline steps resolve targets to configured resources
/// and environments, so each kind names what a resolver can match on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    Path,
    Table,
    Schema,
    Database,
    Host,
    Port,
    Url,
    Environment,
    Project,
    Context,
    Namespace,
    Profile,
    Region,
    Volume,
    Bucket,
    Cluster,
    Service,
    Container,
    Image,
    Pod,
    App,
    Branch,
    Remote,
    Resource,
    Process,
    /// An API object named by id (for example a GraphQL `volumeId` argument).
    Object,
    /// A script file the action runs; its content decides what really happens.
    Script,
    /// A working tree whose uncommitted files (untracked, ignored, changed) the action discards.
    Worktree,
    /// An MCP server, as agents name it in `mcp__<server>__<tool>` (`?` when the agent did not say).
    Mcp,
}

impl TargetKind {
    const NAMES: [(&'static str, TargetKind); 29] = [
        ("path", TargetKind::Path),
        ("table", TargetKind::Table),
        ("schema", TargetKind::Schema),
        ("database", TargetKind::Database),
        ("host", TargetKind::Host),
        ("port", TargetKind::Port),
        ("url", TargetKind::Url),
        ("environment", TargetKind::Environment),
        ("project", TargetKind::Project),
        ("context", TargetKind::Context),
        ("namespace", TargetKind::Namespace),
        ("profile", TargetKind::Profile),
        ("region", TargetKind::Region),
        ("volume", TargetKind::Volume),
        ("bucket", TargetKind::Bucket),
        ("cluster", TargetKind::Cluster),
        ("service", TargetKind::Service),
        ("container", TargetKind::Container),
        ("image", TargetKind::Image),
        ("pod", TargetKind::Pod),
        ("app", TargetKind::App),
        ("branch", TargetKind::Branch),
        ("remote", TargetKind::Remote),
        ("resource", TargetKind::Resource),
        ("process", TargetKind::Process),
        ("object", TargetKind::Object),
        ("script", TargetKind::Script),
        ("worktree", TargetKind::Worktree),
        ("mcp", TargetKind::Mcp),
    ];

    /// The lowercase name used in JSON and rule packs.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("resource")
    }

    /// Parses a lowercase kind name.
    pub fn from_name(name: &str) -> Option<TargetKind> {
        Self::NAMES.iter().find(|(n, _)| *n == name).map(|(_, k)| *k)
    }
}

/// One thing an action touches: a path, a table, a host, an environment flag, an API object…
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub value: String,
}

impl Target {
    pub fn new(kind: TargetKind, value: impl Into<String>) -> Target {
        Target {
            kind,
            value: value.into(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.as_str(), self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for (name, kind) in TargetKind::NAMES {
            assert_eq!(kind.as_str(), name);
            assert_eq!(TargetKind::from_name(name), Some(kind));
        }
        assert_eq!(TargetKind::from_name("nope"), None);
    }

    #[test]
    fn displays_as_kind_colon_value() {
        assert_eq!(
            Target::new(TargetKind::Table, "public.users").to_string(),
            "table:public.users"
        );
    }
}
