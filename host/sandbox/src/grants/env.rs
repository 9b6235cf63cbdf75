//! Environment grants: variables the guest sees through the normal WASI environment
//! (`std::env::var`, `os.environ`, `process.env`). Values are secrets: they never appear in logs,
//! errors, `Debug` output or `capsule plugins`.

use capsule_common::Secret;

/// One environment variable granted to a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: String,
    pub value: Secret,
}
