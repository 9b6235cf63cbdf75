//! The commands that load plugins without serving them (`capsule plugins`, `lock`, `approve`,
//! `update`), and the loading `serve` shares with them: the host config, the runtime, and a
//! [`Library`] of the plugin directory plus the config's registry plugins ([`crate::sources`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;

use capsule_sandbox::runtime::Runtime;

use crate::cli::{ApproveArgs, LockArgs, PluginSource, PluginsArgs, UpdateArgs};
use crate::config::{HostConfig, SourcedPlugin};
use crate::definitions::Definitions;
use crate::loader::Library;
use crate::pin_commands;
use crate::pinning::{Fingerprint, Pins};
use crate::report::{self, PluginsReport};
use crate::sources::{self, Fetcher, SourcedFile};
use crate::store::Store;

/// The plugin runtime for `source`'s compile cache settings.
///
/// # Errors
/// The engine cannot be created, or the cache directory is unusable.
pub fn runtime(source: &PluginSource) -> anyhow::Result<Runtime> {
    // Before any plugin runs: the descriptor pool of plugins is half the (raised) soft limit.
    match capsule_sandbox::runtime::handles::raise_fd_limit() {
        Ok((before, after)) => tracing::debug!(
            before,
            after,
            plugin_pool = capsule_sandbox::runtime::handles::pool_capacity(),
            "RLIMIT_NOFILE"
        ),
        Err(e) => tracing::warn!("cannot raise RLIMIT_NOFILE: {e}"),
    }
    let cache_root = match (&source.cache_dir, source.no_cache) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.clone()),
        (None, false) => capsule_sandbox::runtime::cache::default_root(),
    };
    Runtime::new(cache_root.as_deref())
}

/// The host config (`--config`), with `--timeout` / `--memory-mib` overriding its defaults.
///
/// # Errors
/// The config file is unreadable or wrong, or the overrides exceed its caps.
pub fn host_config(source: &PluginSource) -> anyhow::Result<HostConfig> {
    let mut config = match &source.config {
        Some(file) => HostConfig::load(file)?,
        None => HostConfig::default(),
    };
    if let Some(timeout) = source.timeout {
        config.limits.defaults.call_timeout = timeout;
    }
    if let Some(mib) = source.memory_mib {
        config.limits.defaults.memory_bytes = mib << 20;
    }
    config
        .limits
        .check_caps(&config.limits.defaults)
        .context("command-line limits")?;
    Ok(config)
}

/// The store, when there is a directory for it.
fn store(source: &PluginSource) -> anyhow::Result<Option<Store>> {
    source
        .store_dir()
        .map(|dir| Store::open(&dir).with_context(|| format!("the store '{}'", dir.display())))
        .transpose()
}

/// A library of `source`'s directory under the lock in force (not scanned yet).
fn library(
    source: &PluginSource,
    config: HostConfig,
    pins: Option<Pins>,
    only: Option<BTreeSet<String>>,
) -> anyhow::Result<Library> {
    let mut library = Library::new(
        runtime(source)?,
        source.plugins.clone(),
        source.mounts.clone(),
        config,
    );
    if let Some(pins) = pins {
        library = library.with_pins(pins);
    }
    if let Some(only) = only {
        library = library.with_only(only);
    }
    Ok(library)
}

/// The config's registry plugins as the lock pins them, from the store (a component missing
/// there is fetched by its pinned digest and verified).
async fn registry_plugins(
    source: &PluginSource,
    config: &HostConfig,
    pins: Option<&Pins>,
) -> anyhow::Result<Vec<SourcedFile>> {
    if config.sources.is_empty() {
        return Ok(Vec::new());
    }
    let Some(pins) = pins else {
        let why = "registry plugins are served as a lock file pins them, and there is none: \
                   give --lock FILE or --config FILE (capsule.lock is kept beside it), then run \
                   `capsule lock`";
        anyhow::bail!("{why}");
    };
    let store = store(source)?;
    let fetcher = Fetcher::new(config)?;
    Ok(sources::materialize(&config.sources, pins.lock(), store.as_ref(), Some(&fetcher)).await)
}

/// Load the plugin directory and the config's registry plugins once (only the plugins in
/// `only`, when given), under the lock in force.
///
/// # Errors
/// The directory cannot be read, the store cannot be opened, a trusted key cannot be read,
/// or the config names registry plugins but no lock file is configured.
pub async fn load(
    source: &PluginSource,
    config: HostConfig,
    pins: Option<Pins>,
    only: Option<BTreeSet<String>>,
) -> anyhow::Result<Library> {
    let sourced = registry_plugins(source, &config, pins.as_ref()).await?;
    let mut library = library(source, config, pins, only)?;
    library.set_sourced(sourced);
    library.scan().await?;
    library.warn_unused_mounts();
    Ok(library)
}

/// Exit status 0 when `clean`, else 1.
pub fn exit_status(clean: bool) -> ExitCode {
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `capsule plugins`: exit status 1 when a file failed or a version is held.
///
/// # Errors
/// As [`load`].
pub async fn plugins(args: PluginsArgs) -> anyhow::Result<ExitCode> {
    let config = host_config(&args.source)?;
    let library = load(&args.source, config, args.source.pins(false)?, None).await?;
    let catalog = library.catalog();
    let failures = library.failures();
    let held = library.held();
    if args.json {
        let doc = PluginsReport::new(&catalog, &failures, library.pins(), &held);
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!(
            "{}",
            report::table(&catalog, &failures, library.pins(), &held)
        );
    }
    Ok(exit_status(failures.is_empty() && held.is_empty()))
}

/// The host config and the lock file a command that writes the lock needs (its pins quiet:
/// the command prints held versions itself).
///
/// # Errors
/// As [`host_config`]; no lock file is configured, or it does not parse.
fn config_and_pins(source: &PluginSource) -> anyhow::Result<(HostConfig, Pins)> {
    let config = host_config(source)?;
    let pins = source.pins(false)?.context(pin_commands::NO_LOCK)?.quiet();
    Ok((config, pins))
}

/// `capsule lock`: fetch, verify and keep the config's registry plugins the lock does not pin
/// yet, then pin every plugin not pinned (definitions, component; registry plugins also their
/// manifest digest and signer).
///
/// # Errors
/// No lock file; the store, the lock or a key cannot be read or written.
pub async fn lock(args: LockArgs) -> anyhow::Result<ExitCode> {
    let (config, mut pins) = config_and_pins(&args.source)?;
    let mut lines = Vec::new();
    let mut sourced = Vec::new();
    if !config.sources.is_empty() {
        let store = store(&args.source)?.context("no store directory: give --store DIR")?;
        let fetcher = Fetcher::new(&config)?;
        let (files, fetched, report) =
            sources::fetch_unpinned(&config.sources, pins.lock(), &store, &fetcher).await;
        for (name, source, artifact) in &fetched {
            pins.expect_registry(name, artifact.registry_pin(source));
        }
        sourced = files;
        lines = report;
    }
    let failed_sources = sourced.iter().any(|f| f.error.is_some());
    let mut library = library(&args.source, config, Some(pins), None)?;
    library.set_sourced(sourced);
    library.scan().await?;
    let report = pin_commands::lock(&mut library)?;
    for line in lines {
        println!("{line}");
    }
    print!("{}", report.text);
    Ok(exit_status(report.clean && !failed_sources))
}

/// `capsule approve NAME... | --all`.
///
/// # Errors
/// As [`pin_commands::approve`].
pub async fn approve(args: ApproveArgs) -> anyhow::Result<ExitCode> {
    let (config, pins) = config_and_pins(&args.source)?;
    let only = (!args.all).then(|| args.names.iter().cloned().collect());
    let mut library = load(&args.source, config, Some(pins), only).await?;
    let report = pin_commands::approve(&mut library, &args.names, args.all)?;
    print!("{}", report.text);
    Ok(exit_status(report.clean))
}

/// One registry plugin loaded alone from `file` (no lock): its fingerprint and its summary as
/// `capsule plugins` shows it.
async fn load_alone(
    args: &UpdateArgs,
    config: &HostConfig,
    file: SourcedFile,
) -> anyhow::Result<(Fingerprint, serde_json::Value)> {
    let name = file.name.clone();
    let component = file.expect.context("no component digest")?;
    let mut library = library(
        &args.source,
        config.clone(),
        None,
        Some([name.clone()].into()),
    )?;
    library.set_sourced(vec![file]);
    library.scan().await?;
    if let Some(failure) = library.failures().into_iter().next() {
        anyhow::bail!("it does not load: {}", failure.reason);
    }
    let plugin = library
        .plugins()
        .into_iter()
        .next()
        .context("it does not load")?;
    let catalog = library.catalog();
    let summary = catalog
        .plugins()
        .iter()
        .find(|p| p.name == name)
        .map(|p| serde_json::json!({"version": p.version, "requests": p.requests}))
        .unwrap_or_default();
    let fingerprint = Fingerprint {
        definitions: Definitions::of(&plugin),
        component,
    };
    Ok((fingerprint, summary))
}

/// What changed between two summaries (`{"version", "requests"}`), one line each.
fn summary_changes(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let mut lines = Vec::new();
    if old["version"] != new["version"] {
        lines.push(format!("version: {} -> {}", old["version"], new["version"]));
    }
    for key in ["filesystem", "network", "env"] {
        let (a, b) = (&old["requests"][key], &new["requests"][key]);
        if a != b {
            lines.push(format!("requests {key}: {a} -> {b}"));
        }
    }
    lines
}

/// `capsule update [NAME...]`: move the pins of registry plugins (all, or those named) to what
/// their sources name now, printing what changed (digest, signer, version, requested grants,
/// tools/prompts/resources). The new components are kept in the store before the lock is
/// written, so a server watching the lock serves them at once. Exit status 1 when a plugin
/// could not be updated.
///
/// # Errors
/// No lock file, no store, an unknown name, or the lock cannot be written.
pub async fn update(args: UpdateArgs) -> anyhow::Result<ExitCode> {
    let (config, mut pins) = config_and_pins(&args.source)?;
    let store = store(&args.source)?.context("no store directory: give --store DIR")?;
    let selected: Vec<&SourcedPlugin> = if args.names.is_empty() {
        config.sources.iter().collect()
    } else {
        let mut selected = Vec::new();
        for name in &args.names {
            let plugin = config.sources.iter().find(|p| &p.name == name);
            selected.push(plugin.with_context(|| {
                let known: Vec<&str> = config.sources.iter().map(|p| p.name.as_str()).collect();
                format!(
                    "'{name}' is not a [[plugin]] from a registry in the config (those are: {})",
                    known.join(", ")
                )
            })?);
        }
        selected
    };
    let fetcher = Fetcher::new(&config)?;
    let mut out = String::new();
    let (mut moved, mut failed) = (0, 0);
    for plugin in selected {
        let name = &plugin.name;
        let old = pins.lock().plugins.get(name).cloned();
        let fetched = match fetcher.fetch(plugin, &plugin.source).await {
            Ok(fetched) => fetched,
            Err(e) => {
                let _ = writeln!(out, "{name}: not updated: {e}");
                failed += 1;
                continue;
            }
        };
        let digest = fetched.pulled.digest.clone();
        let source = plugin.source.to_string();
        if let Some(old) = &old
            && old.source.as_deref() == Some(source.as_str())
            && old.digest.as_deref() == Some(digest.as_str())
        {
            let _ = writeln!(out, "{name}: up to date ({source} @ {digest})");
            continue;
        }
        let component = fetched.keep(&store).context("keeping it in the store")?;
        let file = |component| SourcedFile {
            name: name.clone(),
            source: source.clone(),
            path: store.path(&component),
            policy_file: plugin.policy.clone(),
            expect: Some(component),
            error: None,
        };
        let (fingerprint, summary) = match load_alone(&args, &config, file(component)).await {
            Ok(loaded) => loaded,
            Err(e) => {
                let _ = writeln!(out, "{name}: not updated: {} {e:#}", fetched.pulled.source);
                failed += 1;
                continue;
            }
        };
        let _ = writeln!(
            out,
            "{name}: {} -> {} ({})",
            old.as_ref()
                .and_then(|o| Some(format!("{}@{}", o.source.as_deref()?, o.digest.as_deref()?)))
                .unwrap_or_else(|| "not pinned".into()),
            fetched.pulled.source,
            fetched.signer
        );
        let mut changes = Vec::new();
        if let Some(old) = &old {
            if store.path(&old.component).is_file()
                && let Ok((_, before)) = load_alone(&args, &config, file(old.component)).await
            {
                changes.extend(summary_changes(&before, &summary));
            }
            if old.definitions == fingerprint.definitions.digest {
                changes.push("definitions unchanged".into());
            } else {
                changes.extend(pins.diff(&old.definitions, &fingerprint.definitions));
            }
        }
        for line in changes {
            let _ = writeln!(out, "    {line}");
        }
        pins.expect_registry(name, fetched.registry_pin(&plugin.source));
        pins.pin(name, &fingerprint)?;
        moved += 1;
    }
    if moved > 0 {
        pins.save()?;
        let _ = writeln!(
            out,
            "wrote {} ({moved} pin(s) moved)",
            pins.path().display()
        );
    }
    print!("{out}");
    Ok(exit_status(failed == 0))
}
