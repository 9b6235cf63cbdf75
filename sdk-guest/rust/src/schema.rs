//! JSON Schema generation (schemars 1.x, draft 2020-12) for tool arguments
//! and results.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// The JSON Schema of `T` as an MCP object schema: self-contained (shared
/// definitions stay under the root's `$defs`), without `$schema` (MCP's
/// default dialect is 2020-12 already) or the Rust type name as `title`, and
/// with `"type": "object"` at the root.
///
/// A root without a `type` (for example a `oneOf` of structs) gets
/// `"type": "object"` added; a non-object root (a bare `String`) is kept as
/// it is, which the host will reject: tool arguments and structured results
/// must be JSON objects, so use a struct.
pub fn object_schema<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.meta_schema = None;
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

    #[test]
    fn any_value_and_enums_become_object_schemas() {
        assert_eq!(object_schema::<Value>(), json!({"type": "object"}));
        let s = object_schema::<Either>();
        assert_eq!(s["type"], "object");
        assert!(s.get("oneOf").is_some());
    }
}
