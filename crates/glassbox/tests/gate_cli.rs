//! `glassbox gate` as CI calls it: the real binary, the example runs, and the
//! exit codes a CI system reads (0 pass, 1 a rule failed, 2 could not evaluate).

use std::process::Command;

fn gate(candidate: &str) -> (i32, String) {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../gate/tests/data");
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["gate", "--policy"])
        .arg(format!("{data}/gate.yaml"))
        .arg("--baseline")
        .arg(format!("{data}/baseline.json"))
        .arg("--candidate")
        .arg(format!("{data}/{candidate}"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn exit_codes_say_pass_fail_or_could_not_evaluate() {
    let (code, out) = gate("candidate-v3.json");
    assert_eq!(code, 0, "{out}");
    let (code, out) = gate("candidate-v2-regressed.json");
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("quality >= baseline * 0.95") && out.contains("cost_per_item"),
        "{out}"
    );
    let (code, out) = gate("candidate-small.json");
    assert_eq!(
        code, 1,
        "too few items is inconclusive, which this policy fails: {out}"
    );
    assert!(out.contains("INCONCLUSIVE"), "{out}");
    let (code, out) = gate("no-such-run.json");
    assert_eq!(code, 2, "{out}");
}
