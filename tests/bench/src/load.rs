//! Closed-loop load: N workers, each sending its next `tools/call` as soon as the previous one
//! was answered, so N calls are in flight at any time (N = the concurrency level; 1 =
//! sequential). Over stdio the N calls are pipelined on the one pipe pair; over HTTP each worker
//! has its own keep-alive connection (and, for 2025-11-25, its own session).
//!
//! Each level runs a warm-up phase (not recorded), then the measured phase: `calls` calls or
//! until `max_seconds` have passed, whichever comes first. Latency is per call, from just before
//! the request is written to when its reply has been read; throughput is completed calls divided
//! by the measured phase's wall time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use serde_json::{Value, json};

use crate::http::HttpConn;
use crate::proto::{self, Era, Outcome};
use crate::server::{Endpoint, Server};
use crate::stats::Summary;

/// What to call.
#[derive(Clone, Debug, Serialize)]
pub struct Workload {
    /// Name in reports, e.g. `hello` or `textkit 1 MiB`.
    pub label: String,
    /// The tool name, e.g. `hello_greet`.
    pub tool: String,
    /// The tool arguments (a JSON object).
    #[serde(skip)]
    pub arguments: Value,
    /// Size of the serialised `params`, in bytes (2026-07-28 adds `_meta`).
    pub params_bytes: usize,
}

impl Workload {
    /// A workload calling `tool` with `arguments`.
    pub fn new(label: impl Into<String>, tool: impl Into<String>, arguments: Value) -> Self {
        let tool = tool.into();
        let params_bytes = json!({"name": &tool, "arguments": &arguments})
            .to_string()
            .len();
        Self {
            label: label.into(),
            tool,
            arguments,
            params_bytes,
        }
    }

    fn params(&self, era: Era) -> String {
        proto::with_meta(era, json!({"name": self.tool, "arguments": self.arguments})).to_string()
    }
}

/// How one concurrency level is run.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LevelPlan {
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Measured calls (at most).
    pub calls: usize,
    /// Unrecorded calls first.
    pub warmup: usize,
    /// Stop starting new measured calls after this long.
    pub max_seconds: f64,
}

/// The result of one concurrency level.
#[derive(Clone, Debug, Serialize)]
pub struct LevelResult {
    pub concurrency: usize,
    /// Measured calls that completed (successful or not).
    pub calls: usize,
    /// Calls answered with a JSON-RPC error or `isError: true` (excluded from latency).
    pub errors: usize,
    /// The first such error, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Wall time of the measured phase, in seconds.
    pub seconds: f64,
    /// Completed calls per second.
    pub throughput: f64,
    /// Per-call latency of successful calls, in milliseconds.
    pub latency_ms: Summary,
}

/// One worker's connection.
enum Conn {
    Stdio(Arc<crate::stdio::StdioClient>),
    Http(HttpConn),
}

impl Conn {
    async fn call(&mut self, tool: &str, params: &str) -> anyhow::Result<(Outcome, Instant)> {
        match self {
            Conn::Stdio(c) => c.request("tools/call", params).await,
            Conn::Http(c) => c.request("tools/call", Some(tool), params).await,
        }
    }
}

struct Tally {
    latencies: Vec<f64>,
    calls: usize,
    errors: usize,
    first_error: Option<String>,
}

/// Run `workload` at every level of `plans` against `server`, speaking `era`.
///
/// # Errors
/// A transport failure (the server died, a connection broke); tool errors are counted instead.
pub async fn run_levels(
    server: &Server,
    era: Era,
    workload: &Workload,
    plans: &[LevelPlan],
) -> anyhow::Result<Vec<LevelResult>> {
    let params: Arc<str> = workload.params(era).into();
    let mut results = Vec::new();
    for plan in plans {
        let c = plan.concurrency.max(1);
        let mut conns = Vec::with_capacity(c);
        for _ in 0..c {
            conns.push(match &server.endpoint {
                Endpoint::Stdio(client) => Conn::Stdio(client.clone()),
                Endpoint::Http { target, addr } => Conn::Http(
                    HttpConn::connect(target, *addr, era)
                        .await
                        .context("opening a benchmark connection")?,
                ),
            });
        }
        let (conns, _) = phase(conns, &workload.tool, &params, plan.warmup, None).await?;
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs_f64(plan.max_seconds);
        let (conns, tally) =
            phase(conns, &workload.tool, &params, plan.calls, Some(deadline)).await?;
        let seconds = t0.elapsed().as_secs_f64();
        for conn in conns {
            if let Conn::Http(conn) = conn {
                conn.close().await;
            }
        }
        results.push(LevelResult {
            concurrency: c,
            calls: tally.calls,
            errors: tally.errors,
            first_error: tally.first_error,
            seconds,
            throughput: tally.calls as f64 / seconds,
            latency_ms: Summary::of_seconds(&tally.latencies),
        });
    }
    Ok(results)
}

/// `total` calls spread over one worker per connection; returns the connections for reuse.
async fn phase(
    conns: Vec<Conn>,
    tool: &str,
    params: &Arc<str>,
    total: usize,
    deadline: Option<Instant>,
) -> anyhow::Result<(Vec<Conn>, Tally)> {
    let tickets = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::with_capacity(conns.len());
    for mut conn in conns {
        let tickets = tickets.clone();
        let params = params.clone();
        let tool = tool.to_string();
        workers.push(tokio::spawn(async move {
            let mut tally = Tally {
                latencies: Vec::new(),
                calls: 0,
                errors: 0,
                first_error: None,
            };
            loop {
                if tickets.fetch_add(1, Ordering::Relaxed) >= total
                    || deadline.is_some_and(|d| Instant::now() >= d)
                {
                    break;
                }
                let t0 = Instant::now();
                let (outcome, at) = conn.call(&tool, &params).await?;
                tally.calls += 1;
                match outcome {
                    Outcome::Ok => tally.latencies.push((at - t0).as_secs_f64()),
                    other => {
                        tally.errors += 1;
                        tally
                            .first_error
                            .get_or_insert_with(|| format!("{other:?}"));
                    }
                }
            }
            anyhow::Ok((conn, tally))
        }));
    }
    let mut conns = Vec::with_capacity(workers.len());
    let mut all = Tally {
        latencies: Vec::new(),
        calls: 0,
        errors: 0,
        first_error: None,
    };
    for w in workers {
        let (conn, tally) = w.await??;
        conns.push(conn);
        all.latencies.extend(tally.latencies);
        all.calls += tally.calls;
        all.errors += tally.errors;
        if all.first_error.is_none() {
            all.first_error = tally.first_error;
        }
    }
    Ok((conns, all))
}
