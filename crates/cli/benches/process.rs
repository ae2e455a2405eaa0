//! Whole-process cost of `airlock classify shell --json 'CMD'`, measured beside the cost of starting
//! `/bin/true` in the same run, so the ratio shows what Airlock adds on top of a process start.

use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};

const CMD: &str = r#"curl -X POST https://backboard.railway.app/graphql/v2 -H 'Content-Type: application/json' -d '{"query":"mutation { volumeDelete(volumeId: \"vol_9f3\") }"}'"#;

fn bench(c: &mut Criterion) {
    let airlock = env!("CARGO_BIN_EXE_airlock");
    let mut group = c.benchmark_group("process");
    group.bench_function("true (process start baseline)", |b| {
        b.iter(|| {
            let s = Command::new("/bin/true").status().unwrap();
            assert!(s.success());
        })
    });
    group.bench_function("airlock classify shell --json", |b| {
        b.iter(|| {
            let out = Command::new(airlock)
                .args(["classify", "shell", "--json", CMD])
                .output()
                .unwrap();
            assert!(out.status.success());
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
