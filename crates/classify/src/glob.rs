//! The small glob dialect of rule packs: `*` matches any run of characters, `?` exactly one.

/// Whether `text` matches `pattern` in full (`*` any run, `?` one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    // Most patterns have no wildcard: a plain comparison, no allocation. ASCII text (nearly all)
    // is matched on bytes; other text on chars, so that `?` is one character.
    if !is_glob(pattern) {
        return pattern == text;
    }
    if pattern.is_ascii() && text.is_ascii() {
        matches(pattern.as_bytes(), text.as_bytes())
    } else {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        matches(&p, &t)
    }
}

/// Iterative matcher with single-star backtracking: linear in practice, never exponential.
fn matches<T: PartialEq + Copy + Wild>(p: &[T], t: &[T]) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi].is_any() || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi].is_star() {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi].is_star() {
        pi += 1;
    }
    pi == p.len()
}

/// The two wildcards, for bytes and for chars.
trait Wild {
    fn is_star(&self) -> bool;
    fn is_any(&self) -> bool;
}

impl Wild for u8 {
    fn is_star(&self) -> bool {
        *self == b'*'
    }
    fn is_any(&self) -> bool {
        *self == b'?'
    }
}

impl Wild for char {
    fn is_star(&self) -> bool {
        *self == '*'
    }
    fn is_any(&self) -> bool {
        *self == '?'
    }
}

/// Whether a string uses glob syntax at all (so that exact lookups can skip it).
pub(crate) fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_stars_and_question_marks() {
        assert!(glob_match("delete-*", "delete-bucket"));
        assert!(glob_match("*", ""));
        assert!(glob_match("+*", "+main"));
        assert!(!glob_match("+*", "main"));
        assert!(glob_match("mkfs.*", "mkfs.ext4"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*db:drop*", "db:drop:all"));
        assert!(!glob_match("db:drop", "db:drop:all"));
    }

    #[test]
    fn non_ascii_text_matches_by_character() {
        assert!(glob_match("d?ta", "däta"));
        assert!(glob_match("*ü*", "grün"));
        assert!(!glob_match("a?", "aüü"));
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(10_000);
        assert!(!glob_match("*a*a*a*a*a*b", &text));
    }
}
