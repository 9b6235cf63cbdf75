//! Static checks of a plugin's JSON Schemas before they are compiled, so that no schema can make
//! validation expensive: its serialized size, its nesting depth, its `$ref`s, and the number of
//! subschemas it unfolds to once every `$ref` is followed.
//!
//! Why the unfolded size. Validation time is bounded by (subschemas applied at one place in the
//! value) × (places in the value). Without `$ref` the first factor is at most the schema's own size;
//! with `$ref` a small schema can apply exponentially many: `l0 = anyOf[$ref l1, allOf[$ref l1]]`,
//! `l1 = anyOf[$ref l2, …]`, … is 40 short definitions and 2^40 paths for one string. Unfolding
//! counts every subschema once per path that reaches it (a `$ref` counts its target's unfolded
//! size), with a `$ref` back into a definition being unfolded (recursion) counted once: recursion
//! only proceeds into deeper parts of the value (the validator cuts a `$ref` cycle that stays on
//! one place of the value), and the validator memoizes a definition's answer for one array or
//! object.
//!
//! JSON Schema 2020-12 (§7 "applicators", §8.2.3 `$ref`); drafts 4–7 use the same keywords.

use std::collections::HashMap;

use serde_json::Value;

/// Limits of one schema (a tool's `inputSchema` or `outputSchema`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchemaLimits {
    /// Serialized size in bytes ([`DEFAULT_MAX_SCHEMA_BYTES`]).
    pub max_bytes: usize,
    /// Nesting of JSON objects and arrays ([`MAX_DEPTH`]).
    pub max_depth: usize,
    /// `$ref`, `$dynamicRef` and `$recursiveRef` keywords ([`MAX_REFS`]).
    pub max_refs: usize,
    /// Subschemas once every `$ref` is unfolded ([`MAX_UNFOLDED`]).
    pub max_unfolded: usize,
}

/// Default largest schema: 256 KiB of JSON.
pub const DEFAULT_MAX_SCHEMA_BYTES: usize = 256 << 10;
/// Deepest nesting of JSON objects and arrays in a schema.
pub const MAX_DEPTH: usize = 64;
/// Most `$ref`s in one schema.
pub const MAX_REFS: usize = 1000;
/// Most subschemas a schema may unfold to through its `$ref`s.
pub const MAX_UNFOLDED: usize = 20_000;

impl Default for SchemaLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_SCHEMA_BYTES,
            max_depth: MAX_DEPTH,
            max_refs: MAX_REFS,
            max_unfolded: MAX_UNFOLDED,
        }
    }
}

/// Keywords whose value is one subschema (2020-12 and earlier drafts).
const ONE: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "items",
    "additionalItems",
    "contains",
    "additionalProperties",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
];
/// Keywords whose value is an array of subschemas.
const MANY: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Keywords whose value is an object of subschemas.
const MAP: &[&str] = &[
    "properties",
    "patternProperties",
    "dependentSchemas",
    "dependencies",
    "$defs",
    "definitions",
];
/// Why [`vet`] refused a schema: the limit it exceeds (its message names the limit), or a `$ref`
/// that does not point into the schema itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VetError {
    /// The serialized schema is `bytes` long, over `limit` bytes (`[limits] max_schema`).
    #[error("the schema is {bytes} bytes, over the limit of {limit} ([limits] max_schema)")]
    TooBig { bytes: usize, limit: usize },
    /// Objects and arrays nest `depth` levels, over `limit`.
    #[error("the schema nests {depth} levels deep, over the limit of {limit}")]
    TooDeep { depth: usize, limit: usize },
    /// The schema has `refs` reference keywords, over `limit`.
    #[error("the schema has {refs} $refs, over the limit of {limit}")]
    TooManyRefs { refs: usize, limit: usize },
    /// Unfolding every `$ref` gives more than `limit` subschemas.
    #[error(
        "the schema unfolds to more than {limit} subschemas through its $refs (combinator fan-out)"
    )]
    Unfolds { limit: usize },
    /// A reference (as written) that is not a fragment of this schema.
    #[error(
        "$ref '{0}' does not point into the schema itself (only '#...' references are allowed)"
    )]
    External(String),
    /// A `#name` reference whose anchor the schema does not define.
    #[error("$ref '{0}' names no $anchor of the schema")]
    UnknownAnchor(String),
    /// A `#/...` reference whose JSON Pointer leads nowhere.
    #[error("$ref '{0}' points to nothing in the schema")]
    Dangling(String),
}

/// Keywords that refer to another subschema.
const REFS: &[&str] = &["$ref", "$dynamicRef", "$recursiveRef"];

/// Check `schema` (whose serialized form is `bytes` long) against `limits`; returns the number of
/// subschemas it unfolds to (at least 1), the factor by which validation time grows with the
/// value's size.
///
/// # Errors
/// [`VetError`] naming the limit that was exceeded, e.g. "the schema unfolds to more than 20000
/// subschemas through its $refs (combinator fan-out)", or a `$ref` that does not point into the
/// schema itself.
pub fn vet(schema: &Value, bytes: usize, limits: &SchemaLimits) -> Result<usize, VetError> {
    if bytes > limits.max_bytes {
        return Err(VetError::TooBig {
            bytes,
            limit: limits.max_bytes,
        });
    }
    let depth = depth(schema);
    if depth > limits.max_depth {
        return Err(VetError::TooDeep {
            depth,
            limit: limits.max_depth,
        });
    }
    let mut refs = 0;
    count_refs(schema, &mut refs);
    if refs > limits.max_refs {
        return Err(VetError::TooManyRefs {
            refs,
            limit: limits.max_refs,
        });
    }
    let mut unfold = Unfold {
        root: schema,
        anchors: anchors(schema),
        done: HashMap::new(),
        stack: Vec::new(),
        cap: limits.max_unfolded,
    };
    let size = unfold.size(schema, "")?;
    if size > limits.max_unfolded {
        return Err(VetError::Unfolds {
            limit: limits.max_unfolded,
        });
    }
    Ok(size)
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn count_refs(value: &Value, refs: &mut usize) {
    match value {
        Value::Object(map) => {
            *refs += REFS.iter().filter(|k| map.contains_key(**k)).count();
            map.values().for_each(|v| count_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| count_refs(v, refs)),
        _ => {}
    }
}

/// `$anchor` (and `$dynamicAnchor`) names → their JSON Pointer.
fn anchors(schema: &Value) -> HashMap<String, String> {
    fn walk(value: &Value, pointer: &str, found: &mut HashMap<String, String>) {
        match value {
            Value::Object(map) => {
                for key in ["$anchor", "$dynamicAnchor"] {
                    if let Some(Value::String(name)) = map.get(key) {
                        found.insert(name.clone(), pointer.to_string());
                    }
                }
                for (k, v) in map {
                    walk(v, &format!("{pointer}/{}", escape(k)), found);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{pointer}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = HashMap::new();
    walk(schema, "", &mut found);
    found
}

/// RFC 6901 escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

struct Unfold<'a> {
    root: &'a Value,
    anchors: HashMap<String, String>,
    /// Unfolded size of each subschema already measured, by JSON Pointer.
    done: HashMap<String, usize>,
    /// Pointers being measured (a `$ref` to one of them is recursion).
    stack: Vec<String>,
    cap: usize,
}

impl<'a> Unfold<'a> {
    /// Unfolded size of the subschema `schema` at `pointer`, saturating just above the cap.
    fn size(&mut self, schema: &'a Value, pointer: &str) -> Result<usize, VetError> {
        let Value::Object(map) = schema else {
            return Ok(1); // `true`, `false`
        };
        if let Some(&size) = self.done.get(pointer) {
            return Ok(size);
        }
        self.stack.push(pointer.to_string());
        let mut size: usize = 1;
        let cap = self.cap;
        let mut add = |n: usize| size = size.saturating_add(n).min(cap + 1);
        for (key, value) in map {
            let here = format!("{pointer}/{}", escape(key));
            if REFS.contains(&key.as_str()) {
                if let Value::String(reference) = value {
                    add(self.reference(reference)?);
                }
                continue;
            }
            if key == "$defs" || key == "definitions" {
                continue; // measured where they are used
            }
            let key = key.as_str();
            if ONE.contains(&key) && (value.is_object() || value.is_boolean()) {
                add(self.size(value, &here)?);
            }
            if MANY.contains(&key)
                && let Value::Array(items) = value
            {
                for (i, item) in items.iter().enumerate() {
                    add(self.size(item, &format!("{here}/{i}"))?);
                }
            }
            if MAP.contains(&key)
                && let Value::Object(entries) = value
            {
                for (name, item) in entries {
                    if item.is_object() || item.is_boolean() {
                        add(self.size(item, &format!("{here}/{}", escape(name)))?);
                    }
                }
            }
        }
        self.stack.pop();
        self.done.insert(pointer.to_string(), size);
        Ok(size)
    }

    /// Unfolded size of what `reference` points to: a JSON Pointer fragment (`#/$defs/x`), an
    /// anchor (`#name`) or the whole schema (`#`).
    fn reference(&mut self, reference: &str) -> Result<usize, VetError> {
        let Some(fragment) = reference.strip_prefix('#') else {
            return Err(VetError::External(reference.to_string()));
        };
        let pointer = if fragment.is_empty() || fragment.starts_with('/') {
            String::from_utf8_lossy(&capsule_common::percent::decode(fragment)).into_owned()
        } else {
            match self.anchors.get(fragment) {
                Some(pointer) => pointer.clone(),
                None => return Err(VetError::UnknownAnchor(reference.to_string())),
            }
        };
        if self.stack.contains(&pointer) {
            return Ok(1); // recursion: proceeds into deeper parts of the value only
        }
        let Some(target) = self.root.pointer(&pointer) else {
            return Err(VetError::Dangling(reference.to_string()));
        };
        self.size(target, &pointer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(schema: &Value) -> Result<usize, VetError> {
        vet(schema, schema.to_string().len(), &SchemaLimits::default())
    }

    /// `levels` definitions, each applying the next one twice: 2^levels paths.
    pub(crate) fn exponential(levels: usize) -> Value {
        let mut defs = serde_json::Map::new();
        for i in 0..levels {
            let next = format!("#/$defs/l{}", i + 1);
            defs.insert(
                format!("l{i}"),
                json!({"anyOf": [{"$ref": next}, {"allOf": [{"$ref": next}]}]}),
            );
        }
        defs.insert(format!("l{levels}"), json!({"type": "number"}));
        json!({"type": "object", "properties": {"x": {"$ref": "#/$defs/l0"}}, "$defs": defs})
    }

    #[test]
    fn ordinary_schemas_pass() {
        let schemars_style = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "a": {"$ref": "#/$defs/Point"},
                "b": {"type": ["array", "null"], "items": {"$ref": "#/$defs/Point"}},
                "c": {"oneOf": [{"type": "string"}, {"type": "integer", "minimum": 0}]}
            },
            "required": ["a"],
            "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}}
        });
        check(&schemars_style).unwrap();
        // Recursion (a tree) is fine: it only goes deeper into the value.
        let tree = json!({
            "$defs": {"node": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
            "$ref": "#/$defs/node"
        });
        check(&tree).unwrap();
        check(&json!({"$ref": "#"})).unwrap();
    }

    #[test]
    fn combinator_fan_out_through_refs_is_refused() {
        check(&exponential(10)).unwrap(); // 2^10 paths: fine
        let err = check(&exponential(40)).unwrap_err().to_string();
        assert!(
            err.contains("unfolds to more than 20000 subschemas"),
            "{err}"
        );
    }

    #[test]
    fn size_depth_and_ref_count_are_capped() {
        let mut deep = json!({"type": "string"});
        for _ in 0..40 {
            deep = json!({"type": "object", "properties": {"x": deep}});
        }
        let err = check(&deep).unwrap_err().to_string();
        assert!(
            err.contains("nests 81 levels deep, over the limit of 64"),
            "{err}"
        );

        let err = vet(&json!({}), 300 << 10, &SchemaLimits::default()).unwrap_err();
        assert_eq!(
            err,
            VetError::TooBig {
                bytes: 300 << 10,
                limit: 256 << 10
            }
        );
        let err = err.to_string();
        assert!(
            err.contains("over the limit of 262144 ([limits] max_schema)"),
            "{err}"
        );

        let many: serde_json::Map<String, Value> = (0..1001)
            .map(|i| (format!("p{i}"), json!({"$ref": "#/$defs/s"})))
            .collect();
        let err = check(&json!({"properties": many, "$defs": {"s": {}}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("1001 $refs, over the limit of 1000"), "{err}");
    }

    #[test]
    fn refs_must_stay_inside_the_schema() {
        for (schema, needle) in [
            (
                json!({"$ref": "https://example.com/s.json"}),
                "does not point into",
            ),
            (json!({"$ref": "#/$defs/missing"}), "points to nothing"),
            (json!({"$ref": "#nowhere"}), "names no $anchor"),
        ] {
            let err = check(&schema).unwrap_err().to_string();
            assert!(err.contains(needle), "{schema}: {err}");
        }
        let anchored =
            json!({"$defs": {"a": {"$anchor": "here", "type": "string"}}, "$ref": "#here"});
        check(&anchored).unwrap();
        let escaped = json!({"$defs": {"a/b": {"type": "string"}}, "$ref": "#/$defs/a~1b"});
        check(&escaped).unwrap();
    }
}
