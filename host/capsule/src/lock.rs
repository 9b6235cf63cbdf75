//! The lock file (`capsule.lock`, `--lock FILE`): what each pinned plugin says about itself.
//!
//! ```toml
//! # capsule.lock: written by `capsule lock`, `capsule approve` (and `capsule update`); do not edit by hand.
//! version = 1
//!
//! [[plugin]]
//! name = "hello"
//! definitions = "sha256:…"   # SHA-256 of the plugin's canonical definitions document
//! component = "sha256:…"     # SHA-256 of the .wasm bytes when pinned or approved
//! # registry sources only: source = "oci://…", digest = "sha256:…" (manifest), signer = "…"
//! ```
//!
//! Parsed strictly (unknown keys, an unknown `version`, a name twice: errors naming the file and
//! the line); written atomically, sorted by name, so the same pins always make the same file.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use capsule_sandbox::files::{MAX_CONFIG_BYTES, read_regular_text};
use capsule_sandbox::grants::policy::{PolicyError, line_of, parse};
use serde::Deserialize;
use toml::Spanned;

use crate::store::{Digest, write_atomic};

/// The lock file's name beside `--config FILE` when `--lock` is not given.
pub const DEFAULT_NAME: &str = "capsule.lock";

/// The format version this Capsule reads and writes.
pub const VERSION: i64 = 1;

/// The comment that opens every lock file Capsule writes.
const HEADER: &str = "# capsule.lock: written by `capsule lock`, `capsule approve` (and `capsule update`); do not edit by hand.\n";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockToml {
    version: Spanned<i64>,
    #[serde(default)]
    plugin: Vec<PinToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinToml {
    name: Spanned<String>,
    definitions: Digest,
    component: Digest,
    source: Option<String>,
    digest: Option<String>,
    signer: Option<String>,
}

/// What the lock pins for one plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    /// SHA-256 of the plugin's canonical definitions document ([`crate::definitions`]).
    pub definitions: Digest,
    /// SHA-256 of the component bytes when it was pinned or approved.
    pub component: Digest,
    /// Registry sources: where it comes from (`oci://registry/repo:tag`).
    pub source: Option<String>,
    /// Registry sources: the manifest digest.
    pub digest: Option<String>,
    /// Registry sources: who signed it.
    pub signer: Option<String>,
}

impl Pin {
    /// A pin of a dropped-in file: its definitions and component, no registry fields.
    pub fn new(definitions: Digest, component: Digest) -> Self {
        Self {
            definitions,
            component,
            source: None,
            digest: None,
            signer: None,
        }
    }
}

/// The parsed lock file: plugin name → pin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lock {
    /// The pins, by plugin name.
    pub plugins: BTreeMap<String, Pin>,
}

impl Lock {
    /// Read and parse `file`; `Ok(None)` when it does not exist.
    ///
    /// # Errors
    /// The file cannot be read, or does not parse ([`Self::parse`]).
    pub fn load(file: &Path) -> Result<Option<Self>, PolicyError> {
        match read_regular_text(file, MAX_CONFIG_BYTES) {
            Ok(source) => Self::parse(file, &source).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PolicyError {
                file: file.to_path_buf(),
                line: None,
                message: format!("cannot read the lock file: {e}"),
            }),
        }
    }

    /// Parse `source`, the text of `file`.
    ///
    /// # Errors
    /// TOML syntax, an unknown key, a value of the wrong type or a malformed digest, a `version`
    /// other than [`VERSION`], a plugin named twice: the error names the file and the line.
    pub fn parse(file: &Path, source: &str) -> Result<Self, PolicyError> {
        let parsed: LockToml = parse(file, source)?;
        let error = |span: std::ops::Range<usize>, message: String| PolicyError {
            file: file.to_path_buf(),
            line: Some(line_of(source, span)),
            message,
        };
        if *parsed.version.get_ref() != VERSION {
            return Err(error(
                parsed.version.span(),
                format!(
                    "lock file version {} is not supported (this capsule reads version {VERSION}); \
                     it was written by another capsule release",
                    parsed.version.get_ref()
                ),
            ));
        }
        let mut plugins = BTreeMap::new();
        for p in parsed.plugin {
            let span = p.name.span();
            let name = p.name.into_inner();
            if plugins.contains_key(&name) {
                return Err(error(span, format!("plugin '{name}' is pinned twice")));
            }
            plugins.insert(
                name,
                Pin {
                    definitions: p.definitions,
                    component: p.component,
                    source: p.source,
                    digest: p.digest,
                    signer: p.signer,
                },
            );
        }
        Ok(Self { plugins })
    }

    /// The file's text: the header comment, `version`, then one `[[plugin]]` per pin, by name.
    pub fn to_toml(&self) -> String {
        let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut out = format!("{HEADER}version = {VERSION}\n");
        for (name, pin) in &self.plugins {
            let _ = write!(
                out,
                "\n[[plugin]]\nname = {}\ndefinitions = \"{}\"\ncomponent = \"{}\"\n",
                quote(name),
                pin.definitions,
                pin.component
            );
            for (key, value) in [
                ("source", &pin.source),
                ("digest", &pin.digest),
                ("signer", &pin.signer),
            ] {
                if let Some(value) = value {
                    let _ = writeln!(out, "{key} = {}", quote(value));
                }
            }
        }
        out
    }

    /// Write the lock to `file` atomically (keeping the mode of the file it replaces; 0644 for
    /// a new one).
    ///
    /// # Errors
    /// The file cannot be written; the message names it.
    pub fn write(&self, file: &Path) -> anyhow::Result<()> {
        let mode = std::fs::metadata(file)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0o644);
        write_atomic(file, self.to_toml().as_bytes(), mode)
            .map_err(|e| anyhow::anyhow!("cannot write the lock file '{}': {e}", file.display()))
    }
}

/// Where the lock file is: `--lock FILE`, else `capsule.lock` beside `--config FILE`, else
/// nowhere (nothing is pinned).
pub fn lock_path(lock: Option<&Path>, config: Option<&Path>) -> Option<PathBuf> {
    match (lock, config) {
        (Some(lock), _) => Some(lock.to_path_buf()),
        (None, Some(config)) => Some(match config.parent() {
            Some(dir) => dir.join(DEFAULT_NAME),
            None => PathBuf::from(DEFAULT_NAME),
        }),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(seed: &str) -> Pin {
        Pin::new(
            Digest::of(format!("d-{seed}").as_bytes()),
            Digest::of(format!("c-{seed}").as_bytes()),
        )
    }

    #[test]
    fn a_lock_roundtrips_sorted_with_its_header() {
        let mut lock = Lock::default();
        lock.plugins.insert("zeta".into(), pin("z"));
        let mut oci = pin("a");
        oci.source = Some("oci://registry.example.com/tools/a:1.2".into());
        oci.digest = Some(Digest::of(b"manifest").to_string());
        oci.signer = Some("me@example.com \"quoted\"".into());
        lock.plugins.insert("alpha".into(), oci);
        let text = lock.to_toml();
        assert!(
            text.starts_with("# capsule.lock: written by `capsule lock`"),
            "{text}"
        );
        assert!(
            text.find("\"alpha\"").unwrap() < text.find("\"zeta\"").unwrap(),
            "{text}"
        );
        assert!(!text.contains("source = \"oci://registry.example.com/tools/z"));
        let path = Path::new("capsule.lock");
        assert_eq!(Lock::parse(path, &text).unwrap(), lock);

        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("capsule.lock");
        assert_eq!(Lock::load(&file).unwrap(), None, "absent: nothing pinned");
        lock.write(&file).unwrap();
        assert_eq!(Lock::load(&file).unwrap(), Some(lock.clone()));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            text,
            "deterministic"
        );
        let empty = Lock::default().to_toml();
        assert_eq!(Lock::parse(path, &empty).unwrap(), Lock::default());
    }

    #[test]
    fn bad_lock_files_are_errors_naming_the_file_and_line() {
        let d = Digest::of(b"x");
        let entry = |name: &str| {
            format!("\n[[plugin]]\nname = \"{name}\"\ndefinitions = \"{d}\"\ncomponent = \"{d}\"\n")
        };
        let path = Path::new("/etc/capsule/capsule.lock");
        let err = |text: &str| Lock::parse(path, text).unwrap_err();

        let e = err(&format!("version = 2\n{}", entry("a")));
        assert_eq!(e.line, Some(1));
        assert!(
            e.to_string()
                .starts_with("/etc/capsule/capsule.lock:1: lock file version 2 is not supported"),
            "{e}"
        );

        let e = err(&format!("version = 1\n{}{}", entry("a"), entry("a")));
        assert_eq!(e.line, Some(9), "{e}");
        assert!(e.message.contains("plugin 'a' is pinned twice"), "{e}");

        let e = err(&format!("version = 1\n{}color = \"red\"\n", entry("a")));
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("unknown field `color`"), "{e}");

        let e = err(&format!(
            "version = 1\n[[plugin]]\nname = \"a\"\ndefinitions = \"md5:00\"\ncomponent = \"{d}\"\n"
        ));
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("is not a digest"), "{e}");

        let e = err("[[plugin]]\nname = \"a\"\n");
        assert!(e.message.contains("missing field"), "{e}");
        let e = err("version = 1\nversion = 1\n");
        assert!(e.line.is_some(), "{e}");
    }

    #[test]
    fn the_lock_defaults_beside_the_config() {
        assert_eq!(lock_path(None, None), None);
        assert_eq!(
            lock_path(None, Some(Path::new("/etc/capsule/capsule.toml"))),
            Some(PathBuf::from("/etc/capsule/capsule.lock"))
        );
        assert_eq!(
            lock_path(None, Some(Path::new("capsule.toml"))),
            Some(PathBuf::from("capsule.lock"))
        );
        assert_eq!(
            lock_path(Some(Path::new("x.lock")), Some(Path::new("/etc/c.toml"))),
            Some(PathBuf::from("x.lock"))
        );
    }
}
