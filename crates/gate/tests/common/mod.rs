//! Shared by the integration tests: parsing `glassbox gate` arguments exactly as the binary
//! does, and paths to the example data.
#![allow(dead_code)] // each test binary uses a different part

use std::path::PathBuf;

use clap::Parser;
use glassbox_gate::GateArgs;

/// `glassbox gate …` as the binary parses it (the subcommand's arguments flattened).
#[derive(Parser)]
#[command(name = "glassbox gate")]
struct Cli {
    #[command(flatten)]
    gate: GateArgs,
}

/// Parses arguments after `glassbox gate`. GitHub's step summary variable is cleared so a
/// test run inside GitHub Actions does not write into the real summary.
pub fn args<I, S>(argv: I) -> GateArgs
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let full = std::iter::once(std::ffi::OsString::from("glassbox-gate"))
        .chain(argv.into_iter().map(Into::into));
    let mut a = match Cli::try_parse_from(full) {
        Ok(c) => c.gate,
        Err(e) => panic!("arguments do not parse: {e}"),
    };
    if std::env::var_os("GITHUB_STEP_SUMMARY").is_some() {
        a.step_summary = None;
    }
    a
}

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

pub fn data_str(name: &str) -> String {
    data(name).display().to_string()
}

/// A fresh, empty directory under the target dir (no tempfile dependency needed).
pub fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("glassbox-gate-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A minimal well-formedness check of XML: balanced, properly nested tags, quoted
/// attributes, only the five predefined entities. Returns the element names in order.
pub fn check_xml(xml: &str) -> Result<Vec<String>, String> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .ok_or("no XML declaration")?;
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find('<') {
        check_text(&rest[..i])?;
        let end = rest[i..].find('>').ok_or("unclosed tag")? + i;
        let tag = &rest[i + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name: String = tag.chars().take_while(|c| !c.is_whitespace()).collect();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("bad tag name in <{tag}>"));
        }
        // Attributes: name="value" pairs, values without raw < or ".
        let mut attrs = tag[name.len()..].trim();
        while !attrs.is_empty() {
            let eq = attrs
                .find("=\"")
                .ok_or(format!("bad attribute in <{tag}>"))?;
            let close = attrs[eq + 2..].find('"').ok_or("unterminated attribute")? + eq + 2;
            check_text(&attrs[eq + 2..close])?;
            attrs = attrs[close + 1..].trim_start();
        }
        names.push(name.clone());
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest)?;
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    Ok(names)
}

fn check_text(t: &str) -> Result<(), String> {
    if t.contains('<') {
        return Err("raw < in text".into());
    }
    let mut rest = t;
    while let Some(i) = rest.find('&') {
        let semi = rest[i..].find(';').ok_or("bare &")? + i;
        if !matches!(
            &rest[i..=semi],
            "&amp;" | "&lt;" | "&gt;" | "&quot;" | "&apos;"
        ) {
            return Err(format!("unknown entity {}", &rest[i..=semi]));
        }
        rest = &rest[semi + 1..];
    }
    Ok(())
}
