//! Deriving tools from a small hand-written component (the full type table is exercised end to
//! end with the `plain_types` component built from plugins/plain-types).

use serde_json::json;
use wasmtime::component::{Component, Val};

use super::*;
use crate::runtime::{Allocator, Runtime};

/// World-level `add: func(a: s32, b: s32) -> s32`, an interface `calc` with `add` too and
/// `maybe: func(x: option<option<u32>>)`, and an interface `other` with `add`: the first `add`
/// keeps its name, the interface ones get prefixes, `maybe` is skipped.
const COMPONENT: &str = r#"(component
  (core module $m
    (func (export "add") (param i32 i32) (result i32)
      (i32.add (local.get 0) (local.get 1)))
    (func (export "maybe") (param i32 i32 i32)))
  (core instance $i (instantiate $m))
  (func $add (param "a" s32) (param "b" s32) (result s32) (canon lift (core func $i "add")))
  (type $oo (option (option u32)))
  (func $maybe (param "x" $oo) (canon lift (core func $i "maybe")))
  (export "add" (func $add))
  (instance $calc (export "add" (func $add)) (export "maybe" (func $maybe)))
  (export "example:calc/calc@1.2.0" (instance $calc))
  (instance $other (export "add" (func $add)))
  (export "other" (instance $other)))"#;

fn derive_example() -> (Runtime, Component, PlainExports) {
    let runtime = Runtime::with_allocator(None, Allocator::OnDemand).expect("the runtime starts");
    let bytes = wat::parse_str(COMPONENT).expect("valid component text");
    let component = Component::new(runtime.engine(), bytes).expect("the component compiles");
    let plain = derive(&component, runtime.engine());
    (runtime, component, plain)
}

#[test]
fn functions_become_tools_with_prefixes_only_where_names_clash() {
    let (_, _, plain) = derive_example();
    let tools: Vec<(&str, String)> = plain
        .functions
        .iter()
        .map(|f| (f.tool.as_str(), f.qualified()))
        .collect();
    assert_eq!(
        tools,
        [
            ("add", "add".to_string()),
            ("calc_add", "example:calc/calc@1.2.0#add".to_string()),
            ("other_add", "other#add".to_string()),
        ]
    );
    assert_eq!(
        plain.skipped,
        [Skipped {
            function: "example:calc/calc@1.2.0#maybe".into(),
            reason: "parameter 'x' uses option<option<T>>, whose `none` and `some(none)` cannot \
                     be told apart in JSON"
                .into(),
        }]
    );
    assert_eq!(version_of("example:calc/calc@1.2.0"), Some("1.2.0"));
}

#[test]
fn schemas_carry_the_exact_integer_ranges_and_wrap_the_result() {
    let (_, _, plain) = derive_example();
    let add = plain.function("add").expect("add is served");
    let range = json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX});
    assert_eq!(
        add.input_schema,
        json!({"type": "object", "properties": {"a": range, "b": range},
               "required": ["a", "b"], "additionalProperties": false})
    );
    assert_eq!(
        add.output_schema,
        Some(json!({"type": "object", "properties": {"result": range},
                    "required": ["result"], "additionalProperties": false}))
    );
}

#[test]
fn arguments_convert_exactly_and_out_of_range_values_are_refused_by_name() {
    let (_, _, plain) = derive_example();
    let add = plain.function("add").expect("add is served");
    let vals = value::params_from_json(&json!({"a": -2147483648i64, "b": 7}), &add.params)
        .expect("both fit s32");
    assert_eq!(vals, [Val::S32(i32::MIN), Val::S32(7)]);
    let too_big = value::params_from_json(&json!({"a": 2147483648i64, "b": 1}), &add.params);
    assert_eq!(
        too_big.unwrap_err(),
        "arguments.a must be an integer in the range of its type"
    );
    let missing = value::params_from_json(&json!({"a": 1}), &add.params);
    assert_eq!(missing.unwrap_err(), "arguments.b is missing");
    let extra = value::params_from_json(&json!({"a": 1, "b": 2, "c": 3}), &add.params);
    assert_eq!(extra.unwrap_err(), "unknown argument 'c'");
    // JSON Schema counts 3.0 as an integer, so the conversion does too.
    let float = value::params_from_json(&json!({"a": 3.0, "b": 2}), &add.params)
        .expect("3.0 is an integer");
    assert_eq!(float[0], Val::S32(3));
}

#[test]
fn the_imports_are_listed() {
    let runtime = Runtime::with_allocator(None, Allocator::OnDemand).expect("the runtime starts");
    let bytes = wat::parse_str(
        r#"(component
          (import "example:missing/thing@0.1.0" (instance $t (export "poke" (func))))
          (core module $m (func (export "f")))
          (core instance $i (instantiate $m))
          (func $f (canon lift (core func $i "f")))
          (export "f" (func $f)))"#,
    )
    .expect("valid component text");
    let component = Component::new(runtime.engine(), bytes).expect("the component compiles");
    let plain = derive(&component, runtime.engine());
    assert_eq!(plain.imports, ["example:missing/thing@0.1.0"]);
    assert_eq!(plain.functions.len(), 1);
}

#[test]
fn a_wit_file_must_match_the_exports_and_gives_descriptions() {
    let (_, _, plain) = derive_example();
    let good = r#"package example:calc@1.2.0;
        interface calc {
            /// Adds two numbers.
            ///
            /// - `a`: the first
            /// - b: the second
            add: func(a: s32, b: s32) -> s32;
            maybe: func(x: option<option<u32>>);
        }
        world calculator {
            /// Adds at the top.
            export add: func(a: s32, b: s32) -> s32;
            export calc;
            export other: interface { add: func(a: s32, b: s32) -> s32; }
        }"#;
    let path = std::path::Path::new("calc.wit");
    let docs = docs::from_wit_file(path, good, &plain).expect("the WIT matches");
    let add = docs
        .function(Some("example:calc/calc@1.2.0"), "add")
        .expect("the interface add is documented");
    assert!(
        add.description
            .as_deref()
            .expect("it has a description")
            .starts_with("Adds two numbers.")
    );
    assert_eq!(add.params["a"], "the first");
    assert_eq!(add.params["b"], "the second");
    assert_eq!(
        docs.function(None, "add")
            .expect("the world-level add is documented")
            .description
            .as_deref(),
        Some("Adds at the top.")
    );

    let renamed = good.replace(
        "add: func(a: s32, b: s32) -> s32;\n            maybe",
        "add: func(x: s32, b: s32) -> s32;\n            maybe",
    );
    let err = docs::from_wit_file(path, &renamed, &plain).unwrap_err();
    assert_eq!(
        err,
        "calc.wit does not match the component (world 'calculator'): \
         `example:calc/calc@1.2.0#add` takes (x, b) in the WIT but (a, b) in the component"
    );
    let fewer = good.replace(
        "export other: interface { add: func(a: s32, b: s32) -> s32; }",
        "",
    );
    let err = docs::from_wit_file(path, &fewer, &plain).unwrap_err();
    assert!(
        err.ends_with("the component exports `other#add`, which it does not declare"),
        "{err}"
    );
    let err = docs::from_wit_file(path, "package x:y; world w {", &plain).unwrap_err();
    assert!(err.starts_with("calc.wit is not valid WIT: "), "{err}");
}

/// `bytes` with a custom section `name` holding `data` appended (custom sections may come
/// anywhere in a component).
fn with_custom_section(mut bytes: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    use wasm_encoder::ComponentSection as _;
    wasm_encoder::CustomSection {
        name: name.into(),
        data: data.into(),
    }
    .append_to_component(&mut bytes);
    bytes
}

/// A toolchain that keeps doc comments embeds them as a `package-docs` section (wit-parser's
/// `PackageMetadata`, for the component's own package): they become the descriptions.
#[test]
fn descriptions_come_from_a_package_docs_section() {
    let bytes = wat::parse_str(COMPONENT).expect("valid component text");
    let wit_parser::decoding::DecodedWasm::Component(mut resolve, world) =
        wit_parser::decoding::decode(&bytes).expect("the component decodes")
    else {
        panic!("a component decodes as one")
    };
    let package = resolve.worlds[world]
        .package
        .expect("the world has a package");
    for item in resolve.worlds[world].exports.values_mut() {
        if let wit_parser::WorldItem::Function(f) = item
            && f.name == "add"
        {
            f.docs.contents = Some("Adds two numbers.\n\n- `a`: the first one".into());
        }
    }
    let section = wit_parser::PackageMetadata::extract(&resolve, package)
        .encode()
        .expect("the docs encode");
    let documented = with_custom_section(bytes.clone(), "package-docs", &section);
    let docs = docs::from_component(&documented, "calc");
    let add = docs.function(None, "add").expect("add is documented");
    assert_eq!(
        add.description.as_deref(),
        Some("Adds two numbers.\n\n- `a`: the first one")
    );
    assert_eq!(add.params["a"], "the first one");
    // Without the section there is nothing, and a damaged one is ignored, not fatal.
    assert!(
        docs::from_component(&bytes, "calc")
            .function(None, "add")
            .is_none()
    );
    let damaged = with_custom_section(bytes, "package-docs", b"\x01{not json");
    assert!(
        docs::from_component(&damaged, "calc")
            .function(None, "add")
            .is_none()
    );
}
