//! `glassbox gate`: a release gate for CI. It compares a candidate with a baseline — two
//! experiment run files, or the live traffic of two releases or prompt versions on a running
//! Glassbox server — against the rules of a policy (`quality >= baseline * 0.95`,
//! `latency_p95_ms <= 5000`, `pii_findings == 0`, …), and exits 0 (pass), 1 (a rule failed)
//! or 2 (could not evaluate).
//!
//! It is significance-aware: every comparison is decided on a bootstrap confidence interval
//! and reports its sample sizes, so a gate does not flip on noise; too few samples, or an
//! interval that straddles the threshold, is INCONCLUSIVE, and the policy says whether that
//! passes. The decision rule is documented in [`eval`], the statistics in [`stats`], the run
//! file in [`sample`], the policy in [`policy`], the live-traffic source in [`source`].
//!
//! Layout: `policy` + `source`/`sample` → `eval` (pure, uses `stats`) → `report` (formats);
//! this file holds the command line and the only side effects (printing, writing files).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub mod compare;
pub mod eval;
pub mod policy;
pub mod report;
pub mod sample;
pub mod source;
pub mod stats;

pub use eval::{Outcome, Report, Verdict};
pub use sample::{Item, Origin, Sample};

/// Why the gate could not be evaluated (exit code 2). Every message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("policy {path}: {message}")]
    Policy { path: String, message: String },
    #[error("run file {path}: {message}")]
    RunFile { path: String, message: String },
    #[error("{0}")]
    Source(String),
    #[error("Glassbox server {url}: {message}")]
    Server { url: String, message: String },
    #[error("{side}: {hint}")]
    NoItems { side: String, hint: String },
    #[error("{0}")]
    Args(String),
    #[error("could not write {path}: {message}")]
    Output { path: String, message: String },
}

/// Where `glassbox serve` listens by default.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:4318";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A plain-text table for a terminal or CI log.
    Table,
    /// Markdown (a CI step summary or a pull request comment).
    Markdown,
    /// JUnit XML: one test case per rule.
    Junit,
    /// JSON, shape `glassbox.gate/v1` (docs/ci.md).
    Json,
}

/// `glassbox gate`'s arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "EXIT CODES:
    0  every rule passed (inconclusive rules too, if the policy says `inconclusive: pass`)
    1  a rule failed, or was inconclusive under `inconclusive: fail`
    2  could not evaluate: missing or invalid policy, missing run file, server unreachable, no items

EXAMPLES:
    glassbox gate --policy gate.yaml --baseline runs/baseline.json --candidate runs/candidate.json
    glassbox gate --policy gate.yaml --baseline runs/baseline.json --candidate runs/candidate.json --format junit --output gate.xml
    glassbox gate --policy gate.yaml --baseline run:run-20260501-120000-ab12 --candidate runs/candidate.json
    glassbox gate --policy live.yaml --baseline release=v1 --candidate release=v2 --from 2026-05-01T00:00:00Z

See docs/ci.md for the policy, the run file format and CI workflows.")]
pub struct GateArgs {
    /// The policy (YAML): quality_score, min_samples, confidence, inconclusive, rules.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// The baseline: an experiment run file (JSON), a run stored on the server as `run:ID`,
    /// or live traffic as `release=V` or `prompt_version=V` (add `,service=S`, `,model=M` to
    /// narrow it).
    #[arg(long, value_name = "RUN_FILE|run:ID|release=V|prompt_version=V")]
    pub baseline: String,
    /// The candidate, in the same forms as --baseline.
    #[arg(long, value_name = "RUN_FILE|run:ID|release=V|prompt_version=V")]
    pub candidate: String,
    /// The Glassbox server to read stored runs and live traffic from.
    #[arg(
        long,
        env = "GLASSBOX_URL",
        default_value = DEFAULT_SERVER,
        value_name = "URL"
    )]
    pub server: String,
    /// Sent as `Authorization: Bearer KEY` to the server.
    #[arg(
        long,
        env = "GLASSBOX_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// Live traffic: only traces starting at or after this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub from: Option<String>,
    /// Live traffic: only traces starting before this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    pub to: Option<String>,
    /// The report's format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to this file (the table is still printed for the log).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also append the Markdown report to this file; set by GitHub Actions.
    #[arg(long, env = "GITHUB_STEP_SUMMARY", value_name = "FILE")]
    pub step_summary: Option<PathBuf>,
}

/// Runs the gate as `glassbox gate` does: prints, writes files, returns the exit code.
pub fn run(args: GateArgs) -> ExitCode {
    ExitCode::from(execute(&args))
}

/// [`run`] returning the exit code as a number (0, 1 or 2), for tests and embedding.
pub fn execute(args: &GateArgs) -> u8 {
    match evaluate_args(args) {
        Ok(report) => match emit_report(args, &report) {
            Ok(()) => report.exit_code,
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
        Err(e) => {
            let message = e.to_string();
            eprintln!("error: {message}");
            // Still leave the files CI expects, so its JUnit/summary steps show why.
            if let Err(e) = emit_error(args, &message) {
                eprintln!("error: {e}");
            }
            2
        }
    }
}

/// Loads the policy and both sides and evaluates every rule; no output.
pub fn evaluate_args(args: &GateArgs) -> Result<Report, GateError> {
    let policy = policy::load(&args.policy)?;
    let baseline = source::SourceSpec::parse(&args.baseline)?;
    let candidate = source::SourceSpec::parse(&args.candidate)?;
    let any_live = [&baseline, &candidate]
        .iter()
        .any(|s| matches!(s, source::SourceSpec::Live(_)));
    for (flag, v) in [("--from", &args.from), ("--to", &args.to)] {
        let Some(v) = v else { continue };
        if !any_live {
            return Err(GateError::Args(format!(
                "{flag} applies to live traffic only; run files are already one run each"
            )));
        }
        time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).map_err(
            |e| {
                GateError::Args(format!(
                    "{flag} {v:?} is not an RFC 3339 time ({e}), e.g. 2026-05-01T00:00:00Z"
                ))
            },
        )?;
    }
    // An empty GLASSBOX_URL (e.g. a CI variable defined but unset) means the default.
    let server = match args.server.trim() {
        "" => DEFAULT_SERVER.to_owned(),
        s if s.starts_with("http://") || s.starts_with("https://") => s.to_owned(),
        s => {
            return Err(GateError::Args(format!(
                "--server {s:?} is not a URL; pass e.g. http://127.0.0.1:4318"
            )));
        }
    };
    let live = source::LiveOptions {
        server,
        api_key: args.api_key.clone().filter(|k| !k.is_empty()),
        from: args.from.clone(),
        to: args.to.clone(),
    };
    let mut samples = source::load_all(&[&baseline, &candidate], &live)?.into_iter();
    match (samples.next(), samples.next()) {
        (Some(b), Some(c)) => Ok(eval::evaluate(&policy, &b, &c)),
        _ => Err(GateError::Source("a side did not load".to_owned())),
    }
}

/// The report in one format.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Table => report::table(report),
        Format::Markdown => report::markdown(report),
        Format::Junit => report::junit(report),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report::json(report)).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

fn render_error(message: &str, format: Format) -> String {
    match format {
        Format::Table => report::error_table(message),
        Format::Markdown => report::error_markdown(message),
        Format::Junit => report::error_junit(message),
        Format::Json => format!("{:#}\n", report::error_json(message)),
    }
}

fn write_file(path: &Path, text: &str, append: bool) -> Result<(), GateError> {
    let err = |e: std::io::Error| GateError::Output {
        path: path.display().to_string(),
        message: format!("{e}; check the directory exists and is writable"),
    };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(err)?;
    f.write_all(text.as_bytes()).map_err(err)
}

fn emit(args: &GateArgs, in_format: impl Fn(Format) -> String) -> Result<(), GateError> {
    match &args.output {
        Some(path) => {
            write_file(path, &in_format(args.format), false)?;
            print!("{}", in_format(Format::Table));
        }
        None => print!("{}", in_format(args.format)),
    }
    if let Some(path) = args
        .step_summary
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        write_file(path, &in_format(Format::Markdown), true)?;
    }
    Ok(())
}

fn emit_report(args: &GateArgs, report: &Report) -> Result<(), GateError> {
    emit(args, |f| render(report, f))
}

fn emit_error(args: &GateArgs, message: &str) -> Result<(), GateError> {
    // The message already went to stderr; only files are written here.
    if let Some(path) = &args.output {
        write_file(path, &render_error(message, args.format), false)?;
    }
    if let Some(path) = args
        .step_summary
        .as_deref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        write_file(path, &render_error(message, Format::Markdown), true)?;
    }
    Ok(())
}
