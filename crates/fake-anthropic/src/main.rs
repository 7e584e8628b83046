//! `glassbox-fake-anthropic`: the fake Anthropic API as a process, for scripts and agents in
//! other languages. Prints `listening on http://ADDR` once it accepts connections.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use glassbox_fake_anthropic::{FakeAnthropic, Options};

/// A deterministic fake of the Anthropic Messages API (and an OpenAI-compatible
/// /v1/chat/completions) for tests. Point ANTHROPIC_BASE_URL at the printed address.
///
/// Control endpoints: `POST /_fake/fail {"status":529,"count":2}` makes the next two model
/// requests fail; `GET /_fake/requests` lists the bodies received.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Delay before each answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Smallest prefix, in tokens, that prompt caching stores.
    #[arg(long, default_value_t = 1024)]
    min_cacheable_tokens: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let opts = Options {
        listen: args.listen,
        latency: Duration::from_millis(args.latency_ms),
        min_cacheable_tokens: args.min_cacheable_tokens,
        ..Options::default()
    };
    let fake = match FakeAnthropic::start(opts).await {
        Ok(fake) => fake,
        Err(error) => {
            eprintln!(
                "glassbox-fake-anthropic: cannot listen on {}: {error}",
                args.listen
            );
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    // Callers wait for this line to learn the port, so it must not sit in a buffer.
    if writeln!(stdout, "listening on {}", fake.base_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    match tokio::signal::ctrl_c().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("glassbox-fake-anthropic: cannot wait for a signal: {error}");
            // Without signal handling, serve until killed.
            std::future::pending::<()>().await;
            ExitCode::FAILURE
        }
    }
}
