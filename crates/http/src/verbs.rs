//! The words that say an operation destroys: in an operation's name (`volumeDelete`,
//! `delete_branch`, `purgeCache`) or a schema's description of it ("Permanently removes …").

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

/// Splits an identifier into lowercase words: `volumeDelete` → volume, delete; `delete_users` →
/// delete, users; `purge-cache` → purge, cache.
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

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
    words(name)
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
        assert_eq!(words("volumeDelete"), ["volume", "delete"]);
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
