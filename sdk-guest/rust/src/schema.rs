//! JSON Schema generation (schemars 1.x, draft 2020-12) for tool arguments
//! and results.

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value};

/// The `format` values JSON Schema 2020-12 defines (Validation, §7.3). schemars adds Rust-specific
/// ones (`uint`, `int32`, `double`, ...) that validators such as AJV reject or warn about on every
/// `tools/list`; the numeric range they imply is kept as `minimum`/`maximum`.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Drop a `format` that is not one of [`STANDARD_FORMATS`].
fn drop_nonstandard_format(schema: &mut Schema) {
    let nonstandard = schema
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !STANDARD_FORMATS.contains(&f));
    if nonstandard {
        schema.remove("format");
    }
}

/// The JSON Schema of `T` as an MCP object schema: self-contained (shared
/// definitions stay under the root's `$defs`), without `$schema` (MCP's
/// default dialect is 2020-12 already) or the Rust type name as `title`, and
/// with `"type": "object"` at the root. Formats outside the JSON Schema vocabulary (schemars'
/// `uint`, `int64`, `double`, ...) are left out; their ranges stay as `minimum`/`maximum`.
///
/// A root without a `type` (for example a `oneOf` of structs) gets
/// `"type": "object"` added; a non-object root (a bare `String`) is kept as
/// it is, which the host will reject: tool arguments and structured results
/// must be JSON objects, so use a struct.
pub fn object_schema<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.meta_schema = None;
    settings
        .transforms
        .push(Box::new(RecursiveTransform(drop_nonstandard_format)));
    let value = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    let mut map = match value {
        Value::Object(map) => map,
        // `true` (anything goes, e.g. `serde_json::Value`) or `false`.
        _ => Map::new(),
    };
    map.remove("title");
    map.entry("type")
        .or_insert_with(|| Value::String("object".into()));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    /// Arguments with a nested type and an optional field.
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Args {
        /// Who to greet
        name: String,
        times: Option<u32>,
        inner: Inner,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    #[derive(Deserialize, JsonSchema)]
    #[serde(tag = "kind")]
    #[allow(dead_code)]
    enum Either {
        A { a: u8 },
        B { b: u8 },
    }

    #[test]
    fn struct_schema_is_a_self_contained_object_schema() {
        let s = object_schema::<Args>();
        assert_eq!(s["type"], "object");
        assert!(s.get("$schema").is_none());
        assert!(s.get("title").is_none());
        assert_eq!(s["properties"]["name"]["type"], "string");
        assert_eq!(s["properties"]["name"]["description"], "Who to greet");
        let required: Vec<&str> = s["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(required.contains(&"name") && required.contains(&"inner"));
        assert!(!required.contains(&"times"));
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
        let s = object_schema::<Numbers>();
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

    #[test]
    fn any_value_and_enums_become_object_schemas() {
        assert_eq!(object_schema::<Value>(), json!({"type": "object"}));
        let s = object_schema::<Either>();
        assert_eq!(s["type"], "object");
        assert!(s.get("oneOf").is_some());
    }
}
