//! Engine throughput with every default detector, against a naive baseline
//! that runs each pattern on its own (the design sieve avoids).
//!
//! `cargo bench --bench engine`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use regex_automata::{meta, util::syntax};
use sieve::engine::{Engine, JsonTracker, ScanOptions, BUILTIN_PACKS};

mod traffic;

const SIZE: usize = 1 << 20;

/// Every built-in pattern, compiled alone.
fn naive_regexes() -> Vec<meta::Regex> {
    BUILTIN_PACKS
        .iter()
        .flat_map(|(_, text)| sieve::policy::parse_rule_pack(text).unwrap().detectors)
        .flat_map(|d| d.patterns)
        .map(|p| {
            meta::Regex::builder().syntax(syntax::Config::new().unicode(false).utf8(false)).build(p.regex()).unwrap()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let engine = Engine::from_policy_text("").unwrap();
    let naive = naive_regexes();
    // (name, input, whether it is JSON)
    let inputs = [
        ("a_json_sparse", traffic::json_traffic(SIZE, Some(25)), true),
        ("b_json_clean", traffic::json_traffic(SIZE, None), true),
        ("c_adversarial_digits", traffic::adversarial(SIZE), false),
        ("d_json_dense", traffic::json_traffic(SIZE, Some(1)), true),
    ];
    let mut group = c.benchmark_group("engine");
    group.sample_size(20);
    for (name, input, is_json) in &inputs {
        group.throughput(Throughput::Bytes(input.len() as u64));
        let json = ScanOptions::json(&engine);
        let text = ScanOptions::text(&engine);
        group.bench_function(format!("{name}/sieve_json"), |b| b.iter(|| black_box(engine.scan(input, &json).len())));
        group.bench_function(format!("{name}/sieve_text"), |b| b.iter(|| black_box(engine.scan(input, &text).len())));
        group.bench_function(format!("{name}/naive_per_pattern"), |b| {
            b.iter(|| black_box(naive.iter().map(|r| r.find_iter(input.as_slice()).count()).sum::<usize>()))
        });
        if *is_json {
            // What JSON mode adds before each finding: the key-path walk up to it.
            group.bench_function(format!("{name}/json_path_walk"), |b| {
                b.iter(|| {
                    let mut tracker = JsonTracker::default();
                    tracker.advance(input);
                    black_box(tracker.failed())
                })
            });
        }
        group.bench_function(format!("{name}/memchr_baseline"), |b| {
            b.iter(|| black_box(memchr::memchr_iter(b'\x01', input).count()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
