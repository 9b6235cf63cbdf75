//! Detection and request building on the types of the `wasmcp_echo` test component (built by
//! `make plugins`), and answer conversion on hand-made values.

use capsule_common::test_support::built_plugin;
use wasmtime::component::Val;

use super::convert::{self, Dropped, Streamed};
use super::*;
use crate::runtime::bindings::{tools, types};
use crate::runtime::{Allocator, Runtime};

fn echo_exports() -> WasmcpExports {
    let runtime = Runtime::with_allocator(None, Allocator::OnDemand).expect("the runtime starts");
    let bytes = std::fs::read(built_plugin("wasmcp_echo")).expect("the component is readable");
    let component = Component::new(runtime.engine(), bytes).expect("it compiles");
    detect(&component, runtime.engine())
        .expect("a wasmcp component")
        .expect("one Capsule serves")
}

fn s(text: &str) -> Val {
    Val::String(text.into())
}

fn some(value: Val) -> Val {
    Val::Option(Some(Box::new(value)))
}

fn none() -> Val {
    Val::Option(None)
}

fn record(fields: Vec<(&str, Val)>) -> Val {
    Val::Record(
        fields
            .into_iter()
            .map(|(n, v)| (n.to_string(), v))
            .collect(),
    )
}

fn variant(case: &str, payload: Val) -> Val {
    Val::Variant(case.into(), Some(Box::new(payload)))
}

#[test]
fn the_echo_components_capabilities_are_found() {
    let exports = echo_exports();
    assert_eq!(exports.version, "0.1.1");
    assert_eq!(exports.features(), "tools, resources, prompts");
    assert!(exports.unserved.is_empty(), "{:?}", exports.unserved);
    let tools = exports.tools.expect("tools");
    assert_eq!(
        tools.call_tool.name,
        "wasmcp:mcp-v20251125/tools@0.1.1#call-tool"
    );
    let resources = exports.resources.expect("resources");
    assert_eq!(
        resources.list_resource_templates.name,
        "wasmcp:mcp-v20251125/resources@0.1.1#list-resource-templates"
    );
    assert!(exports.prompts.is_some());
}

#[test]
fn the_message_context_has_the_wasmcp_fields_in_order() {
    let exports = echo_exports();
    let context = request::context(
        &exports.tools.expect("tools").list_tools.context,
        PROTOCOL_VERSION,
    )
    .expect("the context fits");
    let Val::Record(fields) = context else {
        panic!("not a record: {context:?}");
    };
    let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "client-stream",
            "protocol-version",
            "session",
            "identity",
            "frame",
            "http-context"
        ]
    );
    assert_eq!(fields[1].1, s("2025-11-25"));
    assert_eq!(
        fields[4].1,
        record(vec![
            ("prefix", Val::List(Vec::new())),
            ("suffix", Val::List(Vec::new()))
        ])
    );
    for i in [0, 2, 3, 5] {
        assert_eq!(fields[i].1, none(), "{}", fields[i].0);
    }
}

#[test]
fn requests_are_built_by_field_name() {
    let exports = echo_exports();
    let call_tool = &exports.tools.expect("tools").call_tool.request;
    let built = request::request(
        call_tool,
        "call-tool-request",
        vec![("arguments", s("{}")), ("name", s("echo"))],
    )
    .expect("it fits");
    assert_eq!(
        built,
        record(vec![("name", s("echo")), ("arguments", some(s("{}")))])
    );
    let without = request::request(call_tool, "call-tool-request", vec![("name", s("x"))])
        .expect("arguments may be left out");
    assert_eq!(
        without,
        record(vec![("name", s("x")), ("arguments", none())])
    );
    assert_eq!(
        request::request(call_tool, "call-tool-request", vec![("uri", s("x"))]),
        Err("call-tool-request has no field `uri`".into())
    );
    assert_eq!(
        request::request(call_tool, "call-tool-request", Vec::new()),
        Err("call-tool-request has a field `name` Capsule has no value for".into())
    );
}

fn error(case: &str, code: i64) -> Val {
    variant(
        case,
        record(vec![
            ("code", Val::S64(code)),
            ("message", s("why")),
            ("data", some(s("{}"))),
        ]),
    )
}

#[test]
fn error_codes_map_by_case_then_by_code() {
    use types::Error::{Internal, InvalidArguments, NotFound};
    let cases = [
        ("parse-error", -32700, InvalidArguments("why".into())),
        ("invalid-request", -32600, InvalidArguments("why".into())),
        ("invalid-params", -32602, InvalidArguments("why".into())),
        ("method-not-found", -32601, NotFound("why".into())),
        ("internal-error", -32603, Internal("why".into())),
        ("server", -32000, Internal("why".into())),
        ("server", -32002, NotFound("why".into())),
        ("json-rpc", -32602, InvalidArguments("why".into())),
        ("mcp", -32002, NotFound("why".into())),
        ("mcp", 7, Internal("why".into())),
    ];
    for (case, code, expected) in cases {
        let mapped = convert::error_code(&error(case, code)).expect("an error-code");
        assert_eq!(
            format!("{mapped:?}"),
            format!("{expected:?}"),
            "{case} {code}"
        );
    }
    let answer = Val::Result(Err(Some(Box::new(error("invalid-params", -32602)))));
    assert!(matches!(
        convert::ok(&answer),
        Ok(Err(InvalidArguments(m))) if m == "why"
    ));
}

fn text_block(text: Val) -> Val {
    variant("text", record(vec![("text", text), ("options", none())]))
}

#[test]
fn streamed_text_comes_from_what_the_runtime_read() {
    let result = record(vec![
        ("meta", none()),
        (
            "content",
            Val::List(vec![
                text_block(variant("text", s("inline"))),
                text_block(variant("text-stream", Val::U32(0))),
            ]),
        ),
        ("is-error", none()),
        ("structured-content", none()),
    ]);
    let mut streamed = Streamed::new(vec![b"streamed".to_vec()]);
    let converted: tools::CallToolResult =
        convert::call_tool_result(&result, &mut streamed).expect("it converts");
    let texts: Vec<&str> = converted
        .content
        .iter()
        .map(|c| match c {
            types::ContentBlock::Text(t) => t.text.as_str(),
            other => panic!("not text: {other:?}"),
        })
        .collect();
    assert_eq!(texts, ["inline", "streamed"]);
    assert!(!converted.is_error);
    // A stream index with nothing read behind it is a shape error, not a panic.
    let error = convert::call_tool_result(&result, &mut Streamed::default()).expect_err("unread");
    assert!(
        error.to_string().contains("no stream 0 was read"),
        "{error}"
    );
}

#[test]
fn answers_of_the_wrong_shape_say_where() {
    let mut dropped = Dropped::new();
    let error =
        convert::tool(&record(vec![("name", s("t"))]), &mut dropped).expect_err("no schema");
    assert_eq!(
        error.to_string(),
        "the component's answer does not have the wasmcp:mcp-v20251125 shape: tool has no field \
         `input-schema`"
    );
    let error = convert::tool(
        &record(vec![("name", Val::U32(1)), ("input-schema", s("{}"))]),
        &mut dropped,
    )
    .expect_err("a number for a name");
    assert!(
        error
            .to_string()
            .ends_with("tool.name is not a string: another type"),
        "{error}"
    );
}

#[test]
fn fields_capsule_does_not_serve_are_noted() {
    let icon = record(vec![
        ("src", s("https://example.com/i.png")),
        ("mime-type", none()),
        ("sizes", none()),
        ("theme", none()),
    ]);
    let resource = record(vec![
        ("uri", s("x://y")),
        ("name", s("y")),
        (
            "options",
            some(record(vec![
                ("size", none()),
                ("title", none()),
                ("description", none()),
                ("mime-type", none()),
                ("annotations", none()),
                ("meta", some(s("{}"))),
                ("icons", some(Val::List(vec![icon]))),
            ])),
        ),
    ]);
    let mut dropped = Dropped::new();
    let converted = convert::resource(&resource, &mut dropped).expect("it converts");
    assert_eq!(converted.uri, "x://y");
    assert_eq!(
        dropped.into_iter().collect::<Vec<_>>(),
        ["resource _meta", "resource icons"]
    );
}
