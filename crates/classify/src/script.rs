//! Script files: a caller that can read the file an action runs (`./deploy.sh`, `python job.py`,
//! `psql -f migrate.sql`) hands its content here to learn what it will really do.

use serde::{Deserialize, Serialize};

use crate::ctx::Ctx;
use crate::interp::{scan, Lang};

/// The language a script is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptLanguage {
    Shell,
    Sql,
    Python,
    JavaScript,
    Perl,
    Ruby,
    Php,
}

impl ScriptLanguage {
    pub(crate) fn from_lang(lang: Lang) -> ScriptLanguage {
        match lang {
            Lang::Python => ScriptLanguage::Python,
            Lang::JavaScript | Lang::Mongo => ScriptLanguage::JavaScript,
            Lang::Perl => ScriptLanguage::Perl,
            Lang::Ruby => ScriptLanguage::Ruby,
            Lang::Php => ScriptLanguage::Php,
        }
    }

    /// Guesses the language from the shebang line, then the file extension; shell otherwise.
    pub fn detect(path: &str, content: &str) -> ScriptLanguage {
        if let Some(line) = content.lines().next().and_then(|l| l.strip_prefix("#!")) {
            let mut words = line.split_whitespace();
            let mut prog = words.next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
            if prog == "env" {
                prog = words.find(|w| !w.starts_with('-')).unwrap_or_default();
            }
            if let Some(lang) = Self::from_program(prog) {
                return lang;
            }
        }
        let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        match ext {
            "sql" | "psql" => ScriptLanguage::Sql,
            "py" => ScriptLanguage::Python,
            "js" | "mjs" | "cjs" | "ts" | "mts" => ScriptLanguage::JavaScript,
            "pl" | "pm" => ScriptLanguage::Perl,
            "rb" => ScriptLanguage::Ruby,
            "php" => ScriptLanguage::Php,
            _ => ScriptLanguage::Shell,
        }
    }

    fn from_program(prog: &str) -> Option<ScriptLanguage> {
        match prog {
            "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" => Some(ScriptLanguage::Shell),
            _ => Lang::of_program(prog).map(ScriptLanguage::from_lang),
        }
    }

    fn lang(self) -> Option<Lang> {
        match self {
            ScriptLanguage::Shell | ScriptLanguage::Sql => None,
            ScriptLanguage::Python => Some(Lang::Python),
            ScriptLanguage::JavaScript => Some(Lang::JavaScript),
            ScriptLanguage::Perl => Some(Lang::Perl),
            ScriptLanguage::Ruby => Some(Lang::Ruby),
            ScriptLanguage::Php => Some(Lang::Php),
        }
    }
}

pub(crate) fn classify_into(content: &str, lang: ScriptLanguage, ctx: &mut Ctx<'_>) {
    match (lang, lang.lang()) {
        (ScriptLanguage::Shell, _) => crate::shell::classify(content, ctx),
        (ScriptLanguage::Sql, _) => crate::sql::classify_into(content, ctx),
        (_, Some(l)) => scan(content, l, &first_line(content), ctx),
        (_, None) => crate::shell::classify(content, ctx),
    }
}

fn first_line(content: &str) -> String {
    content
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("#!"))
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_shebang_then_extension() {
        assert_eq!(
            ScriptLanguage::detect("x", "#!/usr/bin/env python3\nprint(1)"),
            ScriptLanguage::Python
        );
        assert_eq!(ScriptLanguage::detect("x.sh", "#!/bin/bash\n"), ScriptLanguage::Shell);
        assert_eq!(ScriptLanguage::detect("m.sql", "DROP TABLE x"), ScriptLanguage::Sql);
        assert_eq!(ScriptLanguage::detect("run", "echo hi"), ScriptLanguage::Shell);
        assert_eq!(ScriptLanguage::detect("a.rb", ""), ScriptLanguage::Ruby);
    }
}
