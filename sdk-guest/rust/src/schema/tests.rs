use std::collections::{BTreeSet, HashMap};

use serde::Deserialize;
use serde_json::json;

use super::*;

// ------------------------------------------------------------------- a checker of the profile

/// Keywords the portable profile allows (portable-profile.md, rule 7).
const ALLOWED: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "enum",
    "description",
    "title",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
];

/// Panic with the path of the first place where `schema` breaks the portable profile.
fn assert_portable(schema: &Value) {
    assert_eq!(schema["type"], "object", "root: {schema}");
    for keyword in ["anyOf", "oneOf", "allOf", "enum", "const"] {
        assert!(
            schema.get(keyword).is_none(),
            "root has {keyword}: {schema}"
        );
    }
    check(schema, "#");
}

fn check(s: &Value, at: &str) {
    let obj = s
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object schema: {s}"));
    for k in obj.keys() {
        assert!(ALLOWED.contains(&k.as_str()), "{at}: keyword {k} in {s}");
    }
    match (obj.get("type"), obj.get("anyOf")) {
        (Some(Value::String(_)), None) => {}
        (None, Some(Value::Array(branches))) => {
            for (i, b) in branches.iter().enumerate() {
                assert!(
                    b.get("type").is_some_and(Value::is_string),
                    "{at}/anyOf/{i}: untyped"
                );
                check(b, &format!("{at}/anyOf/{i}"));
            }
            let non_null = branches.iter().filter(|b| b["type"] != "null").count();
            if non_null == 1 && branches.len() == 2 {
                // Nullable: annotations beside the anyOf, not in the branch.
                assert!(
                    branches.iter().all(|b| b.get("description").is_none()),
                    "{at}: {s}"
                );
            }
        }
        _ => panic!("{at}: needs one string `type` or an `anyOf`: {s}"),
    }
    match obj.get("type").and_then(Value::as_str) {
        Some("object") => {
            assert_eq!(
                obj.get("additionalProperties"),
                Some(&json!(false)),
                "{at}: {s}"
            );
            let props = obj["properties"].as_object().expect("properties");
            let names: Vec<&String> = props.keys().collect();
            let required: Vec<&str> = obj["required"]
                .as_array()
                .expect("required")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(names, required, "{at}: required is not every property");
            for (name, p) in props {
                check(p, &format!("{at}/properties/{name}"));
            }
        }
        Some("array") => check(obj.get("items").expect("items"), &format!("{at}/items")),
        Some(t) => {
            if let Some(values) = obj.get("enum") {
                assert_eq!(t, "string", "{at}: enum on {t}");
                assert!(
                    values.as_array().unwrap().iter().all(Value::is_string),
                    "{at}"
                );
            }
            if let Some(f) = obj.get("format") {
                assert_eq!((t, f.as_str()), ("string", Some("date-time")), "{at}");
            }
        }
        None => {}
    }
}

fn required(s: &Value) -> Vec<&str> {
    s["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

// ------------------------------------------------------------------- types under test

/// A nested struct (a field's own doc would replace this).
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Inner {
    /// A flag
    flag: bool,
    /// Maybe a count
    count: Option<u8>,
}

/// How to go.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)]
enum Mode {
    /// Fast and loose
    Fast,
    /// Slow and careful
    Slow,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
enum Bare {
    On,
    Off,
}

#[derive(Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)]
enum Shape {
    Circle { r: f64 },
    Square { side: f64, label: Option<String> },
}

fn three() -> u32 {
    3
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Args {
    /// Who to greet
    name: String,
    /// How many times
    times: Option<u32>,
    /// Retries
    #[serde(default = "three")]
    retries: u32,
    inner: Inner,
    /// Optional inner
    maybe: Option<Inner>,
    list: Vec<Inner>,
    mode: Mode,
    bare: Option<Bare>,
    shape: Shape,
    maybe_shape: Option<Shape>,
}

// ------------------------------------------------------------------- the input schema

#[test]
fn input_schemas_pass_the_profile() {
    let s = portable_schema::<Args>();
    assert_portable(&s);
    assert!(s.get("$defs").is_none() && s.get("title").is_none() && s.get("$schema").is_none());
    assert!(!s.to_string().contains("$ref"), "{s}");
    assert!(
        !s.to_string().contains(OPTIONAL),
        "the marks are not published: {s}"
    );
    assert_portable(&portable_schema::<Everything>());
    assert_portable(&portable_schema::<Formats>());
}

#[test]
fn plain_fields_stay_as_they_are() {
    let s = portable_schema::<Args>();
    assert_eq!(
        s["properties"]["name"],
        json!({"type": "string", "description": "Who to greet"})
    );
}

#[test]
fn option_becomes_required_and_nullable_with_annotations_outside() {
    let s = portable_schema::<Args>();
    assert!(required(&s).contains(&"times"));
    assert_eq!(
        s["properties"]["times"],
        json!({
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}],
            "description": "How many times"
        })
    );
    // Option of a struct: the struct inlined and closed, the field's doc outside.
    let maybe = &s["properties"]["maybe"];
    assert_eq!(maybe["description"], "Optional inner");
    assert_eq!(maybe["anyOf"][1], json!({"type": "null"}));
    assert_eq!(maybe["anyOf"][0]["additionalProperties"], false);
    assert_eq!(required(&maybe["anyOf"][0]), ["count", "flag"]);
}

#[test]
fn serde_default_becomes_nullable_and_the_default_a_sentence() {
    let s = portable_schema::<Args>();
    assert_eq!(
        s["properties"]["retries"],
        json!({
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}],
            "description": "Retries. Default: 3."
        })
    );
}

#[test]
fn nested_structs_and_vec_items_are_inlined_and_closed() {
    let s = portable_schema::<Args>();
    let expected = json!({
        "type": "object",
        "properties": {
            "count": {
                "anyOf": [{"type": "integer", "minimum": 0, "maximum": 255}, {"type": "null"}],
                "description": "Maybe a count"
            },
            "flag": {"type": "boolean", "description": "A flag"}
        },
        "required": ["count", "flag"],
        "additionalProperties": false,
        "description": "A nested struct (a field's own doc would replace this)."
    });
    assert_eq!(s["properties"]["inner"], expected);
    assert_eq!(
        s["properties"]["list"],
        json!({"type": "array", "items": expected})
    );
}

#[test]
fn enums_become_string_enums_or_unions_of_closed_objects() {
    let s = portable_schema::<Args>();
    // Documented unit variants: one string enum, the docs in the description.
    assert_eq!(
        s["properties"]["mode"],
        json!({
            "type": "string",
            "enum": ["fast", "slow"],
            "description": "How to go. \"fast\": Fast and loose; \"slow\": Slow and careful."
        })
    );
    assert_eq!(
        s["properties"]["bare"],
        json!({"anyOf": [{"type": "string", "enum": ["On", "Off"]}, {"type": "null"}]})
    );
    // Internally tagged: the tag is a one-value string enum, each variant a closed object.
    let shape = &s["properties"]["shape"]["anyOf"];
    assert_eq!(shape.as_array().map(Vec::len), Some(2), "{shape}");
    assert_eq!(
        shape[0]["properties"]["kind"],
        json!({"type": "string", "enum": ["circle"]})
    );
    assert_eq!(required(&shape[1]), ["kind", "label", "side"]);
    assert_eq!(shape[1]["additionalProperties"], false);
    // Option of it: the variants and a null branch, not a union in a union.
    let maybe = s["properties"]["maybe_shape"]["anyOf"].as_array().unwrap();
    assert_eq!(maybe.len(), 3);
    assert_eq!(maybe[2], json!({"type": "null"}));
}

/// The rest of the rules: constraints outside the profile become sentences.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Everything {
    /// A code
    #[schemars(length(min = 2, max = 8))]
    code: String,
    letter: char,
    /// Tags
    tags: BTreeSet<String>,
    pair: (u8, String),
    /// Language
    #[serde(default = "english")]
    lang: String,
    /// Between 1 and 5 items
    #[schemars(length(min = 1, max = 5))]
    few: Vec<u16>,
    #[schemars(regex(pattern = "^[a-z]+$"))]
    word: String,
    big: i64,
    ratio: f32,
}

fn english() -> String {
    "en".into()
}

#[test]
fn constraints_outside_the_profile_move_into_the_description() {
    let s = portable_schema::<Everything>();
    let p = &s["properties"];
    assert_eq!(
        p["code"],
        json!({"type": "string", "description": "A code. At least 2 characters. At most 8 characters."})
    );
    assert_eq!(
        p["letter"],
        json!({"type": "string", "description": "Exactly 1 character."})
    );
    assert_eq!(
        p["tags"],
        json!({"type": "array", "items": {"type": "string"}, "description": "Tags. Items must be unique."})
    );
    assert_eq!(p["pair"]["minItems"], 2);
    assert_eq!(
        p["pair"]["description"],
        "Exactly 2 items: item 1 is integer, item 2 is string."
    );
    assert_eq!(p["lang"]["description"], "Language. Default: \"en\".");
    // Allowed keywords stay.
    assert_eq!(
        (p["few"]["minItems"].clone(), p["few"]["maxItems"].clone()),
        (json!(1), json!(5))
    );
    assert_eq!(p["word"]["pattern"], "^[a-z]+$");
    assert_eq!(p["big"], json!({"type": "integer"}));
    assert_eq!(p["ratio"], json!({"type": "number"}));
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Formats {
    #[schemars(extend("format" = "date-time"))]
    when: String,
    /// Contact
    #[schemars(email)]
    email: String,
    #[schemars(extend("examples" = ["a", "b"], "deprecated" = true))]
    old: String,
    #[schemars(extend("exclusiveMinimum" = 0))]
    positive: i32,
    #[schemars(extend("const" = 7))]
    seven: i32,
    #[schemars(extend("enum" = [1, 2, 3]))]
    level: u8,
    /// An externally tagged enum
    action: Option<Action>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum Action {
    Stop,
    Move { steps: Option<u32> },
}

#[test]
fn formats_examples_and_other_keywords() {
    let s = portable_schema::<Formats>();
    let p = &s["properties"];
    assert_eq!(p["when"], json!({"type": "string", "format": "date-time"}));
    assert_eq!(
        p["email"],
        json!({"type": "string", "description": "Contact. Format: email."})
    );
    assert_eq!(
        p["old"],
        json!({"type": "string", "description": "Deprecated. Examples: \"a\", \"b\"."})
    );
    assert_eq!(p["positive"]["minimum"], 1);
    assert_eq!(p["seven"]["description"], "Must be 7.");
    assert_eq!(
        p["level"],
        json!({"type": "integer", "minimum": 0, "maximum": 255, "description": "One of: 1, 2, 3."})
    );
    // Externally tagged: a unit variant is a string, a struct variant a closed object.
    let action = &p["action"];
    assert_eq!(action["description"], "An externally tagged enum");
    assert_eq!(
        action["anyOf"][0],
        json!({"type": "string", "enum": ["stop"]})
    );
    assert_eq!(required(&action["anyOf"][1]), ["move"]);
    assert_eq!(
        required(&action["anyOf"][1]["properties"]["move"]),
        ["steps"]
    );
    assert_eq!(action["anyOf"][2], json!({"type": "null"}));
    let mut sent = json!({"action": {"move": {"steps": null}}});
    remove_absent_nulls::<Formats>(&mut sent);
    assert_eq!(sent, json!({"action": {"move": {}}}));
}

#[test]
fn no_args_is_a_closed_empty_object() {
    assert_eq!(
        portable_schema::<crate::tool::NoArgs>(),
        json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false})
    );
    #[derive(Deserialize, JsonSchema)]
    struct Empty {}
    assert_eq!(
        portable_schema::<Empty>(),
        portable_schema::<crate::tool::NoArgs>()
    );
}

/// A map: free-form keys, which no portable schema can say.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct WithMap {
    labels: HashMap<String, u32>,
}

/// A recursive type.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Tree {
    children: Vec<Tree>,
}

#[test]
fn maps_any_values_and_recursion_are_left_for_the_host_to_report() {
    // A map keeps its `additionalProperties` schema: not portable (the host's checker says so);
    // model it as a `Vec` of key/value structs instead.
    let s = portable_schema::<WithMap>();
    assert_eq!(
        s["properties"]["labels"],
        json!({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}})
    );
    assert_eq!(required(&s), ["labels"]);
    // Any JSON value stays untyped; a recursive type keeps its `$ref`.
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Any {
        value: Value,
    }
    assert_eq!(portable_schema::<Any>()["properties"]["value"], json!(true));
    assert!(portable_schema::<Tree>().to_string().contains("$ref"));
    // A root that is no object (a bare `Value`) is kept open.
    assert_eq!(portable_schema::<Value>(), json!({"type": "object"}));
}

// ------------------------------------------------------------------- null means "not given"

fn not_given(value: Value) -> Value {
    let mut value = value;
    remove_absent_nulls::<Args>(&mut value);
    value
}

#[test]
fn nulls_of_optional_fields_are_removed_at_every_level() {
    let inner_null = json!({"flag": true, "count": null});
    let sent = json!({
        "name": null, "times": null, "retries": null, "inner": inner_null,
        "maybe": inner_null, "list": [inner_null, {"flag": false, "count": 2}],
        "mode": "fast", "bare": null,
        "shape": {"kind": "square", "side": 1.0, "label": null},
        "maybe_shape": {"kind": "circle", "r": 1.0}
    });
    let inner = json!({"flag": true});
    assert_eq!(
        not_given(sent),
        json!({
            "name": null, // required: its null stays (and serde rejects it)
            "inner": inner, "maybe": inner, "list": [inner, {"flag": false, "count": 2}],
            "mode": "fast",
            "shape": {"kind": "square", "side": 1.0},
            "maybe_shape": {"kind": "circle", "r": 1.0}
        })
    );
    // A property a tagged variant does not know is not a reason to touch it.
    let odd = json!({"shape": {"kind": "circle", "r": 1.0, "label": null}});
    assert_eq!(not_given(odd.clone()), odd);
}

// ------------------------------------------------------------------- output schemas

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Out {
    /// Who was greeted
    name: String,
    times: Option<u32>,
    inner: Inner,
}

#[test]
fn output_schemas_are_self_contained_draft_2020_12() {
    let s = object_schema::<Out>();
    assert_eq!(s["type"], "object");
    assert!(s.get("$schema").is_none() && s.get("title").is_none());
    assert_eq!(s["properties"]["name"]["description"], "Who was greeted");
    // Optional fields stay optional, objects open: no model fills these in.
    assert_eq!(required(&s), ["name", "inner"]);
    assert!(s.get("additionalProperties").is_none());
    // Every `$ref` points into the root's own `$defs`.
    let reference = s["properties"]["inner"]["$ref"].as_str().expect("$ref");
    let def = reference.strip_prefix("#/$defs/").expect("local ref");
    assert_eq!(s["$defs"][def]["properties"]["flag"]["type"], "boolean");
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Numbers {
    count: u32,
    big: i64,
    ratio: f64,
    inner: Vec<Inner>,
    when: Stamp,
}

/// A string with a standard format.
#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)]
struct Stamp(#[schemars(with = "String", extend("format" = "date-time"))] String);

#[test]
fn only_standard_formats_remain() {
    for s in [object_schema::<Numbers>(), portable_schema::<Numbers>()] {
        let text = s.to_string();
        for rust_format in ["uint32", "uint", "int64", "double"] {
            assert!(
                !text.contains(&format!("\"{rust_format}\"")),
                "{rust_format} left in {text}"
            );
        }
        assert_eq!(s["properties"]["count"]["minimum"], 0, "{text}");
        assert!(text.contains("\"date-time\""), "{text}");
    }
}

#[test]
fn any_value_and_enums_become_object_schemas() {
    assert_eq!(object_schema::<Value>(), json!({"type": "object"}));
    let s = object_schema::<Shape>();
    assert_eq!(s["type"], "object");
    assert!(s.get("oneOf").is_some());
}
