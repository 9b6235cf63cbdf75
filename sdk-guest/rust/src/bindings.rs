//! The wit-bindgen bindings of `capsule:plugin@0.2.0` (`wit/plugin.wit`).
//! The cargo features pick the world, so the component exports exactly the
//! interfaces the plugin provides. Every world imports `host` and exports
//! `plugin`; a world with resources or prompts also exports `completions`.
//!
//! | features | world | exports besides `plugin` |
//! |---|---|---|
//! | (none) | `plugin-base` | — |
//! | `tools` | `tools-plugin` | `tools` |
//! | `resources` | `resources-plugin` | `resources`, `completions` |
//! | `prompts` | `prompts-plugin` | `prompts`, `completions` |
//! | `tools`, `resources` | `tools-resources-plugin` | `tools`, `resources`, `completions` |
//! | `tools`, `prompts` | `tools-prompts-plugin` | `tools`, `prompts`, `completions` |
//! | `resources`, `prompts` | `resources-prompts-plugin` | `resources`, `prompts`, `completions` |
//! | `tools`, `resources`, `prompts` | `full-plugin` | `tools`, `resources`, `prompts`, `completions` |

#![allow(missing_docs, clippy::all)]

macro_rules! bindings_for {
    ($world:tt) => {
        wit_bindgen::generate!({
            world: $world,
            path: "../../wit",
            pub_export_macro: true,
            export_macro_name: "__capsule_export",
            default_bindings_module: "::capsule_plugin::__private::bindings",
            runtime_path: "::capsule_plugin::__private::wit_bindgen::rt",
            generate_unused_types: true,
        });
    };
}

#[cfg(not(any(feature = "tools", feature = "resources", feature = "prompts")))]
bindings_for!("plugin-base");

#[cfg(all(
    feature = "tools",
    not(feature = "resources"),
    not(feature = "prompts")
))]
bindings_for!("tools-plugin");

#[cfg(all(
    not(feature = "tools"),
    feature = "resources",
    not(feature = "prompts")
))]
bindings_for!("resources-plugin");

#[cfg(all(
    not(feature = "tools"),
    not(feature = "resources"),
    feature = "prompts"
))]
bindings_for!("prompts-plugin");

#[cfg(all(feature = "tools", feature = "resources", not(feature = "prompts")))]
bindings_for!("tools-resources-plugin");

#[cfg(all(feature = "tools", not(feature = "resources"), feature = "prompts"))]
bindings_for!("tools-prompts-plugin");

#[cfg(all(not(feature = "tools"), feature = "resources", feature = "prompts"))]
bindings_for!("resources-prompts-plugin");

#[cfg(all(feature = "tools", feature = "resources", feature = "prompts"))]
bindings_for!("full-plugin");
