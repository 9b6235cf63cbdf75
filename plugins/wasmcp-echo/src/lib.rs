//! `wasmcp_echo` — a test component shaped like the capability components the wasmcp toolchain
//! (<https://github.com/wasmcp/wasmcp>) builds: it exports `wasmcp:mcp-v20251125/tools`,
//! `resources` and `prompts` at 0.1.1, written with plain wit-bindgen against Capsule's own
//! declaration of those interfaces (`wit/deps/mcp`), and knows nothing of Capsule.
//!
//! - tools: `echo` (text plus structured content, with an output schema and annotations),
//!   `fail` (a result with `is-error`), and `whoami`, which calls `server-auth.decode`, an import
//!   Capsule does not provide: that call, and only it, fails.
//! - resources: `echo://readme` (text), and the template `echo://echo/{text}`, whose reads give
//!   the text back, its bytes as a blob, and standard input as streamed text.
//! - prompts: `greet`, with a required argument `name`.
//!
//! Every function checks the message context Capsule passes (protocol version, no stream, no
//! session, no identity, empty frame, no HTTP context) and fails with `invalid-request` if it is
//! not that.

wit_bindgen::generate!({
    path: "wit",
    world: "echo",
    generate_all,
});

use exports::wasmcp::mcp_v20251125::{prompts, resources, tools};
use wasmcp::mcp_v20251125::mcp::{
    Annotations, Blob, BlobData, BlobResourceContents, CallToolRequest, CallToolResult,
    ContentBlock, ContentOptions, EmbeddedResourceContent, EmbeddedResourceOptions, Error,
    ErrorCode, GetPromptRequest, GetPromptResult, ListPromptsRequest, ListPromptsResult,
    ListResourceTemplatesRequest, ListResourceTemplatesResult, ListResourcesRequest,
    ListResourcesResult, ListToolsRequest, ListToolsResult, McpResource, Prompt, PromptArgument,
    PromptMessage, PromptOptions, ReadResourceRequest, ReadResourceResult, ResourceContents,
    ResourceLinkContent, ResourceLinkOptions, ResourceOptions, ResourceTemplate,
    ResourceTemplateOptions, Role, TextContent, TextData, TextResourceContents, Tool,
    ToolAnnotations, ToolOptions,
};
use wasmcp::mcp_v20251125::server_auth;
use wasmcp::mcp_v20251125::server_handler::MessageContext;

struct Echo;

const README: &str = "echo://readme";
const TEMPLATE_PREFIX: &str = "echo://echo/";

fn error(code: i64, message: impl Into<String>) -> Error {
    Error {
        code,
        message: message.into(),
        data: None,
    }
}

/// The context Capsule passes: anything else is an invalid request.
fn check(ctx: &MessageContext) -> Result<(), ErrorCode> {
    let expected = ctx.client_stream.is_none()
        && ["2025-11-25", "2026-07-28"].contains(&ctx.protocol_version.as_str())
        && ctx.session.is_none()
        && ctx.identity.is_none()
        && ctx.frame.prefix.is_empty()
        && ctx.frame.suffix.is_empty()
        && ctx.http_context.is_none();
    if expected {
        Ok(())
    } else {
        Err(ErrorCode::InvalidRequest(error(
            -32600,
            format!(
                "unexpected message context (protocol version {})",
                ctx.protocol_version
            ),
        )))
    }
}

fn text(text: impl Into<String>) -> ContentBlock {
    ContentBlock::Text(TextContent {
        text: TextData::Text(text.into()),
        options: None,
    })
}

/// The JSON object in `arguments` (none or not an object: an empty one).
fn arguments(arguments: &Option<String>) -> serde_json::Map<String, serde_json::Value> {
    arguments
        .as_deref()
        .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
        .and_then(|v| match v {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

fn string_argument(args: &serde_json::Map<String, serde_json::Value>, name: &str) -> String {
    args.get(name)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl tools::Guest for Echo {
    fn list_tools(
        ctx: MessageContext,
        request: ListToolsRequest,
    ) -> Result<ListToolsResult, ErrorCode> {
        check(&ctx)?;
        // Two pages, to exercise the host following `next-cursor`.
        let page = request.cursor.as_deref().unwrap_or("");
        let echo = Tool {
            name: "echo".into(),
            input_schema: r#"{"type":"object","properties":{"text":{"type":"string","description":"What to say back"}},"required":["text"]}"#.into(),
            options: Some(ToolOptions {
                meta: Some(r#"{"example.com/origin":"wasmcp"}"#.into()),
                annotations: Some(ToolAnnotations {
                    title: None,
                    read_only_hint: Some(true),
                    destructive_hint: Some(false),
                    idempotent_hint: Some(true),
                    open_world_hint: Some(false),
                }),
                description: Some("Says the text back, with its length".into()),
                output_schema: Some(r#"{"type":"object","properties":{"echoed":{"type":"string"},"length":{"type":"integer"}},"required":["echoed","length"]}"#.into()),
                title: Some("Echo".into()),
                icons: None,
            }),
        };
        let fail = Tool {
            name: "fail".into(),
            input_schema: r#"{"type":"object","properties":{"reason":{"type":"string"}}}"#.into(),
            options: Some(ToolOptions {
                meta: None,
                annotations: None,
                description: Some("Fails as a tool: the result has is-error set".into()),
                output_schema: None,
                title: None,
                icons: None,
            }),
        };
        let whoami = Tool {
            name: "whoami".into(),
            input_schema: r#"{"type":"object"}"#.into(),
            options: None,
        };
        match page {
            "" => Ok(ListToolsResult {
                meta: None,
                next_cursor: Some("page-2".into()),
                tools: vec![echo, fail],
            }),
            "page-2" => Ok(ListToolsResult {
                meta: None,
                next_cursor: None,
                tools: vec![whoami],
            }),
            other => Err(ErrorCode::InvalidParams(error(
                -32602,
                format!("unknown cursor {other}"),
            ))),
        }
    }

    fn call_tool(
        ctx: MessageContext,
        request: CallToolRequest,
    ) -> Result<Option<CallToolResult>, ErrorCode> {
        check(&ctx)?;
        let args = arguments(&request.arguments);
        match request.name.as_str() {
            "echo" => {
                let said = string_argument(&args, "text");
                let structured =
                    serde_json::json!({ "echoed": said, "length": said.chars().count() });
                // The version the context carried: the one the client negotiated.
                let meta = serde_json::json!({
                    "example.com/echoes": 1,
                    "example.com/protocol-version": ctx.protocol_version,
                });
                Ok(Some(CallToolResult {
                    meta: Some(meta.to_string()),
                    content: vec![
                        ContentBlock::Text(TextContent {
                            text: TextData::Text(said.clone()),
                            options: Some(ContentOptions {
                                annotations: Some(Annotations {
                                    audience: Some(vec![Role::User]),
                                    last_modified: None,
                                    priority: Some(0.5),
                                }),
                                meta: None,
                            }),
                        }),
                        ContentBlock::Image(Blob {
                            data: BlobData::Blob(vec![0x89, b'P', b'N', b'G']),
                            mime_type: "image/png".into(),
                            options: None,
                        }),
                        ContentBlock::Audio(Blob {
                            data: BlobData::Blob(vec![b'R', b'I', b'F', b'F']),
                            mime_type: "audio/wav".into(),
                            options: None,
                        }),
                        ContentBlock::ResourceLink(ResourceLinkContent {
                            uri: README.into(),
                            name: "readme".into(),
                            options: Some(ResourceLinkOptions {
                                title: Some("Read me".into()),
                                description: None,
                                size: Some(42),
                                mime_type: Some("text/plain".into()),
                                annotations: None,
                                meta: None,
                                icons: None,
                            }),
                        }),
                        ContentBlock::EmbeddedResource(EmbeddedResourceContent {
                            resource: ResourceContents::Text(TextResourceContents {
                                uri: format!("{TEMPLATE_PREFIX}{said}"),
                                text: TextData::Text(said.clone()),
                                options: Some(EmbeddedResourceOptions {
                                    mime_type: Some("text/plain".into()),
                                    meta: None,
                                }),
                            }),
                            options: None,
                        }),
                    ],
                    is_error: None,
                    structured_content: Some(structured.to_string()),
                }))
            }
            "fail" => {
                let reason = string_argument(&args, "reason");
                Ok(Some(CallToolResult {
                    meta: None,
                    content: vec![text(format!("failed as asked: {reason}"))],
                    is_error: Some(true),
                    structured_content: None,
                }))
            }
            // A wasmcp helper the host does not provide: the call fails, the component does not.
            "whoami" => match server_auth::decode(b"not a token") {
                Ok(claims) => Ok(Some(CallToolResult {
                    meta: None,
                    content: vec![text(claims.subject)],
                    is_error: None,
                    structured_content: None,
                })),
                Err(()) => Ok(Some(CallToolResult {
                    meta: None,
                    content: vec![text("no identity")],
                    is_error: Some(true),
                    structured_content: None,
                })),
            },
            "invalid" => Err(ErrorCode::InvalidParams(error(
                -32602,
                "invalid on purpose",
            ))),
            _ => Ok(None),
        }
    }
}

impl resources::Guest for Echo {
    fn list_resources(
        ctx: MessageContext,
        _request: ListResourcesRequest,
    ) -> Result<ListResourcesResult, ErrorCode> {
        check(&ctx)?;
        Ok(ListResourcesResult {
            meta: None,
            next_cursor: None,
            resources: vec![McpResource {
                uri: README.into(),
                name: "readme".into(),
                options: Some(ResourceOptions {
                    size: Some(42),
                    title: Some("Read me".into()),
                    description: Some("What this component is".into()),
                    mime_type: Some("text/plain".into()),
                    annotations: Some(Annotations {
                        audience: Some(vec![Role::User, Role::Assistant]),
                        last_modified: Some("2025-11-25T00:00:00Z".into()),
                        priority: Some(1.0),
                    }),
                    meta: None,
                    icons: None,
                }),
            }],
        })
    }

    fn read_resource(
        ctx: MessageContext,
        request: ReadResourceRequest,
    ) -> Result<Option<ReadResourceResult>, ErrorCode> {
        check(&ctx)?;
        if request.uri == README {
            return Ok(Some(ReadResourceResult {
                meta: None,
                contents: vec![ResourceContents::Text(TextResourceContents {
                    uri: README.into(),
                    text: TextData::Text("A wasmcp component, served by Capsule.".into()),
                    options: Some(EmbeddedResourceOptions {
                        mime_type: Some("text/plain".into()),
                        meta: Some(r#"{"example.com/kind":"readme"}"#.into()),
                    }),
                })],
            }));
        }
        let Some(said) = request.uri.strip_prefix(TEMPLATE_PREFIX) else {
            return Ok(None);
        };
        if said == "error" {
            return Err(ErrorCode::Mcp(error(-32002, "no such echo")));
        }
        Ok(Some(ReadResourceResult {
            meta: None,
            contents: vec![
                ResourceContents::Text(TextResourceContents {
                    uri: request.uri.clone(),
                    text: TextData::Text(said.to_string()),
                    options: None,
                }),
                ResourceContents::Blob(BlobResourceContents {
                    uri: request.uri.clone(),
                    blob: BlobData::Blob(said.as_bytes().to_vec()),
                    options: Some(EmbeddedResourceOptions {
                        mime_type: Some("application/octet-stream".into()),
                        meta: None,
                    }),
                }),
                // Streamed text: standard input, which is closed in a sandbox (empty text).
                ResourceContents::Text(TextResourceContents {
                    uri: request.uri.clone(),
                    text: TextData::TextStream(wasi::cli::stdin::get_stdin()),
                    options: None,
                }),
            ],
        }))
    }

    fn list_resource_templates(
        ctx: MessageContext,
        _request: ListResourceTemplatesRequest,
    ) -> Result<ListResourceTemplatesResult, ErrorCode> {
        check(&ctx)?;
        Ok(ListResourceTemplatesResult {
            meta: None,
            next_cursor: None,
            resource_templates: vec![ResourceTemplate {
                uri_template: format!("{TEMPLATE_PREFIX}{{text}}"),
                name: "echo".into(),
                options: Some(ResourceTemplateOptions {
                    description: Some("Gives the text back".into()),
                    title: Some("Echo".into()),
                    mime_type: Some("text/plain".into()),
                    annotations: None,
                    meta: None,
                    icons: None,
                }),
            }],
        })
    }
}

impl prompts::Guest for Echo {
    fn list_prompts(
        ctx: MessageContext,
        _request: ListPromptsRequest,
    ) -> Result<ListPromptsResult, ErrorCode> {
        check(&ctx)?;
        Ok(ListPromptsResult {
            meta: None,
            next_cursor: None,
            prompts: vec![Prompt {
                name: "greet".into(),
                options: Some(PromptOptions {
                    meta: None,
                    arguments: Some(vec![PromptArgument {
                        name: "name".into(),
                        description: Some("Who to greet".into()),
                        required: Some(true),
                        title: Some("Name".into()),
                    }]),
                    description: Some("A greeting".into()),
                    title: Some("Greet".into()),
                    icons: None,
                }),
            }],
        })
    }

    fn get_prompt(
        ctx: MessageContext,
        request: GetPromptRequest,
    ) -> Result<Option<GetPromptResult>, ErrorCode> {
        check(&ctx)?;
        if request.name != "greet" {
            return Ok(None);
        }
        let args = arguments(&request.arguments);
        let name = string_argument(&args, "name");
        if name.is_empty() {
            return Err(ErrorCode::InvalidParams(error(-32602, "name is required")));
        }
        Ok(Some(GetPromptResult {
            meta: None,
            description: Some(format!("A greeting for {name}")),
            messages: vec![
                PromptMessage {
                    content: text(format!("Please greet {name}.")),
                    role: Role::User,
                },
                PromptMessage {
                    content: text(format!("Hello, {name}!")),
                    role: Role::Assistant,
                },
            ],
        }))
    }
}

export!(Echo);
