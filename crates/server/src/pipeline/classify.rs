//! Stage 1: what the action will do. The classifier reads scripts the action runs through the
//! real filesystem; which scripts it read, and their content hashes, are kept, because an approval
//! covers that content and nothing else.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use airlock_classify::{classify, find_credentials, Action, ActionKind, Assessment, Credential, PathState, World};

use crate::api::SubmitRequest;
use crate::{Airlock, ApiError, FsWorld};

/// A script (or file run as code) the classifier read, with the SHA-256 of what it read.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScriptRead {
    pub path: String,
    pub sha256: String,
}

/// The real filesystem, remembering every script it handed to the classifier.
struct RecordingWorld {
    scripts: Mutex<Vec<ScriptRead>>,
}

impl World for RecordingWorld {
    fn path_state(&self, path: &Path) -> PathState {
        FsWorld.path_state(path)
    }

    fn read_script(&self, path: &Path) -> Option<String> {
        let text = FsWorld.read_script(path)?;
        let sha256 = airlock_store::digest_parts(&[&text]);
        self.scripts.lock().unwrap_or_else(|p| p.into_inner()).push(ScriptRead {
            path: path.display().to_string(),
            sha256,
        });
        Some(text)
    }
}

pub(crate) fn kind_of(k: &str) -> Result<ActionKind, ApiError> {
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
    /// Classifies the action; also returns the credentials it carries that are not `own_token`,
    /// and the scripts it runs.
    pub(crate) fn assess(
        &self,
        req: &SubmitRequest,
        own_token: Option<&str>,
    ) -> Result<(Assessment, Vec<Credential>, Vec<ScriptRead>), ApiError> {
        let kind = kind_of(&req.kind)?;
        let cwd = req.cwd.clone().unwrap_or_else(|| "/".into());
        let mut action = Action::new(kind, req.input.clone()).with_cwd(&cwd);
        action.home = std::env::var_os("HOME").map(PathBuf::from);
        action.protected_paths = self.airlock_paths.clone();
        let world = RecordingWorld {
            scripts: Mutex::new(Vec::new()),
        };
        let mut assessment = classify(&action, &world);
        if let Some(extra) = &req.findings {
            super::findings::merge(&mut assessment, extra);
        }
        let credentials = find_credentials(&req.input, own_token);
        let mut scripts = world.scripts.into_inner().unwrap_or_else(|p| p.into_inner());
        scripts.sort_by(|a, b| a.path.cmp(&b.path));
        scripts.dedup();
        Ok((assessment, credentials, scripts))
    }
}
