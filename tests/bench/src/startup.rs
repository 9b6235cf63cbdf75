//! Start-up time and idle memory: start the server `runs` times, each time until its first
//! successful `tools/list`, read its memory, stop it.

use std::time::Duration;

use serde::Serialize;

use crate::proto::Era;
use crate::server::{Server, ServerSpec};
use crate::stats::Summary;

/// Start-up of one configuration.
#[derive(Clone, Debug, Serialize)]
pub struct StartupResult {
    /// Spawn → first successful `tools/list`, in milliseconds.
    pub startup_ms: Summary,
    /// Median `VmRSS` right after that `tools/list`, in KiB (0 if unknown).
    pub ready_rss_kib: u64,
    /// Median `VmHWM` at that moment, in KiB (0 if unknown).
    pub ready_hwm_kib: u64,
    /// Tools served.
    pub tools: usize,
}

/// Median of integers (upper median for even counts); 0 for none.
fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Start `spec` `runs` times speaking `era`.
///
/// # Errors
/// Any start fails.
pub async fn measure(spec: &ServerSpec, era: Era, runs: usize) -> anyhow::Result<StartupResult> {
    let mut times = Vec::with_capacity(runs);
    let mut rss = Vec::new();
    let mut hwm = Vec::new();
    let mut tools = 0;
    for _ in 0..runs.max(1) {
        let server = Server::start(spec, era).await?;
        times.push(server.startup.as_secs_f64());
        if let Some(m) = server.memory() {
            rss.push(m.rss_kib);
            hwm.push(m.hwm_kib);
        }
        tools = server.tools.len();
        server.stop(Duration::from_secs(5)).await;
    }
    Ok(StartupResult {
        startup_ms: Summary::of_seconds(&times),
        ready_rss_kib: median(rss),
        ready_hwm_kib: median(hwm),
        tools,
    })
}
