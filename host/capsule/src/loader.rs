//! The plugin library: what is loaded from the plugin directory, kept up to date by rescans.
//!
//! Every `*.wasm` directly in the directory is a plugin named after its file stem, with the grants
//! the operator gave that name (its policy `NAME.toml`, and for a plain component `NAME.wit`, its
//! WIT with doc comments). A scan looks at each file's size and modification time; files
//! whose stamp changed are read and hashed (BLAKE3) and, when their content is new, loaded. Each
//! load is a task of its own ([`Library::start_scan`], [`Library::next_done`]): one slow or huge
//! plugin never holds up the others, and a file's load is bounded by its limits (file size,
//! `compile_timeout`, `load_timeout`, the self-description caps of [`capsule_server::admission`]). Files
//! are read only when they are regular files ([`capsule_sandbox::files`]): a FIFO, a device or a directory
//! named `*.wasm` or `*.toml` is reported and skipped, never waited on. The rules (ARCHITECTURE.md §3):
//! - a file that fails to load is skipped and reported with its path and the reason;
//! - a new version that fails never replaces a working one: the old version keeps serving and the
//!   error is reported as the file's last load error;
//! - a file that was removed takes its plugin with it;
//! - with a lock file ([`crate::pinning`]), a version of a pinned plugin whose definitions differ
//!   from its pin is held, not published, until the lock approves it; the previous version, if
//!   any, keeps serving.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context as _;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::config::HostConfig;
use crate::definitions::Definitions;
use crate::pinning::{Fingerprint, HeldVersion, Pins};
use crate::sources::SourcedFile;
use crate::store::Digest;
use capsule_common::env::process_env;
use capsule_sandbox::files::{MAX_CONFIG_BYTES, read_regular};
use capsule_sandbox::grants::Mount;
use capsule_sandbox::grants::policy::{Policy, WitSource, policy_path};
use capsule_sandbox::runtime::cache::{ContentHash, content_hash};
use capsule_sandbox::runtime::{LoadError, LoadedPlugin, PluginImage, Runtime};
use capsule_server::catalog::{Catalog, Seniority};
use capsule_server::naming::check_plugin_name;
use capsule_telemetry::metrics;
use held::admit;

mod held;

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

/// The stamps of a plugin file, of its policy file and of its `NAME.wit` (absent: `None`).
type Stamps = (Stamp, Option<Stamp>, Option<Stamp>);

/// Hashes of a component and of the operator's files beside it (policy, `NAME.wit`).
type Hashes = (ContentHash, ContentHash);

#[derive(Default)]
struct Slot {
    /// The component file it loads (its key, for a directory file).
    file: Option<PathBuf>,
    stamp: Option<Stamps>,
    /// Hashes of what was last loaded (or failed).
    hash: Option<Hashes>,
    plugin: Option<Arc<LoadedPlugin>>,
    /// The served plugin's fingerprint (computed when a lock is in force).
    fingerprint: Option<Fingerprint>,
    /// A newer version held back by its pin, with its seniority should it be published.
    held: Option<(HeldVersion, Seniority)>,
    error: Option<String>,
    /// Bumped for every load started; only the latest load's outcome is applied.
    generation: u64,
}

/// The loaded state of one plugin directory.
pub struct Library {
    runtime: Runtime,
    dir: PathBuf,
    mounts: Vec<Mount>,
    config: HostConfig,
    slots: BTreeMap<PathBuf, Slot>,
    loading: JoinSet<(PathBuf, u64, Outcome)>,
    /// Counts [`Self::start_scan`]s: the load round of the plugins each one starts.
    round: u64,
    /// When each served plugin (by name) joined the catalog, to settle resource URIs that
    /// several plugins claim ([`capsule_server::claims`]).
    joined: BTreeMap<String, Seniority>,
    /// The lock file in force, if any.
    pins: Option<Pins>,
    /// Only these plugins are loaded (`capsule approve NAME`); `None`: every file.
    only: Option<BTreeSet<String>>,
    /// Plugins from registries (`[[plugin]]`), served from the store (crate::sources).
    sourced: Vec<SourcedFile>,
}

/// One plugin a scan looks at: a file in the directory, or a registry plugin.
struct Candidate {
    /// What its slot is known by: the file for a directory file, the source for a registry
    /// plugin (whose file changes when its pin moves: a new version of the same plugin).
    key: PathBuf,
    /// The component file to read.
    path: PathBuf,
    name: String,
    policy_file: PathBuf,
    policy_required: bool,
    wit_file: Option<PathBuf>,
    expect: Option<Digest>,
    /// Why it cannot be loaded, known before any read.
    error: Option<String>,
}

/// The `*.wasm` entries directly in `dir` (not recursive), sorted by path, whatever their type:
/// anything that is not a regular file is refused when it is read.
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
        if path.extension().is_some_and(|e| e == "wasm") {
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
    Loaded(Hashes, Arc<LoadedPlugin>, Seniority, Option<Fingerprint>),
    /// The content is what was loaded last: nothing to do.
    Unchanged,
    Failed(Option<Hashes>, String),
}

/// What one load task needs.
struct Job {
    runtime: Runtime,
    name: String,
    /// Where the operator's WIT file would be (`NAME.wit` beside a dropped-in file).
    wit_file: Option<PathBuf>,
    /// SHA-256 the component must have (a registry plugin's pinned component).
    expect: Option<Digest>,
    /// Whether the policy file must exist (one named in `[[plugin]] policy`).
    policy_required: bool,
    /// The load round and the file's modification time: the plugin's seniority if it loads.
    seniority: Seniority,
    path: PathBuf,
    policy_file: PathBuf,
    mounts: Vec<Mount>,
    config: HostConfig,
    previous: Option<Hashes>,
    /// Whether to compute the version's [`Fingerprint`] (a lock is in force).
    fingerprint: bool,
}

impl Job {
    /// Read, check and load one plugin file.
    async fn run(self) -> Outcome {
        let started = Instant::now();
        // The size cap comes from the policy, so the policy is read first (it is small), once:
        // its text is both parsed and hashed.
        let policy_file = self.policy_file.clone();
        let policy_text = match blocking(move || read_regular(&policy_file, MAX_CONFIG_BYTES)).await
        {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !self.policy_required => None,
            Err(e) => {
                let reason = format!(
                    "policy not applied: cannot read '{}': {e}",
                    self.policy_file.display()
                );
                return Outcome::Failed(None, reason);
            }
        };
        let source = match policy_text.as_deref().map(std::str::from_utf8).transpose() {
            Ok(source) => source,
            Err(_) => {
                let file = self.policy_file.display();
                return Outcome::Failed(None, format!("policy not applied: '{file}' is not UTF-8"));
            }
        };
        let policy = Policy::from_source(
            &self.name,
            &self.policy_file,
            source,
            &self.mounts,
            &self.config.limits,
            &process_env,
        );
        let mut policy = match policy {
            Ok(policy) => policy,
            Err(e) => return Outcome::Failed(None, format!("policy not applied: {e}")),
        };
        // `NAME.wit`: a plain component's WIT with doc comments (capsule_sandbox::plain::docs).
        let wit_file = self.wit_file.clone().unwrap_or_default();
        let read_from = wit_file.clone();
        let wit = match &self.wit_file {
            Some(_) => blocking(move || read_regular(&read_from, MAX_CONFIG_BYTES)).await,
            None => Err(std::io::ErrorKind::NotFound.into()),
        };
        let wit_text = match wit {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Some(text),
                Err(_) => {
                    let file = wit_file.display();
                    return Outcome::Failed(None, format!("'{file}' is not UTF-8"));
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                let file = wit_file.display();
                return Outcome::Failed(None, format!("cannot read '{file}': {e}"));
            }
        };
        let max = policy.limits.max_component_bytes as u64;
        let path = self.path.clone();
        let bytes = match blocking(move || read_regular(&path, max)).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
                return Outcome::Failed(
                    None,
                    format!("{} ([limits] max_component_size)", LoadError::Io(e)),
                );
            }
            Err(e) => return Outcome::Failed(None, LoadError::Io(e).to_string()),
        };
        if let Some(expected) = self.expect {
            let actual = Digest::of(&bytes);
            if actual != expected {
                return Outcome::Failed(
                    None,
                    format!(
                        "the stored component is not the pinned one (SHA-256 {actual}, the lock \
                         pins {expected}); refusing to load it"
                    ),
                );
            }
        }
        let mut beside = policy_text.unwrap_or_default();
        if let Some(text) = &wit_text {
            beside.push(0); // never in a policy's UTF-8 text: the two files cannot blur
            beside.extend_from_slice(text.as_bytes());
        }
        policy.wit = wit_text.map(|text| WitSource {
            path: wit_file,
            text,
        });
        let hashes = (content_hash(&bytes), content_hash(&beside));
        if self.previous == Some(hashes) {
            return Outcome::Unchanged; // touched, or rewritten with the same bytes
        }
        let component = self.fingerprint.then(|| Digest::of(&bytes));
        let loaded = PluginImage::load(
            &self.runtime,
            &self.name,
            self.path.clone(),
            bytes,
            hashes.0,
            &policy,
        )
        .await;
        let loaded = match loaded {
            Ok(plugin) => plugin,
            Err(e) => return Outcome::Failed(Some(hashes), e.to_string()),
        };
        if let Err(refusal) = capsule_server::admission::check(&loaded, &policy.limits) {
            return Outcome::Failed(Some(hashes), refusal.to_string());
        }
        let loaded = Arc::new(loaded);
        let fingerprint = component.map(|component| Fingerprint {
            definitions: Definitions::of(&loaded),
            component,
        });
        tracing::debug!(
            plugin = self.name,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "plugin loaded"
        );
        Outcome::Loaded(hashes, loaded, self.seniority, fingerprint)
    }
}

/// Run blocking file work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
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
            loading: JoinSet::new(),
            round: 0,
            joined: BTreeMap::new(),
            pins: None,
            only: None,
            sourced: Vec::new(),
        }
    }

    /// Serve these registry plugins too (besides the directory's files); the next scan applies
    /// the change. A file in the directory with a registry plugin's name is refused.
    pub fn set_sourced(&mut self, sourced: Vec<SourcedFile>) {
        self.sourced = sourced;
    }

    /// The host configuration the library loads with (its `[[plugin]]` sources among it).
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The registry plugins served besides the directory's files.
    pub fn sourced(&self) -> &[SourcedFile] {
        &self.sourced
    }

    /// The files and registry plugins a scan looks at, sorted by path.
    fn candidates(&self) -> anyhow::Result<Vec<Candidate>> {
        let mut out = Vec::new();
        for path in plugin_files(&self.dir)? {
            let (name, mut error) = match path.file_stem().and_then(|s| s.to_str()) {
                Some(name) => (
                    name.to_string(),
                    check_plugin_name(name).err().map(|e| e.to_string()),
                ),
                None => (
                    String::new(),
                    Some("the file name is not valid UTF-8".to_string()),
                ),
            };
            if error.is_none() && self.sourced.iter().any(|s| s.name == name) {
                error = Some(format!(
                    "the name '{name}' is taken by a [[plugin]] from a registry in the config file; \
                     rename the file or the [[plugin]] entry"
                ));
            }
            out.push(Candidate {
                key: path.clone(),
                policy_file: policy_path(&path),
                policy_required: false,
                wit_file: Some(path.with_extension("wit")),
                expect: None,
                path,
                name,
                error,
            });
        }
        for s in &self.sourced {
            out.push(Candidate {
                key: PathBuf::from(s.source.clone()),
                path: s.path.clone(),
                name: s.name.clone(),
                policy_required: s.policy_file.is_some(),
                policy_file: s.policy_file.clone().unwrap_or_default(),
                wit_file: None,
                expect: s.expect,
                error: s.error.clone(),
            });
        }
        if let Some(only) = &self.only {
            out.retain(|c| only.contains(&c.name));
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// Hold versions whose definitions differ from their pin in `pins`' lock.
    pub fn with_pins(mut self, pins: Pins) -> Self {
        self.pins = Some(pins);
        self
    }

    /// Load only the plugins named in `names`; other files are ignored.
    pub fn with_only(mut self, names: BTreeSet<String>) -> Self {
        self.only = Some(names);
        self
    }

    /// The lock file in force, if any.
    pub fn pins(&self) -> Option<&Pins> {
        self.pins.as_ref()
    }

    /// The lock file in force, to change it (`capsule lock`, `capsule approve`).
    pub fn pins_mut(&mut self) -> Option<&mut Pins> {
        self.pins.as_mut()
    }

    /// The plugin directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bring the library up to date with the directory and wait for every load it started.
    /// Returns whether the set of served plugins changed (a plugin added, replaced or removed).
    ///
    /// # Errors
    /// Only when the directory cannot be read; the library is then left as it was.
    pub async fn scan(&mut self) -> anyhow::Result<bool> {
        let mut changed = self.start_scan()?;
        while let Some(done) = self.next_done().await {
            changed |= done;
        }
        Ok(changed)
    }

    /// Forget removed files and start a load task for every file whose stamp changed; returns
    /// whether removals changed the served set. [`Self::next_done`] collects the loads.
    ///
    /// # Errors
    /// Only when the directory cannot be read; the library is then left as it was.
    pub fn start_scan(&mut self) -> anyhow::Result<bool> {
        let candidates = self.candidates()?;
        self.round += 1;
        let mut changed = false;
        let joined = &mut self.joined;
        self.slots.retain(|path, slot| {
            let keep = candidates.iter().any(|c| c.key == *path);
            if !keep && let Some(plugin) = &slot.plugin {
                tracing::info!(path = %path.display(), "plugin file removed; unloading it");
                joined.remove(plugin.image.name());
                changed = true;
            }
            keep
        });
        for candidate in candidates {
            let (path, file) = (candidate.key, candidate.path);
            let slot = self.slots.entry(path.clone()).or_default();
            if slot.file.as_ref() != Some(&file) {
                slot.stamp = None; // another file (a registry plugin's new version)
                slot.file = Some(file.clone());
            }
            if let Some(reason) = candidate.error {
                if slot.error.as_ref() != Some(&reason) {
                    slot.fail(&path, reason);
                }
                slot.stamp = None;
                continue;
            }
            let policy_file = candidate.policy_file;
            let now = match stamp(&file) {
                Ok(now) => (
                    now,
                    stamp(&policy_file).ok(),
                    candidate.wit_file.as_deref().and_then(|w| stamp(w).ok()),
                ),
                Err(e) => {
                    slot.fail(&path, LoadError::Io(e).to_string());
                    continue;
                }
            };
            if slot.stamp == Some(now) {
                continue;
            }
            slot.stamp = Some(now);
            let name = candidate.name;
            slot.generation += 1;
            let generation = slot.generation;
            let job = Job {
                runtime: self.runtime.clone(),
                seniority: (self.round, now.0.modified),
                name,
                wit_file: candidate.wit_file,
                expect: candidate.expect,
                policy_required: candidate.policy_required,
                path: file,
                policy_file,
                mounts: self.mounts.clone(),
                config: self.config.clone(),
                previous: slot.hash,
                fingerprint: self.pins.is_some(),
            };
            self.loading
                .spawn(async move { (path, generation, job.run().await) });
        }
        Ok(changed)
    }

    /// Whether loads are running.
    pub fn loading(&self) -> bool {
        !self.loading.is_empty()
    }

    /// Wait for the next load to finish and apply it: `Some(true)` when it changed the served
    /// set, `None` when no load is running.
    pub async fn next_done(&mut self) -> Option<bool> {
        let joined = self.loading.join_next().await?;
        let (path, generation, outcome) = match joined {
            Ok(done) => done,
            Err(e) => {
                tracing::error!("a plugin loader task failed: {e}");
                return Some(false);
            }
        };
        let Some(slot) = self.slots.get_mut(&path) else {
            return Some(false); // removed while it loaded
        };
        if slot.generation != generation {
            return Some(false); // a newer load of this file is on its way
        }
        Some(match outcome {
            Outcome::Unchanged => false,
            Outcome::Loaded(hashes, plugin, seniority, fingerprint) => {
                slot.hash = Some(hashes);
                slot.error = None;
                slot.held = None;
                if let (Some(pins), Some(fp)) = (self.pins.as_mut(), &fingerprint)
                    && !admit(pins, &self.dir, &path, slot, &plugin, fp, seniority)
                {
                    metrics::plugin_load(plugin.image.name(), "held");
                    return Some(false);
                }
                metrics::plugin_load(plugin.image.name(), "ok");
                self.joined
                    .entry(plugin.image.name().to_string())
                    .or_insert(seniority);
                if slot.plugin.is_some() {
                    tracing::info!(path = %path.display(), "plugin replaced by a new version");
                }
                slot.plugin = Some(plugin);
                slot.fingerprint = fingerprint;
                true
            }
            Outcome::Failed(hashes, reason) => {
                if hashes.is_some() {
                    slot.hash = hashes;
                }
                // The file no longer holds the held version, if there was one.
                slot.held = None;
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                metrics::plugin_load(stem.as_deref().unwrap_or("-"), "failed");
                slot.fail(&path, reason);
                false
            }
        })
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
        let joined = &self.joined;
        let plugins = self.plugins();
        metrics::plugins_loaded(plugins.len());
        let catalog = Catalog::build_ranked(&plugins, &|name| joined.get(name).copied());
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

#[cfg(test)]
mod tests;
