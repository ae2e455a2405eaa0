//! Keeps secrets out of everything Airlock shows or logs: summaries, reasons, explanations.
//! A secret is replaced by its first four characters and an ellipsis, enough to recognise which
//! credential it was, never enough to use it.

use std::borrow::Cow;

const SECRET_KEYS: [&str; 12] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "access_key",
    "credential",
    "private_key",
    "auth",
];

const SECRET_FLAGS: [&str; 10] = [
    "--password",
    "--pass",
    "--token",
    "--api-key",
    "--apikey",
    "--secret",
    "--auth-token",
    "--access-token",
    "--client-secret",
    "--oauth2-bearer",
];

/// Prefixes of well-known credential formats.
const TOKEN_PREFIXES: [&str; 16] = [
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "xoxb-",
    "xoxp-",
    "xapp-",
    "alk_",
    "alko_",
    "npm_",
];

/// No token format is shorter: the shortest prefix (4) and more than 8 characters after it.
const SHORTEST_TOKEN: usize = 13;

/// The longest word that can make the next one a secret (`--client-secret`).
const LONGEST_MARKER: usize = 15;

fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    if secret.chars().count() <= 4 {
        "…".to_owned()
    } else {
        format!("{shown}…")
    }
}

/// `word` without the quotes around it.
fn unquote(word: &str) -> &str {
    let quote = |b: &u8| *b == b'\'' || *b == b'"';
    let bytes = word.as_bytes();
    let start = bytes.iter().position(|b| !quote(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !quote(b)).map_or(start, |e| e + 1);
    // Quotes are ASCII: both ends are character boundaries.
    &word[start..end.max(start)]
}

fn is_secret_key(key: &str) -> bool {
    let k = key.trim_start_matches('-').to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| k.contains(s))
}

fn looks_like_token(word: &str) -> bool {
    // Quotes only make a word longer: a short word is never a token.
    if word.len() < SHORTEST_TOKEN {
        return false;
    }
    let w = unquote(word);
    TOKEN_PREFIXES.iter().any(|p| w.starts_with(p) && w.len() > p.len() + 8)
        || (w.starts_with("AKIA") && w.len() == 20 && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        || (w.starts_with("eyJ") && w.matches('.').count() == 2 && w.len() > 30)
}

/// Masks the password in `scheme://user:password@host`.
fn redact_userinfo(word: &str) -> Cow<'_, str> {
    let Some(start) = word.find("://") else {
        return Cow::Borrowed(word);
    };
    let rest = &word[start + 3..];
    let authority_end = rest.find(['/', '?', '#', ' ']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority
        .rsplit_once('@')
        .and_then(|(userinfo, _)| Some((userinfo, userinfo.split_once(':')?)))
    {
        Some((userinfo, (user, password))) if !password.is_empty() => {
            let masked = format!("{user}:{}", mask(password));
            Cow::Owned(format!("{}{}{}", &word[..start + 3], masked, &rest[userinfo.len()..]))
        }
        _ => Cow::Borrowed(word),
    }
}

/// Masks `key=value` pairs whose key names a secret, inside a word (query strings, env assignments,
/// connection strings).
fn redact_pairs(word: &str) -> Cow<'_, str> {
    let mut out = Edits::new(word);
    let mut at = 0;
    while let Some(eq) = word[at..].find('=').map(|e| at + e) {
        let key_start = word[at..eq]
            .rfind(['&', '?', ';', ' ', '"', '\'', '{', ','])
            .map_or(at, |i| at + i + 1);
        let value_end = word[eq + 1..]
            .find(['&', ';', ' ', '"', '\'', ',', '}'])
            .map_or(word.len(), |i| eq + 1 + i);
        let value = &word[eq + 1..value_end];
        if !value.is_empty() && is_secret_key(&word[key_start..eq]) {
            out.replace(eq + 1..value_end, &mask(value));
        }
        at = value_end;
    }
    out.finish()
}

/// Masks known token formats inside a longer word (`https://ghp_…@github.com/x`).
fn mask_embedded_tokens(word: &str) -> Cow<'_, str> {
    let mut out = Edits::new(word);
    let bytes = word.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        // Only a byte that starts a prefix (ASCII, so a character boundary) is worth a look.
        if TOKEN_STARTS[usize::from(bytes[at])] {
            let here = &word[at..];
            if TOKEN_PREFIXES.iter().any(|p| here.starts_with(p)) {
                let end = here
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(here.len());
                if looks_like_token(&here[..end]) {
                    out.replace(at..at + end, &mask(&here[..end]));
                    at += end;
                    continue;
                }
            }
        }
        at += 1;
    }
    out.finish()
}

/// The first bytes of [`TOKEN_PREFIXES`].
const TOKEN_STARTS: [bool; 256] = {
    let mut starts = [false; 256];
    let mut i = 0;
    while i < TOKEN_PREFIXES.len() {
        starts[TOKEN_PREFIXES[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    starts
};

/// Returns `text` with every recognisable secret masked, and every control character (NUL,
/// escape sequences, carriage returns…) shown as a `\u{…}` escape: what Airlock stores and shows
/// is always printable UTF-8, whatever an agent sent. Newlines and tabs stay as they are.
pub fn redact(text: &str) -> String {
    redact_cow(text).into_owned()
}

/// [`redact`] without a copy when nothing needed masking or escaping, as for most text.
pub(crate) fn redact_cow(text: &str) -> Cow<'_, str> {
    let mut out = Edits::new(text);
    let mut state = Redactor::default();
    let mut i = 0;
    while i < text.len() {
        let (class, len) = class_at(text, i);
        match class {
            CharClass::Word => {
                let end = word_end(text, i + len);
                state.word(&text[i..end], i, &mut out);
                i = end;
                continue;
            }
            CharClass::Control => {
                let c = text[i..].chars().next().unwrap_or_default();
                out.replace(i..i + len, &c.escape_unicode().to_string());
            }
            CharClass::Separator => {}
        }
        i += len;
    }
    out.finish()
}

/// Where the word that goes on at byte `i` ends. Runs of printable ASCII (nearly all text) are
/// skipped at once; other characters are judged one by one.
fn word_end(text: &str, mut i: usize) -> usize {
    let bytes = text.as_bytes();
    loop {
        i += bytes[i..]
            .iter()
            .position(|&b| !b.is_ascii_graphic())
            .unwrap_or(bytes.len() - i);
        if i == bytes.len() || bytes[i].is_ascii() {
            return i;
        }
        let (class, len) = class_at(text, i);
        if class != CharClass::Word {
            return i;
        }
        i += len;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CharClass {
    /// Part of a word.
    Word,
    /// Between words: spaces, newlines, tabs.
    Separator,
    /// Shown escaped: NUL, escape, carriage return and every other control character.
    Control,
}

/// The class of the character at byte `i` of `text`, and its length. ASCII (nearly all text) is
/// judged on the byte.
fn class_at(text: &str, i: usize) -> (CharClass, usize) {
    let b = text.as_bytes()[i];
    if b.is_ascii() {
        let class = match b {
            b' ' | b'\n' | b'\t' => CharClass::Separator,
            0..=0x1f | 0x7f => CharClass::Control,
            _ => CharClass::Word,
        };
        return (class, 1);
    }
    let c = text[i..].chars().next().unwrap_or_default();
    let class = if c.is_control() {
        CharClass::Control
    } else if c.is_whitespace() {
        CharClass::Separator
    } else {
        CharClass::Word
    };
    (class, c.len_utf8())
}

/// A text with some of its ranges replaced, copied only once the first replacement is made.
struct Edits<'a> {
    text: &'a str,
    out: Option<String>,
    /// Where the part of `text` not yet copied to `out` begins.
    copied: usize,
}

impl<'a> Edits<'a> {
    fn new(text: &'a str) -> Self {
        Edits {
            text,
            out: None,
            copied: 0,
        }
    }

    /// Replaces `range` (after every range replaced so far) with `with`.
    fn replace(&mut self, range: std::ops::Range<usize>, with: &str) {
        let out = self
            .out
            .get_or_insert_with(|| String::with_capacity(self.text.len() + 16));
        out.push_str(&self.text[self.copied..range.start]);
        out.push_str(with);
        self.copied = range.end;
    }

    fn finish(self) -> Cow<'a, str> {
        match self.out {
            None => Cow::Borrowed(self.text),
            Some(mut out) => {
                out.push_str(&self.text[self.copied..]);
                Cow::Owned(out)
            }
        }
    }
}

/// What the words before say about the next one.
#[derive(Default)]
struct Redactor {
    /// After `--password`, `Bearer`, `Basic`, `token`: the next word is a secret.
    hide_next: bool,
    /// After SQL's `PASSWORD` or MySQL's `IDENTIFIED BY`: a quoted next word is a secret.
    sql_password: bool,
    identified: bool,
}

impl Redactor {
    /// Masks what is secret in `w`, the word at `start` in the text `out` edits.
    fn word(&mut self, w: &str, start: usize, out: &mut Edits<'_>) {
        let bare = unquote(w);
        let quoted = w.starts_with(['\'', '"']);
        let range = start..start + w.len();
        if self.hide_next || (self.sql_password && quoted) || looks_like_token(w) {
            out.replace(range, &mask(bare));
        } else if w.len() >= SHORTEST_TOKEN || w.bytes().any(|b| b == b'=' || b == b':') {
            // Long enough for a token, or a pair or URL to look into (most words are neither).
            if let Cow::Owned(masked) = redact_userinfo(w) {
                out.replace(range, &mask_embedded_tokens(&redact_pairs(&masked)));
            } else if let Cow::Owned(masked) = redact_pairs(w) {
                out.replace(range, &mask_embedded_tokens(&masked));
            } else if let Cow::Owned(masked) = mask_embedded_tokens(w) {
                out.replace(range, &masked);
            }
        }
        self.next_word_after(bare);
    }

    fn next_word_after(&mut self, bare: &str) {
        // Every marker word starts with `-`, `p`, `i`, `b` or `t`: most words are not one.
        let may_mark = bare.len() <= LONGEST_MARKER
            && bare
                .bytes()
                .next()
                .is_some_and(|b| matches!(b.to_ascii_lowercase(), b'-' | b'p' | b'i' | b'b' | b't'));
        if !may_mark {
            *self = Redactor::default();
            return;
        }
        let is = |s: &str| bare.eq_ignore_ascii_case(s);
        self.sql_password = is("password") || (self.identified && is("by"));
        self.identified = is("identified");
        self.hide_next = SECRET_FLAGS.iter().chain(&["bearer", "basic", "token"]).any(|f| is(f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_urls_headers_flags_pairs_and_known_tokens() {
        let cases = [
            ("psql postgres://admin:hunter2secret@db/prod", "hunter2secret"),
            ("curl -H 'Authorization: Bearer abcdefghijklmnop' x", "abcdefghijklmnop"),
            ("mytool --password s3cr3tvalue", "s3cr3tvalue"),
            ("PGPASSWORD=topsecret123 psql", "topsecret123"),
            ("curl https://x/api?token=abcdef123456&x=1", "abcdef123456"),
            (
                "echo ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ),
            ("aws configure set aws_secret_access_key=wJalrXUtnFEMI", "wJalrXUtnFEMI"),
            ("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
            ("ALTER ROLE app WITH LOGIN PASSWORD 'Sup3rSecretPw';", "Sup3rSecretPw"),
            ("CREATE USER x IDENTIFIED BY \"hunter22hunter\"", "hunter22hunter"),
            (
                "git clone https://ghp_0123456789abcdefghijklmnopqrstuvwxyz@github.com/a/b",
                "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            ),
            // One token format inside another: the outer one is masked whole.
            ("export X=sk_live_ghp_abcdefghijkl", "ghp_abcdefghijkl"),
        ];
        for (text, secret) in cases {
            let r = redact(text);
            assert!(!r.contains(secret), "{text} -> {r}");
        }
    }

    proptest::proptest! {
        #[test]
        fn unquote_trims_quotes_at_both_ends(s in "['\"aé ]{0,12}") {
            proptest::prop_assert_eq!(unquote(&s), s.trim_matches(['\'', '"']));
        }

        /// Whatever goes in, what comes out is printable: no control character but newline and tab.
        #[test]
        fn redact_output_has_no_control_characters(s in "\\PC{0,40}|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}a-z =:/@]{0,80}") {
            let r = redact(&s);
            proptest::prop_assert!(!r.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{r:?}");
        }

        /// Secrets stay masked whatever control characters surround them.
        #[test]
        fn redact_masks_tokens_next_to_control_characters(sep in "[\\x00-\\x1f]") {
            let text = format!("echo{sep}ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa{sep}x");
            let r = redact(&text);
            proptest::prop_assert!(!r.contains("ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "{r:?}");
        }
    }

    #[test]
    fn redact_escapes_nul_and_escape_sequences() {
        assert_eq!(redact("a\0b"), "a\\u{0}b");
        assert_eq!(redact("x\x1b[31m"), "x\\u{1b}[31m");
        assert_eq!(redact("line1\nline2\tz"), "line1\nline2\tz");
    }

    #[test]
    fn leaves_ordinary_commands_alone() {
        for text in [
            "rm -rf build",
            "git push origin main",
            "SELECT * FROM users WHERE id = 1",
            "curl https://api.example.com/v1/items?page=2",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
