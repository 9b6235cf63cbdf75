//! Hot reload: watch the plugin directory and apply changes while the server runs.
//!
//! A `notify` watcher (non-recursive) reports any change to `*.wasm` (and `*.toml`, the policy
//! files beside them) in the directory. Events are debounced ([`DEBOUNCE`] of quiet), then the
//! [`Library`] rescans: only files whose size or modification time changed are read, only content
//! with a new hash is loaded, and a version that fails to load never replaces a working one. When
//! the served set changed, the new catalog is published through the [`Hub`], which swaps it in
//! atomically and notifies every client of the lists that changed.
//!
//! A file caught half-written fails to load and is retried when the writer's next event arrives;
//! copying to a temporary name and renaming into the directory (`cp x.wasm tmp && mv tmp DIR/`)
//! is atomic and loads exactly once.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::hub::Hub;
use crate::loader::Library;

/// Quiet time after the last event before the directory is rescanned.
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    _watcher: RecommendedWatcher,
    task: JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn relevant(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wasm" || e == "toml")
}

/// Start watching `library`'s directory; changes are published to `hub`.
///
/// # Errors
/// The platform watcher cannot be created or cannot watch the directory (e.g. inotify limits).
pub fn spawn(mut library: Library, hub: Arc<Hub>) -> anyhow::Result<Watcher> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if event.paths.iter().any(|p| relevant(p)) => {
                let _ = tx.send(());
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "plugin directory watcher error"),
        })
        .map_err(|e| anyhow::anyhow!("cannot start the plugin directory watcher: {e}"))?;
    watcher
        .watch(library.dir(), RecursiveMode::NonRecursive)
        .map_err(|e| anyhow::anyhow!("cannot watch '{}': {e}", library.dir().display()))?;
    tracing::info!(dir = %library.dir().display(), "watching the plugin directory for changes");

    let task = tokio::spawn(async move {
        while rx.recv().await.is_some() {
            let first = Instant::now();
            loop {
                match tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
            match library.scan().await {
                Ok(true) => {
                    let changes = hub.publish(library.catalog()).await;
                    let (sessions, listeners) = hub.audience();
                    tracing::info!(
                        tools = changes.tools,
                        prompts = changes.prompts,
                        resources = changes.resources,
                        sessions,
                        listeners,
                        ms = first.elapsed().as_secs_f64() * 1e3,
                        "plugin directory change applied"
                    );
                }
                Ok(false) => tracing::debug!("plugin directory event with no effective change"),
                Err(error) => tracing::error!("rescanning the plugin directory failed: {error:#}"),
            }
        }
    });
    Ok(Watcher {
        _watcher: watcher,
        task,
    })
}
