//! Why loading a plugin or calling into it failed: [`LoadError`] and [`CallError`], with messages
//! that say what to do about it and, when a limit was hit, the limit and its `[limits]` key.

use std::time::Duration;

use bytesize::ByteSize;

use super::bindings::types;

/// Why a file in the plugin directory did not load. The message says what to do about it.
///
/// Variants that wrap a lower-level error keep it as their [`source`](std::error::Error::source)
/// (the `io::Error`, or wasmtime's error with its whole cause chain) and, as before, also show its
/// text in their own message, which is what the plugin report and the host log print.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read: the operating system's error.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes do not start with the WebAssembly magic.
    #[error("not a WebAssembly file (no '\\0asm' header)")]
    NotWasm,
    /// A core module (WebAssembly version 1 preamble) rather than a component.
    #[error(
        "a core WebAssembly module, not a component: build for the wasm32-wasip2 target (or run \
         `wasm-tools component new` on it) so it implements the capsule:plugin world"
    )]
    CoreModule,
    /// Cranelift (or the component validator) rejected the bytes, or the compiler thread failed;
    /// the source is wasmtime's error, the message shows its whole chain.
    #[error("the component does not compile: {0:#}")]
    Compile(#[source] anyhow::Error),
    /// Compilation did not finish within `[limits] compile_timeout` (the duration).
    #[error(
        "compiling the component took longer than {} ([limits] compile_timeout); raise it in the \
         plugin's policy if the component is known to be big",
        humantime::format_duration(*.0)
    )]
    CompileTimeout(Duration),
    /// `describe` and the `list-*` calls did not finish within `[limits] load_timeout` (the
    /// duration), instantiation included.
    #[error(
        "the plugin took longer than {} to describe itself (describe and list-*, \
         [limits] load_timeout); these calls must be static and cheap",
        humantime::format_duration(*.0)
    )]
    LoadTimeout(Duration),
    /// An import of the component is not provided by the host; the source is the linker's error.
    #[error(
        "the component's imports cannot be satisfied (Capsule provides WASI 0.2 with outgoing \
         wasi:http, wasi:config/store, and capsule:plugin/host@0.2.0 and @0.1.0): {0:#}"
    )]
    Link(#[source] anyhow::Error),
    /// The component exports neither minor of `capsule:plugin/plugin` nor any function (so it
    /// is not a plain component either); the source is the lookup error of the current minor.
    #[error(
        "nothing to serve: the component exports no function and not capsule:plugin/plugin@0.2.0 \
         (or @0.1.0); export functions (each becomes a tool) or implement one of the worlds in \
         wit/plugin.wit: {0:#}"
    )]
    NotAPlugin(#[source] anyhow::Error),
    /// The component exports interfaces in the `wasmcp:` namespace but none Capsule can serve
    /// (`crate::wasmcp::detect`), or one whose functions do not have wasmcp's signatures; the
    /// text says which.
    #[error("not a wasmcp component Capsule can serve: {0}")]
    Wasmcp(String),
    /// A plain component whose every exported function is skipped; the text lists each with
    /// why.
    #[error("nothing to serve: none of the component's exported functions can be a tool: {0}")]
    NothingToServe(String),
    /// The descriptions the operator supplied do not fit the plugin: a `NAME.wit` that does not
    /// match the component, or a `[tools.NAME]` policy table naming a tool or argument the
    /// plugin does not have. The message names the file, the line and the difference.
    #[error("{0}")]
    Docs(String),
    /// `describe` or a `list-*` call failed (trapped, returned too much, ...).
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
    /// The source is wasmtime's error (its chain holds the [`wasmtime::Trap`] code, if any, and
    /// the guest backtrace); the message shows all of it (`{:?}`), for the host log only:
    /// clients are told that the plugin crashed.
    #[error("the plugin crashed: {0:?}")]
    Trap(#[source] anyhow::Error),
    /// The call was asked for an interface the component does not export (`tools`,
    /// `resources`, `prompts` or `completions`).
    #[error("the plugin does not export capsule:plugin/{0}")]
    NotExported(&'static str),
    /// The call ran past its time limit (the duration: `[limits] timeout`, or the load timeout
    /// while loading).
    #[error("the plugin ran longer than its time limit of {0:?}")]
    Timeout(Duration),
    /// The call's linear memory plus host-side bytes went over `[limits] memory` (bytes).
    #[error("the plugin exceeded its memory limit of {} ([limits] memory)", ByteSize(*.0 as u64))]
    MemoryLimit(usize),
    /// A handle budget ran out (open files, sockets, resource handles): the message names the
    /// limit and its `[limits]` key.
    #[error("{0}")]
    OverLimit(String),
    /// The answer's size (`size` bytes, as counted by `result_size`) is over `[limits]
    /// max_output` (`limit` bytes).
    #[error("the plugin returned {} of output, over its limit of {} ([limits] max_output)", ByteSize(*.size as u64), ByteSize(*.limit as u64))]
    OutputTooLarge { size: usize, limit: usize },
    /// The answer has `count` content blocks (or messages, or input requests), over `[limits]
    /// max_content_blocks` (`limit`).
    #[error(
        "the plugin returned {count} content blocks, over its limit of {limit} ([limits] max_content_blocks)"
    )]
    TooManyBlocks { count: usize, limit: usize },
    /// No concurrency slot of the plugin (`[limits] max_concurrency`) or of the instance pool
    /// freed up in time; the number is that limit.
    #[error("the plugin is busy: {0} calls are running and none finished in time; try again later")]
    Busy(usize),
    /// The request's cancellation token fired while the call ran.
    #[error("the request was cancelled")]
    Cancelled,
    /// The sandbox could not be set up (a granted directory vanished, ...); the source says why,
    /// the message shows its whole chain.
    #[error("the sandbox could not be prepared: {0:#}")]
    Setup(#[source] anyhow::Error),
}

impl CallError {
    /// How a call that failed this way ended, for `capsule.plugin.calls`.
    pub fn outcome(&self) -> capsule_telemetry::metrics::Outcome {
        use capsule_telemetry::metrics::Outcome;
        match self {
            Self::Plugin(_) => Outcome::ToolError,
            Self::Trap(_) => Outcome::Trap,
            Self::Timeout(_) => Outcome::Timeout,
            Self::Cancelled => Outcome::Cancelled,
            Self::MemoryLimit(_)
            | Self::OverLimit(_)
            | Self::OutputTooLarge { .. }
            | Self::TooManyBlocks { .. }
            | Self::Busy(_) => Outcome::OverLimit,
            Self::NotExported(_) | Self::Setup(_) => Outcome::Error,
        }
    }
}

fn describe_plugin_error(error: &types::Error) -> String {
    match error {
        types::Error::InvalidArguments(m) => format!("invalid arguments: {m}"),
        types::Error::NotFound(m) => format!("not found: {m}"),
        types::Error::Denied(m) => format!("denied by policy: {m}"),
        types::Error::Internal(m) => m.clone(),
    }
}
