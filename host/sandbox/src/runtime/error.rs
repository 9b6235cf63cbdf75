//! Why loading a plugin or calling into it failed: [`LoadError`] and [`CallError`], with messages
//! that say what to do about it and, when a limit was hit, the limit and its `[limits]` key.

use std::time::Duration;

use bytesize::ByteSize;

use super::bindings::types;

/// Why a file in the plugin directory did not load. The message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the file: {0}")]
    Io(String),
    #[error("not a WebAssembly file (no '\\0asm' header)")]
    NotWasm,
    #[error(
        "a core WebAssembly module, not a component: build for the wasm32-wasip2 target (or run \
         `wasm-tools component new` on it) so it implements the capsule:plugin world"
    )]
    CoreModule,
    #[error("the component does not compile: {0}")]
    Compile(String),
    #[error(
        "compiling the component took longer than {} ([limits] compile_timeout); raise it in the \
         plugin's policy if the component is known to be big",
        humantime::format_duration(*.0)
    )]
    CompileTimeout(Duration),
    #[error(
        "the plugin took longer than {} to describe itself (describe and list-*, \
         [limits] load_timeout); these calls must be static and cheap",
        humantime::format_duration(*.0)
    )]
    LoadTimeout(Duration),
    #[error(
        "the component's imports cannot be satisfied (Capsule provides WASI 0.2 and \
         capsule:plugin/host@0.2.0 and @0.1.0): {0}"
    )]
    Link(String),
    #[error(
        "not a Capsule plugin: it does not export capsule:plugin/plugin@0.2.0 (or @0.1.0); \
         implement one of the worlds in wit/plugin.wit: {0}"
    )]
    NotAPlugin(String),
    #[error("reading the plugin's metadata and lists failed: {0}")]
    Metadata(#[from] CallError),
}

/// Why a call into a plugin did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned one of the contract's typed errors.
    #[error("{}", describe_plugin_error(.0))]
    Plugin(types::Error),
    /// The plugin trapped (panic, `unreachable`, out of bounds, ...) or a host import failed.
    /// The string is the full diagnostic, for the host log only.
    #[error("the plugin crashed: {0}")]
    Trap(String),
    #[error("the plugin ran longer than its time limit of {0:?}")]
    Timeout(Duration),
    #[error("the plugin exceeded its memory limit of {} ([limits] memory)", ByteSize(*.0 as u64))]
    MemoryLimit(usize),
    /// A handle budget ran out (open files, sockets, resource handles): the message names the
    /// limit and its `[limits]` key.
    #[error("{0}")]
    OverLimit(String),
    #[error("the plugin returned {} of output, over its limit of {} ([limits] max_output)", ByteSize(*.size as u64), ByteSize(*.limit as u64))]
    OutputTooLarge { size: usize, limit: usize },
    #[error(
        "the plugin returned {count} content blocks, over its limit of {limit} ([limits] max_content_blocks)"
    )]
    TooManyBlocks { count: usize, limit: usize },
    #[error("the plugin is busy: {0} calls are running and none finished in time; try again later")]
    Busy(usize),
    #[error("the request was cancelled")]
    Cancelled,
    /// The sandbox could not be set up (a granted directory vanished, ...).
    #[error("the sandbox could not be prepared: {0}")]
    Setup(String),
}

fn describe_plugin_error(error: &types::Error) -> String {
    match error {
        types::Error::InvalidArguments(m) => format!("invalid arguments: {m}"),
        types::Error::NotFound(m) => format!("not found: {m}"),
        types::Error::Denied(m) => format!("denied by policy: {m}"),
        types::Error::Internal(m) => m.clone(),
    }
}
