//! For the host crates' tests only (cargo feature `test-support`, enabled in their
//! `[dev-dependencies]`): where the repository is, and the plugins `make plugins` built.

use std::path::{Path, PathBuf};

/// The repository's root directory (this crate is `host/common`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `NAME.wasm` in `$CAPSULE_PLUGINS`, else in `target/plugins` (where `make plugins` puts it).
///
/// # Panics
/// When the file is missing, saying how to build it: a test that needs a plugin must fail
/// without it, never pass by skipping.
pub fn built_plugin(name: &str) -> PathBuf {
    let dir = std::env::var_os("CAPSULE_PLUGINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/plugins"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run `make plugins` first (make test does), or set CAPSULE_PLUGINS",
        path.display()
    );
    path
}
