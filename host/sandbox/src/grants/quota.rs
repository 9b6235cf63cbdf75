//! Disk quotas of read-write mounts: `[filesystem] "/data" = { ..., quota = "10MiB" }`.
//!
//! A [`Quota`] is shared by every call of the plugin (and by its mounts' clones): it holds the
//! bytes the mount's host directory uses (the sum of the lengths of its regular files, found by
//! walking it without following symlinks) and grows it by what each write adds past a file's end
//! ([`Quota::reserve`]). The walk happens on first use, and again when a write would not fit
//! (at most once per [`RESCAN_EVERY`]), so space freed by deletes and truncations is found then.
//! The enforcement (writes past the quota fail with `insufficient-space`, ENOSPC) is in
//! `runtime::fs_guard`.

use capsule_common::sync::lock;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytesize::ByteSize;

/// Least time between two walks of a mount that is at its quota.
pub const RESCAN_EVERY: Duration = Duration::from_secs(1);

/// The quota of one read-write mount and its current use.
pub struct Quota {
    /// Bytes the directory may hold.
    pub limit: u64,
    root: PathBuf,
    usage: Mutex<Usage>,
}

#[derive(Default)]
struct Usage {
    /// Bytes in use; `None` before the first walk.
    used: Option<u64>,
    /// When the last walk ended.
    walked: Option<Instant>,
}

impl std::fmt::Debug for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Quota({})", ByteSize(self.limit))
    }
}

/// Quotas are equal when their limits and directories are (use does not matter).
impl PartialEq for Quota {
    fn eq(&self, other: &Self) -> bool {
        self.limit == other.limit && self.root == other.root
    }
}

impl Eq for Quota {}

/// Bytes of the regular files below `dir` (symlinks are not followed; unreadable entries count 0).
pub fn disk_usage(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => disk_usage(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// A write that does not fit in a mount's quota (the mount's `quota` key).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "writing {} more would exceed the mount's quota of {} ({} in use)",
    ByteSize(*.growth),
    ByteSize(*.limit),
    ByteSize(*.used)
)]
pub struct QuotaExceeded {
    /// Bytes the write would add to the directory.
    pub growth: u64,
    /// The quota, in bytes.
    pub limit: u64,
    /// Bytes in use in the directory (as last counted plus what was reserved since).
    pub used: u64,
}

impl Quota {
    /// A quota of `limit` bytes on the host directory `root`.
    pub fn new(root: PathBuf, limit: u64) -> Self {
        Self {
            limit,
            root,
            usage: Mutex::new(Usage::default()),
        }
    }

    /// Account for `growth` more bytes in the directory.
    ///
    /// # Errors
    /// [`QuotaExceeded`]: they do not fit; its message says how much of the quota is used.
    pub fn reserve(&self, growth: u64) -> Result<(), QuotaExceeded> {
        if growth == 0 {
            return Ok(());
        }
        let mut usage = lock(&self.usage);
        let walk = |usage: &mut Usage| {
            usage.used = Some(disk_usage(&self.root));
            usage.walked = Some(Instant::now());
        };
        if usage.used.is_none() {
            walk(&mut usage);
        }
        let fits = |usage: &Usage| {
            usage
                .used
                .unwrap_or(0)
                .checked_add(growth)
                .is_some_and(|total| total <= self.limit)
        };
        if !fits(&usage) && usage.walked.is_none_or(|at| at.elapsed() >= RESCAN_EVERY) {
            walk(&mut usage);
        }
        if fits(&usage) {
            usage.used = Some(usage.used.unwrap_or(0) + growth);
            return Ok(());
        }
        Err(QuotaExceeded {
            growth,
            limit: self.limit,
            used: usage.used.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves_until_full_then_finds_freed_space() {
        let dir = std::env::temp_dir().join(format!("capsule-quota-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a"), vec![0u8; 600]).unwrap();
        let quota = Quota::new(dir.clone(), 1000);
        quota.reserve(400).unwrap();
        let err = quota.reserve(1).unwrap_err();
        assert_eq!(err.limit, 1000);
        assert!(err.to_string().contains("quota of 1000 B"), "{err}");
        std::fs::remove_file(dir.join("sub/a")).unwrap();
        std::thread::sleep(RESCAN_EVERY);
        quota.reserve(900).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
