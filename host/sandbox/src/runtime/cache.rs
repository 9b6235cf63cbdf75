//! The compile cache: compiled components on disk, so a restart does not recompile anything.
//!
//! Layout: `<root>/engine-<hash>/<blake3 of the component>.cwasm` (the artifact exactly as
//! `Component::serialize` wrote it) and, beside it, `<same>.sum` ([`MAGIC`] and the BLAKE3
//! digest of the artifact). `<hash>` fingerprints the wasmtime version and every engine setting
//! that affects code generation ([`Engine::precompile_compatibility_hash`]): a new wasmtime or
//! other settings use a fresh directory and never see old artifacts.
//!
//! An artifact is loaded with `Component::deserialize_file`, which maps the file instead of
//! copying it into anonymous memory: the pages of compiled code a plugin never runs are never
//! read, and the ones it runs are clean page-cache pages. (Copying cost every idle plugin the
//! full size of its artifact in RSS, about 0.8 MiB for the `hello` example.)
//!
//! Loading compiled code is `unsafe` in wasmtime (it trusts its input to be machine code it
//! produced), so an entry is trusted only if all of this holds:
//! - the directory is owned by the current user and writable by nobody else (else the cache is
//!   disabled with a warning: another user could plant code);
//! - the `.sum` file starts with [`MAGIC`] and the artifact matches its BLAKE3 digest (a torn
//!   write or bit rot is detected and the entry rebuilt);
//! - wasmtime accepts the artifact's own header (version and engine checks).
//!
//! Both files are written to temporary files and renamed into place (artifact first), so readers
//! never see a partial file; entries are never modified in place, so a mapped artifact stays
//! valid. A failed read is a cache miss, never an error: the component is compiled again.
//!
//! Entries are not `fsync`ed: after a crash an entry may be empty or torn, which its digest
//! catches (a miss, rebuilt), while syncing cost two disk flushes per compiled plugin on its load
//! path (about 15 ms on the benchmark machine, a tenth of a hot reload).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::error::Context as _;

/// First bytes of every `.sum` file (format version 2; version 1 kept the digest in front of the
/// artifact, in one file, which cannot be mapped: such entries are misses and get rewritten).
pub const MAGIC: &[u8; 16] = b"capsule-cwasm-2\n";

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

    fn sum(&self, key: &ContentHash) -> PathBuf {
        self.dir.join(format!("{}.sum", hex(key)))
    }

    /// The compiled component for `key`, if a valid entry exists. Anything wrong with the entry
    /// (missing, truncated, digest mismatch, rejected by wasmtime) is a miss; a damaged entry is
    /// removed and logged.
    pub fn get(&self, engine: &Engine, key: &ContentHash) -> Option<Component> {
        let path = self.entry(key);
        let sum = std::fs::read(self.sum(key)).ok()?;
        let damaged = |why: &dyn std::fmt::Display| {
            tracing::warn!(path = %path.display(), "ignoring damaged compile cache entry: {why}");
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(self.sum(key));
        };
        let digest = match parse_sum(&sum) {
            Ok(digest) => digest,
            Err(why) => {
                damaged(&why);
                return None;
            }
        };
        match file_digest(&path) {
            Ok(actual) if actual == digest => {}
            Ok(_) => {
                damaged(&"digest mismatch");
                return None;
            }
            Err(e) => {
                damaged(&e);
                return None;
            }
        }
        // SAFETY: the artifact was written by `put` in a directory only this user can write
        // (checked in `open`), is never modified in place, and its digest matches: it is the
        // output of `Component::serialize` from an engine with the same compatibility hash.
        // wasmtime additionally checks its own header before using it.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring stale compile cache entry: {e}");
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(self.sum(key));
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
        let payload = component.serialize().context("serializing the component")?;
        let mut sum = MAGIC.to_vec();
        sum.extend_from_slice(blake3::hash(&payload).as_bytes());
        self.write_atomically(&self.entry(key), &payload)?;
        self.write_atomically(&self.sum(key), &sum)?;
        Ok(())
    }

    /// Write `bytes` to a private temporary file beside `path` and rename it to `path`. The
    /// temporary name is unique to this process and write (two loads of the same content may
    /// store it at once).
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self
            .dir
            .join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(bytes)?;
        drop(file);
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        Ok(())
    }
}

/// Check a `.sum` file's framing; return the digest it holds.
fn parse_sum(bytes: &[u8]) -> Result<[u8; DIGEST_LEN], &'static str> {
    let rest = bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or("unknown format")?;
    rest.try_into().map_err(|_| "truncated")
}

/// BLAKE3 of a file, read in chunks (nothing of it stays resident in this process).
fn file_digest(path: &Path) -> std::io::Result<[u8; DIGEST_LEN]> {
    let mut hasher = blake3::Hasher::new();
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(*hasher.finalize().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_are_checked_for_framing() {
        let digest = *blake3::hash(b"compiled code").as_bytes();
        let mut sum = MAGIC.to_vec();
        sum.extend_from_slice(&digest);
        assert_eq!(parse_sum(&sum), Ok(digest));
        assert_eq!(parse_sum(&sum[..MAGIC.len() + 4]), Err("truncated"));
        assert_eq!(parse_sum(b"capsule-cwasm-1\nxxxx"), Err("unknown format"));
    }

    #[test]
    fn entries_round_trip_and_damage_is_a_miss() {
        let root = std::env::temp_dir().join(format!("capsule-cache-rt-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&root)
            .unwrap();
        let engine = Engine::default();
        let cache = CompileCache::open(&root, &engine).unwrap();
        // The smallest component: the preamble alone.
        let component = Component::new(&engine, b"\0asm\x0d\0\x01\0").unwrap();
        let key = content_hash(b"key");
        assert!(cache.get(&engine, &key).is_none(), "empty cache");
        cache.put(&key, &component);
        assert!(cache.get(&engine, &key).is_some(), "stored entry loads");

        let path = cache.entry(&key);
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(
            cache.get(&engine, &key).is_none(),
            "damaged entry is a miss"
        );
        assert!(
            !path.exists() && !cache.sum(&key).exists(),
            "and is removed"
        );
        std::fs::remove_dir_all(&root).unwrap();
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
