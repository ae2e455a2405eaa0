//! In-process classification throughput over the labelled corpus, on one thread.
//!
//! `cargo bench -p airlock-classify --bench classify` prints time per corpus pass; divide by the
//! case count (printed first) for time per action. The README records the figures.

use std::path::PathBuf;

use airlock_classify::{classify, Action, ActionKind, NoWorld};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

// The allocator of the airlock binary, which runs the classifier in the hook and the server.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(serde::Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    kind: ActionKind,
    input: String,
}

fn corpus() -> Vec<Action> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut actions = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        let parsed: File = toml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        actions.extend(parsed.case.into_iter().map(|c| {
            Action::new(c.kind, c.input)
                .with_cwd("/work/proj")
                .with_home("/home/agent")
        }));
    }
    actions
}

fn bench(c: &mut Criterion) {
    let all = corpus();
    // Warm the rule packs once, as a long-running process would.
    classify(&all[0], &NoWorld);
    for (name, kind) in [
        ("shell", Some(ActionKind::Shell)),
        ("sql", Some(ActionKind::Sql)),
        ("http", Some(ActionKind::Http)),
        ("all", None),
    ] {
        let set: Vec<&Action> = all.iter().filter(|a| kind.is_none_or(|k| a.kind == k)).collect();
        println!("corpus/{name}: {} actions", set.len());
        let mut group = c.benchmark_group("corpus");
        group.throughput(Throughput::Elements(set.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for a in &set {
                    std::hint::black_box(classify(a, &NoWorld));
                }
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
