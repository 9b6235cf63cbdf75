//! Schema portability: which model providers would reject a tool as it is published, and why.
//!
//! MCP clients hand a tool's name and `inputSchema` to a model provider as a function
//! declaration. Each provider accepts a different subset of JSON Schema:
//!
//! - **OpenAI** strict function calling (Structured Outputs, "Supported schemas"): the root is an
//!   object; every object is closed (`additionalProperties: false`) and lists every property in
//!   `required` (optional parameters are nullable instead: `anyOf: [T, {"type": "null"}]`); every
//!   schema is typed; only a subset of keywords (no `default`, `minLength`, `maxLength`, `oneOf`,
//!   `allOf`, ...); at most 10 levels of nesting, 5000 properties and 1000 enum values.
//! - **Gemini** function declarations (the OpenAPI 3.0 `Schema` subset of its API): no `$ref` /
//!   `$defs`, a single `type` (no type arrays), `enum` on strings only, a few `format`s, no
//!   `additionalProperties` beyond `false` (which clients drop, and which Gemini honours anyway:
//!   it only fills declared properties), function names that start with a letter or `_`.
//! - **Claude**: the name matches `^[a-zA-Z0-9_-]{1,64}$` and the root is an object schema; the
//!   rest of JSON Schema 2020-12 is accepted.
//!
//! A schema with no finding for any provider is *portable*: the profile the Capsule guest SDKs
//! emit (README "Portable schemas"). [`check`] lists the findings; `capsule plugins` shows them,
//! and `strict_schemas = true` (`[publish]`) refuses the tools that have any.

use serde::Serialize;
use serde_json::{Map, Value};

/// A model provider whose function-declaration rules [`check`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI strict function calling (`strict: true`).
    OpenAi,
    /// Gemini function declarations (`parameters`).
    Gemini,
    /// Anthropic Claude tool use.
    Claude,
}

impl Provider {
    /// Every provider, in report order.
    pub const ALL: [Provider; 3] = [Provider::OpenAi, Provider::Gemini, Provider::Claude];

    /// Its name in reports: `openai`, `gemini`, `claude`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Gemini => "gemini",
            Provider::Claude => "claude",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason a provider rejects a tool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Who rejects it.
    pub provider: Provider,
    /// Where: a JSON Pointer into the input schema (`""` is the root), or `name` for the tool's
    /// name.
    pub at: String,
    /// The rule, as a short id: `name`, `root`, `open-object`, `optional`, `keyword`, `ref`,
    /// `type-array`, `untyped`, `items`, `enum`, `format`, `size`.
    pub rule: &'static str,
    /// What is wrong and how the portable form says it.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.at.is_empty() { "/" } else { &self.at };
        write!(
            f,
            "{}: {} at {at}: {}",
            self.provider, self.rule, self.message
        )
    }
}

/// Keywords OpenAI strict mode accepts.
const OPENAI_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "description",
    "title",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// String formats OpenAI strict mode accepts.
const OPENAI_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Keywords Gemini's `Schema` has (plus `additionalProperties: false`, checked apart).
const GEMINI_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "anyOf",
    "default",
    "items",
    "minimum",
    "maximum",
    "propertyOrdering",
];

/// The JSON Schema types Gemini has (`STRING`, ..., `NULL`).
const GEMINI_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

/// OpenAI's limits: object nesting, properties in all, enum values in all.
const OPENAI_MAX_DEPTH: usize = 10;
const OPENAI_MAX_PROPERTIES: usize = 5000;
const OPENAI_MAX_ENUM_VALUES: usize = 1000;

/// Keywords whose value is one subschema.
const SUBSCHEMA: &[&str] = &["items", "not", "if", "then", "else", "contains"];
/// Keywords whose value is a list of subschemas.
const SUBSCHEMA_LISTS: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];
/// Keywords whose value maps names to subschemas.
const SUBSCHEMA_MAPS: &[&str] = &["properties", "$defs", "definitions", "patternProperties"];

/// Every finding of every provider for a tool published as `name` with `input_schema`, in
/// provider order, then in schema order. Empty: the tool is portable.
///
/// The schema is walked once (it has passed vetting, which bounds its size and depth).
pub fn check(name: &str, input_schema: &Value) -> Vec<Finding> {
    let mut walk = Walk::default();
    walk.name(name);
    walk.root(input_schema);
    walk.node(input_schema, "", 0);
    if walk.properties > OPENAI_MAX_PROPERTIES {
        walk.add(
            Provider::OpenAi,
            "",
            "size",
            format!(
                "{} properties in all, over the limit of {OPENAI_MAX_PROPERTIES}",
                walk.properties
            ),
        );
    }
    if walk.enum_values > OPENAI_MAX_ENUM_VALUES {
        walk.add(
            Provider::OpenAi,
            "",
            "size",
            format!(
                "{} enum values in all, over the limit of {OPENAI_MAX_ENUM_VALUES}",
                walk.enum_values
            ),
        );
    }
    walk.findings.sort_by_key(|f| f.provider);
    walk.findings
}

/// Whether `name` and `input_schema` have no finding at all ([`check`]).
pub fn is_portable(name: &str, input_schema: &Value) -> bool {
    check(name, input_schema).is_empty()
}

#[derive(Default)]
struct Walk {
    findings: Vec<Finding>,
    properties: usize,
    enum_values: usize,
}

/// `^[A-Za-z0-9_-]{1,64}$`: the tool-name rule of OpenAI and Claude.
fn plain_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A JSON Pointer token (RFC 6901 §3).
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Walk {
    fn add(&mut self, provider: Provider, at: &str, rule: &'static str, message: String) {
        self.findings.push(Finding {
            provider,
            at: at.to_string(),
            rule,
            message,
        });
    }

    fn name(&mut self, name: &str) {
        if !plain_name(name) {
            let message = format!("tool name '{name}' must match ^[A-Za-z0-9_-]{{1,64}}$");
            self.add(Provider::OpenAi, "name", "name", message.clone());
            self.add(Provider::Claude, "name", "name", message);
        }
        let first = name.chars().next();
        let gemini_ok = name.len() <= 64
            && first.is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
        if !gemini_ok {
            self.add(
                Provider::Gemini,
                "name",
                "name",
                format!(
                    "tool name '{name}' must start with a letter or '_' and use only letters, \
                     digits, '_', '.', ':' and '-' (at most 64)"
                ),
            );
        }
    }

    fn root(&mut self, schema: &Value) {
        let object = schema.get("type").and_then(Value::as_str) == Some("object");
        if !object {
            let message = "the input schema's root must be {\"type\": \"object\"}".to_string();
            for provider in Provider::ALL {
                self.add(provider, "", "root", message.clone());
            }
        }
        if schema.get("anyOf").is_some() {
            self.add(
                Provider::OpenAi,
                "",
                "root",
                "the root must not be an anyOf; make it one object".into(),
            );
        }
    }

    /// Check the schema `schema` at pointer `at`, `depth` objects deep, and everything under it.
    fn node(&mut self, schema: &Value, at: &str, depth: usize) {
        let Some(map) = schema.as_object() else {
            let message = format!("a schema must be an object, not {schema}; give it a \"type\"");
            self.add(Provider::OpenAi, at, "untyped", message.clone());
            self.add(Provider::Gemini, at, "untyped", message);
            return;
        };
        self.keywords(map, at);
        self.typed(map, at);
        let is_object = types(map).contains(&"object") || map.contains_key("properties");
        let depth = depth + usize::from(is_object);
        if is_object {
            self.object(map, at, depth);
        }
        if types(map).contains(&"array") && !map.contains_key("items") {
            let message = "an array must say what its items are (\"items\")".to_string();
            self.add(Provider::OpenAi, at, "items", message.clone());
            self.add(Provider::Gemini, at, "items", message);
        }
        self.values(map, at);
        for key in SUBSCHEMA {
            if let Some(sub) = map.get(*key) {
                self.node(sub, &format!("{at}/{key}"), depth);
            }
        }
        for key in SUBSCHEMA_LISTS {
            if let Some(Value::Array(list)) = map.get(*key) {
                for (i, sub) in list.iter().enumerate() {
                    self.node(sub, &format!("{at}/{key}/{i}"), depth);
                }
            }
        }
        for key in SUBSCHEMA_MAPS {
            if let Some(Value::Object(subs)) = map.get(*key) {
                for (name, sub) in subs {
                    self.node(sub, &format!("{at}/{key}/{}", token(name)), depth);
                }
            }
        }
        if let Some(extra @ Value::Object(_)) = map.get("additionalProperties") {
            self.node(extra, &format!("{at}/additionalProperties"), depth);
        }
    }

    /// Keywords a provider does not know.
    fn keywords(&mut self, map: &Map<String, Value>, at: &str) {
        for key in map.keys() {
            if !OPENAI_KEYWORDS.contains(&key.as_str()) {
                self.add(
                    Provider::OpenAi,
                    at,
                    "keyword",
                    format!("strict mode does not support \"{key}\"{}", hint(key)),
                );
            }
            let gemini_ok = GEMINI_KEYWORDS.contains(&key.as_str())
                || (key == "additionalProperties" && map[key] == Value::Bool(false));
            if !gemini_ok {
                let (rule, why) = match key.as_str() {
                    "$ref" | "$defs" | "definitions" => {
                        ("ref", " (inline the referenced schema)".to_string())
                    }
                    "additionalProperties" => (
                        "open-object",
                        " other than false (declare the properties)".to_string(),
                    ),
                    _ => ("keyword", hint(key)),
                };
                self.add(
                    Provider::Gemini,
                    at,
                    rule,
                    format!("function declarations do not support \"{key}\"{why}"),
                );
            }
        }
    }

    /// `type`: present (or an `anyOf`/`enum`/`const`/`$ref` that stands for it), one string, and
    /// one Gemini knows.
    fn typed(&mut self, map: &Map<String, Value>, at: &str) {
        match map.get("type") {
            None => {
                let openai_ok = ["anyOf", "enum", "const", "$ref"]
                    .iter()
                    .any(|k| map.contains_key(*k));
                let message =
                    "the schema has no \"type\"; every property must be typed".to_string();
                if !openai_ok {
                    self.add(Provider::OpenAi, at, "untyped", message.clone());
                }
                if !map.contains_key("anyOf") && !map.contains_key("$ref") {
                    self.add(Provider::Gemini, at, "untyped", message);
                }
            }
            Some(Value::Array(_)) => self.add(
                Provider::Gemini,
                at,
                "type-array",
                "\"type\" is a list; use anyOf with one type per branch (e.g. [{\"type\": \
                 \"string\"}, {\"type\": \"null\"}])"
                    .into(),
            ),
            Some(Value::String(t)) if !GEMINI_TYPES.contains(&t.as_str()) => self.add(
                Provider::Gemini,
                at,
                "untyped",
                format!("unknown type \"{t}\""),
            ),
            Some(_) => {}
        }
    }

    /// An object schema: closed, every property required, not too deep.
    fn object(&mut self, map: &Map<String, Value>, at: &str, depth: usize) {
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            self.add(
                Provider::OpenAi,
                at,
                "open-object",
                "objects must be closed: \"additionalProperties\": false".into(),
            );
        }
        let properties = map.get("properties").and_then(Value::as_object);
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(properties) = properties {
            self.properties += properties.len();
            let optional: Vec<&str> = properties
                .keys()
                .map(String::as_str)
                .filter(|p| !required.contains(p))
                .collect();
            if !optional.is_empty() {
                self.add(
                    Provider::OpenAi,
                    at,
                    "optional",
                    format!(
                        "every property must be required; make {} required and nullable \
                         (anyOf with {{\"type\": \"null\"}}, null meaning not given)",
                        optional.join(", ")
                    ),
                );
            }
        }
        if depth > OPENAI_MAX_DEPTH {
            self.add(
                Provider::OpenAi,
                at,
                "size",
                format!("objects nested {depth} deep, over the limit of {OPENAI_MAX_DEPTH}"),
            );
        }
    }

    /// `enum` and `format` values.
    fn values(&mut self, map: &Map<String, Value>, at: &str) {
        let types = types(map);
        if let Some(Value::Array(values)) = map.get("enum") {
            self.enum_values += values.len();
            if types != ["string"] || !values.iter().all(Value::is_string) {
                self.add(
                    Provider::Gemini,
                    at,
                    "enum",
                    "enum is only supported on {\"type\": \"string\"} with string values".into(),
                );
            }
        }
        if let Some(format) = map.get("format").and_then(Value::as_str) {
            let openai_ok = types == ["string"] && OPENAI_FORMATS.contains(&format);
            if !openai_ok {
                self.add(
                    Provider::OpenAi,
                    at,
                    "format",
                    format!("strict mode does not support format \"{format}\" here"),
                );
            }
            let gemini_ok = match types.as_slice() {
                ["string"] => ["date-time", "enum"].contains(&format),
                ["number"] => ["float", "double"].contains(&format),
                ["integer"] => ["int32", "int64"].contains(&format),
                _ => false,
            };
            if !gemini_ok {
                self.add(
                    Provider::Gemini,
                    at,
                    "format",
                    format!("function declarations do not support format \"{format}\" here"),
                );
            }
        }
    }
}

/// The `type` of a schema as a list (empty when absent).
fn types(map: &Map<String, Value>) -> Vec<&str> {
    match map.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// How the portable form says what an unsupported keyword said.
fn hint(key: &str) -> String {
    match key {
        "default" => " (say the default in the description)",
        "minLength" | "maxLength" | "uniqueItems" | "minProperties" | "maxProperties" => {
            " (say it in the description and check it in the handler)"
        }
        "oneOf" => " (use anyOf)",
        "const" => " (use an enum of one string)",
        "allOf" => " (merge the schemas)",
        "$ref" | "$defs" | "definitions" => " (inline the referenced schema)",
        _ => "",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The findings as `provider rule at` strings.
    fn rules(name: &str, schema: Value) -> Vec<String> {
        check(name, &schema)
            .into_iter()
            .map(|f| format!("{} {} {}", f.provider, f.rule, f.at))
            .collect()
    }

    fn closed(properties: Value) -> Value {
        let required: Vec<&String> = properties.as_object().unwrap().keys().collect();
        json!({"type": "object", "properties": properties, "required": required,
               "additionalProperties": false})
    }

    #[test]
    fn a_portable_schema_has_no_finding() {
        let schema = closed(json!({
            "text": {"type": "string", "description": "The input"},
            "limit": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
                      "description": "Default: 10."},
            "mode": {"type": "string", "enum": ["fast", "exact"]},
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
            "inner": closed(json!({"flag": {"type": "boolean"}})),
        }));
        assert_eq!(rules("kit_search", schema), Vec::<String>::new());
        assert!(is_portable("empty", &closed(json!({}))));
    }

    #[test]
    fn names() {
        assert_eq!(
            rules("a.b", closed(json!({}))),
            ["openai name name", "claude name name"]
        );
        assert_eq!(rules("9lives", closed(json!({}))), ["gemini name name"]);
        assert_eq!(rules("_x", closed(json!({}))), Vec::<String>::new());
    }

    #[test]
    fn the_root_is_one_object() {
        assert_eq!(
            rules("t", json!({"type": "string"})),
            ["openai root ", "gemini root ", "claude root "]
        );
        let any_of = json!({"type": "object", "anyOf": [closed(json!({}))],
                            "properties": {}, "required": [], "additionalProperties": false});
        assert_eq!(rules("t", any_of), ["openai root "]);
    }

    #[test]
    fn objects_are_closed_and_list_every_property() {
        let open = json!({"type": "object", "properties": {"a": {"type": "string"}},
                          "required": ["a"]});
        assert_eq!(rules("t", open), ["openai open-object "]);
        let optional = json!({"type": "object", "properties": {"a": {"type": "string"},
                              "b": {"type": "string"}}, "required": ["a"],
                              "additionalProperties": false});
        let found = check("t", &optional);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule, "optional");
        assert!(found[0].message.contains("make b required"), "{}", found[0]);
        let map =
            closed(json!({"m": {"type": "object", "additionalProperties": {"type": "string"}}}));
        assert_eq!(
            rules("t", map),
            [
                "openai open-object /properties/m",
                "gemini open-object /properties/m"
            ]
        );
    }

    #[test]
    fn nested_objects_in_items_and_any_of_are_checked() {
        let schema = closed(json!({
            "rows": {"type": "array", "items": {"type": "object", "properties": {}}},
            "maybe": {"anyOf": [{"type": "object", "properties": {"x": {"type": "string"}},
                                 "required": ["x"]}, {"type": "null"}]},
        }));
        assert_eq!(
            rules("t", schema),
            [
                "openai open-object /properties/maybe/anyOf/0",
                "openai open-object /properties/rows/items"
            ]
        );
    }

    #[test]
    fn refs_are_inlined() {
        let schema = json!({"type": "object", "properties": {"k": {"$ref": "#/$defs/K"}},
                            "required": ["k"], "additionalProperties": false,
                            "$defs": {"K": {"type": "string", "enum": ["a"]}}});
        assert_eq!(
            rules("t", schema),
            ["gemini ref ", "gemini ref /properties/k"]
        );
    }

    #[test]
    fn type_arrays_become_any_of() {
        let schema = closed(json!({"a": {"type": ["string", "null"]}}));
        assert_eq!(rules("t", schema), ["gemini type-array /properties/a"]);
    }

    #[test]
    fn every_property_is_typed() {
        let schema = closed(json!({"v": {"description": "anything"}, "w": true}));
        assert_eq!(
            rules("t", schema),
            [
                "openai untyped /properties/v",
                "openai untyped /properties/w",
                "gemini untyped /properties/v",
                "gemini untyped /properties/w"
            ]
        );
        // An enum or const alone is typed enough for OpenAI, not for Gemini.
        let schema = closed(json!({"e": {"enum": ["a", "b"]}}));
        assert_eq!(
            rules("t", schema),
            ["gemini untyped /properties/e", "gemini enum /properties/e"]
        );
    }

    #[test]
    fn unsupported_keywords_name_the_portable_form() {
        let schema = closed(json!({
            "a": {"type": "string", "default": "x"},
            "b": {"type": "string", "minLength": 1},
            "c": {"type": "string", "const": "k"},
            "d": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        }));
        let found = check("t", &schema);
        let said: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert!(
            said.contains(&"openai: keyword at /properties/a: strict mode does not support \"default\" (say the default in the description)".to_string()),
            "{said:#?}"
        );
        assert!(
            said.iter()
                .any(|s| s.starts_with("openai: keyword at /properties/b"))
        );
        assert!(
            !said
                .iter()
                .any(|s| s.starts_with("gemini: keyword at /properties/b"))
        );
        assert!(
            said.iter()
                .any(|s| s.starts_with("gemini: keyword at /properties/c"))
        );
        assert!(
            !said
                .iter()
                .any(|s| s.starts_with("openai: keyword at /properties/c"))
        );
        assert!(said.iter().any(
            |s| s.starts_with("openai: keyword at /properties/d") && s.contains("(use anyOf)")
        ));
    }

    #[test]
    fn arrays_need_items() {
        let schema = closed(json!({"xs": {"type": "array"}}));
        assert_eq!(
            rules("t", schema),
            ["openai items /properties/xs", "gemini items /properties/xs"]
        );
    }

    #[test]
    fn enums_and_formats() {
        let schema = closed(json!({
            "n": {"type": "integer", "enum": [1, 2]},
            "u": {"type": "string", "format": "uri"},
            "d": {"type": "string", "format": "date-time"},
            "f": {"type": "number", "format": "double"},
        }));
        assert_eq!(
            rules("t", schema),
            [
                "openai format /properties/f",
                "openai format /properties/u",
                "gemini enum /properties/n",
                "gemini format /properties/u"
            ]
        );
    }

    #[test]
    fn sizes() {
        let mut deep = closed(json!({"leaf": {"type": "string"}}));
        for _ in 0..10 {
            deep = closed(json!({"x": deep}));
        }
        assert_eq!(rules("t", deep).len(), 1);
        let many: Map<String, Value> = (0..5001)
            .map(|i| (format!("p{i}"), json!({"type": "string"})))
            .collect();
        let found = rules("t", closed(Value::Object(many)));
        assert_eq!(found, ["openai size "]);
        let values: Vec<String> = (0..1001).map(|i| format!("v{i}")).collect();
        let found = rules(
            "t",
            closed(json!({"e": {"type": "string", "enum": values}})),
        );
        assert_eq!(found, ["openai size "]);
    }
}
