//! Fairness (issue #14): how much a plugin whose calls spin slows another plugin down.
//!
//! One Capsule process serves `hello` and the hostile fixture `hostile` (over stdio, one
//! 2025-11-25 session). First `hello_greet` is called `calls` times one after the other with
//! nothing else running (idle); then [`SPINNERS`] calls of `hostile_spin` (each burning CPU in
//! guest code without calling the host, for longer than the measurement) are started and left in
//! flight, and `hello_greet` is called `calls` times again (loaded). The figure is loaded p50 ÷
//! idle p50; the target is at most 5×.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::json;

use crate::proto::{self, Era, Outcome};
use crate::stats::Summary;
use crate::stdio::StdioClient;

/// Spinning calls in flight during the loaded measurement.
pub const SPINNERS: usize = 8;

/// `hello_greet` latencies, in milliseconds, alone and next to spinning calls.
#[derive(Clone, Debug, Serialize)]
pub struct FairnessResult {
    pub spinners: usize,
    pub idle_ms: Summary,
    pub loaded_ms: Summary,
    /// Loaded p50 ÷ idle p50.
    pub ratio: f64,
}

/// Measure with `calls` greetings per phase. `cmd` is the server command; `{dir}` in it is
/// replaced by a directory holding `hello` and `spinner` (installed as `hostile.wasm`).
///
/// # Errors
/// The server does not start or a call fails.
pub async fn measure(
    cmd: &str,
    hello: &Path,
    spinner: &Path,
    calls: usize,
    stderr: Option<&Path>,
) -> anyhow::Result<FairnessResult> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("plugins");
    std::fs::create_dir(&dir)?;
    std::fs::copy(hello, dir.join("hello.wasm")).context("copying hello")?;
    std::fs::copy(spinner, dir.join("hostile.wasm")).context("copying the spinner")?;
    let cmd = cmd
        .replace("{dir}", &dir.display().to_string())
        .replace("{tmp}", &tmp.path().display().to_string());
    let client = StdioClient::spawn(&cmd, stderr)?;
    client.initialize().await?;

    let greet = proto::with_meta(
        Era::Legacy,
        json!({"name": "hello_greet", "arguments": {"name": "bench"}}),
    )
    .to_string();
    let phase = async |n: usize| -> anyhow::Result<Vec<f64>> {
        let mut took = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            let (outcome, at) = client.request("tools/call", &greet).await?;
            if outcome != Outcome::Ok {
                bail!("hello_greet failed: {outcome:?}");
            }
            took.push((at - t0).as_secs_f64());
        }
        Ok(took)
    };
    phase(calls / 5 + 1).await?; // warm up
    let idle = phase(calls).await?;

    // Spin for longer than the loaded phase can take (the calls stop at the plugin's timeout).
    let spin = proto::with_meta(
        Era::Legacy,
        json!({"name": "hostile_spin", "arguments": {"ms": 25_000}}),
    )
    .to_string();
    let loaded = {
        let spinning: Vec<_> = (0..SPINNERS)
            .map(|_| {
                let c = &client;
                let spin = spin.clone();
                async move { c.request("tools/call", &spin).await }
            })
            .collect();
        let spinning = futures::future::join_all(spinning);
        tokio::pin!(spinning);
        // Let every spinner get past its first slice before measuring.
        tokio::select! {
            _ = &mut spinning => bail!("the spinning calls ended early"),
            loaded = async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                phase(calls).await
            } => loaded?,
        }
    };
    client.shutdown(Duration::from_secs(5)).await;

    let idle_ms = Summary::of_seconds(&idle);
    let loaded_ms = Summary::of_seconds(&loaded);
    Ok(FairnessResult {
        spinners: SPINNERS,
        ratio: loaded_ms.p50 / idle_ms.p50.max(1e-9),
        idle_ms,
        loaded_ms,
    })
}
