//! `capsule-bench`: a load generator for any MCP server, and Capsule's standard benchmark suite.
//!
//! ```text
//! # per-call latency and throughput of one tool, sequential and concurrent
//! capsule-bench load --cmd "target/dist/capsule serve --plugins target/examples" \
//!     --tool hello_greet --args '{"name":"bench"}' --concurrency 1,16,64
//! capsule-bench load --url http://127.0.0.1:8931/mcp --era 2026-07-28 --tool hello_greet ...
//! capsule-bench load --cmd "server --http 127.0.0.1:{port}" --url "http://127.0.0.1:{port}/mcp" ...
//! # start-up (spawn → first successful tools/list) and memory at ready
//! capsule-bench startup --cmd "..." --runs 10
//! # hot reload (file drop → notifications/tools/list_changed)
//! capsule-bench reload --cmd "target/dist/capsule serve --plugins {dir}" --plugin hello.wasm
//! # the standard suite (`make bench`)
//! capsule-bench suite --capsule target/dist/capsule --native target/dist/capsule-native-baseline ...
//! ```
//!
//! The harness speaks JSON-RPC directly (no SDK in the measured path): see [`proto`] for the
//! 2025-11-25 and 2026-07-28 request shapes, [`stdio`] and [`http`] for the transports, [`load`]
//! for how load is generated and what is timed. By default the client runs on one thread, so
//! on a small machine it takes at most one core from the server.

mod fairness;
mod http;
mod load;
mod plot;
mod proto;
mod reload;
mod report;
mod server;
mod startup;
mod stats;
mod stdio;
mod suite;
mod telemetry;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::load::{LevelPlan, Workload};
use crate::proto::Era;
use crate::report::LoadRun;
use crate::server::{Server, ServerSpec};

#[derive(Parser)]
#[command(
    name = "capsule-bench",
    version,
    about = "Load generator for any MCP server (stdio or Streamable HTTP, 2025-11-25 or 2026-07-28), and Capsule's benchmark suite"
)]
struct Cli {
    /// Threads of the client's async runtime (1 = a single-threaded client).
    #[arg(long, global = true, default_value_t = 1)]
    client_threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Per-call latency (p50/p90/p99/max) and throughput of one tool at each concurrency level.
    Load(LoadArgs),
    /// Start-up time (spawn → first successful tools/list) and memory when ready.
    Startup(StartupArgs),
    /// Hot-reload latency: plugin file drop → notifications/tools/list_changed (stdio).
    Reload(ReloadArgs),
    /// The standard suite: Capsule against the native baseline; writes JSON, Markdown and a plot.
    Suite(suite::SuiteArgs),
}

/// Which server, how to reach it, which protocol era.
#[derive(Args, Clone)]
struct TargetArgs {
    /// Server command, run through `sh -c "exec CMD"`. Alone: MCP over its stdin/stdout. With
    /// --url: the process serving that URL (spawned, timed and measured). `{port}` is replaced
    /// by a free loopback port.
    #[arg(long)]
    cmd: Option<String>,
    /// Streamable HTTP endpoint, e.g. http://127.0.0.1:8931/mcp (`{port}`: see --cmd).
    #[arg(long)]
    url: Option<String>,
    /// Protocol era: 2025-11-25 (initialize, sessions) or 2026-07-28 (stateless, per-request _meta).
    #[arg(long, default_value = "2025-11-25")]
    era: Era,
    /// Name of the server in reports.
    #[arg(long, default_value = "server")]
    label: String,
    /// Append the server's stderr to this file (default: discard).
    #[arg(long)]
    stderr: Option<PathBuf>,
}

impl TargetArgs {
    fn spec(&self) -> anyhow::Result<ServerSpec> {
        if self.cmd.is_none() && self.url.is_none() {
            anyhow::bail!("give the server command (--cmd) or its URL (--url), or both");
        }
        Ok(ServerSpec {
            label: self.label.clone(),
            cmd: self.cmd.clone(),
            url: self.url.clone(),
            stderr: self.stderr.clone(),
        })
    }
}

#[derive(Args)]
struct LoadArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Tool to call, e.g. hello_greet.
    #[arg(long)]
    tool: String,
    /// Tool arguments, a JSON object.
    #[arg(long, default_value = "{}")]
    args: String,
    /// Add a `text` argument of this many bytes (deterministic ASCII prose).
    #[arg(long)]
    text_bytes: Option<usize>,
    /// Concurrency levels (calls in flight), comma-separated.
    #[arg(long, default_value = "1,16,64", value_delimiter = ',')]
    concurrency: Vec<usize>,
    /// Measured calls per level (at most).
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Unrecorded warm-up calls per level (at least 2 per worker).
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    /// Stop a level's measured phase after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    max_seconds: f64,
    /// Write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the Markdown table here (it is always printed).
    #[arg(long)]
    markdown: Option<PathBuf>,
}

#[derive(Args)]
struct StartupArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// How many starts.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Write the result as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args)]
struct ReloadArgs {
    /// Server command (stdio, 2025-11-25); `{dir}` is the watched plugin directory, `{tmp}` a
    /// private scratch directory, e.g. "capsule serve --plugins {dir} --cache-dir {tmp}/cache".
    #[arg(long)]
    cmd: String,
    /// The plugin component to drop.
    #[arg(long)]
    plugin: PathBuf,
    /// Drops per case (new build, known content).
    #[arg(long, default_value_t = 10)]
    rounds: usize,
    /// Append the server's stderr to this file.
    #[arg(long)]
    stderr: Option<PathBuf>,
    /// Write the result as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn write_json(path: &Option<PathBuf>, value: &impl serde::Serialize) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

async fn load(a: LoadArgs) -> anyhow::Result<()> {
    let spec = a.target.spec()?;
    let mut arguments: Value = serde_json::from_str(&a.args).context("--args is not JSON")?;
    if let Some(n) = a.text_bytes {
        arguments
            .as_object_mut()
            .context("--args must be a JSON object")?
            .insert("text".into(), Value::String(proto::sample_text(n)));
    }
    let label = match a.text_bytes {
        Some(n) => format!("{} {} B", a.tool, n),
        None => a.tool.clone(),
    };
    let workload = Workload::new(label, &a.tool, arguments);
    let plans: Vec<LevelPlan> = a
        .concurrency
        .iter()
        .map(|&c| LevelPlan {
            concurrency: c.max(1),
            calls: a.calls,
            warmup: a.warmup.max(2 * c),
            max_seconds: a.max_seconds,
        })
        .collect();
    let server = Server::start(&spec, a.target.era).await?;
    if !server.tools.is_empty() && !server.tools.contains(&a.tool) {
        let have = server.tools.join(", ");
        server.stop(std::time::Duration::from_secs(5)).await;
        anyhow::bail!(
            "the server does not offer tool '{}'; it has: {have}",
            a.tool
        );
    }
    let levels = load::run_levels(&server, a.target.era, &workload, &plans).await;
    let memory_after = server.memory();
    let startup_ms = server.startup.as_secs_f64() * 1e3;
    server.stop(std::time::Duration::from_secs(5)).await;
    let run = LoadRun {
        server: spec.label.clone(),
        transport: spec.transport().into(),
        era: a.target.era,
        workload,
        startup_ms,
        levels: levels?,
        memory_after,
    };
    let table = report::load_table(std::slice::from_ref(&run));
    println!("start-up {:.1} ms\n\n{table}", run.startup_ms);
    for l in &run.levels {
        if let Some(e) = &l.first_error {
            eprintln!(
                "capsule-bench: {} of {} calls at concurrency {} failed; first: {e}",
                l.errors, l.calls, l.concurrency
            );
        }
    }
    if let Some(path) = &a.markdown {
        std::fs::write(path, &table)?;
    }
    write_json(&a.json, &run)?;
    if run
        .levels
        .iter()
        .any(|l| l.errors == l.calls && l.calls > 0)
    {
        anyhow::bail!("every call failed at some level");
    }
    Ok(())
}

async fn startup(a: StartupArgs) -> anyhow::Result<()> {
    let spec = a.target.spec()?;
    let r = startup::measure(&spec, a.target.era, a.runs).await?;
    println!(
        "{} ({}, {}): start-up over {} runs: p50 {} ms, min {} ms, max {} ms; RSS when ready {} MiB; {} tools",
        spec.label,
        spec.transport(),
        a.target.era,
        r.startup_ms.n,
        report::ms(r.startup_ms.p50),
        report::ms(r.startup_ms.min),
        report::ms(r.startup_ms.max),
        report::mib(r.ready_rss_kib),
        r.tools
    );
    write_json(&a.json, &r)
}

async fn reload(a: ReloadArgs) -> anyhow::Result<()> {
    let r = reload::measure(&a.cmd, &a.plugin, a.rounds, a.stderr.as_deref()).await?;
    println!(
        "{} ({} KiB): drop → list_changed over {} rounds: new build p50 {} ms (max {}), known content p50 {} ms (max {})",
        a.plugin.display(),
        r.plugin_bytes / 1024,
        a.rounds,
        report::ms(r.new_build_ms.p50),
        report::ms(r.new_build_ms.max),
        report::ms(r.known_content_ms.p50),
        report::ms(r.known_content_ms.max),
    );
    write_json(&a.json, &r)
}

fn main() {
    let cli = Cli::parse();
    let runtime = if cli.client_threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.client_threads)
            .enable_all()
            .build()
    };
    let result = runtime.map_err(anyhow::Error::from).and_then(|runtime| {
        runtime.block_on(async move {
            match cli.command {
                Command::Load(a) => load(a).await,
                Command::Startup(a) => startup(a).await,
                Command::Reload(a) => reload(a).await,
                Command::Suite(a) => suite::run(a).await,
            }
        })
    });
    if let Err(e) = result {
        eprintln!("capsule-bench: {e:#}");
        std::process::exit(1);
    }
}
