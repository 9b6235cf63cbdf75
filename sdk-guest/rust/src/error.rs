//! The error type shared by tools, resources and prompts.

use std::fmt;

/// Why a request failed. Each case maps one-to-one onto the WIT `error`
/// variant of `capsule:plugin/types`, and the host turns it into the MCP
/// shape:
///
/// | case | `tools/call` | `resources/read`, `prompts/get` |
/// |---|---|---|
/// | [`Error::InvalidArguments`] | result with `isError: true` | JSON-RPC `-32602` |
/// | [`Error::NotFound`] | result with `isError: true` | JSON-RPC `-32602` |
/// | [`Error::Denied`] | result with `isError: true` | JSON-RPC `-32603` |
/// | [`Error::Internal`] | result with `isError: true` | JSON-RPC `-32603` |
///
/// The message is shown to the client: say what went wrong and how to fix
/// it, and keep secrets out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The arguments do not fit what the operation expects (WIT
    /// `invalid-arguments`). The SDK returns it on its own when a tool's
    /// arguments do not deserialize, with serde's message.
    InvalidArguments(String),
    /// The named thing (tool, prompt, resource URI, file) does not exist
    /// (WIT `not-found`).
    NotFound(String),
    /// The sandbox refused a capability the operation needed; the message
    /// names it (WIT `denied`).
    Denied(String),
    /// Anything else (WIT `internal`).
    Internal(String),
}

/// The name tool authors usually reach for; the same type as [`Error`].
pub type ToolError = Error;

impl Error {
    /// An [`Error::InvalidArguments`] with `message`.
    pub fn invalid_arguments(message: impl Into<String>) -> Self {
        Error::InvalidArguments(message.into())
    }

    /// An [`Error::NotFound`] with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    /// An [`Error::Denied`] with `message`.
    pub fn denied(message: impl Into<String>) -> Self {
        Error::Denied(message.into())
    }

    /// An [`Error::Internal`] with `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }

    /// The message, whatever the case.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidArguments(m)
            | Error::NotFound(m)
            | Error::Denied(m)
            | Error::Internal(m) => m,
        }
    }

    /// The WIT name of the case: `invalid-arguments`, `not-found`, `denied`
    /// or `internal`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidArguments(_) => "invalid-arguments",
            Error::NotFound(_) => "not-found",
            Error::Denied(_) => "denied",
            Error::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for Error {}

/// I/O errors map by kind: `NotFound` → [`Error::NotFound`],
/// `PermissionDenied` → [`Error::Denied`], anything else →
/// [`Error::Internal`]. Add context with your own message when the path
/// matters to the user.
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(e.to_string()),
            std::io::ErrorKind::PermissionDenied => Error::Denied(e.to_string()),
            _ => Error::Internal(e.to_string()),
        }
    }
}

/// JSON (de)serialization failures inside a handler are internal errors;
/// the SDK maps argument parsing failures to [`Error::InvalidArguments`]
/// itself.
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_and_kinds() {
        assert_eq!(
            Error::invalid_arguments("x"),
            Error::InvalidArguments("x".into())
        );
        assert_eq!(Error::not_found("x").kind(), "not-found");
        assert_eq!(Error::denied("no").kind(), "denied");
        assert_eq!(Error::internal("boom").message(), "boom");
        assert_eq!(
            Error::invalid_arguments("bad").to_string(),
            "invalid-arguments: bad"
        );
    }

    #[test]
    fn io_errors_map_by_kind() {
        use std::io::{Error as Io, ErrorKind};
        assert_eq!(
            Error::from(Io::new(ErrorKind::NotFound, "gone")).kind(),
            "not-found"
        );
        assert_eq!(
            Error::from(Io::new(ErrorKind::PermissionDenied, "no")).kind(),
            "denied"
        );
        assert_eq!(Error::from(Io::other("?")).kind(), "internal");
    }
}
