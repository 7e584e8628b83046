//! The datasets and experiments API of a Glassbox server, as the CLI uses it.

use serde_json::Value;

use crate::dataset::{Dataset, Format};
use crate::experiment::{Run, Server};

impl Server {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = reqwest::Client::new().request(method, format!("{}{path}", self.url));
        match &self.api_key {
            Some(k) => r.bearer_auth(k),
            None => r,
        }
    }

    /// Sends a request and returns the body of a 2xx answer, or the server's message.
    async fn send(&self, r: reqwest::RequestBuilder, what: &str) -> Result<(u16, String), String> {
        let resp = r
            .send()
            .await
            .map_err(|e| format!("{what}: could not reach {} ({e})", self.url))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("{what}: the answer broke off: {e}"))?;
        if status.is_success() {
            return Ok((status.as_u16(), text));
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        let hint = if status.as_u16() == 401 || status.as_u16() == 403 {
            " (pass an API key with the engineer role: --api-key or GLASSBOX_API_KEY)"
        } else {
            ""
        };
        Err(format!("{what}: HTTP {status}: {message}{hint}"))
    }

    /// Stores a dataset version; returns the server's answer (`name`, `version`, `created`, …).
    pub async fn push_dataset(&self, d: &Dataset) -> Result<Value, String> {
        let r = self
            .request(
                reqwest::Method::PUT,
                &format!("/api/v1/datasets/{}", d.name),
            )
            .header("content-type", "application/x-ndjson")
            .body(d.to_jsonl());
        let (_, text) = self.send(r, "storing the dataset").await?;
        serde_json::from_str(&text).map_err(|e| format!("storing the dataset: {e}"))
    }

    /// A stored dataset: `version`, or the newest.
    pub async fn pull_dataset(&self, name: &str, version: Option<&str>) -> Result<Dataset, String> {
        let mut r = self.request(reqwest::Method::GET, &format!("/api/v1/datasets/{name}"));
        if let Some(v) = version {
            r = r.query(&[("version", v)]);
        }
        let (_, text) = self.send(r, &format!("reading dataset {name}")).await?;
        Dataset::parse(
            name,
            &text,
            Format::Jsonl,
            &format!("dataset {name} on the server"),
        )
        .map_err(|e| e.to_string())
    }

    /// Stores a run; returns its id.
    pub async fn push_run(&self, run: &Run) -> Result<(), String> {
        let r = self
            .request(reqwest::Method::POST, "/api/v1/experiments")
            .json(run);
        self.send(r, "storing the run").await.map(|_| ())
    }

    /// `GET path` as JSON.
    pub async fn get_json(&self, path: &str) -> Result<Value, String> {
        let (_, text) = self
            .send(self.request(reqwest::Method::GET, path), path)
            .await?;
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
    }

    /// `GET path` as text.
    pub async fn get_text(&self, path: &str) -> Result<String, String> {
        self.send(self.request(reqwest::Method::GET, path), path)
            .await
            .map(|(_, t)| t)
    }
}
