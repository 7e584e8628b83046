//! The `glassbox` command line: wires the crates; no logic of its own.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

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
    glassbox serve                              store in ./glassbox-data, OTLP on :4317/:4318
    glassbox serve --data-dir /var/lib/glassbox --http 0.0.0.0:4318
    glassbox import ../shared/fixtures/otlp     replay captured OTLP files into a running server

Point an agent at it:
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: OTLP receivers, the store and the query API.
    Serve {
        /// Where the embedded store keeps its files [default: ./glassbox-data].
        #[arg(long, env = "GLASSBOX_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// OTLP/HTTP and query API listen address [default: 127.0.0.1:4318].
        #[arg(long, env = "GLASSBOX_HTTP", value_name = "ADDR")]
        http: Option<SocketAddr>,
        /// OTLP/gRPC listen address [default: 127.0.0.1:4317].
        #[arg(long, env = "GLASSBOX_GRPC", value_name = "ADDR")]
        grpc: Option<SocketAddr>,
        /// A glassbox.toml; flags and environment variables override it.
        #[arg(long, env = "GLASSBOX_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
    },
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
        Command::Serve {
            data_dir,
            http,
            grpc,
            config,
        } => {
            let mut cfg = match &config {
                Some(path) => glassbox_server::Config::from_file(path)?,
                None => glassbox_server::Config::default(),
            };
            if let Some(d) = data_dir {
                cfg.data_dir = d;
            }
            if let Some(a) = http {
                cfg.http = a;
            }
            if let Some(a) = grpc {
                cfg.grpc = a;
            }
            let running = glassbox_server::start(cfg).await?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {
                    tracing::info!("shutting down");
                    running.shutdown().await;
                }
            }
            Ok(())
        }
        Command::Import { paths, endpoint } => import(&paths, &endpoint).await,
    }
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
