//! Property tests: no input makes the classifier panic, recurse without bound, or hang. Hostile
//! shapes (deep nesting, huge inputs, random token soup) are generated, not listed.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use airlock_classify::{classify, Action, ActionKind, NoWorld, Risk, MAX_INPUT_BYTES};
use proptest::prelude::*;

fn run(kind: ActionKind, input: String) -> Risk {
    classify(&Action::new(kind, input).with_cwd("/w").with_home("/h"), &NoWorld).risk
}

/// Classifies on another thread and fails if it does not answer: a liveness check, not a speed
/// target (the bound is minutes, the work is microseconds).
fn answers(kind: ActionKind, input: String) -> Risk {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(run(kind, input));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("classification did not finish (hang or panic)")
}

const SHELL_TOKENS: &[&str] = &[
    "rm",
    "-rf",
    "/",
    "x",
    "|",
    "||",
    "&&",
    ";",
    "&",
    "$(",
    ")",
    "`",
    "'",
    "\"",
    "<<EOF\n",
    "\nEOF\n",
    "<<<",
    ">",
    ">>",
    "<",
    "2>&1",
    "bash",
    "-c",
    "sh",
    "eval",
    "base64",
    "-d",
    "echo",
    "cm0gLXJmIC8=",
    "sudo",
    "env",
    "A=1",
    "ssh",
    "host",
    "xargs",
    "find",
    "-exec",
    "{}",
    "\\;",
    "-delete",
    "python",
    "-e",
    "psql",
    "DROP TABLE t",
    "curl",
    "-X",
    "DELETE",
    "https://api.example.com/x",
    "-d",
    "{\"query\":\"mutation{volumeDelete}\"}",
    "(",
    "{",
    "}",
    "if",
    "then",
    "fi",
    "for",
    "in",
    "do",
    "done",
    "case",
    "esac",
    "$X",
    "${Y:-z}",
    "\\",
    "\n",
    "*",
    "~",
    "<(",
    "kubectl",
    "exec",
    "--",
    "git",
    "push",
    "--force",
    "timeout",
    "5",
    "watch",
    "'ls'",
    "$'\\x72m'",
];

const SQL_TOKENS: &[&str] = &[
    "SELECT", "DELETE", "FROM", "t", "WHERE", "1=1", "DROP", "TABLE", "TRUNCATE", "UPDATE", "SET", "a", "=", "1", ";",
    "(", ")", "'", "''", "--", "/*", "*/", "$$", "DO", "EXECUTE", "WITH", "AS", "INSERT", "INTO", "VALUES", "OR",
    "AND", "NOT", "NULL", "IS", "f(", "COPY", "PROGRAM", "\\i", "\\!", "\n", "EXPLAIN", "ANALYZE", ",",
];

fn soup(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..max).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn any_text_as_shell(s in "\\PC{0,300}") {
        run(ActionKind::Shell, s);
    }

    #[test]
    fn any_text_as_sql(s in "\\PC{0,300}") {
        run(ActionKind::Sql, s);
    }

    #[test]
    fn any_text_as_http(s in "\\PC{0,300}") {
        run(ActionKind::Http, s);
    }

    #[test]
    fn shell_token_soup(s in soup(SHELL_TOKENS, 40)) {
        run(ActionKind::Shell, s);
    }

    #[test]
    fn sql_token_soup(s in soup(SQL_TOKENS, 40)) {
        run(ActionKind::Sql, s);
    }

    #[test]
    fn graphql_bodies(q in "[a-zA-Z{}():\"$ ,!@.]{0,200}") {
        let body = serde_json::json!({ "query": q }).to_string();
        run(ActionKind::Http, format!("POST https://api.example.com/graphql\n\n{body}"));
    }

    /// Whatever wraps a destructive command, the result never drops below destructive-or-unknown.
    #[test]
    fn wrapping_never_hides_rm(prefix in prop::sample::select(vec!["sudo ", "env A=1 ", "timeout 5 ", "nice -n 5 ", "nohup ", "command ", "exec ", "sudo -u root ", "xargs "]), quote in prop::sample::select(vec!["rm", "\\rm", "'rm'", "\"rm\"", "/bin/rm", "r''m"])) {
        let r = run(ActionKind::Shell, format!("{prefix}{quote} -rf /srv/data"));
        prop_assert!(r.needs_approval_by_default(), "{prefix}{quote}: {r}");
    }
}

#[test]
fn deep_nesting_is_refused_not_crashed() {
    for n in [10, 100, 1_000, 20_000] {
        let shapes = [
            (
                ActionKind::Shell,
                format!("{}rm -rf x{}", "$(".repeat(n), ")".repeat(n)),
            ),
            (ActionKind::Shell, format!("{}ls{}", "(".repeat(n), ")".repeat(n))),
            (ActionKind::Shell, format!("{}ls;{}", "{ ".repeat(n), " }".repeat(n))),
            (
                ActionKind::Shell,
                format!("{}ls{}", "if true; then ".repeat(n), "; fi".repeat(n)),
            ),
            (ActionKind::Shell, "bash -c ".repeat(n) + "ls"),
            (
                ActionKind::Shell,
                format!("{}rm -rf /{}", "eval \"".repeat(n.min(300)), "\"".repeat(n.min(300))),
            ),
            (ActionKind::Sql, format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n))),
            (ActionKind::Sql, format!("SELECT {}", "NOT ".repeat(n))),
            (
                ActionKind::Http,
                format!("POST https://x/graphql\n\n{{\"query\":\"{}\"}}", "{a".repeat(n)),
            ),
            (ActionKind::Http, format!("POST https://x/api\n\n{}", "[".repeat(n))),
        ];
        for (kind, input) in shapes {
            answers(kind, input);
        }
    }
}

/// Just under the parser's nesting bound, on a default-sized test thread: parsed, not refused.
#[test]
fn nesting_at_the_bound_still_parses() {
    let n = 60;
    let input = format!("{}rm -rf x{}", "if true; then ".repeat(n), "; fi".repeat(n));
    let r = thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || run(ActionKind::Shell, input))
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert!(r.needs_approval_by_default());
}

#[test]
fn oversized_input_is_unknown() {
    let big = "a".repeat(MAX_INPUT_BYTES + 1);
    assert_eq!(run(ActionKind::Shell, big), Risk::Unknown);
}

#[test]
fn many_commands_stay_bounded() {
    // Just under the size limit, thousands of commands: answered, and the rm is still seen.
    let mut s = "ls; ".repeat(30_000);
    s.push_str("rm -rf /data");
    let r = answers(ActionKind::Shell, s);
    assert!(r.needs_approval_by_default());
}
