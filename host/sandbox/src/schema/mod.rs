//! JSON Schema checks of tool arguments and structured results (JSON Schema 2020-12 by default,
//! as MCP 2025-11-25 specifies; other drafts via `$schema`), using the `jsonschema` crate.
//!
//! Schemas come from plugins: each is vetted ([`vet`]: size, depth, `$ref`s, unfolded size)
//! and compiled when its plugin loads. Remote `$ref`s are not fetched: a schema that needs one is
//! refused. Checking a value costs at most the schema's unfolded size × the value's size; a check
//! whose bound is small runs where it is asked for, a bigger one on the blocking thread pool,
//! under the caller's deadline and one at a time per plugin ([`Schema::check`]), so no schema and
//! no value can hold up the async workers that serve every client.

pub mod portable;
pub mod vet;

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tokio::sync::Semaphore;

/// Most validation errors reported for one value.
pub const MAX_REPORTED_ERRORS: usize = 5;

/// Checks whose bound (unfolded subschemas × nodes of the value) is at most this run inline: a
/// few microseconds.
pub const INLINE_BOUND: usize = 20_000;

/// A compiled schema.
pub struct Schema {
    validator: jsonschema::Validator,
    /// Subschemas the schema unfolds to through its `$ref`s ([`vet::vet`]); 1 when not vetted.
    unfolded: usize,
}

/// Why a schema was not compiled: vetting refused it, or the compiler did (an invalid schema, or
/// one that needs a remote reference).
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Over a limit of [`vet::SchemaLimits`], or a `$ref` outside the schema.
    #[error("{0}")]
    Vet(#[from] vet::VetError),
    /// The `jsonschema` compiler's error (also the source).
    #[error("{0}")]
    Compile(#[source] Box<jsonschema::ValidationError<'static>>),
}

/// Why [`Schema::check`] did not accept a value.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// The value does not match: up to [`MAX_REPORTED_ERRORS`] messages with their locations.
    #[error("{0}")]
    Invalid(String),
    /// The deadline passed before the check finished (or before it could start).
    #[error(
        "checking it against its schema did not finish within the call's time limit \
         ([limits] timeout)"
    )]
    Timeout,
}

impl Schema {
    /// Compile `schema` without vetting it (the host's own schemas, tests).
    ///
    /// # Errors
    /// [`SchemaError::Compile`] when the schema is invalid or needs a remote reference.
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        jsonschema::validator_for(schema)
            .map(|validator| Self {
                validator,
                unfolded: 1,
            })
            .map_err(|e| SchemaError::Compile(Box::new(e)))
    }

    /// Vet `schema` against `limits` ([`vet::vet`]), then compile it.
    ///
    /// # Errors
    /// [`SchemaError::Vet`] naming the limit the schema exceeds, or [`SchemaError::Compile`].
    pub fn vetted(schema: &Value, limits: &vet::SchemaLimits) -> Result<Self, SchemaError> {
        let unfolded = vet::vet(schema, serialized_len(schema), limits)?;
        let mut compiled = Self::compile(schema)?;
        compiled.unfolded = unfolded;
        Ok(compiled)
    }

    /// Check `value` before `deadline`. Small checks run here; others run on the blocking pool
    /// once `slot` (the plugin's validation slot) is free, and the answer is given up at the
    /// deadline (the check itself, bounded by vetting, finishes in the background and only then
    /// frees the slot). Returns `value` when it is valid.
    ///
    /// # Errors
    /// [`CheckError::Invalid`] with the messages, or [`CheckError::Timeout`].
    pub async fn check(
        self: &Arc<Self>,
        value: Value,
        deadline: Instant,
        slot: &Arc<Semaphore>,
    ) -> Result<Value, CheckError> {
        let inline_nodes = INLINE_BOUND / self.unfolded.max(1);
        if nodes_up_to(&value, inline_nodes) <= inline_nodes {
            return self.validate(&value).map(|()| value);
        }
        let permit = tokio::time::timeout_at(deadline.into(), slot.clone().acquire_owned())
            .await
            .map_err(|_| CheckError::Timeout)?
            .map_err(|_| CheckError::Timeout)?;
        let schema = self.clone();
        let run = tokio::task::spawn_blocking(move || {
            let checked = schema.validate(&value).map(|()| value);
            drop(permit);
            checked
        });
        match tokio::time::timeout_at(deadline.into(), run).await {
            Ok(Ok(checked)) => checked,
            Ok(Err(join)) => Err(CheckError::Invalid(format!("the check failed: {join}"))),
            Err(_) => Err(CheckError::Timeout),
        }
    }

    /// Validate `value` here and now.
    ///
    /// # Errors
    /// [`CheckError::Invalid`] with up to [`MAX_REPORTED_ERRORS`] messages, each prefixed with
    /// the JSON Pointer of the failing location (`/` for the root), joined by `; `.
    pub fn validate(&self, value: &Value) -> Result<(), CheckError> {
        if self.validator.is_valid(value) {
            return Ok(());
        }
        let all: Vec<String> = self
            .validator
            .iter_errors(value)
            .take(MAX_REPORTED_ERRORS + 1)
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
            message.push_str("; and more");
        }
        if message.is_empty() {
            message = "the value does not match the schema".into();
        }
        Err(CheckError::Invalid(message))
    }
}

/// Bytes of `value` as compact JSON.
pub fn serialized_len(value: &Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Nodes (values) in `value`, counting stops a little past `limit`.
fn nodes_up_to(value: &Value, limit: usize) -> usize {
    let mut count = 0;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        count += 1;
        if count > limit {
            break;
        }
        match v {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    count
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
        let err = add_schema()
            .validate(&json!({"a": "x"}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/a:"), "{err}");
        assert!(err.contains("\"b\" is a required property"), "{err}");
    }

    #[test]
    fn caps_the_number_of_messages() {
        let schema =
            Schema::compile(&json!({"type": "array", "items": {"type": "string"}})).unwrap();
        let err = schema
            .validate(&json!([1, 2, 3, 4, 5, 6, 7]))
            .unwrap_err()
            .to_string();
        assert!(err.ends_with("; and more"), "{err}");
        assert_eq!(err.matches(": 6 is not of type").count(), 0, "{err}");
    }

    /// A check too big to run inline goes to the blocking pool and still answers; a deadline
    /// that has passed answers `Timeout`.
    #[tokio::test]
    async fn big_checks_run_off_the_async_workers_under_a_deadline() {
        let schema = Arc::new(
            Schema::vetted(
                &json!({"type": "array", "items": {"type": "integer"}}),
                &vet::SchemaLimits::default(),
            )
            .unwrap(),
        );
        let slot = Arc::new(Semaphore::new(1));
        let big = Value::Array((0..100_000).map(Value::from).collect());
        let soon = Instant::now() + std::time::Duration::from_secs(30);
        let checked = schema.check(big.clone(), soon, &slot).await;
        assert!(
            checked.as_ref().is_ok_and(|v| *v == big),
            "the valid value comes back"
        );
        let mut bad = big.clone();
        bad[99_999] = json!("x");
        let err = schema.check(bad, soon, &slot).await.unwrap_err();
        assert!(
            matches!(&err, CheckError::Invalid(m) if m.contains("/99999")),
            "{err}"
        );
        // The plugin's slot is busy (another check of its values runs) and the deadline passes.
        let _busy = slot.clone().acquire_owned().await.unwrap();
        let soon = Instant::now() + std::time::Duration::from_millis(50);
        let err = schema.check(big, soon, &slot).await.unwrap_err();
        assert_eq!(err, CheckError::Timeout);
    }

    #[test]
    fn counts_nodes_and_bytes() {
        assert_eq!(nodes_up_to(&json!({"a": [1, 2], "b": null}), 100), 5);
        assert_eq!(nodes_up_to(&json!([1, 2, 3, 4, 5]), 2), 3);
        assert_eq!(
            serialized_len(&json!({"a": [1, "é"]})),
            r#"{"a":[1,"é"]}"#.len()
        );
    }

    #[test]
    fn rejects_invalid_schemas() {
        assert!(Schema::compile(&json!({"type": "no-such-type"})).is_err());
    }
}
