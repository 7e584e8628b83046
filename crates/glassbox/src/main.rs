//! The `glassbox` command line: wires the crates; no logic of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

mod audit;
mod eval;
mod keys;

#[derive(Parser)]
#[command(
    name = "glassbox",
    version,
    about = "OpenTelemetry-native telemetry for LLM agents: traces, tokens, exact cost.",
    long_about = "Glassbox receives OTLP traces, metrics and logs from any agent instrumentation \
(OpenLLMetry, OpenInference, Langfuse, Logfire, Claude Code, the Anthropic SDK), normalises \
them into one model, prices every token exactly and serves a query API — one binary, with an \
embedded store.",
    after_help = "EXAMPLES:
    glassbox demo                               serve a day of demo agent runs at http://127.0.0.1:4318
    glassbox serve                              store in ./glassbox-data, OTLP on :4317/:4318
    glassbox serve --data-dir /var/lib/glassbox --tls-cert cert.pem --tls-key key.pem --tls-client-ca ca.pem --http 0.0.0.0:4318
    glassbox import ../shared/fixtures/otlp     replay captured OTLP files into a running server
    glassbox eval run --dataset golden.jsonl --target 'python agent.py' --evaluators evaluators.toml
    glassbox gate --policy gate.yaml --baseline runs/v1.json --candidate runs/v2.json

Point an agent at it:
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Where the embedded store keeps its files [default: ./glassbox-data].
    #[arg(long, env = "GLASSBOX_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// UI, query API and OTLP/HTTP listen address [default: 127.0.0.1:4318].
    #[arg(long, env = "GLASSBOX_HTTP", value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// OTLP/gRPC listen address [default: 127.0.0.1:4317].
    #[arg(long, env = "GLASSBOX_GRPC", value_name = "ADDR")]
    grpc: Option<SocketAddr>,
    /// A glassbox.toml; flags and environment variables override it.
    #[arg(long, env = "GLASSBOX_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Serve both listeners over TLS with this PEM certificate chain (needs --tls-key).
    #[arg(long, env = "GLASSBOX_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, RSA or EC) of --tls-cert.
    #[arg(long, env = "GLASSBOX_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Mutual TLS: require client certificates signed by this PEM CA on both listeners.
    #[arg(long, env = "GLASSBOX_TLS_CLIENT_CA", value_name = "FILE")]
    tls_client_ca: Option<PathBuf>,
    /// Allow listening on a non-loopback address without authentication (e.g. behind an
    /// authenticating proxy): anyone who can reach the port can read all telemetry.
    #[arg(
        long,
        env = "GLASSBOX_INSECURE_LISTEN",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    insecure_listen: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: OTLP receivers, the store, the UI and the query API.
    Serve(ServeArgs),
    /// Load a day of synthetic Claude agent runs (three services, releases,
    /// prompt versions, tool errors, retries, caching, a cost spike, a slow
    /// release) through the real OTLP receiver, and keep serving the UI.
    Demo {
        /// Feed a server that is already running (its OTLP/HTTP endpoint)
        /// instead of starting one.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// How many agent runs (traces) to send.
        #[arg(long, default_value_t = 400, value_name = "N")]
        runs: usize,
        /// Seed for the generator: the same seed sends the same runs.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Redact PII and secrets from stdin to stdout, as the pipeline does
    /// before anything is stored (every type masked: `[EMAIL]`, `[SECRET]`, …).
    Redact {
        /// Read JSON lines `{"id","text"}` and write `{"id","entities":[{"start","end","type"}]}`
        /// (offsets in Unicode code points) instead, e.g. to score the detectors.
        #[arg(long)]
        jsonl: bool,
    },
    /// Gate a release: rules over two experiment runs or two releases' live
    /// traffic, decided on bootstrap confidence intervals. Exit 0 pass, 1 a
    /// rule failed, 2 could not evaluate. See docs/ci.md.
    Gate(glassbox_gate::GateArgs),
    /// Experiments: run a candidate over a golden dataset with evaluators
    /// (rules, LLM judges), write and store the run; list, pull and compare runs.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Golden datasets: check one, convert JSONL ⇄ CSV, store and fetch versions
    /// on the server, make one from production traces.
    #[command(subcommand)]
    Dataset(eval::DatasetCommand),
    /// Verify the tamper-evident audit trail, export it for auditors.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Create, list and revoke API keys (project + role). Authentication is on
    /// once any key exists; create the first with `keys create --project default --role admin`.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Send OTLP files (NNNN.traces.pb, *.logs.json, …) to a running server, in name order.
    Import {
        /// Files or directories (searched recursively).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The server's OTLP/HTTP endpoint.
        #[arg(
            long,
            env = "OTEL_EXPORTER_OTLP_ENDPOINT",
            default_value = "http://127.0.0.1:4318"
        )]
        endpoint: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GLASSBOX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Gate(args) = cli.command {
        return glassbox_gate::run(args);
    }
    if let Command::Eval(cmd) = cli.command {
        return eval::run(cmd);
    }
    if let Command::Dataset(cmd) = cli.command {
        return eval::dataset(cmd);
    }
    if let Command::Redact { jsonl } = cli.command {
        return match redact(jsonl) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    // Offline and synchronous, with exit codes of its own (0 intact, 1 tampered, 2 unverifiable).
    if let Command::Audit(cmd) = cli.command {
        return match audit::run(cmd) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Keys(cmd) = cli.command {
        return match keys::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let running = glassbox_server::start(config(args)?).await?;
            serve_until_interrupted(running).await
        }
        Command::Demo {
            endpoint: Some(endpoint),
            runs,
            seed,
            ..
        } => demo(&endpoint, runs, seed).await,
        Command::Demo {
            endpoint: None,
            runs,
            seed,
            serve,
        } => {
            let running = glassbox_server::start(config(serve)?).await?;
            let url = format!("http://{}", running.http_addr);
            demo(&url, runs, seed).await?;
            eprintln!(
                "Open {url}/traces and {url}/dashboards in a browser. Ctrl-C stops the server."
            );
            serve_until_interrupted(running).await
        }
        Command::Import { paths, endpoint } => import(&paths, &endpoint).await,
        Command::Audit(_)
        | Command::Redact { .. }
        | Command::Keys(_)
        | Command::Gate(_)
        | Command::Eval(_)
        | Command::Dataset(_) => {
            unreachable!("handled before the runtime starts")
        }
    }
}

fn redact(jsonl: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, Read, Write};
    let detector = glassbox_redact::Detector::new();
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    if jsonl {
        glassbox_redact::run_jsonl(&detector, stdin, &mut stdout)?;
    } else {
        let policy = glassbox_redact::Policy::default();
        // Line by line, so a long stream is redacted as it arrives.
        let mut reader = std::io::BufReader::new(stdin);
        let mut line = String::new();
        loop {
            line.clear();
            let mut raw = Vec::new();
            if reader.read_until(b'\n', &mut raw)? == 0 {
                break;
            }
            raw.as_slice()
                .read_to_string(&mut line)
                .context("stdin is not UTF-8 text")?;
            let out = glassbox_redact::redact(&detector, &policy, &line);
            stdout.write_all(out.text.as_deref().unwrap_or("[REDACTED]\n").as_bytes())?;
        }
    }
    stdout.flush()?;
    Ok(())
}

fn config(args: ServeArgs) -> anyhow::Result<glassbox_server::Config> {
    let mut cfg = match &args.config {
        Some(path) => glassbox_server::Config::from_file(path)?,
        None => glassbox_server::Config::default(),
    };
    if let Some(d) = args.data_dir {
        cfg.data_dir = d;
    }
    if let Some(a) = args.http {
        cfg.http = a;
    }
    if let Some(a) = args.grpc {
        cfg.grpc = a;
    }
    if let Some(f) = args.tls_cert {
        cfg.tls.cert = Some(f);
    }
    if let Some(f) = args.tls_key {
        cfg.tls.key = Some(f);
    }
    if let Some(f) = args.tls_client_ca {
        cfg.tls.client_ca = Some(f);
    }
    if args.insecure_listen {
        cfg.insecure_listen = true;
    }
    Ok(cfg)
}

async fn serve_until_interrupted(running: glassbox_server::Running) -> anyhow::Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

async fn demo(endpoint: &str, runs: usize, seed: u64) -> anyhow::Result<()> {
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_nanos();
    let now = u64::try_from(now).context("the system clock is past 2554")?;
    let workload = glassbox_demo::generate(now, runs, seed);
    let e = &workload.expected;
    eprintln!(
        "demo: sending {} agent runs ({} spans, {} model calls) to {endpoint}",
        e.traces, e.spans, e.llm_calls
    );
    glassbox_demo::send(endpoint, &workload, |sent, total| {
        eprint!("\rdemo: {sent}/{total} requests accepted");
    })
    .await?;
    eprintln!();
    Ok(())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            collect(&e, out)?;
        }
    } else if signal_of(path).is_some() {
        out.push(path.to_path_buf());
    }
    Ok(())
}

/// `0001.traces.pb` → ("traces", "application/x-protobuf").
fn signal_of(path: &Path) -> Option<(&'static str, &'static str)> {
    let name = path.file_name()?.to_str()?;
    let ct = if name.ends_with(".pb") {
        "application/x-protobuf"
    } else if name.ends_with(".json") && name != "manifest.json" {
        "application/json"
    } else {
        return None;
    };
    ["traces", "metrics", "logs"]
        .into_iter()
        .find(|s| name.contains(&format!(".{s}.")))
        .map(|s| (s, ct))
}

async fn import(paths: &[PathBuf], endpoint: &str) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            bail!("{} does not exist", p.display());
        }
        collect(p, &mut files)?;
    }
    if files.is_empty() {
        bail!("no OTLP files (NNNN.traces.pb, *.logs.json, …) under the given paths");
    }
    let client = reqwest::Client::new();
    let base = endpoint.trim_end_matches('/');
    for (i, f) in files.iter().enumerate() {
        let Some((signal, ct)) = signal_of(f) else {
            continue;
        };
        let body = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let resp = client
            .post(format!("{base}/v1/{signal}"))
            .header("content-type", ct)
            .body(body)
            .send()
            .await
            .with_context(|| {
                format!(
                    "sending {} to {base}; is `glassbox serve` running?",
                    f.display()
                )
            })?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            bail!("{}: server answered {status}: {text}", f.display());
        }
        eprintln!("[{}/{}] {} → /v1/{signal}", i + 1, files.len(), f.display());
    }
    Ok(())
}
