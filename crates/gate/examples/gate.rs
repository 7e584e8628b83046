//! `glassbox gate` without the rest of the binary, for trying the gate on its own:
//!
//!   cargo run -p glassbox-gate --example gate -- --policy crates/gate/tests/data/gate.yaml \
//!     --baseline crates/gate/tests/data/baseline.json \
//!     --candidate crates/gate/tests/data/candidate-v2-regressed.json

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "glassbox gate",
    about = "Gate a release on rules over experiment runs or live traffic."
)]
struct Cli {
    #[command(flatten)]
    gate: glassbox_gate::GateArgs,
}

fn main() -> std::process::ExitCode {
    glassbox_gate::run(Cli::parse().gate)
}
