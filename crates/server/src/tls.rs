//! TLS (and mutual TLS) for both listeners, with rustls.
//!
//! One acceptor serves both: a task accepts TCP connections and runs each TLS
//! handshake in its own task (bounded by a timeout, so a slow or silent client
//! cannot hold up the others), then hands finished streams to axum (as a
//! [`axum::serve::Listener`]) or to tonic (as an incoming stream). Graceful
//! shutdown stays with axum and tonic; the acceptor stops with them.
//!
//! Certificates are reloaded without a restart: every [`RELOAD_POLL`] the
//! files are re-read, and when they changed and load cleanly, new handshakes
//! use them (a broken renewal is logged and the current certificate kept).
//!
//! The crypto provider (aws-lc-rs) is passed explicitly to every rustls
//! builder, so nothing depends on a process-wide default provider.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tonic::transport::server::Connected;

use crate::config::{ClientAuth, TlsConfig};

/// A handshake that has not finished by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the certificate, key and client CA files are checked for changes.
pub(crate) const RELOAD_POLL: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "TLS needs both a certificate and a key: {given} is set but {missing} is not (set both, or neither to serve plain HTTP)"
    )]
    Incomplete {
        given: &'static str,
        missing: &'static str,
    },
    #[error(
        "{what} is set but TLS is not: client certificates need [tls] cert and key (--tls-cert, --tls-key)"
    )]
    ClientAuthWithoutTls { what: &'static str },
    #[error(
        "[tls] client_auth is set but client_ca is not: name the CA that signs client certificates (--tls-client-ca)"
    )]
    ClientAuthWithoutCa,
    #[error("TLS {what} {path}: {problem}")]
    File {
        what: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error("TLS certificate {cert} and key {key} cannot be used together: {problem}")]
    Identity {
        cert: PathBuf,
        key: PathBuf,
        problem: String,
    },
    #[error("TLS client CA {path}: {problem}")]
    ClientVerifier { path: PathBuf, problem: String },
}

/// What the listeners need: rustls configs for each (they differ only in ALPN).
#[derive(Clone)]
pub(crate) struct Tls {
    pub http: Arc<ServerConfig>,
    pub grpc: Arc<ServerConfig>,
    /// Clients must present a certificate signed by the configured CA.
    pub client_cert_required: bool,
}

impl TlsConfig {
    /// Whether any TLS setting is present.
    pub fn is_enabled(&self) -> bool {
        self.cert.is_some() || self.key.is_some()
    }
}

/// Loads and checks the certificate, key and client CA. `Ok(None)`: plain TCP.
pub(crate) fn load(config: &TlsConfig) -> Result<Option<Tls>, TlsError> {
    let (cert, key) = match (&config.cert, &config.key) {
        (None, None) => {
            return match (&config.client_ca, config.client_auth) {
                (Some(_), _) => Err(TlsError::ClientAuthWithoutTls {
                    what: "[tls] client_ca (--tls-client-ca)",
                }),
                (None, Some(_)) => Err(TlsError::ClientAuthWithoutTls {
                    what: "[tls] client_auth",
                }),
                (None, None) => Ok(None),
            };
        }
        (Some(_), None) => {
            return Err(TlsError::Incomplete {
                given: "the certificate ([tls] cert, --tls-cert)",
                missing: "the key ([tls] key, --tls-key)",
            });
        }
        (None, Some(_)) => {
            return Err(TlsError::Incomplete {
                given: "the key ([tls] key, --tls-key)",
                missing: "the certificate ([tls] cert, --tls-cert)",
            });
        }
        (Some(c), Some(k)) => (c, k),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let chain = read_certs("certificate", cert)?;
    let private_key = read_key(key)?;

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| identity_error(cert, key, e))?;
    let (builder, client_cert_required) = match &config.client_ca {
        None => {
            if config.client_auth.is_some() {
                return Err(TlsError::ClientAuthWithoutCa);
            }
            (builder.with_no_client_auth(), false)
        }
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs("client CA", ca)? {
                roots.add(c).map_err(|e| TlsError::ClientVerifier {
                    path: ca.clone(),
                    problem: format!("not a usable CA certificate: {e}"),
                })?;
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let mode = config.client_auth.unwrap_or(ClientAuth::Required);
            if mode == ClientAuth::Optional {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier.build().map_err(|e| TlsError::ClientVerifier {
                path: ca.clone(),
                problem: e.to_string(),
            })?;
            (
                builder.with_client_cert_verifier(verifier),
                mode == ClientAuth::Required,
            )
        }
    };
    let base = builder
        .with_single_cert(chain, private_key)
        .map_err(|e| identity_error(cert, key, e))?;
    // axum serves HTTP/1.1 here; tonic needs HTTP/2.
    let mut http = base.clone();
    http.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut grpc = base;
    grpc.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Some(Tls {
        http: Arc::new(http),
        grpc: Arc::new(grpc),
        client_cert_required,
    }))
}

fn identity_error(cert: &Path, key: &Path, e: rustls::Error) -> TlsError {
    let problem = match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            "the key does not belong to the certificate (the chain must start with the server's own certificate)".to_owned()
        }
        other => other.to_string(),
    };
    TlsError::Identity {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        problem,
    }
}

fn file_error(what: &'static str, path: &Path, problem: impl ToString) -> TlsError {
    TlsError::File {
        what,
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

fn pem_problem(e: rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::Io(e) => format!("cannot be read: {e}"),
        Error::NoItemsFound => "contains no PEM item of the expected kind".to_owned(),
        other => format!("is not valid PEM: {other:?}"),
    }
}

fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(what, path, pem_problem(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(what, path, pem_problem(e)))?;
    if certs.is_empty() {
        return Err(file_error(
            what,
            path,
            "contains no certificate (expected one or more PEM \"BEGIN CERTIFICATE\" blocks)",
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        let problem = match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "contains no private key (expected a PEM \"BEGIN PRIVATE KEY\", \"BEGIN RSA PRIVATE KEY\" or \"BEGIN EC PRIVATE KEY\" block)".to_owned()
            }
            other => pem_problem(other),
        };
        file_error("key", path, problem)
    })
}

/// The live rustls configs, swapped when the files change.
pub(crate) struct Reloader {
    config: TlsConfig,
    pub http: watch::Sender<Arc<ServerConfig>>,
    pub grpc: watch::Sender<Arc<ServerConfig>>,
    /// The files' contents when last looked at.
    seen: std::sync::Mutex<Vec<Option<Vec<u8>>>>,
}

impl Reloader {
    pub fn new(config: &TlsConfig, tls: &Tls) -> Arc<Reloader> {
        Arc::new(Reloader {
            config: config.clone(),
            http: watch::Sender::new(tls.http.clone()),
            grpc: watch::Sender::new(tls.grpc.clone()),
            seen: std::sync::Mutex::new(Self::snapshot(config)),
        })
    }

    fn snapshot(config: &TlsConfig) -> Vec<Option<Vec<u8>>> {
        [&config.cert, &config.key, &config.client_ca]
            .into_iter()
            .map(|p| p.as_ref().and_then(|p| std::fs::read(p).ok()))
            .collect()
    }

    /// Re-reads the files; on success new handshakes use them.
    pub fn reload(&self) -> Result<(), TlsError> {
        let snapshot = Self::snapshot(&self.config);
        let tls = load(&self.config)?.ok_or(TlsError::Incomplete {
            given: "nothing",
            missing: "[tls] cert and key",
        })?;
        self.http.send_replace(tls.http);
        self.grpc.send_replace(tls.grpc);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = snapshot;
        }
        Ok(())
    }

    /// Polls the files until `stop`, reloading when they change.
    pub async fn watch(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(RELOAD_POLL);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            let now = Self::snapshot(&self.config);
            let changed = match self.seen.lock() {
                Ok(mut seen) if *seen != now => {
                    *seen = now;
                    true
                }
                _ => false,
            };
            if !changed {
                continue;
            }
            match self.reload() {
                Ok(()) => tracing::info!("TLS certificate files changed: reloaded"),
                Err(e) => tracing::warn!(
                    error = %e,
                    "TLS certificate files changed but cannot be used; keeping the current certificate"
                ),
            }
        }
    }
}

/// Accepts TCP connections and completes TLS handshakes off the accept path,
/// each with the config current when it arrived. The task ends when `stop`
/// fires or the receiver is dropped.
pub(crate) fn spawn_acceptor(
    what: &'static str,
    tcp: TcpListener,
    config: watch::Receiver<Arc<ServerConfig>>,
    mut stop: watch::Receiver<bool>,
) -> mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                r = tcp.accept() => r,
                _ = tx.closed() => return,
                _ = stop.wait_for(|s| *s) => return,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // As axum does: per-connection errors are not the listener's.
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                    ) {
                        tracing::error!(listener = what, error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            };
            let acceptor = TlsAcceptor::from(config.borrow().clone());
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send((tls, peer)).await;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(listener = what, %peer, error = %e, "TLS handshake failed");
                    }
                    Err(_) => {
                        tracing::debug!(listener = what, %peer, "TLS handshake timed out");
                    }
                }
            });
        }
    });
    rx
}

/// The HTTP listener: TLS streams for `axum::serve`.
pub(crate) struct HttpListener {
    pub rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    pub local: SocketAddr,
}

impl axum::serve::Listener for HttpListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The acceptor stopped (shutdown): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The gRPC listener's incoming connections, for tonic.
pub(crate) fn grpc_incoming(
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
) -> impl tokio_stream::Stream<Item = Result<GrpcStream, io::Error>> {
    use tokio_stream::StreamExt;
    tokio_stream::wrappers::ReceiverStream::new(rx).map(|(s, _)| Ok(GrpcStream(s)))
}

/// A TLS stream tonic can serve (it needs [`tonic::transport::server::Connected`]).
pub(crate) struct GrpcStream(TlsStream<TcpStream>);

impl Connected for GrpcStream {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.0.get_ref().0.connect_info()
    }
}

impl AsyncRead for GrpcStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for GrpcStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
