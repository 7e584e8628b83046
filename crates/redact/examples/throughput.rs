//! Single-threaded detection throughput over the dev corpus texts, repeated to ~100 MB.
//!
//! `cargo run --release -p glassbox-redact --example throughput [path/to/dev.jsonl] [MB]`

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/pii/dev.jsonl"
        )
        .to_owned()
    });
    let target_mb: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("throughput: cannot open {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut texts = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("throughput: {path}:{}: {e}", n + 1);
                return ExitCode::from(2);
            }
        };
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) => {
                if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
                    texts.push(t.to_owned());
                }
            }
            Err(e) => {
                eprintln!("throughput: {path}:{}: {e}", n + 1);
                return ExitCode::from(2);
            }
        }
    }
    let corpus_bytes: usize = texts.iter().map(String::len).sum();
    if corpus_bytes == 0 {
        eprintln!("throughput: no texts in {path}");
        return ExitCode::from(2);
    }
    let detector = glassbox_redact::Detector::new();
    // Warm-up: lazy DFA caches fill on first use.
    let mut found = 0usize;
    for t in &texts {
        found += detector.detect(t).len();
    }
    let rounds = (target_mb * 1_000_000).div_ceil(corpus_bytes);
    let start = Instant::now();
    for _ in 0..rounds {
        for t in &texts {
            found += std::hint::black_box(detector.detect(t)).len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = corpus_bytes * rounds;
    println!(
        "{} texts x {rounds} rounds = {:.1} MB in {secs:.2} s: {:.1} MB/s single-threaded ({found} entities)",
        texts.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / secs
    );
    ExitCode::SUCCESS
}
