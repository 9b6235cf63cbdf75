//! The content-addressed store (`--store DIR`, default `~/.local/share/capsule/store`): blobs kept
//! under their SHA-256, `DIR/sha256/<64 hex>`.
//!
//! Definition pinning keeps the definitions documents it approved here (the canonical JSON of
//! [`crate::definitions`], keyed by its digest), so that a held version's diff can always be
//! shown against what was approved; registry sources keep their component blobs and manifests
//! here too. Every entry is written atomically (a temporary file in the same directory, synced,
//! renamed) and checked against its name when read: a corrupt entry is an error naming the file.

use std::fmt;
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

/// A SHA-256 digest, written `sha256:<64 lowercase hex digits>` (the OCI form).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest([u8; 32]);

/// The prefix of a digest's text form.
const SHA256: &str = "sha256:";

impl Digest {
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SHA256}{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = String;

    /// Parse `sha256:<64 hex digits>` (lowercase, as Capsule and OCI write it).
    fn from_str(text: &str) -> Result<Self, String> {
        let expected = || {
            format!("'{text}' is not a digest: expected \"sha256:\" and 64 lowercase hex digits")
        };
        let hex = text.strip_prefix(SHA256).ok_or_else(expected)?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(expected());
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| expected())?;
        }
        Ok(Self(bytes))
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Write `bytes` to `path` atomically: a temporary file in the same directory, written, synced,
/// given `mode`, then renamed over `path` (and the directory synced), so a reader sees the old
/// content or the new, never a part.
///
/// # Errors
/// The directory is not writable, the disk is full, the rename fails.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".capsule-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    // The rename is durable once the directory is synced; not every file system allows it.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A content-addressed store directory.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Open the store at `dir`, creating it (and `dir/sha256`) with mode 0700 when missing.
    ///
    /// # Errors
    /// The directory cannot be created.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir.join("sha256"))
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create the store '{}': {e}", dir.display()),
                )
            })?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry `digest` is (whether or not it exists).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join("sha256").join(digest.hex())
    }

    /// Keep `bytes`; returns their digest. A no-op when the entry is there already.
    ///
    /// # Errors
    /// The entry cannot be written (the error names it).
    pub fn put(&self, bytes: &[u8]) -> io::Result<Digest> {
        let digest = Digest::of(bytes);
        let path = self.path(&digest);
        if path.is_file() {
            return Ok(digest);
        }
        write_atomic(&path, bytes, 0o600).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot write '{}': {e}", path.display()))
        })?;
        Ok(digest)
    }

    /// The bytes stored under `digest`, checked against it; `None` when there is no such entry.
    ///
    /// # Errors
    /// The entry cannot be read, or its content does not hash to its name (`InvalidData`,
    /// naming the file).
    pub fn get(&self, digest: &Digest) -> io::Result<Option<Vec<u8>>> {
        let path = self.path(digest);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot read '{}': {e}", path.display()),
                ));
            }
        };
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the store entry '{}' is corrupt: its content hashes to {actual}",
                    path.display()
                ),
            ));
        }
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_display_and_serialize() {
        let d = Digest::of(b"abc");
        let text = d.to_string();
        assert_eq!(
            text,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(text.parse::<Digest>().unwrap(), d);
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{text}\""));
        assert_eq!(
            serde_json::from_str::<Digest>(&format!("\"{text}\"")).unwrap(),
            d
        );
        for bad in [
            "",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha256:ba78",
            "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "sha256:zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ] {
            let err = bad.parse::<Digest>().unwrap_err();
            assert!(err.contains("is not a digest"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_store_keeps_bytes_under_their_digest_and_checks_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/store");
        let store = Store::open(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let d = store.put(b"hello").unwrap();
        assert_eq!(d, Digest::of(b"hello"));
        assert!(store.path(&d).ends_with(format!("sha256/{}", d.hex())));
        assert_eq!(store.get(&d).unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(store.put(b"hello").unwrap(), d, "a second put is a no-op");
        assert_eq!(store.get(&Digest::of(b"other")).unwrap(), None);
        // Nothing but the entries: no temporary file left behind.
        let entries = std::fs::read_dir(dir.join("sha256")).unwrap().count();
        assert_eq!(entries, 1);

        std::fs::write(store.path(&d), b"tampered").unwrap();
        let err = store.get(&d).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let message = err.to_string();
        assert!(
            message.contains(&store.path(&d).display().to_string()) && message.contains("corrupt"),
            "{message}"
        );
    }

    #[test]
    fn atomic_writes_replace_the_whole_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        write_atomic(&path, b"one", 0o644).unwrap();
        write_atomic(&path, b"two", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
