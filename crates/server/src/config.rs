//! `glassbox.toml`: everything a user can set, with defaults that need no file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use glassbox_pipeline::PriceTable;
use glassbox_pipeline::price::ModelEntry;
use glassbox_store::sqlite::vault::MasterKey;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("price table: {0}")]
    Prices(#[from] glassbox_pipeline::PriceError),
    #[error("[redaction]: {0}")]
    Redaction(String),
    #[error("master key {source_name}: {message}")]
    MasterKey {
        source_name: String,
        message: String,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    /// Largest OTLP request accepted, after decompression.
    pub max_message_bytes: usize,
    /// Request bytes that may wait for the store at once; beyond it, exporters get 503 + Retry-After.
    pub ingest_buffer_bytes: usize,
    pub price_overrides: Vec<ModelEntry>,
    /// `[tls]`: serve both listeners over TLS (and require client certificates with `client_ca`).
    pub tls: TlsConfig,
    /// Allow listening on a non-loopback address without authentication.
    pub insecure_listen: bool,
    /// `[encryption]`: seal content at rest.
    pub encryption: EncryptionConfig,
    /// `[redaction]`: PII and secrets replaced before storage.
    pub redaction: RedactionConfig,
    /// `[auth]`: API keys and roles.
    pub auth: AuthConfig,
    /// `[retention]`: how long data is kept, per project.
    pub retention: RetentionConfig,
    /// `[evaluation]`: rule evaluators run online on completed traces.
    pub evaluation: EvaluationConfig,
}

/// `[evaluation]`: evaluators that score completed traces as they arrive.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationConfig {
    /// Share of completed traces evaluated (0–1), chosen by trace id so a
    /// trace is always in or out.
    #[serde(default = "one")]
    pub sample_rate: f64,
    /// A trace counts as complete when it started this long ago.
    #[serde(default = "thirty")]
    pub settle_secs: u64,
    #[serde(default = "ten")]
    pub interval_secs: u64,
    #[serde(default)]
    pub rules: Vec<glassbox_eval::RuleConfig>,
    /// LLM judges run on the same sampled traces (`[[evaluation.judges]]`).
    #[serde(default)]
    pub judges: Vec<glassbox_eval::judge::JudgeConfig>,
    /// At most this many judge calls start per minute, across projects; traces over the
    /// limit wait for the next round.
    #[serde(default = "thirty_u32")]
    pub judge_calls_per_minute: u32,
    /// Judging stops for the rest of the UTC day once the judges' own priced calls
    /// (service `glassbox-judge`) cost this much, across projects.
    #[serde(default = "five")]
    pub judge_budget_usd_per_day: f64,
}

fn thirty_u32() -> u32 {
    30
}
fn five() -> f64 {
    5.0
}

fn one() -> f64 {
    1.0
}
fn thirty() -> u64 {
    30
}
fn ten() -> u64 {
    10
}

impl Default for EvaluationConfig {
    fn default() -> Self {
        EvaluationConfig {
            sample_rate: 1.0,
            settle_secs: 30,
            interval_secs: 10,
            rules: Vec::new(),
            judges: Vec::new(),
            judge_calls_per_minute: 30,
            judge_budget_usd_per_day: 5.0,
        }
    }
}

/// `[retention]`. Without `days`, data is kept until erased.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Traces that ended more than this many days ago (and older logs and
    /// metric points) are erased, with an audit entry.
    pub days: Option<u64>,
    /// Per-project overrides, e.g. `{ acme = 7 }`.
    #[serde(default)]
    pub projects: std::collections::BTreeMap<String, u64>,
    /// How often the retention sweep runs.
    #[serde(default = "hourly")]
    pub interval_secs: u64,
}

fn hourly() -> u64 {
    3600
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            days: None,
            projects: Default::default(),
            interval_secs: hourly(),
        }
    }
}

impl RetentionConfig {
    /// The retention of a project, if any.
    pub fn days_for(&self, project: &str) -> Option<u64> {
        self.projects.get(project).copied().or(self.days)
    }
}

/// `[auth]`. Authentication is on once any API key exists (`glassbox keys
/// create`); `required = true` turns it on before the first key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub required: bool,
}

/// `[redaction]`. On by default: every type masked (`[EMAIL]`, `[SECRET]`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedactionConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `mask`, `pseudonymise`, `drop` or `keep` (keep needs encryption at rest).
    #[serde(default = "mask")]
    pub default: String,
    /// Per-type actions, e.g. `{ email = "pseudonymise", secret = "drop" }`.
    #[serde(default)]
    pub types: std::collections::BTreeMap<String, String>,
    /// The key for pseudonymisation tokens (64 hex digits). Default: a key
    /// generated once in the data directory (`redaction-pseudonym.key`).
    pub pseudonym_key_file: Option<PathBuf>,
}

fn yes() -> bool {
    true
}

fn mask() -> String {
    "mask".to_owned()
}

impl Default for RedactionConfig {
    fn default() -> Self {
        RedactionConfig {
            enabled: true,
            default: mask(),
            types: Default::default(),
            pseudonym_key_file: None,
        }
    }
}

/// `[encryption]`. The master key itself never goes in this file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionConfig {
    /// A file holding the 64-hex-digit master key (`openssl rand -hex 32 > key`).
    /// `GLASSBOX_MASTER_KEY` (the key itself) takes precedence.
    pub master_key_file: Option<PathBuf>,
    /// Master keys being rotated out: the data keys they wrap are re-wrapped
    /// under the current one at start-up.
    #[serde(default)]
    pub previous_master_key_files: Vec<PathBuf>,
}

/// `[tls]`. Relative paths are relative to the working directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, the server's certificate first.
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1/RSA or SEC1/EC).
    pub key: Option<PathBuf>,
    /// PEM CA certificate(s) that sign client certificates: enables mutual TLS.
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: `required` (the default) or `optional`.
    pub client_auth: Option<ClientAuth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// Every connection must present a certificate signed by `client_ca`.
    Required,
    /// A certificate is verified if presented, but connections without one are accepted.
    Optional,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./glassbox-data"),
            http: SocketAddr::from(([127, 0, 0, 1], 4318)),
            grpc: SocketAddr::from(([127, 0, 0, 1], 4317)),
            max_message_bytes: 64 * 1024 * 1024,
            ingest_buffer_bytes: 256 * 1024 * 1024,
            price_overrides: Vec::new(),
            tls: TlsConfig::default(),
            insecure_listen: false,
            encryption: EncryptionConfig::default(),
            redaction: RedactionConfig::default(),
            auth: AuthConfig::default(),
            retention: RetentionConfig::default(),
            evaluation: EvaluationConfig::default(),
        }
    }
}

/// The config file's shape. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    data_dir: Option<PathBuf>,
    http: Option<SocketAddr>,
    grpc: Option<SocketAddr>,
    max_message_bytes: Option<usize>,
    ingest_buffer_bytes: Option<usize>,
    prices: Option<PricesSection>,
    tls: Option<TlsConfig>,
    insecure_listen: Option<bool>,
    encryption: Option<EncryptionConfig>,
    redaction: Option<RedactionConfig>,
    auth: Option<AuthConfig>,
    retention: Option<RetentionConfig>,
    evaluation: Option<EvaluationConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PricesSection {
    #[serde(default)]
    model: Vec<ModelEntry>,
}

impl Config {
    /// Defaults, overlaid with the file's settings.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let file: File = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source,
        })?;
        let d = Config::default();
        Ok(Config {
            data_dir: file.data_dir.unwrap_or(d.data_dir),
            http: file.http.unwrap_or(d.http),
            grpc: file.grpc.unwrap_or(d.grpc),
            max_message_bytes: file.max_message_bytes.unwrap_or(d.max_message_bytes),
            ingest_buffer_bytes: file.ingest_buffer_bytes.unwrap_or(d.ingest_buffer_bytes),
            price_overrides: file.prices.map(|p| p.model).unwrap_or_default(),
            tls: file.tls.unwrap_or_default(),
            insecure_listen: file.insecure_listen.unwrap_or(d.insecure_listen),
            encryption: file.encryption.unwrap_or_default(),
            redaction: file.redaction.unwrap_or_default(),
            auth: file.auth.unwrap_or_default(),
            retention: file.retention.unwrap_or_default(),
            evaluation: file.evaluation.unwrap_or_default(),
        })
    }

    /// The current master key (`GLASSBOX_MASTER_KEY`, else `master_key_file`)
    /// and the previous ones, or `None` when encryption at rest is off.
    pub fn master_keys(&self) -> Result<Option<(MasterKey, Vec<MasterKey>)>, ConfigError> {
        let read = |path: &Path| -> Result<MasterKey, ConfigError> {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::MasterKey {
                source_name: path.display().to_string(),
                message: e.to_string(),
            })?;
            MasterKey::from_hex(&text).map_err(|message| ConfigError::MasterKey {
                source_name: path.display().to_string(),
                message,
            })
        };
        let current = match std::env::var("GLASSBOX_MASTER_KEY") {
            Ok(hex) => {
                Some(
                    MasterKey::from_hex(&hex).map_err(|message| ConfigError::MasterKey {
                        source_name: "GLASSBOX_MASTER_KEY".into(),
                        message,
                    })?,
                )
            }
            Err(_) => self
                .encryption
                .master_key_file
                .as_deref()
                .map(read)
                .transpose()?,
        };
        let Some(current) = current else {
            return Ok(None);
        };
        let previous = self
            .encryption
            .previous_master_key_files
            .iter()
            .map(|p| read(p))
            .collect::<Result<_, _>>()?;
        Ok(Some((current, previous)))
    }

    /// The redaction policy, or `None` when redaction is off. `encrypted`
    /// says whether content is sealed at rest (required to keep values).
    pub fn redaction_policy(
        &self,
        encrypted: bool,
    ) -> Result<Option<glassbox_redact::Policy>, ConfigError> {
        let r = &self.redaction;
        if !r.enabled {
            return Ok(None);
        }
        let bad = |m: String| ConfigError::Redaction(m);
        let mut doc = serde_json::json!({"default": r.default, "types": r.types});
        let mut policy =
            glassbox_redact::Policy::from_json(&doc.to_string()).map_err(|e| bad(e.to_string()))?;
        let keeps = policy.default == glassbox_redact::Action::Keep
            || policy
                .types
                .values()
                .any(|a| *a == glassbox_redact::Action::Keep);
        if keeps && !encrypted {
            return Err(bad(
                "`keep` leaves values in the store, which is allowed only with encryption at rest ([encryption] master_key_file or GLASSBOX_MASTER_KEY)".into(),
            ));
        }
        let pseudonymises = policy.default == glassbox_redact::Action::Pseudonymise
            || policy
                .types
                .values()
                .any(|a| *a == glassbox_redact::Action::Pseudonymise);
        if pseudonymises {
            let path = r
                .pseudonym_key_file
                .clone()
                .unwrap_or_else(|| self.data_dir.join("redaction-pseudonym.key"));
            let key = pseudonym_key(&path).map_err(|m| bad(format!("{}: {m}", path.display())))?;
            doc["key"] = serde_json::Value::String(key);
            policy = glassbox_redact::Policy::from_json(&doc.to_string())
                .map_err(|e| bad(e.to_string()))?;
        }
        Ok(Some(policy))
    }

    /// The bundled price table with this config's overrides applied.
    pub fn price_table(&self) -> Result<PriceTable, ConfigError> {
        let mut t = PriceTable::bundled()?;
        t.extend(self.price_overrides.clone())?;
        Ok(t)
    }
}

/// Reads the pseudonymisation key, creating it (mode 0600) on first use so
/// tokens stay stable across restarts.
fn pseudonym_key(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim().to_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| e.to_string())?;
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(path).map_err(|e| e.to_string())?;
            std::io::Write::write_all(&mut f, hex.as_bytes()).map_err(|e| e.to_string())?;
            Ok(hex)
        }
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("glassbox.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn file_overrides_defaults_and_prices() {
        let (_d, path) = write(
            r#"
            http = "127.0.0.1:9999"
            [[prices.model]]
            id = "my-finetune"
            price = [{ from = "2026-01-01", input = "0.3", output = "1.2" }]
            "#,
        );
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c.http.port(), 9999);
        assert_eq!(c.grpc.port(), 4317);
        let t = c.price_table().unwrap();
        assert_eq!(
            t.rates_at("my-finetune", u64::MAX).map(|p| p.rates.input),
            Some(300_000)
        );
        assert!(
            t.rates_at("claude-sonnet-4-6", u64::MAX).is_some(),
            "bundled prices remain"
        );
    }

    #[test]
    fn typos_and_bad_prices_are_reported() {
        let (_d, path) = write("htp = \"127.0.0.1:1\"\n");
        let e = Config::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("htp"), "{e}");
        let (_d, path) = write(
            "[[prices.model]]\nid = \"m\"\nprice = [{ from = \"2026-13-01\", input = \"1\", output = \"1\" }]\n",
        );
        let e = Config::from_file(&path)
            .unwrap()
            .price_table()
            .unwrap_err()
            .to_string();
        assert!(e.contains("2026-13-01"), "{e}");
        let e = Config::from_file(Path::new("/nonexistent/glassbox.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/glassbox.toml"), "{e}");
    }

    #[test]
    fn tls_section_and_insecure_listen() {
        let (_d, path) = write(
            r#"
            insecure_listen = true
            [tls]
            cert = "server.pem"
            key = "server.key"
            client_ca = "ca.pem"
            client_auth = "optional"
            "#,
        );
        let c = Config::from_file(&path).unwrap();
        assert!(c.insecure_listen);
        assert_eq!(
            c.tls,
            TlsConfig {
                cert: Some("server.pem".into()),
                key: Some("server.key".into()),
                client_ca: Some("ca.pem".into()),
                client_auth: Some(ClientAuth::Optional),
            }
        );
        let d = Config::default();
        assert!(!d.insecure_listen && !d.tls.is_enabled());
        for bad in [
            "[tls]\ncertificate = \"x.pem\"\n",
            "[tls]\nclient_auth = \"sometimes\"\n",
        ] {
            let (_d, path) = write(bad);
            let e = Config::from_file(&path).unwrap_err().to_string();
            assert!(e.contains("certificate") || e.contains("sometimes"), "{e}");
        }
    }
}
