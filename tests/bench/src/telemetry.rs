//! Telemetry cost (issue #18): what metrics and exported traces cost Capsule in throughput.
//!
//! `hello_greet` over Streamable HTTP, protocol 2026-07-28, in four configurations of one
//! Capsule command line ([`Mode`]): telemetry off; `--metrics` (the meters record, nothing
//! scrapes `/metrics`); traces exported over OTLP/HTTP protobuf, sampled (`traceidratio`,
//! [`SAMPLED_RATIO`]) and always-on. The runs alternate the way the suite's headline does:
//! each round runs every configuration once, each a fresh process, with the order rotated by
//! one configuration per round, and a configuration's figure is the median over rounds of the
//! round's calls/s ÷ telemetry off's calls/s (neighbours in time).
//!
//! Traces go to an [`OtlpSink`] inside `capsule-bench`: a small HTTP/1.1 server on its own
//! thread that takes `POST /v1/traces` and `POST /v1/metrics`, reads and counts the bodies
//! (requests, bytes, and the spans in trace bodies) and answers `200` with
//! `content-type: application/x-protobuf` and an empty body (an empty
//! `ExportTraceServiceResponse`: full success). A run with traces always on that exported
//! nothing fails the suite: the configuration would have measured nothing.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message as _;
use serde::Serialize;
use serde_json::json;

use crate::load::{self, LevelPlan, LevelResult, Workload};
use crate::proto::Era;
use crate::report::{ms, rate};
use crate::server::{Server, ServerSpec};
use crate::stats::Memory;
use crate::suite::{BarRow, bar_table, median};

/// The protocol era of every telemetry run.
pub const ERA: Era = Era::Stateless;
/// The ratio of the sampled configuration (`OTEL_TRACES_SAMPLER_ARG`).
pub const SAMPLED_RATIO: f64 = 0.1;
/// Alternating rounds of a full run.
pub const ROUNDS: usize = 7;
/// The concurrency of the target (calls in flight).
pub const TARGET_CONCURRENCY: usize = 64;
/// The target: throughput with metrics on at least this fraction of telemetry off's (5 % below).
pub const TARGET_RATIO: f64 = 0.95;
/// How long a server gets to flush its spans and exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// The MCP endpoint; `{port}` is filled in by [`Server::start`].
const URL: &str = "http://127.0.0.1:{port}/mcp";
/// Where the sink's base URL goes in a command template.
const OTLP: &str = "{otlp}";

/// One telemetry configuration of `capsule serve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// No `--metrics`, no `OTEL_*` variables.
    #[serde(rename = "off")]
    Off,
    /// `--metrics`: the Prometheus registry records; nothing scrapes it.
    #[serde(rename = "metrics")]
    Metrics,
    /// Traces exported over OTLP/HTTP, `traceidratio` sampler at [`SAMPLED_RATIO`].
    #[serde(rename = "traces sampled")]
    TracesSampled,
    /// Traces exported over OTLP/HTTP, `always_on` sampler.
    #[serde(rename = "traces always-on")]
    TracesAlwaysOn,
}

impl Mode {
    /// Every configuration, in the order of the first round.
    pub const ALL: [Mode; 4] = [
        Mode::Off,
        Mode::Metrics,
        Mode::TracesSampled,
        Mode::TracesAlwaysOn,
    ];

    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Off => "telemetry off",
            Mode::Metrics => "metrics",
            Mode::TracesSampled => "traces sampled (0.1)",
            Mode::TracesAlwaysOn => "traces always-on",
        }
    }

    /// Whether the configuration exports to the OTLP sink.
    pub fn exports(self) -> bool {
        matches!(self, Mode::TracesSampled | Mode::TracesAlwaysOn)
    }

    /// The environment the configuration sets (`{otlp}`: the sink's base URL).
    fn env(self) -> Vec<(&'static str, String)> {
        let otlp = |sampler: &str| {
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", OTLP.to_string()),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
                ("OTEL_METRICS_EXPORTER", "none".into()),
                ("OTEL_TRACES_SAMPLER", sampler.into()),
            ]
        };
        match self {
            Mode::Off | Mode::Metrics => Vec::new(),
            Mode::TracesSampled => {
                let mut env = otlp("traceidratio");
                env.push(("OTEL_TRACES_SAMPLER_ARG", SAMPLED_RATIO.to_string()));
                env
            }
            Mode::TracesAlwaysOn => otlp("always_on"),
        }
    }

    /// The command line of this configuration: `serve` is the `capsule serve … --http
    /// 127.0.0.1:{port}` command; `inherited` are `OTEL_*` variables of the harness's own
    /// environment, unset so that they cannot turn telemetry on where it should be off.
    pub fn command(self, serve: &str, inherited: &[String]) -> String {
        let mut prefix: Vec<String> = inherited.iter().map(|k| format!("-u {k}")).collect();
        prefix.extend(self.env().into_iter().map(|(k, v)| format!("{k}={v}")));
        let flags = if self == Mode::Metrics {
            " --metrics"
        } else {
            ""
        };
        if prefix.is_empty() {
            format!("{serve}{flags}")
        } else {
            format!("env {} {serve}{flags}", prefix.join(" "))
        }
    }
}

/// What an OTLP exporter sent to an [`OtlpSink`].
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Exported {
    /// `POST /v1/traces` requests whose body was read in full.
    pub trace_requests: u64,
    /// Bytes of those bodies, as sent (compressed, if the exporter compresses).
    pub trace_bytes: u64,
    /// Spans in those bodies (`ExportTraceServiceRequest` → resource spans → scope spans →
    /// spans), counted in the bodies that could be decoded.
    pub spans: u64,
    /// Trace bodies not counted in `spans`: compressed (`content-encoding`) or malformed.
    pub undecoded: u64,
    /// `POST /v1/metrics` requests whose body was read in full.
    pub metrics_requests: u64,
    /// Bytes of those bodies.
    pub metrics_bytes: u64,
    /// Other requests (answered 404).
    pub other_requests: u64,
}

#[derive(Default)]
struct Counters {
    trace_requests: AtomicU64,
    trace_bytes: AtomicU64,
    spans: AtomicU64,
    undecoded: AtomicU64,
    metrics_requests: AtomicU64,
    metrics_bytes: AtomicU64,
    other_requests: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> Exported {
        let get = |c: &AtomicU64| c.load(Ordering::SeqCst);
        Exported {
            trace_requests: get(&self.trace_requests),
            trace_bytes: get(&self.trace_bytes),
            spans: get(&self.spans),
            undecoded: get(&self.undecoded),
            metrics_requests: get(&self.metrics_requests),
            metrics_bytes: get(&self.metrics_bytes),
            other_requests: get(&self.other_requests),
        }
    }
}

/// An OTLP/HTTP collector that only counts: `POST /v1/traces` and `POST /v1/metrics` on
/// `127.0.0.1` (a free port), served by its own thread (its own single-threaded runtime), so
/// that receiving exports does not take turns with the load generator's event loop.
pub struct OtlpSink {
    addr: SocketAddr,
    counters: Arc<Counters>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OtlpSink {
    /// Bind `127.0.0.1:0` and start serving.
    ///
    /// # Errors
    /// The port cannot be bound or the thread cannot be started.
    pub fn start() -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding the sink")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let counters = Arc::new(Counters::default());
        let (shutdown, stopped) = tokio::sync::oneshot::channel();
        let c = counters.clone();
        let thread = std::thread::Builder::new()
            .name("otlp-sink".into())
            .spawn(move || runtime.block_on(serve(listener, c, stopped)))?;
        Ok(Self {
            addr,
            counters,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The base URL for `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What was received so far.
    pub fn counts(&self) -> Exported {
        self.counters.snapshot()
    }

    /// Stop serving (open connections are dropped) and return what was received.
    pub fn stop(mut self) -> Exported {
        self.shut_down();
        self.counts()
    }

    fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        self.shut_down();
    }
}

async fn serve(
    listener: std::net::TcpListener,
    counters: Arc<Counters>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let counters = counters.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, counters.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    counters: Arc<Counters>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let traces = match (req.method(), req.uri().path()) {
        (&Method::POST, "/v1/traces") => true,
        (&Method::POST, "/v1/metrics") => false,
        _ => {
            counters.other_requests.fetch_add(1, Ordering::SeqCst);
            return Ok(reply(StatusCode::NOT_FOUND));
        }
    };
    let encoded = req
        .headers()
        .get(CONTENT_ENCODING)
        .is_some_and(|v| v != "identity");
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return Ok(reply(StatusCode::BAD_REQUEST));
    };
    let n = body.len() as u64;
    if traces {
        match (encoded, count_spans(&body)) {
            (false, Some(spans)) => counters.spans.fetch_add(spans, Ordering::SeqCst),
            _ => counters.undecoded.fetch_add(1, Ordering::SeqCst),
        };
        counters.trace_bytes.fetch_add(n, Ordering::SeqCst);
        counters.trace_requests.fetch_add(1, Ordering::SeqCst);
    } else {
        counters.metrics_bytes.fetch_add(n, Ordering::SeqCst);
        counters.metrics_requests.fetch_add(1, Ordering::SeqCst);
    }
    Ok(reply(StatusCode::OK))
}

fn reply(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    if status == StatusCode::OK {
        r.headers_mut().insert(
            CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/x-protobuf"),
        );
    }
    r
}

/// The spans in an OTLP `ExportTraceServiceRequest` (protobuf, decoded with the OTLP protobuf
/// definitions of `opentelemetry-proto`). `None` if the bytes are not such a message.
pub fn count_spans(request: &[u8]) -> Option<u64> {
    let request = ExportTraceServiceRequest::decode(request).ok()?;
    let spans = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len() as u64)
        .sum();
    Some(spans)
}

/// One configuration's run in one round (a fresh server process).
#[derive(Clone, Debug, Serialize)]
pub struct TelemetryRun {
    /// The round, from 0.
    pub round: usize,
    /// Spawn → first `tools/list`, in milliseconds.
    pub startup_ms: f64,
    pub levels: Vec<LevelResult>,
    /// `tools/call` requests the process served: warm-up and measured, every level.
    pub calls_served: usize,
    /// The server's memory after the load (`VmHWM`: peak over the run), in KiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_after: Option<Memory>,
    /// SIGTERM → exit, in milliseconds (spans are flushed on the way; at most the grace, 10 s,
    /// after which the process is killed).
    pub stop_ms: f64,
    /// What the sink had received when the load ended, before SIGTERM (configurations that
    /// export).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_under_load: Option<Exported>,
    /// What the sink received from this process in all (after it exited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported: Option<Exported>,
}

/// One configuration and its runs.
#[derive(Clone, Debug, Serialize)]
pub struct TelemetryConfig {
    pub mode: Mode,
    /// The server command (`{port}`: a free port; `{otlp}`: the sink's base URL).
    pub command: String,
    /// One run per round in which it succeeded, rounds in order.
    pub runs: Vec<TelemetryRun>,
}

/// The telemetry cost part of the suite.
#[derive(Clone, Debug, Serialize)]
pub struct TelemetryCost {
    pub era: Era,
    pub workload: Workload,
    pub rounds: usize,
    pub plans: Vec<LevelPlan>,
    pub configs: Vec<TelemetryConfig>,
    /// The target, filled in from the runs.
    pub targets: Vec<BarRow>,
}

/// The load of each run: full (concurrency 16 and 64), or a tiny one for `--quick`.
pub fn plans(quick: bool) -> Vec<LevelPlan> {
    let p = |concurrency, calls, warmup, max_seconds| LevelPlan {
        concurrency,
        calls,
        warmup,
        max_seconds,
    };
    if quick {
        vec![p(TARGET_CONCURRENCY, 128, 64, 5.0)]
    } else {
        vec![
            p(16, 20000, 500, 2.0),
            p(TARGET_CONCURRENCY, 30000, 1000, 2.5),
        ]
    }
}

/// `OTEL_*` variables in this process's environment (to unset for the servers).
pub fn inherited_otel_vars() -> Vec<String> {
    let mut names: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| {
            k.starts_with("OTEL_") && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .collect();
    names.sort();
    names
}

/// Run `modes` in `rounds` alternating rounds. `serve` is the Capsule command (`capsule serve
/// --plugins … --cache-dir … --http 127.0.0.1:{port}`); servers' stderr is appended to `log`.
/// Returns the result and the failures (a failed run, or always-on traces that exported
/// nothing); the result's `targets` are filled in.
pub async fn measure(
    serve: &str,
    modes: &[Mode],
    rounds: usize,
    plans: Vec<LevelPlan>,
    log: &Path,
) -> (TelemetryCost, Vec<String>) {
    let inherited = inherited_otel_vars();
    let workload = Workload::new("hello", "hello_greet", json!({"name": "bench"}));
    let mut configs: Vec<TelemetryConfig> = modes
        .iter()
        .map(|&mode| TelemetryConfig {
            mode,
            command: mode.command(serve, &inherited),
            runs: Vec::new(),
        })
        .collect();
    let mut failures = Vec::new();
    for round in 0..rounds {
        for k in 0..configs.len() {
            let i = (round + k) % configs.len();
            let config = &mut configs[i];
            eprintln!(
                "capsule-bench: telemetry {} (round {} of {rounds})",
                config.mode.name(),
                round + 1
            );
            match run_once(config, round, &workload, &plans, log).await {
                Ok(run) => {
                    if config.mode == Mode::TracesAlwaysOn
                        && let Some(e) = run.exported.as_ref()
                        && let Some(why) = exported_nothing(e)
                    {
                        failures.push(format!(
                            "telemetry {} round {}: {why} (sink {} requests, {} bytes)",
                            config.mode.name(),
                            round + 1,
                            e.trace_requests,
                            e.trace_bytes
                        ));
                    }
                    config.runs.push(run);
                }
                Err(e) => failures.push(format!(
                    "telemetry {} round {}: {e:#}",
                    config.mode.name(),
                    round + 1
                )),
            }
        }
    }
    let mut cost = TelemetryCost {
        era: ERA,
        workload,
        rounds,
        plans,
        configs,
        targets: Vec::new(),
    };
    cost.targets = vec![cost.target_row()];
    (cost, failures)
}

/// Why `e` shows that nothing was exported, if it does.
fn exported_nothing(e: &Exported) -> Option<&'static str> {
    if e.trace_requests == 0 {
        Some("no trace export request reached the OTLP sink")
    } else if e.trace_bytes == 0 {
        Some("the trace export requests were empty")
    } else if e.undecoded == 0 && e.spans == 0 {
        Some("the trace export requests held no spans")
    } else {
        None
    }
}

async fn run_once(
    config: &TelemetryConfig,
    round: usize,
    workload: &Workload,
    plans: &[LevelPlan],
    log: &Path,
) -> anyhow::Result<TelemetryRun> {
    let sink = if config.mode.exports() {
        Some(OtlpSink::start()?)
    } else {
        None
    };
    let cmd = match &sink {
        Some(s) => config.command.replace(OTLP, &s.endpoint()),
        None => config.command.clone(),
    };
    let spec = ServerSpec {
        label: config.mode.name().into(),
        cmd: Some(cmd),
        url: Some(URL.into()),
        stderr: Some(log.to_path_buf()),
    };
    let server = Server::start(&spec, ERA).await?;
    if !server.tools.contains(&workload.tool) {
        let have = server.tools.join(", ");
        server.stop(STOP_GRACE).await;
        anyhow::bail!(
            "the server does not offer {}; it has: {have}",
            workload.tool
        );
    }
    let levels = load::run_levels(&server, ERA, workload, plans).await;
    let exported_under_load = sink.as_ref().map(OtlpSink::counts);
    let memory_after = server.memory();
    let startup_ms = server.startup.as_secs_f64() * 1e3;
    let t0 = Instant::now();
    server.stop(STOP_GRACE).await;
    let stop_ms = t0.elapsed().as_secs_f64() * 1e3;
    let exported = sink.map(OtlpSink::stop);
    let levels = levels?;
    if let Some(l) = levels.iter().find(|l| l.errors > 0) {
        anyhow::bail!(
            "{} calls of {} failed at concurrency {}: {}",
            l.errors,
            workload.tool,
            l.concurrency,
            l.first_error.as_deref().unwrap_or("")
        );
    }
    let calls_served = plans.iter().map(|p| p.warmup).sum::<usize>()
        + levels.iter().map(|l| l.calls).sum::<usize>();
    Ok(TelemetryRun {
        round,
        startup_ms,
        levels,
        calls_served,
        memory_after,
        stop_ms,
        exported_under_load,
        exported,
    })
}

fn level(run: &TelemetryRun, concurrency: usize) -> Option<&LevelResult> {
    run.levels
        .iter()
        .find(|l| l.concurrency == concurrency && l.throughput > 0.0)
}

/// A ratio as a signed percentage against 1, e.g. 0.973 → `−2.7 %`.
pub fn percent(ratio: f64) -> String {
    format!("{:+.1} %", (ratio - 1.0) * 100.0).replace('-', "−")
}

impl TelemetryCost {
    fn config(&self, mode: Mode) -> Option<&TelemetryConfig> {
        self.configs.iter().find(|c| c.mode == mode)
    }

    /// The concurrency levels that were run.
    pub fn concurrencies(&self) -> Vec<usize> {
        self.plans.iter().map(|p| p.concurrency).collect()
    }

    /// Calls/s of `mode` at `concurrency`, round by round (rounds it completed).
    pub fn throughputs(&self, mode: Mode, concurrency: usize) -> Vec<f64> {
        self.config(mode)
            .map(|c| {
                c.runs
                    .iter()
                    .filter_map(|r| Some(level(r, concurrency)?.throughput))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The median over rounds of the round's calls/s of `mode` ÷ telemetry off's, at
    /// `concurrency` (rounds in which both ran).
    pub fn ratio_vs_off(&self, mode: Mode, concurrency: usize) -> Option<f64> {
        let off = self.config(Mode::Off)?;
        let this = self.config(mode)?;
        median(
            this.runs
                .iter()
                .filter_map(|r| {
                    let o = off.runs.iter().find(|o| o.round == r.round)?;
                    Some(level(r, concurrency)?.throughput / level(o, concurrency)?.throughput)
                })
                .collect(),
        )
    }

    /// Everything `mode` exported, summed over its runs, and the calls those runs served.
    pub fn exported(&self, mode: Mode) -> Option<(Exported, Exported, usize)> {
        let c = self.config(mode)?;
        let mut total = Exported::default();
        let mut under_load = Exported::default();
        let mut calls = 0;
        let mut any = false;
        for r in &c.runs {
            let (Some(e), Some(u)) = (r.exported, r.exported_under_load) else {
                continue;
            };
            any = true;
            calls += r.calls_served;
            for (sum, x) in [(&mut total, e), (&mut under_load, u)] {
                sum.trace_requests += x.trace_requests;
                sum.trace_bytes += x.trace_bytes;
                sum.spans += x.spans;
                sum.undecoded += x.undecoded;
                sum.metrics_requests += x.metrics_requests;
                sum.metrics_bytes += x.metrics_bytes;
                sum.other_requests += x.other_requests;
            }
        }
        any.then_some((total, under_load, calls))
    }

    /// The target row: metrics on at most 5 % below telemetry off, 64 in flight.
    pub fn target_row(&self) -> BarRow {
        let c = TARGET_CONCURRENCY;
        let (measured, met) = match self.ratio_vs_off(Mode::Metrics, c) {
            Some(x) => {
                let rounds = self.throughputs(Mode::Metrics, c).len();
                let med = |m| median(self.throughputs(m, c)).map(rate).unwrap_or_default();
                (
                    format!(
                        "{} (median over {rounds} round(s) of metrics ÷ off; medians {} against {} calls/s)",
                        percent(x),
                        med(Mode::Metrics),
                        med(Mode::Off)
                    ),
                    Some(x >= TARGET_RATIO),
                )
            }
            None => (
                format!("not measured (no metrics and telemetry-off runs at concurrency {c})"),
                None,
            ),
        };
        BarRow {
            figure: format!(
                "calls/s with metrics on (`--metrics`) against telemetry off (`hello`, HTTP {ERA}, {c} in flight)"
            ),
            target: "≤ 5 % below".into(),
            measured,
            met,
        }
    }

    /// The Markdown section of the report.
    pub fn markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let levels = self
            .plans
            .iter()
            .map(|p| {
                format!(
                    "{} in flight: up to {} calls or {} s after {} unrecorded",
                    p.concurrency, p.calls, p.max_seconds, p.warmup
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let _ = writeln!(
            s,
            "### Telemetry cost (issue #18): `hello_greet` over Streamable HTTP {} (alternating rounds: {})\n\n\
             Capsule serves the example set in four configurations: **telemetry off** (no flag, no \
             `OTEL_*` variables); **metrics** (`--metrics`: the meters record, nothing scrapes \
             `/metrics`); **traces** exported over OTLP/HTTP protobuf (`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`, \
             `OTEL_METRICS_EXPORTER=none`, the SDK's default batching), sampled with \
             `OTEL_TRACES_SAMPLER=traceidratio` and `OTEL_TRACES_SAMPLER_ARG={SAMPLED_RATIO}`, or \
             `OTEL_TRACES_SAMPLER=always_on`. The collector is a sink inside `capsule-bench` on a \
             thread of its own: it reads every `POST /v1/traces`, counts requests, bytes and spans, \
             and answers 200 with an empty `ExportTraceServiceResponse`. Each round runs every \
             configuration once (a fresh process; the order rotates by one each round); {levels}. \
             \"vs off\" is the median over rounds of the round's calls/s ÷ telemetry off's.\n",
            self.era, self.rounds
        );
        s.push_str(&bar_table(&self.targets));
        s.push('\n');

        s.push_str("| configuration | in flight | calls/s, round by round | median calls/s | median p50 ms | vs off |\n|---|--:|---|--:|--:|--:|\n");
        for c in &self.configs {
            for conc in self.concurrencies() {
                let tp = self.throughputs(c.mode, conc);
                if tp.is_empty() {
                    continue;
                }
                let rounds = tp.iter().map(|&x| rate(x)).collect::<Vec<_>>().join(" ");
                let p50 = median(
                    c.runs
                        .iter()
                        .filter_map(|r| Some(level(r, conc)?.latency_ms.p50))
                        .collect(),
                )
                .map(ms)
                .unwrap_or_default();
                let vs = if c.mode == Mode::Off {
                    "–".to_string()
                } else {
                    self.ratio_vs_off(c.mode, conc)
                        .map(|x| format!("**{}**", percent(x)))
                        .unwrap_or_default()
                };
                let _ = writeln!(
                    s,
                    "| {} | {conc} | {rounds} | {} | {p50} | {vs} |",
                    c.mode.name(),
                    median(tp.clone()).map(rate).unwrap_or_default()
                );
            }
        }
        s.push('\n');

        let exported: Vec<_> = self
            .configs
            .iter()
            .filter_map(|c| Some((c.mode, self.exported(c.mode)?)))
            .collect();
        if !exported.is_empty() {
            s.push_str("What the trace configurations exported to the sink, all rounds together (\"under load\": received before SIGTERM; the rest was flushed on the way out):\n\n");
            s.push_str("| configuration | export requests | KiB | spans | spans per call | bytes per call | bytes under load |\n|---|--:|--:|--:|--:|--:|--:|\n");
            for (mode, (e, u, calls)) in &exported {
                let per = |x: u64| {
                    if *calls == 0 {
                        "–".to_string()
                    } else {
                        format!("{:.2}", x as f64 / *calls as f64)
                    }
                };
                let spans = if e.undecoded > 0 {
                    format!("{} (+ {} bodies not decoded)", e.spans, e.undecoded)
                } else {
                    e.spans.to_string()
                };
                let under = if e.trace_bytes == 0 {
                    "–".to_string()
                } else {
                    format!(
                        "{:.0} %",
                        u.trace_bytes as f64 * 100.0 / e.trace_bytes as f64
                    )
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.1} | {spans} | {} | {:.0} | {under} |",
                    mode.name(),
                    e.trace_requests,
                    e.trace_bytes as f64 / 1024.0,
                    per(e.spans),
                    if *calls == 0 {
                        0.0
                    } else {
                        e.trace_bytes as f64 / *calls as f64
                    }
                );
            }
            let extra: u64 = exported
                .iter()
                .map(|(_, (e, _, _))| e.metrics_requests + e.other_requests)
                .sum();
            if extra > 0 {
                let _ = writeln!(
                    s,
                    "\nThe sink also received {extra} request(s) other than trace exports (OTLP metrics or unknown paths), which `OTEL_METRICS_EXPORTER=none` should have prevented."
                );
            }
            s.push_str(
                "\n\"Per call\": per `tools/call` the processes served, warm-up included.\n\n",
            );
        }
        s.push_str("<details><summary>Server commands (`{port}`: a free port; `{otlp}`: the sink's base URL)</summary>\n\n");
        // Paths under the working directory are shown relative to it.
        let cwd = std::env::current_dir()
            .map(|d| format!("{}/", d.display()))
            .unwrap_or_default();
        for c in &self.configs {
            let command = if cwd.len() > 1 {
                c.command.replace(&cwd, "")
            } else {
                c.command.clone()
            };
            let _ = writeln!(s, "- {}: `{command}`", c.mode.name());
        }
        s.push_str("\n</details>\n\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::client::conn::http1 as client;
    use tokio::net::TcpStream;

    /// An export request with `resources[i][j]` spans in scope `j` of resource `i`, encoded.
    fn request(resources: &[&[usize]]) -> Vec<u8> {
        use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
        let resource_spans = resources
            .iter()
            .map(|scopes| ResourceSpans {
                scope_spans: scopes
                    .iter()
                    .map(|&n| ScopeSpans {
                        spans: (0..n)
                            .map(|i| Span {
                                trace_id: vec![7; 16],
                                span_id: vec![9; 8],
                                name: format!("tools/call hello_greet {i}"),
                                ..Span::default()
                            })
                            .collect(),
                        ..ScopeSpans::default()
                    })
                    .collect(),
                ..ResourceSpans::default()
            })
            .collect();
        ExportTraceServiceRequest { resource_spans }.encode_to_vec()
    }

    #[test]
    fn counts_spans_in_an_export_request() {
        assert_eq!(count_spans(&[]), Some(0));
        assert_eq!(count_spans(&request(&[&[3]])), Some(3));
        assert_eq!(count_spans(&request(&[&[2, 0, 5], &[1]])), Some(8));
        assert_eq!(count_spans(&request(&[&[300]])), Some(300));
        let good = request(&[&[4]]);
        assert_eq!(count_spans(&good[..good.len() - 1]), None, "truncated");
        assert_eq!(count_spans(b"{\"resourceSpans\":[]}"), None, "JSON");
    }

    #[test]
    fn commands_set_the_environment_of_each_mode() {
        let serve = "capsule serve --plugins p --http 127.0.0.1:{port}";
        assert_eq!(Mode::Off.command(serve, &[]), serve);
        assert_eq!(
            Mode::Metrics.command(serve, &[]),
            format!("{serve} --metrics")
        );
        assert_eq!(
            Mode::Off.command(serve, &["OTEL_SDK_DISABLED".into()]),
            format!("env -u OTEL_SDK_DISABLED {serve}")
        );
        assert_eq!(
            Mode::TracesSampled.command(serve, &[]),
            format!(
                "env OTEL_EXPORTER_OTLP_ENDPOINT={{otlp}} OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
                 OTEL_METRICS_EXPORTER=none OTEL_TRACES_SAMPLER=traceidratio \
                 OTEL_TRACES_SAMPLER_ARG=0.1 {serve}"
            )
        );
        let always = Mode::TracesAlwaysOn.command(serve, &["OTEL_X".into()]);
        assert!(always.starts_with("env -u OTEL_X OTEL_EXPORTER_OTLP_ENDPOINT={otlp} "));
        assert!(always.contains(" OTEL_TRACES_SAMPLER=always_on "));
        assert!(!always.contains("SAMPLER_ARG") && !always.contains("--metrics"));
    }

    #[test]
    fn percentages_are_signed() {
        assert_eq!(percent(0.973), "−2.7 %");
        assert_eq!(percent(1.01), "+1.0 %");
        assert_eq!(percent(1.0), "+0.0 %");
    }

    async fn post(addr: SocketAddr, path: &str, body: Vec<u8>) -> (StatusCode, String, Bytes) {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = client::handshake(TokioIo::new(stream)).await.unwrap();
        tokio::spawn(conn);
        let req = Request::post(path)
            .header("host", addr.to_string())
            .header(CONTENT_TYPE, "application/x-protobuf")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, ct, body)
    }

    #[tokio::test]
    async fn the_sink_counts_requests_bytes_and_spans() {
        let sink = OtlpSink::start().unwrap();
        let addr: SocketAddr = sink.endpoint()["http://".len()..].parse().unwrap();
        assert_eq!(sink.counts(), Exported::default());
        let req = request(&[&[2, 3]]);
        let (status, ct, body) = post(addr, "/v1/traces", req.clone()).await;
        assert_eq!(
            (status, ct.as_str(), body.len()),
            (StatusCode::OK, "application/x-protobuf", 0)
        );
        post(addr, "/v1/traces", req.clone()).await;
        post(addr, "/v1/traces", b"not protobuf \xff".to_vec()).await;
        let (status, ..) = post(addr, "/v1/metrics", vec![1; 10]).await;
        assert_eq!(status, StatusCode::OK);
        let (status, ..) = post(addr, "/v1/logs", vec![]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let got = sink.stop();
        assert_eq!(
            got,
            Exported {
                trace_requests: 3,
                trace_bytes: 2 * req.len() as u64 + 14,
                spans: 10,
                undecoded: 1,
                metrics_requests: 1,
                metrics_bytes: 10,
                other_requests: 1,
            }
        );
        assert!(TcpStream::connect(addr).await.is_err(), "stopped");
    }

    fn run(round: usize, tp: &[(usize, f64)], exported: Option<Exported>) -> TelemetryRun {
        TelemetryRun {
            round,
            startup_ms: 1.0,
            levels: tp
                .iter()
                .map(|&(concurrency, throughput)| LevelResult {
                    concurrency,
                    calls: 100,
                    errors: 0,
                    first_error: None,
                    seconds: 100.0 / throughput,
                    throughput,
                    latency_ms: Default::default(),
                })
                .collect(),
            calls_served: 200,
            memory_after: None,
            stop_ms: 5.0,
            exported_under_load: exported,
            exported,
        }
    }

    fn cost(configs: Vec<(Mode, Vec<TelemetryRun>)>) -> TelemetryCost {
        let mut c = TelemetryCost {
            era: ERA,
            workload: Workload::new("hello", "hello_greet", json!({})),
            rounds: 3,
            plans: plans(false),
            configs: configs
                .into_iter()
                .map(|(mode, runs)| TelemetryConfig {
                    mode,
                    command: mode.command("capsule serve", &[]),
                    runs,
                })
                .collect(),
            targets: Vec::new(),
        };
        c.targets = vec![c.target_row()];
        c
    }

    #[test]
    fn ratios_pair_rounds_and_take_the_median() {
        let e = Exported {
            trace_requests: 4,
            trace_bytes: 4096,
            spans: 800,
            ..Default::default()
        };
        let c = cost(vec![
            (
                Mode::Off,
                vec![
                    run(0, &[(64, 10000.0)], None),
                    run(1, &[(64, 8000.0)], None),
                    run(2, &[(64, 12000.0)], None),
                ],
            ),
            (
                Mode::Metrics,
                // Round 1 failed for metrics; round 2's off run is paired with round 2.
                vec![
                    run(0, &[(64, 9700.0)], None),
                    run(2, &[(64, 11000.0)], None),
                ],
            ),
            (
                Mode::TracesAlwaysOn,
                vec![
                    run(0, &[(64, 5000.0)], Some(e)),
                    run(1, &[(64, 4000.0)], Some(e)),
                ],
            ),
        ]);
        let m = c.ratio_vs_off(Mode::Metrics, 64).unwrap();
        assert!((m - (0.97 + 11000.0 / 12000.0) / 2.0).abs() < 1e-9);
        assert_eq!(c.ratio_vs_off(Mode::TracesAlwaysOn, 64), Some(0.5));
        assert_eq!(c.ratio_vs_off(Mode::Metrics, 16), None);
        assert_eq!(c.ratio_vs_off(Mode::TracesSampled, 64), None);
        let (total, _, calls) = c.exported(Mode::TracesAlwaysOn).unwrap();
        assert_eq!((total.trace_requests, total.spans, calls), (8, 1600, 400));
        assert!(c.exported(Mode::Metrics).is_none());
        // (0.97 + 0.9167) / 2 = 0.943: more than 5 % below.
        assert_eq!(c.targets[0].met, Some(false));
        assert!(
            c.targets[0].measured.starts_with("−5.7 %"),
            "{}",
            c.targets[0].measured
        );
        let md = c.markdown();
        assert!(
            md.contains("| metrics | 64 | 9700 11000 | 10350 | 0.000 | **−5.7 %** |"),
            "{md}"
        );
        assert!(
            md.contains("| traces always-on | 8 | 8.0 | 1600 | 4.00 | 20 | 100 % |"),
            "{md}"
        );
        assert!(md.contains("| **no** |"));
    }

    #[test]
    fn the_target_is_met_within_five_percent_and_missing_without_runs() {
        let c = cost(vec![
            (Mode::Off, vec![run(0, &[(64, 10000.0)], None)]),
            (Mode::Metrics, vec![run(0, &[(64, 9600.0)], None)]),
        ]);
        assert_eq!(c.targets[0].met, Some(true));
        let none = cost(vec![(Mode::Off, vec![run(0, &[(64, 10000.0)], None)])]);
        assert_eq!(none.targets[0].met, None);
        assert!(none.targets[0].measured.starts_with("not measured"));
    }

    #[test]
    fn nothing_exported_is_caught() {
        assert!(exported_nothing(&Exported::default()).is_some());
        let empty = Exported {
            trace_requests: 2,
            ..Default::default()
        };
        assert!(exported_nothing(&empty).is_some());
        let no_spans = Exported {
            trace_requests: 2,
            trace_bytes: 10,
            ..Default::default()
        };
        assert!(exported_nothing(&no_spans).is_some());
        let compressed = Exported {
            undecoded: 2,
            ..no_spans
        };
        assert!(exported_nothing(&compressed).is_none());
        let fine = Exported {
            spans: 4,
            ..no_spans
        };
        assert!(exported_nothing(&fine).is_none());
    }
}
