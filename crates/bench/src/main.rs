//! `glassbox-bench`: measures Glassbox as a user runs it — the release binary
//! in its own process, fed over real OTLP by concurrent exporters — and can
//! feed the same generated corpus to a peer (see docs/benchmarks.md).

mod corpus;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    about = "Glassbox benchmarks: ingestion throughput, size at rest, CPU, memory, query latency"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Transport {
    Http,
    Grpc,
}

#[derive(Subcommand)]
enum Cmd {
    /// Ingest a generated corpus into a fresh `glassbox serve` and report throughput and cost per span.
    Ingest {
        #[arg(long, default_value = "target/release/glassbox")]
        binary: PathBuf,
        #[arg(long, default_value_t = 200_000)]
        spans: usize,
        #[arg(long, value_enum, default_value = "http")]
        transport: Transport,
        #[arg(long, default_value_t = 4)]
        exporters: usize,
        /// Keep the store here (default: a temporary directory, removed at the end).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// After ingesting, time the three API calls this many times each.
        #[arg(long, default_value_t = 0)]
        query_runs: usize,
    },
    /// Time the three API calls against an existing store (e.g. one left by `ingest --data-dir`).
    Query {
        #[arg(long, default_value = "target/release/glassbox")]
        binary: PathBuf,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Time the UI's pages against an existing store, after adding one 2,000-span trace.
    Ui {
        #[arg(long, default_value = "target/release/glassbox")]
        binary: PathBuf,
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Write the corpus as OTLP/protobuf files (for feeding a peer).
    Corpus {
        #[arg(long, default_value_t = 10_000)]
        spans: usize,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match cli.command {
        Cmd::Ingest {
            binary,
            spans,
            transport,
            exporters,
            data_dir,
            query_runs,
        } => rt.block_on(ingest(
            &binary, spans, transport, exporters, data_dir, query_runs,
        )),
        Cmd::Query {
            binary,
            data_dir,
            runs,
        } => rt.block_on(async {
            let server = spawn(&binary, &data_dir)?;
            let client = reqwest::Client::new();
            let page: serde_json::Value = client
                .get(format!("{}/api/v1/traces?limit=1", server.http))
                .send()
                .await?
                .json()
                .await?;
            let trace = page["traces"][0]["trace_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let result = time_api_calls(&server, &trace, runs).await;
            stop(server);
            result
        }),
        Cmd::Ui {
            binary,
            data_dir,
            runs,
        } => rt.block_on(async {
            let server = spawn(&binary, &data_dir)?;
            let result = time_ui_pages(&server, runs).await;
            stop(server);
            result
        }),
        Cmd::Corpus { spans, out } => {
            let c = corpus::generate(spans, 42);
            std::fs::create_dir_all(&out)?;
            for (n, body) in c.requests.iter().enumerate() {
                std::fs::write(out.join(format!("{:05}.traces.pb", n + 1)), body)?;
            }
            println!(
                "wrote {} spans in {} requests to {}",
                c.spans,
                c.requests.len(),
                out.display()
            );
            Ok(())
        }
    }
}

struct Server {
    child: Child,
    http: String,
    grpc: String,
}

fn spawn(binary: &Path, dir: &Path) -> anyhow::Result<Server> {
    let mut child = Command::new(binary)
        .args([
            "serve",
            "--http",
            "127.0.0.1:0",
            "--grpc",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        .env("NO_COLOR", "1")
        .env("GLASSBOX_LOG", "warn,glassbox_server=info")
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (build it with `cargo build --release`)",
                binary.display()
            )
        })?;
    let stderr = child.stderr.take().context("stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            for (tag, prefix) in [("http", "on http://"), ("grpc", "OTLP/gRPC on ")] {
                if let Some(i) = line.find(prefix) {
                    let start = if tag == "http" {
                        i + 3
                    } else {
                        i + prefix.len()
                    };
                    let addr: String = line[start..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    let _ = tx.send((tag, addr));
                }
            }
        }
    });
    let (mut http, mut grpc) = (None, None);
    while http.is_none() || grpc.is_none() {
        let (tag, addr) = rx
            .recv_timeout(Duration::from_secs(30))
            .context("server did not print its addresses")?;
        if tag == "http" {
            http = Some(addr)
        } else {
            grpc = Some(format!("http://{addr}"))
        }
    }
    Ok(Server {
        child,
        http: http.unwrap_or_default(),
        grpc: grpc.unwrap_or_default(),
    })
}

/// (user+system CPU seconds, peak RSS bytes) of a process, from /proc.
fn proc_usage(pid: u32) -> anyhow::Result<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let hz: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let hwm_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((ticks / hz, hwm_kb * 1024))
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

async fn send_all(
    server: &Server,
    requests: Arc<Vec<Vec<u8>>>,
    transport: Transport,
    exporters: usize,
) -> anyhow::Result<()> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use prost::Message;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..exporters {
        let (next, requests) = (next.clone(), requests.clone());
        let http = reqwest::Client::new();
        let url = format!("{}/v1/traces", server.http);
        let grpc = if transport == Transport::Grpc {
            let ch = tonic::transport::Endpoint::from_shared(server.grpc.clone())?
                .connect()
                .await?;
            Some(TraceServiceClient::new(ch).max_encoding_message_size(64 << 20))
        } else {
            None
        };
        tasks.push(tokio::spawn(async move {
            let mut grpc = grpc;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = requests.get(n) else {
                    return Ok::<_, anyhow::Error>(());
                };
                // Retry on back-pressure, as OTLP exporters do.
                for attempt in 0.. {
                    let retry = match grpc.as_mut() {
                        Some(client) => {
                            let req = ExportTraceServiceRequest::decode(body.as_slice())?;
                            match client.export(req).await {
                                Ok(_) => false,
                                Err(s) if s.code() == tonic::Code::Unavailable => true,
                                Err(s) => bail!("export failed: {s}"),
                            }
                        }
                        None => {
                            let r = http
                                .post(&url)
                                .header("content-type", "application/x-protobuf")
                                .body(body.clone())
                                .send()
                                .await?;
                            match r.status().as_u16() {
                                200 => false,
                                429 | 503 => true,
                                s => bail!(
                                    "export failed: HTTP {s}: {}",
                                    r.text().await.unwrap_or_default()
                                ),
                            }
                        }
                    };
                    if !retry {
                        break;
                    }
                    if attempt > 1000 {
                        bail!("server refused for too long");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn time_get(
    client: &reqwest::Client,
    url: &str,
    runs: usize,
) -> anyhow::Result<(f64, f64, usize)> {
    let mut ms = Vec::new();
    let mut bytes = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let r = client.get(url).send().await?;
        if !r.status().is_success() {
            bail!("{url}: {}", r.status());
        }
        bytes = r.bytes().await?.len();
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[ms.len() / 2], ms[ms.len() - 1], bytes))
}

/// The three API calls of the issue-2 goal: a whole trace, 50 latest with a filter, per-model percentiles.
async fn time_api_calls(server: &Server, trace_id: &str, runs: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for (label, path) in [
        ("one whole trace", format!("/api/v1/traces/{trace_id}")),
        (
            "50 latest traces, filtered",
            "/api/v1/traces?limit=50&model=claude-opus-4-6".to_owned(),
        ),
        (
            "per-model p50/p95/p99 + sums",
            "/api/v1/metrics?group_by=model".to_owned(),
        ),
    ] {
        let (p50, max, bytes) = time_get(&client, &format!("{}{path}", server.http), runs).await?;
        println!("GET {label:<30} median {p50:>8.2} ms   max {max:>8.2} ms   ({bytes} bytes)");
    }
    Ok(())
}

/// Server-side render time of the UI's pages, seen from a client on loopback.
async fn time_ui_pages(server: &Server, runs: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let (big, body) = corpus::big_trace(2000, 7);
    let r = client
        .post(format!("{}/v1/traces", server.http))
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("storing the 2,000-span trace: {}", r.status());
    }
    let traces: serde_json::Value = client
        .get(format!("{}/api/v1/metrics", server.http))
        .send()
        .await?
        .json()
        .await?;
    println!(
        "store: {} spans in {} traces",
        traces["total"]["spans"], traces["total"]["traces"]
    );
    for (label, path) in [
        ("trace list (50 newest)", "/traces".to_owned()),
        (
            "trace list, model filter",
            "/traces?model=claude-opus-4-6".to_owned(),
        ),
        ("trace list, sorted by cost", "/traces?sort=cost".to_owned()),
        ("2,000-span trace", format!("/traces/{big}")),
        ("span panel (fragment)", {
            let t: serde_json::Value = client
                .get(format!("{}/api/v1/traces/{big}", server.http))
                .send()
                .await?
                .json()
                .await?;
            let span = t["spans"][1]["span_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            format!("/traces/{big}/spans/{span}")
        }),
        ("dashboards", "/dashboards".to_owned()),
    ] {
        let (p50, max, bytes) = time_get(&client, &format!("{}{path}", server.http), runs).await?;
        println!("GET {label:<28} median {p50:>8.2} ms   max {max:>8.2} ms   ({bytes} bytes)");
    }
    Ok(())
}

/// SIGINT, then wait: a graceful stop checkpoints the WAL.
fn stop(server: Server) {
    let mut child = server.child;
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

async fn ingest(
    binary: &Path,
    spans: usize,
    transport: Transport,
    exporters: usize,
    data_dir: Option<PathBuf>,
    query_runs: usize,
) -> anyhow::Result<()> {
    eprintln!("generating {spans} spans…");
    let corpus = corpus::generate(spans, 42);
    let otlp_bytes: usize = corpus.requests.iter().map(Vec::len).sum();
    // A store in a temporary directory is removed at the end; one the user named is kept.
    let (dir, temporary) = match data_dir {
        Some(d) => (d, false),
        None => {
            let tmp = std::env::temp_dir().join(format!("glassbox-bench-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            (tmp, true)
        }
    };
    let server = spawn(binary, &dir)?;
    let pid = server.child.id();
    let (cpu0, _) = proc_usage(pid)?;
    let requests = Arc::new(corpus.requests);
    eprintln!(
        "sending {} requests over {} with {exporters} exporters…",
        requests.len(),
        if transport == Transport::Http {
            "OTLP/HTTP protobuf"
        } else {
            "OTLP/gRPC"
        }
    );
    let t = Instant::now();
    send_all(&server, requests.clone(), transport, exporters).await?;
    let secs = t.elapsed().as_secs_f64();
    let (cpu1, peak) = proc_usage(pid)?;
    let n = corpus.spans as f64;
    println!("spans                 {}", corpus.spans);
    println!("OTLP bytes per span   {:.0}", otlp_bytes as f64 / n);
    println!("wall time             {secs:.2} s");
    println!("throughput (durable)  {:.0} spans/s", n / secs);
    println!("server CPU per span   {:.3} ms", (cpu1 - cpu0) * 1e3 / n);
    println!(
        "server peak RSS       {:.0} MiB",
        peak as f64 / (1 << 20) as f64
    );
    if query_runs > 0 {
        let client = reqwest::Client::new();
        let mid = &corpus.trace_ids[corpus.trace_ids.len() / 2];
        for (label, path) in [
            ("one whole trace", format!("/api/v1/traces/{mid}")),
            (
                "50 latest traces, filtered",
                "/api/v1/traces?limit=50&model=claude-opus-4-6".to_owned(),
            ),
            (
                "per-model p50/p95/p99 + sums",
                "/api/v1/metrics?group_by=model".to_owned(),
            ),
        ] {
            let (p50, max, bytes) =
                time_get(&client, &format!("{}{path}", server.http), query_runs).await?;
            println!("GET {label:<30} median {p50:>8.2} ms   max {max:>8.2} ms   ({bytes} bytes)");
        }
    }
    // Stop gracefully so the size on disk is the checkpointed database.
    let mut child = server.child;
    let _ = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let _ = child.wait();
    let disk = dir_size(&dir);
    println!(
        "bytes at rest per span {:.0}  (total {:.1} MiB)",
        disk as f64 / n,
        disk as f64 / (1 << 20) as f64
    );
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}
