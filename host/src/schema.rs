//! JSON Schema checks of tool arguments and structured results (JSON Schema 2020-12 by default,
//! as MCP 2025-11-25 specifies; other drafts via `$schema`), using the `jsonschema` crate.
//!
//! Schemas come from plugins and are compiled once at load time. Remote `$ref`s are not fetched:
//! a schema that needs one fails to compile and its tool is not published.

use serde_json::Value;

/// Most validation errors reported for one value.
pub const MAX_REPORTED_ERRORS: usize = 5;

/// A compiled schema.
pub struct Schema {
    validator: jsonschema::Validator,
}

impl Schema {
    /// Compile `schema`.
    ///
    /// # Errors
    /// The compiler's message when the schema is invalid or needs a remote reference.
    pub fn compile(schema: &Value) -> Result<Self, String> {
        jsonschema::validator_for(schema)
            .map(|validator| Self { validator })
            .map_err(|e| e.to_string())
    }

    /// Validate `value`.
    ///
    /// # Errors
    /// Up to [`MAX_REPORTED_ERRORS`] messages, each prefixed with the JSON Pointer of the failing
    /// location (`/` for the root), joined by `; `.
    pub fn validate(&self, value: &Value) -> Result<(), String> {
        let mut errors = self.validator.iter_errors(value).peekable();
        if errors.peek().is_none() {
            return Ok(());
        }
        let all: Vec<String> = errors
            .map(|e| {
                let path = e.instance_path().to_string();
                let at = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                format!("{at}: {e}")
            })
            .collect();
        let mut message = all
            .iter()
            .take(MAX_REPORTED_ERRORS)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        if all.len() > MAX_REPORTED_ERRORS {
            message.push_str(&format!("; and {} more", all.len() - MAX_REPORTED_ERRORS));
        }
        Err(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn add_schema() -> Schema {
        Schema::compile(&json!({
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"]
        }))
        .unwrap()
    }

    #[test]
    fn accepts_valid_arguments() {
        assert_eq!(add_schema().validate(&json!({"a": 1, "b": 2.5})), Ok(()));
    }

    #[test]
    fn reports_wrong_types_and_missing_fields_with_paths() {
        let err = add_schema().validate(&json!({"a": "x"})).unwrap_err();
        assert!(err.contains("/a:"), "{err}");
        assert!(err.contains("\"b\" is a required property"), "{err}");
    }

    #[test]
    fn caps_the_number_of_messages() {
        let schema =
            Schema::compile(&json!({"type": "array", "items": {"type": "string"}})).unwrap();
        let err = schema.validate(&json!([1, 2, 3, 4, 5, 6, 7])).unwrap_err();
        assert!(err.ends_with("; and 2 more"), "{err}");
    }

    #[test]
    fn rejects_invalid_schemas() {
        assert!(Schema::compile(&json!({"type": "no-such-type"})).is_err());
    }
}
