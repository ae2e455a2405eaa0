//! Every rule pack carries examples; each runs through the whole classifier (parser, wrappers,
//! packs), so a pack is tested as agents' commands will meet it.

mod common;

use airlock_classify::{classify, pack_examples, pack_names, Action, Risk};
use common::{has_target, ListedWorld, CWD, HOME};

fn check_pack(pack: &str) {
    let examples = pack_examples(pack).unwrap_or_else(|e| panic!("{e}"));
    let world = ListedWorld { files: Vec::new() };
    let mut failures = Vec::new();
    for ex in &examples {
        let want: Risk = ex.risk.parse().expect("pack loader validated the risk");
        let a = classify(&Action::shell(&ex.cmd).with_cwd(CWD).with_home(HOME), &world);
        if a.risk != want {
            failures.push(format!("{}: expected {want}, got {} ({:?})", ex.cmd, a.risk, a.reasons));
        }
        for t in &ex.targets {
            if !has_target(&a.targets, t) {
                let got: Vec<String> = a.targets.iter().map(ToString::to_string).collect();
                failures.push(format!("{}: missing target {t}; got {got:?}", ex.cmd));
            }
        }
    }
    assert!(failures.is_empty(), "pack {pack}:\n{}", failures.join("\n"));
}

macro_rules! pack_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check_pack(stringify!($name));
            }
        )*

        #[test]
        fn every_pack_has_a_test_and_examples() {
            let tested = [$(stringify!($name)),*];
            for p in pack_names() {
                if p == "sql_functions" || p == "graphql" {
                    continue;
                }
                assert!(tested.contains(&p), "pack {p} has no test in tests/packs.rs");
                assert!(pack_examples(p).unwrap().len() >= 3, "pack {p} needs at least 3 examples");
            }
        }
    };
}

pack_tests!(
    airlock_cli,
    aws,
    azure,
    backup,
    containers,
    coreutils,
    devtools,
    dbaas,
    dbtools,
    fs,
    gcloud,
    gh,
    git,
    iac,
    interpreters,
    longtail,
    kube,
    orm,
    paas,
    redis,
    regenerable,
    sys,
    wrappers,
);
