//! Hot-reload latency: the time from a plugin file appearing in the watched directory (an
//! atomic rename, as deploy tools do) to the `notifications/tools/list_changed` the server sends
//! on a live 2025-11-25 stdio session.
//!
//! Two cases, each `rounds` times:
//! - **new build**: every drop has content the server has never seen (the plugin with a custom
//!   section appended that holds the round number and a timestamp; custom sections do not change
//!   behaviour), so the server must compile it — what a developer sees after a rebuild;
//! - **known content**: the content of the first new-build drop again, under a new name, which a
//!   server with a compile cache loads without compiling.
//!
//! After each timed drop the file is removed again (and that change's notification awaited,
//! untimed), so the directory holds one plugin at a time.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde::Serialize;

use crate::proto::{self, Era};
use crate::stats::Summary;
use crate::stdio::StdioClient;

/// Hot-reload latencies, in milliseconds.
#[derive(Clone, Debug, Serialize)]
pub struct ReloadResult {
    /// Size of the plugin file, in bytes.
    pub plugin_bytes: usize,
    /// Drops of never-seen content (compilation included).
    pub new_build_ms: Summary,
    /// Drops of content seen before (compile cache, if the server has one).
    pub known_content_ms: Summary,
}

const CHANGED: &str = "notifications/tools/list_changed";
const WAIT: Duration = Duration::from_secs(60);

/// Append a custom section named `name` holding `payload` to a WebAssembly binary (valid in
/// both core modules and components: custom sections may appear anywhere).
pub fn with_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut body = Vec::with_capacity(name.len() + payload.len() + 5);
    leb(name.len(), &mut body);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    let mut out = Vec::with_capacity(wasm.len() + body.len() + 6);
    out.extend_from_slice(wasm);
    out.push(0);
    leb(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

/// Measure hot reload of `plugin`. `cmd` is the server command; `{dir}` in it is replaced by
/// the (initially empty) watched directory and `{tmp}` by a private scratch directory (for a
/// compile cache, say). Server stderr is appended to `stderr`.
///
/// # Errors
/// The server does not start, or a notification does not arrive within a minute.
pub async fn measure(
    cmd: &str,
    plugin: &Path,
    rounds: usize,
    stderr: Option<&Path>,
) -> anyhow::Result<ReloadResult> {
    let original =
        std::fs::read(plugin).with_context(|| format!("reading {}", plugin.display()))?;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("plugins");
    std::fs::create_dir(&dir)?;
    let cmd = cmd
        .replace("{dir}", &dir.display().to_string())
        .replace("{tmp}", &tmp.path().display().to_string());
    let client = StdioClient::spawn(&cmd, stderr)?;
    client.initialize().await?;
    let list = proto::with_meta(Era::Legacy, serde_json::json!({})).to_string();
    client.request("tools/list", &list).await?;
    // Let the watcher settle before the first drop.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let staged = tmp.path().join("staged.wasm");
    let drop_once = async |name: String, bytes: &[u8]| -> anyhow::Result<f64> {
        std::fs::write(&staged, bytes)?;
        client.drain_messages().await;
        let target = dir.join(format!("{name}.wasm"));
        let t0 = Instant::now();
        std::fs::rename(&staged, &target)?;
        let at = client
            .wait_for(CHANGED, WAIT)
            .await
            .with_context(|| format!("no {CHANGED} within {WAIT:?} after dropping {name}.wasm"))?;
        let took = (at - t0).as_secs_f64();
        std::fs::remove_file(&target)?;
        client
            .wait_for(CHANGED, WAIT)
            .await
            .with_context(|| format!("no {CHANGED} after removing {name}.wasm"))?;
        Ok(took)
    };

    let mut first_variant = None;
    let mut new_build = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let bytes = with_custom_section(
            &original,
            "capsule-bench",
            format!("round {i} at {nanos}").as_bytes(),
        );
        new_build.push(drop_once(format!("fresh{i}"), &bytes).await?);
        first_variant.get_or_insert(bytes);
    }
    let known = first_variant.unwrap_or_else(|| original.clone());
    let mut known_content = Vec::with_capacity(rounds);
    for i in 0..rounds {
        known_content.push(drop_once(format!("known{i}"), &known).await?);
    }
    client.shutdown(Duration::from_secs(5)).await;
    Ok(ReloadResult {
        plugin_bytes: original.len(),
        new_build_ms: Summary::of_seconds(&new_build),
        known_content_ms: Summary::of_seconds(&known_content),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_a_well_formed_custom_section() {
        let core = b"\0asm\x01\0\0\0";
        let out = with_custom_section(core, "n", &[7; 200]);
        // id 0, size LEB128 (1 + 1 + 200 = 202 = 0xca 0x01), name length 1, "n", payload
        assert_eq!(&out[..8], core);
        assert_eq!(&out[8..13], &[0, 0xca, 0x01, 1, b'n']);
        assert_eq!(out.len(), 8 + 3 + 202);
    }
}
