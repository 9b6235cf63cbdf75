//! Summaries of samples (latencies, start-up times) and of a process's memory.

use serde::Serialize;

/// Order statistics of a sample, in milliseconds (nearest-rank percentiles).
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Summary {
    /// How many samples.
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    /// Summarise samples given in seconds; the result is in milliseconds. Empty → all zero.
    pub fn of_seconds(samples: &[f64]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut ms: Vec<f64> = samples.iter().map(|s| s * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        // Nearest rank: the smallest value with at least p % of the samples at or below it.
        let rank = |p: f64| {
            let r = ((p / 100.0) * n as f64).ceil() as usize;
            ms[r.clamp(1, n) - 1]
        };
        Self {
            n,
            p50: rank(50.0),
            p90: rank(90.0),
            p99: rank(99.0),
            min: ms[0],
            max: ms[n - 1],
            mean: ms.iter().sum::<f64>() / n as f64,
        }
    }
}

/// Memory of a process from `/proc/PID/status`, in KiB.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident set now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak resident set so far ("high water mark").
    pub hwm_kib: u64,
    /// `RssAnon`: the anonymous part of the resident set now (heap, stacks, linear memories).
    /// The rest is file-backed: mapped code and data (the executable, libraries, compiled
    /// plugins), clean page-cache pages shared with other processes.
    pub anon_kib: u64,
}

/// Read `VmRSS` and `VmHWM` of process `pid` (Linux only; `None` elsewhere or once it exited).
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
        anon_kib: field("RssAnon:").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s: Vec<f64> = (1..=100).map(|i| i as f64 / 1e3).collect();
        let sum = Summary::of_seconds(&s);
        assert_eq!(sum.n, 100);
        assert_eq!(
            (sum.p50, sum.p90, sum.p99, sum.max),
            (50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(sum.min, 1.0);
        assert!((sum.mean - 50.5).abs() < 1e-9);
        let one = Summary::of_seconds(&[0.002]);
        assert_eq!((one.p50, one.p99, one.max), (2.0, 2.0, 2.0));
        assert_eq!(Summary::of_seconds(&[]), Summary::default());
    }

    #[test]
    fn reads_own_memory() {
        let m = memory(std::process::id()).expect("/proc is available on Linux");
        assert!(m.rss_kib > 0 && m.hwm_kib >= m.rss_kib && m.anon_kib <= m.rss_kib);
    }
}
