//! Reading the host's environment through a lookup the caller passes in, so that config parsing
//! can be tested without mutating the process environment (which `std::env::set_var` makes
//! `unsafe` in a multi-threaded process).

/// Looks up a host environment variable: `Some(value)` if it is set and UTF-8, else `None`.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, as an [`EnvLookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
