//! One test per class of behaviour the generalisation issue named, each with its own examples
//! (other tools and other syntax than the corpora use), so that a class regresses loudly.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use airlock_classify::{classify, Action, ActionKind, NoWorld, Risk, World};
use common::{CaseWorld, CWD, HOME};

fn risk_in(kind: ActionKind, input: &str, world: &dyn World) -> Risk {
    classify(&Action::new(kind, input).with_cwd(CWD).with_home(HOME), world).risk
}

fn shell(input: &str) -> Risk {
    risk_in(ActionKind::Shell, input, &NoWorld)
}

fn sql(input: &str) -> Risk {
    risk_in(ActionKind::Sql, input, &NoWorld)
}

fn http(input: &str) -> Risk {
    risk_in(ActionKind::Http, input, &NoWorld)
}

fn world(files: &[(&str, &str)], exists: &[&str], git_clean: &[&str]) -> CaseWorld {
    CaseWorld {
        exists: exists.iter().map(PathBuf::from).collect(),
        files: files
            .iter()
            .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
            .collect::<HashMap<_, _>>(),
        git_clean: git_clean.iter().map(PathBuf::from).collect(),
    }
}

fn held(r: Risk) -> bool {
    r.needs_approval_by_default()
}

#[test]
fn option_grammar_clusters_glued_values_and_container_commands() {
    assert!(held(shell("curl -ksLXDELETE https://api.fly.io/v1/apps/web")));
    assert!(held(shell("curl -sSX DELETE https://api.fly.io/v1/apps/web")));
    assert_eq!(shell("curl -sSLo- https://example.com/a.json"), Risk::Read);
    assert!(held(shell(
        "docker run --rm -v /srv:/srv -e A=1 busybox rm -rf /srv/data"
    )));
    assert!(held(shell(
        "podman run --rm --network host postgres:16 psql -h db -c 'DROP TABLE t'"
    )));
    assert_eq!(shell("psql -XqAt -c 'SELECT 1' app"), Risk::Read);
}

#[test]
fn expansion_contexts_and_program_names() {
    assert!(held(shell("echo $(( $(shred -u key.pem; echo 1) ))")));
    assert!(held(shell("cat ${F:-$(rm -rf cache-dir; echo x)}")));
    assert!(held(shell("{shred,-u,id_rsa}")));
    assert!(held(shell("/usr/bin/sh[r]ed -u id_rsa")));
    assert!(held(shell("cp /usr/bin/shred ./s && ./s -u id_rsa")));
    assert!(held(shell("IFS=+; x='rm+-rf+srv'; $x")));
    assert_eq!(shell("a=(ls -la); \"${a[@]}\""), Risk::Read);
}

#[test]
fn config_env_code_in_settings_and_variables() {
    assert!(held(shell("git -c core.fsmonitor='shred -u notes.txt' diff")));
    assert!(held(shell("git -c alias.nuke='!rm -rf src' nuke")));
    assert!(held(shell("GIT_EDITOR='rm -rf ~/docs; true' git tag -a v1")));
    assert_eq!(shell("GIT_SSH_COMMAND='ssh -i ~/.ssh/k' git pull"), Risk::Write);
    let w = world(&[("/work/proj/prep.sh", "git clean -ffdx\n")], &[], &[]);
    assert!(held(risk_in(ActionKind::Shell, "ENV=./prep.sh sh -c 'ls'", &w)));
    assert!(held(shell("printf 'shred -u *.key\\n' > t.sh && sh t.sh")));
    assert!(held(shell(
        "PGOPTIONS='-c session_replication_role=replica' psql -c 'SELECT 1'"
    )));
}

#[test]
fn interpreter_code_is_parsed_for_its_calls() {
    assert!(held(shell(
        "python3 -O -c \"import httpx as h; h.delete('https://api.x.io/v1/db/1')\""
    )));
    assert!(held(shell(
        "node -e \"const fs = require('node:fs'); fs.rmSync('reports', {recursive: true})\""
    )));
    assert!(held(shell(
        "python3 -c \"import subprocess; subprocess.run(['git', 'push', '--force'])\""
    )));
    assert!(held(shell(
        "python manage.py shell -c 'from a.models import Log; Log.objects.all().delete()'"
    )));
    assert_eq!(
        shell("python3 -c \"import requests; requests.get('https://x.io/a')\""),
        Risk::Read
    );
    assert_eq!(
        shell("node -e \"console.log(JSON.stringify({rm: 'rm -rf /'}))\""),
        Risk::Read
    );
}

#[test]
fn task_runner_recipes_are_read_through_the_world() {
    let pkg = world(
        &[(
            "/work/proj/package.json",
            r#"{"scripts":{"wipe":"rm -rf storage","lint":"eslint src"}}"#,
        )],
        &[],
        &[],
    );
    assert!(held(risk_in(ActionKind::Shell, "pnpm wipe", &pkg)));
    assert_eq!(risk_in(ActionKind::Shell, "npm run lint", &pkg), Risk::Read);
    let mk = world(
        &[("/work/proj/Makefile", "DIR=data\nclean:\n\trm -rf $(DIR)\n")],
        &[],
        &[],
    );
    assert!(held(risk_in(ActionKind::Shell, "make clean", &mk)));
    assert!(held(shell("make db-drop")));
    assert_eq!(shell("make -n db-drop"), Risk::Read);
}

#[test]
fn long_tail_verbs_and_packs() {
    assert!(held(shell("someorgctl queues purge payments")));
    assert!(held(shell("someorgctl users:delete 42")));
    assert_eq!(shell("someorgctl users list"), Risk::Write);
    assert!(held(shell("hcloud volume delete data-1")));
    assert!(held(shell("borg delete /backups::2026-01-01")));
}

#[test]
fn safeguard_switched_off_is_destructive() {
    assert!(held(shell(
        "az postgres flexible-server update -g rg -n pg --backup-retention 0"
    )));
    assert!(held(shell(
        "aws rds modify-db-instance --db-instance-identifier a --no-deletion-protection"
    )));
    assert!(held(sql("ALTER TABLE t DISABLE ROW LEVEL SECURITY")));
    assert_eq!(
        shell("aws rds modify-db-instance --db-instance-identifier a --deletion-protection"),
        Risk::Write
    );
}

#[test]
fn http_semantics_by_meaning_not_host() {
    assert_eq!(http("DELETE http://127.0.0.1:8080/api/v1/boards/3"), Risk::Destructive);
    assert_eq!(
        http("POST http://localhost:9200/_search\n\n{\"query\":{\"match_all\":{}}}"),
        Risk::Read
    );
    assert!(held(http(
        "POST https://x.io/api/items/4\nX-HTTP-Method-Override: DELETE\n\n{}"
    )));
    assert!(held(http("POST http://localhost:8123/?query=TRUNCATE%20TABLE%20t")));
}

#[test]
fn sql_power_later_and_unbounded_where() {
    assert!(held(sql("ALTER USER app WITH BYPASSRLS")));
    assert!(held(sql("GRANT pg_write_server_files TO app")));
    assert!(held(sql("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'")));
    assert!(held(sql("DELETE FROM t WHERE t_id IS NOT NULL")));
    assert_eq!(
        sql("DELETE FROM t WHERE created_at < now() - interval '1 day'"),
        Risk::Write
    );
    assert_eq!(sql("PRAGMA foreign_key_list(t);"), Risk::Read);
}

#[test]
fn help_and_dry_runs_lower_the_risk() {
    assert_eq!(shell("gcloud sql instances delete main --help"), Risk::Read);
    assert_eq!(shell("kubectl delete ns prod --dry-run=server"), Risk::Read);
    assert!(held(shell("kubectl delete ns prod --dry-run=none")));
    assert!(held(shell("shutdown -h +5")));
}

#[test]
fn regenerable_targets_and_git_restorable_files() {
    let w = world(&[], &["/work/proj/Cargo.toml"], &[]);
    assert_eq!(risk_in(ActionKind::Shell, "rm -rf target", &w), Risk::Write);
    assert!(held(shell("rm -rf target")));
    let g = world(&[], &[], &["/work/proj/src/a.rs"]);
    assert_eq!(risk_in(ActionKind::Shell, "rm src/a.rs", &g), Risk::Write);
    let dirty = world(&[], &["/work/proj/src/b.rs"], &["/work/proj/src/a.rs"]);
    assert!(held(risk_in(ActionKind::Shell, "rm -r src", &dirty)));
    assert!(held(shell("rm -rf .env")));
}

#[test]
fn mention_is_not_use() {
    assert_eq!(shell("grep -rn 'DROP TABLE' db/"), Risk::Read);
    // Copying a protected file elsewhere only reads it (the destination is new in this world).
    let empty = world(&[], &[], &[]);
    assert_eq!(
        risk_in(ActionKind::Shell, "cp ~/.gemini/settings.json /tmp/gemini.json", &empty),
        Risk::Write
    );
    assert_eq!(shell("pg_dump app > dump-$(date +%F).sql"), Risk::Write);
    assert!(held(shell("dd if=img.iso of=/dev/sdc")));
}
