//! Test doubles for the host functions, for native unit tests of a plugin
//! (not compiled for WebAssembly, where the real host answers).
//!
//! ```
//! use capsule_plugin::{client_capabilities, resource_updated, testing};
//!
//! testing::set_client_capabilities(serde_json::json!({"sampling": {}}));
//! assert!(client_capabilities().sampling());
//! resource_updated("notes://todo");
//! assert_eq!(testing::take_resource_updates(), ["notes://todo"]);
//! ```
//!
//! The values are per thread (cargo runs each test on its own thread).

use std::cell::RefCell;

use serde_json::Value;

thread_local! {
    pub(crate) static CLIENT_CAPABILITIES: RefCell<String> = RefCell::new("{}".to_string());
    pub(crate) static RESOURCE_UPDATES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// What [`client_capabilities`](crate::client_capabilities()) answers on this
/// thread from now on (`{}` until set).
pub fn set_client_capabilities(capabilities: Value) {
    CLIENT_CAPABILITIES.with(|c| *c.borrow_mut() = capabilities.to_string());
}

/// The URIs passed to [`resource_updated`](crate::resource_updated) on this
/// thread since the last call, in order.
pub fn take_resource_updates() -> Vec<String> {
    RESOURCE_UPDATES.with(|u| std::mem::take(&mut *u.borrow_mut()))
}
