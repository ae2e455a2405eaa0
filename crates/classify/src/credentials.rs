//! Credentials inside an action. An agent should hold only its Airlock token; a command that carries
//! any other credential (a provider token it found in a file, a password in a URL) is refused by the
//! control plane. Findings name the kind of credential and show at most a short prefix.

use serde::Serialize;

/// A credential found in an action's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Credential {
    /// What it is: "GitHub token", "password in a connection URL", …
    pub kind: &'static str,
    /// The first characters only.
    pub prefix: String,
}

/// Known token formats: (prefix, minimum length after it, kind).
const FORMATS: [(&str, usize, &str); 20] = [
    ("ghp_", 30, "GitHub personal access token"),
    ("github_pat_", 40, "GitHub fine-grained token"),
    ("gho_", 30, "GitHub OAuth token"),
    ("ghs_", 30, "GitHub app token"),
    ("ghu_", 30, "GitHub user-to-server token"),
    ("ghr_", 30, "GitHub refresh token"),
    ("glpat-", 20, "GitLab token"),
    ("sk_live_", 16, "Stripe secret key"),
    ("rk_live_", 16, "Stripe restricted key"),
    ("sk_test_", 16, "Stripe test key"),
    ("xoxb-", 20, "Slack bot token"),
    ("xoxp-", 20, "Slack user token"),
    ("npm_", 30, "npm token"),
    ("AKIA", 16, "AWS access key id"),
    ("ASIA", 16, "AWS temporary access key id"),
    ("sk-ant-", 30, "Anthropic API key"),
    ("sk-proj-", 30, "OpenAI API key"),
    ("AIza", 30, "Google API key"),
    ("dop_v1_", 40, "DigitalOcean token"),
    ("alko_", 40, "Airlock operator token"),
];

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// The 6-character base62 checksum that ends every Airlock token (CRC-32 of what precedes it).
pub fn token_checksum(body: &str) -> String {
    let mut n = crc32(body.as_bytes());
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `s` is a well-formed Airlock token (prefix, body, valid checksum). Offline, no state.
pub fn is_airlock_token(s: &str) -> bool {
    let body_len = if s.starts_with("alko_") {
        5
    } else if s.starts_with("alk_") {
        4
    } else {
        return false;
    };
    s.len() == body_len + 36 + 6
        && s.bytes().skip(body_len).all(|b| b.is_ascii_alphanumeric())
        && token_checksum(&s[..s.len() - 6]) == s[s.len() - 6..]
}

fn prefix_of(s: &str) -> String {
    s.chars().take(6).collect::<String>() + "…"
}

/// Every credential in `text`, except the Airlock agent token `own` (the caller's own).
pub fn find_credentials(text: &str, own: Option<&str>) -> Vec<Credential> {
    let mut found: Vec<Credential> = Vec::new();
    let mut add = |kind: &'static str, value: &str| {
        let c = Credential {
            kind,
            prefix: prefix_of(value),
        };
        if !found.contains(&c) {
            found.push(c);
        }
    };
    let words = text.split(|c: char| c.is_whitespace() || "'\"`=,;(){}[]<>|&/:@".contains(c));
    let mut previous = "";
    for w in words {
        let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '-');
        if w.is_empty() {
            continue;
        }
        if let Some((_, _, kind)) = FORMATS
            .iter()
            .find(|(p, min, _)| w.starts_with(p) && w.len() >= p.len() + min)
        {
            add(kind, w);
        } else if w.starts_with("alk_") && is_airlock_token(w) && own != Some(w) {
            add("Airlock token issued to someone else", w);
        } else if w.starts_with("eyJ") && w.matches('.').count() == 2 && w.len() > 40 {
            add("JSON web token", w);
        } else if previous.eq_ignore_ascii_case("bearer") && w.len() >= 16 && !w.starts_with('$') && own != Some(w) {
            add("bearer token", w);
        }
        previous = w;
    }
    // Passwords in connection URLs: scheme://user:password@host
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let after = &rest[i + 3..];
        let authority = after.split(['/', '?', '#', ' ', '\'', '"']).next().unwrap_or_default();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            if let Some((_, password)) = userinfo.split_once(':') {
                if !password.is_empty() && !password.starts_with('$') {
                    add("password in a connection URL", password);
                }
            }
        }
        rest = after;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_provider_tokens_urls_and_bearers_by_kind() {
        let kinds = |t: &str| {
            find_credentials(t, None)
                .into_iter()
                .map(|c| c.kind)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            kinds("git push https://ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@github.com/x"),
            ["GitHub personal access token"]
        );
        assert_eq!(
            kinds("psql postgres://admin:hunter2@db.prod/shop"),
            ["password in a connection URL"]
        );
        assert_eq!(
            kinds("curl -H 'Authorization: Bearer 7f9c2ba4e88f827d61604550760585' x"),
            ["bearer token"]
        );
        assert_eq!(
            kinds("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE aws s3 ls"),
            ["AWS access key id"]
        );
        assert!(kinds("curl -H \"Authorization: Bearer $RAILWAY_TOKEN\" x").is_empty());
        assert!(kinds("psql postgres://app@db/shop").is_empty());
        assert!(kinds("git commit -m 'fix ghp_ handling'").is_empty());
    }

    #[test]
    fn never_reports_more_than_a_prefix() {
        let c = &find_credentials("x ghp_abcdefghijklmnopqrstuvwxyz0123456789", None)[0];
        assert!(c.prefix.len() < 12);
    }

    #[test]
    fn checksums_tell_real_airlock_tokens_from_look_alikes() {
        let body = format!("alk_{}", "A".repeat(36));
        let token = format!("{body}{}", token_checksum(&body));
        assert!(is_airlock_token(&token));
        assert!(!is_airlock_token(&format!("{body}AAAAAA")));
        assert!(find_credentials(&format!("echo {token}"), Some(&token)).is_empty());
        assert_eq!(
            find_credentials(&format!("echo {token}"), None)[0].kind,
            "Airlock token issued to someone else"
        );
    }
}
