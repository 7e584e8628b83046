//! `glassbox eval run|compare` and `glassbox dataset info|convert|from-traces`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use glassbox_eval::dataset::Dataset;
use glassbox_eval::experiment::{self, Evaluators, RunItem, RunOptions, Server, Target};

#[derive(clap::Subcommand)]
pub enum EvalCommand {
    /// Run a candidate over every item of a dataset, score each output and write the run.
    #[command(
        after_help = "The candidate is a command (the item's input on stdin, its answer on stdout) or
an http(s) URL (POST {\"id\",\"input\",\"metadata\"}, answering text or {\"output\": …}).
Each item runs in a fresh trace: TRACEPARENT and BAGGAGE are set for a command,
traceparent/baggage headers for a URL, and OTEL_EXPORTER_OTLP_ENDPOINT points a command
at --server unless already set. Tokens, cost and PII findings are read back from that
trace; scores are posted to it.

EXIT CODES:
    0  the run finished and was written (items may have failed: see the summary)
    2  could not run: bad dataset or evaluators file, server unreachable, output not writable

EXAMPLES:
    glassbox eval run --dataset golden.jsonl --target 'python agent.py --prompt v2' --evaluators evaluators.toml
    glassbox eval run --dataset golden.csv --target http://127.0.0.1:8000/answer --evaluators evaluators.toml --concurrency 8 --name nightly
    glassbox gate --policy gate.yaml --baseline runs/baseline.json --candidate runs/nightly.json"
    )]
    Run(RunArgs),
    /// List the runs stored on the server, newest first.
    List {
        /// Only runs over this dataset.
        #[arg(long, value_name = "NAME")]
        dataset: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Export a stored run as a run file (for `glassbox gate` in a job without a server).
    Pull {
        #[arg(value_name = "RUN_ID")]
        run_id: String,
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Compare two run files metric by metric, with bootstrap intervals of each change.
    Compare {
        /// The baseline: a run file, or a stored run as run:ID.
        #[arg(value_name = "RUN_A")]
        a: String,
        /// The candidate, in the same forms.
        #[arg(value_name = "RUN_B")]
        b: String,
        /// Confidence of the intervals.
        #[arg(long, default_value_t = 0.95)]
        confidence: f64,
        /// How many of the items whose scores moved most to list.
        #[arg(long, default_value_t = 10, value_name = "N")]
        top: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(clap::Args)]
pub struct ServerArgs {
    /// The Glassbox server (its HTTP port: OTLP and the API).
    #[arg(
        long,
        env = "GLASSBOX_URL",
        default_value = "http://127.0.0.1:4318",
        value_name = "URL"
    )]
    server: String,
    /// Sent as `Authorization: Bearer KEY`.
    #[arg(
        long,
        env = "GLASSBOX_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    api_key: Option<String>,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The dataset: a .jsonl or .csv file, or a dataset stored on the server as NAME or
    /// NAME@VERSION (`glassbox dataset list`).
    #[arg(long, value_name = "FILE|NAME[@VERSION]")]
    dataset: String,
    /// A shell command, or an http(s) URL.
    #[arg(long, value_name = "CMD|URL")]
    target: String,
    /// The evaluators (TOML: [[rules]] and [[judges]], as in the server's [evaluation]).
    #[arg(long, value_name = "FILE")]
    evaluators: PathBuf,
    /// Items run at once.
    #[arg(long, default_value_t = 4, value_name = "N")]
    concurrency: usize,
    /// A name for the run, shown in reports [default: the run id].
    #[arg(long, value_name = "RUN")]
    name: Option<String>,
    /// Where to write the run [default: runs/RUN_ID.json].
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Only the first N items (a smoke run).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// The server the candidate's telemetry goes to and the run is stored on.
    #[command(flatten)]
    remote: ServerArgs,
    /// Run without a server: outputs, latency and scores only (no tokens or cost), and
    /// nothing stored.
    #[arg(long)]
    offline: bool,
    /// Give up on an item after this many seconds.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    item_timeout: u64,
    /// Wait this long for an item's telemetry to reach the server.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    settle: u64,
}

#[derive(clap::Subcommand)]
pub enum DatasetCommand {
    /// Print a dataset's name, content version and item count, checking every item.
    Info {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Convert between JSONL and CSV (by the files' extensions).
    Convert {
        #[arg(value_name = "FROM")]
        from: PathBuf,
        #[arg(value_name = "TO")]
        to: PathBuf,
    },
    /// Store a dataset file on the server as a new version (PII redacted there).
    Push {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The name to store it under [default: the file's stem].
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Fetch a stored dataset (NAME or NAME@VERSION) into a .jsonl or .csv file.
    Pull {
        #[arg(value_name = "NAME[@VERSION]")]
        dataset: String,
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// List the datasets stored on the server, every version.
    List {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Make a dataset from production traces: each trace's first user message becomes the
    /// input and its answer the expected output, for a person to review.
    FromTraces {
        /// Trace filters of the API, e.g. `release=v1 service=support-agent`.
        #[arg(value_name = "KEY=VALUE")]
        filters: Vec<String>,
        /// How many traces (newest first), at most 1000.
        #[arg(long, default_value_t = 100, value_name = "N")]
        limit: usize,
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Exit codes: 0 done, 2 could not run.
pub fn run(cmd: EvalCommand) -> ExitCode {
    let result = match cmd {
        EvalCommand::Run(args) => runtime().and_then(|rt| rt.block_on(eval_run(args))),
        EvalCommand::Compare {
            a,
            b,
            confidence,
            top,
            server,
        } => compare(&a, &b, confidence, top, server),
        EvalCommand::List { dataset, server } => runtime().and_then(|rt| {
            rt.block_on(async {
                let s = server_of(&server.server, server.api_key)?;
                let path = match &dataset {
                    Some(d) => format!("/api/v1/experiments?dataset={d}"),
                    None => "/api/v1/experiments".to_owned(),
                };
                let v = s.get_json(&path).await.map_err(anyhow::Error::msg)?;
                println!(
                    "{:<34} {:<20} {:<28} {:>6}  created",
                    "run", "name", "dataset@version", "items"
                );
                for r in v["runs"].as_array().into_iter().flatten() {
                    println!(
                        "{:<34} {:<20} {:<28} {:>6}  {}",
                        r["run_id"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or(""),
                        format!(
                            "{}@{}",
                            r["dataset"].as_str().unwrap_or("-"),
                            r["dataset_version"].as_str().unwrap_or("-")
                        ),
                        r["items"],
                        r["created_at"].as_str().unwrap_or("")
                    );
                }
                Ok(())
            })
        }),
        EvalCommand::Pull {
            run_id,
            output,
            server,
        } => runtime().and_then(|rt| {
            rt.block_on(async {
                let s = server_of(&server.server, server.api_key)?;
                let text = s
                    .get_text(&format!("/api/v1/experiments/{run_id}"))
                    .await
                    .map_err(anyhow::Error::msg)?;
                std::fs::write(&output, text)
                    .with_context(|| format!("could not write {}", output.display()))?;
                eprintln!("wrote {}", output.display());
                Ok(())
            })
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

pub fn dataset(cmd: DatasetCommand) -> ExitCode {
    let result = match cmd {
        DatasetCommand::Info { file } => Dataset::load(&file)
            .map(|d| {
                println!(
                    "{}: {} items, version {}",
                    d.name,
                    d.items.len(),
                    d.version()
                );
                let with_expected = d.items.iter().filter(|i| i.expected.is_some()).count();
                println!("  {with_expected} with an expected output");
            })
            .map_err(anyhow::Error::from),
        DatasetCommand::Convert { from, to } => Dataset::load(&from)
            .and_then(|d| {
                d.save(&to)?;
                eprintln!(
                    "wrote {} ({} items, version {})",
                    to.display(),
                    d.items.len(),
                    d.version()
                );
                Ok(())
            })
            .map_err(anyhow::Error::from),
        DatasetCommand::FromTraces {
            filters,
            limit,
            output,
            server,
        } => runtime().and_then(|rt| {
            rt.block_on(from_traces(
                filters,
                limit,
                output,
                server_of(&server.server, server.api_key)?,
            ))
        }),
        DatasetCommand::Push { file, name, server } => {
            runtime().and_then(|rt| rt.block_on(push(file, name, server)))
        }
        DatasetCommand::Pull {
            dataset,
            output,
            server,
        } => runtime().and_then(|rt| rt.block_on(pull(&dataset, &output, server))),
        DatasetCommand::List { server } => {
            runtime().and_then(|rt| rt.block_on(list_datasets(server)))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

fn server_of(url: &str, api_key: Option<String>) -> anyhow::Result<Server> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("--server {url:?} is not a URL; pass e.g. http://127.0.0.1:4318");
    }
    Ok(Server {
        url: url.to_owned(),
        api_key: api_key.filter(|k| !k.is_empty()),
    })
}

/// Waits up to 10 s for the server to answer `/healthz`, so a CI job can start `glassbox
/// serve &` in one step and run the evaluation in the next.
async fn wait_for(s: &Server) -> Result<(), reqwest::Error> {
    let health = format!("{}/healthz", s.url);
    let client = reqwest::Client::new();
    let mut tries = 0;
    loop {
        let r = client
            .get(&health)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        match r {
            Ok(_) => return Ok(()),
            Err(e) if tries >= 20 || !e.is_connect() => return Err(e),
            Err(_) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// `NAME@VERSION` → (NAME, Some(VERSION)).
fn split_version(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once('@') {
        Some((n, v)) if !v.is_empty() => (n, Some(v)),
        _ => (s, None),
    }
}

async fn eval_run(a: RunArgs) -> anyhow::Result<()> {
    // Local files first: a typo in them should not wait for a server.
    let path = PathBuf::from(&a.dataset);
    let local = if path.exists() || a.offline {
        Some(Dataset::load(&path)?)
    } else {
        None
    };
    let evaluators = Evaluators::load(&a.evaluators)?;
    if a.limit == Some(0) {
        bail!("--limit must be at least 1");
    }
    let server = if a.offline {
        None
    } else {
        let s = server_of(&a.remote.server, a.remote.api_key.clone())?;
        wait_for(&s).await.with_context(|| {
            format!(
                "no Glassbox server at {} (start `glassbox serve`, pass --server, or run \
                 --offline without tokens and cost)",
                s.url
            )
        })?;
        Some(s)
    };
    let mut dataset = match (local, &server) {
        (Some(d), Some(s)) => {
            // A file's content is stored too, so the version the run records names data the
            // team can fetch (`glassbox dataset pull NAME@VERSION`).
            match s.push_dataset(&d).await {
                Ok(v) if v["version"].as_str() != Some(d.version().as_str()) => eprintln!(
                    "note: the server redacted PII from the dataset; its stored version is {}",
                    v["version"].as_str().unwrap_or("?")
                ),
                Ok(_) => {}
                Err(e) => eprintln!("warning: the dataset was not stored on the server: {e}"),
            }
            d
        }
        (Some(d), None) => d,
        (None, Some(s)) => {
            let (name, version) = split_version(&a.dataset);
            s.pull_dataset(name, version).await.map_err(|e| {
                anyhow::anyhow!(
                    "{e}; --dataset is neither a file here nor a dataset stored on the server"
                )
            })?
        }
        (None, None) => bail!("--dataset {}: no such file", a.dataset),
    };
    if let Some(n) = a.limit {
        // The run records the version of the items it actually ran.
        dataset.items.truncate(n);
    }
    let run_id = experiment::new_run_id();
    let output = a
        .output
        .clone()
        .unwrap_or_else(|| experiment::default_output(&run_id));
    // Fail before running anything if the run cannot be written.
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
    }
    let target = Target::parse(&a.target);
    // A command exports its telemetry to the server unless told otherwise.
    let mut env = Vec::new();
    if let (Target::Command(_), Some(s)) = (&target, &server)
        && std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none()
    {
        env.push(("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), s.url.clone()));
    }
    let run_server = server.clone();
    let name = a.name.clone().unwrap_or_else(|| run_id.clone());
    eprintln!(
        "eval run {run_id}: {} items of {} (version {}), {} at a time",
        dataset.items.len(),
        dataset.name,
        dataset.version(),
        a.concurrency.max(1)
    );
    let progress = Bar::new();
    let run = experiment::run(
        &dataset,
        evaluators,
        RunOptions {
            run_id: run_id.clone(),
            name,
            target,
            concurrency: a.concurrency,
            item_timeout: Duration::from_secs(a.item_timeout.max(1)),
            server: server.clone(),
            settle: Duration::from_secs(a.settle),
            env,
        },
        &progress,
    )
    .await?;
    progress.finish();
    let text = serde_json::to_string_pretty(&run)?;
    std::fs::write(&output, text + "\n")
        .with_context(|| format!("could not write {}", output.display()))?;
    let stored = match &run_server {
        Some(s) => match s.push_run(&run).await {
            Ok(()) => Some(format!("run:{}", run.run_id)),
            Err(e) => {
                eprintln!("warning: the run was not stored on the server: {e}");
                None
            }
        },
        None => None,
    };
    let s = &run.summary;
    eprintln!(
        "{} items, {} failed, {} evaluation errors, {:.1} s",
        s.items,
        s.errors,
        s.evaluation_errors,
        s.duration_ms / 1000.0
    );
    for (k, v) in &s.scores {
        eprintln!("  {k:<20} mean {v:.4}");
    }
    if let Some(c) = s.cost_usd {
        eprintln!(
            "  cost                 ${c:.6} (${:.6} per item)",
            c / s.items.max(1) as f64
        );
    }
    if s.judge_calls > 0 {
        eprintln!(
            "  judge calls          {} ({} input + {} output tokens; priced under service glassbox-judge)",
            s.judge_calls, s.judge_input_tokens, s.judge_output_tokens
        );
    }
    let shown_errors: Vec<&RunItem> = run
        .items
        .iter()
        .filter(|i| i.error.is_some() || !i.evaluation_errors.is_empty())
        .take(5)
        .collect();
    for i in shown_errors {
        if let Some(e) = &i.error {
            eprintln!("  ! {}: {e}", i.item_id);
        }
        for e in &i.evaluation_errors {
            eprintln!("  ! {}: {e}", i.item_id);
        }
    }
    if let Some(id) = stored {
        eprintln!("stored on the server as {id} (glassbox gate --baseline {id} …)");
    }
    println!("{}", output.display());
    Ok(())
}

fn compare(
    a: &str,
    b: &str,
    confidence: f64,
    top: usize,
    server: ServerArgs,
) -> anyhow::Result<()> {
    use glassbox_gate::source::{LiveOptions, SourceSpec, load_all};
    if !(confidence > 0.5 && confidence < 1.0) {
        bail!("--confidence must be between 0.5 and 1, e.g. 0.95");
    }
    // The gate's loader: the same two forms, the same errors.
    let spec = |s: &str| -> anyhow::Result<SourceSpec> {
        match SourceSpec::parse(s)? {
            SourceSpec::Live(_) => {
                bail!("{s}: compare takes run files or run:ID, not live traffic")
            }
            other => Ok(other),
        }
    };
    let (sa, sb) = (spec(a)?, spec(b)?);
    let opts = LiveOptions {
        server: server.server,
        api_key: server.api_key.filter(|k| !k.is_empty()),
        from: None,
        to: None,
    };
    let mut samples = load_all(&[&sa, &sb], &opts)?.into_iter();
    let (Some(sa), Some(sb)) = (samples.next(), samples.next()) else {
        bail!("a run did not load");
    };
    print!(
        "{}",
        glassbox_gate::compare::compare(&sa, &sb, confidence, top).table()
    );
    Ok(())
}

async fn from_traces(
    filters: Vec<String>,
    limit: usize,
    output: PathBuf,
    server: Server,
) -> anyhow::Result<()> {
    let mut pairs = Vec::new();
    for f in &filters {
        let Some((k, v)) = f.split_once('=') else {
            bail!("filter {f:?} is not KEY=VALUE, e.g. release=v1");
        };
        pairs.push((k.to_owned(), v.to_owned()));
    }
    let items = glassbox_eval::dataset::from_traces(&server, &pairs, limit)
        .await
        .map_err(anyhow::Error::msg)?;
    if items.is_empty() {
        bail!(
            "no trace matched with a user message to use as input; check the filters with \
             {}/traces",
            server.url
        );
    }
    let name = output
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("dataset")
        .to_owned();
    let d = Dataset { name, items };
    d.save(&output)?;
    eprintln!(
        "wrote {} ({} items from traces, version {}); review the expected outputs before \
         using it as a golden set",
        output.display(),
        d.items.len(),
        d.version()
    );
    Ok(())
}

/// Progress on stderr: a redrawn line on a terminal, a line per tenth in a CI log.
struct Bar {
    tty: bool,
    failed: std::sync::atomic::AtomicUsize,
}

impl Bar {
    fn new() -> Bar {
        Bar {
            tty: std::io::stderr().is_terminal(),
            failed: Default::default(),
        }
    }
    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

impl experiment::Progress for Bar {
    fn item_done(&self, done: usize, total: usize, item: &RunItem) {
        use std::sync::atomic::Ordering;
        if item.error.is_some() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        let failed = self.failed.load(Ordering::Relaxed);
        let width = 30;
        let filled = done * width / total.max(1);
        let line = format!(
            "[{}{}] {done}/{total} items, {failed} failed",
            "#".repeat(filled),
            "-".repeat(width - filled)
        );
        if self.tty {
            eprint!("\r{line}");
        } else if done == total || (done * 10 / total.max(1)) != ((done - 1) * 10 / total.max(1)) {
            eprintln!("{line}");
        }
    }
}

async fn push(file: PathBuf, name: Option<String>, server: ServerArgs) -> anyhow::Result<()> {
    let s = server_of(&server.server, server.api_key)?;
    let mut d = Dataset::load(&file)?;
    if let Some(n) = name {
        d.name = n;
    }
    let v = s.push_dataset(&d).await.map_err(anyhow::Error::msg)?;
    let created = v["created"].as_bool().unwrap_or(false);
    eprintln!(
        "{} {}@{} ({} items{})",
        if created { "stored" } else { "already stored:" },
        d.name,
        v["version"].as_str().unwrap_or("?"),
        d.items.len(),
        match v["redactions"].as_u64() {
            Some(n) if n > 0 => format!(
                "; {n} values redacted on the server, so its version differs from the file's {}",
                d.version()
            ),
            _ => String::new(),
        }
    );
    Ok(())
}

async fn pull(dataset: &str, output: &std::path::Path, server: ServerArgs) -> anyhow::Result<()> {
    let s = server_of(&server.server, server.api_key)?;
    let (name, version) = split_version(dataset);
    let d = s
        .pull_dataset(name, version)
        .await
        .map_err(anyhow::Error::msg)?;
    d.save(output)?;
    eprintln!(
        "wrote {} ({} items, version {})",
        output.display(),
        d.items.len(),
        d.version()
    );
    Ok(())
}

async fn list_datasets(server: ServerArgs) -> anyhow::Result<()> {
    let s = server_of(&server.server, server.api_key)?;
    let v = s
        .get_json("/api/v1/datasets")
        .await
        .map_err(anyhow::Error::msg)?;
    println!(
        "{:<30} {:<14} {:>6}  created",
        "dataset", "version", "items"
    );
    for d in v["datasets"].as_array().into_iter().flatten() {
        println!(
            "{:<30} {:<14} {:>6}  {}",
            d["name"].as_str().unwrap_or(""),
            d["version"].as_str().unwrap_or(""),
            d["items"],
            d["created_at"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
