//! `plain_config`: a plain WebAssembly component (it does not export `capsule:plugin`) that reads
//! its configuration through `wasi:config/store` at the two draft versions components built for
//! other hosts import: `0.2.0-draft-2024-09-27` (Spin 3) for `setting` and `settings`, and
//! `0.2.0-draft` (wasmCloud, jco) for `setting-draft`. The end-to-end tests
//! (`tests/e2e/test_plain_config.py`) serve it with a `[config]` table in its policy.
//!
//! Both versions of the package are imported by one world (wit-bindgen names their modules
//! `config0_2_0_draft_2024_09_27` and `config0_2_0_draft`). A store error traps, naming the
//! version: Capsule's values are in memory and it never returns one.

wit_bindgen::generate!({
    path: "wit",
    world: "plain-config",
    // Bindings for the wasi:config imports too (wit-bindgen otherwise expects them from a crate).
    generate_all,
});

use wasi::config0_2_0_draft::store as draft;
use wasi::config0_2_0_draft_2024_09_27::store as spin;

struct PlainConfig;

impl Guest for PlainConfig {
    fn setting(key: String) -> Option<String> {
        spin::get(&key)
            .unwrap_or_else(|e| panic!("wasi:config/store@0.2.0-draft-2024-09-27 get: {e:?}"))
    }

    fn settings() -> Vec<(String, String)> {
        spin::get_all()
            .unwrap_or_else(|e| panic!("wasi:config/store@0.2.0-draft-2024-09-27 get-all: {e:?}"))
    }

    fn setting_draft(key: String) -> Option<String> {
        draft::get(&key).unwrap_or_else(|e| panic!("wasi:config/store@0.2.0-draft get: {e:?}"))
    }
}

export!(PlainConfig);
