//! Result shapes shared by the commands, and their Markdown rendering.

use std::fmt::Write as _;

use serde::Serialize;

use crate::load::{LevelResult, Workload};
use crate::proto::Era;
use crate::stats::Memory;

/// One server, transport, era and workload at every concurrency level.
#[derive(Clone, Debug, Serialize)]
pub struct LoadRun {
    /// Server label, e.g. `capsule` or `native`.
    pub server: String,
    /// `stdio` or `http`.
    pub transport: String,
    pub era: Era,
    pub workload: Workload,
    /// Start-up of this server process (spawn → first `tools/list`), in milliseconds.
    pub startup_ms: f64,
    pub levels: Vec<LevelResult>,
    /// The server process's memory after the last level (`VmHWM` = peak over the whole run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_after: Option<Memory>,
}

/// KiB → MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// A latency in milliseconds, with precision that suits its size.
pub fn ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Calls per second, rounded.
pub fn rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The full table of load runs: one row per level.
pub fn load_table(runs: &[LoadRun]) -> String {
    let mut s = String::new();
    s.push_str("| server | transport | era | workload | concurrency | calls | calls/s | p50 ms | p90 ms | p99 ms | max ms | errors | peak RSS MiB |\n");
    s.push_str("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for run in runs {
        for (i, l) in run.levels.iter().enumerate() {
            let hwm = match (&run.memory_after, i + 1 == run.levels.len()) {
                (Some(m), true) => mib(m.hwm_kib),
                _ => String::new(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                run.server,
                run.transport,
                run.era,
                run.workload.label,
                l.concurrency,
                l.calls,
                rate(l.throughput),
                ms(l.latency_ms.p50),
                ms(l.latency_ms.p90),
                ms(l.latency_ms.p99),
                ms(l.latency_ms.max),
                l.errors,
                hwm,
            );
        }
    }
    s
}

/// Side by side: `a` (e.g. Capsule) against `b` (e.g. native) for every transport, era and
/// level both ran with `workload`; the ratio is `a ÷ b` of p50 latency.
pub fn comparison_table(runs: &[LoadRun], workload: &str, a: &str, b: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| transport | era | concurrency | {b} p50 ms | {a} p50 ms | **p50 {a} ÷ {b}** | {b} p99 ms | {a} p99 ms | {b} calls/s | {a} calls/s |"
    );
    s.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for run_b in runs
        .iter()
        .filter(|r| r.server == b && r.workload.label == workload)
    {
        let Some(run_a) = runs.iter().find(|r| {
            r.server == a
                && r.workload.label == workload
                && r.transport == run_b.transport
                && r.era == run_b.era
        }) else {
            continue;
        };
        for lb in &run_b.levels {
            let Some(la) = run_a
                .levels
                .iter()
                .find(|l| l.concurrency == lb.concurrency)
            else {
                continue;
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | **{:.2}×** | {} | {} | {} | {} |",
                run_b.transport,
                run_b.era,
                lb.concurrency,
                ms(lb.latency_ms.p50),
                ms(la.latency_ms.p50),
                la.latency_ms.p50 / lb.latency_ms.p50,
                ms(lb.latency_ms.p99),
                ms(la.latency_ms.p99),
                rate(lb.throughput),
                rate(la.throughput),
            );
        }
    }
    s
}

/// Replace the text between `begin` and `end` markers in `doc` by `body` (markers kept);
/// append the markers and body when `doc` has none.
pub fn splice(doc: &str, begin: &str, end: &str, body: &str) -> String {
    match (doc.find(begin), doc.find(end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{begin}\n{body}{}", &doc[..b], &doc[e..])
        }
        _ => format!("{doc}\n{begin}\n{body}{end}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_between_markers() {
        let doc = "head\n<!-- b -->\nold\n<!-- e -->\ntail\n";
        assert_eq!(
            splice(doc, "<!-- b -->", "<!-- e -->", "new\n"),
            "head\n<!-- b -->\nnew\n<!-- e -->\ntail\n"
        );
        assert_eq!(
            splice("head\n", "<!-- b -->", "<!-- e -->", "new\n"),
            "head\n\n<!-- b -->\nnew\n<!-- e -->\n"
        );
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(ms(0.1234), "0.123");
        assert_eq!(ms(4.567), "4.57");
        assert_eq!(ms(45.67), "45.7");
        assert_eq!(ms(456.7), "457");
        assert_eq!(mib(1536), "1.5");
        assert_eq!(rate(12345.6), "12346");
    }
}
