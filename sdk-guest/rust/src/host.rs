//! Safe wrappers around the host imports (`capsule:plugin/host`).
//!
//! Each acts on the request being served. Outside a component (native unit
//! tests) `log` prints to stderr, `progress` does nothing, `cancelled` is
//! `false`, `client_capabilities` answers what
//! [`testing::set_client_capabilities`](crate::testing::set_client_capabilities)
//! set (`{}` by default) and `resource_updated` records the URI for
//! [`testing::take_resource_updates`](crate::testing::take_resource_updates).

use crate::capabilities::ClientCapabilities;

/// Severity of a log message (RFC 5424 levels, as MCP `LoggingLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detailed debugging information.
    Debug,
    /// Normal operation.
    Info,
    /// Normal but significant.
    Notice,
    /// Something may be wrong.
    Warning,
    /// Something failed.
    Error,
    /// A component failed badly.
    Critical,
    /// Action must be taken now.
    Alert,
    /// The system is unusable.
    Emergency,
}

/// Log `message` at `level`. It always reaches the host log, tagged with the
/// plugin; the host forwards it to the client as `notifications/message`
/// when the client asked for that level.
pub fn log(level: LogLevel, message: impl AsRef<str>) {
    imp::log(level, message.as_ref());
}

/// Report progress on the current request (MCP `notifications/progress`).
/// `progress` must grow from one call to the next; `total` is the final
/// value when known. Sent only if the client gave a progress token.
pub fn progress(progress: f64, total: Option<f64>, message: Option<&str>) {
    imp::progress(progress, total, message);
}

/// Whether the client has cancelled the current request. Long-running tools
/// should check it between steps and stop early (the host's deadline stops
/// those that do not).
pub fn cancelled() -> bool {
    imp::cancelled()
}

/// The capabilities the client declared (MCP `ClientCapabilities`): from
/// `initialize` for 2025-11-25 clients, from the request's `_meta` for
/// 2026-07-28 ones. Empty outside a request.
///
/// Look here before returning [`InputRequired`](crate::InputRequired): the
/// host fails a request that asks for a capability the client did not declare
/// (MCP error `-32021`). A [`Context`](crate::Context) caches the answer
/// ([`Context::client_capabilities`](crate::Context::client_capabilities)).
///
/// ```
/// use capsule_plugin::client_capabilities;
/// if client_capabilities().sampling() {
///     // ask the client's model
/// }
/// ```
pub fn client_capabilities() -> ClientCapabilities {
    ClientCapabilities::parse(&imp::client_capabilities())
}

/// Report that the resource at `uri` changed (MCP
/// `notifications/resources/updated`): clients subscribed to it
/// (`resources/subscribe` in 2025-11-25, a `subscriptions/listen` resource
/// filter in 2026-07-28) are told to read it again. The host passes on only
/// URIs this plugin serves (listed, or matching one of its templates).
/// Call it after a tool changed what a resource returns.
pub fn resource_updated(uri: impl AsRef<str>) {
    imp::resource_updated(uri.as_ref());
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::LogLevel;
    use crate::bindings::capsule::plugin::host;
    use crate::bindings::capsule::plugin::types::LogLevel as Wit;

    pub fn log(level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Debug => Wit::Debug,
            LogLevel::Info => Wit::Info,
            LogLevel::Notice => Wit::Notice,
            LogLevel::Warning => Wit::Warning,
            LogLevel::Error => Wit::Error,
            LogLevel::Critical => Wit::Critical,
            LogLevel::Alert => Wit::Alert,
            LogLevel::Emergency => Wit::Emergency,
        };
        host::log(level, message);
    }

    pub fn progress(progress: f64, total: Option<f64>, message: Option<&str>) {
        host::progress(progress, total, message);
    }

    pub fn cancelled() -> bool {
        host::cancelled()
    }

    pub fn client_capabilities() -> String {
        host::client_capabilities()
    }

    pub fn resource_updated(uri: &str) {
        host::resource_updated(uri);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::LogLevel;

    pub fn log(level: LogLevel, message: &str) {
        eprintln!("[{level:?}] {message}");
    }

    pub fn progress(_progress: f64, _total: Option<f64>, _message: Option<&str>) {}

    pub fn cancelled() -> bool {
        false
    }

    pub fn client_capabilities() -> String {
        crate::testing::CLIENT_CAPABILITIES.with(|c| c.borrow().clone())
    }

    pub fn resource_updated(uri: &str) {
        crate::testing::RESOURCE_UPDATES.with(|u| u.borrow_mut().push(uri.to_string()));
    }
}

/// Shorthands for [`log()`](crate::log()) at each level:
/// `log::info("loaded 3 notes")`.
pub mod log {
    use super::{LogLevel, log as emit};

    /// Log at `debug`.
    pub fn debug(message: impl AsRef<str>) {
        emit(LogLevel::Debug, message);
    }

    /// Log at `info`.
    pub fn info(message: impl AsRef<str>) {
        emit(LogLevel::Info, message);
    }

    /// Log at `notice`.
    pub fn notice(message: impl AsRef<str>) {
        emit(LogLevel::Notice, message);
    }

    /// Log at `warning`.
    pub fn warning(message: impl AsRef<str>) {
        emit(LogLevel::Warning, message);
    }

    /// Log at `error`.
    pub fn error(message: impl AsRef<str>) {
        emit(LogLevel::Error, message);
    }
}
