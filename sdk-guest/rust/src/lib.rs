//! # capsule-plugin — write Capsule plugins in Rust
//!
//! A Capsule plugin is a WebAssembly component implementing the WIT package
//! `capsule:plugin@0.2.0`. This crate hides the component plumbing: a tool
//! is a plain function from a `Deserialize + JsonSchema` arguments struct to
//! a `Serialize + JsonSchema` result, resources and prompts are functions
//! too, and one macro exports the lot.
//!
//! ```
//! use capsule_plugin::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct GreetArgs {
//!     /// Who to greet
//!     name: String,
//! }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Greeting {
//!     greeting: String,
//! }
//!
//! fn greet(args: GreetArgs) -> Result<Greeting, ToolError> {
//!     Ok(Greeting { greeting: format!("Hello, {}!", args.name) })
//! }
//!
//! capsule_plugin::plugin! {
//!     metadata: Metadata::new("hello", "0.1.0").description("Says hello"),
//!     tools: [tool("greet", "Greet someone by name", greet)],
//! }
//! # fn main() {}
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and drop the
//! `.wasm` into the host's plugin directory.
//!
//! [`plugin!`] covers the common case. For more (resources listed from data
//! with `Plugin::resources_from`, shared helpers), build a [`Plugin`] in a
//! function and export it with [`export_plugin!`]; see their docs.
//!
//! ## Features choose the exported interfaces
//!
//! The component always exports `capsule:plugin/plugin` (metadata). The
//! cargo features `tools`, `resources` and `prompts` add the interface of
//! the same name, and with it `Plugin::tool`, `Plugin::resource` /
//! `Plugin::template` and `Plugin::prompt`; `resources` and `prompts` also
//! export `capsule:plugin/completions`. Enable exactly the ones the plugin
//! provides, and build each plugin with its own cargo invocation: cargo
//! unifies features across the packages it builds together.
//!
//! ## Asking the client: elicitation, sampling, roots
//!
//! A tool declared with [`interactive_tool`] (a prompt with
//! [`interactive_prompt`]) gets a [`Context`] besides its arguments and
//! returns an [`Outcome`]: the result, or an [`InputRequired`] naming what
//! it needs from the client, each request under a key, plus optional state.
//! The host asks the client (MCP multi round-trip requests, SEP-2322: an
//! `InputRequiredResult` for 2026-07-28 clients, server-to-client requests
//! for 2025-11-25 ones) and runs the handler again with the answers under
//! the same keys ([`Context::elicitation`], [`Context::sampling`],
//! [`Context::roots`]) and the state ([`Context::state`]). Plain handlers
//! ([`tool`], [`prompt`]) are unchanged.
//!
//! ```
//! # #[cfg(feature = "tools")] {
//! use capsule_plugin::prelude::*;
//! use serde_json::json;
//!
//! fn capital(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
//!     match cx.sampling("capital") {
//!         Some(answer) => Ok(Outcome::complete(ToolOutput::text(answer.text()))),
//!         None if cx.client_capabilities().sampling() => Ok(InputRequired::new()
//!             .sample_text("capital", "What is the capital of France?", 100)
//!             .into()),
//!         None => Ok(Outcome::complete(ToolOutput::error("this client cannot sample"))),
//!     }
//! }
//!
//! let t = interactive_tool("capital", "Ask the client's model", capital);
//! capsule_plugin::testing::set_client_capabilities(json!({"sampling": {}}));
//! assert!(t.call_with("{}", None).unwrap().is_input_required());
//! let answer = json!({"role": "assistant", "content": {"type": "text", "text": "Paris"}, "model": "m"});
//! let done = t.call_with("{}", Some(Resumption::new().response("capital", answer))).unwrap();
//! assert_eq!(done.complete_value().unwrap().content, [Content::text("Paris")]);
//! # }
//! ```
//!
//! ## Long-running tools (tasks)
//!
//! [`Tool::task_support`] declares whether a tool may run as an MCP task
//! ([`TaskSupport`]: `Forbidden`, the default, `Optional` or `Required`);
//! the SDK passes it to the host in the tool's `_meta` under
//! [`TASK_SUPPORT_META_KEY`]. The operator's policy may override it. Inside a
//! task a call may run up to the host's `[limits] task_timeout`, [`progress`]
//! becomes the task's status message, and an [`InputRequired`] parks the task
//! until the client answers.
//!
//! ## Completions
//!
//! `Prompt::completer` and `ResourceTemplate::completer` register
//! suggestions for a prompt argument or a template variable (MCP
//! `completion/complete`); without one the answer is an empty completion.
//!
//! ## Portable input schemas
//!
//! A tool's input schema is written in the portable profile (see
//! [`portable_schema`]) that OpenAI strict function calling, Gemini and
//! Claude accept unchanged: closed objects, every property required, an
//! `Option` or `#[serde(default)]` field nullable. A `null` for such a field
//! means "not given": the handler sees `None` or the default. Where a tool
//! takes one of two inputs, use a required mode enum (or two tools), not two
//! optional fields.
//!
//! ## Errors
//!
//! Handlers return [`Error`] (alias [`ToolError`]), whose cases are those of
//! the WIT `error` variant; arguments that do not deserialize become
//! [`Error::InvalidArguments`] before the handler runs. A tool that ran but
//! wants the model to see a failure returns `ToolOutput::error`
//! (`isError: true`).
//!
//! ## Host functions
//!
//! [`log()`], the [`log`](mod@log) shorthands, [`progress`], [`cancelled`],
//! [`client_capabilities`] and [`resource_updated`] act on the request being
//! served. In native unit tests the [`testing`] module stands in for the
//! host.

#![warn(missing_docs)]

extern crate self as capsule_plugin;

#[doc(hidden)]
pub mod bindings;
mod capabilities;
#[cfg(any(feature = "resources", feature = "prompts"))]
mod completion;
mod content;
mod error;
mod glue;
mod host;
mod input;
mod metadata;
mod plugin;
#[cfg(feature = "prompts")]
mod prompt;
#[cfg(feature = "resources")]
mod resource;
#[cfg(feature = "tools")]
mod schema;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
#[cfg(feature = "tools")]
mod tool;
#[cfg(feature = "resources")]
pub mod uri_template;

pub use capabilities::ClientCapabilities;
#[cfg(any(feature = "resources", feature = "prompts"))]
pub use completion::{
    Completion, CompletionContext, CompletionRef, IntoCompletion, MAX_COMPLETION_VALUES,
};
pub use content::{Annotations, Content, ResourceBody, ResourceContents, ResourceLink, Role};
pub use error::{Error, ToolError};
pub use host::{LogLevel, cancelled, client_capabilities, log, progress, resource_updated};
pub use input::{
    Context, CreateMessageResult, ElicitAction, ElicitResult, InputRequest, InputRequired,
    ListRootsResult, MAX_STATE_BYTES, Outcome, Resumption, Root,
};
pub use metadata::{Access, FilesystemRequest, Metadata};
pub use plugin::Plugin;
#[cfg(feature = "prompts")]
pub use prompt::{
    IntoPromptOutput, Message, Prompt, PromptArgs, PromptArgument, PromptOutput,
    interactive_prompt, prompt,
};
#[cfg(feature = "resources")]
pub use resource::{IntoResourceContents, Resource, ResourceTemplate, Vars, resource, template};
#[cfg(feature = "tools")]
pub use schema::{object_schema, portable_schema};
#[cfg(feature = "tools")]
pub use tool::{
    IntoToolOutput, NoArgs, TASK_SUPPORT_META_KEY, TaskSupport, Tool, ToolAnnotations, ToolOutput,
    interactive_tool, tool,
};

/// Everything a plugin file usually needs, plus serde's and schemars'
/// derives: `use capsule_plugin::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Access, Annotations, ClientCapabilities, Content, Context, CreateMessageResult,
        ElicitAction, ElicitResult, Error, InputRequest, InputRequired, ListRootsResult, LogLevel,
        Metadata, Outcome, Plugin, ResourceBody, ResourceContents, ResourceLink, Resumption, Role,
        Root, ToolError, cancelled, client_capabilities, log, progress, resource_updated,
    };
    #[cfg(any(feature = "resources", feature = "prompts"))]
    pub use crate::{Completion, CompletionContext, CompletionRef};
    #[cfg(feature = "prompts")]
    pub use crate::{Message, Prompt, PromptArgs, PromptOutput, interactive_prompt, prompt};
    #[cfg(feature = "tools")]
    pub use crate::{
        NoArgs, TaskSupport, Tool, ToolAnnotations, ToolOutput, interactive_tool, tool,
    };
    #[cfg(feature = "resources")]
    pub use crate::{Resource, ResourceTemplate, Vars, resource, template};
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// Implementation details used by the macros. Not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings;
    pub use crate::glue::{Definition, Exports};
    pub use wit_bindgen;
}

/// Export a plugin built by a function: `export_plugin!(plugin)` where
/// `fn plugin() -> Plugin`. Use it once, in the plugin crate (a `cdylib`).
///
/// ```
/// use capsule_plugin::prelude::*;
///
/// fn plugin() -> Plugin {
///     Plugin::new(Metadata::new("ping", env!("CARGO_PKG_VERSION")))
///         .tool(tool("ping", "Answer pong", |_: NoArgs| Ok(ToolOutput::text("pong"))))
/// }
///
/// capsule_plugin::export_plugin!(plugin);
/// # fn main() {}
/// ```
///
/// The function runs once per request (the host gives every request a fresh
/// instance), so keep it cheap: no I/O, just declarations.
#[macro_export]
macro_rules! export_plugin {
    ($build:expr $(,)?) => {
        const _: () = {
            struct __CapsuleDefinition;
            impl $crate::__private::Definition for __CapsuleDefinition {
                fn plugin() -> $crate::Plugin {
                    ($build)()
                }
            }
            type __CapsuleExports = $crate::__private::Exports<__CapsuleDefinition>;
            $crate::__private::bindings::__capsule_export!(
                __CapsuleExports with_types_in $crate::__private::bindings
            );
        };
    };
}

/// Declare and export a plugin in one go.
///
/// ```text
/// capsule_plugin::plugin! {
///     metadata: Metadata::new("name", env!("CARGO_PKG_VERSION")).description("..."),
///     tools: [tool(...), ...],            // feature "tools"
///     resources: [resource(...), ...],    // feature "resources"
///     templates: [template(...), ...],    // feature "resources"
///     prompts: [prompt(...), ...],        // feature "prompts"
/// }
/// ```
///
/// Sections are optional but keep this order. For anything more (resources
/// listed from data with `Plugin::resources_from`), build a [`Plugin`] in a
/// function and use [`export_plugin!`].
#[macro_export]
macro_rules! plugin {
    (
        metadata: $metadata:expr
        $(, tools: [$($tool:expr),* $(,)?])?
        $(, resources: [$($resource:expr),* $(,)?])?
        $(, templates: [$($template:expr),* $(,)?])?
        $(, prompts: [$($prompt:expr),* $(,)?])?
        $(,)?
    ) => {
        $crate::export_plugin!(|| {
            #[allow(unused_mut)]
            let mut plugin = $crate::Plugin::new($metadata);
            $($(plugin = plugin.tool($tool);)*)?
            $($(plugin = plugin.resource($resource);)*)?
            $($(plugin = plugin.template($template);)*)?
            $($(plugin = plugin.prompt($prompt);)*)?
            plugin
        });
    };
}
