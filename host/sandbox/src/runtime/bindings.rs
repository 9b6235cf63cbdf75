//! Host-side bindings for the `capsule:plugin` WIT packages.
//!
//! The current contract, `capsule:plugin@0.2.0` (`wit/plugin.wit`), is bound at this module's root
//! and is what the rest of the host works with. [`v1`] binds the frozen `capsule:plugin@0.1.0`
//! (`wit/0.1.0/plugin.wit`) so plugins built for it keep running: their answers are lifted into
//! the 0.2.0 types with [`up`] (0.2.0 only adds, so every 0.1.0 value has the same shape there).
//!
//! Both are generated for the `full-plugin` world; the host never instantiates that world as a
//! whole. Each exported interface is looked up on its own (`GuestIndices::new`), so a component
//! that exports any subset of `tools`, `resources`, `prompts` and `completions` links.

use serde::Serialize;
use serde::de::DeserializeOwned;

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "full-plugin",
    imports: { default: async },
    exports: { default: async },
    additional_derives: [serde::Serialize, serde::Deserialize],
});

pub use capsule::plugin::types;
pub use exports::capsule::plugin::{completions, plugin, prompts, resources, tools};

/// `capsule:plugin@0.1.0`, for plugins built before 0.2.0.
pub mod v1 {
    wasmtime::component::bindgen!({
        path: "../../wit/0.1.0",
        world: "full-plugin",
        imports: { default: async },
        exports: { default: async },
        additional_derives: [serde::Serialize],
    });

    pub use capsule::plugin::{host, types};
    pub use exports::capsule::plugin::{plugin, prompts, resources, tools};
}

/// Lift a 0.1.0 value into the 0.2.0 type of the same name. The two have the same shape (0.2.0
/// only adds cases and interfaces), so this cannot fail for the types it is used with; it goes
/// through `serde_json::Value`, which costs a copy of 0.1.0 plugins' answers only.
///
/// # Panics
/// If `T` and `U` do not have the same shape: a programming error caught by the unit tests.
pub fn up<T: Serialize, U: DeserializeOwned>(value: T) -> U {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .expect("capsule:plugin@0.1.0 values fit the 0.2.0 types")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_0_1_answer_lifts_into_0_2() {
        let content = vec![
            v1::types::ContentBlock::Text(v1::types::TextContent {
                text: "hi".into(),
                annotations: Some(v1::types::Annotations {
                    audience: Some(vec![v1::types::Role::User]),
                    priority: Some(0.5),
                    last_modified: None,
                }),
            }),
            v1::types::ContentBlock::Image(v1::types::MediaContent {
                data: vec![1, 2, 3],
                mime_type: "image/png".into(),
                annotations: None,
            }),
            v1::types::ContentBlock::EmbeddedResource(v1::types::ResourceContents {
                uri: "x://y".into(),
                mime_type: None,
                body: v1::types::ResourceBody::Blob(vec![0, 255]),
                meta: Some("{}".into()),
            }),
        ];
        let outcome = v1::tools::CallOutcome::Complete(v1::tools::CallToolResult {
            content,
            structured_content: None,
            is_error: false,
            meta: None,
        });
        let lifted: tools::CallOutcome = up(outcome);
        let tools::CallOutcome::Complete(result) = lifted else {
            panic!("complete stays complete")
        };
        assert_eq!(result.content.len(), 3);
        assert!(matches!(
            &result.content[2],
            types::ContentBlock::EmbeddedResource(r) if matches!(&r.body, types::ResourceBody::Blob(b) if b == &vec![0, 255])
        ));
        let error: types::Error = up(v1::types::Error::Denied("no".into()));
        assert!(matches!(error, types::Error::Denied(m) if m == "no"));
        let prompt: prompts::Prompt = up(v1::prompts::Prompt {
            name: "p".into(),
            title: None,
            description: None,
            arguments: vec![v1::prompts::PromptArgument {
                name: "a".into(),
                title: None,
                description: None,
                required: true,
            }],
        });
        assert!(prompt.arguments[0].required);
    }
}
