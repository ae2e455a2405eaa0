//! Expansion contexts the word parser leaves as text: command substitutions inside `$(( … ))` and
//! `${x:-…}`, brace expansion that forms words (`{rm,-rf,DIR}`), and globs in a command's name
//! (`/bin/r?`, `/usr/bin/[r]m`), matched against the programs Airlock knows.

/// The command substitutions (`$(…)`, `` `…` ``) inside an arithmetic or parameter expansion.
pub(crate) fn inner_substitutions(raw: &str) -> Vec<String> {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' && chars.get(i + 1) == Some(&'(') && chars.get(i + 2) != Some(&'(') {
            let start = i + 2;
            let mut depth = 1usize;
            let mut j = start;
            while j < chars.len() && depth > 0 {
                match chars[j] {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                j += 1;
            }
            if depth == 0 {
                out.push(chars[start..j - 1].iter().collect());
            }
            i = j;
        } else if chars[i] == '`' {
            let start = i + 1;
            let end = chars[start..].iter().position(|&c| c == '`').map(|p| start + p);
            if let Some(end) = end {
                out.push(chars[start..end].iter().collect());
                i = end + 1;
            } else {
                break;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Brace expansion of one word, as bash does it (`a{b,c}d` → `abd acd`), one level at a time
/// and bounded: sequences (`{1..3}`) are left as they are.
pub(crate) fn braces(word: &str) -> Vec<String> {
    let mut words = vec![word.to_owned()];
    for _ in 0..4 {
        let mut next = Vec::new();
        let mut changed = false;
        for w in &words {
            match split_once_brace(w) {
                Some((pre, alts, post)) => {
                    changed = true;
                    next.extend(alts.into_iter().map(|a| format!("{pre}{a}{post}")));
                }
                None => next.push(w.clone()),
            }
            if next.len() > 64 {
                return words;
            }
        }
        words = next;
        if !changed {
            break;
        }
    }
    words
}

fn split_once_brace(w: &str) -> Option<(String, Vec<String>, String)> {
    let open = w.find('{')?;
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in w[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let close = close?;
    if commas.is_empty() {
        return None;
    }
    let mut alts = Vec::new();
    let mut from = open + 1;
    for c in commas.into_iter().chain(std::iter::once(close)) {
        alts.push(w[from..c].to_owned());
        from = c + 1;
    }
    Some((w[..open].to_owned(), alts, w[close + 1..].to_owned()))
}

/// Whether `text` matches a shell glob (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`).
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches_at(&p, &t, 0)
}

fn matches_at(p: &[char], t: &[char], depth: usize) -> bool {
    if depth > 32 {
        return false;
    }
    let (mut pi, mut ti) = (0, 0);
    while pi < p.len() {
        match p[pi] {
            '*' => {
                return (ti..=t.len()).any(|k| matches_at(&p[pi + 1..], &t[k..], depth + 1));
            }
            '?' => {
                if ti >= t.len() {
                    return false;
                }
            }
            '[' => {
                let Some(end) = p[pi + 1..].iter().position(|&c| c == ']').map(|e| pi + 1 + e) else {
                    return ti < t.len() && t[ti] == '[' && matches_at(&p[pi + 1..], &t[ti + 1..], depth + 1);
                };
                if ti >= t.len() {
                    return false;
                }
                let mut set = &p[pi + 1..end];
                let negate = set.first().is_some_and(|c| *c == '!' || *c == '^');
                if negate {
                    set = &set[1..];
                }
                let mut hit = false;
                let mut k = 0;
                while k < set.len() {
                    if k + 2 < set.len() && set[k + 1] == '-' {
                        hit |= set[k] <= t[ti] && t[ti] <= set[k + 2];
                        k += 3;
                    } else {
                        hit |= set[k] == t[ti];
                        k += 1;
                    }
                }
                if hit == negate {
                    return false;
                }
                pi = end;
            }
            c => {
                if ti >= t.len() || t[ti] != c {
                    return false;
                }
            }
        }
        pi += 1;
        ti += 1;
    }
    ti == t.len()
}

/// `tr SET1 SET2` over known text (ranges like `a-z`; no classes or options).
pub(crate) fn translate(text: &str, from: &str, to: &str) -> Option<String> {
    let expand = |set: &str| -> Option<Vec<char>> {
        let c: Vec<char> = set.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        while i < c.len() {
            if c[i] == '[' || c[i] == '\\' {
                return None;
            }
            if i + 2 < c.len() && c[i + 1] == '-' && c[i] <= c[i + 2] {
                out.extend(c[i]..=c[i + 2]);
                i += 3;
            } else {
                out.push(c[i]);
                i += 1;
            }
        }
        Some(out)
    };
    let (from, to) = (expand(from)?, expand(to)?);
    if from.is_empty() || to.is_empty() || from.len() > 512 {
        return None;
    }
    Some(
        text.chars()
            .map(|ch| match from.iter().position(|&f| f == ch) {
                Some(i) => *to.get(i).unwrap_or(to.last().unwrap_or(&ch)),
                None => ch,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any word expands to a bounded list, and text without braces is left alone.
        #[test]
        fn expansion_braces_are_total_and_bounded(w in "[a-z{},.-]{0,40}") {
            let out = braces(&w);
            prop_assert!(!out.is_empty() && out.len() <= 64 * 4);
            if !w.contains('{') {
                prop_assert_eq!(out, vec![w.clone()]);
            }
        }

        /// Glob matching never panics, and a pattern without wildcards matches only itself.
        #[test]
        fn expansion_glob_matching_is_total(p in "[a-z*?\\[\\]!-]{0,12}", t in "[a-z]{0,12}") {
            let _ = glob_matches(&p, &t);
            if !p.contains(['*', '?', '[']) {
                prop_assert_eq!(glob_matches(&p, &t), p == t);
            }
        }

        #[test]
        fn expansion_inner_substitutions_are_total(s in "[$()`a-z {}:-]{0,60}") {
            let _ = inner_substitutions(&s);
        }

        #[test]
        fn expansion_tr_keeps_length(t in "[a-z ]{0,40}") {
            let out = translate(&t, "a-z", "n-za-m").unwrap();
            prop_assert_eq!(out.chars().count(), t.chars().count());
        }
    }

    #[test]
    fn expansion_contexts_hold_commands() {
        assert_eq!(
            inner_substitutions("$(( $(rm -rf x && echo 1) + 1 ))"),
            ["rm -rf x && echo 1"]
        );
        assert_eq!(
            inner_substitutions("${X:-$(rm -rf b && echo /tmp)}"),
            ["rm -rf b && echo /tmp"]
        );
        assert_eq!(inner_substitutions("${X:-`id`}"), ["id"]);
        assert!(inner_substitutions("$((1+2))").is_empty());
    }

    #[test]
    fn expansion_braces_form_words() {
        assert_eq!(braces("{rm,-rf,storage}"), ["rm", "-rf", "storage"]);
        assert_eq!(braces("f.{txt,bak}"), ["f.txt", "f.bak"]);
        assert_eq!(braces("{1..3}"), ["{1..3}"]);
        assert_eq!(braces("{a,{b,c}}"), ["a", "b", "c"]);
    }

    #[test]
    fn expansion_tr_decodes_rot13() {
        assert_eq!(
            translate("ez -es qngn", "a-z", "n-za-m").as_deref(),
            Some("rm -rf data")
        );
        assert_eq!(translate("x", "[:lower:]", "[:upper:]"), None);
    }

    #[test]
    fn expansion_globs_in_program_names() {
        assert!(glob_matches("r?", "rm"));
        assert!(glob_matches("[r]m", "rm"));
        assert!(glob_matches("[q-s]m", "rm"));
        assert!(!glob_matches("[!r]m", "rm"));
        assert!(glob_matches("*m", "rm"));
        assert!(!glob_matches("r?", "rmdir"));
    }
}
