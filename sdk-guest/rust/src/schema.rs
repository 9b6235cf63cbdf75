//! JSON Schemas (schemars 1.x, draft 2020-12) for tool arguments and results.
//!
//! Two shapes come out of here:
//!
//! - [`portable_schema`], for tool **input** schemas (what a model fills in). It follows the
//!   *portable profile* (issue #21): the subset of JSON Schema that OpenAI strict function
//!   calling, Gemini function declarations and Claude all accept unchanged. In short: every object
//!   is closed (`additionalProperties: false`, `required` naming every property), an optional
//!   field is required but nullable (`anyOf: [T, {"type": "null"}]`, and `null` means "not
//!   given"), there are no `$ref`s, no type arrays, and only a small set of keywords. Constraints
//!   outside that set (`default`, `minLength`, `uniqueItems`, ...) move into the description as a
//!   sentence, so the model still reads them; the plugin still enforces them.
//! - [`object_schema`], for **output** schemas, which no model fills in: plain draft 2020-12 as
//!   schemars writes it (shared definitions under `$defs`, optional fields not required).
//!
//! Both are built with schemars' own machinery: [`SchemaSettings`] (inlining) plus a
//! [`Transform`] that rewrites each subschema after its own subschemas
//! ([`transform_subschemas`](schemars::transform::transform_subschemas) walks them).

mod portable;

use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, Transform};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value};

use portable::Portable;

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

/// The JSON Schema of `T` as an MCP object schema, as tool **output** schemas use it:
/// self-contained (shared definitions stay under the root's `$defs`), without `$schema` (MCP's
/// default dialect is 2020-12 already) or the Rust type name as `title`, and with
/// `"type": "object"` at the root. Formats outside the JSON Schema vocabulary (schemars' `uint`,
/// `int64`, `double`, ...) are left out; their ranges stay as `minimum`/`maximum`. Optional fields
/// stay optional (not in `required`): see [`portable_schema`] for input schemas.
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
    root(settings.into_generator().into_root_schema_for::<T>())
}

/// The tool **input** schema of `T` in the portable profile (issue #21), which OpenAI strict
/// function calling, Gemini function declarations and Claude accept unchanged. `tool` and
/// `interactive_tool` publish this schema for their arguments type.
///
/// What a Rust type becomes:
///
/// | Rust | schema |
/// |---|---|
/// | struct (root or nested, also in `Vec`s and enum variants) | `"type": "object"`, `"additionalProperties": false`, `properties` (`{}` when none), `required` = every property, in property order (`[]` when none) |
/// | `Option<T>`, `#[serde(default)]` field | required, `{"anyOf": [T, {"type": "null"}], "description": ...}`; `null` reaches the handler as "not given" (`None`, the default) |
/// | `#[serde(default)]` value | `Default: 5.` appended to the description |
/// | nested type | inlined (no `$ref`/`$defs`) |
/// | enum of unit variants | `{"type": "string", "enum": [...]}`; variant docs go into the description |
/// | enum with data | `anyOf` of the variants' closed objects (the tag as a one-value string `enum`) |
/// | `u32`, `u8`, ... | `"type": "integer"` with `minimum`/`maximum` (no `format`) |
/// | `#[schemars(length(...))]` on a string, `char` | `At most 10 characters.` (etc.) in the description |
/// | `HashSet<T>`, `BTreeSet<T>` | array; `Items must be unique.` in the description |
/// | tuple | array of the tuple's item types; `Exactly N items: ...` in the description |
///
/// Not portable, and left for the host's checker to report (model them differently):
/// `HashMap`/`BTreeMap` fields and `#[serde(flatten)]` maps (`additionalProperties` with a
/// schema: use a `Vec` of key/value structs), `serde_json::Value` (any JSON value: use an
/// `anyOf` of typed branches, or a JSON-encoded string), recursive types (they keep a `$ref`),
/// enums at the root or flattened into a struct (use a struct with a required mode enum).
pub fn portable_schema<T: JsonSchema>() -> Value {
    let mut schema = marked_input_schema::<T>();
    if let Ok(schema) = <&mut Schema>::try_from(&mut schema) {
        RecursiveTransform(|s: &mut Schema| {
            s.remove(OPTIONAL);
        })
        .transform(schema);
    }
    schema
}

/// Remove the `null`s that stand for "not given" from tool arguments `value`: every property
/// that was optional in `T` (an `Option` or a `#[serde(default)]` field) and is `null` is removed,
/// at every level (nested structs, `Vec` items, `Option`s of structs, enum variants), so serde
/// fills it in as `None` or the default. Other `null`s stay.
pub(crate) fn remove_absent_nulls<T: JsonSchema>(value: &mut Value) {
    remove_nulls(value, &marked_input_schema::<T>());
}

/// Marks, in the schema [`portable_schema`] publishes, a property that was optional in the Rust
/// type; [`remove_absent_nulls`] reads it. Never published.
const OPTIONAL: &str = "x-capsule-optional";

/// [`portable_schema`] with the [`OPTIONAL`] marks still in.
fn marked_input_schema<T: JsonSchema>() -> Value {
    let settings = SchemaSettings::draft2020_12()
        .with(|s| {
            s.meta_schema = None;
            s.inline_subschemas = true;
        })
        .with_transform(Portable);
    root(settings.into_generator().into_root_schema_for::<T>())
}

/// The root as MCP wants it: no `title` (the Rust type name), `"type": "object"`.
fn root(schema: Schema) -> Value {
    let mut map = match schema.to_value() {
        Value::Object(map) => map,
        // `true` (anything goes) or `false`.
        _ => Map::new(),
    };
    map.remove("title");
    map.entry("type")
        .or_insert_with(|| Value::String("object".into()));
    Value::Object(map)
}

fn remove_nulls(value: &mut Value, schema: &Value) {
    if let Some(Value::Array(branches)) = schema.get("anyOf") {
        if let Some(branch) = branches.iter().find(|b| fits(value, b)) {
            remove_nulls(value, branch);
        }
        return;
    }
    match value {
        Value::Object(map) => {
            let Some(Value::Object(properties)) = schema.get("properties") else {
                return;
            };
            let optional = |k: &String| properties.get(k).and_then(|p| p.get(OPTIONAL)).is_some();
            map.retain(|k, v| !(v.is_null() && optional(k)));
            for (k, v) in map.iter_mut() {
                if let Some(property) = properties.get(k) {
                    remove_nulls(v, property);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                items.iter_mut().for_each(|v| remove_nulls(v, item));
            }
        }
        _ => {}
    }
}

/// Whether `value` could be an instance of the `anyOf` branch `branch`: same JSON type and, for
/// objects, no unknown key and no tag (a one-value `enum`) that differs. The first branch that
/// fits is the one serde picks too, for every enum representation.
fn fits(value: &Value, branch: &Value) -> bool {
    let ty = branch.get("type").and_then(Value::as_str);
    match value {
        Value::Null => ty == Some("null"),
        Value::Bool(_) => ty == Some("boolean"),
        Value::Number(n) => ty == Some("number") || (ty == Some("integer") && !n.is_f64()),
        Value::String(_) => ty == Some("string"),
        Value::Array(_) => ty == Some("array"),
        Value::Object(map) => {
            let Some(Value::Object(properties)) = branch.get("properties") else {
                return false;
            };
            ty == Some("object")
                && map.iter().all(|(k, v)| {
                    properties.get(k).is_some_and(|p| match p.get("enum") {
                        Some(Value::Array(tag)) if tag.len() == 1 => tag[0] == *v,
                        _ => true,
                    })
                })
        }
    }
}

#[cfg(test)]
mod tests;
