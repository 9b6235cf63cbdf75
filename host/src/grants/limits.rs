//! Resource limits of one plugin: memory per instance, wall-clock time per call, concurrent calls,
//! result size, and the handles one call may hold (open files, sockets, resource-table entries). Defaults here, overridden by `capsule.toml` `[defaults]` and by a plugin's
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
    /// Files and directories one call may hold open at once (`wasi:filesystem` `open-at`; the
    /// preopened mounts do not count). One more ends the call (`[limits] max_open_files`).
    pub max_open_files: usize,
    /// Sockets one call may hold at once: `wasi:sockets` TCP sockets plus outgoing `wasi:http`
    /// connections. One more socket ends the call; one more HTTP connection fails with
    /// `connection-limit-reached` (`[limits] max_sockets`).
    pub max_sockets: usize,
    /// Entries one call may hold in its host resource table (every WASI handle: descriptors,
    /// streams, pollables, sockets, HTTP fields, requests, bodies, ...), and also the live
    /// handles in wasmtime's component handle tables of its store. One more ends the call
    /// (`[limits] max_resources`).
    pub max_resources: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            call_timeout: Duration::from_secs(30),
            max_concurrency: 16,
            max_output_bytes: 4 << 20,
            max_open_files: 256,
            max_sockets: 64,
            max_resources: 10_000,
        }
    }
}
