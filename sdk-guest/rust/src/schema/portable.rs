//! The [`Portable`] transform: schemars' schema of a tool's arguments → the portable profile
//! (see [`portable_schema`](super::portable_schema) for what each Rust shape becomes).
//!
//! It runs bottom-up: a node is rewritten after its subschemas, so when an object makes an
//! optional property nullable, the property is portable already. Each rule is one function:
//! [`constant`], [`split_type_array`], [`union`], [`string`], [`number`], [`array`], [`object`]
//! (with [`optional`]), [`enumeration`]; whatever the profile does not allow but the plugin still
//! enforces becomes a sentence of the description ([`note`]).

use schemars::Schema;
use schemars::transform::{Transform, transform_subschemas};
use serde_json::{Map, Value, json};

use super::{OPTIONAL, STANDARD_FORMATS};

/// The transform that makes a schema portable: applied to every subschema after its own
/// subschemas (bottom-up), so a property is already portable when its object makes it nullable.
#[derive(Clone)]
pub(super) struct Portable;

impl Transform for Portable {
    fn transform(&mut self, schema: &mut Schema) {
        // `not` is rewritten as a whole (`not: {const: 0}` → "Must not be 0."), not transformed.
        let not = schema.remove("not");
        transform_subschemas(self, schema);
        let Some(s) = schema.as_object_mut() else {
            return;
        };
        match not {
            Some(Value::Object(n)) if n.len() == 1 && n.contains_key("const") => {
                note(s, &format!("Must not be {}.", n["const"]));
            }
            Some(other) => {
                s.insert("not".into(), other);
            }
            None => {}
        }
        portable(s);
    }
}

/// Rewrite one schema node whose subschemas are portable already.
fn portable(s: &mut Map<String, Value>) {
    for keyword in [
        "$schema",
        "$id",
        "$anchor",
        "$comment",
        "readOnly",
        "writeOnly",
    ] {
        s.remove(keyword);
    }
    if s.remove("deprecated") == Some(Value::Bool(true)) {
        note(s, "Deprecated.");
    }
    if let Some(Value::Array(examples)) = s.remove("examples") {
        let list: Vec<String> = examples.iter().map(Value::to_string).collect();
        match list.len() {
            0 => {}
            1 => note(s, &format!("Example: {}.", list[0])),
            _ => note(s, &format!("Examples: {}.", list.join(", "))),
        }
    }
    if s.remove("nullable") == Some(Value::Bool(true)) {
        add_null_type(s);
    }
    constant(s);
    if !s.contains_key("anyOf")
        && let Some(one_of) = s.remove("oneOf")
    {
        // serde's enum variants are mutually exclusive: `anyOf` accepts the same values.
        s.insert("anyOf".into(), one_of);
    }
    split_type_array(s);
    if s.contains_key("anyOf") {
        union(s);
    }
    match s.get("type").and_then(Value::as_str) {
        Some("string") => string(s),
        Some("number" | "integer") => number(s),
        Some("array") => array(s),
        Some("object") => object(s),
        _ => {}
    }
    enumeration(s);
    match s.remove("default") {
        None | Some(Value::Null) => {}
        Some(default) => note(s, &format!("Default: {default}.")),
    }
}

/// `const` → a one-value string `enum`; any other constant → its `type` and a sentence.
fn constant(s: &mut Map<String, Value>) {
    let Some(value) = s.remove("const") else {
        return;
    };
    if let Some(ty) = json_type(&value) {
        s.entry("type").or_insert(ty.into());
    }
    match value {
        Value::String(_) => {
            s.insert("enum".into(), json!([value]));
        }
        Value::Null => {}
        other => note(s, &format!("Must be {other}.")),
    }
}

/// The JSON Schema type name of a JSON value.
fn json_type(value: &Value) -> Option<&'static str> {
    Some(match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => return None,
    })
}

/// `nullable: true` (OpenAPI style) → `null` added to `type`.
fn add_null_type(s: &mut Map<String, Value>) {
    match s.get_mut("type") {
        Some(Value::String(t)) if t != "null" => {
            let t = std::mem::take(t);
            s.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(types)) if !types.contains(&json!("null")) => types.push(json!("null")),
        _ => {}
    }
}

/// The keywords that only apply to instances of one JSON type; they follow that type into its
/// branch when a type array is split.
fn keyword_type(keyword: &str) -> Option<&'static [&'static str]> {
    Some(match keyword {
        "properties"
        | "required"
        | "additionalProperties"
        | "unevaluatedProperties"
        | "patternProperties"
        | "propertyNames"
        | "minProperties"
        | "maxProperties" => &["object"],
        "items" | "prefixItems" | "minItems" | "maxItems" | "uniqueItems" | "contains"
        | "minContains" | "maxContains" | "unevaluatedItems" => &["array"],
        "minLength" | "maxLength" | "pattern" | "format" | "contentEncoding"
        | "contentMediaType" => &["string"],
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" | "multipleOf" => {
            &["number", "integer"]
        }
        _ => return None,
    })
}

/// `"type": ["string", "null"]` → `anyOf: [{"type": "string", ...}, {"type": "null"}]`, the
/// type-specific keywords (and the `enum` values of each type) moving into their branch.
fn split_type_array(s: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = s.get("type") else {
        return;
    };
    let types: Vec<String> = types
        .iter()
        .filter_map(|t| t.as_str().map(String::from))
        .collect();
    if let [only] = types.as_slice() {
        s.insert("type".into(), only.clone().into());
        return;
    }
    if s.contains_key("anyOf") {
        return; // too tangled to split: the host's checker reports it
    }
    s.remove("type");
    let values = match s.remove("enum") {
        Some(Value::Array(values)) => Some(values),
        _ => None,
    };
    let mut branches = Vec::new();
    for ty in &types {
        let mut branch = Map::new();
        branch.insert("type".into(), ty.clone().into());
        let moved: Vec<String> = s
            .keys()
            .filter(|k| keyword_type(k).is_some_and(|owners| owners.contains(&ty.as_str())))
            .cloned()
            .collect();
        for k in moved {
            let belongs_elsewhere = types.iter().any(|other| {
                other != ty && keyword_type(&k).is_some_and(|o| o.contains(&other.as_str()))
            });
            let v = if belongs_elsewhere {
                s.get(&k).cloned()
            } else {
                s.remove(&k)
            };
            branch.extend(v.map(|v| (k, v)));
        }
        if let Some(values) = &values {
            let mine: Vec<Value> = values
                .iter()
                .filter(|v| {
                    json_type(v).is_some_and(|t| t == ty || (t == "integer" && ty == "number"))
                })
                .cloned()
                .collect();
            if ty != "null" && !mine.is_empty() {
                branch.insert("enum".into(), mine.into());
            }
        }
        portable(&mut branch);
        branches.push(Value::Object(branch));
    }
    s.retain(|k, _| keyword_type(k).is_none());
    s.insert("anyOf".into(), branches.into());
}

/// Tidy an `anyOf`: nested unions spliced in, one `null` branch (last), one-value string enums
/// (unit enum variants) merged into one string `enum`, and for a nullable `[T, null]` the
/// description and title of `T` moved beside the `anyOf`.
fn union(s: &mut Map<String, Value>) {
    let Some(Value::Array(branches)) = s.remove("anyOf") else {
        return;
    };
    let mut flat: Vec<Value> = Vec::new();
    let mut nullable = false;
    for branch in branches {
        match branch {
            Value::Object(mut b)
                if b.contains_key("anyOf") && b.keys().all(|k| annotation(k) || k == "anyOf") =>
            {
                hoist(&mut b, s);
                if let Some(Value::Array(inner)) = b.remove("anyOf") {
                    for i in inner {
                        if is_null(&i) {
                            nullable = true
                        } else {
                            flat.push(i)
                        }
                    }
                }
            }
            b if is_null(&b) => nullable = true,
            b => flat.push(b),
        }
    }
    merge_unit_variants(&mut flat, s);
    match (flat.len(), nullable) {
        (1, false) if flat[0].is_object() => {
            // A union of one: the branch is the schema.
            if let Some(Value::Object(mut only)) = flat.pop() {
                hoist(&mut only, s);
                for (k, v) in only {
                    s.entry(k).or_insert(v);
                }
            }
            return;
        }
        (1, true) => {
            if let Some(Value::Object(only)) = flat.first_mut() {
                hoist(only, s);
            }
        }
        _ => {}
    }
    if nullable {
        flat.push(json!({"type": "null"}));
    }
    s.insert("anyOf".into(), flat.into());
}

/// Keywords that describe rather than constrain.
fn annotation(keyword: &str) -> bool {
    matches!(keyword, "description" | "title")
}

/// Move the description and title of `from` into `to` (appended to what `to` already says).
fn hoist(from: &mut Map<String, Value>, to: &mut Map<String, Value>) {
    if let Some(Value::String(title)) = from.remove("title") {
        to.entry("title").or_insert(title.into());
    }
    if let Some(Value::String(description)) = from.remove("description") {
        let said = to.get("description").and_then(Value::as_str).unwrap_or("");
        if !said.contains(description.trim()) {
            note(to, &description);
        }
    }
}

fn is_null(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// Branches that are each one string value (unit enum variants with docs: schemars writes
/// `oneOf` of `const`s) → one `{"type": "string", "enum": [...]}`; the variants' docs go into `s`'s
/// description.
fn merge_unit_variants(branches: &mut Vec<Value>, s: &mut Map<String, Value>) {
    let unit = |b: &Value| {
        b.get("type").and_then(Value::as_str) == Some("string")
            && b.get("enum")
                .and_then(Value::as_array)
                .is_some_and(|e| e.len() == 1 && e[0].is_string())
            && b.as_object().is_some_and(|o| {
                o.keys()
                    .all(|k| k == "type" || k == "enum" || annotation(k))
            })
    };
    if branches.len() < 2 || !branches.iter().all(unit) {
        return;
    }
    let mut values = Vec::new();
    let mut docs = Vec::new();
    for b in branches.drain(..) {
        let value = b["enum"][0].clone();
        if let Some(doc) = b.get("description").and_then(Value::as_str) {
            docs.push(format!("{value}: {}", doc.trim().trim_end_matches('.')));
        }
        values.push(value);
    }
    if !docs.is_empty() {
        note(s, &format!("{}.", docs.join("; ")));
    }
    branches.push(json!({"type": "string", "enum": values}));
}

fn plural(n: &Value, one: &str) -> String {
    if n.as_u64() == Some(1) {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// Strings: length limits → sentences; `format` only `date-time` (a standard one → a sentence).
fn string(s: &mut Map<String, Value>) {
    match (s.remove("minLength"), s.remove("maxLength")) {
        (Some(min), Some(max)) if min == max => {
            note(s, &format!("Exactly {}.", plural(&min, "character")))
        }
        (min, max) => {
            if let Some(min) = min.filter(|m| m.as_u64() != Some(0)) {
                note(s, &format!("At least {}.", plural(&min, "character")));
            }
            if let Some(max) = max {
                note(s, &format!("At most {}.", plural(&max, "character")));
            }
        }
    }
    if let Some(Value::String(format)) = s.remove("format") {
        if format == "date-time" {
            s.insert("format".into(), format.into());
        } else if STANDARD_FORMATS.contains(&format.as_str()) {
            note(s, &format!("Format: {format}."));
        }
    }
    if let Some(Value::String(encoding)) = s.remove("contentEncoding") {
        note(s, &format!("Encoded as {encoding}."));
    }
    if let Some(Value::String(media_type)) = s.remove("contentMediaType") {
        note(s, &format!("Media type: {media_type}."));
    }
}

/// Numbers: no `format` (schemars' Rust formats; the range stays); exclusive bounds of integers
/// → inclusive ones, other exclusive bounds and `multipleOf` → sentences.
fn number(s: &mut Map<String, Value>) {
    s.remove("format");
    let integer = s.get("type").and_then(Value::as_str) == Some("integer");
    for (exclusive, inclusive, step, words) in [
        ("exclusiveMinimum", "minimum", 1, "Greater than"),
        ("exclusiveMaximum", "maximum", -1, "Less than"),
    ] {
        match s.remove(exclusive) {
            Some(Value::Number(n)) if integer && n.as_i64().is_some() => {
                let mut bound = n.as_i64().unwrap_or_default().saturating_add(step);
                if let Some(old) = s.get(inclusive).and_then(Value::as_i64) {
                    // Both given: the stricter one holds.
                    bound = if step > 0 {
                        bound.max(old)
                    } else {
                        bound.min(old)
                    };
                }
                s.insert(inclusive.into(), bound.into());
            }
            Some(n) => note(s, &format!("{words} {n}.")),
            None => {}
        }
    }
    if let Some(n) = s.remove("multipleOf") {
        note(s, &format!("A multiple of {n}."));
    }
}

/// Arrays: `uniqueItems` → a sentence; a tuple's `prefixItems` → `items` (the distinct item
/// schemas) and a sentence naming each position's type.
fn array(s: &mut Map<String, Value>) {
    if s.remove("uniqueItems") == Some(Value::Bool(true)) {
        note(s, "Items must be unique.");
    }
    if let Some(Value::Array(prefix)) = s.remove("prefixItems") {
        s.remove("items");
        let positions: Vec<String> = prefix
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let ty = p.get("type").and_then(Value::as_str).unwrap_or("any value");
                format!("item {} is {ty}", i + 1)
            })
            .collect();
        let mut distinct: Vec<Value> = Vec::new();
        for p in prefix {
            if !distinct.contains(&p) {
                distinct.push(p);
            }
        }
        let items = match distinct.len() {
            1 => distinct.remove(0),
            _ => json!({"anyOf": distinct}),
        };
        s.insert("items".into(), items);
        note(
            s,
            &format!(
                "Exactly {} items: {}.",
                positions.len(),
                positions.join(", ")
            ),
        );
    }
}

/// Objects: closed, every property required, the optional ones nullable (and marked
/// [`OPTIONAL`]). A free-form map (`additionalProperties` with a schema) stays as it is.
fn object(s: &mut Map<String, Value>) {
    if !matches!(
        s.get("additionalProperties"),
        None | Some(Value::Bool(false))
    ) {
        return;
    }
    match s.remove("unevaluatedProperties") {
        None | Some(Value::Bool(false)) => {}
        Some(other) => {
            s.insert("unevaluatedProperties".into(), other);
            return;
        }
    }
    s.insert("additionalProperties".into(), false.into());
    let required: Vec<Value> = match s.remove("required") {
        Some(Value::Array(required)) => required,
        _ => Vec::new(),
    };
    let properties = s
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(properties) = properties else {
        return;
    };
    let mut names = Vec::new();
    for (name, property) in properties.iter_mut() {
        if !required.iter().any(|r| r == name) {
            optional(property);
        }
        names.push(Value::String(name.clone()));
    }
    s.insert("required".into(), names.into());
}

/// A property that may be left out: nullable (`anyOf: [T, null]`, annotations outside) and
/// marked [`OPTIONAL`].
fn optional(property: &mut Value) {
    if let Value::Bool(true) = property {
        *property = Value::Object(Map::new());
    }
    let Value::Object(p) = property else {
        return;
    };
    let typed = ["type", "anyOf", "enum", "$ref"]
        .iter()
        .any(|k| p.contains_key(*k));
    let nullable = p.get("type").and_then(Value::as_str) == Some("null")
        || p.get("anyOf")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(is_null));
    if typed && !nullable {
        let mut outer = Map::new();
        let mut inner = std::mem::take(p);
        hoist(&mut inner, &mut outer);
        let mut branches = match inner.remove("anyOf") {
            Some(Value::Array(branches)) if inner.is_empty() => branches,
            Some(any_of) => {
                inner.insert("anyOf".into(), any_of);
                vec![Value::Object(inner)]
            }
            None => vec![Value::Object(inner)],
        };
        branches.push(json!({"type": "null"}));
        outer.insert("anyOf".into(), branches.into());
        *p = outer;
    }
    p.insert(OPTIONAL.into(), true.into());
}

/// `enum` only of strings, on `"type": "string"`; other values → a sentence listing them.
fn enumeration(s: &mut Map<String, Value>) {
    let Some(Value::Array(values)) = s.get("enum") else {
        return;
    };
    let strings = values.iter().all(Value::is_string);
    let types: Vec<&str> = values.iter().filter_map(json_type).collect();
    let one_type = types
        .first()
        .filter(|t| types.iter().all(|u| u == *t))
        .copied();
    match s.get("type").and_then(Value::as_str) {
        None | Some("string") if strings => {
            s.insert("type".into(), "string".into());
            return;
        }
        None => {
            if let Some(ty) = one_type {
                s.insert("type".into(), ty.into());
            }
        }
        Some(_) => {}
    }
    if let Some(Value::Array(values)) = s.remove("enum") {
        let list: Vec<String> = values.iter().map(Value::to_string).collect();
        note(s, &format!("One of: {}.", list.join(", ")));
    }
}

/// Append a sentence to the description (creating it if needed).
fn note(s: &mut Map<String, Value>, sentence: &str) {
    let sentence = sentence.trim();
    match s.get_mut("description") {
        Some(Value::String(d)) if !d.trim().is_empty() => {
            let said = d.trim_end();
            let sep = if said.ends_with(['.', '!', '?', ':']) {
                " "
            } else {
                ". "
            };
            *d = format!("{said}{sep}{sentence}");
        }
        _ => {
            s.insert("description".into(), sentence.into());
        }
    }
}
