//! The compile cache: compiled components on disk, so a restart does not recompile anything.
//!
//! Layout: `<root>/engine-<hash>/<blake3 of the component>.cwasm`, where `<hash>` fingerprints the
//! wasmtime version and every engine setting that affects code generation
//! ([`Engine::precompile_compatibility_hash`]): a new wasmtime or other settings use a fresh
//! directory and never see old artifacts.
//!
//! Loading compiled code is `unsafe` in wasmtime (it trusts its input to be machine code it
//! produced), so an entry is trusted only if all of this holds:
//! - the directory is owned by the current user and writable by nobody else (else the cache is
//!   disabled with a warning: another user could plant code);
//! - the entry starts with [`MAGIC`] and the BLAKE3 digest of its payload, and the payload matches
//!   the digest (a torn write or bit rot is detected and the entry rebuilt);
//! - wasmtime accepts the payload's own header (version and engine checks).
//!
//! Entries are written to a temporary file and renamed into place, so readers never see a partial
//! entry. A failed read is a cache miss, never an error: the component is compiled again.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// First bytes of every entry (format version 1).
pub const MAGIC: &[u8; 16] = b"capsule-cwasm-1\n";

const DIGEST_LEN: usize = 32;

/// A BLAKE3 digest of component bytes: the cache key.
pub type ContentHash = [u8; 32];

/// Hash component bytes for [`CompileCache`] keys.
pub fn content_hash(bytes: &[u8]) -> ContentHash {
    *blake3::hash(bytes).as_bytes()
}

/// Hex form of a content hash (lowercase, 64 characters).
pub fn hex(hash: &ContentHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why the cache directory was refused.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot create or open the compile cache directory '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the compile cache directory '{0}' is owned by another user or writable by others; \
         compiled code from it could be planted, so it is not used (fix its owner and mode 0700, \
         or pass --cache-dir)"
    )]
    Unsafe(PathBuf),
}

/// A private on-disk cache of compiled components for one engine configuration.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
}

/// The default cache root: `$XDG_CACHE_HOME/capsule/compiled` (usually `~/.cache/capsule/compiled`).
pub fn default_root() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("capsule").join("compiled"))
}

fn engine_fingerprint(engine: &Engine) -> u64 {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

fn check_private(path: &Path) -> Result<(), CacheError> {
    let meta = std::fs::metadata(path).map_err(|source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me || meta.permissions().mode() & 0o022 != 0 {
        return Err(CacheError::Unsafe(path.to_path_buf()));
    }
    Ok(())
}

impl CompileCache {
    /// Open (creating it with mode 0700 if needed) the cache for `engine` under `root`.
    ///
    /// # Errors
    /// The directory cannot be created, or it (or `root`) is not private to this user.
    pub fn open(root: &Path, engine: &Engine) -> Result<Self, CacheError> {
        let dir = root.join(format!("engine-{:016x}", engine_fingerprint(engine)));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| CacheError::Io {
                path: dir.clone(),
                source,
            })?;
        check_private(root)?;
        check_private(&dir)?;
        Ok(Self { dir })
    }

    /// The directory holding this engine's entries.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, key: &ContentHash) -> PathBuf {
        self.dir.join(format!("{}.cwasm", hex(key)))
    }

    /// The compiled component for `key`, if a valid entry exists. Anything wrong with the entry
    /// (missing, truncated, digest mismatch, rejected by wasmtime) is a miss; a damaged entry is
    /// removed and logged.
    pub fn get(&self, engine: &Engine, key: &ContentHash) -> Option<Component> {
        let path = self.entry(key);
        let bytes = std::fs::read(&path).ok()?;
        let payload = match verify(&bytes) {
            Ok(payload) => payload,
            Err(why) => {
                tracing::warn!(path = %path.display(), "ignoring damaged compile cache entry: {why}");
                let _ = std::fs::remove_file(&path);
                return None;
            }
        };
        // SAFETY: the payload was written by `put` in a directory only this user can write
        // (checked in `open`), and its digest matches: it is the output of
        // `Component::serialize` from an engine with the same compatibility hash. wasmtime
        // additionally checks its own header before using it.
        match unsafe { Component::deserialize(engine, payload) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring stale compile cache entry: {e}");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Store `component` under `key`. Failures are logged and otherwise ignored: the cache is an
    /// optimization.
    pub fn put(&self, key: &ContentHash, component: &Component) {
        if let Err(e) = self.try_put(key, component) {
            tracing::warn!(dir = %self.dir.display(), "could not write the compile cache: {e:#}");
        }
    }

    fn try_put(&self, key: &ContentHash, component: &Component) -> anyhow::Result<()> {
        let payload = component
            .serialize()
            .map_err(|e| anyhow::anyhow!("serializing the component: {e}"))?;
        let path = self.entry(key);
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", hex(key), std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(blake3::hash(&payload).as_bytes())?;
        file.write_all(&payload)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        Ok(())
    }
}

/// Check an entry's framing and digest; return the payload.
fn verify(bytes: &[u8]) -> Result<&[u8], &'static str> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("unknown format")?;
    if rest.len() < DIGEST_LEN {
        return Err("truncated");
    }
    let (digest, payload) = rest.split_at(DIGEST_LEN);
    if blake3::hash(payload).as_bytes() != digest {
        return Err("digest mismatch");
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_accepts_only_intact_entries() {
        let payload = b"compiled code";
        let mut entry = MAGIC.to_vec();
        entry.extend_from_slice(blake3::hash(payload).as_bytes());
        entry.extend_from_slice(payload);
        assert_eq!(verify(&entry), Ok(&payload[..]));

        let mut flipped = entry.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(verify(&flipped), Err("digest mismatch"));
        assert_eq!(verify(&entry[..MAGIC.len() + 4]), Err("truncated"));
        assert_eq!(verify(b"\0asm\x0d\0\x01\0"), Err("unknown format"));
    }

    #[test]
    fn refuses_a_directory_others_can_write() {
        let root = std::env::temp_dir().join(format!("capsule-cache-test-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o777)).unwrap();
        let engine = Engine::default();
        let err = CompileCache::open(&root, &engine).unwrap_err();
        assert!(matches!(err, CacheError::Unsafe(_)), "{err}");
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700)).unwrap();
        let cache = CompileCache::open(&root, &engine).unwrap();
        assert!(cache.dir().starts_with(&root));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
