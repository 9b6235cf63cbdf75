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
//! - a file that was removed takes its plugin with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anyhow::Context as _;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::config::HostConfig;
use capsule_common::env::process_env;
use capsule_sandbox::files::{MAX_CONFIG_BYTES, read_regular};
use capsule_sandbox::grants::Mount;
use capsule_sandbox::grants::policy::{Policy, WitSource, policy_path};
use capsule_sandbox::runtime::cache::{ContentHash, content_hash};
use capsule_sandbox::runtime::{LoadError, LoadedPlugin, PluginImage, Runtime};
use capsule_server::catalog::{Catalog, Seniority};
use capsule_server::naming::check_plugin_name;

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
    stamp: Option<Stamps>,
    /// Hashes of what was last loaded (or failed).
    hash: Option<Hashes>,
    plugin: Option<Arc<LoadedPlugin>>,
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
    Loaded(Hashes, Box<LoadedPlugin>, Seniority),
    /// The content is what was loaded last: nothing to do.
    Unchanged,
    Failed(Option<Hashes>, String),
}

/// What one load task needs.
struct Job {
    runtime: Runtime,
    name: String,
    /// The load round and the file's modification time: the plugin's seniority if it loads.
    seniority: Seniority,
    path: PathBuf,
    policy_file: PathBuf,
    mounts: Vec<Mount>,
    config: HostConfig,
    previous: Option<Hashes>,
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
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
        let wit_file = self.path.with_extension("wit");
        let read_from = wit_file.clone();
        let wit_text = match blocking(move || read_regular(&read_from, MAX_CONFIG_BYTES)).await {
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
        tracing::debug!(
            plugin = self.name,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "plugin loaded"
        );
        Outcome::Loaded(hashes, Box::new(loaded), self.seniority)
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
        }
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
        let files = plugin_files(&self.dir)?;
        self.round += 1;
        let mut changed = false;
        let joined = &mut self.joined;
        self.slots.retain(|path, slot| {
            let keep = files.contains(path);
            if !keep && let Some(plugin) = &slot.plugin {
                tracing::info!(path = %path.display(), "plugin file removed; unloading it");
                joined.remove(plugin.image.name());
                changed = true;
            }
            keep
        });
        for path in files {
            let slot = self.slots.entry(path.clone()).or_default();
            let policy_file = policy_path(&path);
            let now = match stamp(&path) {
                Ok(now) => (
                    now,
                    stamp(&policy_file).ok(),
                    stamp(&path.with_extension("wit")).ok(),
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
            let name = match path.file_stem().and_then(|s| s.to_str()) {
                Some(name) => name.to_string(),
                None => {
                    slot.fail(&path, "the file name is not valid UTF-8".into());
                    continue;
                }
            };
            if let Err(reason) = check_plugin_name(&name) {
                slot.fail(&path, reason.to_string());
                continue;
            }
            slot.generation += 1;
            let generation = slot.generation;
            let job = Job {
                runtime: self.runtime.clone(),
                seniority: (self.round, now.0.modified),
                name,
                path: path.clone(),
                policy_file,
                mounts: self.mounts.clone(),
                config: self.config.clone(),
                previous: slot.hash,
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
            Outcome::Loaded(hashes, plugin, seniority) => {
                self.joined
                    .entry(plugin.image.name().to_string())
                    .or_insert(seniority);
                if slot.plugin.is_some() {
                    tracing::info!(path = %path.display(), "plugin replaced by a new version");
                }
                slot.hash = Some(hashes);
                slot.plugin = Some(Arc::new(*plugin));
                slot.error = None;
                true
            }
            Outcome::Failed(hashes, reason) => {
                if hashes.is_some() {
                    slot.hash = hashes;
                }
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
        let catalog = Catalog::build_ranked(&self.plugins(), &|name| joined.get(name).copied());
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
mod tests {
    use std::time::Duration;

    use capsule_common::test_support::built_plugin as plugin_file;
    use capsule_sandbox::grants::Limits;

    use super::*;

    fn library(dir: &Path) -> Library {
        let runtime = Runtime::new(None).unwrap();
        Library::new(
            runtime,
            dir.to_path_buf(),
            Vec::new(),
            HostConfig::default(),
        )
    }

    fn names(library: &Library) -> Vec<String> {
        library
            .plugins()
            .iter()
            .map(|p| p.image.name().to_string())
            .collect()
    }

    /// Move `path`'s modification time `secs` seconds on (a rewrite within the same second would
    /// keep the stamp on file systems with coarse timestamps).
    fn bump_mtime(path: &Path, secs: u64) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        let modified = file.metadata().unwrap().modified().unwrap();
        file.set_modified(modified + Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn plugin_files_are_the_wasm_entries_sorted_whatever_their_type() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.wasm", "a.wasm", "a.toml", "notes.txt", "wasm"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join("c.wasm")).unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/d.wasm"), b"").unwrap();
        let found: Vec<_> = plugin_files(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(found, ["a.wasm", "b.wasm", "c.wasm"]);
        let missing = plugin_files(&dir.path().join("absent")).unwrap_err();
        assert!(
            format!("{missing:#}").contains("cannot read the plugin directory"),
            "{missing:#}"
        );
    }

    #[tokio::test]
    async fn a_touched_file_with_the_same_content_keeps_the_loaded_plugin() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello.wasm");
        std::fs::copy(plugin_file("hello"), &path).unwrap();
        let mut library = library(dir.path());
        assert!(library.scan().await.unwrap());
        let before = library.plugins()[0].clone();
        bump_mtime(&path, 5);
        assert!(
            !library.scan().await.unwrap(),
            "same bytes: nothing changes"
        );
        assert!(Arc::ptr_eq(&before, &library.plugins()[0]));
    }

    #[tokio::test]
    async fn a_policy_change_reloads_the_plugin_and_a_bad_one_keeps_it_serving() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(plugin_file("hello"), dir.path().join("hello.wasm")).unwrap();
        let policy = dir.path().join("hello.toml");
        let mut library = library(dir.path());
        assert!(library.scan().await.unwrap());
        let limits = |l: &Library| l.plugins()[0].image.grants().limits;
        assert_eq!(
            limits(&library).call_timeout,
            Limits::default().call_timeout
        );

        std::fs::write(&policy, "[limits]\ntimeout = \"3s\"\n").unwrap();
        assert!(
            library.scan().await.unwrap(),
            "a new policy is a new plugin"
        );
        assert_eq!(limits(&library).call_timeout, Duration::from_secs(3));

        std::fs::write(&policy, "[limits]\n\ntimeout = \"soon\"\n").unwrap();
        bump_mtime(&policy, 5);
        assert!(!library.scan().await.unwrap());
        assert_eq!(limits(&library).call_timeout, Duration::from_secs(3));
        let failures = library.failures();
        assert_eq!(failures.len(), 1);
        assert!(failures[0].serving_previous);
        let reason = &failures[0].reason;
        assert!(
            reason.starts_with("policy not applied:")
                && reason.contains(&format!("{}:3", policy.display()))
                && reason.contains("invalid duration 'soon'"),
            "{reason}"
        );
    }

    #[tokio::test]
    async fn only_the_latest_load_of_a_file_is_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.wasm");
        std::fs::write(
            dir.path().join("p.toml"),
            "[limits]\nload_timeout = \"2s\"\n",
        )
        .unwrap();
        // The first version's `describe` sleeps past its load timeout, so its (failed) outcome
        // arrives after the second version's: it must not be applied.
        std::fs::copy(plugin_file("hostile_slow"), &path).unwrap();
        let mut library = library(dir.path());
        library.start_scan().unwrap();
        // Give the first load time to read its file (a local read: well under a second), then
        // swap the file atomically. Were the read later, both loads would see the new version
        // and the test would prove less, never fail.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let next = dir.path().join("next.tmp");
        std::fs::copy(plugin_file("textkit"), &next).unwrap();
        std::fs::rename(&next, &path).unwrap();
        bump_mtime(&path, 5);
        library.start_scan().unwrap();
        while library.next_done().await.is_some() {}
        let plugins = library.plugins();
        assert_eq!(plugins.len(), 1);
        assert!(
            plugins[0].tools.iter().any(|t| t.name == "sha256"),
            "the textkit version is served"
        );
        assert!(
            library.failures().is_empty(),
            "the superseded load's failure is dropped: {:?}",
            library.failures()
        );
    }

    #[tokio::test]
    async fn a_file_removed_while_it_loads_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello.wasm");
        std::fs::copy(plugin_file("hello"), &path).unwrap();
        let mut library = library(dir.path());
        library.start_scan().unwrap();
        std::fs::remove_file(&path).unwrap();
        library.start_scan().unwrap();
        while library.next_done().await.is_some() {}
        assert!(names(&library).is_empty());
        assert!(library.failures().is_empty());
    }

    #[tokio::test]
    async fn a_fifo_named_like_a_plugin_is_refused_without_waiting_for_a_writer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(plugin_file("hello"), dir.path().join("hello.wasm")).unwrap();
        let fifo = dir.path().join("pipe.wasm");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        let mut library = library(dir.path());
        tokio::time::timeout(Duration::from_secs(60), library.scan())
            .await
            .expect("a FIFO must not block the scan")
            .unwrap();
        assert_eq!(names(&library), ["hello"]);
        let failures = library.failures();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].path.ends_with("pipe.wasm"));
        assert!(
            failures[0].reason.contains("not a regular file"),
            "{}",
            failures[0].reason
        );
    }

    #[tokio::test]
    async fn a_file_over_its_size_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(plugin_file("hello"), dir.path().join("hello.wasm")).unwrap();
        std::fs::write(
            dir.path().join("hello.toml"),
            "[limits]\nmax_component_size = \"1KiB\"\n",
        )
        .unwrap();
        let mut library = library(dir.path());
        assert!(!library.scan().await.unwrap());
        let failures = library.failures();
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].reason.contains("max_component_size"),
            "{}",
            failures[0].reason
        );
    }
}
