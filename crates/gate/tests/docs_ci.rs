//! docs/ci.md cannot rot: every `glassbox gate …` command in its code blocks is parsed exactly
//! as the binary parses it, and each one over run files is run — with those exact arguments,
//! in a directory laid out as the CI jobs expect (`gate.yaml` from the page's policy block,
//! `runs/baseline.json`, `runs/candidate.json` from the example data).
//!
//! This binary has a single test because it changes the working directory (process-wide).

mod common;

use std::path::Path;

use common::{args, check_xml, data, scratch};

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ci.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fenced code blocks: (info string, lines).
fn blocks(md: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, Vec<String>)> = None;
    for line in md.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            match cur.take() {
                Some(b) => out.push(b),
                None => cur = Some((info.trim().to_owned(), Vec::new())),
            }
        } else if let Some((_, lines)) = cur.as_mut() {
            lines.push(line.to_owned());
        }
    }
    out
}

/// Splits a shell command into words: whitespace-separated, with '…' and "…" quoting; stops
/// at a shell operator or comment, which the gate never sees.
fn shell_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == c {
                        break;
                    }
                    cur.push(q);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '|' | ';' | '&' | '>' | '#' if !in_word => break,
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The argument lists of every `glassbox gate` command (after `glassbox gate`).
fn gate_commands(md: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (info, lines) in blocks(md) {
        // Commands live in shell and CI-config blocks; `text` blocks show output.
        if !matches!(info.as_str(), "sh" | "bash" | "shell" | "yaml" | "yml") {
            continue;
        }
        // Join `\` continuations first.
        let mut joined: Vec<String> = Vec::new();
        let mut pending = String::new();
        for l in lines {
            if let Some(head) = l.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
            } else {
                pending.push_str(&l);
                joined.push(std::mem::take(&mut pending));
            }
        }
        for l in joined {
            if let Some(i) = l.find("glassbox gate ") {
                let words = shell_words(&l[i..]);
                out.push((info.clone(), words[2..].to_vec()));
            }
        }
    }
    out
}

#[test]
fn the_commands_in_docs_ci_md_work() {
    let md = doc();
    let commands = gate_commands(&md);
    let in_yaml = commands.iter().filter(|(info, _)| info == "yaml").count();
    assert!(
        in_yaml >= 2,
        "expected the GitHub and GitLab jobs' commands: {commands:?}"
    );

    // The page's policy block is the policy the commands run with.
    let policy = blocks(&md)
        .into_iter()
        .find(|(_, l)| l.first().map(String::as_str) == Some("# gate.yaml"))
        .map(|(_, l)| l.join("\n"))
        .expect("a ```yaml block starting with `# gate.yaml`");
    glassbox_gate::policy::parse(&policy).expect("the documented policy parses");
    // And the run file example is a valid run file.
    let example = blocks(&md)
        .into_iter()
        .find(|(info, l)| info == "json" && l.first().is_some_and(|l| l.contains("\"run_id\"")))
        .map(|(_, l)| l.join("\n"))
        .expect("the run file example");
    glassbox_gate::sample::parse_run_file(&example, "docs/ci.md").expect("documented run file");

    let dir = scratch("docs");
    std::fs::create_dir_all(dir.join("runs")).expect("mkdir");
    std::fs::write(dir.join("gate.yaml"), &policy).expect("write policy");
    std::fs::copy(data("baseline.json"), dir.join("runs/baseline.json")).expect("copy");
    std::env::set_current_dir(&dir).expect("chdir");

    let mut ran = 0;
    for (info, argv) in &commands {
        let mut a = args(argv.clone());
        let live = [&a.baseline, &a.candidate]
            .iter()
            .any(|s| s.contains('=') || s.starts_with("run:"));
        if live {
            continue; // live traffic and stored runs: parsed (above) is what needs no server
        }
        a.step_summary = Some(dir.join("summary.md"));
        for (candidate, want) in [
            ("candidate-v3.json", 0u8),
            ("candidate-v2-regressed.json", 1),
        ] {
            std::fs::copy(data(candidate), dir.join("runs/candidate.json")).expect("copy");
            let _ = std::fs::remove_file(dir.join("summary.md"));
            assert_eq!(
                glassbox_gate::execute(&a),
                want,
                "`glassbox gate {}` ({info} block) with {candidate}",
                argv.join(" ")
            );
            if let Some(out) = &a.output {
                let text = std::fs::read_to_string(out).expect("the --output file");
                if a.format == glassbox_gate::Format::Junit {
                    check_xml(&text).expect("well-formed JUnit");
                }
            }
            let summary = std::fs::read_to_string(dir.join("summary.md")).expect("summary");
            assert!(summary.contains("| rule | baseline | candidate | 95% CI | verdict |"));
        }
        ran += 1;
    }
    assert!(ran >= 3, "ran {ran} of {commands:?}");
}

#[test]
fn shell_words_split_like_a_shell() {
    assert_eq!(
        shell_words("glassbox gate --policy 'my gate.yaml' --x \"a b\" > out.txt"),
        ["glassbox", "gate", "--policy", "my gate.yaml", "--x", "a b"]
    );
    assert_eq!(shell_words("a b # c"), ["a", "b"]);
}
