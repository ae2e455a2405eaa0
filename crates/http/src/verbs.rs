//! The words that say an operation destroys: in an operation's name (`volumeDelete`,
//! `delete_branch`, `purgeCache`) or a schema's description of it ("Permanently removes …").

use airlock_classify::identifier_words;

/// Verbs whose operations remove or overwrite data wholesale.
const DESTRUCTIVE: [&str; 16] = [
    "delete",
    "remove",
    "destroy",
    "purge",
    "drop",
    "wipe",
    "erase",
    "truncate",
    "reset",
    "nuke",
    "terminate",
    "prune",
    "overwrite",
    "shred",
    "flush",
    "obliterate",
];

/// The destructive verb a word is a form of (`deletes`, `deleting`, `removed`, `dropping`).
fn verb_of(word: &str) -> Option<&'static str> {
    DESTRUCTIVE.iter().copied().find(|v| {
        let stem = v.strip_suffix('e').unwrap_or(v);
        let last = v.chars().last().unwrap_or_default();
        let forms = [
            v.to_string(),
            format!("{v}s"),
            format!("{v}es"),
            format!("{v}d"),
            format!("{stem}ed"),
            format!("{stem}ing"),
            format!("{v}{last}ed"),
            format!("{v}{last}ing"),
        ];
        forms.iter().any(|f| f == word)
    })
}

/// The first destructive verb among an identifier's words.
pub fn in_name(name: &str) -> Option<&'static str> {
    identifier_words(name)
        .iter()
        .find_map(|w| DESTRUCTIVE.iter().copied().find(|v| v == w))
}

/// The first destructive verb in a description's text, in any of its forms.
pub fn in_text(text: &str) -> Option<&'static str> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .find_map(|w| verb_of(&w.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_and_descriptions_say_destroy() {
        assert_eq!(identifier_words("volumeDelete"), ["volume", "delete"]);
        assert_eq!(in_name("volumeDelete"), Some("delete"));
        assert_eq!(in_name("delete_branch"), Some("delete"));
        assert_eq!(in_name("volumeCreate"), None);
        assert_eq!(in_name("deletedItems"), None);
        assert_eq!(in_text("Permanently removes the service"), Some("remove"));
        assert_eq!(in_text("Dropped tables cannot come back"), Some("drop"));
        assert_eq!(in_text("Deleting a project"), Some("delete"));
        assert_eq!(in_text("Create a persistent volume"), None);
        assert_eq!(in_text("A dropdown of resettable things"), None);
    }

    proptest! {
        #[test]
        fn any_text_is_answered(s in ".{0,200}") {
            let _ = in_name(&s);
            let _ = in_text(&s);
        }
    }
}
