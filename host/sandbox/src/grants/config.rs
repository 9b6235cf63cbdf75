//! Configuration grants (`[config]` in the policy): key-value pairs a guest reads through the
//! standard `wasi:config/store` interface (`get`, `get-all`), as components written for other hosts
//! do. Values are secrets: they never appear in logs, errors, `Debug` output or `capsule plugins`
//! (which shows the keys only).
//!
//! Unlike the environment, configuration is granted as the operator writes it, to every plugin:
//! there is nothing to request (the `capsule:plugin` metadata has no field for it), so a component
//! that knows nothing of Capsule gets its configuration too. The operator's file is the whole grant.

use std::fmt;
use std::sync::Arc;

use capsule_common::Secret;
use wasmtime_wasi_config::WasiConfigVariables;

/// One configuration value granted to a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigVar {
    pub key: String,
    pub value: Secret,
}

/// A plugin's `[config]` values, ready for its calls: the map `wasi:config/store` reads is built
/// once, when the policy is parsed, and every call of the plugin shares it (an `Arc`, no copy per
/// call).
#[derive(Clone, Default)]
pub struct ConfigGrants {
    /// Sorted by key.
    vars: Arc<[ConfigVar]>,
    /// The same pairs, as `wasmtime_wasi_config` serves them.
    store: Arc<WasiConfigVariables>,
}

impl ConfigGrants {
    /// The grants of `vars` (keys unique, as the policy's TOML table guarantees).
    pub fn new(mut vars: Vec<ConfigVar>) -> Self {
        vars.sort_by(|a, b| a.key.cmp(&b.key));
        let store = vars
            .iter()
            .map(|v| (v.key.as_str(), v.value.expose()))
            .collect::<WasiConfigVariables>();
        Self {
            vars: vars.into(),
            store: Arc::new(store),
        }
    }

    /// The granted pairs, sorted by key.
    pub fn vars(&self) -> &[ConfigVar] {
        &self.vars
    }

    /// The granted keys, sorted (what reports show: never the values).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().map(|v| v.key.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// The map a call's `wasi:config/store` reads (shared, see `runtime::state::CallState`).
    pub(crate) fn store(&self) -> &Arc<WasiConfigVariables> {
        &self.store
    }
}

/// Keys and `Secret(***)`: the same as the pairs' own `Debug`.
impl fmt::Debug for ConfigGrants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.vars.iter()).finish()
    }
}

/// Equal when the pairs are (`store` is built from them).
impl PartialEq for ConfigGrants {
    fn eq(&self, other: &Self) -> bool {
        self.vars == other.vars
    }
}

impl Eq for ConfigGrants {}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(key: &str, value: &str) -> ConfigVar {
        ConfigVar {
            key: key.into(),
            value: Secret::new(value.into()),
        }
    }

    #[test]
    fn keys_are_sorted_and_values_never_shown() {
        let grants = ConfigGrants::new(vec![var("b", "hunter2"), var("a", "x")]);
        assert_eq!(grants.keys().collect::<Vec<_>>(), ["a", "b"]);
        let debug = format!("{grants:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("\"b\""), "{debug}");
        assert_eq!(
            grants,
            ConfigGrants::new(vec![var("a", "x"), var("b", "hunter2")])
        );
        assert_ne!(
            grants,
            ConfigGrants::new(vec![var("a", "x"), var("b", "other")])
        );
        assert!(ConfigGrants::default().is_empty());
    }
}
