//! Times each built-in pattern alone over the dev corpus (to find slow detectors).

use std::io::BufRead;
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/pii/dev.jsonl"
        )
        .to_owned()
    });
    let Ok(file) = std::fs::File::open(&path) else {
        eprintln!("regex_profile: cannot open {path}");
        return;
    };
    let texts: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| v.get("text").and_then(|t| t.as_str()).map(str::to_owned))
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let d = glassbox_redact::Detector::new();
    let mut rows = Vec::new();
    let parts = d.debug_cue_parts();
    let all = d
        .debug_patterns()
        .into_iter()
        .map(|(n, r)| (n.to_owned(), r))
        .chain(parts.iter().map(|(n, r)| (n.clone(), r)));
    for (name, re) in all {
        let mut n = 0;
        for t in &texts {
            n += re.find_iter(t).count();
        }
        let start = Instant::now();
        for _ in 0..5 {
            for t in &texts {
                n += std::hint::black_box(re.find_iter(t).count());
            }
        }
        let s = start.elapsed().as_secs_f64();
        rows.push((s, name, n));
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (s, name, n) in rows {
        println!("{:>8.1} MB/s  {name:<28} {n}", (bytes * 5) as f64 / 1e6 / s);
    }
}
