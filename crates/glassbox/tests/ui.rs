//! The UI in a real browser: headless Chromium driven over WebDriver
//! (chromedriver), against a real server loaded with the demo workload and
//! the captured fixtures. Every number read off a page is compared with the
//! JSON API. Needs `chromium` and `chromium-driver` (Debian); `.ci/run`
//! installs them.
//!
//! `GLASSBOX_SCREENSHOTS=docs/screenshots cargo test -p glassbox --test ui`
//! also writes the README's screenshots.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestServer, kv};
use fantoccini::{Client, ClientBuilder, Locator};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Av;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

const ARROW_DOWN: &str = "\u{E015}";
const ARROW_LEFT: &str = "\u{E012}";

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

async fn driver() -> Driver {
    let chromedriver = binary("CHROMEDRIVER", "/usr/bin/chromedriver");
    assert!(
        chromedriver.exists(),
        "{} not found: install Debian's chromium and chromium-driver (apt-get install chromium chromium-driver), or set CHROMEDRIVER",
        chromedriver.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while reqwest::get(format!("{url}/status")).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, url }
}

async fn browser(driver: &Driver) -> Client {
    let chromium = binary("CHROMIUM", "/usr/bin/chromium");
    let profile = tempfile::tempdir().expect("profile dir").keep();
    let caps = json!({
        "browserName": "chrome",
        "goog:loggingPrefs": {"browser": "ALL"},
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::rustls()
        .expect("TLS setup")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Console messages at SEVERE level since the last call (chromedriver's log endpoint).
async fn console_errors(driver: &Driver, c: &Client) -> Vec<String> {
    let id = c
        .session_id()
        .await
        .expect("session id")
        .expect("a session");
    let logs: Value = reqwest::Client::new()
        .post(format!("{}/session/{id}/se/log", driver.url))
        .json(&json!({"type": "browser"}))
        .send()
        .await
        .expect("log endpoint")
        .json()
        .await
        .expect("log JSON");
    logs["value"]
        .as_array()
        .expect("a list of log entries")
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or("").to_owned())
        .collect()
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Navigates and waits until the page is fully parsed: on a busy machine
/// WebDriver's navigation can return while a large page is still loading.
async fn open(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    eventually("the page to finish loading", || async {
        c.execute("return document.readyState", vec![])
            .await
            .unwrap()
            == "complete"
    })
    .await;
}

async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.expect("find_all") {
        out.push(e.text().await.expect("text"));
    }
    out
}

async fn attr(c: &Client, css: &str, name: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css} on the page"))
        .attr(name)
        .await
        .expect("attr")
        .unwrap_or_else(|| panic!("{css} has {name}"))
}

async fn screenshot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("GLASSBOX_SCREENSHOTS") {
        // Relative to the workspace root, where the command is run from.
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let png = c.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

async fn load(server: &TestServer) {
    let now = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    )
    .unwrap();
    let workload = glassbox_demo::generate(now, 300, 11);
    glassbox_demo::send(&server.base, &workload, |_, _| {})
        .await
        .expect("demo workload accepted");
    for dir in common::scenarios()
        .into_iter()
        .filter(|d| d.to_string_lossy().contains("claude-code"))
        .take(2)
    {
        common::send_http(server, &dir).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_and_dashboards_in_chromium() {
    let server = common::start().await;
    load(&server).await;
    let driver = driver().await;
    let c = browser(&driver).await;
    let base = server.base.clone();

    // --- the trace list, filtered by model through the form ---
    open(&c, &format!("{base}/traces")).await;
    let rows = c.find_all(Locator::Css("#traces tbody tr")).await.unwrap();
    assert_eq!(rows.len(), 50, "a first page of 50 traces");
    screenshot(&c, "traces").await;
    let model = "claude-opus-4-6";
    c.find(Locator::Css("select[name=model]"))
        .await
        .unwrap()
        .select_by_value(model)
        .await
        .unwrap();
    eventually("the model filter in the URL", || async {
        c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains("model=claude-opus-4-6")
    })
    .await;
    let (_, api) = server
        .get(&format!("/api/v1/traces?model={model}&limit=50"))
        .await;
    let api_ids: Vec<&str> = api["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert!(
        !api_ids.is_empty(),
        "the demo has Opus runs (the cost spike)"
    );
    let mut ui_ids = Vec::new();
    for r in c.find_all(Locator::Css("#traces tbody tr")).await.unwrap() {
        ui_ids.push(r.attr("data-trace-id").await.unwrap().unwrap());
    }
    assert_eq!(ui_ids, api_ids, "the filtered list is the API's, in order");
    for m in texts(&c, "#traces td.models").await {
        assert!(m.contains(model), "every row used {model}: {m}");
    }

    // --- sorting by cost: the first row is the API's most expensive trace ---
    c.find(Locator::Css("th a.sort[href*='sort=cost']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("sort=cost in the URL", || async {
        c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains("sort=cost")
    })
    .await;
    let (_, top) = server
        .get(&format!("/api/v1/traces?model={model}&sort=cost&limit=1"))
        .await;
    let top_id = top["traces"][0]["trace_id"].as_str().unwrap().to_owned();
    assert_eq!(attr(&c, "#traces tbody tr", "data-trace-id").await, top_id);
    c.back().await.unwrap();
    eventually("back to the unsorted list", || async {
        !c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap_or("")
            .contains("sort=cost")
    })
    .await;

    // --- full-text search reads message content ---
    open(&c, &format!("{base}/traces?q=duplicate+charge")).await;
    let found = c.find_all(Locator::Css("#traces tbody tr")).await.unwrap();
    assert!(
        !found.is_empty(),
        "a support answer mentions a duplicate charge"
    );
    let (_, searched) = server
        .get("/api/v1/traces?q=duplicate%20charge&limit=50")
        .await;
    assert_eq!(found.len(), searched["traces"].as_array().unwrap().len());

    // --- a trace: tree, span panel, conversation, cost ---
    open(&c, &format!("{base}/traces/{top_id}")).await;
    let (_, detail) = server.get(&format!("/api/v1/traces/{top_id}")).await;
    let spans = detail["spans"].as_array().unwrap();
    let tree_rows = c
        .find_all(Locator::Css("#span-tree .span-row"))
        .await
        .unwrap();
    assert_eq!(tree_rows.len(), spans.len(), "one tree row per span");
    let trace_cost: f64 = attr(&c, "#trace-cost", "data-value").await.parse().unwrap();
    assert!(close(trace_cost, detail["cost_usd"].as_f64().unwrap()));
    let llm = spans
        .iter()
        .rfind(|s| s["kind"] == "llm" && s["cost_usd"].is_number())
        .expect("a priced model call");
    let llm_id = llm["span_id"].as_str().unwrap();
    c.find(Locator::Css(&format!(".span-row[data-span-id='{llm_id}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the panel shows the clicked span", || async {
        c.find(Locator::Css(&format!(
            "#span-panel .panel[data-span-id='{llm_id}']"
        )))
        .await
        .is_ok()
    })
    .await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap()
            .contains(llm_id),
        "the selected span is in the URL"
    );
    let span_cost: f64 = attr(&c, "#span-cost", "data-value").await.parse().unwrap();
    assert!(close(span_cost, llm["cost_usd"].as_f64().unwrap()));
    let messages = texts(&c, "#span-panel .msg").await;
    let question = llm["input_messages"][0]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        messages.iter().any(|m| m.contains(question)),
        "the user's question is rendered as a chat message"
    );
    let model_text = c
        .find(Locator::Css("#span-panel dd.model"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(model_text, llm["model"].as_str().unwrap());
    screenshot(&c, "trace").await;

    // --- keyboard: down moves the selection and the URL; back restores it ---
    let root_id = attr(&c, "#span-tree .span-row", "data-span-id").await;
    c.find(Locator::Css(".span-row[aria-level='1']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    eventually("the root selected", || async {
        attr(&c, ".span-row.selected", "data-span-id").await == root_id
    })
    .await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(ARROW_DOWN)
        .await
        .unwrap();
    eventually("arrow down selects the next span", || async {
        attr(&c, ".span-row.selected", "data-span-id").await != root_id
    })
    .await;
    let second = attr(&c, ".span-row.selected", "data-span-id").await;
    assert!(
        c.current_url()
            .await
            .unwrap()
            .query()
            .unwrap()
            .contains(&second)
    );
    c.back().await.unwrap();
    eventually("back selects the root again", || async {
        attr(&c, ".span-row.selected", "data-span-id").await == root_id
    })
    .await;
    // Folding the root with the left arrow hides its children.
    c.find(Locator::Css(".span-row.selected"))
        .await
        .unwrap()
        .send_keys(ARROW_LEFT)
        .await
        .unwrap();
    eventually("children folded away", || async {
        c.find_all(Locator::Css(".span-row.hidden"))
            .await
            .unwrap()
            .len()
            == spans.len() - 1
    })
    .await;

    // --- a session, in order ---
    let session = detail["session_id"].as_str().unwrap().to_owned();
    open(&c, &format!("{base}/sessions/{session}")).await;
    let (_, api_session) = server.get(&format!("/api/v1/sessions/{session}")).await;
    let mut turn_ids = Vec::new();
    for t in c.find_all(Locator::Css("li.turn")).await.unwrap() {
        turn_ids.push(t.attr("data-trace-id").await.unwrap().unwrap());
    }
    let api_turns: Vec<&str> = api_session["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(turn_ids, api_turns, "the session's traces, oldest first");
    screenshot(&c, "session").await;

    // --- dashboards: the per-model table equals /api/v1/metrics ---
    open(&c, &format!("{base}/dashboards")).await;
    let (_, metrics) = server.get("/api/v1/metrics?group_by=model").await;
    let groups = metrics["groups"].as_array().unwrap();
    let rows = c
        .find_all(Locator::Css("#per-model tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), groups.len());
    for row in rows {
        let key = row.attr("data-key").await.unwrap().unwrap();
        let g = groups
            .iter()
            .find(|g| g["key"].as_str().unwrap_or("") == key)
            .unwrap_or_else(|| panic!("model {key} in the API"));
        let mut values = Vec::new();
        for cell in row.find_all(Locator::Css("td.num")).await.unwrap() {
            values.push(
                cell.attr("data-value")
                    .await
                    .unwrap()
                    .unwrap()
                    .parse::<f64>()
                    .unwrap(),
            );
        }
        let want = [
            g["llm_calls"].as_f64().unwrap(),
            g["input_tokens"].as_f64().unwrap(),
            g["cache_read_tokens"].as_f64().unwrap(),
            g["cache_write_tokens"].as_f64().unwrap(),
            g["output_tokens"].as_f64().unwrap(),
            g["cache_hit_ratio"].as_f64().unwrap_or(0.0),
            g["cost_usd"].as_f64().unwrap(),
            g["latency_ms"]["p50"].as_f64().unwrap(),
            g["latency_ms"]["p95"].as_f64().unwrap(),
            g["latency_ms"]["p99"].as_f64().unwrap(),
            g["error_rate"].as_f64().unwrap(),
        ];
        assert_eq!(values.len(), want.len());
        for (got, want) in values.iter().zip(want) {
            assert!(close(*got, want), "{key}: UI {got} vs API {want}");
        }
    }
    let (_, total) = server.get("/api/v1/metrics").await;
    let kpi: f64 = attr(&c, ".kpi-value", "data-value").await.parse().unwrap();
    assert!(
        close(kpi, total["total"]["cost_usd"].as_f64().unwrap()),
        "the cost tile"
    );
    // Each chart has its numbers: the token chart's table sums to the total.
    let mut summed = 0.0;
    for cell in c
        .find_all(Locator::Css("#chart-tokens tbody tr td:nth-child(3)"))
        .await
        .unwrap()
    {
        summed += cell
            .attr("data-value")
            .await
            .unwrap()
            .unwrap()
            .parse::<f64>()
            .unwrap();
    }
    assert_eq!(
        summed,
        total["total"]["output_tokens"].as_f64().unwrap(),
        "output tokens over time"
    );
    let points = c
        .find_all(Locator::Css("#chart-cost circle title"))
        .await
        .unwrap();
    assert!(!points.is_empty(), "cost points carry tooltips");
    screenshot(&c, "dashboards").await;

    // --- dark theme, remembered across pages ---
    c.find(Locator::Css("#theme-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let theme = c
        .execute("return document.documentElement.dataset.theme", vec![])
        .await
        .unwrap();
    assert!(theme == "dark" || theme == "light");
    open(&c, &format!("{base}/traces")).await;
    let after = c
        .execute("return document.documentElement.dataset.theme", vec![])
        .await
        .unwrap();
    assert_eq!(theme, after, "the theme persists");
    if after != "dark" {
        c.find(Locator::Css("#theme-toggle"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    screenshot(&c, "traces-dark").await;

    let errors = console_errors(&driver, &c).await;
    assert!(errors.is_empty(), "console errors: {errors:?}");

    // --- errors are pages that say what is wrong ---
    open(&c, &format!("{base}/traces?status=maybe")).await;
    let message = c
        .find(Locator::Css(".error-message"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(message.contains("status"), "{message}");

    c.close().await.unwrap();
    server.stop().await;
}

/// A 2,000-span trace whose one model call carries a 200K-token prompt
/// renders, folds, and keeps the huge text behind "show all".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_trace_and_empty_state() {
    let server = common::start().await;
    let driver = driver().await;
    let c = browser(&driver).await;
    let base = server.base.clone();

    open(&c, &format!("{base}/traces")).await;
    let empty = c
        .find(Locator::Css(".empty"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        empty.contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "the empty state says how to send data"
    );
    assert!(
        empty.contains(&base),
        "with this server's own address: {empty}"
    );

    let trace_id = vec![7u8; 16];
    let t0 = 1_795_000_000_000_000_000u64;
    let huge: String = "The quick brown fox jumps over the lazy dog. ".repeat(18_000);
    let mut spans = vec![Span {
        trace_id: trace_id.clone(),
        span_id: vec![1; 8],
        name: "invoke_agent big".into(),
        start_time_unix_nano: t0,
        end_time_unix_nano: t0 + 60_000_000_000,
        attributes: vec![kv(
            "gen_ai.operation.name",
            Av::StringValue("invoke_agent".into()),
        )],
        ..Default::default()
    }];
    for n in 1..2000u64 {
        let mut id = [0u8; 8];
        id[..].copy_from_slice(&(n + 1).to_be_bytes());
        let mut attributes = vec![
            kv(
                "gen_ai.operation.name",
                Av::StringValue("execute_tool".into()),
            ),
            kv("gen_ai.tool.name", Av::StringValue(format!("step_{n}"))),
        ];
        if n == 1 {
            attributes = vec![
                kv("gen_ai.operation.name", Av::StringValue("chat".into())),
                kv(
                    "gen_ai.request.model",
                    Av::StringValue("claude-sonnet-4-6".into()),
                ),
                kv("gen_ai.usage.input_tokens", Av::IntValue(200_000)),
                kv("gen_ai.usage.output_tokens", Av::IntValue(10)),
                kv(
                    "gen_ai.input.messages",
                    Av::StringValue(
                        json!([{"role": "user", "parts": [{"type": "text", "content": huge}]}])
                            .to_string(),
                    ),
                ),
            ];
        }
        spans.push(Span {
            trace_id: trace_id.clone(),
            span_id: id.to_vec(),
            parent_span_id: vec![1; 8],
            name: format!("step {n}"),
            start_time_unix_nano: t0 + n * 25_000_000,
            end_time_unix_nano: t0 + n * 25_000_000 + 20_000_000,
            attributes,
            ..Default::default()
        });
    }
    let body = common::trace_request(spans).encode_to_vec();
    let (status, _) = server
        .post("/v1/traces", "application/x-protobuf", body)
        .await;
    assert_eq!(status, 200);
    let hex = "07".repeat(16);
    let chat = format!("{:016x}", 2u64);
    let (_, detail) = server.get(&format!("/api/v1/traces/{hex}")).await;
    assert_eq!(detail["span_count"], 2000, "{}", &detail.to_string()[..300]);
    assert_eq!(detail["spans"].as_array().unwrap().len(), 2000);
    open(&c, &format!("{base}/traces/{hex}?span={chat}")).await;
    // A 2 MB page may still be parsing when navigation returns on a busy machine.
    eventually("all 2,000 rows parsed", || async {
        c.execute("return document.readyState", vec![])
            .await
            .unwrap()
            == "complete"
            && c.find_all(Locator::Css("#span-tree .span-row"))
                .await
                .unwrap()
                .len()
                == 2000
    })
    .await;
    let shown = c
        .find(Locator::Css("#span-panel .msg pre.text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        shown.len() < 10_000,
        "only a preview of the 800 KB prompt is shown"
    );
    let more = c
        .find(Locator::Css("#span-panel details.more summary"))
        .await
        .unwrap();
    assert!(more.text().await.unwrap().contains("Show all"));
    more.click().await.unwrap();
    let opened = c
        .execute(
            "return document.querySelector('#span-panel details.more').open",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(opened, true);
    let errors = console_errors(&driver, &c).await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    c.close().await.unwrap();
    server.stop().await;
}

/// Every source of captured traffic renders: for one scenario per source,
/// the list's costs add up to the API's total, each trace's tree has one
/// row per span, and a model call's conversation reads as the API has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_fixtures_render_in_chromium() {
    let driver = driver().await;
    let c = browser(&driver).await;
    // One scenario of each source (fixtures/otlp/<source>/<scenario>):
    // `support-basic` where the source has it (a support chat with PII), else the first.
    let mut sources: Vec<PathBuf> = common::scenarios();
    sources.sort_by_key(|d| (d.parent().map(PathBuf::from), !d.ends_with("support-basic")));
    sources.dedup_by(|a, b| a.parent() == b.parent());
    assert!(sources.len() >= 10, "one scenario per source: {sources:?}");
    let mut conversations = 0;
    let mut redacted_panels = 0;
    for dir in &sources {
        let server = common::start().await;
        common::send_http(&server, dir).await;
        let base = server.base.clone();
        let label = dir.display().to_string();

        open(&c, &format!("{base}/traces?limit=1000")).await;
        let (_, total) = server.get("/api/v1/metrics").await;
        let mut listed = 0.0;
        for cell in c
            .find_all(Locator::Css("#traces tbody tr td:nth-child(7)"))
            .await
            .unwrap()
        {
            listed += cell
                .attr("data-value")
                .await
                .unwrap()
                .unwrap()
                .parse::<f64>()
                .unwrap();
        }
        let want = total["total"]["cost_usd"].as_f64().unwrap();
        assert!(
            (listed - want).abs() < 1e-6,
            "{label}: list costs {listed} vs API total {want}"
        );

        let (_, page) = server.get("/api/v1/traces?limit=1000").await;
        // Traces with redacted values first, so the cap keeps them.
        let mut listed: Vec<&serde_json::Value> =
            page["traces"].as_array().unwrap().iter().collect();
        listed.sort_by_key(|t| std::cmp::Reverse(t["pii_findings"].as_u64().unwrap_or(0)));
        for t in listed.into_iter().take(8) {
            let id = t["trace_id"].as_str().unwrap();
            let (_, detail) = server.get(&format!("/api/v1/traces/{id}")).await;
            let spans = detail["spans"].as_array().unwrap();
            let with_text = spans.iter().find(|s| {
                s["input_messages"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m["parts"][0]["text"].is_string()))
            });
            let target = with_text.or(spans.first()).unwrap();
            let span_id = target["span_id"].as_str().unwrap();
            open(&c, &format!("{base}/traces/{id}?span={span_id}")).await;
            let rows = c
                .find_all(Locator::Css("#span-tree .span-row"))
                .await
                .unwrap();
            assert_eq!(rows.len(), spans.len(), "{label}: one row per span of {id}");
            let shown = attr(&c, "#span-panel .panel", "data-span-id").await;
            assert_eq!(shown, span_id, "{label}: the linked span is selected");
            if let Some(s) = with_text {
                let text = s["input_messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find_map(|m| m["parts"][0]["text"].as_str())
                    .unwrap();
                let head: String = text.chars().take(60).collect();
                let head = head.split_whitespace().collect::<Vec<_>>().join(" ");
                let rendered = texts(&c, "#span-panel .msg").await.join("\n");
                let rendered = rendered.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(
                    rendered.contains(&head),
                    "{label}: {head:?} rendered in {id}"
                );
                conversations += 1;
            }
            // What redaction replaced before storage is shown on the span, by type.
            if let Some(r) = spans
                .iter()
                .find(|s| s["redactions"].as_object().is_some_and(|r| !r.is_empty()))
            {
                let span_id = r["span_id"].as_str().unwrap();
                open(&c, &format!("{base}/traces/{id}?span={span_id}")).await;
                let shown = texts(&c, "#span-panel .redactions").await.join(" ");
                for kind in r["redactions"].as_object().unwrap().keys() {
                    assert!(
                        shown.contains(kind.as_str()),
                        "{label}: {kind} in {shown:?}"
                    );
                }
                redacted_panels += 1;
            }
        }
        let errors = console_errors(&driver, &c).await;
        assert!(errors.is_empty(), "{label}: console errors: {errors:?}");
        server.stop().await;
    }
    assert!(
        conversations >= 10,
        "conversations rendered: {conversations}"
    );
    assert!(
        redacted_panels > 0,
        "some captured conversations carry PII, shown as redacted"
    );
    c.close().await.unwrap();
}
