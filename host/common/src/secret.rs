//! A value that must not be shown: granted environment values, client secrets, static tokens.

use std::fmt;

/// A string that never appears in logs, errors, `Debug` output or `capsule plugins`.
/// [`Secret::expose`] is the one way to read it, for handing it to whoever it is for.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap `value`.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for handing to the guest (or the token endpoint) only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_output_hides_the_value() {
        let secret = Secret::new("hunter2".into());
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
