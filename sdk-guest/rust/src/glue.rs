//! The WIT exports: implementations of the generated `Guest` traits that
//! build the plugin and convert between SDK and WIT types.

use std::marker::PhantomData;

use crate::bindings::exports::capsule::plugin::plugin as wit_plugin;
use crate::metadata::{Access, Metadata};
use crate::plugin::Plugin;

#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
use crate::bindings::capsule::plugin::types as wit;
#[cfg(any(feature = "tools", feature = "prompts"))]
use crate::content::Content;
#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
use crate::content::{Annotations, ResourceBody, ResourceContents, Role};
#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
use crate::error::Error;
#[cfg(any(feature = "tools", feature = "prompts"))]
use crate::input::{InputRequest, InputRequired, Resumption};

/// Implemented by [`export_plugin!`](crate::export_plugin) for a type of the
/// plugin crate: how to build the plugin.
pub trait Definition {
    /// Build the plugin (once per request).
    fn plugin() -> Plugin;
}

/// The type whose `Guest` implementations the component exports.
pub struct Exports<D>(PhantomData<D>);

impl<D: Definition> wit_plugin::Guest for Exports<D> {
    fn describe() -> wit_plugin::Metadata {
        metadata(D::plugin().metadata)
    }
}

fn metadata(m: Metadata) -> wit_plugin::Metadata {
    wit_plugin::Metadata {
        name: m.name,
        version: m.version,
        description: m.description,
        requests: wit_plugin::CapabilityRequests {
            filesystem: m
                .filesystem
                .into_iter()
                .map(|f| wit_plugin::FilesystemRequest {
                    path: f.path,
                    access: match f.access {
                        Access::ReadOnly => wit_plugin::Access::ReadOnly,
                        Access::ReadWrite => wit_plugin::Access::ReadWrite,
                    },
                    reason: f.reason,
                })
                .collect(),
            network: m.network,
            env: m.env,
        },
    }
}

#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
fn error(e: Error) -> wit::Error {
    match e {
        Error::InvalidArguments(m) => wit::Error::InvalidArguments(m),
        Error::NotFound(m) => wit::Error::NotFound(m),
        Error::Denied(m) => wit::Error::Denied(m),
        Error::Internal(m) => wit::Error::Internal(m),
    }
}

#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
fn role(r: Role) -> wit::Role {
    match r {
        Role::User => wit::Role::User,
        Role::Assistant => wit::Role::Assistant,
    }
}

#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
fn annotations(a: Option<Annotations>) -> Option<wit::Annotations> {
    a.map(|a| wit::Annotations {
        audience: a.audience.map(|v| v.into_iter().map(role).collect()),
        priority: a.priority,
        last_modified: a.last_modified,
    })
}

#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
fn json(v: serde_json::Value) -> String {
    v.to_string()
}

#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
fn resource_contents(c: ResourceContents) -> wit::ResourceContents {
    wit::ResourceContents {
        uri: c.uri,
        mime_type: c.mime_type,
        body: match c.body {
            ResourceBody::Text(t) => wit::ResourceBody::Text(t),
            ResourceBody::Blob(b) => wit::ResourceBody::Blob(b),
        },
        meta: c.meta.map(json),
    }
}

#[cfg(any(feature = "tools", feature = "prompts"))]
fn resumption(r: Option<wit::Resumption>) -> Option<Resumption> {
    r.map(|r| Resumption::from_parts(r.responses, r.state))
}

#[cfg(any(feature = "tools", feature = "prompts"))]
fn input_required(input: InputRequired) -> wit::InputRequired {
    let (requests, state) = input.into_parts();
    wit::InputRequired {
        requests: requests
            .into_iter()
            .map(|(key, request)| {
                let request = match request {
                    InputRequest::Elicitation(params) => {
                        wit::InputRequest::Elicitation(json(params))
                    }
                    InputRequest::Sampling(params) => wit::InputRequest::Sampling(json(params)),
                    InputRequest::ListRoots => wit::InputRequest::ListRoots,
                };
                (key, request)
            })
            .collect(),
        state,
    }
}

#[cfg(any(feature = "tools", feature = "prompts"))]
fn content(c: Content) -> wit::ContentBlock {
    match c {
        Content::Text {
            text,
            annotations: a,
        } => wit::ContentBlock::Text(wit::TextContent {
            text,
            annotations: annotations(a),
        }),
        Content::Image {
            data,
            mime_type,
            annotations: a,
        } => wit::ContentBlock::Image(wit::MediaContent {
            data,
            mime_type,
            annotations: annotations(a),
        }),
        Content::Audio {
            data,
            mime_type,
            annotations: a,
        } => wit::ContentBlock::Audio(wit::MediaContent {
            data,
            mime_type,
            annotations: annotations(a),
        }),
        Content::ResourceLink(l) => wit::ContentBlock::ResourceLink(wit::ResourceLink {
            uri: l.uri,
            name: l.name,
            title: l.title,
            description: l.description,
            mime_type: l.mime_type,
            size: l.size,
            annotations: annotations(l.annotations),
        }),
        Content::Resource(r) => wit::ContentBlock::EmbeddedResource(resource_contents(r)),
    }
}

#[cfg(feature = "tools")]
mod tools {
    use super::*;
    use crate::bindings::exports::capsule::plugin::tools as wit_tools;
    use crate::input::Outcome;

    impl<D: Definition> wit_tools::Guest for Exports<D> {
        fn list_tools() -> Vec<wit_tools::Tool> {
            D::plugin()
                .tools
                .iter()
                .map(|t| wit_tools::Tool {
                    name: t.name.clone(),
                    title: t.title.clone(),
                    description: t.description.clone(),
                    input_schema: json(t.input_schema()),
                    output_schema: t.output_schema().map(json),
                    annotations: t.annotations.clone().map(|a| wit_tools::ToolAnnotations {
                        title: a.title,
                        read_only_hint: a.read_only_hint,
                        destructive_hint: a.destructive_hint,
                        idempotent_hint: a.idempotent_hint,
                        open_world_hint: a.open_world_hint,
                    }),
                    meta: t.wire_meta().map(json),
                })
                .collect()
        }

        fn call_tool(
            name: String,
            arguments: String,
            resume: Option<wit::Resumption>,
        ) -> Result<wit_tools::CallOutcome, wit::Error> {
            let outcome = D::plugin()
                .call_tool_with(&name, &arguments, resumption(resume))
                .map_err(error)?;
            Ok(match outcome {
                Outcome::Complete(out) => {
                    wit_tools::CallOutcome::Complete(wit_tools::CallToolResult {
                        content: out.content.into_iter().map(content).collect(),
                        structured_content: out.structured_content.map(json),
                        is_error: out.is_error,
                        meta: out.meta.map(json),
                    })
                }
                Outcome::InputRequired(input) => {
                    wit_tools::CallOutcome::InputRequired(input_required(input))
                }
            })
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::tool::{NoArgs, TaskSupport, ToolOutput, tool};
        use serde_json::{Value, json};
        use wit_tools::Guest;

        struct Tasks;

        impl Definition for Tasks {
            fn plugin() -> Plugin {
                let nothing = |_: NoArgs| Ok(ToolOutput::new());
                Plugin::new(Metadata::new("tasks", "0.1.0"))
                    .tool(tool("plain", "No declaration", nothing))
                    .tool(
                        tool("crawl", "Long", nothing)
                            .meta(json!({"ui": {"icon": "clock"}}))
                            .task_support(TaskSupport::Optional),
                    )
            }
        }

        #[test]
        fn list_tools_hands_the_host_the_task_support_in_meta() {
            let listed = Exports::<Tasks>::list_tools();
            assert_eq!(listed[0].name, "plain");
            assert_eq!(listed[0].meta, None);
            assert_eq!(listed[1].name, "crawl");
            let meta: Value =
                serde_json::from_str(listed[1].meta.as_deref().expect("meta")).expect("JSON");
            assert_eq!(
                meta,
                json!({"ui": {"icon": "clock"}, "capsule/taskSupport": "optional"})
            );
        }
    }
}

#[cfg(feature = "resources")]
mod resources {
    use super::*;
    use crate::bindings::exports::capsule::plugin::resources as wit_resources;

    impl<D: Definition> wit_resources::Guest for Exports<D> {
        fn list_resources() -> Vec<wit_resources::Resource> {
            D::plugin()
                .list_resources()
                .into_iter()
                .map(|r| wit_resources::Resource {
                    uri: r.uri,
                    name: r.name,
                    title: r.title,
                    description: r.description,
                    mime_type: r.mime_type,
                    size: r.size,
                    annotations: annotations(r.annotations),
                })
                .collect()
        }

        fn list_resource_templates() -> Vec<wit_resources::ResourceTemplate> {
            D::plugin()
                .templates
                .iter()
                .map(|t| wit_resources::ResourceTemplate {
                    uri_template: t.uri_template.clone(),
                    name: t.name.clone(),
                    title: t.title.clone(),
                    description: t.description.clone(),
                    mime_type: t.mime_type.clone(),
                    annotations: annotations(t.annotations.clone()),
                })
                .collect()
        }

        fn read_resource(uri: String) -> Result<Vec<wit::ResourceContents>, wit::Error> {
            let contents = D::plugin().read_resource(&uri).map_err(error)?;
            Ok(contents.into_iter().map(resource_contents).collect())
        }
    }
}

#[cfg(feature = "prompts")]
mod prompts {
    use super::*;
    use crate::bindings::exports::capsule::plugin::prompts as wit_prompts;
    use crate::input::Outcome;

    impl<D: Definition> wit_prompts::Guest for Exports<D> {
        fn list_prompts() -> Vec<wit_prompts::Prompt> {
            D::plugin()
                .prompts
                .iter()
                .map(|p| wit_prompts::Prompt {
                    name: p.name.clone(),
                    title: p.title.clone(),
                    description: p.description.clone(),
                    arguments: p
                        .arguments()
                        .iter()
                        .map(|a| wit_prompts::PromptArgument {
                            name: a.name.clone(),
                            title: a.title.clone(),
                            description: a.description.clone(),
                            required: a.required,
                        })
                        .collect(),
                })
                .collect()
        }

        fn get_prompt(
            name: String,
            arguments: Vec<(String, String)>,
            resume: Option<wit::Resumption>,
        ) -> Result<wit_prompts::PromptOutcome, wit::Error> {
            let outcome = D::plugin()
                .get_prompt_with(&name, &arguments, resumption(resume))
                .map_err(error)?;
            Ok(match outcome {
                Outcome::Complete(out) => {
                    wit_prompts::PromptOutcome::Complete(wit_prompts::GetPromptResult {
                        description: out.description,
                        messages: out
                            .messages
                            .into_iter()
                            .map(|m| wit_prompts::PromptMessage {
                                role: role(m.role),
                                content: content(m.content),
                            })
                            .collect(),
                    })
                }
                Outcome::InputRequired(input) => {
                    wit_prompts::PromptOutcome::InputRequired(input_required(input))
                }
            })
        }
    }
}

#[cfg(any(feature = "resources", feature = "prompts"))]
mod completions {
    use super::*;
    use crate::bindings::exports::capsule::plugin::completions as wit_completions;
    use crate::completion::CompletionRef;

    impl<D: Definition> wit_completions::Guest for Exports<D> {
        fn complete(
            reference: wit_completions::CompletionReference,
            argument: String,
            value: String,
            context: Vec<(String, String)>,
        ) -> Result<wit_completions::Completion, wit::Error> {
            let reference = match reference {
                wit_completions::CompletionReference::Prompt(name) => CompletionRef::Prompt(name),
                wit_completions::CompletionReference::ResourceTemplate(t) => {
                    CompletionRef::ResourceTemplate(t)
                }
            };
            let c = D::plugin()
                .complete(&reference, &argument, &value, &context)
                .map_err(error)?;
            Ok(wit_completions::Completion {
                values: c.values,
                total: c.total,
                has_more: c.has_more,
            })
        }
    }
}
