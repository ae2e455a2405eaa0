//! Keeps secrets out of everything Airlock shows or logs: summaries, reasons, explanations.
//! A secret is replaced by its first four characters and an ellipsis, enough to recognise which
//! credential it was, never enough to use it.

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

fn mask(secret: &str) -> String {
    let shown: String = secret.chars().take(4).collect();
    if secret.chars().count() <= 4 {
        "…".to_owned()
    } else {
        format!("{shown}…")
    }
}

fn is_secret_key(key: &str) -> bool {
    let k = key.trim_start_matches('-').to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| k.contains(s))
}

fn looks_like_token(word: &str) -> bool {
    let w = word.trim_matches(['\'', '"']);
    TOKEN_PREFIXES.iter().any(|p| w.starts_with(p) && w.len() > p.len() + 8)
        || (w.starts_with("AKIA") && w.len() == 20 && w.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        || (w.starts_with("eyJ") && w.matches('.').count() == 2 && w.len() > 30)
}

/// Masks the password in `scheme://user:password@host`.
fn redact_userinfo(word: &str) -> String {
    let Some(start) = word.find("://") else {
        return word.to_owned();
    };
    let rest = &word[start + 3..];
    let authority_end = rest.find(['/', '?', '#', ' ']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => match userinfo.split_once(':') {
            Some((user, password)) if !password.is_empty() => {
                let masked = format!("{user}:{}", mask(password));
                format!("{}{}{}", &word[..start + 3], masked, &rest[userinfo.len()..])
            }
            _ => word.to_owned(),
        },
        None => word.to_owned(),
    }
}

/// Masks `key=value` pairs whose key names a secret, inside a word (query strings, env assignments,
/// connection strings).
fn redact_pairs(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(eq) = rest.find('=') {
        let key_start = rest[..eq]
            .rfind(['&', '?', ';', ' ', '"', '\'', '{', ','])
            .map_or(0, |i| i + 1);
        let key = &rest[key_start..eq];
        let value_end = rest[eq + 1..]
            .find(['&', ';', ' ', '"', '\'', ',', '}'])
            .map_or(rest.len(), |i| eq + 1 + i);
        let value = &rest[eq + 1..value_end];
        out.push_str(&rest[..=eq]);
        if is_secret_key(key) && !value.is_empty() {
            out.push_str(&mask(value));
        } else {
            out.push_str(value);
        }
        rest = &rest[value_end..];
    }
    out.push_str(rest);
    out
}

/// Masks known token formats inside a longer word (`https://ghp_…@github.com/x`).
fn mask_embedded_tokens(word: &str) -> String {
    let mut out = word.to_owned();
    for prefix in TOKEN_PREFIXES {
        let mut from = 0;
        while let Some(pos) = out[from..].find(prefix).map(|p| p + from) {
            let end = out[pos..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .map_or(out.len(), |e| pos + e);
            let candidate = out[pos..end].to_owned();
            if looks_like_token(&candidate) {
                let masked = mask(&candidate);
                out.replace_range(pos..end, &masked);
                from = pos + masked.len();
            } else {
                from = pos + prefix.len();
            }
        }
    }
    out
}

/// Returns `text` with every recognisable secret masked, and every control character (NUL,
/// escape sequences, carriage returns…) shown as a `\u{…}` escape: what Airlock stores and shows
/// is always printable UTF-8, whatever an agent sent. Newlines and tabs stay as they are.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let mut state = Redactor::default();
    for c in text.chars() {
        if c.is_whitespace() && !c.is_control() || c == '\n' || c == '\t' {
            state.flush(&mut word, &mut out);
            out.push(c);
        } else if c.is_control() {
            state.flush(&mut word, &mut out);
            out.push_str(&c.escape_unicode().to_string());
        } else {
            word.push(c);
        }
    }
    state.flush(&mut word, &mut out);
    out
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
    fn flush(&mut self, word: &mut String, out: &mut String) {
        if word.is_empty() {
            return;
        }
        let w = std::mem::take(word);
        let bare = w.trim_matches(['\'', '"']);
        let quoted = w.starts_with(['\'', '"']);
        if self.hide_next || (self.sql_password && quoted) || looks_like_token(&w) {
            out.push_str(&mask(bare));
        } else if w.len() < SHORTEST_TOKEN && !w.contains('=') && !w.contains(':') {
            // Too short for any token format, and no pair or URL to look into: most words.
            out.push_str(&w);
        } else {
            out.push_str(&mask_embedded_tokens(&redact_pairs(&redact_userinfo(&w))));
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
        ];
        for (text, secret) in cases {
            let r = redact(text);
            assert!(!r.contains(secret), "{text} -> {r}");
        }
    }

    proptest::proptest! {
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
