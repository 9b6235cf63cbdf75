//! The loader's side of definition pinning ([`crate::pinning`]): the verdict on each loaded
//! version, held versions, and the lock file read again.

use std::path::Path;
use std::sync::Arc;

use capsule_sandbox::runtime::LoadedPlugin;
use capsule_server::catalog::Seniority;

use super::{Library, Slot};
use crate::pinning::{Fingerprint, HeldReport, HeldVersion, Pins, Verdict};

/// Apply the lock to a loaded version of a pinned or unpinned plugin: `true` when it is to be
/// served, `false` when it is held (then recorded in `slot`, and logged with its diff).
pub(super) fn admit(
    pins: &mut Pins,
    dir: &Path,
    path: &Path,
    slot: &mut Slot,
    plugin: &Arc<LoadedPlugin>,
    fingerprint: &Fingerprint,
    seniority: Seniority,
) -> bool {
    let name = plugin.image.name();
    let (pinned, diff) = match pins.check(name, fingerprint) {
        Verdict::Unpinned => return true,
        Verdict::Matches => {
            pins.keep_document(fingerprint);
            return true;
        }
        Verdict::Differs { pinned, diff } => (pinned, diff),
    };
    let lines = diff.join("\n    ");
    let new = fingerprint.definitions.digest;
    if pins.approves_changes() {
        tracing::warn!(
            plugin = name,
            path = %path.display(),
            "DEFINITIONS CHANGED AND PUBLISHED WITHOUT APPROVAL (--approve-definition-changes turns \
             the rug-pull protection off): {pinned} -> {new}; the lock file '{}' is rewritten:\n    {lines}",
            pins.path().display()
        );
        if let Err(e) = pins.pin(name, fingerprint).and_then(|()| pins.save()) {
            tracing::error!(plugin = name, "the lock file was not updated: {e:#}");
        }
        return true;
    }
    let serving = if slot.plugin.is_some() {
        "the previous version keeps serving"
    } else {
        "it is not served"
    };
    let message = format!(
        "new version held: its definitions differ from the lock file '{}' ({pinned} -> {new}); \
         {serving}. Approve it with `{}`:\n    {lines}",
        pins.path().display(),
        pins.approve_command(name, dir),
    );
    if pins.is_quiet() {
        tracing::debug!(plugin = name, path = %path.display(), "{message}");
    } else {
        tracing::warn!(plugin = name, path = %path.display(), "{message}");
    }
    let held = HeldVersion {
        plugin: plugin.clone(),
        fingerprint: fingerprint.clone(),
        pinned,
        diff,
    };
    slot.held = Some((held, seniority));
    false
}

impl Library {
    /// Read the lock file again (it changed) and publish every held version whose definitions
    /// it now pins, or whose pin it no longer has. Returns whether the served set changed. A lock
    /// file that does not parse is logged and the pins in force stay.
    pub fn reload_lock(&mut self) -> bool {
        let Some(pins) = self.pins.as_mut() else {
            return false;
        };
        if let Err(e) = pins.reload() {
            tracing::error!("lock file not reloaded; the pins in force stay: {e}");
            return false;
        }
        tracing::info!(lock = %pins.path().display(), "lock file reloaded");
        let mut changed = false;
        for (path, slot) in &mut self.slots {
            let Some((held, _)) = &mut slot.held else {
                continue;
            };
            let name = held.plugin.image.name().to_string();
            match pins.check(&name, &held.fingerprint) {
                Verdict::Differs { pinned, diff } => {
                    held.pinned = pinned;
                    held.diff = diff;
                    continue;
                }
                Verdict::Matches => pins.keep_document(&held.fingerprint),
                Verdict::Unpinned => {}
            }
            let Some((held, seniority)) = slot.held.take() else {
                continue;
            };
            tracing::info!(
                plugin = name,
                path = %path.display(),
                "held version approved by the lock file: publishing it"
            );
            self.joined.entry(name).or_insert(seniority);
            slot.plugin = Some(held.plugin);
            slot.fingerprint = Some(held.fingerprint);
            changed = true;
        }
        changed
    }

    /// Held versions (definitions differ from their pin), sorted by path.
    pub fn held(&self) -> Vec<HeldReport> {
        let Some(pins) = &self.pins else {
            return Vec::new();
        };
        self.slots
            .iter()
            .filter_map(|(path, slot)| {
                let (held, _) = slot.held.as_ref()?;
                let name = held.plugin.image.name().to_string();
                Some(HeldReport {
                    message: pins.held_message(&name),
                    name,
                    path: path.clone(),
                    serving_previous: slot.plugin.is_some(),
                    pinned: held.pinned,
                    definitions: held.fingerprint.definitions.digest,
                    diff: held.diff.clone(),
                })
            })
            .collect()
    }

    /// The newest loaded version of each plugin (the held one, else the served one) with its
    /// fingerprint and whether it is held, sorted by path; only when a lock is in force.
    pub fn versions(&self) -> Vec<(String, Fingerprint, bool)> {
        self.slots
            .values()
            .filter_map(|slot| match (&slot.held, &slot.plugin, &slot.fingerprint) {
                (Some((held, _)), _, _) => Some((
                    held.plugin.image.name().to_string(),
                    held.fingerprint.clone(),
                    true,
                )),
                (None, Some(plugin), Some(fp)) => {
                    Some((plugin.image.name().to_string(), fp.clone(), false))
                }
                _ => None,
            })
            .collect()
    }
}
