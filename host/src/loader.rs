//! The plugin library: what is loaded from the plugin directory, kept up to date by rescans.
//!
//! Every `*.wasm` directly in the directory is a plugin named after its file stem, with the grants
//! the operator gave that name. A scan looks at each file's size and modification time, and reads
//! and hashes (BLAKE3) only files whose stamp changed; identical content is a no-op. Changed files
//! load concurrently (compilation runs on the blocking pool). The rules (DESIGN.md §5):
//! - a file that fails to load is skipped and reported with its path and the reason;
//! - a new version that fails never replaces a working one: the old version keeps serving and the
//!   error is reported as the file's last load error;
//! - a file that was removed takes its plugin with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context as _;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::catalog::Catalog;
use crate::grants::Mount;
use crate::naming::check_plugin_name;
use crate::policy::{HostConfig, Policy, policy_path};
use crate::runtime::cache::{ContentHash, content_hash};
use crate::runtime::{LoadedPlugin, PluginImage, Runtime};

/// A file in the plugin directory whose last load failed.
#[derive(Clone, Debug, Serialize)]
pub struct LoadFailure {
    pub path: PathBuf,
    pub reason: String,
    /// Whether an earlier version of this file is still being served.
    pub serving_previous: bool,
}

/// Size and modification time: a change means the file must be looked at again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

/// The stamps of a plugin file and of its policy file (absent: `None`).
type Stamps = (Stamp, Option<Stamp>);

#[derive(Default)]
struct Slot {
    stamp: Option<Stamps>,
    /// Hashes of the component and of the policy file text that were last loaded (or failed).
    hash: Option<(ContentHash, ContentHash)>,
    plugin: Option<Arc<LoadedPlugin>>,
    error: Option<String>,
}

/// The loaded state of one plugin directory.
pub struct Library {
    runtime: Runtime,
    dir: PathBuf,
    mounts: Vec<Mount>,
    config: HostConfig,
    slots: BTreeMap<PathBuf, Slot>,
}

/// The `*.wasm` files directly in `dir` (not recursive), sorted by path.
///
/// # Errors
/// `dir` is missing or unreadable.
pub fn plugin_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the plugin directory '{}'", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list the plugin directory '{}'", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "wasm") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(path)?;
    Ok(Stamp {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

impl Slot {
    /// Record and log a failed load. A previous version, if any, keeps serving.
    fn fail(&mut self, path: &Path, reason: String) {
        if self.plugin.is_some() {
            tracing::error!(
                path = %path.display(),
                "new version not loaded, the previous one keeps serving: {reason}"
            );
        } else {
            tracing::error!(path = %path.display(), "plugin skipped: {reason}");
        }
        self.error = Some(reason);
    }
}

enum Outcome {
    Loaded(LoadedPlugin),
    Failed(String),
}

impl Library {
    /// An empty library for `dir`; call [`Self::scan`] to load it. Each plugin's policy is its
    /// `NAME.toml` beside `NAME.wasm`, plus the `--fs` `mounts` naming it, over `config`'s limits.
    pub fn new(runtime: Runtime, dir: PathBuf, mounts: Vec<Mount>, config: HostConfig) -> Self {
        Self {
            runtime,
            dir,
            mounts,
            config,
            slots: BTreeMap::new(),
        }
    }

    /// The plugin directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bring the library up to date with the directory. Returns whether the set of served
    /// plugins changed (a plugin added, replaced or removed).
    ///
    /// # Errors
    /// Only when the directory cannot be read; the library is then left as it was.
    pub async fn scan(&mut self) -> anyhow::Result<bool> {
        let files = plugin_files(&self.dir)?;
        let mut changed = false;
        let before = self.slots.len();
        self.slots.retain(|path, slot| {
            let keep = files.contains(path);
            if !keep && slot.plugin.is_some() {
                tracing::info!(path = %path.display(), "plugin file removed; unloading it");
                changed = true;
            }
            keep
        });
        if self.slots.len() != before {
            tracing::debug!(removed = before - self.slots.len(), "forgot removed files");
        }

        let mut tasks = JoinSet::new();
        for path in files {
            let slot = self.slots.entry(path.clone()).or_default();
            let policy_file = policy_path(&path);
            let now = match stamp(&path) {
                Ok(now) => (now, stamp(&policy_file).ok()),
                Err(e) => {
                    slot.fail(&path, format!("cannot read the file: {e}"));
                    continue;
                }
            };
            if slot.stamp == Some(now) {
                continue;
            }
            slot.stamp = Some(now);
            let bytes = match tokio::fs::read(&path).await {
                Ok(bytes) => bytes,
                Err(e) => {
                    slot.fail(&path, format!("cannot read the file: {e}"));
                    continue;
                }
            };
            let policy_text = std::fs::read(&policy_file).unwrap_or_default();
            let hash = (content_hash(&bytes), content_hash(&policy_text));
            if slot.hash == Some(hash) {
                continue; // touched, or rewritten with the same bytes: nothing to do
            }
            slot.hash = Some(hash);
            let name = match path.file_stem().and_then(|s| s.to_str()) {
                Some(name) => name.to_string(),
                None => {
                    slot.fail(&path, "the file name is not valid UTF-8".into());
                    continue;
                }
            };
            if let Err(reason) = check_plugin_name(&name) {
                slot.fail(&path, reason);
                continue;
            }
            let policy = match Policy::load(&name, &policy_file, &self.mounts, &self.config) {
                Ok(policy) => policy,
                Err(e) => {
                    slot.fail(&path, format!("policy not applied: {e}"));
                    continue;
                }
            };
            let runtime = self.runtime.clone();
            tasks.spawn(async move {
                let loaded =
                    PluginImage::load(&runtime, &name, path.clone(), bytes, hash.0, &policy);
                let outcome = match loaded.await {
                    Ok(plugin) => Outcome::Loaded(plugin),
                    Err(e) => Outcome::Failed(e.to_string()),
                };
                (path, outcome)
            });
        }

        while let Some(joined) = tasks.join_next().await {
            let (path, outcome) = joined.context("a plugin loader task failed")?;
            let slot = self.slots.entry(path.clone()).or_default();
            match outcome {
                Outcome::Loaded(plugin) => {
                    if slot.plugin.is_some() {
                        tracing::info!(path = %path.display(), "plugin replaced by a new version");
                    }
                    slot.plugin = Some(Arc::new(plugin));
                    slot.error = None;
                    changed = true;
                }
                Outcome::Failed(reason) => slot.fail(&path, reason),
            }
        }
        Ok(changed)
    }

    /// The plugins being served, sorted by path.
    pub fn plugins(&self) -> Vec<Arc<LoadedPlugin>> {
        self.slots
            .values()
            .filter_map(|s| s.plugin.clone())
            .collect()
    }

    /// Files whose last load failed, sorted by path.
    pub fn failures(&self) -> Vec<LoadFailure> {
        self.slots
            .iter()
            .filter_map(|(path, slot)| {
                slot.error.as_ref().map(|reason| LoadFailure {
                    path: path.clone(),
                    reason: reason.clone(),
                    serving_previous: slot.plugin.is_some(),
                })
            })
            .collect()
    }

    /// A catalog of the plugins being served.
    pub fn catalog(&self) -> Catalog {
        let catalog = Catalog::build(&self.plugins());
        for p in catalog.problems() {
            tracing::warn!(plugin = %p.plugin, "{}", p.message);
        }
        catalog
    }

    /// Warn about `--fs` grants that name no plugin in the directory.
    pub fn warn_unused_mounts(&self) {
        for mount in &self.mounts {
            let used = self.slots.keys().any(|path| {
                path.file_stem().and_then(|s| s.to_str()) == Some(mount.plugin.as_str())
            });
            if !used {
                tracing::warn!(plugin = %mount.plugin, "--fs grant names no plugin file in the directory");
            }
        }
    }
}
