//! Filesystem grants: a host directory preopened at a guest path, read-only or read-write.
//!
//! Enforcement is WASI's capability-based path resolution (cap-std under wasmtime-wasi): the guest
//! can only name paths below its preopens, `..` cannot climb out and symlinks pointing outside are
//! refused. Read-only mounts use `FsPerms::ReadOnly`, which turns every mutation into `EPERM`.
//! On top of that (`runtime::fs_guard`): symlinks whose target leaves the mount are refused, and a
//! read-write mount may have a disk quota ([`super::quota`]).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use wasmtime::error::Context as _;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// How much of a mounted directory the guest may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// One filesystem grant for one plugin, from `--fs PLUGIN:GUEST=HOST[:ro|:rw]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The plugin (file stem) the mount is for.
    pub plugin: String,
    /// Absolute path inside the guest, e.g. `/notes`.
    pub guest: String,
    /// Host directory, canonicalized when the mount is parsed.
    pub host: PathBuf,
    pub access: Access,
    /// `quota = "10MiB"` of a read-write mount: bytes the directory may hold
    /// (see [`super::quota`]); `None` for no quota.
    pub quota: Option<Arc<super::quota::Quota>>,
}

/// Why a `--fs` value was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "invalid --fs value '{value}': {reason} (expected PLUGIN:/GUEST/PATH=HOST_DIR[:ro|:rw], e.g. notes:/notes=./data:ro)"
)]
pub struct MountParseError {
    value: String,
    reason: String,
}

impl FromStr for Mount {
    type Err = MountParseError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| MountParseError {
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let (plugin, rest) = value
            .split_once(':')
            .ok_or_else(|| fail("missing 'PLUGIN:'"))?;
        if plugin.is_empty() {
            return Err(fail("the plugin name is empty"));
        }
        let (guest, host) = rest
            .split_once('=')
            .ok_or_else(|| fail("missing '=HOST_DIR'"))?;
        if !guest.starts_with('/') {
            return Err(fail("the guest path must be absolute"));
        }
        if guest.split('/').any(|part| part == "..") {
            return Err(fail("the guest path must not contain '..'"));
        }
        let (host, access) = match host.rsplit_once(':') {
            Some((dir, "ro")) => (dir, Access::ReadOnly),
            Some((dir, "rw")) => (dir, Access::ReadWrite),
            _ => (host, Access::ReadOnly),
        };
        if host.is_empty() {
            return Err(fail("the host directory is empty"));
        }
        let host = std::fs::canonicalize(host)
            .map_err(|e| fail(&format!("host directory '{host}': {e}")))?;
        if !host.is_dir() {
            return Err(fail(&format!("'{}' is not a directory", host.display())));
        }
        Ok(Mount {
            plugin: plugin.to_string(),
            guest: guest.to_string(),
            host,
            access,
            quota: None,
        })
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::ReadOnly => "read-only",
            Access::ReadWrite => "read-write",
        })
    }
}

impl Mount {
    /// Preopen this mount in `builder` with its access.
    pub(crate) fn apply(&self, builder: &mut WasiCtxBuilder) -> anyhow::Result<()> {
        let perms = match self.access {
            Access::ReadOnly => FsPerms::ReadOnly,
            Access::ReadWrite => FsPerms::ReadWrite,
        };
        builder
            .preopened_dir(&self.host, &self.guest, perms)
            .with_context(|| format!("cannot open host directory '{}'", self.host.display()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plugin_guest_host_and_access() {
        let dir = std::env::temp_dir();
        let m: Mount = format!("notes:/notes={}:rw", dir.display())
            .parse()
            .unwrap();
        assert_eq!(m.plugin, "notes");
        assert_eq!(m.guest, "/notes");
        assert_eq!(m.host, std::fs::canonicalize(&dir).unwrap());
        assert_eq!(m.access, Access::ReadWrite);
        let m: Mount = format!("notes:/n={}", dir.display()).parse().unwrap();
        assert_eq!(m.access, Access::ReadOnly);
    }

    #[test]
    fn rejects_bad_values_with_the_reason() {
        let err = "notes/notes=/tmp".parse::<Mount>().unwrap_err();
        assert!(err.to_string().contains("missing 'PLUGIN:'"), "{err}");
        let err = "notes:/notes".parse::<Mount>().unwrap_err();
        assert!(err.to_string().contains("missing '=HOST_DIR'"), "{err}");
        let err = "notes:notes=/tmp".parse::<Mount>().unwrap_err();
        assert!(err.to_string().contains("absolute"), "{err}");
        let err = "notes:/a/../b=/tmp".parse::<Mount>().unwrap_err();
        assert!(err.to_string().contains(".."), "{err}");
        let err = "notes:/n=/definitely/not/here"
            .parse::<Mount>()
            .unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"), "{err}");
    }
}
