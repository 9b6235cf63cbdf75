//! Environment grants: variables the guest sees through the normal WASI environment
//! (`std::env::var`, `os.environ`, `process.env`). Values are secrets: they never appear in logs,
//! errors, `Debug` output or `capsule plugins`.

use std::fmt;

/// A value that must not be shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for handing to the guest only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// One environment variable granted to a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: Secret,
}
