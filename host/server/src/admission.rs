//! What a plugin may say about itself: caps on its self-description, checked once when it loads,
//! before it is served.
//!
//! A plugin's metadata and lists are held by the host for as long as it is loaded and sent to
//! every client that lists them, so their size is a cost the plugin puts on the host and on every
//! client: it is capped per plugin by its `[limits]` ([`Limits`]): how many tools, prompts and
//! resources (with templates) it lists, how long any one text of an item is (name, title,
//! description, URI, `_meta`, …), how big each tool schema is (and [`capsule_sandbox::schema::vet`]'s checks
//! that no schema makes validation expensive), and how many bytes everything listed takes in all.
//! A plugin over any cap is refused whole, with a message naming the item, the limit and its
//! policy key; the other plugins are not affected.

use serde::Serialize;
use serde_json::Value;

use capsule_sandbox::grants::Limits;
use capsule_sandbox::runtime::LoadedPlugin;
use capsule_sandbox::schema::vet::{SchemaLimits, VetError, vet};

/// The first cap a plugin's self-description exceeds; the message names the item, the limit and
/// its `[limits]` key, and is the reason the loader reports for not loading the plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Too many items of one kind (`what`: `tools`, `prompts`, `resources and resource
    /// templates`), over `[limits] key`.
    #[error("the plugin lists {count} {what}, over its limit of {max} ([limits] {key})")]
    TooMany {
        /// The kind of item counted.
        what: &'static str,
        /// How many it lists.
        count: usize,
        /// The limit (a count, or a byte size).
        max: usize,
        /// Its `[limits]` key.
        key: &'static str,
    },
    /// One text of `item` (its `field`, or "text") is `len` long, over `max` (byte sizes).
    #[error(
        "{item}: its {field} is {len} long, over the limit of {max} ([limits] max_description)"
    )]
    TextTooLong {
        /// The item, e.g. `tool 'x'`.
        item: String,
        /// The field holding the text (`text` when not a named field).
        field: String,
        /// Its size (bytes).
        len: bytesize::ByteSize,
        /// The limit (a count, or a byte size).
        max: bytesize::ByteSize,
    },
    /// Everything listed takes `total`, over `max` (byte sizes).
    #[error(
        "what the plugin lists about itself takes {total}, over its limit of {max} ([limits] max_listing)"
    )]
    ListingTooBig {
        /// What everything listed takes (bytes, serialized).
        total: bytesize::ByteSize,
        /// The limit (a count, or a byte size).
        max: bytesize::ByteSize,
    },
    /// A tool schema (`which`: `input-schema` or `output-schema`) fails vetting.
    #[error("tool '{tool}': {which}: {reason}")]
    Schema {
        /// The tool's name (shortened, escaped).
        tool: String,
        /// `input-schema` or `output-schema`.
        which: &'static str,
        /// What vetting found.
        #[source]
        reason: VetError,
    },
}

/// Check `plugin`'s self-description against `limits`.
///
/// # Errors
/// The first cap exceeded, as a [`Refusal`] whose message names the item and the `[limits]` key,
/// e.g. "the plugin lists 5000 tools, over its limit of 1000 (`[limits] max_tools`)".
pub fn check(plugin: &LoadedPlugin, limits: &Limits) -> Result<(), Refusal> {
    let count = |what: &'static str, count: usize, max: usize, key: &'static str| {
        if count > max {
            Err(Refusal::TooMany {
                what,
                count,
                max,
                key,
            })
        } else {
            Ok(())
        }
    };
    count("tools", plugin.tools.len(), limits.max_tools, "max_tools")?;
    count(
        "prompts",
        plugin.prompts.len(),
        limits.max_prompts,
        "max_prompts",
    )?;
    count(
        "resources and resource templates",
        plugin.resources.len() + plugin.resource_templates.len(),
        limits.max_resources,
        "max_resources",
    )?;

    let mut total = 0usize;
    let mut item = |what: String, value: &dyn erased::Item| -> Result<(), Refusal> {
        let value = value.to_value();
        total = total.saturating_add(capsule_sandbox::schema::serialized_len(&value));
        texts(&what, &value, "", limits.max_description_bytes)
    };
    item("its metadata".into(), &plugin.metadata)?;
    for t in &plugin.tools {
        item(format!("tool '{}'", short(&t.name)), t)?;
    }
    for r in &plugin.resources {
        item(format!("resource '{}'", short(&r.uri)), r)?;
    }
    for t in &plugin.resource_templates {
        item(format!("resource template '{}'", short(&t.uri_template)), t)?;
    }
    for p in &plugin.prompts {
        item(format!("prompt '{}'", short(&p.name)), p)?;
    }
    if total > limits.max_listing_bytes {
        return Err(Refusal::ListingTooBig {
            total: bytesize::ByteSize(total as u64),
            max: bytesize::ByteSize(limits.max_listing_bytes as u64),
        });
    }

    let schema_limits = SchemaLimits {
        max_bytes: limits.max_schema_bytes,
        ..SchemaLimits::default()
    };
    for t in &plugin.tools {
        let schemas = std::iter::once(("input-schema", Some(&t.input_schema)))
            .chain(std::iter::once(("output-schema", t.output_schema.as_ref())));
        for (which, text) in schemas {
            let Some(text) = text else { continue };
            // A schema that is not JSON is reported by the catalog, which skips that tool.
            let Ok(schema) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            vet(&schema, text.len(), &schema_limits).map_err(|reason| Refusal::Schema {
                tool: short(&t.name),
                which,
                reason,
            })?;
        }
    }
    Ok(())
}

/// Serialize any listed item (all WIT record types derive `Serialize`).
mod erased {
    pub trait Item {
        fn to_value(&self) -> serde_json::Value;
    }
    impl<T: super::Serialize> Item for T {
        fn to_value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }
}

/// Every string in `value` (but the schemas, capped by `max_schema`) is at most `max` bytes.
fn texts(what: &str, value: &Value, path: &str, max: usize) -> Result<(), Refusal> {
    match value {
        Value::String(s) if s.len() > max => Err(Refusal::TextTooLong {
            item: what.to_string(),
            field: if path.is_empty() { "text" } else { path }.to_string(),
            len: bytesize::ByteSize(s.len() as u64),
            max: bytesize::ByteSize(max as u64),
        }),
        Value::Array(items) => items.iter().try_for_each(|v| texts(what, v, path, max)),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| *k != "input_schema" && *k != "output_schema")
            .try_for_each(|(k, v)| texts(what, v, k, max)),
        _ => Ok(()),
    }
}

/// At most 80 characters of a plugin-chosen name, for messages.
fn short(text: &str) -> String {
    let kept: String = text.chars().take(80).collect();
    let mut out = kept.escape_default().to_string();
    if kept.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_texts_are_found_wherever_they_are() {
        let item = json!({"name": "ok", "annotations": {"title": "x".repeat(100)},
                          "input_schema": "y".repeat(1000)});
        let err = texts("tool 'ok'", &item, "", 50).unwrap_err().to_string();
        assert!(
            err.starts_with("tool 'ok': its title is 100 B long"),
            "{err}"
        );
        assert!(texts("tool 'ok'", &item, "", 100).is_ok());
    }

    #[test]
    fn names_in_messages_are_short_and_escaped() {
        assert_eq!(short("a\nb"), "a\\nb");
        assert_eq!(short(&"z".repeat(100)).chars().count(), 81);
    }
}
