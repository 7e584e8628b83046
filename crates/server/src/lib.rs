//! The running server: OTLP receivers feed the pipeline, the pipeline feeds
//! the store, and the query API reads it back, on one HTTP port and one gRPC
//! port. This crate only wires; each stage lives in its own crate.

mod access;
mod api;
pub mod auth;
pub mod config;
mod evaluation;
mod experiments;
mod projects;
mod sink;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

use glassbox_ingest::receivers::{self, ReceiverLimits};
use glassbox_pipeline::Pipeline;
use glassbox_store::sqlite::StoreOptions;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use access::validate_new_key;
pub use config::Config;
pub use projects::dir_of as project_dir;
pub use tls::TlsError;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("[evaluation]: {0}")]
    Evaluation(String),
    #[error("could not open the store: {0}")]
    Store(#[from] glassbox_store::StoreError),
    #[error(
        "could not listen on {addr} ({what}): {source}; is another process using the port? Pick another with --{what}"
    )]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(
        "refusing to listen on {addr} (--{what}): no authentication is configured (no API keys exist), so anyone who can reach \
this address could read all stored telemetry (prompts, completions, tool inputs and outputs) and send data to it. \
Listen on loopback instead (--{what} 127.0.0.1:{port}), create an API key first (`glassbox keys create --project \
default --role admin`), require client certificates (--tls-client-ca with \
--tls-cert and --tls-key), or accept the risk with --insecure-listen (GLASSBOX_INSECURE_LISTEN=true), e.g. behind \
an authenticating reverse proxy", port = .addr.port()
    )]
    Exposed {
        what: &'static str,
        addr: SocketAddr,
    },
}

/// A started server. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    /// Both listeners speak TLS.
    pub tls: bool,
    tls_reloader: Option<Arc<tls::Reloader>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// The UI, API and OTLP/HTTP base URL: `http://…` or `https://…`.
    pub fn http_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.http_addr)
    }

    /// Re-reads the TLS certificate, key and client CA now (they are also
    /// polled for changes). New connections use them; on error the current
    /// ones stay. `Ok(false)`: TLS is off.
    pub fn reload_tls(&self) -> Result<bool, ServeError> {
        match &self.tls_reloader {
            Some(r) => r.reload().map(|()| true).map_err(ServeError::Tls),
            None => Ok(false),
        }
    }

    /// Stops accepting, finishes in-flight requests, and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn bind(
    what: &'static str,
    addr: SocketAddr,
) -> Result<(TcpListener, SocketAddr), ServeError> {
    let bound = async {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        Ok::<_, std::io::Error>((listener, local))
    };
    bound
        .await
        .map_err(|source| ServeError::Bind { what, addr, source })
}

/// Opens the store and starts both listeners.
pub async fn start(config: Config) -> Result<Running, ServeError> {
    let tls = tls::load(&config.tls)?;
    // Authentication is on when required or once any key exists (and stays on).
    let keys_exist = !glassbox_store::sqlite::keys::list_offline(&config.data_dir)?.is_empty();
    check_exposure(
        &config,
        tls.as_ref().is_some_and(|t| t.client_cert_required),
        config.auth.required || keys_exist,
    )?;
    let prices = config.price_table()?;
    let price_table_version = prices.version().to_owned();
    // One store per project (see projects.rs); the default project's holds the API keys.
    let projects = Arc::new(projects::Projects::open(
        &config.data_dir,
        match config.master_keys()? {
            Some((master_key, previous_master_keys)) => StoreOptions {
                master_key: Some(master_key),
                previous_master_keys,
            },
            None => StoreOptions::default(),
        },
    )?);
    let store = projects.default_project().store.clone();
    let auth = Arc::new(auth::Auth::new(
        store.clone(),
        config.auth.required,
        tls.is_some(),
    ));
    let policy = config.redaction_policy(store.encrypted())?;
    let redacting = policy.is_some();
    let pipeline = Arc::new(match policy {
        Some(p) => Pipeline::new(prices).with_redaction(p),
        None => Pipeline::new(prices),
    });
    let sink = Arc::new(sink::StoreSink::new(
        projects.clone(),
        pipeline,
        config.ingest_buffer_bytes,
    ));
    let limits = ReceiverLimits {
        max_message_bytes: config.max_message_bytes,
    };

    let (http, http_addr) = bind("http", config.http).await?;
    let (grpc, grpc_addr) = bind("grpc", config.grpc).await?;

    let (stop, stopped) = watch::channel(false);
    // Every request passes `auth::middleware` (who, and may they), then is
    // served by the receivers, the access routes, or its project's API and UI.
    let app = receivers::http::router(sink.clone(), limits)
        .merge(access::router(Arc::new(access::Shared {
            auth: auth.clone(),
            projects: projects.clone(),
        })))
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            auth::middleware,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let reloader = tls.as_ref().map(|t| tls::Reloader::new(&config.tls, t));
    if let Some(r) = &reloader {
        tokio::spawn(r.clone().watch(stopped.clone()));
    }
    let http_task = serve_http(
        http,
        http_addr,
        app,
        reloader.as_ref().map(|r| r.http.subscribe()),
        stopped.clone(),
    );
    let routes = receivers::grpc::routes(sink.clone(), limits);
    let grpc_task = serve_grpc(
        grpc,
        routes,
        auth.clone(),
        reloader.as_ref().map(|r| r.grpc.subscribe()),
        stopped,
    );
    let mut tasks = vec![http_task, grpc_task];
    if config.retention.days.is_some() || !config.retention.projects.is_empty() {
        tasks.push(tokio::spawn(retention_loop(
            projects.clone(),
            config.retention.clone(),
            stop.subscribe(),
        )));
    }
    if !config.evaluation.rules.is_empty() || !config.evaluation.judges.is_empty() {
        let online = evaluation::Online::new(&config.evaluation, projects.clone(), sink.clone())
            .map_err(ServeError::Evaluation)?;
        tasks.push(tokio::spawn(online.run(stop.subscribe())));
    }
    let (scheme, hint) = endpoint_hint(&config.tls, tls.is_some());
    tracing::info!(
        "UI, API and OTLP/HTTP on {scheme}://{http_addr}  (OTEL_EXPORTER_OTLP_ENDPOINT={scheme}://{http_addr} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf{hint})"
    );
    tracing::info!(
        "OTLP/gRPC on {grpc_addr}  (OTEL_EXPORTER_OTLP_ENDPOINT={scheme}://{grpc_addr} OTEL_EXPORTER_OTLP_PROTOCOL=grpc{hint})"
    );
    // The policies in force are part of the record an auditor reads.
    store
        .record(
            "config",
            serde_json::json!({
                "event": "server started",
                "version": env!("CARGO_PKG_VERSION"),
                "price_table": price_table_version,
                "encrypted_at_rest": store.encrypted(),
                "redaction": if redacting { serde_json::to_value(&config.redaction).unwrap_or_default() } else { serde_json::Value::Bool(false) },
                "tls": config.tls.cert.is_some(),
                "client_certificates": config.tls.client_ca.is_some(),
                "insecure_listen": config.insecure_listen,
                "authentication": auth.enabled(),
            }),
        )
        .await?;
    tracing::info!(
        data_dir = %config.data_dir.display(),
        price_table = %price_table_version,
        encrypted_at_rest = store.encrypted(),
        redaction = redacting,
        "store ready"
    );
    Ok(Running {
        http_addr,
        grpc_addr,
        tls: tls.is_some(),
        tls_reloader: reloader,
        stop,
        tasks,
    })
}

/// Erases what each project's retention says is too old, every interval.
async fn retention_loop(
    projects: Arc<projects::Projects>,
    retention: config::RetentionConfig,
    mut stop: watch::Receiver<bool>,
) {
    let every = std::time::Duration::from_secs(retention.interval_secs.max(1));
    loop {
        for p in projects.all().await {
            let Some(days) = retention.days_for(&p.name) else {
                continue;
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
            let cutoff = now.saturating_sub(days.saturating_mul(86_400_000_000_000));
            match p
                .store
                .erase(glassbox_store::sqlite::erase::Selector::Before(cutoff))
                .await
            {
                Ok(r) if r.traces > 0 || r.logs > 0 || r.metric_points > 0 => tracing::info!(
                    project = %p.name, days, traces = r.traces, spans = r.spans, logs = r.logs,
                    "retention erased old data"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(project = %p.name, error = %e, "retention sweep failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// Without authentication, only loopback: refuse (or, with `insecure_listen`, warn about)
/// any other address. API keys and required client certificates are authentication.
fn check_exposure(
    config: &Config,
    client_cert_required: bool,
    api_keys: bool,
) -> Result<(), ServeError> {
    if client_cert_required || api_keys {
        return Ok(());
    }
    for (what, addr) in [("http", config.http), ("grpc", config.grpc)] {
        if addr.ip().to_canonical().is_loopback() {
            continue;
        }
        if !config.insecure_listen {
            return Err(ServeError::Exposed { what, addr });
        }
        tracing::warn!(
            "listening on {addr} (--{what}) without authentication (--insecure-listen): anyone who can reach it can read all telemetry"
        );
    }
    Ok(())
}

/// The scheme, and the exporter settings TLS needs, for the startup log lines.
fn endpoint_hint(config: &config::TlsConfig, tls: bool) -> (&'static str, String) {
    let Some(cert) = config.cert.as_ref().filter(|_| tls) else {
        return ("http", String::new());
    };
    let mut hint = format!(
        " OTEL_EXPORTER_OTLP_CERTIFICATE=<the CA certificate that issued {}>",
        cert.display()
    );
    if let Some(ca) = &config.client_ca {
        hint.push_str(&format!(
            " OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=<a client certificate issued by {}> OTEL_EXPORTER_OTLP_CLIENT_KEY=<its key>",
            ca.display()
        ));
    }
    ("https", hint)
}

fn serve_http(
    listener: TcpListener,
    local: SocketAddr,
    app: axum::Router,
    tls: Option<watch::Receiver<Arc<rustls::ServerConfig>>>,
    stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut stop = stopped.clone();
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::spawn(async move {
        let served = match tls {
            None => {
                axum::serve(listener, app.into_make_service())
                    .with_graceful_shutdown(shutdown)
                    .await
            }
            Some(tls) => {
                let rx = tls::spawn_acceptor("http", listener, tls, stopped);
                axum::serve(tls::HttpListener { rx, local }, app.into_make_service())
                    .with_graceful_shutdown(shutdown)
                    .await
            }
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    })
}

fn serve_grpc(
    listener: TcpListener,
    routes: tonic::service::Routes,
    auth: Arc<auth::Auth>,
    tls: Option<watch::Receiver<Arc<rustls::ServerConfig>>>,
    stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut stop = stopped.clone();
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    tokio::spawn(async move {
        let server = tonic::transport::Server::builder()
            .layer(tonic::service::InterceptorLayer::new(
                auth::grpc_interceptor(auth),
            ))
            .add_routes(routes);
        let served = match tls {
            None => {
                let incoming = tonic::transport::server::TcpIncoming::from(listener);
                server
                    .serve_with_incoming_shutdown(incoming, shutdown)
                    .await
            }
            Some(tls) => {
                let rx = tls::spawn_acceptor("grpc", listener, tls, stopped);
                server
                    .serve_with_incoming_shutdown(tls::grpc_incoming(rx), shutdown)
                    .await
            }
        };
        if let Err(e) = served {
            tracing::error!(error = %e, "gRPC server failed");
        }
    })
}
