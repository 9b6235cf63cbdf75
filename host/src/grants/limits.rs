//! Resource limits of one plugin: memory per instance, wall-clock time per call, concurrent calls
//! and result size. Defaults here, overridden by `capsule.toml` `[defaults]` and by a plugin's
//! policy `[limits]` (see [`crate::policy`]).

use std::time::Duration;

/// Limits applied to every call of one plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Total linear memory (all memories of the instance together) in bytes; growing past it fails
    /// inside the guest, and a call that dies of it is reported as over its memory limit.
    pub memory_bytes: usize,
    /// Wall-clock budget of one call, instantiation included (epoch interruption).
    pub call_timeout: Duration,
    /// Calls of this plugin running at once; more wait (up to `call_timeout`), then fail.
    pub max_concurrency: usize,
    /// Largest result a call may return, in bytes of text, data and JSON it carries.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            call_timeout: Duration::from_secs(30),
            max_concurrency: 16,
            max_output_bytes: 4 << 20,
        }
    }
}
