//! WIT values from plugins → MCP model values (rmcp types), per the MCP 2025-11-25 schema.
//!
//! Values are assembled as MCP JSON and deserialized into rmcp's types, so this module follows
//! the wire format exactly and never depends on rmcp's constructors. Every function checks what a
//! plugin could get wrong (JSON text that does not parse, `_meta` that is not an object) and says
//! which field was wrong.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rmcp::model as mcp;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use capsule_sandbox::runtime::bindings::{prompts, resources, tools, types};

/// `resultType` of a finished request (MCP 2026-07-28, SEP-2322). rmcp strips it for clients of
/// older protocol versions.
const RESULT_COMPLETE: &str = "complete";

/// What a plugin got wrong in a value it returned, by field (`what`: `input-schema`, `_meta`,
/// `structured-content`, `tool result`, ...).
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A WIT `json` field that must hold a JSON object holds another JSON value.
    #[error("{what} must be a JSON object")]
    NotAnObject {
        /// The field or value, e.g. `input-schema`, `_meta`, `tool result`.
        what: &'static str,
    },
    /// A WIT `json` field that does not parse.
    #[error("{what} is not valid JSON: {source}")]
    InvalidJson {
        /// The field or value, e.g. `input-schema`, `_meta`, `tool result`.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A tool's input schema without `"type": "object"` (MCP "Tools → Tool": arguments are an
    /// object).
    #[error("input-schema must have \"type\": \"object\" (MCP requires object arguments)")]
    InputNotAnObjectSchema,
    /// The assembled value does not deserialize as the MCP type.
    #[error("{what} does not fit the MCP schema: {source}")]
    Model {
        /// The field or value, e.g. `input-schema`, `_meta`, `tool result`.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// Parse a WIT `json` string that must hold a JSON object (a schema or `_meta`).
///
/// # Errors
/// [`ConvertError::InvalidJson`] or [`ConvertError::NotAnObject`], naming `what`.
pub fn json_object(text: &str, what: &'static str) -> Result<Map<String, Value>, ConvertError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ConvertError::NotAnObject { what }),
        Err(source) => Err(ConvertError::InvalidJson { what, source }),
    }
}

fn into_model<T: DeserializeOwned>(value: Value, what: &'static str) -> Result<T, ConvertError> {
    serde_json::from_value(value).map_err(|source| ConvertError::Model { what, source })
}

fn insert_opt<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v.into());
    }
}

fn insert_meta(map: &mut Map<String, Value>, meta: Option<&str>) -> Result<(), ConvertError> {
    if let Some(meta) = meta {
        map.insert("_meta".into(), Value::Object(json_object(meta, "_meta")?));
    }
    Ok(())
}

fn role(role: types::Role) -> &'static str {
    match role {
        types::Role::User => "user",
        types::Role::Assistant => "assistant",
    }
}

fn annotations(a: &types::Annotations) -> Value {
    let mut map = Map::new();
    if let Some(audience) = &a.audience {
        map.insert(
            "audience".into(),
            audience.iter().map(|r| Value::from(role(*r))).collect(),
        );
    }
    insert_opt(&mut map, "priority", a.priority);
    insert_opt(&mut map, "lastModified", a.last_modified.clone());
    Value::Object(map)
}

fn insert_annotations(map: &mut Map<String, Value>, a: Option<&types::Annotations>) {
    if let Some(a) = a {
        map.insert("annotations".into(), annotations(a));
    }
}

/// `resource-contents` → MCP `TextResourceContents` / `BlobResourceContents` JSON.
fn resource_contents_json(c: &types::ResourceContents) -> Result<Value, ConvertError> {
    let mut map = Map::new();
    map.insert("uri".into(), c.uri.clone().into());
    insert_opt(&mut map, "mimeType", c.mime_type.clone());
    match &c.body {
        types::ResourceBody::Text(text) => map.insert("text".into(), text.clone().into()),
        types::ResourceBody::Blob(bytes) => map.insert("blob".into(), BASE64.encode(bytes).into()),
    };
    insert_meta(&mut map, c.meta.as_deref())?;
    Ok(Value::Object(map))
}

/// `content-block` → MCP `ContentBlock` JSON.
fn content_block_json(block: &types::ContentBlock) -> Result<Value, ConvertError> {
    let mut map = Map::new();
    let annotations = match block {
        types::ContentBlock::Text(t) => {
            map.insert("type".into(), "text".into());
            map.insert("text".into(), t.text.clone().into());
            t.annotations.as_ref()
        }
        types::ContentBlock::Image(m) | types::ContentBlock::Audio(m) => {
            let kind = if matches!(block, types::ContentBlock::Image(_)) {
                "image"
            } else {
                "audio"
            };
            map.insert("type".into(), kind.into());
            map.insert("data".into(), BASE64.encode(&m.data).into());
            map.insert("mimeType".into(), m.mime_type.clone().into());
            m.annotations.as_ref()
        }
        types::ContentBlock::ResourceLink(link) => {
            map.insert("type".into(), "resource_link".into());
            map.insert("uri".into(), link.uri.clone().into());
            map.insert("name".into(), link.name.clone().into());
            insert_opt(&mut map, "title", link.title.clone());
            insert_opt(&mut map, "description", link.description.clone());
            insert_opt(&mut map, "mimeType", link.mime_type.clone());
            insert_opt(&mut map, "size", link.size);
            link.annotations.as_ref()
        }
        types::ContentBlock::EmbeddedResource(contents) => {
            map.insert("type".into(), "resource".into());
            map.insert("resource".into(), resource_contents_json(contents)?);
            None
        }
    };
    insert_annotations(&mut map, annotations);
    Ok(Value::Object(map))
}

/// A plugin's tool definition, published as `published_name`.
///
/// # Errors
/// An input schema that is not a JSON object with `"type": "object"` (MCP requires one), an
/// output schema or `_meta` that is not a JSON object.
pub fn tool(published_name: &str, t: &tools::Tool) -> Result<mcp::Tool, ConvertError> {
    let input = json_object(&t.input_schema, "input-schema")?;
    if input.get("type") != Some(&Value::from("object")) {
        return Err(ConvertError::InputNotAnObjectSchema);
    }
    let mut map = Map::new();
    map.insert("name".into(), published_name.into());
    insert_opt(&mut map, "title", t.title.clone());
    insert_opt(&mut map, "description", t.description.clone());
    map.insert("inputSchema".into(), Value::Object(input));
    if let Some(output) = &t.output_schema {
        map.insert(
            "outputSchema".into(),
            Value::Object(json_object(output, "output-schema")?),
        );
    }
    if let Some(a) = &t.annotations {
        let mut ann = Map::new();
        insert_opt(&mut ann, "title", a.title.clone());
        insert_opt(&mut ann, "readOnlyHint", a.read_only_hint);
        insert_opt(&mut ann, "destructiveHint", a.destructive_hint);
        insert_opt(&mut ann, "idempotentHint", a.idempotent_hint);
        insert_opt(&mut ann, "openWorldHint", a.open_world_hint);
        map.insert("annotations".into(), Value::Object(ann));
    }
    insert_meta(&mut map, t.meta.as_deref())?;
    into_model(Value::Object(map), "tool")
}

/// A finished tool call.
///
/// # Errors
/// Structured content that is not JSON, a malformed `_meta` or content block.
pub fn call_tool_result(r: &tools::CallToolResult) -> Result<mcp::CallToolResult, ConvertError> {
    let content = r
        .content
        .iter()
        .map(content_block_json)
        .collect::<Result<Vec<_>, _>>()?;
    let mut map = Map::new();
    map.insert("resultType".into(), RESULT_COMPLETE.into());
    map.insert("content".into(), Value::Array(content));
    if let Some(sc) = &r.structured_content {
        let value: Value =
            serde_json::from_str(sc).map_err(|source| ConvertError::InvalidJson {
                what: "structured-content",
                source,
            })?;
        map.insert("structuredContent".into(), value);
    }
    if r.is_error {
        map.insert("isError".into(), true.into());
    }
    insert_meta(&mut map, r.meta.as_deref())?;
    into_model(Value::Object(map), "tool result")
}

/// A concrete resource.
///
/// # Errors
/// A field that does not fit the MCP schema.
pub fn resource(r: &resources::Resource) -> Result<mcp::Resource, ConvertError> {
    let mut map = Map::new();
    map.insert("uri".into(), r.uri.clone().into());
    map.insert("name".into(), r.name.clone().into());
    insert_opt(&mut map, "title", r.title.clone());
    insert_opt(&mut map, "description", r.description.clone());
    insert_opt(&mut map, "mimeType", r.mime_type.clone());
    insert_opt(&mut map, "size", r.size);
    insert_annotations(&mut map, r.annotations.as_ref());
    into_model(Value::Object(map), "resource")
}

/// A resource template.
///
/// # Errors
/// A field that does not fit the MCP schema.
pub fn resource_template(
    t: &resources::ResourceTemplate,
) -> Result<mcp::ResourceTemplate, ConvertError> {
    let mut map = Map::new();
    map.insert("uriTemplate".into(), t.uri_template.clone().into());
    map.insert("name".into(), t.name.clone().into());
    insert_opt(&mut map, "title", t.title.clone());
    insert_opt(&mut map, "description", t.description.clone());
    insert_opt(&mut map, "mimeType", t.mime_type.clone());
    insert_annotations(&mut map, t.annotations.as_ref());
    into_model(Value::Object(map), "resource template")
}

/// The contents of a resource read.
///
/// # Errors
/// A malformed `_meta`.
pub fn read_resource_result(
    contents: &[types::ResourceContents],
) -> Result<mcp::ReadResourceResult, ConvertError> {
    let contents = contents
        .iter()
        .map(resource_contents_json)
        .collect::<Result<Vec<_>, _>>()?;
    into_model(
        json!({ "resultType": RESULT_COMPLETE, "contents": contents }),
        "resource contents",
    )
}

/// A prompt definition, published as `published_name`.
///
/// # Errors
/// A field that does not fit the MCP schema.
pub fn prompt(published_name: &str, p: &prompts::Prompt) -> Result<mcp::Prompt, ConvertError> {
    let arguments: Vec<Value> = p
        .arguments
        .iter()
        .map(|a| {
            let mut map = Map::new();
            map.insert("name".into(), a.name.clone().into());
            insert_opt(&mut map, "title", a.title.clone());
            insert_opt(&mut map, "description", a.description.clone());
            map.insert("required".into(), a.required.into());
            Value::Object(map)
        })
        .collect();
    let mut map = Map::new();
    map.insert("name".into(), published_name.into());
    insert_opt(&mut map, "title", p.title.clone());
    insert_opt(&mut map, "description", p.description.clone());
    if !arguments.is_empty() {
        map.insert("arguments".into(), Value::Array(arguments));
    }
    into_model(Value::Object(map), "prompt")
}

/// A rendered prompt.
///
/// # Errors
/// A malformed content block.
pub fn get_prompt_result(
    r: &prompts::GetPromptResult,
) -> Result<mcp::GetPromptResult, ConvertError> {
    let messages = r
        .messages
        .iter()
        .map(|m| {
            Ok(json!({
                "role": role(m.role),
                "content": content_block_json(&m.content)?,
            }))
        })
        .collect::<Result<Vec<_>, ConvertError>>()?;
    let mut map = Map::new();
    map.insert("resultType".into(), RESULT_COMPLETE.into());
    insert_opt(&mut map, "description", r.description.clone());
    map.insert("messages".into(), Value::Array(messages));
    into_model(Value::Object(map), "prompt result")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(t: &str) -> types::ContentBlock {
        types::ContentBlock::Text(types::TextContent {
            text: t.into(),
            annotations: None,
        })
    }

    #[test]
    fn tool_definitions_keep_schemas_and_hints() {
        let t = tools::Tool {
            name: "greet".into(),
            title: Some("Greet".into()),
            description: Some("Says hello".into()),
            input_schema:
                r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"#
                    .into(),
            output_schema: Some(r#"{"type":"object"}"#.into()),
            annotations: Some(tools::ToolAnnotations {
                title: None,
                read_only_hint: Some(true),
                destructive_hint: None,
                idempotent_hint: None,
                open_world_hint: Some(false),
            }),
            meta: None,
        };
        let v = serde_json::to_value(tool("hello_greet", &t).unwrap()).unwrap();
        assert_eq!(v["name"], "hello_greet");
        assert_eq!(v["inputSchema"]["required"], json!(["name"]));
        assert_eq!(v["outputSchema"], json!({"type": "object"}));
        assert_eq!(
            v["annotations"],
            json!({"readOnlyHint": true, "openWorldHint": false})
        );
    }

    #[test]
    fn tool_schemas_must_be_objects() {
        let mut t = tools::Tool {
            name: "x".into(),
            title: None,
            description: None,
            input_schema: "[1]".into(),
            output_schema: None,
            annotations: None,
            meta: None,
        };
        assert!(
            tool("p_x", &t)
                .unwrap_err()
                .to_string()
                .contains("JSON object")
        );
        t.input_schema = "{not json".into();
        assert!(
            tool("p_x", &t)
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
        t.input_schema = r#"{"type":"string"}"#.into();
        assert!(
            tool("p_x", &t)
                .unwrap_err()
                .to_string()
                .contains("\"type\": \"object\"")
        );
    }

    #[test]
    fn call_results_carry_every_content_kind() {
        let r = tools::CallToolResult {
            content: vec![
                text("hi"),
                types::ContentBlock::Image(types::MediaContent {
                    data: vec![1, 2, 3],
                    mime_type: "image/png".into(),
                    annotations: Some(types::Annotations {
                        audience: Some(vec![types::Role::User]),
                        priority: Some(0.5),
                        last_modified: None,
                    }),
                }),
                types::ContentBlock::ResourceLink(types::ResourceLink {
                    uri: "x://y".into(),
                    name: "y".into(),
                    title: None,
                    description: None,
                    mime_type: Some("text/plain".into()),
                    size: Some(3),
                    annotations: None,
                }),
                types::ContentBlock::EmbeddedResource(types::ResourceContents {
                    uri: "x://z".into(),
                    mime_type: None,
                    body: types::ResourceBody::Blob(vec![0xff]),
                    meta: None,
                }),
            ],
            structured_content: Some(r#"{"n":1}"#.into()),
            is_error: false,
            meta: None,
        };
        let v = serde_json::to_value(call_tool_result(&r).unwrap()).unwrap();
        assert_eq!(v["content"][0], json!({"type": "text", "text": "hi"}));
        assert_eq!(v["content"][1]["data"], "AQID");
        assert_eq!(v["content"][1]["annotations"]["audience"], json!(["user"]));
        assert_eq!(v["content"][2]["type"], "resource_link");
        assert_eq!(v["content"][2]["size"], 3);
        assert_eq!(v["content"][3]["resource"]["blob"], "/w==");
        assert_eq!(v["structuredContent"], json!({"n": 1}));
        assert!(v.get("isError").is_none());
    }

    #[test]
    fn bad_structured_content_and_meta_are_reported() {
        let mut r = tools::CallToolResult {
            content: vec![],
            structured_content: Some("{oops".into()),
            is_error: true,
            meta: None,
        };
        assert!(
            call_tool_result(&r)
                .unwrap_err()
                .to_string()
                .contains("structured-content")
        );
        r.structured_content = None;
        r.meta = Some("3".into());
        assert!(
            call_tool_result(&r)
                .unwrap_err()
                .to_string()
                .contains("_meta")
        );
    }

    #[test]
    fn prompts_and_resources() {
        let p = prompts::Prompt {
            name: "summarize".into(),
            title: None,
            description: Some("Summarize a note".into()),
            arguments: vec![prompts::PromptArgument {
                name: "name".into(),
                title: None,
                description: None,
                required: true,
            }],
        };
        let v = serde_json::to_value(prompt("notes_summarize", &p).unwrap()).unwrap();
        assert_eq!(v["arguments"][0], json!({"name": "name", "required": true}));
        let r = prompts::GetPromptResult {
            description: None,
            messages: vec![prompts::PromptMessage {
                role: types::Role::User,
                content: text("hello"),
            }],
        };
        let v = serde_json::to_value(get_prompt_result(&r).unwrap()).unwrap();
        assert_eq!(v["messages"][0]["role"], "user");
        let c = types::ResourceContents {
            uri: "notes://a".into(),
            mime_type: Some("text/markdown".into()),
            body: types::ResourceBody::Text("# A".into()),
            meta: None,
        };
        let v = serde_json::to_value(read_resource_result(&[c]).unwrap()).unwrap();
        assert_eq!(
            v["contents"][0],
            json!({"uri": "notes://a", "mimeType": "text/markdown", "text": "# A"})
        );
    }
}
