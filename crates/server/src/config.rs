//! `glassbox.toml`: everything a user can set, with defaults that need no file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use glassbox_pipeline::PriceTable;
use glassbox_pipeline::price::ModelEntry;
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
        })
    }

    /// The bundled price table with this config's overrides applied.
    pub fn price_table(&self) -> Result<PriceTable, ConfigError> {
        let mut t = PriceTable::bundled()?;
        t.extend(self.price_overrides.clone())?;
        Ok(t)
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
}
