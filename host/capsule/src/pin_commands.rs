//! `capsule lock` and `capsule approve`: pinning plugins' definitions in the lock file, and
//! approving changed ones. Both work on a [`Library`] loaded with the lock in force, so a pinned
//! plugin whose definitions changed is there as a held version.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::loader::{Library, LoadFailure};

/// What a command printed, and whether it ended cleanly (exit status 0).
pub struct Report {
    /// The text for stdout.
    pub text: String,
    /// `false`: something failed to load or is held (exit status 1).
    pub clean: bool,
}

/// The error of a command that needs a lock file when none is configured.
pub const NO_LOCK: &str = "no lock file: give --lock FILE (or --config FILE, beside which \
                       capsule.lock is kept)";

/// The plugin name of a file in the plugin directory (its stem).
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn failure_of<'a>(failures: &'a [LoadFailure], name: &str) -> Option<&'a LoadFailure> {
    failures.iter().find(|f| stem(&f.path) == name)
}

/// `capsule lock`: pin every loaded plugin the lock does not pin yet; keep the pins there are,
/// and report those whose plugin now differs. Writes the lock file when it pinned something or
/// the file did not exist.
///
/// # Errors
/// No lock file is configured; the lock file or the store cannot be written.
pub fn lock(library: &mut Library) -> anyhow::Result<Report> {
    let failures = library.failures();
    let held = library.held();
    let versions = library.versions();
    let dir = library.dir().to_path_buf();
    let pins = library.pins_mut().context(NO_LOCK)?;
    let mut out = String::new();
    let mut pinned = 0;
    for (name, fingerprint, is_held) in &versions {
        if *is_held {
            continue; // reported with its diff below
        }
        let definitions = fingerprint.definitions.digest;
        match pins.lock().plugins.get(name) {
            None => {
                pins.pin(name, fingerprint)?;
                let component = fingerprint.component;
                let _ = writeln!(
                    out,
                    "{name}: pinned (definitions {definitions}, component {component})"
                );
                pinned += 1;
            }
            Some(pin) if pin.component != fingerprint.component => {
                let _ = writeln!(
                    out,
                    "{name}: already pinned; definitions unchanged, component changed ({} -> {}); \
                     the pin is kept",
                    pin.component, fingerprint.component
                );
                pins.keep_document(fingerprint);
            }
            Some(_) => {
                let _ = writeln!(out, "{name}: already pinned, unchanged");
                pins.keep_document(fingerprint);
            }
        }
    }
    for h in &held {
        let _ = writeln!(
            out,
            "{}: definitions differ from the pin: held; run `capsule approve {}`",
            h.name, h.name
        );
        for line in &h.diff {
            let _ = writeln!(out, "    {line}");
        }
    }
    for f in &failures {
        let _ = writeln!(out, "{}: not loaded: {}", f.path.display(), f.reason);
    }
    let present: BTreeSet<&str> = versions.iter().map(|(name, _, _)| name.as_str()).collect();
    for name in pins.lock().plugins.keys() {
        if !present.contains(name.as_str()) && failure_of(&failures, name).is_none() {
            let _ = writeln!(
                out,
                "{name}: pinned, but there is no {name}.wasm in {}; the pin is kept",
                dir.display()
            );
        }
    }
    if pinned > 0 || !pins.path().exists() {
        pins.save()?;
        let _ = writeln!(out, "wrote {} ({pinned} new pin(s))", pins.path().display());
    } else {
        let _ = writeln!(out, "{} unchanged", pins.path().display());
    }
    Ok(Report {
        text: out,
        clean: failures.is_empty() && held.is_empty(),
    })
}

/// `capsule approve`: pin the current definitions (and component) of `names`, or with `all` of
/// every pinned plugin in the directory; print what changed. Nothing is written unless every
/// plugin named is pinned and loaded.
///
/// # Errors
/// No lock file; a name that is not pinned, has no file or did not load; the lock file or the
/// store cannot be written.
pub fn approve(library: &mut Library, names: &[String], all: bool) -> anyhow::Result<Report> {
    let failures = library.failures();
    let versions = library.versions();
    let dir = library.dir().to_path_buf();
    let pins = library.pins_mut().context(NO_LOCK)?;
    let lock_file = pins.path().display().to_string();
    let selected: BTreeSet<String> = if all {
        let pinned = &pins.lock().plugins;
        let present = versions.iter().map(|(name, _, _)| name);
        let failed = failures.iter().map(|f| stem(&f.path));
        present
            .cloned()
            .chain(failed)
            .filter(|name| pinned.contains_key(name))
            .collect()
    } else {
        names.iter().cloned().collect()
    };
    let mut approved = Vec::new();
    for name in &selected {
        if !pins.lock().plugins.contains_key(name) {
            anyhow::bail!(
                "plugin '{name}' is not pinned in {lock_file}; `capsule lock` pins new plugins"
            );
        }
        if let Some(f) = failure_of(&failures, name) {
            anyhow::bail!(
                "plugin '{name}' did not load, nothing approved: {}: {}",
                f.path.display(),
                f.reason
            );
        }
        let Some((_, fingerprint, _)) = versions.iter().find(|(n, _, _)| n == name) else {
            anyhow::bail!(
                "no plugin '{name}' to approve: there is no {name}.wasm in {}",
                dir.display()
            );
        };
        approved.push((name, fingerprint));
    }
    let mut out = String::new();
    let mut changed = 0;
    for (name, fingerprint) in approved {
        let Some(pin) = pins.lock().plugins.get(name.as_str()).cloned() else {
            continue; // checked above
        };
        let new = fingerprint.definitions.digest;
        if pin.definitions == new && pin.component == fingerprint.component {
            let _ = writeln!(out, "{name}: matches its pin; nothing to approve");
            pins.keep_document(fingerprint);
            continue;
        }
        if pin.definitions == new {
            let _ = writeln!(
                out,
                "{name}: approved: definitions unchanged, component {} -> {}",
                pin.component, fingerprint.component
            );
        } else {
            let _ = writeln!(
                out,
                "{name}: approved: definitions {} -> {new}",
                pin.definitions
            );
            for line in pins.diff(&pin.definitions, &fingerprint.definitions) {
                let _ = writeln!(out, "    {line}");
            }
        }
        pins.pin(name, fingerprint)?;
        changed += 1;
    }
    if selected.is_empty() {
        let _ = writeln!(out, "no pinned plugin in {}", dir.display());
    }
    if changed > 0 {
        pins.save()?;
        let _ = writeln!(out, "wrote {lock_file}");
    }
    Ok(Report {
        text: out,
        clean: true,
    })
}
