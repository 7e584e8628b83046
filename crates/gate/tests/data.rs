//! The example run files in tests/data/ are generated, deterministically, by this file:
//! a golden baseline of 60 items and three candidates. The test checks the committed files
//! are exactly what the generator makes; to change them, edit the generator and run
//!
//!   GLASSBOX_GATE_REGEN=1 cargo test -p glassbox-gate --test data

mod common;

use glassbox_gate::stats::SplitMix64;
use serde_json::{Value, json};

struct Profile {
    run_id: &'static str,
    name: &'static str,
    seed: u64,
    items: usize,
    correctness: f64,
    helpfulness: f64,
    cost: f64,
    latency_median_ms: f64,
}

const PROFILES: [(&str, Profile); 4] = [
    (
        "baseline.json",
        Profile {
            run_id: "golden-v1",
            name: "support-bot v1 on support-golden",
            seed: 1,
            items: 60,
            correctness: 0.90,
            helpfulness: 0.80,
            cost: 0.010,
            latency_median_ms: 2000.0,
        },
    ),
    // Quality down 10% and cost up 30%: the gate must fail on both.
    (
        "candidate-v2-regressed.json",
        Profile {
            run_id: "golden-v2",
            name: "support-bot v2 on support-golden",
            seed: 2,
            items: 60,
            correctness: 0.81,
            helpfulness: 0.80,
            cost: 0.013,
            latency_median_ms: 2000.0,
        },
    ),
    // As good, a little cheaper and faster: passes.
    (
        "candidate-v3.json",
        Profile {
            run_id: "golden-v3",
            name: "support-bot v3 on support-golden",
            seed: 3,
            items: 60,
            correctness: 0.91,
            helpfulness: 0.81,
            cost: 0.0095,
            latency_median_ms: 1900.0,
        },
    ),
    // v3 on a smoke-test subset of 8 items: too few to conclude anything.
    (
        "candidate-small.json",
        Profile {
            run_id: "golden-v3-smoke",
            name: "support-bot v3 on 8 items",
            seed: 4,
            items: 8,
            correctness: 0.91,
            helpfulness: 0.81,
            cost: 0.0095,
            latency_median_ms: 1900.0,
        },
    ),
];

fn round(x: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (x * p).round() / p
}

fn generate(p: &Profile) -> String {
    let mut rng = SplitMix64::new(p.seed);
    let items: Vec<Value> = (1..=p.items)
        .map(|i| {
            let correctness = (p.correctness + 0.05 * rng.normal()).clamp(0.0, 1.0);
            let helpfulness = (p.helpfulness + 0.06 * rng.normal()).clamp(0.0, 1.0);
            let grounded = rng.next_f64() < 0.95;
            let cost = p.cost * (0.15 * rng.normal()).exp();
            let latency = p.latency_median_ms * (0.3 * rng.normal()).exp();
            let input = (1200.0 + 150.0 * rng.normal()).round().max(1.0) as u64;
            let output = (300.0 + 50.0 * rng.normal()).round().max(1.0) as u64;
            json!({
                "item_id": format!("q-{i:03}"),
                "output": format!("answer to question {i}"),
                "scores": {
                    "correctness": round(correctness, 4),
                    "helpfulness": round(helpfulness, 4),
                    "grounded": grounded,
                },
                "cost_usd": round(cost, 6),
                "latency_ms": round(latency, 1),
                "input_tokens": input,
                "output_tokens": output,
                "error": null,
                "pii_findings": 0,
            })
        })
        .collect();
    // One item per line: readable and diff-friendly.
    let mut out = format!(
        "{{\"run_id\": {}, \"name\": {}, \"dataset\": {{\"name\": \"support-golden\", \"version\": \"1\"}},\n \"created_at\": \"2026-05-01T12:00:00Z\",\n \"items\": [\n",
        json!(p.run_id),
        json!(p.name)
    );
    for (i, it) in items.iter().enumerate() {
        out.push_str("  ");
        out.push_str(&it.to_string());
        out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
    }
    out.push_str(" ]}\n");
    out
}

#[test]
fn example_run_files_are_generated() {
    let regen = std::env::var_os("GLASSBOX_GATE_REGEN").is_some();
    for (file, profile) in &PROFILES {
        let want = generate(profile);
        let path = common::data(file);
        if regen {
            std::fs::write(&path, &want).expect("write data file");
            continue;
        }
        let got = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            got == want,
            "{} differs from its generator; run GLASSBOX_GATE_REGEN=1 cargo test -p glassbox-gate --test data",
            path.display()
        );
        // And it is a valid run file.
        let s = glassbox_gate::sample::parse_run_file(&got, file).expect("valid run file");
        assert_eq!(s.items.len(), profile.items);
    }
}
