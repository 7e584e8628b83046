//! `redact_jsonl < records.jsonl > predictions.jsonl`: the scorer's `--jsonl` protocol.

use std::io::{self, BufReader, BufWriter};
use std::process::ExitCode;

fn main() -> ExitCode {
    let detector = glassbox_redact::Detector::new();
    let stdin = io::stdin();
    let stdout = io::stdout();
    match glassbox_redact::run_jsonl(
        &detector,
        BufReader::new(stdin.lock()),
        BufWriter::new(stdout.lock()),
    ) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redact_jsonl: {e}");
            ExitCode::from(2)
        }
    }
}
