//! The running server: OTLP receivers feed the pipeline, the pipeline feeds
//! the store, and the query API reads it back, on one HTTP port and one gRPC
//! port. This crate only wires; each stage lives in its own crate.

mod api;
pub mod config;
mod sink;

use std::net::SocketAddr;
use std::sync::Arc;

use glassbox_ingest::receivers::{self, ReceiverLimits};
use glassbox_pipeline::Pipeline;
use glassbox_store::sqlite::SqliteStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::Config;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
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
}

/// A started server. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
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
    let prices = config.price_table()?;
    let price_table_version = prices.version().to_owned();
    let store = Arc::new(SqliteStore::open(&config.data_dir)?);
    let pipeline = Arc::new(Pipeline::new(prices));
    let sink = Arc::new(sink::StoreSink::new(
        store.clone(),
        pipeline,
        config.ingest_buffer_bytes,
    ));
    let limits = ReceiverLimits {
        max_message_bytes: config.max_message_bytes,
    };

    let (http, http_addr) = bind("http", config.http).await?;
    let (grpc, grpc_addr) = bind("grpc", config.grpc).await?;

    let (stop, stopped) = watch::channel(false);
    let app = receivers::http::router(sink.clone(), limits)
        .merge(api::router(store.clone()))
        .merge(glassbox_ui::router(store.clone()))
        .layer(tower_http::trace::TraceLayer::new_for_http());
    let mut http_stop = stopped.clone();
    let http_task = tokio::spawn(async move {
        let served = axum::serve(http, app.into_make_service())
            .with_graceful_shutdown(async move {
                let _ = http_stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
    let mut grpc_stop = stopped;
    let routes = receivers::grpc::routes(sink, limits);
    let grpc_task = tokio::spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(grpc);
        let served = tonic::transport::Server::builder()
            .add_routes(routes)
            .serve_with_incoming_shutdown(incoming, async move {
                let _ = grpc_stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "gRPC server failed");
        }
    });
    tracing::info!(
        "UI, API and OTLP/HTTP on http://{http_addr}  (OTEL_EXPORTER_OTLP_ENDPOINT=http://{http_addr} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)"
    );
    tracing::info!(
        "OTLP/gRPC on {grpc_addr}  (OTEL_EXPORTER_OTLP_ENDPOINT=http://{grpc_addr} OTEL_EXPORTER_OTLP_PROTOCOL=grpc)"
    );
    tracing::info!(data_dir = %config.data_dir.display(), price_table = %price_table_version, "store ready");
    Ok(Running {
        http_addr,
        grpc_addr,
        stop,
        tasks: vec![http_task, grpc_task],
    })
}
