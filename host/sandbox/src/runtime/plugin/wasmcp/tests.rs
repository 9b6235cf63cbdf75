//! The `wasmcp_echo` test component (plugins/wasmcp-echo, built by `make plugins`) loaded and
//! called through [`PluginImage`], and linking edge cases on hand-written components.

use capsule_common::test_support::built_plugin;

use super::*;
use crate::runtime::cache::content_hash;

use crate::runtime::small_runtime as runtime;

async fn load_bytes(name: &str, bytes: Vec<u8>) -> Result<LoadedPlugin, LoadError> {
    let hash = content_hash(&bytes);
    let path = PathBuf::from(format!("{name}.wasm"));
    PluginImage::load(&runtime(), name, path, bytes, hash, &Policy::default()).await
}

async fn echo() -> LoadedPlugin {
    let bytes = std::fs::read(built_plugin("wasmcp_echo")).expect("the component is readable");
    match load_bytes("wasmcp_echo", bytes).await {
        Ok(loaded) => loaded,
        Err(e) => panic!("wasmcp_echo did not load: {e}"),
    }
}

fn texts(content: &[types::ContentBlock]) -> Vec<&str> {
    content
        .iter()
        .filter_map(|c| match c {
            types::ContentBlock::Text(t) => Some(t.text.as_str()),
            _ => None,
        })
        .collect()
}

async fn call(
    image: &PluginImage,
    tool: &str,
    arguments: &str,
) -> Result<tools::CallToolResult, CallError> {
    match image
        .call_tool(RequestScope::default(), tool, arguments.into(), None)
        .await?
    {
        tools::CallOutcome::Complete(result) => Ok(result),
        tools::CallOutcome::InputRequired(_) => panic!("a wasmcp tool never asks for input"),
    }
}

#[tokio::test]
async fn a_wasmcp_component_loads_with_its_lists_in_capsules_types() {
    let loaded = echo().await;
    assert_eq!(loaded.kind, PluginKind::Wasmcp);
    assert_eq!(loaded.kind.to_string(), "wasmcp");
    assert_eq!(loaded.image.kind(), PluginKind::Wasmcp);
    assert!(loaded.exports.tools && loaded.exports.resources && loaded.exports.prompts);
    assert!(!loaded.exports.completions);
    // Both pages of list-tools.
    let names: Vec<&str> = loaded.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["echo", "fail", "whoami"]);
    let echo = &loaded.tools[0];
    assert_eq!(echo.title.as_deref(), Some("Echo"));
    assert_eq!(
        echo.description.as_deref(),
        Some("Says the text back, with its length")
    );
    assert!(echo.input_schema.contains(r#""required":["text"]"#));
    assert!(
        echo.output_schema
            .as_deref()
            .unwrap_or_default()
            .contains("echoed")
    );
    assert_eq!(
        echo.meta.as_deref(),
        Some(r#"{"example.com/origin":"wasmcp"}"#)
    );
    let hints = echo.annotations.as_ref().expect("echo has annotations");
    assert_eq!(hints.read_only_hint, Some(true));
    assert_eq!(hints.destructive_hint, Some(false));
    assert_eq!(loaded.undocumented, ["whoami"]);

    let [readme] = &loaded.resources[..] else {
        panic!("one resource: {:?}", loaded.resources);
    };
    assert_eq!(readme.uri, "echo://readme");
    assert_eq!(readme.title.as_deref(), Some("Read me"));
    assert_eq!(readme.size, Some(42));
    assert_eq!(readme.mime_type.as_deref(), Some("text/plain"));
    let annotations = readme.annotations.as_ref().expect("annotated");
    assert_eq!(annotations.priority, Some(1.0));
    assert_eq!(
        annotations.audience,
        Some(vec![types::Role::User, types::Role::Assistant])
    );
    let [template] = &loaded.resource_templates[..] else {
        panic!("one template: {:?}", loaded.resource_templates);
    };
    assert_eq!(template.uri_template, "echo://echo/{text}");
    let [greet] = &loaded.prompts[..] else {
        panic!("one prompt: {:?}", loaded.prompts);
    };
    assert_eq!(greet.name, "greet");
    assert_eq!(greet.title.as_deref(), Some("Greet"));
    assert_eq!(greet.arguments.len(), 1);
    assert!(greet.arguments[0].required);

    // The wasmcp host function it imports is reported, as are the wasmcp imports.
    assert!(
        loaded.skipped.iter().any(|s| s.function
            == "wasmcp:mcp-v20251125/server-auth@0.1.1#decode"
            && s.reason.starts_with("imported but not provided by Capsule")),
        "{:?}",
        loaded.skipped
    );
    assert!(
        loaded
            .imports
            .iter()
            .any(|i| i == "wasmcp:mcp-v20251125/server-auth@0.1.1"),
        "{:?}",
        loaded.imports
    );
    let description = loaded.metadata.description.as_deref().unwrap_or_default();
    assert_eq!(
        description,
        "A wasmcp component (wasmcp:mcp-v20251125@0.1.1): tools, resources, prompts"
    );
}

#[tokio::test]
async fn tool_calls_convert_every_kind_of_content() {
    let loaded = echo().await;
    let result = call(&loaded.image, "echo", r#"{"text":"hé"}"#)
        .await
        .expect("echo answers");
    assert!(!result.is_error);
    assert_eq!(
        result.structured_content.as_deref(),
        Some(r#"{"echoed":"hé","length":2}"#)
    );
    // No client (a default scope): the context carries the package's own revision.
    assert_eq!(
        result.meta.as_deref(),
        Some(r#"{"example.com/echoes":1,"example.com/protocol-version":"2025-11-25"}"#)
    );
    let [
        types::ContentBlock::Text(text),
        types::ContentBlock::Image(image),
        types::ContentBlock::Audio(audio),
        types::ContentBlock::ResourceLink(link),
        types::ContentBlock::EmbeddedResource(embedded),
    ] = &result.content[..]
    else {
        panic!("five blocks: {:?}", result.content);
    };
    assert_eq!(text.text, "hé");
    assert_eq!(
        text.annotations.as_ref().and_then(|a| a.priority),
        Some(0.5)
    );
    assert_eq!(
        (image.data.as_slice(), image.mime_type.as_str()),
        (&b"\x89PNG"[..], "image/png")
    );
    assert_eq!(
        (audio.data.as_slice(), audio.mime_type.as_str()),
        (&b"RIFF"[..], "audio/wav")
    );
    assert_eq!(
        (link.uri.as_str(), link.title.as_deref(), link.size),
        ("echo://readme", Some("Read me"), Some(42))
    );
    assert_eq!(embedded.uri, "echo://echo/hé");
    assert!(matches!(&embedded.body, types::ResourceBody::Text(t) if t == "hé"));

    let failed = call(&loaded.image, "fail", r#"{"reason":"testing"}"#)
        .await
        .expect("fail answers");
    assert!(failed.is_error);
    assert_eq!(texts(&failed.content), ["failed as asked: testing"]);
}

#[tokio::test]
async fn errors_map_to_capsules_typed_errors() {
    let loaded = echo().await;
    let unknown = call(&loaded.image, "nope", "{}")
        .await
        .expect_err("no such tool");
    assert!(
        matches!(&unknown, CallError::Plugin(types::Error::NotFound(m)) if m == "the component has no tool named 'nope'"),
        "{unknown:?}"
    );
    let invalid = call(&loaded.image, "invalid", "{}")
        .await
        .expect_err("invalid-params");
    assert!(
        matches!(&invalid, CallError::Plugin(types::Error::InvalidArguments(m)) if m == "invalid on purpose"),
        "{invalid:?}"
    );
    let missing = loaded
        .image
        .read_resource(RequestScope::default(), "other://x")
        .await
        .expect_err("no such resource");
    assert!(
        matches!(&missing, CallError::Plugin(types::Error::NotFound(m)) if m == "no resource at 'other://x'"),
        "{missing:?}"
    );
    // `mcp` with code -32002 (resource not found) is not found too.
    let coded = loaded
        .image
        .read_resource(RequestScope::default(), "echo://echo/error")
        .await
        .expect_err("the component refuses it");
    assert!(
        matches!(&coded, CallError::Plugin(types::Error::NotFound(m)) if m == "no such echo"),
        "{coded:?}"
    );
    let no_prompt = loaded
        .image
        .get_prompt(RequestScope::default(), "nope", &[], None)
        .await
        .expect_err("no such prompt");
    assert!(
        matches!(&no_prompt, CallError::Plugin(types::Error::NotFound(_))),
        "{no_prompt:?}"
    );
    let no_name = loaded
        .image
        .get_prompt(RequestScope::default(), "greet", &[], None)
        .await
        .expect_err("name is required");
    assert!(
        matches!(&no_name, CallError::Plugin(types::Error::InvalidArguments(m)) if m == "name is required"),
        "{no_name:?}"
    );
    assert!(matches!(
        loaded
            .image
            .complete(
                RequestScope::default(),
                &crate::runtime::bindings::completions::CompletionReference::Prompt("greet".into()),
                "name",
                "",
                &[],
            )
            .await,
        Err(CallError::NotExported("completions"))
    ));
}

/// Calling a wasmcp host function Capsule does not provide fails that call only, with a
/// message naming the function.
#[tokio::test]
async fn an_unprovided_host_function_fails_only_the_call_that_uses_it() {
    let loaded = echo().await;
    let error = call(&loaded.image, "whoami", "{}")
        .await
        .expect_err("server-auth.decode is a stub");
    let CallError::Trap(cause) = &error else {
        panic!("not a trap: {error:?}");
    };
    assert!(
        format!("{cause:?}")
            .contains("wasmcp:mcp-v20251125/server-auth#decode is not provided by Capsule"),
        "{cause:?}"
    );
    let again = call(&loaded.image, "echo", r#"{"text":"still here"}"#).await;
    assert!(again.is_ok(), "{again:?}");
}

#[tokio::test]
async fn resources_read_inline_and_streamed_contents_and_prompts_render() {
    let loaded = echo().await;
    let readme = loaded
        .image
        .read_resource(RequestScope::default(), "echo://readme")
        .await
        .expect("the readme reads");
    let [contents] = &readme[..] else {
        panic!("one item: {readme:?}");
    };
    assert_eq!(contents.mime_type.as_deref(), Some("text/plain"));
    assert_eq!(
        contents.meta.as_deref(),
        Some(r#"{"example.com/kind":"readme"}"#)
    );
    assert!(
        matches!(&contents.body, types::ResourceBody::Text(t) if t.starts_with("A wasmcp component"))
    );

    let echoed = loaded
        .image
        .read_resource(RequestScope::default(), "echo://echo/hi")
        .await
        .expect("the template reads");
    let bodies: Vec<&types::ResourceBody> = echoed.iter().map(|c| &c.body).collect();
    assert!(
        matches!(
            &bodies[..],
            [
                types::ResourceBody::Text(t),
                types::ResourceBody::Blob(b),
                // Standard input, streamed: closed in the sandbox, so empty.
                types::ResourceBody::Text(streamed),
            ] if t == "hi" && b == b"hi" && streamed.is_empty()
        ),
        "{echoed:?}"
    );
    assert_eq!(
        echoed[1].mime_type.as_deref(),
        Some("application/octet-stream")
    );

    let prompt = loaded
        .image
        .get_prompt(
            RequestScope::default(),
            "greet",
            &[("name".into(), "Ada".into())],
            None,
        )
        .await
        .expect("the prompt renders");
    let prompts::PromptOutcome::Complete(prompt) = prompt else {
        panic!("a wasmcp prompt never asks for input");
    };
    assert_eq!(prompt.description.as_deref(), Some("A greeting for Ada"));
    let messages: Vec<(types::Role, Vec<&str>)> = prompt
        .messages
        .iter()
        .map(|m| (m.role, texts(std::slice::from_ref(&m.content))))
        .collect();
    assert_eq!(
        messages,
        [
            (types::Role::User, vec!["Please greet Ada."]),
            (types::Role::Assistant, vec!["Hello, Ada!"]),
        ]
    );
}

/// A component that imports `wasi:io/streams@0.2.8` (the version the wasmcp types name)
/// links against wasmtime-wasi's 0.2.x: wasmtime matches semver-compatible versions. Of the
/// wasmcp imports, functions are stubbed, a resource re-exported from WASI (`mcp`'s
/// `input-stream`) stays WASI's, and a resource of wasmcp's own (`sessions`' `session`)
/// gets a stub type.
#[tokio::test]
async fn wasi_io_0_2_8_resolves_to_wasmtime_wasis_0_2() {
    let component = wat::parse_str(
        r#"(component $C
          (import "wasi:io/streams@0.2.8" (instance $io
            (export "input-stream" (type (sub resource)))))
          (alias export $io "input-stream" (type $input-stream))
          (import "wasmcp:mcp-v20251125/mcp@0.1.1" (instance
            (alias outer $C $input-stream (type $t))
            (export "input-stream" (type (eq $t)))))
          (import "wasmcp:mcp-v20251125/sessions@0.1.1" (instance
            (export "session" (type (sub resource)))
            (type (borrow 0))
            (export "[method]session.id" (func (param "self" 1)))))
          (import "wasmcp:mcp-v20251125/server-io@0.1.1" (instance
            (export "flush-buffer" (func))))
          (core module $m (func (export "f")))
          (core instance $i (instantiate $m))
          (func $f (canon lift (core func $i "f")))
          (export "f" (func $f)))"#,
    )
    .expect("valid WAT");
    let runtime = runtime();
    let compiled = Component::new(runtime.engine(), component).expect("it compiles");
    assert!(
        runtime.linker().instantiate_pre(&compiled).is_err(),
        "the shared linker has no wasmcp interfaces"
    );
    let (linker, stubbed) = linker_with_stubs(&runtime, &compiled).expect("stubs link");
    linker
        .instantiate_pre(&compiled)
        .expect("wasi:io/streams@0.2.8 and the stub resolve");
    assert_eq!(
        stubbed
            .iter()
            .map(|s| s.function.as_str())
            .collect::<Vec<_>>(),
        [
            "wasmcp:mcp-v20251125/sessions@0.1.1#[method]session.id",
            "wasmcp:mcp-v20251125/server-io@0.1.1#flush-buffer"
        ]
    );
}

/// wasmcp exports Capsule does not serve: a clear load error when nothing else is there.
#[tokio::test]
async fn a_wasmcp_component_of_another_revision_is_refused_naming_it() {
    let component = wat::parse_str(
        r#"(component
          (core module $m (func (export "f")))
          (core instance $i (instantiate $m))
          (func $f (canon lift (core func $i "f")))
          (instance $tools (export "list-tools" (func $f)))
          (export "wasmcp:mcp-v20250618/tools@0.1.0" (instance $tools)))"#,
    )
    .expect("valid WAT");
    let error = load_bytes("old", component)
        .await
        .err()
        .expect("another revision is not served");
    assert!(matches!(error, LoadError::Wasmcp(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("wasmcp:mcp-v20250618/tools@0.1.0")
            && message.contains("wasmcp:mcp-v20251125@0.1.x"),
        "{message}"
    );
}

/// A capability interface whose functions do not have wasmcp's signature is refused.
#[tokio::test]
async fn a_wrong_signature_is_refused_naming_the_function() {
    let component = wat::parse_str(
        r#"(component
          (core module $m (func (export "f")))
          (core instance $i (instantiate $m))
          (func $f (canon lift (core func $i "f")))
          (instance $tools (export "list-tools" (func $f)) (export "call-tool" (func $f)))
          (export "wasmcp:mcp-v20251125/tools@0.1.1" (instance $tools)))"#,
    )
    .expect("valid WAT");
    let error = load_bytes("odd", component)
        .await
        .err()
        .expect("not the wasmcp signature");
    let message = error.to_string();
    assert!(
        message.contains(
            "`wasmcp:mcp-v20251125/tools@0.1.1#list-tools` does not have the wasmcp signature"
        ),
        "{message}"
    );
}
