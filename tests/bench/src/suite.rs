//! The standard suite (`make bench`): Capsule against the native baseline in one run.
//!
//! 0. Headline: `hello_greet` over stdio at concurrency 1, in both eras, [`HEADLINE_ROUNDS`]
//!    short runs per server with the servers alternating (native, native on non-blocking pipes,
//!    Capsule), each a fresh process. The ratio reported is the median over rounds of the
//!    round's Capsule ÷ native: neighbours in time, so a load spike from elsewhere on a shared
//!    machine moves both sides of a ratio, not one.
//! 1. Load: `hello_greet` and `textkit_reverse` with a 1 MiB text (1 MiB in, 1 MiB of text out,
//!    carried twice in the result: as text content and as structured content), over stdio and
//!    Streamable HTTP, in both protocol eras, at concurrency 1, 16 and 64; native and Capsule
//!    alternate for each combination. Each combination is one fresh server process, whose
//!    `VmHWM` after the run is its peak RSS under that load. Over stdio a third server runs:
//!    `native-pipes`, the native baseline reading and writing stdin/stdout the way Capsule does
//!    (non-blocking pipes on the reactor; rmcp's own stdio goes through tokio's blocking thread
//!    pool), so that Capsule ÷ `native-pipes` is the cost of the sandbox and the host's layers
//!    alone, with the I/O model taken out.
//! 2. Start-up (spawn → first `tools/list`, 2025-11-25 over stdio): the native baseline; Capsule
//!    with no plugins; Capsule with the example set, compile cache cold (`--no-cache`) and warm.
//! 3. Plugin count: Capsule with 1, 10 and 100 copies of `hello` (warm cache; cold once):
//!    start-up and RSS when ready, and RSS growth per idle plugin between 10 and 100.
//! 4. Hot reload: see [`crate::reload`].
//! 5. Fairness: `hello_greet` p50 next to 8 spinning calls of another plugin ÷ its idle p50
//!    (issue #14): see [`crate::fairness`].
//! 6. Telemetry cost (issue #18): `hello_greet` over Streamable HTTP 2026-07-28 with telemetry
//!    off, with `--metrics`, and with traces exported over OTLP/HTTP (sampled and always-on) to
//!    a counting sink, in alternating rounds: see [`crate::telemetry`].
//! 7. Instance creation: the criterion benchmark `host/benches/instantiate.rs`, run before the
//!    suite by `make bench`; its estimates are read from `target/criterion`.
//!
//! Everything is written to `--out` (`results.json`, `report.md`, `servers.log`) and, with
//! `--update FILE`, spliced into FILE between the `capsule-bench` markers. Nothing is assumed:
//! a figure that was not measured is reported as missing, with the reason.

use std::fmt::Write as _;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use serde_json::json;

use crate::fairness::{self, FairnessResult};
use crate::load::{self, LevelPlan, Workload};
use crate::proto::{self, Era};
use crate::reload::{self, ReloadResult};
use crate::report::{self, LoadRun, mib, ms, rate};
use crate::server::{Server, ServerSpec};
use crate::startup::{self, StartupResult};
use crate::telemetry::{self, TelemetryCost};

/// Options of `capsule-bench suite`.
#[derive(Args)]
pub struct SuiteArgs {
    /// The Capsule binary.
    #[arg(long, default_value = "target/dist/capsule")]
    capsule: PathBuf,
    /// The native baseline binary.
    #[arg(long, default_value = "target/dist/capsule-native-baseline")]
    native: PathBuf,
    /// The example plugin set (hello, textkit, notes and notes.toml).
    #[arg(long, default_value = "target/examples")]
    examples: PathBuf,
    /// The hello component (copied for the plugin-count runs, dropped for hot reload).
    #[arg(long, default_value = "target/plugins/hello.wasm")]
    hello: PathBuf,
    /// The hostile fixture component, whose `spin` tool loads the CPU for the fairness run.
    #[arg(long, default_value = "target/plugins/hostile.wasm")]
    spinner: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Markdown file to update between `<!-- capsule-bench:begin -->` and `<!-- capsule-bench:end -->`.
    #[arg(long)]
    update: Option<PathBuf>,
    /// Where to draw the latency plot (SVG; default OUT/latency.svg).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// How the plot is linked from the updated Markdown (default: the plot path).
    #[arg(long)]
    plot_link: Option<String>,
    /// Criterion's output directory.
    #[arg(long, default_value = "target/criterion")]
    criterion: PathBuf,
    /// A tiny workload (seconds, not minutes): checks that everything runs.
    #[arg(long)]
    quick: bool,
    /// Parts to run (default all): headline, load, startup, scaling, reload, fairness, telemetry.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// The machine the suite ran on.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub logical_cpus: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub rustc: String,
    pub git: String,
    pub date: String,
}

/// Start-up of one named configuration.
#[derive(Clone, Debug, Serialize)]
pub struct NamedStartup {
    pub name: String,
    pub command: String,
    pub result: StartupResult,
}

/// Capsule with `copies` copies of hello.
#[derive(Clone, Debug, Serialize)]
pub struct Scaling {
    pub copies: usize,
    pub warm: StartupResult,
    pub cold: Option<StartupResult>,
}

/// One criterion estimate (median of the sample means), in microseconds.
#[derive(Clone, Debug, Serialize)]
pub struct CriterionEstimate {
    pub id: String,
    pub median_us: f64,
    pub lower_us: f64,
    pub upper_us: f64,
}

/// One row of the bar (issue #9).
#[derive(Clone, Debug, Serialize)]
pub struct BarRow {
    pub figure: String,
    pub target: String,
    pub measured: String,
    /// `None`: not measured (see `measured`).
    pub met: Option<bool>,
}

/// `rows` as a Markdown table: figure, target, measured, met (`yes`, **no**, or – when not
/// measured).
pub fn bar_table(rows: &[BarRow]) -> String {
    let mut s = String::from("| figure | target | measured | met |\n|---|---|---|---|\n");
    for b in rows {
        let met = match b.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {met} |",
            b.figure, b.target, b.measured
        );
    }
    s
}

/// One server's headline rounds in one era.
#[derive(Clone, Debug, Serialize)]
pub struct Headline {
    pub era: Era,
    pub server: String,
    /// Measured calls per round, after `warmup` unrecorded ones.
    pub calls: usize,
    pub warmup: usize,
    /// p50 latency of each round, in milliseconds (rounds in order; the servers alternate).
    pub p50_ms: Vec<f64>,
}

/// Everything one suite run measured.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteReport {
    pub machine: Machine,
    pub command: String,
    pub headline: Vec<Headline>,
    pub loads: Vec<LoadRun>,
    pub startups: Vec<NamedStartup>,
    pub scaling: Vec<Scaling>,
    pub reload: Option<ReloadResult>,
    pub fairness: Option<FairnessResult>,
    /// Throughput with metrics and traces on against telemetry off (issue #18).
    pub telemetry: Option<TelemetryCost>,
    pub criterion: Vec<CriterionEstimate>,
    pub bar: Vec<BarRow>,
    /// Parts not measured, and why.
    pub missing: Vec<String>,
    /// Parts that failed, with the error.
    pub failures: Vec<String>,
}

const HELLO: &str = "hello";
/// Alternating rounds of the headline measurement.
const HEADLINE_ROUNDS: usize = 7;
/// The servers of the headline, in the order they alternate; the ratios are `capsule` ÷ these.
const NATIVE: &str = "native";
const NATIVE_PIPES: &str = "native-pipes";
const BIG: &str = "textkit 1 MiB";
const BEGIN: &str =
    "<!-- capsule-bench:begin (generated by `make bench`; edits here are overwritten) -->";
const END: &str = "<!-- capsule-bench:end -->";

fn sh_quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+:=".contains(&b))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn plans(workload: &str, quick: bool) -> Vec<LevelPlan> {
    let p = |concurrency, calls, warmup, max_seconds| LevelPlan {
        concurrency,
        calls,
        warmup,
        max_seconds,
    };
    match (workload, quick) {
        (HELLO, false) => vec![
            p(1, 3000, 300, 4.0),
            p(16, 20000, 500, 3.0),
            p(64, 30000, 1000, 3.0),
        ],
        (_, false) => vec![p(1, 100, 5, 6.0), p(16, 240, 16, 6.0), p(64, 320, 64, 8.0)],
        (HELLO, true) => vec![p(1, 30, 5, 5.0), p(4, 40, 8, 5.0)],
        (_, true) => vec![p(1, 5, 1, 5.0), p(4, 8, 4, 5.0)],
    }
}

fn private_dir(path: &Path) -> anyhow::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// Whether `capsule serve --help` lists `option`, e.g. `--http` (the Streamable HTTP
/// transport) or `--metrics`.
fn capsule_serve_has(capsule: &Path, option: &str) -> bool {
    std::process::Command::new(capsule)
        .args(["serve", "--help"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split(|c: char| c.is_whitespace() || c == ',')
                .any(|w| w == option)
        })
        .unwrap_or(false)
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    let git = match command_output("git", &["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev} + uncommitted changes")
            } else {
                rev
            }
        }
        None => "unknown".into(),
    };
    Machine {
        cpu,
        logical_cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_gib: memory_kib / 1024.0 / 1024.0,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into()),
        rustc: command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
        git,
        date: command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).unwrap_or_default(),
    }
}

/// Run one load combination on a fresh server process.
async fn load_run(
    spec: &ServerSpec,
    era: Era,
    workload: &Workload,
    plans: &[LevelPlan],
) -> anyhow::Result<LoadRun> {
    let server = Server::start(spec, era).await?;
    if !server.tools.contains(&workload.tool) {
        let have = server.tools.join(", ");
        server.stop(Duration::from_secs(5)).await;
        anyhow::bail!(
            "{} does not offer {}; it has: {have}",
            spec.label,
            workload.tool
        );
    }
    let levels = load::run_levels(&server, era, workload, plans).await;
    let memory_after = server.memory();
    let startup_ms = server.startup.as_secs_f64() * 1e3;
    server.stop(Duration::from_secs(5)).await;
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
    Ok(LoadRun {
        server: spec.label.clone(),
        transport: spec.transport().into(),
        era,
        workload: workload.clone(),
        startup_ms,
        levels,
        memory_after,
    })
}

/// Criterion estimates under `dir` whose id starts with `instantiate` or `call`.
fn read_criterion(dir: &Path) -> Vec<CriterionEstimate> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n == "new") && p.join("estimates.json").is_file() {
                    out.push(p);
                } else {
                    walk(&p, out);
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, &mut found);
    let mut estimates: Vec<CriterionEstimate> = found
        .into_iter()
        .filter_map(|new| {
            let bench: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(new.join("benchmark.json")).ok()?)
                    .ok()?;
            let est: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(new.join("estimates.json")).ok()?)
                    .ok()?;
            let id = bench["full_id"].as_str()?.to_string();
            if !(id.starts_with("instantiate") || id.starts_with("call")) {
                return None;
            }
            let m = &est["median"];
            Some(CriterionEstimate {
                id,
                median_us: m["point_estimate"].as_f64()? / 1e3,
                lower_us: m["confidence_interval"]["lower_bound"].as_f64()? / 1e3,
                upper_us: m["confidence_interval"]["upper_bound"].as_f64()? / 1e3,
            })
        })
        .collect();
    estimates.sort_by(|a, b| a.id.cmp(&b.id));
    estimates
}

/// Run the suite.
///
/// # Errors
/// The output cannot be written, or some part failed (after the report was written).
pub async fn run(a: SuiteArgs) -> anyhow::Result<()> {
    let want = |part: &str| a.only.is_empty() || a.only.iter().any(|p| p == part);
    for (what, path) in [
        ("capsule", &a.capsule),
        ("native baseline", &a.native),
        ("hello plugin", &a.hello),
    ] {
        anyhow::ensure!(
            path.exists(),
            "the {what} is missing: {} (run `make plugins build` and build capsule-native-baseline)",
            path.display()
        );
    }
    anyhow::ensure!(
        a.examples.is_dir(),
        "the example plugin directory is missing: {}",
        a.examples.display()
    );
    std::fs::create_dir_all(&a.out)?;
    let out = std::fs::canonicalize(&a.out)?;
    let cache = out.join("cache");
    let _ = std::fs::remove_dir_all(&cache);
    private_dir(&cache)?;
    let log = out.join("servers.log");
    std::fs::write(&log, "")?;
    let capsule = sh_quote(&std::fs::canonicalize(&a.capsule)?);
    let native = sh_quote(&std::fs::canonicalize(&a.native)?);
    let examples = sh_quote(&std::fs::canonicalize(&a.examples)?);
    let cache_q = sh_quote(&cache);

    let mut report = SuiteReport {
        machine: machine(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        headline: Vec::new(),
        loads: Vec::new(),
        startups: Vec::new(),
        scaling: Vec::new(),
        reload: None,
        fairness: None,
        telemetry: None,
        criterion: Vec::new(),
        bar: Vec::new(),
        missing: Vec::new(),
        failures: Vec::new(),
    };
    let spec = |label: &str, cmd: String, url: Option<&str>| ServerSpec {
        label: label.into(),
        cmd: Some(cmd),
        url: url.map(str::to_owned),
        stderr: Some(log.clone()),
    };

    let capsule_stdio = format!("{capsule} serve --plugins {examples} --cache-dir {cache_q}");
    let stdio_servers = [
        spec(NATIVE, native.clone(), None),
        spec(NATIVE_PIPES, format!("{native} --stdio-pipes"), None),
        spec("capsule", capsule_stdio.clone(), None),
    ];
    if want("load") || want("headline") || want("telemetry") {
        // Fill the compile cache first: every load run measures a warm server (a cold start's
        // compilation would otherwise be the first run's peak RSS).
        let prime = spec("capsule", capsule_stdio.clone(), None);
        if let Err(e) = startup::measure(&prime, Era::Legacy, 1).await {
            report
                .failures
                .push(format!("priming the compile cache: {e:#}"));
        }
    }

    // 0. Headline.
    if want("headline") {
        let rounds = if a.quick { 1 } else { HEADLINE_ROUNDS };
        let hello = Workload::new(HELLO, "hello_greet", json!({"name": "bench"}));
        let plan = [LevelPlan {
            concurrency: 1,
            calls: if a.quick { 30 } else { 1000 },
            warmup: if a.quick { 5 } else { 200 },
            max_seconds: 3.0,
        }];
        for era in Era::ALL {
            eprintln!("capsule-bench: headline {era} ({rounds} rounds)");
            let mut per: Vec<Headline> = stdio_servers
                .iter()
                .map(|s| Headline {
                    era,
                    server: s.label.clone(),
                    calls: plan[0].calls,
                    warmup: plan[0].warmup,
                    p50_ms: Vec::new(),
                })
                .collect();
            for _ in 0..rounds {
                for (s, h) in stdio_servers.iter().zip(per.iter_mut()) {
                    match load_run(s, era, &hello, &plan).await {
                        Ok(run) => h
                            .p50_ms
                            .extend(run.levels.first().map(|l| l.latency_ms.p50)),
                        Err(e) => report
                            .failures
                            .push(format!("headline {} {era}: {e:#}", s.label)),
                    }
                }
            }
            report.headline.extend(per);
        }
    }

    // 1. Load.
    if want("load") {
        let http = capsule_serve_has(&a.capsule, "--http");
        if !http {
            report.missing.push(format!(
                "Capsule over Streamable HTTP: `{} serve --help` shows no `--http` option yet (the HTTP transport has not landed); its HTTP rows are pending",
                a.capsule.display()
            ));
        }
        let big_bytes = if a.quick { 64 << 10 } else { 1 << 20 };
        let workloads = [
            Workload::new(HELLO, "hello_greet", json!({"name": "bench"})),
            Workload::new(
                BIG,
                "textkit_reverse",
                json!({"text": proto::sample_text(big_bytes)}),
            ),
        ];
        let url = "http://127.0.0.1:{port}/mcp";
        for transport in ["stdio", "http"] {
            for era in Era::ALL {
                for workload in &workloads {
                    let plans = plans(&workload.label, a.quick);
                    let mut specs = Vec::new();
                    if transport == "stdio" {
                        specs.extend(stdio_servers.iter().cloned());
                    } else {
                        specs.push(spec(
                            "native",
                            format!("{native} --http 127.0.0.1:{{port}}"),
                            Some(url),
                        ));
                        if http {
                            specs.push(spec("capsule", format!("{capsule} serve --plugins {examples} --cache-dir {cache_q} --http 127.0.0.1:{{port}}"), Some(url)));
                        }
                    }
                    for s in &specs {
                        eprintln!(
                            "capsule-bench: load {} {transport} {era} {}",
                            s.label, workload.label
                        );
                        match load_run(s, era, workload, &plans).await {
                            Ok(run) => report.loads.push(run),
                            Err(e) => report.failures.push(format!(
                                "load {} {transport} {era} {}: {e:#}",
                                s.label, workload.label
                            )),
                        }
                    }
                }
            }
        }
    }

    // 2. Start-up.
    if want("startup") {
        let runs: usize = if a.quick { 2 } else { 10 };
        let empty = out.join("empty-plugins");
        std::fs::create_dir_all(&empty)?;
        let warm_cmd = format!("{capsule} serve --plugins {examples} --cache-dir {cache_q}");
        let configs = [
            ("native baseline", native.clone(), runs),
            (
                "capsule, no plugins",
                format!(
                    "{capsule} serve --plugins {} --cache-dir {cache_q}",
                    sh_quote(&empty)
                ),
                runs,
            ),
            (
                "capsule, example set, cold (--no-cache)",
                format!("{capsule} serve --plugins {examples} --no-cache"),
                runs.div_ceil(2),
            ),
            ("capsule, example set, warm cache", warm_cmd.clone(), runs),
        ];
        // Prime the cache for the warm runs.
        if let Err(e) = startup::measure(&spec("capsule", warm_cmd, None), Era::Legacy, 1).await {
            report
                .failures
                .push(format!("priming the compile cache: {e:#}"));
        }
        for (name, cmd, n) in configs {
            eprintln!("capsule-bench: start-up {name}");
            match startup::measure(&spec(name, cmd.clone(), None), Era::Legacy, n).await {
                Ok(result) => report.startups.push(NamedStartup {
                    name: name.into(),
                    command: cmd,
                    result,
                }),
                Err(e) => report.failures.push(format!("start-up {name}: {e:#}")),
            }
        }
    }

    // 3. Plugin count.
    if want("scaling") {
        let hello = std::fs::read(&a.hello)?;
        let counts: &[usize] = if a.quick { &[1, 3] } else { &[1, 10, 100] };
        for &n in counts {
            let dir = out.join(format!("hello-x{n}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            for i in 0..n {
                std::fs::write(dir.join(format!("hello{i:03}.wasm")), &hello)?;
            }
            let dir_q = sh_quote(&dir);
            let warm_cmd = format!("{capsule} serve --plugins {dir_q} --cache-dir {cache_q}");
            let cold_cmd = format!("{capsule} serve --plugins {dir_q} --no-cache");
            eprintln!("capsule-bench: start-up with {n} copies of hello");
            let warm = async {
                startup::measure(&spec("capsule", warm_cmd.clone(), None), Era::Legacy, 1).await?;
                startup::measure(
                    &spec("capsule", warm_cmd, None),
                    Era::Legacy,
                    if a.quick { 2 } else { 5 },
                )
                .await
            };
            match warm.await {
                Ok(warm) => {
                    let cold =
                        startup::measure(&spec("capsule", cold_cmd, None), Era::Legacy, 1).await;
                    if let Err(e) = &cold {
                        report
                            .failures
                            .push(format!("cold start with {n} copies: {e:#}"));
                    }
                    report.scaling.push(Scaling {
                        copies: n,
                        warm,
                        cold: cold.ok(),
                    });
                }
                Err(e) => report
                    .failures
                    .push(format!("warm start with {n} copies: {e:#}")),
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    // 4. Hot reload.
    if want("reload") {
        eprintln!("capsule-bench: hot reload");
        let cmd = format!("{capsule} serve --plugins {{dir}} --cache-dir {{tmp}}/cache");
        match reload::measure(&cmd, &a.hello, if a.quick { 2 } else { 10 }, Some(&log)).await {
            Ok(r) => report.reload = Some(r),
            Err(e) => report.failures.push(format!("hot reload: {e:#}")),
        }
    }

    // 5. Fairness.
    if want("fairness") {
        eprintln!("capsule-bench: fairness");
        let cmd = format!("{capsule} serve --plugins {{dir}} --cache-dir {{tmp}}/cache");
        let calls = if a.quick { 20 } else { 300 };
        match fairness::measure(&cmd, &a.hello, &a.spinner, calls, Some(&log)).await {
            Ok(r) => report.fairness = Some(r),
            Err(e) => report.failures.push(format!("fairness: {e:#}")),
        }
    }

    // 6. Telemetry cost.
    if want("telemetry") {
        if capsule_serve_has(&a.capsule, "--http") {
            let mut modes = telemetry::Mode::ALL.to_vec();
            if !capsule_serve_has(&a.capsule, "--metrics") {
                modes.retain(|m| *m != telemetry::Mode::Metrics);
                report.missing.push(format!(
                    "telemetry cost with metrics: `{} serve --help` shows no `--metrics` option",
                    a.capsule.display()
                ));
            }
            let serve = format!(
                "{capsule} serve --plugins {examples} --cache-dir {cache_q} --http 127.0.0.1:{{port}}"
            );
            let rounds = if a.quick { 1 } else { telemetry::ROUNDS };
            let (cost, failures) =
                telemetry::measure(&serve, &modes, rounds, telemetry::plans(a.quick), &log).await;
            report.failures.extend(failures);
            report.telemetry = Some(cost);
        } else {
            report.missing.push(format!(
                "telemetry cost: `{} serve --help` shows no `--http` option",
                a.capsule.display()
            ));
        }
    }

    // 7. Criterion.
    report.criterion = read_criterion(&a.criterion);
    if report.criterion.is_empty() {
        report.missing.push(format!(
            "instance creation: no criterion results under {} (run `cargo bench -p capsule-sandbox --bench instantiate` first; `make bench` does)",
            a.criterion.display()
        ));
    }

    report.bar = bar(&report);
    let plot = a.plot.clone().unwrap_or_else(|| out.join("latency.svg"));
    if let Some(dir) = plot.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    if !report.loads.is_empty()
        && let Err(e) = crate::plot::latency_vs_concurrency(&plot, &report.loads, &[HELLO, BIG])
    {
        report.failures.push(format!("plot: {e:#}"));
    }
    let plot_link = a
        .plot_link
        .clone()
        .unwrap_or_else(|| plot.display().to_string());
    let md = markdown(
        &report,
        (!report.loads.is_empty()).then_some(plot_link.as_str()),
    );
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;
    std::fs::write(out.join("report.md"), &md)?;
    if let Some(doc) = &a.update {
        let old = std::fs::read_to_string(doc).unwrap_or_default();
        std::fs::write(doc, report::splice(&old, BEGIN, END, &md))?;
    }
    println!("{md}");
    eprintln!(
        "capsule-bench: wrote {}/results.json, report.md; plot {}",
        out.display(),
        plot.display()
    );
    if !report.failures.is_empty() {
        anyhow::bail!(
            "{} part(s) failed:\n{}",
            report.failures.len(),
            report.failures.join("\n")
        );
    }
    Ok(())
}

fn find<'a>(
    r: &'a SuiteReport,
    server: &str,
    transport: &str,
    era: Era,
    workload: &str,
) -> Option<&'a LoadRun> {
    r.loads.iter().find(|l| {
        l.server == server
            && l.transport == transport
            && l.era == era
            && l.workload.label == workload
    })
}

fn level(run: Option<&LoadRun>, c: usize) -> Option<&crate::load::LevelResult> {
    run?.levels.iter().find(|l| l.concurrency == c)
}

fn headline<'a>(r: &'a SuiteReport, era: Era, server: &str) -> Option<&'a [f64]> {
    r.headline
        .iter()
        .find(|h| h.era == era && h.server == server && !h.p50_ms.is_empty())
        .map(|h| h.p50_ms.as_slice())
}

/// The median of `xs` (the mean of the middle two for an even count); `None` when empty.
pub(crate) fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    })
}

/// Median over the headline rounds of Capsule ÷ `base` (rounds paired in order).
fn headline_ratio(r: &SuiteReport, era: Era, base: &str) -> Option<f64> {
    let c = headline(r, era, "capsule")?;
    let b = headline(r, era, base)?;
    median(c.iter().zip(b).map(|(c, b)| c / b).collect())
}

fn missing(why: &str) -> (String, Option<bool>) {
    (format!("not measured ({why})"), None)
}

/// The issue's table, filled in from what this run measured.
fn bar(r: &SuiteReport) -> Vec<BarRow> {
    let mut rows = Vec::new();
    let mut row = |figure: &str, target: &str, (measured, met): (String, Option<bool>)| {
        rows.push(BarRow {
            figure: figure.into(),
            target: target.into(),
            measured,
            met,
        });
    };

    // hello p50 over stdio, Capsule ÷ native, per era: from the headline rounds (median of the
    // rounds' ratios), else from the load runs.
    let ratio = |era: Era, base: &str| -> Option<f64> {
        match headline_ratio(r, era, base) {
            Some(x) => Some(x),
            None => {
                let c = level(find(r, "capsule", "stdio", era, HELLO), 1)?;
                let n = level(find(r, base, "stdio", era, HELLO), 1)?;
                Some(c.latency_ms.p50 / n.latency_ms.p50)
            }
        }
    };
    let ratios: Vec<(Era, f64)> = Era::ALL
        .iter()
        .filter_map(|&era| Some((era, ratio(era, NATIVE)?)))
        .collect();
    let same_io: Vec<(Era, f64)> = Era::ALL
        .iter()
        .filter_map(|&era| Some((era, ratio(era, NATIVE_PIPES)?)))
        .collect();
    let list = |xs: &[(Era, f64)]| {
        xs.iter()
            .map(|(e, x)| format!("{x:.2}× ({e})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    row(
        "`hello` p50 over stdio, Capsule ÷ native (concurrency 1)",
        "≤ 1.3×",
        if ratios.is_empty() {
            missing("no stdio hello runs")
        } else {
            let mut text = format!("{} against rmcp's stdio transport", list(&ratios));
            if !same_io.is_empty() {
                text.push_str(&format!(
                    "; {} against the native server on Capsule's non-blocking pipes",
                    list(&same_io)
                ));
            }
            (text, Some(ratios.iter().all(|(_, x)| *x <= 1.3)))
        },
    );

    // Instance creation.
    let pooled = r.criterion.iter().find(|c| c.id == "instantiate/pooling");
    let ondemand = r.criterion.iter().find(|c| c.id == "instantiate/on-demand");
    row(
        "per-instance creation (pooling, `InstancePre`)",
        "≤ 50 µs p50",
        match pooled {
            Some(p) => {
                let mut text = format!("{:.1} µs", p.median_us);
                if let Some(o) = ondemand {
                    text.push_str(&format!(" (on-demand allocator: {:.1} µs)", o.median_us));
                }
                (text, Some(p.median_us <= 50.0))
            }
            None => missing("no criterion results"),
        },
    );

    // Warm start, example set.
    let warm = r
        .startups
        .iter()
        .find(|s| s.name.contains("example set, warm"));
    row(
        "warm start, example set",
        "< 50 ms",
        match warm {
            Some(s) => (
                format!("{} ms p50", ms(s.result.startup_ms.p50)),
                Some(s.result.startup_ms.p50 < 50.0),
            ),
            None => missing("start-up not run"),
        },
    );

    // 100 plugins.
    let s10 = r.scaling.iter().find(|s| s.copies == 10);
    let s100 = r.scaling.iter().find(|s| s.copies == 100);
    row(
        "warm start, 100 plugins",
        "< 500 ms",
        match s100 {
            Some(s) => (
                format!("{} ms p50", ms(s.warm.startup_ms.p50)),
                Some(s.warm.startup_ms.p50 < 500.0),
            ),
            None => missing("plugin-count runs not run"),
        },
    );
    row(
        "RSS growth per idle plugin (10 → 100 copies of hello)",
        "< 1 MiB",
        match (s10, s100) {
            (Some(a), Some(b)) => {
                let per = (b.warm.ready_rss_kib as f64 - a.warm.ready_rss_kib as f64) / 90.0;
                (format!("{:.0} KiB", per), Some(per < 1024.0))
            }
            _ => missing("plugin-count runs not run"),
        },
    );

    // Hot reload.
    row(
        "file drop → `list_changed`, small Rust plugin",
        "< 250 ms",
        match &r.reload {
            Some(x) => (
                format!(
                    "{} ms p50 new build (compiled), {} ms p50 known content (cache)",
                    ms(x.new_build_ms.p50),
                    ms(x.known_content_ms.p50)
                ),
                Some(x.new_build_ms.p50 < 250.0),
            ),
            None => missing("hot reload not run"),
        },
    );

    // Fairness.
    row(
        "`hello_greet` p50 next to 8 spinning calls of another plugin ÷ idle p50 (stdio)",
        "≤ 5×",
        match &r.fairness {
            Some(x) => (
                format!(
                    "{:.2}× ({} ms idle, {} ms loaded)",
                    x.ratio,
                    ms(x.idle_ms.p50),
                    ms(x.loaded_ms.p50)
                ),
                Some(x.ratio <= 5.0),
            ),
            None => missing("fairness not run"),
        },
    );

    // 1 MiB round trip.
    let big: Vec<(String, f64)> = [
        ("stdio", Era::Legacy),
        ("stdio", Era::Stateless),
        ("http", Era::Legacy),
        ("http", Era::Stateless),
    ]
    .iter()
    .filter_map(|&(t, e)| {
        Some((
            format!("{t} {e}"),
            level(find(r, "capsule", t, e, BIG), 1)?.latency_ms.p50,
        ))
    })
    .collect();
    row(
        "1 MiB result round trip (`textkit_reverse`, concurrency 1, p50)",
        "< 5 ms",
        if big.is_empty() {
            missing("no 1 MiB runs")
        } else {
            let text = big
                .iter()
                .map(|(k, v)| format!("{} ms ({k})", ms(*v)))
                .collect::<Vec<_>>()
                .join(", ");
            (text, Some(big.iter().all(|(_, v)| *v < 5.0)))
        },
    );

    // HTTP throughput.
    row(
        "HTTP 2026-07-28, concurrency 64, `hello`",
        "≥ 10 000 calls/s on 2 cores",
        match level(find(r, "capsule", "http", Era::Stateless, HELLO), 64) {
            Some(l) => {
                let native = level(find(r, "native", "http", Era::Stateless, HELLO), 64)
                    .map(|n| format!(" (native: {})", rate(n.throughput)))
                    .unwrap_or_default();
                (
                    format!("{} calls/s{native}", rate(l.throughput)),
                    Some(l.throughput >= 10_000.0),
                )
            }
            None => missing("Capsule HTTP runs pending"),
        },
    );

    // Peak RSS under load.
    let peaks: Vec<(String, u64)> = r
        .loads
        .iter()
        .filter(|l| l.server == "capsule" && l.workload.label == HELLO)
        .filter_map(|l| {
            Some((
                format!("{} {}", l.transport, l.era),
                l.memory_after?.hwm_kib,
            ))
        })
        .collect();
    let anon = r
        .loads
        .iter()
        .filter(|l| l.server == "capsule" && l.workload.label == HELLO)
        .filter_map(|l| Some(l.memory_after?.anon_kib))
        .max();
    row(
        "peak RSS serving the example set under load (`hello`, up to 64 in flight)",
        "< 30 MB",
        if peaks.is_empty() {
            missing("no Capsule hello runs")
        } else {
            let max = peaks.iter().map(|(_, k)| *k).max().unwrap_or(0);
            let anon = anon
                .map(|a| {
                    format!(
                        "; anonymous memory after the runs at most {:.1} MB, the rest is mapped files (mostly the executable's code)",
                        a as f64 * 1024.0 / 1e6
                    )
                })
                .unwrap_or_default();
            (
                format!(
                    "{:.1} MB max ({}){anon}",
                    max as f64 * 1024.0 / 1e6,
                    peaks
                        .iter()
                        .map(|(k, v)| format!("{k}: {:.1}", *v as f64 * 1024.0 / 1e6))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some((max as f64) * 1024.0 < 30e6),
            )
        },
    );
    rows
}

/// The generated part of BENCHMARKS.md.
fn markdown(r: &SuiteReport, plot: Option<&str>) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "## Results\n");
    let _ = writeln!(
        s,
        "Run of {} at git {}. Machine: {} ({} logical CPUs), {:.1} GiB RAM, Linux {}, {}.\n",
        m.date, m.git, m.cpu, m.logical_cpus, m.memory_gib, m.kernel, m.rustc
    );
    let _ = writeln!(s, "Suite command: `{}`\n", r.command);
    if !r.missing.is_empty() {
        s.push_str("**Not measured in this run:**\n\n");
        for x in &r.missing {
            let _ = writeln!(s, "- {x}");
        }
        s.push('\n');
    }
    if !r.failures.is_empty() {
        s.push_str("**Failed in this run:**\n\n");
        for x in &r.failures {
            let _ = writeln!(s, "- {x}");
        }
        s.push('\n');
    }

    s.push_str("### The bar (issue #9)\n\n");
    s.push_str(&bar_table(&r.bar));
    s.push('\n');

    if !r.headline.is_empty() {
        let rounds = r.headline.iter().map(|h| h.p50_ms.len()).max().unwrap_or(0);
        let (calls, warmup) = (r.headline[0].calls, r.headline[0].warmup);
        let _ = writeln!(
            s,
            "### Headline: `hello` over stdio at concurrency 1 (alternating rounds: {rounds})\n\n\
             Each round runs every server once (a fresh process, {calls} calls after {warmup} \
             unrecorded), in this order; the ratio is the median over rounds of the round's \
             Capsule ÷ server.\n"
        );
        s.push_str("| era | server | p50 ms, round by round | median p50 ms | Capsule ÷ server |\n|---|---|---|--:|--:|\n");
        for h in &r.headline {
            let rounds = h
                .p50_ms
                .iter()
                .map(|&x| ms(x))
                .collect::<Vec<_>>()
                .join(" ");
            let ratio = if h.server == "capsule" {
                "–".to_string()
            } else {
                headline_ratio(r, h.era, &h.server)
                    .map(|x| format!("**{x:.2}×**"))
                    .unwrap_or_default()
            };
            let med = median(h.p50_ms.clone()).map(ms).unwrap_or_default();
            let _ = writeln!(
                s,
                "| {} | {} | {rounds} | {med} | {ratio} |",
                h.era, h.server
            );
        }
        s.push('\n');
    }

    if !r.loads.is_empty() {
        s.push_str("### Capsule ÷ native, same tool, transport and run\n\n");
        for (w, what) in [
            (HELLO, "`hello_greet` (`{\"name\":\"bench\"}`)"),
            (
                BIG,
                "`textkit_reverse` with a 1 MiB text (1 MiB in; the result carries the reversed text twice, as text and as structured content)",
            ),
        ] {
            let _ = writeln!(
                s,
                "**{what}**\n\n{}",
                report::comparison_table(&r.loads, w, "capsule", NATIVE)
            );
        }
        for (w, what) in [(HELLO, "`hello_greet`"), (BIG, "`textkit_reverse` 1 MiB")] {
            let table = report::comparison_table(&r.loads, w, "capsule", NATIVE_PIPES);
            if table.lines().count() > 2 {
                let _ = writeln!(
                    s,
                    "**{what} over stdio against `native-pipes`** (the native baseline on non-blocking pipes, as Capsule reads and writes stdio: the sandbox and the host's layers without the difference in I/O)\n\n{table}"
                );
            }
        }
        if let Some(plot) = plot {
            let _ = writeln!(s, "![p50 latency against concurrency]({plot})\n");
        }
        s.push_str("<details><summary>Every load run (latency percentiles, throughput, peak RSS of the server process)</summary>\n\n");
        s.push_str(&report::load_table(&r.loads));
        s.push_str("\n</details>\n\n");
    }

    if let Some(t) = &r.telemetry {
        s.push_str(&t.markdown());
    }

    if !r.startups.is_empty() {
        s.push_str("### Start-up (spawn → first successful `tools/list`, stdio, 2025-11-25)\n\n");
        s.push_str("| configuration | runs | p50 ms | min ms | max ms | RSS when ready MiB | tools |\n|---|--:|--:|--:|--:|--:|--:|\n");
        for x in &r.startups {
            let t = &x.result.startup_ms;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                x.name,
                t.n,
                ms(t.p50),
                ms(t.min),
                ms(t.max),
                mib(x.result.ready_rss_kib),
                x.result.tools
            );
        }
        s.push('\n');
    }

    if !r.scaling.is_empty() {
        s.push_str("### Cost of more plugins (copies of `hello`, Capsule, stdio)\n\n");
        s.push_str("| plugins | warm start p50 ms | warm start max ms | RSS when ready MiB | cold start (`--no-cache`, 1 run) ms |\n|--:|--:|--:|--:|--:|\n");
        for x in &r.scaling {
            let cold = x
                .cold
                .as_ref()
                .map(|c| ms(c.startup_ms.p50))
                .unwrap_or_else(|| "–".into());
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {cold} |",
                x.copies,
                ms(x.warm.startup_ms.p50),
                ms(x.warm.startup_ms.max),
                mib(x.warm.ready_rss_kib)
            );
        }
        s.push('\n');
    }

    if let Some(x) = &r.reload {
        s.push_str(
            "### Hot reload (file drop → `notifications/tools/list_changed`, stdio session)\n\n",
        );
        let _ = writeln!(
            s,
            "`hello` ({} KiB). New build: content never seen (compiled); known content: the same bytes again under a new name (compile cache).\n",
            x.plugin_bytes / 1024
        );
        s.push_str("| case | drops | p50 ms | min ms | max ms |\n|---|--:|--:|--:|--:|\n");
        for (name, t) in [
            ("new build", &x.new_build_ms),
            ("known content", &x.known_content_ms),
        ] {
            let _ = writeln!(
                s,
                "| {name} | {} | {} | {} | {} |",
                t.n,
                ms(t.p50),
                ms(t.min),
                ms(t.max)
            );
        }
        s.push('\n');
    }

    if !r.criterion.is_empty() {
        s.push_str("### Instance creation and calls in-process (criterion, `host/benches/instantiate.rs`)\n\n");
        s.push_str("| benchmark | median µs | 95 % interval µs |\n|---|--:|--:|\n");
        for c in &r.criterion {
            let _ = writeln!(
                s,
                "| `{}` | {:.1} | {:.1} – {:.1} |",
                c.id, c.median_us, c.lower_us, c.upper_us
            );
        }
        s.push('\n');
    }
    s
}
