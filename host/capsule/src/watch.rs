//! Hot reload: watch the plugin directory and apply changes while the server runs.
//!
//! A `notify` watcher (non-recursive) reports any change to `*.wasm` (and `*.toml` and `*.wit`,
//! the policy and WIT files beside them) in the directory. Events are debounced, then the [`Library`] rescans. The
//! quiet time depends on the last event: a file renamed into (or out of) the directory, closed
//! after writing, or removed is complete, and [`SETTLE`] of quiet only gathers a burst of such
//! changes; after any other change (created, being written) the watcher waits [`DEBOUNCE`] of
//! quiet, as the writer may not be done. Opening and reading files (the rescan's own reads among
//! them) is not a change. The [`Library`] rescans: only files whose size or modification time changed are read, only content
//! with a new hash is loaded, and a version that fails to load never replaces a working one. When
//! the served set changed, the new catalog is published through the [`Hub`], which swaps it in
//! atomically and notifies every client of the lists that changed.
//!
//! With a lock file in force ([`crate::pinning`]), its directory is watched too (non-recursively,
//! events filtered on the file's name): when the lock changes it is read again, before any rescan
//! the same events bring, and every held version it now approves is published. A lock file that
//! does not parse is logged and the pins in force stay.
//!
//! A file caught half-written fails to load and is retried when the writer's next event arrives;
//! copying to a temporary name and renaming into the directory (`cp x.wasm tmp && mv tmp DIR/`)
//! is atomic and loads exactly once.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::loader::Library;
use capsule_server::hub::Hub;

/// Quiet time after the last event before the directory is rescanned, when that event leaves a
/// file possibly half-written (created, data written, metadata changed).
pub const DEBOUNCE: Duration = Duration::from_millis(50);

/// Quiet time after an event that leaves a file complete (renamed in or out, closed after
/// writing, removed): gathers a plugin and its policy file dropped together.
pub const SETTLE: Duration = Duration::from_millis(5);

/// What an event means for the debounce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// The file is complete: rescan after [`SETTLE`] of quiet.
    Settled,
    /// The file may still be being written: rescan after [`DEBOUNCE`] of quiet.
    Unsettled,
}

/// `None` for events that change nothing (opening, reading, closing without writing).
fn change(kind: &notify::EventKind) -> Option<Change> {
    use notify::EventKind;
    use notify::event::{AccessKind, AccessMode, ModifyKind};
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(Change::Settled),
        EventKind::Access(_) => None,
        EventKind::Modify(ModifyKind::Name(_)) | EventKind::Remove(_) => Some(Change::Settled),
        _ => Some(Change::Unsettled),
    }
}

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

/// Publish `library`'s catalog and log what changed.
async fn publish(library: &Library, hub: &Hub, what: &str) {
    let started = Instant::now();
    let changes = hub.publish(library.catalog()).await;
    let (sessions, listeners) = hub.audience();
    tracing::info!(
        tools = changes.tools,
        prompts = changes.prompts,
        resources = changes.resources,
        sessions,
        listeners,
        ms = started.elapsed().as_secs_f64() * 1e3,
        "{what}"
    );
}

fn relevant(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "wasm" || e == "toml" || e == "wit")
}

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// A plugin, policy or WIT file: rescan the directory.
    Plugins,
    /// The lock file: read it again.
    Lock,
}

/// The directories to watch, canonical (so that one directory is watched once), and the lock
/// file's directory and name.
struct Watched {
    plugins: PathBuf,
    lock: Option<(PathBuf, OsString)>,
}

impl Watched {
    fn new(library: &Library) -> anyhow::Result<Self> {
        let plugins = std::fs::canonicalize(library.dir())
            .with_context(|| format!("cannot watch '{}'", library.dir().display()))?;
        let lock = library.pins().and_then(|pins| {
            let file = pins.path();
            let name = file.file_name()?.to_os_string();
            let dir = match file.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            match std::fs::canonicalize(dir) {
                Ok(dir) => Some((dir, name)),
                Err(e) => {
                    tracing::warn!(
                        lock = %file.display(),
                        "cannot watch the lock file's directory, so its changes need a restart: {e}"
                    );
                    None
                }
            }
        });
        Ok(Self { plugins, lock })
    }

    /// What the event on `paths` is about (both, when the lock file is in the plugin directory
    /// and named like a policy).
    fn targets(&self, paths: &[PathBuf]) -> (bool, bool) {
        let plugins = paths
            .iter()
            .any(|p| relevant(p) && p.parent() == Some(self.plugins.as_path()));
        let lock = self.lock.as_ref().is_some_and(|(dir, name)| {
            paths.iter().any(|p| {
                p.file_name() == Some(name.as_os_str()) && p.parent() == Some(dir.as_path())
            })
        });
        (plugins, lock)
    }
}

/// Start watching `library`'s directory; changes are published to `hub`.
///
/// # Errors
/// The platform watcher cannot be created or cannot watch the directory (e.g. inotify limits).
pub fn spawn(mut library: Library, hub: Arc<Hub>) -> anyhow::Result<Watcher> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Target, Change)>();
    let watched = Arc::new(Watched::new(&library)?);
    let filter = watched.clone();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) => {
                let Some(change) = change(&event.kind) else {
                    return;
                };
                let (plugins, lock) = filter.targets(&event.paths);
                if lock {
                    let _ = tx.send((Target::Lock, change));
                }
                if plugins {
                    let _ = tx.send((Target::Plugins, change));
                }
            }
            Err(error) => tracing::warn!(%error, "plugin directory watcher error"),
        })
        .context("cannot start the plugin directory watcher")?;
    watcher
        .watch(&watched.plugins, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch '{}'", library.dir().display()))?;
    tracing::info!(dir = %library.dir().display(), "watching the plugin directory for changes");
    if let Some((dir, name)) = &watched.lock {
        if *dir != watched.plugins {
            watcher
                .watch(dir, RecursiveMode::NonRecursive)
                .with_context(|| format!("cannot watch '{}'", dir.display()))?;
        }
        let file = dir.join(name);
        tracing::info!(lock = %file.display(), "watching the lock file for changes");
    }

    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                event = rx.recv() => {
                    let Some((target, mut last)) = event else { return };
                    let (mut rescan, mut relock) = (false, false);
                    let mut mark = |target| match target {
                        Target::Plugins => rescan = true,
                        Target::Lock => relock = true,
                    };
                    mark(target);
                    loop {
                        let quiet = match last {
                            Change::Settled => SETTLE,
                            Change::Unsettled => DEBOUNCE,
                        };
                        match tokio::time::timeout(quiet, rx.recv()).await {
                            Ok(Some((target, change))) => {
                                last = change;
                                mark(target);
                            }
                            Ok(None) => return,
                            Err(_quiet) => break,
                        }
                    }
                    // The lock first, so that loads the same events start meet the new pins.
                    if relock && library.reload_lock() {
                        publish(&library, &hub, "lock file change applied").await;
                    }
                    // Registry plugins follow their pins (`capsule update` moved one).
                    if relock && crate::sources::refresh(&mut library).await {
                        rescan = true;
                    }
                    if !rescan {
                        continue;
                    }
                    match library.start_scan() {
                        Ok(true) => publish(&library, &hub, "plugin removed").await,
                        Ok(false) => {}
                        Err(error) => {
                            tracing::error!("rescanning the plugin directory failed: {error:#}")
                        }
                    }
                }
                // Each load is applied as soon as it is done: a slow plugin holds up no other.
                Some(changed) = library.next_done(), if library.loading() => {
                    if changed {
                        publish(&library, &hub, "plugin directory change applied").await;
                    } else {
                        tracing::debug!("plugin directory event with no effective change");
                    }
                }
            }
        }
    });
    Ok(Watcher {
        _watcher: watcher,
        task,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::EventKind;
    use notify::event::{
        AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RemoveKind, RenameMode,
    };

    #[test]
    fn complete_files_settle_fast_and_reads_are_no_change() {
        let settled = [
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Remove(RemoveKind::File),
        ];
        for kind in settled {
            assert_eq!(change(&kind), Some(Change::Settled), "{kind:?}");
        }
        let unsettled = [
            EventKind::Create(CreateKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Content)),
            EventKind::Any,
        ];
        for kind in unsettled {
            assert_eq!(change(&kind), Some(Change::Unsettled), "{kind:?}");
        }
        for kind in [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Read),
        ] {
            assert_eq!(change(&kind), None, "{kind:?}");
        }
    }
}
