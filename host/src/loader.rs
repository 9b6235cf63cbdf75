//! Loading a plugin directory: every `*.wasm` in it, each with the grants the operator gave it.
//!
//! A file that fails (not a component, wrong world, a trap while listing, a bad name) is skipped
//! and reported with its path and the reason; the others load. Files load concurrently.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::grants::{Grants, Mount};
use crate::naming::check_plugin_name;
use crate::runtime::{LoadedPlugin, PluginImage, Runtime};

/// A file in the plugin directory that did not load.
#[derive(Clone, Debug, Serialize)]
pub struct LoadFailure {
    pub path: PathBuf,
    pub reason: String,
}

/// The outcome of loading a directory.
pub struct LoadReport {
    pub plugins: Vec<LoadedPlugin>,
    pub failures: Vec<LoadFailure>,
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

/// Load every plugin in `dir`. `mounts` are the filesystem grants for all plugins; each plugin
/// gets those naming it. A mount naming no plugin in `dir` is logged as a warning.
///
/// # Errors
/// Only when `dir` cannot be read; failures of single files are in [`LoadReport::failures`].
pub async fn load_dir(
    runtime: &Runtime,
    dir: &Path,
    mounts: &[Mount],
) -> anyhow::Result<LoadReport> {
    let files = plugin_files(dir)?;
    let mut failures = Vec::new();
    let mut tasks = JoinSet::new();
    for path in files {
        let name = match path.file_stem().and_then(|s| s.to_str()) {
            Some(name) => name.to_string(),
            None => {
                failures.push(LoadFailure {
                    reason: "the file name is not valid UTF-8".into(),
                    path,
                });
                continue;
            }
        };
        if let Err(reason) = check_plugin_name(&name) {
            failures.push(LoadFailure { path, reason });
            continue;
        }
        let grants = Grants {
            mounts: mounts
                .iter()
                .filter(|m| m.plugin == name)
                .cloned()
                .collect(),
        };
        let runtime = runtime.clone();
        tasks.spawn(async move {
            let result = match tokio::fs::read(&path).await {
                Ok(bytes) => PluginImage::load(&runtime, &name, path.clone(), bytes, grants)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(format!("cannot read the file: {e}")),
            };
            (path, result)
        });
    }
    let mut plugins = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((_, Ok(plugin))) => plugins.push(plugin),
            Ok((path, Err(reason))) => failures.push(LoadFailure { path, reason }),
            Err(e) => anyhow::bail!("a plugin loader task failed: {e}"),
        }
    }
    for mount in mounts {
        if !plugins.iter().any(|p| p.image.name() == mount.plugin) {
            tracing::warn!(
                plugin = %mount.plugin,
                "--fs grant for '{}' names no loaded plugin",
                mount.plugin
            );
        }
    }
    failures.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(LoadReport { plugins, failures })
}
