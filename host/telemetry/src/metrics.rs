//! The instruments, their names, units and attributes (README, "Observability", has the
//! reference as Prometheus shows them), and one recording function per event.
//!
//! Attribute values are bounded: method names, published tool and prompt names (a catalog's
//! worth), plugin names, protocol versions, transports, outcomes and error types. Never
//! arguments, URIs or client-supplied text.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, UpDownCounter};

/// The instrumentation scope of every Capsule instrument.
pub const SCOPE: &str = "capsule";

/// Histogram bucket boundaries for durations, in seconds (1 ms to 5 min).
pub const DURATION_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Histogram bucket boundaries for guest memory, in bytes (64 KiB to 4 GiB).
pub const MEMORY_BUCKETS: [f64; 12] = [
    65536.0,
    262144.0,
    1048576.0,
    4194304.0,
    16777216.0,
    33554432.0,
    67108864.0,
    134217728.0,
    268435456.0,
    536870912.0,
    1073741824.0,
    4294967296.0,
];

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether a meter provider is installed (metrics are recorded).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// How a plugin call ended (`capsule.outcome`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It answered.
    Ok,
    /// It answered with an error result (`isError`, or one of the contract's typed errors).
    ToolError,
    /// It ran past its time limit.
    Timeout,
    /// It trapped (crashed).
    Trap,
    /// The caller's scopes do not allow it (never reached the plugin).
    Denied,
    /// The caller is over a rate limit (never reached the plugin).
    RateLimited,
    /// A budget refused it: memory, output size, content blocks, handles, concurrency.
    OverLimit,
    /// The client cancelled it.
    Cancelled,
    /// Anything else (the sandbox could not be set up, an export is missing).
    Error,
}

impl Outcome {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ToolError => "tool_error",
            Self::Timeout => "timeout",
            Self::Trap => "trap",
            Self::Denied => "denied",
            Self::RateLimited => "rate_limited",
            Self::OverLimit => "over_limit",
            Self::Cancelled => "cancelled",
            Self::Error => "error",
        }
    }
}

struct Instruments {
    operation_duration: Histogram<f64>,
    session_duration: Histogram<f64>,
    plugin_calls: Counter<u64>,
    plugin_call_duration: Histogram<f64>,
    instantiation_duration: Histogram<f64>,
    memory_peak: Histogram<u64>,
    compile_duration: Histogram<f64>,
    plugin_loads: Counter<u64>,
    network_denials: Counter<u64>,
    auth_failures: Counter<u64>,
    plugins_loaded: Gauge<u64>,
    sessions_active: UpDownCounter<i64>,
    streams_active: UpDownCounter<i64>,
    tasks_active: UpDownCounter<i64>,
    tasks_ended: Counter<u64>,
}

fn seconds(meter: &Meter, name: &'static str, description: &'static str) -> Histogram<f64> {
    meter
        .f64_histogram(name)
        .with_unit("s")
        .with_description(description)
        .with_boundaries(DURATION_BUCKETS.to_vec())
        .build()
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter(SCOPE);
        Instruments {
            operation_duration: seconds(
                &meter,
                "mcp.server.operation.duration",
                "MCP request duration as observed on the receiver from the time it was received \
                 until the result or ack is sent.",
            ),
            session_duration: seconds(
                &meter,
                "mcp.server.session.duration",
                "The duration of the MCP session as observed on the MCP server.",
            ),
            plugin_calls: meter
                .u64_counter("capsule.plugin.calls")
                .with_unit("{call}")
                .with_description("Calls of a plugin's tools, resources and prompts, by outcome.")
                .build(),
            plugin_call_duration: seconds(
                &meter,
                "capsule.plugin.call.duration",
                "Time from the start of a plugin call to its outcome (instance creation included).",
            ),
            instantiation_duration: seconds(
                &meter,
                "capsule.plugin.instantiation.duration",
                "Time to create a plugin's instance for one call.",
            ),
            memory_peak: meter
                .u64_histogram("capsule.plugin.memory.peak")
                .with_unit("By")
                .with_description("A call's guest linear-memory high-water mark.")
                .with_boundaries(MEMORY_BUCKETS.to_vec())
                .build(),
            compile_duration: seconds(
                &meter,
                "capsule.plugin.compile.duration",
                "Time to compile (or load from the compile cache) a plugin's component.",
            ),
            plugin_loads: meter
                .u64_counter("capsule.plugin.loads")
                .with_unit("{load}")
                .with_description("Plugin loads and hot reloads, by outcome (ok, failed, held).")
                .build(),
            network_denials: meter
                .u64_counter("capsule.network.denials")
                .with_unit("{request}")
                .with_description("Outgoing requests of a plugin its grants refused.")
                .build(),
            auth_failures: meter
                .u64_counter("capsule.auth.failures")
                .with_unit("{request}")
                .with_description("HTTP requests refused by authentication, by reason.")
                .build(),
            plugins_loaded: meter
                .u64_gauge("capsule.plugins.loaded")
                .with_unit("{plugin}")
                .with_description("Plugins being served.")
                .build(),
            sessions_active: meter
                .i64_up_down_counter("capsule.sessions.active")
                .with_unit("{session}")
                .with_description("Open MCP sessions.")
                .build(),
            streams_active: meter
                .i64_up_down_counter("capsule.streams.active")
                .with_unit("{stream}")
                .with_description("Open long-lived streams (SSE, subscriptions/listen).")
                .build(),
            tasks_active: meter
                .i64_up_down_counter("capsule.tasks.active")
                .with_unit("{task}")
                .with_description("MCP tasks of a plugin running (working or waiting for input).")
                .build(),
            tasks_ended: meter
                .u64_counter("capsule.tasks.ended")
                .with_unit("{task}")
                .with_description("MCP tasks of a plugin that ended, by status.")
                .build(),
        }
    })
}

/// `network.transport` of a transport: `pipe` (stdio) or `tcp` (HTTP).
pub fn network_transport(stdio: bool) -> &'static str {
    if stdio { "pipe" } else { "tcp" }
}

/// One MCP request handled (`mcp.server.operation.duration`). `tool` and `prompt` are the
/// published names on `tools/call` and `prompts/get`; `error_type` is set when it failed (a
/// JSON-RPC error code, or `tool_error` for a result with `isError`).
pub struct Operation<'a> {
    /// `mcp.method.name`.
    pub method: &'a str,
    /// `gen_ai.tool.name` (and `gen_ai.operation.name` = `execute_tool`).
    pub tool: Option<&'a str>,
    /// `gen_ai.prompt.name`.
    pub prompt: Option<&'a str>,
    /// `error.type`.
    pub error_type: Option<&'a str>,
    /// `mcp.protocol.version`.
    pub protocol_version: Option<&'a str>,
    /// `network.transport`.
    pub transport: &'static str,
}

/// Record one MCP request of `duration`.
pub fn operation(op: &Operation<'_>, duration: Duration) {
    if !enabled() {
        return;
    }
    let mut attributes = vec![
        KeyValue::new("mcp.method.name", op.method.to_string()),
        KeyValue::new("network.transport", op.transport),
    ];
    if let Some(tool) = op.tool {
        attributes.push(KeyValue::new("gen_ai.tool.name", tool.to_string()));
        attributes.push(KeyValue::new("gen_ai.operation.name", "execute_tool"));
    }
    if let Some(prompt) = op.prompt {
        attributes.push(KeyValue::new("gen_ai.prompt.name", prompt.to_string()));
    }
    if let Some(error) = op.error_type {
        attributes.push(KeyValue::new("error.type", error.to_string()));
    }
    if let Some(version) = op.protocol_version {
        attributes.push(KeyValue::new("mcp.protocol.version", version.to_string()));
    }
    instruments()
        .operation_duration
        .record(duration.as_secs_f64(), &attributes);
}

/// One ended MCP session of `duration` (`mcp.server.session.duration`).
pub fn session(protocol_version: Option<&str>, transport: &'static str, duration: Duration) {
    if !enabled() {
        return;
    }
    let mut attributes = vec![KeyValue::new("network.transport", transport)];
    if let Some(version) = protocol_version {
        attributes.push(KeyValue::new("mcp.protocol.version", version.to_string()));
    }
    instruments()
        .session_duration
        .record(duration.as_secs_f64(), &attributes);
}

/// One plugin call (`capsule.plugin.calls`, `capsule.plugin.call.duration`); `tool` is the
/// plugin's own tool name on tool calls.
pub fn plugin_call(plugin: &str, tool: Option<&str>, outcome: Outcome, duration: Duration) {
    if !enabled() {
        return;
    }
    let mut attributes = vec![
        KeyValue::new("capsule.plugin", plugin.to_string()),
        KeyValue::new("capsule.outcome", outcome.as_str()),
    ];
    if let Some(tool) = tool {
        attributes.push(KeyValue::new("gen_ai.tool.name", tool.to_string()));
    }
    let i = instruments();
    i.plugin_calls.add(1, &attributes);
    i.plugin_call_duration
        .record(duration.as_secs_f64(), &attributes);
}

/// One instance created for a call of `plugin`.
pub fn instantiation(plugin: &str, duration: Duration) {
    if !enabled() {
        return;
    }
    instruments().instantiation_duration.record(
        duration.as_secs_f64(),
        &[KeyValue::new("capsule.plugin", plugin.to_string())],
    );
}

/// A call's guest memory high-water mark, in bytes.
pub fn memory_peak(plugin: &str, bytes: usize) {
    if !enabled() {
        return;
    }
    instruments().memory_peak.record(
        bytes as u64,
        &[KeyValue::new("capsule.plugin", plugin.to_string())],
    );
}

/// A component compiled (`cache_hit`: loaded from the compile cache instead).
pub fn compile(plugin: &str, cache_hit: bool, duration: Duration) {
    if !enabled() {
        return;
    }
    instruments().compile_duration.record(
        duration.as_secs_f64(),
        &[
            KeyValue::new("capsule.plugin", plugin.to_string()),
            KeyValue::new(
                "capsule.compile_cache",
                if cache_hit { "hit" } else { "miss" },
            ),
        ],
    );
}

/// A plugin load finished: `ok`, `failed` or `held` (definitions differ from the lock).
pub fn plugin_load(plugin: &str, outcome: &'static str) {
    if !enabled() {
        return;
    }
    instruments().plugin_loads.add(
        1,
        &[
            KeyValue::new("capsule.plugin", plugin.to_string()),
            KeyValue::new("capsule.outcome", outcome),
        ],
    );
}

/// The number of plugins being served.
pub fn plugins_loaded(count: usize) {
    if !enabled() {
        return;
    }
    instruments().plugins_loaded.record(count as u64, &[]);
}

/// `count` outgoing requests of `plugin` refused by its network grants.
pub fn network_denials(plugin: &str, count: usize) {
    if !enabled() || count == 0 {
        return;
    }
    instruments().network_denials.add(
        count as u64,
        &[KeyValue::new("capsule.plugin", plugin.to_string())],
    );
}

/// An HTTP request refused by authentication (`missing_token`, `invalid_token`,
/// `insufficient_scope`, `rate_limited`).
pub fn auth_failure(reason: &'static str) {
    if !enabled() {
        return;
    }
    instruments()
        .auth_failures
        .add(1, &[KeyValue::new("capsule.reason", reason)]);
}

/// A session opened (`+1`) or closed (`-1`).
pub fn sessions_active(delta: i64, transport: &'static str) {
    if !enabled() {
        return;
    }
    instruments()
        .sessions_active
        .add(delta, &[KeyValue::new("network.transport", transport)]);
}

/// A long-lived stream opened (`+1`) or closed (`-1`).
pub fn streams_active(delta: i64) {
    if !enabled() {
        return;
    }
    instruments().streams_active.add(delta, &[]);
}

/// An MCP task of `plugin` started (`+1`) or stopped running (`-1`): `capsule.tasks.active`.
pub fn tasks_active(plugin: &str, delta: i64) {
    if !enabled() {
        return;
    }
    instruments().tasks_active.add(
        delta,
        &[KeyValue::new("capsule.plugin", plugin.to_string())],
    );
}

/// An MCP task of `plugin` ended with `status` (`completed`, `failed`, `cancelled`):
/// `capsule.tasks.ended`.
pub fn task_ended(plugin: &str, status: &'static str) {
    if !enabled() {
        return;
    }
    instruments().tasks_ended.add(
        1,
        &[
            KeyValue::new("capsule.plugin", plugin.to_string()),
            KeyValue::new("capsule.outcome", status),
        ],
    );
}
