//! Host-side bindings for the `capsule:plugin@0.1.0` WIT package (`wit/plugin.wit`).
//!
//! Generated for the `full-plugin` world; the host never instantiates that world as a whole. Each
//! exported interface is looked up on its own (`GuestIndices::new`), so a component that exports
//! any subset of `tools`, `resources` and `prompts` links.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "full-plugin",
    imports: { default: async },
    exports: { default: async },
});

pub use capsule::plugin::types;
pub use exports::capsule::plugin::{plugin, prompts, resources, tools};
