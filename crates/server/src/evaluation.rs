//! Online evaluation: the configured rules and LLM judges score a sampled share of live
//! traces once they have settled, in every project; results become scores.
//!
//! Rules are cheap and run on every sampled trace as it settles. Judges cost money, so their
//! work goes through a queue drained at `judge_calls_per_minute`, and stops for the rest of
//! the UTC day once the judges' own calls — ingested through the pipeline like any telemetry,
//! so priced by the same table — have cost `judge_budget_usd_per_day` (read back through the
//! query layer, so the cap holds across restarts). The judges' traces (service
//! `glassbox-judge`) and experiment roots are never themselves evaluated.
//!
//! A trace is evaluated once per process; score ids are derived from trace and evaluator,
//! so a restart that re-evaluates writes nothing twice.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use glassbox_eval::judge::{self, Judge, JudgeInput};
use glassbox_eval::{Evaluator, final_answer};
use glassbox_ingest::Sink;
use glassbox_model::{Score, ScoreSource, ScoreValue, TraceId};
use tokio::sync::watch;

use crate::config::EvaluationConfig;
use crate::projects::Projects;
use crate::sink::StoreSink;

/// Judge work waiting for the rate limit, per project; beyond this the oldest is dropped.
const MAX_PENDING: usize = 10_000;

pub(crate) struct Online {
    cfg: EvaluationConfig,
    rules: Arc<Vec<Evaluator>>,
    judges: Vec<Judge>,
    projects: Arc<Projects>,
    sink: Arc<StoreSink>,
}

/// A settled trace waiting for the judges.
struct Pending {
    trace_id: String,
    question: Option<String>,
    answer: String,
}

impl Online {
    pub(crate) fn new(
        cfg: &EvaluationConfig,
        projects: Arc<Projects>,
        sink: Arc<StoreSink>,
    ) -> Result<Online, String> {
        let rules = cfg
            .rules
            .iter()
            .map(Evaluator::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let judges = cfg
            .judges
            .iter()
            .cloned()
            .map(Judge::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        if !(cfg.judge_budget_usd_per_day.is_finite() && cfg.judge_budget_usd_per_day >= 0.0) {
            return Err("[evaluation] judge_budget_usd_per_day must be a number ≥ 0".into());
        }
        Ok(Online {
            cfg: cfg.clone(),
            rules: Arc::new(rules),
            judges,
            projects,
            sink,
        })
    }

    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        let every = Duration::from_secs(self.cfg.interval_secs.max(1));
        let mut done: HashMap<String, HashSet<String>> = HashMap::new();
        let mut pending: HashMap<String, VecDeque<Pending>> = HashMap::new();
        let mut started: VecDeque<Instant> = VecDeque::new();
        let mut capped_day: Option<u64> = None;
        loop {
            for p in self.projects.all().await {
                let seen = done.entry(p.name.clone()).or_default();
                match self.score_settled(&p, seen).await {
                    Ok(new) if !self.judges.is_empty() => {
                        let q = pending.entry(p.name.clone()).or_default();
                        q.extend(new);
                        if q.len() > MAX_PENDING {
                            let over = q.len() - MAX_PENDING;
                            q.drain(..over);
                            tracing::warn!(project = %p.name, dropped = over,
                                "judge queue full: the oldest traces will not be judged; raise judge_calls_per_minute or lower sample_rate");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!(project = %p.name, error = %e, "evaluation failed"),
                }
            }
            if !self.judges.is_empty() {
                self.judge_pending(&mut pending, &mut started, &mut capped_day)
                    .await;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Runs the rules on newly settled, sampled traces of one project and returns the work
    /// for the judges.
    async fn score_settled(
        &self,
        p: &crate::projects::Project,
        seen: &mut HashSet<String>,
    ) -> Result<Vec<Pending>, String> {
        let now = now_ns();
        let settled = now.saturating_sub(self.cfg.settle_secs.saturating_mul(1_000_000_000));
        let store = p.store.clone();
        let already = seen.clone();
        let rate = self.cfg.sample_rate;
        let rules = self.rules.clone();
        let want_judges = !self.judges.is_empty();
        let (scores, evaluated, work) = tokio::task::spawn_blocking(move || {
            let q = glassbox_query::TracesQuery {
                filter: glassbox_query::Filter {
                    to_ns: Some(settled),
                    ..Default::default()
                },
                limit: 1000,
                ..Default::default()
            };
            let page = glassbox_query::list_traces(store.as_ref(), &q)?;
            let mut scores = Vec::new();
            let mut evaluated = Vec::new();
            let mut work = Vec::new();
            for t in page.traces {
                if already.contains(&t.trace_id) {
                    continue;
                }
                evaluated.push(t.trace_id.clone());
                // Evaluations of evaluations would never end.
                if matches!(
                    t.service.as_deref(),
                    Some(judge::telemetry::SERVICE | "glassbox-eval")
                ) || !sampled(&t.trace_id, rate)
                {
                    continue;
                }
                let detail = glassbox_query::get_trace(store.as_ref(), &t.trace_id)?;
                scores.extend(rules.iter().filter_map(|e| e.evaluate(&detail, now)));
                if want_judges && let Some(answer) = final_answer(&detail) {
                    work.push(Pending {
                        trace_id: t.trace_id.clone(),
                        question: glassbox_eval::rules::first_question(&detail),
                        answer,
                    });
                }
            }
            Ok::<_, glassbox_query::QueryError>((scores, evaluated, work))
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
        let n = scores.len();
        if n > 0 {
            p.store
                .write(glassbox_store::WriteBatch {
                    scores,
                    ..Default::default()
                })
                .await
                .map_err(|e| format!("could not store evaluation scores: {e}"))?;
            tracing::debug!(project = %p.name, scores = n, "evaluated completed traces");
        }
        seen.extend(evaluated);
        Ok(work)
    }

    async fn judge_pending(
        &self,
        pending: &mut HashMap<String, VecDeque<Pending>>,
        started: &mut VecDeque<Instant>,
        capped_day: &mut Option<u64>,
    ) {
        let limit = self.cfg.judge_calls_per_minute as usize;
        for (project, queue) in pending.iter_mut() {
            while !queue.is_empty() {
                let now = Instant::now();
                while started
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    started.pop_front();
                }
                if started.len() + self.judges.len() > limit.max(self.judges.len()) {
                    return; // the rest waits for the next round
                }
                let day = now_ns() / DAY_NS;
                if *capped_day == Some(day) {
                    return;
                }
                let spent = self.spent_today().await;
                if spent >= self.cfg.judge_budget_usd_per_day {
                    *capped_day = Some(day);
                    tracing::warn!(
                        spent_usd = spent,
                        budget_usd = self.cfg.judge_budget_usd_per_day,
                        waiting = queue.len(),
                        "judge spend cap reached: no more LLM judging until 00:00 UTC (raise [evaluation] judge_budget_usd_per_day)"
                    );
                    return;
                }
                let Some(work) = queue.pop_front() else {
                    break;
                };
                for _ in &self.judges {
                    started.push_back(now);
                }
                self.judge_one(project, &work).await;
            }
        }
    }

    async fn judge_one(&self, project: &str, work: &Pending) {
        let Ok(p) = self.projects.get(project).await else {
            return;
        };
        let Ok(trace_id) = TraceId::from_hex(&work.trace_id) else {
            return;
        };
        let mut scores = Vec::new();
        for j in &self.judges {
            let judgement = j
                .judge(&JudgeInput {
                    question: work.question.as_deref(),
                    answer: &work.answer,
                    expected: None,
                    context: None,
                })
                .await;
            if let Some(req) = judge::telemetry::judgement_trace(
                j.name(),
                &judgement,
                &judge::telemetry::Context {
                    judged_trace_id: Some(&work.trace_id),
                    ..Default::default()
                },
            ) {
                let mut batch = glassbox_ingest::decode::traces(req);
                batch.project = Some(project.to_owned());
                if let Err(e) = self.sink.accept(batch).await {
                    tracing::warn!(project, error = %e, "could not store the judge's own telemetry");
                }
            }
            match judgement.result {
                Ok(v) => scores.push(Score {
                    id: format!(
                        "judge-{}",
                        &blake3::hash(format!("{}/{}", work.trace_id, j.name()).as_bytes())
                            .to_hex()[..24]
                    ),
                    trace_id,
                    span_id: None,
                    name: j.name().to_owned(),
                    value: ScoreValue::Number(v.score),
                    source: ScoreSource::LlmJudge,
                    comment: Some(v.reasoning),
                    author: Some(format!("{}:{}", j.config.provider.name(), j.config.model)),
                    time_unix_nano: now_ns(),
                }),
                Err(e) => {
                    tracing::warn!(project, trace_id = %work.trace_id, error = %e, "judge failed")
                }
            }
        }
        if !scores.is_empty()
            && let Err(e) = p
                .store
                .write(glassbox_store::WriteBatch {
                    scores,
                    ..Default::default()
                })
                .await
        {
            tracing::error!(project, error = %e, "could not store judge scores");
        }
    }

    /// What the judges' calls have cost since 00:00 UTC, over every project.
    async fn spent_today(&self) -> f64 {
        let from = now_ns() / DAY_NS * DAY_NS;
        let mut total = 0.0;
        for p in self.projects.all().await {
            let store = p.store.clone();
            let cost = tokio::task::spawn_blocking(move || {
                let q = glassbox_query::MetricsQuery {
                    filter: glassbox_query::Filter {
                        from_ns: Some(from),
                        service: Some(judge::telemetry::SERVICE.to_owned()),
                        ..Default::default()
                    },
                    ..Default::default()
                };
                glassbox_query::metrics(store.as_ref(), &q).map(|m| m.total.cost_usd)
            })
            .await;
            match cost {
                Ok(Ok(c)) => total += c,
                // Unknown spend must not mean unlimited spend.
                _ => return f64::INFINITY,
            }
        }
        total
    }
}

const DAY_NS: u64 = 86_400 * 1_000_000_000;

/// Sampling by id: the same trace is always in or out.
fn sampled(trace_id: &str, rate: f64) -> bool {
    let h = blake3::hash(trace_id.as_bytes());
    let b = h.as_bytes();
    let x = f64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])) / f64::from(u32::MAX);
    x <= rate
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
