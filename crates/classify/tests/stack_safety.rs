//! The classifier survives the worst nesting shapes at every size up to the input limit, on a
//! thread with the DEFAULT 2 MiB stack (a server's worker threads have no more; the 8 MiB main
//! thread would hide an overflow). An overflow aborts the whole test process, so a pass is proof.

use std::thread;

use airlock_classify::{classify, Action, ActionKind, NoWorld, Risk, MAX_INPUT_BYTES};

const STACK: usize = 2 * 1024 * 1024;

fn on_small_stack(kind: ActionKind, input: String) -> Risk {
    thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || classify(&Action::new(kind, input).with_cwd("/w"), &NoWorld).risk)
        .expect("spawn")
        .join()
        .expect("classification panicked")
}

/// `open` repeated, a core, `close` repeated: as many levels as fit in `budget` bytes.
fn nest(open: &str, core: &str, close: &str, budget: usize) -> String {
    let per = open.len() + close.len();
    let n = budget.saturating_sub(core.len()) / per.max(1);
    format!("{}{core}{}", open.repeat(n), close.repeat(n))
}

fn shell_shapes(budget: usize) -> Vec<String> {
    vec![
        nest("coproc ", "ls", "", budget),
        nest("coproc { ", "ls", "; }", budget),
        nest("if ", "true", "; then :; fi", budget),
        nest("if true; then ", "ls", "; fi", budget),
        nest("{ ", "ls;", " }", budget),
        nest("( ", "ls", " )", budget),
        nest("$( ", "ls", " )", budget),
        nest("echo $(", "ls", ")", budget),
        nest("`", "ls", "`", budget.min(4096)),
        nest("case x in x) ", "ls", ";; esac", budget),
        nest("f() { ", "ls;", " }", budget),
        nest("function f { ", "ls;", " }", budget),
        nest("while ", "true", "; do :; done", budget),
        nest("while true; do ", "ls", "; done", budget),
        nest("until false; do ", "ls", "; done", budget),
        nest("for i in 1; do ", "ls", "; done", budget),
        nest("select i in 1; do ", "ls", "; done", budget),
        nest("! ", "ls", "", budget),
        nest("time ", "ls", "", budget),
        nest("[[ ( ", "a", " ) ]]", budget),
        nest("[[ ! ", "a", " ]]", budget),
        nest("echo $(( (", "1", ") ))", budget),
        nest("(( (", "1", ") ))", budget),
        nest("echo ${x:-", "y", "}", budget),
        nest("echo \"$(", "ls", ")\"", budget),
        nest("cat <(", "ls", ")", budget),
        nest("bash -c '", "ls", "'", budget.min(8192)),
        nest("a=(", "1", ")", budget),
        nest("ls | ", "ls", "", budget),
        nest("ls && ", "ls", "", budget),
        format!("python3 -c \"{}\"", "1 + ".repeat(budget / 4) + "1"),
        format!("node -e \"{}\"", "a.b".repeat(budget / 3)),
    ]
}

fn sql_shapes(budget: usize) -> Vec<String> {
    vec![
        nest("SELECT (", "1", ")", budget),
        nest("SELECT * FROM (SELECT * FROM ", "t", ") x", budget),
        nest("SELECT NOT ", "1", "", budget),
        nest("SELECT 1 WHERE EXISTS (SELECT ", "1", ")", budget),
        nest("SELECT ARRAY[", "1", "]", budget),
        nest("SELECT CASE WHEN ", "1", " THEN 1 END", budget),
        nest(
            "DO $$ BEGIN IF ",
            "true",
            " THEN NULL; END IF; END $$",
            budget.min(8192),
        ),
        nest("SELECT -", "1", "", budget),
        nest("SELECT f(", "1", ")", budget),
        // Long operator chains parse without recursion but build a deep tree.
        format!("DELETE FROM t WHERE {}id = 0", "id = 1 OR ".repeat(budget / 10)),
        format!("SELECT {}1", "1 + ".repeat(budget / 4)),
        format!("SELECT 1 WHERE {}true", "true AND ".repeat(budget / 9)),
        format!("SELECT {}", "'a' || ".repeat(budget / 7) + "'a'"),
    ]
}

fn http_shapes(budget: usize) -> Vec<String> {
    vec![
        format!(
            "POST https://x/graphql\n\n{{\"query\":\"{}\"}}",
            nest("{a", "", "}", budget)
        ),
        format!("POST https://x/api\n\n{}", nest("[", "1", "]", budget)),
        format!("POST https://x/api\n\n{}", nest("{\"a\":", "1", "}", budget)),
        format!("PATCH https://x/api\n\n{}", nest("[{\"op\":", "1", "}]", budget)),
    ]
}

fn sizes() -> Vec<usize> {
    vec![64, 1024, 5 * 1024, 64 * 1024, MAX_INPUT_BYTES - 64]
}

#[test]
fn robustness_shell_nesting_on_a_default_stack() {
    for budget in sizes() {
        for input in shell_shapes(budget) {
            on_small_stack(ActionKind::Shell, input);
        }
    }
}

#[test]
fn robustness_sql_nesting_on_a_default_stack() {
    for budget in sizes() {
        for input in sql_shapes(budget) {
            on_small_stack(ActionKind::Sql, input);
        }
    }
}

#[test]
fn robustness_http_nesting_on_a_default_stack() {
    for budget in sizes() {
        for input in http_shapes(budget) {
            on_small_stack(ActionKind::Http, input);
        }
    }
}

/// Operator chains just under the refusal bound are parsed and judged on a default stack.
#[test]
fn robustness_operator_chains_at_the_bound_still_judge() {
    for n in [180, 190, 380] {
        let sql = format!("DELETE FROM t WHERE {}1 = 1", "x = 1 OR ".repeat(n));
        let r = on_small_stack(ActionKind::Sql, sql);
        assert!(r.needs_approval_by_default());
        let sql = format!("SELECT {}1", "1 + ".repeat(n));
        on_small_stack(ActionKind::Sql, sql);
    }
}

#[test]
fn robustness_deep_input_is_refused_as_unknown() {
    let deep = nest("coproc ", "rm -rf /", "", 5 * 1024);
    assert!(on_small_stack(ActionKind::Shell, deep).needs_approval_by_default());
    let deep = nest("if if ", "true", "; then :; fi; then :; fi", 5 * 1024);
    assert!(on_small_stack(ActionKind::Shell, deep).needs_approval_by_default());
}
