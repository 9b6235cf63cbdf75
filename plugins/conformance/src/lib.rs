//! `conformance`: the tools, resources and prompts the official MCP
//! conformance suite (`@modelcontextprotocol/conformance`) calls by name, as
//! far as WIT `capsule:plugin@0.1.0` can express them.
//!
//! Install the component as `test.wasm`: Capsule publishes a tool or prompt
//! `<file stem>_<name>`, so the tool `simple_text` here is the suite's
//! `test_simple_text`. Resource URIs (`test://...`) are published as they are.
//!
//! Every answer follows the scenario's stated expectation (texts, media
//! types, URIs); `make conformance` runs the suite against it. What 0.1
//! cannot express (elicitation, sampling, roots, input-required results,
//! completions, subscriptions, required client capabilities, list mutations)
//! is not here: those scenarios need the host and a later contract minor.

use std::thread::sleep;
use std::time::Duration;

use capsule_plugin::prelude::*;

/// A 1x1 red pixel, 8-bit RGB PNG (made with Python's `zlib` and `struct`).
pub const RED_PIXEL_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xf7, 0x03, 0x41, 0x43, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Sample rate of [`beep_wav`].
const WAV_RATE: u32 = 8_000;

/// A 50 ms, 8 kHz, 8-bit mono PCM WAV file: a 400 Hz square wave.
pub fn beep_wav() -> Vec<u8> {
    let samples: Vec<u8> = (0..WAV_RATE / 20)
        .map(|i| if (i / 10) % 2 == 0 { 0xa0 } else { 0x60 })
        .collect();
    let data_len = samples.len() as u32;
    let mut wav = Vec::with_capacity(44 + samples.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&WAV_RATE.to_le_bytes());
    wav.extend_from_slice(&WAV_RATE.to_le_bytes()); // bytes per second
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend_from_slice(&samples);
    wav
}

/// The pause between the log lines and progress steps the scenarios ask for.
const STEP: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------- tools

fn simple_text(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text(
        "This is a simple text response for testing.",
    ))
}

fn image_content(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::image(RED_PIXEL_PNG, "image/png"))
}

fn audio_content(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::new().with(Content::audio(beep_wav(), "audio/wav")))
}

fn embedded_resource(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::new().with(Content::resource(
        ResourceContents::text(
            "test://embedded-resource",
            "This is an embedded resource content.",
        )
        .mime_type("text/plain"),
    )))
}

fn multiple_content_types(_: NoArgs) -> Result<ToolOutput, ToolError> {
    let json = serde_json::json!({"test": "data", "value": 123}).to_string();
    Ok(ToolOutput::text("Multiple content types test:")
        .with(Content::image(RED_PIXEL_PNG, "image/png"))
        .with(Content::resource(
            ResourceContents::text("test://mixed-content-resource", json)
                .mime_type("application/json"),
        )))
}

fn tool_with_logging(_: NoArgs) -> Result<ToolOutput, ToolError> {
    log(LogLevel::Info, "Tool execution started");
    sleep(STEP);
    log(LogLevel::Info, "Tool processing data");
    sleep(STEP);
    log(LogLevel::Info, "Tool execution completed");
    Ok(ToolOutput::text("Tool with logging executed successfully"))
}

fn tool_with_progress(_: NoArgs) -> Result<ToolOutput, ToolError> {
    for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if i > 0 {
            sleep(STEP);
        }
        progress(
            step,
            Some(100.0),
            Some(&format!("Completed step {step} of 100")),
        );
    }
    Ok(ToolOutput::text("Progress reported: 0, 50 and 100 of 100"))
}

fn error_handling(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::error(
        "This tool intentionally returns an error for testing",
    ))
}

fn logging_tool(_: NoArgs) -> Result<ToolOutput, ToolError> {
    // The host forwards this only to a client that asked for log messages
    // (2026-07-28: `_meta` logLevel); server-stateless checks that a request
    // without one gets no `notifications/message`.
    log(LogLevel::Info, "Diagnostic trace logging activated");
    Ok(ToolOutput::text("Logging evaluated"))
}

fn streaming_elicitation(_: NoArgs) -> Result<ToolOutput, ToolError> {
    // server-stateless checks that a tools/call response stream carries
    // notifications and the result, never a server-to-client request.
    progress(50.0, Some(100.0), Some("Streaming"));
    Ok(ToolOutput::text("Streaming complete"))
}

fn reconnection(_: NoArgs) -> Result<ToolOutput, ToolError> {
    // server-sse-polling (SEP-1699) expects the server to close the SSE
    // stream mid-call and deliver this result after the client reconnects;
    // closing the stream is the host's part, the plugin only takes a moment.
    sleep(Duration::from_millis(100));
    Ok(ToolOutput::text(
        "Reconnection test completed successfully. If you received this, the client \
         properly reconnected after stream closure.",
    ))
}

/// Arguments of `custom_header`.
#[derive(Deserialize, JsonSchema)]
struct RegionArgs {
    /// A region name; HTTP clients mirror it into the `Mcp-Param-Region`
    /// header (SEP-2243).
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
}

fn custom_header(args: RegionArgs) -> Result<ToolOutput, ToolError> {
    // http-custom-header-server-validation looks for a tool with a string
    // parameter annotated `x-mcp-header`; checking the header against the
    // body is the host's part.
    Ok(ToolOutput::text(format!("Region: {}", args.region)))
}

// ---------------------------------------------------------------- resources

/// The text of `test://template/{id}/data`.
fn template_data(vars: &Vars) -> Result<String, ToolError> {
    let id = &vars["id"];
    Ok(serde_json::json!({
        "id": id,
        "templateTest": true,
        "data": format!("Data for ID: {id}"),
    })
    .to_string())
}

// ---------------------------------------------------------------- prompts

fn simple_prompt(_: &PromptArgs) -> Result<String, ToolError> {
    Ok("This is a simple prompt for testing.".to_string())
}

fn prompt_with_arguments(args: &PromptArgs) -> Result<String, ToolError> {
    let arg1 = args.require("arg1")?;
    let arg2 = args.require("arg2")?;
    Ok(format!(
        "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
    ))
}

fn prompt_with_embedded_resource(args: &PromptArgs) -> Result<Vec<Message>, ToolError> {
    let uri = args.require("resourceUri")?;
    Ok(vec![
        Message::new(
            Role::User,
            Content::resource(
                ResourceContents::text(uri, "Embedded resource content for testing.")
                    .mime_type("text/plain"),
            ),
        ),
        Message::user("Please process the embedded resource above."),
    ])
}

fn prompt_with_image(_: &PromptArgs) -> Result<Vec<Message>, ToolError> {
    Ok(vec![
        Message::new(Role::User, Content::image(RED_PIXEL_PNG, "image/png")),
        Message::user("Please analyze the image above."),
    ])
}

// ---------------------------------------------------------------- the plugin

/// Everything the plugin serves.
pub fn plugin() -> Plugin {
    Plugin::new(
        Metadata::new("conformance", env!("CARGO_PKG_VERSION")).description(
            "The fixture of the MCP conformance suite: install as test.wasm so tools and prompts \
             are published as test_<name>",
        ),
    )
    // Tools (tools-* scenarios).
    .tool(tool("simple_text", "Tests simple text content response", simple_text).read_only())
    .tool(tool("image_content", "Tests image content response", image_content).read_only())
    .tool(tool("audio_content", "Tests audio content response", audio_content).read_only())
    .tool(
        tool(
            "embedded_resource",
            "Tests embedded resource content response",
            embedded_resource,
        )
        .read_only(),
    )
    .tool(
        tool(
            "multiple_content_types",
            "Tests response with multiple content types (text, image, resource)",
            multiple_content_types,
        )
        .read_only(),
    )
    .tool(tool(
        "tool_with_logging",
        "Tests tool that emits log messages during execution",
        tool_with_logging,
    ))
    .tool(tool(
        "tool_with_progress",
        "Tests tool that reports progress notifications",
        tool_with_progress,
    ))
    .tool(tool(
        "error_handling",
        "Tests error response handling",
        error_handling,
    ))
    // Diagnostics of server-stateless (2026-07-28) and server-sse-polling.
    .tool(tool(
        "logging_tool",
        "Diagnostic logging validator tool: logs one info message",
        logging_tool,
    ))
    .tool(tool(
        "streaming_elicitation",
        "Diagnostic tool validating response streams: reports progress, then completes",
        streaming_elicitation,
    ))
    .tool(tool(
        "reconnection",
        "Tests SSE stream disconnection and client reconnection (SEP-1699): takes ~100 ms",
        reconnection,
    ))
    .tool(
        tool(
            "custom_header",
            "Echoes a parameter that HTTP clients mirror into the Mcp-Param-Region header (SEP-2243)",
            custom_header,
        )
        .read_only(),
    )
    // Resources (resources-* scenarios).
    .resource(
        resource("test://static-text", "static-text", || {
            Ok("This is the content of the static text resource.")
        })
        .title("Static Text Resource")
        .description("A static text resource for testing")
        .mime_type("text/plain"),
    )
    .resource(
        resource("test://static-binary", "static-binary", || {
            Ok(RED_PIXEL_PNG.to_vec())
        })
        .title("Static Binary Resource")
        .description("A static binary resource (image) for testing")
        .mime_type("image/png"),
    )
    .resource(
        resource("test://watched-resource", "watched-resource", || {
            Ok("This is the content of the watched resource.")
        })
        .title("Watched Resource")
        .description("A resource clients can subscribe to")
        .mime_type("text/plain"),
    )
    .template(
        template("test://template/{id}/data", "template", template_data)
            .title("Resource Template")
            .description("A resource template with parameter substitution")
            .mime_type("application/json"),
    )
    // Prompts (prompts-* scenarios).
    .prompt(
        prompt(
            "simple_prompt",
            "A simple prompt without arguments",
            simple_prompt,
        )
        .title("Simple Test Prompt"),
    )
    .prompt(
        prompt(
            "prompt_with_arguments",
            "A prompt with required arguments",
            prompt_with_arguments,
        )
        .title("Prompt With Arguments")
        .required("arg1", "First test argument")
        .required("arg2", "Second test argument"),
    )
    .prompt(
        prompt(
            "prompt_with_embedded_resource",
            "A prompt that includes an embedded resource",
            prompt_with_embedded_resource,
        )
        .title("Prompt With Embedded Resource")
        .required("resourceUri", "URI of the resource to embed"),
    )
    .prompt(
        prompt(
            "prompt_with_image",
            "A prompt that includes image content",
            prompt_with_image,
        )
        .title("Prompt With Image"),
    )
}

capsule_plugin::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn call(name: &str) -> ToolOutput {
        plugin().call_tool(name, "{}").expect("tool runs")
    }

    #[test]
    fn media_are_well_formed() {
        assert_eq!(&RED_PIXEL_PNG[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&RED_PIXEL_PNG[12..16], b"IHDR");
        assert_eq!(&RED_PIXEL_PNG[16..24], &[0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(&RED_PIXEL_PNG[RED_PIXEL_PNG.len() - 8..][..4], b"IEND");
        let wav = beep_wav();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        let riff_len = u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_len + 8, wav.len());
        let data_len = u32::from_le_bytes(wav[40..44].try_into().unwrap()) as usize;
        assert_eq!(data_len + 44, wav.len());
    }

    #[test]
    fn tools_answer_what_the_scenarios_expect() {
        assert_eq!(
            call("simple_text").content,
            vec![Content::text("This is a simple text response for testing.")]
        );
        assert_eq!(
            call("image_content").content,
            vec![Content::image(RED_PIXEL_PNG, "image/png")]
        );
        assert_eq!(
            call("audio_content").content,
            vec![Content::audio(beep_wav(), "audio/wav")]
        );
        assert_eq!(
            call("embedded_resource").content,
            vec![Content::resource(
                ResourceContents::text(
                    "test://embedded-resource",
                    "This is an embedded resource content."
                )
                .mime_type("text/plain")
            )]
        );
        let mixed = call("multiple_content_types").content;
        assert_eq!(mixed.len(), 3);
        assert_eq!(mixed[0], Content::text("Multiple content types test:"));
        assert_eq!(mixed[1], Content::image(RED_PIXEL_PNG, "image/png"));
        let Content::Resource(embedded) = &mixed[2] else {
            panic!("{:?}", mixed[2])
        };
        assert_eq!(embedded.uri, "test://mixed-content-resource");
        assert_eq!(embedded.mime_type.as_deref(), Some("application/json"));
        let ResourceBody::Text(text) = &embedded.body else {
            panic!("{embedded:?}")
        };
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            serde_json::json!({"test": "data", "value": 123})
        );
        let error = call("error_handling");
        assert!(error.is_error);
        assert_eq!(
            error.content,
            vec![Content::text(
                "This tool intentionally returns an error for testing"
            )]
        );
        for name in [
            "tool_with_logging",
            "tool_with_progress",
            "logging_tool",
            "streaming_elicitation",
        ] {
            let out = call(name);
            assert!(!out.is_error, "{name}");
            assert!(matches!(&out.content[..], [Content::Text { .. }]), "{name}");
        }
    }

    #[test]
    fn custom_header_parameter_is_annotated() {
        let p = plugin();
        let t = p
            .tools()
            .iter()
            .find(|t| t.name() == "custom_header")
            .expect("custom_header");
        let schema = t.input_schema();
        assert_eq!(schema["properties"]["region"]["type"], "string");
        assert_eq!(schema["properties"]["region"]["x-mcp-header"], "Region");
        assert_eq!(schema["required"], serde_json::json!(["region"]));
        let out = p
            .call_tool("custom_header", r#"{"region":"eu-west-1"}"#)
            .unwrap();
        assert_eq!(out.content, vec![Content::text("Region: eu-west-1")]);
    }

    #[test]
    fn resources_and_template_read() {
        let p = plugin();
        let text = p.read_resource("test://static-text").unwrap();
        assert_eq!(
            text,
            vec![
                ResourceContents::text(
                    "test://static-text",
                    "This is the content of the static text resource."
                )
                .mime_type("text/plain")
            ]
        );
        let binary = p.read_resource("test://static-binary").unwrap();
        assert_eq!(
            binary,
            vec![
                ResourceContents::blob("test://static-binary", RED_PIXEL_PNG)
                    .mime_type("image/png")
            ]
        );
        let watched = p.read_resource("test://watched-resource").unwrap();
        assert_eq!(watched[0].mime_type.as_deref(), Some("text/plain"));
        let data = p.read_resource("test://template/123/data").unwrap();
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].uri, "test://template/123/data");
        assert_eq!(data[0].mime_type.as_deref(), Some("application/json"));
        let ResourceBody::Text(text) = &data[0].body else {
            panic!("{data:?}")
        };
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            serde_json::json!({"id": "123", "templateTest": true, "data": "Data for ID: 123"})
        );
        assert!(matches!(
            p.read_resource("test://nonexistent-resource-for-conformance-testing"),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn prompts_render() {
        let p = plugin();
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let simple = p.get_prompt("simple_prompt", &[]).unwrap();
        assert_eq!(
            simple.messages,
            vec![Message::user("This is a simple prompt for testing.")]
        );
        let args = p
            .get_prompt(
                "prompt_with_arguments",
                &pairs(&[("arg1", "hello"), ("arg2", "world")]),
            )
            .unwrap();
        assert_eq!(
            args.messages,
            vec![Message::user(
                "Prompt with arguments: arg1='hello', arg2='world'"
            )]
        );
        let embedded = p
            .get_prompt(
                "prompt_with_embedded_resource",
                &pairs(&[("resourceUri", "test://example-resource")]),
            )
            .unwrap();
        assert_eq!(
            embedded.messages,
            vec![
                Message::new(
                    Role::User,
                    Content::resource(
                        ResourceContents::text(
                            "test://example-resource",
                            "Embedded resource content for testing."
                        )
                        .mime_type("text/plain")
                    )
                ),
                Message::user("Please process the embedded resource above."),
            ]
        );
        let image = p.get_prompt("prompt_with_image", &[]).unwrap();
        assert_eq!(
            image.messages,
            vec![
                Message::new(Role::User, Content::image(RED_PIXEL_PNG, "image/png")),
                Message::user("Please analyze the image above."),
            ]
        );
    }
}
