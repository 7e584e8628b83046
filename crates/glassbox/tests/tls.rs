//! TLS and mutual TLS on both listeners, checked with real clients: `curl` for
//! OTLP/HTTP and the API, a tonic OTLP client for gRPC. Certificates are made
//! at test time with rcgen. Also the loopback-only default (`insecure_listen`)
//! and the errors a bad `[tls]` config gives.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use glassbox_server::config::{ClientAuth, TlsConfig};
use glassbox_server::{Config, ServeError};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::Span;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

// ---------------------------------------------------------------- certificates

/// PEM files for a CA, a server certificate (localhost, 127.0.0.1) and a client
/// certificate signed by it, and a client certificate from an unrelated CA.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca_pem, ca) = new_ca("Glassbox test CA");
        let (_, other_ca) = new_ca("Some other CA");
        let (server_pem, server_key) = leaf(
            &ca,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_pem, client_key) = leaf(&ca, &[], ExtendedKeyUsagePurpose::ClientAuth);
        let (other_pem, other_key) = leaf(&other_ca, &[], ExtendedKeyUsagePurpose::ClientAuth);
        for (name, text) in [
            ("ca.pem", ca_pem),
            ("server.pem", server_pem),
            ("server.key", server_key),
            ("client.pem", client_pem),
            ("client.key", client_key),
            ("other-client.pem", other_pem),
            ("other-client.key", other_key),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    fn tls(&self, client_ca: bool) -> TlsConfig {
        TlsConfig {
            cert: Some(self.path("server.pem")),
            key: Some(self.path("server.key")),
            client_ca: client_ca.then(|| self.path("ca.pem")),
            client_auth: None,
        }
    }
}

fn new_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

fn leaf(
    ca: &Issuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("agent"),
    );
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![usage];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

// ---------------------------------------------------------------- clients

struct Curl {
    code: Option<i32>,
    status: Option<u16>,
    body: String,
    stderr: String,
}

/// Runs curl (off the async workers) and splits the status line off the body.
async fn curl(args: Vec<String>) -> Curl {
    let out: Output = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-sS", "--max-time", "15", "-w", "\n%{http_code}"])
            .args(&args)
            .output()
            .expect("curl is installed")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    Curl {
        code: out.status.code(),
        status: status.trim().parse().ok().filter(|s| *s != 0),
        body: body.to_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// curl arguments trusting the test CA, and presenting `client` (`client` or `other-client`).
fn curl_tls(pki: &Pki, client: Option<&str>) -> Vec<String> {
    let mut a = vec!["--cacert".into(), s(&pki.path("ca.pem"))];
    if let Some(c) = client {
        a.push("--cert".into());
        a.push(s(&pki.path(&format!("{c}.pem"))));
        a.push("--key".into());
        a.push(s(&pki.path(&format!("{c}.key"))));
    }
    a
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// An OTLP/JSON trace export with one span.
fn otlp_json(trace_id: &str, name: &str) -> String {
    let end = now_nanos();
    let start = end - 1_000_000;
    serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "tls-test"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": trace_id, "spanId": "0102030405060708", "name": name, "kind": 1,
            "startTimeUnixNano": start.to_string(), "endTimeUnixNano": end.to_string()
        }]}]
    }]})
    .to_string()
}

async fn post_traces(base: &str, pki: &Pki, client: Option<&str>, trace_id: &str) -> Curl {
    let mut a = curl_tls(pki, client);
    a.extend([
        "-H".into(),
        "content-type: application/json".into(),
        "--data-binary".into(),
        otlp_json(trace_id, "curl-export"),
        format!("{base}/v1/traces"),
    ]);
    curl(a).await
}

/// A gRPC OTLP client over TLS, trusting the test CA, with an optional client identity.
async fn grpc_export(
    addr: std::net::SocketAddr,
    pki: &Pki,
    client: Option<&str>,
    trace_id: [u8; 16],
) -> Result<(), String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pki.read("ca.pem")))
        .domain_name("localhost");
    if let Some(c) = client {
        tls = tls.identity(Identity::from_pem(
            pki.read(&format!("{c}.pem")),
            pki.read(&format!("{c}.key")),
        ));
    }
    let channel = Endpoint::from_shared(format!("https://127.0.0.1:{}", addr.port()))
        .unwrap()
        .tls_config(tls)
        .map_err(|e| format!("tls config: {e}"))?
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(15))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let end = now_nanos();
    let span = Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![9, 8, 7, 6, 5, 4, 3, 2],
        name: "grpc-export".into(),
        kind: 1,
        start_time_unix_nano: end - 1_000_000,
        end_time_unix_nano: end,
        ..Default::default()
    };
    TraceServiceClient::new(channel)
        .export(common::trace_request(vec![span]))
        .await
        .map(|_| ())
        .map_err(|e| format!("export: {e:?}"))
}

async fn start_tls(tls: TlsConfig) -> common::TestServer {
    common::start_in(tempfile::tempdir().unwrap(), |c| c.tls = tls).await
}

fn https(server: &common::TestServer) -> String {
    server.running.as_ref().unwrap().http_url()
}

/// `GET path` over HTTPS with a client certificate (when the server needs one).
async fn api_get(base: &str, pki: &Pki, client: Option<&str>, path: &str) -> Curl {
    let mut a = curl_tls(pki, client);
    a.push(format!("{base}{path}"));
    curl(a).await
}

// ---------------------------------------------------------------- tests

/// TLS without client certificates: curl and a tonic client export over TLS;
/// both traces come back from the API over HTTPS; plain HTTP and plain gRPC to
/// the TLS ports fail; an untrusted-CA client refuses the server.
#[tokio::test(flavor = "multi_thread")]
async fn tls_serves_otlp_http_grpc_and_the_api() {
    let pki = Pki::new();
    let server = start_tls(pki.tls(false)).await;
    let running = server.running.as_ref().unwrap();
    let base = https(&server);
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");

    let r = api_get(&base, &pki, None, "/healthz").await;
    assert_eq!(r.status, Some(200), "healthz over https: {}", r.stderr);

    let http_trace = "5b8efff798038103d269b633813fc60c";
    let r = post_traces(&base, &pki, None, http_trace).await;
    assert_eq!(r.status, Some(200), "{} {}", r.body, r.stderr);

    let grpc_trace = [0xab; 16];
    grpc_export(running.grpc_addr, &pki, None, grpc_trace)
        .await
        .expect("gRPC export over TLS");

    let r = api_get(&base, &pki, None, "/api/v1/traces").await;
    assert_eq!(r.status, Some(200), "{}", r.stderr);
    let list: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let ids: Vec<&str> = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["trace_id"].as_str())
        .collect();
    assert!(ids.contains(&http_trace), "{ids:?}");
    assert!(ids.contains(&hex(&grpc_trace).as_str()), "{ids:?}");
    let r = api_get(&base, &pki, None, &format!("/api/v1/traces/{http_trace}")).await;
    assert_eq!(r.status, Some(200));
    let trace: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(trace["spans"][0]["name"], "curl-export", "{trace}");

    // Plain HTTP to the TLS port: no answer.
    let r = curl(vec![format!("http://{}/healthz", running.http_addr)]).await;
    assert_ne!(r.code, Some(0), "plain HTTP must fail");
    assert_eq!(r.status, None);
    // Plain (h2c) gRPC to the TLS port: fails.
    let plain = async {
        let ch = Endpoint::from_shared(format!("http://{}", running.grpc_addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| e.to_string())?;
        TraceServiceClient::new(ch)
            .export(common::trace_request(vec![]))
            .await
            .map_err(|e| e.to_string())
    };
    assert!(plain.await.is_err(), "plain gRPC must fail");
    // A client that does not trust our CA refuses the server's certificate.
    let r = curl(vec![format!("{base}/healthz")]).await;
    assert_ne!(r.code, Some(0), "system roots must not trust the test CA");

    // Graceful shutdown still works, and closes the port.
    let http_addr = running.http_addr;
    tokio::time::timeout(Duration::from_secs(20), server.stop())
        .await
        .expect("shutdown finishes");
    assert!(tokio::net::TcpStream::connect(http_addr).await.is_err());
}

/// Mutual TLS: a client certificate from the configured CA is required on both
/// listeners; none, or one from another CA, is refused and stores nothing.
#[tokio::test(flavor = "multi_thread")]
async fn mtls_requires_a_client_certificate_from_the_ca() {
    let pki = Pki::new();
    let server = start_tls(pki.tls(true)).await;
    let running = server.running.as_ref().unwrap();
    let base = https(&server);

    // With the right client certificate: everything works.
    let r = api_get(&base, &pki, Some("client"), "/healthz").await;
    assert_eq!(r.status, Some(200), "{}", r.stderr);
    let ok_trace = "0af7651916cd43dd8448eb211c80319c";
    let r = post_traces(&base, &pki, Some("client"), ok_trace).await;
    assert_eq!(r.status, Some(200), "{} {}", r.body, r.stderr);
    grpc_export(running.grpc_addr, &pki, Some("client"), [0x11; 16])
        .await
        .expect("gRPC export with a client certificate");

    // Without one, or with one from another CA: refused, nothing stored.
    let refused = "ffffffffffffffffffffffffffffff01";
    for client in [None, Some("other-client")] {
        let r = post_traces(&base, &pki, client, refused).await;
        assert_ne!(r.code, Some(0), "{client:?}: curl must fail");
        assert_eq!(r.status, None, "{client:?}: no HTTP answer: {}", r.body);
        let r = api_get(&base, &pki, client, "/api/v1/traces").await;
        assert_eq!(r.status, None, "{client:?}: the API must not answer");
        let e = grpc_export(running.grpc_addr, &pki, client, [0x22; 16]).await;
        assert!(e.is_err(), "{client:?}: gRPC export must fail");
    }

    let r = api_get(&base, &pki, Some("client"), "/api/v1/traces").await;
    let list: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let ids: Vec<&str> = list["traces"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["trace_id"].as_str())
        .collect();
    assert!(ids.contains(&ok_trace), "{ids:?}");
    assert!(ids.contains(&hex(&[0x11; 16]).as_str()), "{ids:?}");
    assert!(!ids.contains(&refused), "{ids:?}");
    assert!(!ids.contains(&hex(&[0x22; 16]).as_str()), "{ids:?}");
    server.stop().await;
}

/// `client_auth = "optional"`: no certificate is fine, a certificate from
/// another CA is still refused.
#[tokio::test(flavor = "multi_thread")]
async fn optional_client_auth_verifies_only_presented_certificates() {
    let pki = Pki::new();
    let tls = TlsConfig {
        client_auth: Some(ClientAuth::Optional),
        ..pki.tls(true)
    };
    let server = start_tls(tls).await;
    let base = https(&server);
    for (client, ok) in [
        (None, true),
        (Some("client"), true),
        (Some("other-client"), false),
    ] {
        let r = api_get(&base, &pki, client, "/healthz").await;
        assert_eq!(r.status == Some(200), ok, "{client:?}: {}", r.stderr);
    }
    server.stop().await;
}

/// Certificates are reloaded without a restart: on `reload_tls()`, and by the
/// file poller; a broken renewal is reported and the current certificate kept.
#[tokio::test(flavor = "multi_thread")]
async fn certificates_reload_without_restart() {
    let (a, b) = (Pki::new(), Pki::new());
    let live = tempfile::tempdir().unwrap();
    let (cert, key) = (live.path().join("cert.pem"), live.path().join("key.pem"));
    let install = |pki: &Pki| {
        std::fs::write(&cert, pki.read("server.pem")).unwrap();
        std::fs::write(&key, pki.read("server.key")).unwrap();
    };
    install(&a);
    let server = start_tls(TlsConfig {
        cert: Some(cert.clone()),
        key: Some(key.clone()),
        ..TlsConfig::default()
    })
    .await;
    let running = server.running.as_ref().unwrap();
    let base = https(&server);
    let healthy = |pki: &Pki| {
        let a = curl_tls(pki, None);
        let url = format!("{base}/healthz");
        async move {
            let mut a = a;
            a.push(url);
            curl(a).await.status == Some(200)
        }
    };
    assert!(healthy(&a).await);

    install(&b);
    assert!(running.reload_tls().unwrap());
    assert!(healthy(&b).await, "the new certificate is served");
    assert!(!healthy(&a).await, "the old one is not");

    std::fs::write(&key, "not a key").unwrap();
    let e = running.reload_tls().unwrap_err().to_string();
    assert!(e.contains(&s(&key)), "{e}");
    assert!(
        healthy(&b).await,
        "a broken renewal keeps the current certificate"
    );

    // The poller notices changed files by itself.
    install(&a);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !healthy(&a).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reloaded within 30s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    server.stop().await;
}

fn config_in(dir: &Path) -> Config {
    Config {
        data_dir: dir.join("data"),
        http: "127.0.0.1:0".parse().unwrap(),
        grpc: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    }
}

async fn start_err(config: Config) -> String {
    match glassbox_server::start(config).await {
        Ok(r) => {
            r.shutdown().await;
            panic!("start must fail");
        }
        Err(e) => e.to_string(),
    }
}

/// Without authentication, non-loopback addresses are refused on either
/// listener (before anything is created), with the reason and the ways out;
/// `insecure_listen` or required client certificates allow them.
#[tokio::test(flavor = "multi_thread")]
async fn non_loopback_needs_insecure_listen_or_mtls() {
    let dir = tempfile::tempdir().unwrap();
    for (http, grpc, what) in [
        ("0.0.0.0:0", "127.0.0.1:0", "--http"),
        ("127.0.0.1:0", "0.0.0.0:0", "--grpc"),
        ("[::]:0", "127.0.0.1:0", "--http"),
    ] {
        let config = Config {
            http: http.parse().unwrap(),
            grpc: grpc.parse().unwrap(),
            ..config_in(dir.path())
        };
        let r = glassbox_server::start(config).await;
        let Err(e) = r else {
            panic!("{http} {grpc}: must be refused")
        };
        assert!(matches!(e, ServeError::Exposed { .. }), "{e:?}");
        let msg = e.to_string();
        for needle in [
            what,
            "no authentication",
            "read all stored telemetry",
            "127.0.0.1",
            "--insecure-listen",
            "--tls-client-ca",
        ] {
            assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
        }
        assert!(!dir.path().join("data").exists(), "nothing is created");
    }
    // TLS alone is not authentication; optional client certificates neither.
    let pki = Pki::new();
    for tls in [
        pki.tls(false),
        TlsConfig {
            client_auth: Some(ClientAuth::Optional),
            ..pki.tls(true)
        },
    ] {
        let config = Config {
            http: "0.0.0.0:0".parse().unwrap(),
            tls,
            ..config_in(dir.path())
        };
        assert!(start_err(config).await.contains("--insecure-listen"));
    }
    // IPv6 loopback and IPv4-mapped loopback are loopback.
    let config = Config {
        http: "[::ffff:127.0.0.1]:0".parse().unwrap(),
        ..config_in(dir.path())
    };
    glassbox_server::start(config)
        .await
        .unwrap()
        .shutdown()
        .await;

    // --insecure-listen: serves on all interfaces (reachable via loopback here).
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.http = "0.0.0.0:0".parse().unwrap();
        c.grpc = "0.0.0.0:0".parse().unwrap();
        c.insecure_listen = true;
    })
    .await;
    let running = server.running.as_ref().unwrap();
    assert!(running.http_addr.ip().is_unspecified());
    let port = running.http_addr.port();
    let r = curl(vec![format!("http://127.0.0.1:{port}/healthz")]).await;
    assert_eq!(r.status, Some(200), "{}", r.stderr);
    server.stop().await;

    // Required client certificates are authentication: no flag needed.
    let server = common::start_in(tempfile::tempdir().unwrap(), |c| {
        c.http = "0.0.0.0:0".parse().unwrap();
        c.tls = pki.tls(true);
    })
    .await;
    let port = server.running.as_ref().unwrap().http_addr.port();
    let r = api_get(
        &format!("https://127.0.0.1:{port}"),
        &pki,
        Some("client"),
        "/healthz",
    )
    .await;
    assert_eq!(r.status, Some(200), "{}", r.stderr);
    server.stop().await;
}

/// Bad `[tls]` settings fail `start` with a message naming the file and the problem.
#[tokio::test(flavor = "multi_thread")]
async fn bad_tls_config_names_the_file_and_problem() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.key");
    std::fs::write(&garbage, "this is not a key\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let start = |tls: TlsConfig| {
        start_err(Config {
            tls,
            ..config_in(dir.path())
        })
    };

    let e = start(TlsConfig {
        cert: Some(missing.clone()),
        ..pki.tls(false)
    })
    .await;
    assert!(
        e.contains(&s(&missing)) && e.contains("cannot be read"),
        "{e}"
    );

    let e = start(TlsConfig {
        key: Some(garbage.clone()),
        ..pki.tls(false)
    })
    .await;
    assert!(
        e.contains(&s(&garbage)) && e.contains("no private key"),
        "{e}"
    );

    // A key file given as the certificate: no certificate in it.
    let e = start(TlsConfig {
        cert: Some(pki.path("server.key")),
        ..pki.tls(false)
    })
    .await;
    assert!(
        e.contains("server.key") && e.contains("no certificate"),
        "{e}"
    );

    // A corrupt PEM block.
    let corrupt = dir.path().join("corrupt.pem");
    std::fs::write(&corrupt, "-----BEGIN CERTIFICATE-----\n!!!!\n").unwrap();
    let e = start(TlsConfig {
        cert: Some(corrupt.clone()),
        ..pki.tls(false)
    })
    .await;
    assert!(
        e.contains(&s(&corrupt)) && e.contains("not valid PEM"),
        "{e}"
    );

    // A key that does not belong to the certificate.
    let e = start(TlsConfig {
        key: Some(pki.path("client.key")),
        ..pki.tls(false)
    })
    .await;
    assert!(
        e.contains("server.pem")
            && e.contains("client.key")
            && e.contains("cannot be used together"),
        "{e}"
    );

    // Only one of cert / key.
    let e = start(TlsConfig {
        key: None,
        ..pki.tls(false)
    })
    .await;
    assert!(e.contains("needs both") && e.contains("--tls-key"), "{e}");
    let e = start(TlsConfig {
        cert: None,
        ..pki.tls(false)
    })
    .await;
    assert!(e.contains("needs both") && e.contains("--tls-cert"), "{e}");

    // A client CA without TLS; a missing client CA file; client_auth without a CA.
    let e = start(TlsConfig {
        client_ca: Some(pki.path("ca.pem")),
        ..TlsConfig::default()
    })
    .await;
    assert!(e.contains("client_ca") && e.contains("--tls-cert"), "{e}");
    let e = start(TlsConfig {
        client_ca: Some(missing.clone()),
        ..pki.tls(false)
    })
    .await;
    assert!(e.contains("client CA") && e.contains(&s(&missing)), "{e}");
    let e = start(TlsConfig {
        client_auth: Some(ClientAuth::Required),
        ..pki.tls(false)
    })
    .await;
    assert!(e.contains("client_auth") && e.contains("client_ca"), "{e}");
    assert!(!dir.path().join("data").exists(), "nothing is created");
}

/// The binary: `--http 0.0.0.0:…` exits 1 with the reason; `--tls-*` flags and
/// `GLASSBOX_INSECURE_LISTEN` reach the server, whose log shows https:// and
/// the exporter settings.
#[tokio::test(flavor = "multi_thread")]
async fn cli_flags_and_startup_log() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_glassbox");
    let data = s(&dir.path().join("data"));

    let out = Command::new(bin)
        .args(["serve", "--http", "0.0.0.0:0", "--grpc", "127.0.0.1:0"])
        .args(["--data-dir", &data])
        .env_remove("GLASSBOX_INSECURE_LISTEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0") && stderr.contains("--insecure-listen"),
        "{stderr}"
    );

    let out = Command::new(bin)
        .args(["serve", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args([
            "--data-dir",
            &data,
            "--tls-cert",
            &s(&pki.path("server.pem")),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--tls-key"), "{stderr}");

    // mTLS via flags and environment; required client certificates allow a non-loopback listener.
    let (mut child, log) = spawn_until_ready(
        &[
            "--http",
            "127.0.0.1:0",
            "--grpc",
            "0.0.0.0:0",
            "--data-dir",
            &data,
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([
            "--tls-cert".into(),
            s(&pki.path("server.pem")),
            "--tls-key".into(),
            s(&pki.path("server.key")),
        ])
        .collect::<Vec<_>>(),
        &[("GLASSBOX_TLS_CLIENT_CA", s(&pki.path("ca.pem")))],
    )
    .await;
    let url = log
        .split_whitespace()
        .find(|w| w.starts_with("https://127.0.0.1:"))
        .map(str::to_owned);
    let r = match &url {
        Some(u) => Some(api_get(u, &pki, Some("client"), "/healthz").await),
        None => None,
    };
    let _ = child.kill();
    let _ = child.wait();
    for needle in [
        "UI, API and OTLP/HTTP on https://127.0.0.1:",
        "OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:",
        "OTLP/gRPC on 0.0.0.0:",
        "OTEL_EXPORTER_OTLP_ENDPOINT=https://0.0.0.0:",
        "OTEL_EXPORTER_OTLP_CERTIFICATE=<the CA certificate that issued ",
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=<a client certificate issued by ",
        "OTEL_EXPORTER_OTLP_CLIENT_KEY=",
    ] {
        assert!(log.contains(needle), "{needle:?} missing from:\n{log}");
    }
    assert!(!log.contains("without authentication"), "{log}");
    let r = r.expect("an https URL in the log");
    assert_eq!(r.status, Some(200), "{}", r.stderr);

    // GLASSBOX_INSECURE_LISTEN: plain HTTP on all interfaces, with a warning.
    let (mut child, log) = spawn_until_ready(
        &[
            "--http",
            "0.0.0.0:0",
            "--grpc",
            "127.0.0.1:0",
            "--data-dir",
            &data,
        ]
        .map(str::to_owned),
        &[("GLASSBOX_INSECURE_LISTEN", "true".to_owned())],
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        log.contains("without authentication (--insecure-listen)"),
        "{log}"
    );
    assert!(
        log.contains("OTEL_EXPORTER_OTLP_ENDPOINT=http://0.0.0.0:"),
        "{log}"
    );
    assert!(!log.contains("OTEL_EXPORTER_OTLP_CERTIFICATE"), "{log}");
}

/// Starts `glassbox serve ARGS` and returns it with its log up to "store ready".
async fn spawn_until_ready(
    args: &[String],
    env: &[(&str, String)],
) -> (std::process::Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_glassbox"));
    cmd.arg("serve").args(args);
    for var in [
        "GLASSBOX_INSECURE_LISTEN",
        "GLASSBOX_TLS_CERT",
        "GLASSBOX_TLS_KEY",
        "GLASSBOX_TLS_CLIENT_CA",
        "GLASSBOX_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .env("GLASSBOX_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut log = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            log.push_str(&line);
            log.push('\n');
            if line.contains("store ready") {
                break;
            }
        }
        log
    });
    match tokio::time::timeout(Duration::from_secs(60), log).await {
        Ok(log) => (child, log.unwrap()),
        Err(_) => {
            let _ = child.kill();
            panic!("no startup log within 60s");
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
