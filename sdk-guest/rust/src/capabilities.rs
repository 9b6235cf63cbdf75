//! What the client declared it can do (MCP `ClientCapabilities`).

use serde_json::{Map, Value};

use crate::input::InputRequest;

/// The capabilities the client declared (MCP `ClientCapabilities`), as the
/// host reports them through [`client_capabilities`](crate::client_capabilities()).
///
/// The typed accessors answer the questions a plugin asks before it returns
/// [`InputRequired`](crate::InputRequired); [`raw`](Self::raw) keeps the
/// whole JSON object for anything newer.
///
/// ```
/// use capsule_plugin::{ClientCapabilities, InputRequest};
/// let caps = ClientCapabilities::from_json(serde_json::json!({
///     "elicitation": {},
///     "roots": {"listChanged": true}
/// }));
/// assert!(caps.elicitation() && caps.elicitation_form() && !caps.elicitation_url());
/// assert!(caps.roots() && !caps.sampling());
/// assert!(caps.supports(&InputRequest::list_roots()));
/// assert!(!caps.supports(&InputRequest::sample_text("hi", 10)));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientCapabilities {
    raw: Map<String, Value>,
}

impl ClientCapabilities {
    /// Capabilities from the JSON the host passes; anything but a JSON object
    /// counts as none declared.
    pub fn from_json(value: Value) -> Self {
        match value {
            Value::Object(raw) => ClientCapabilities { raw },
            _ => ClientCapabilities::default(),
        }
    }

    /// Capabilities from JSON text; text that is not a JSON object counts as
    /// none declared.
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text)
            .map(Self::from_json)
            .unwrap_or_default()
    }

    /// The whole `ClientCapabilities` object.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// The value of capability `name` (e.g. `"experimental"`,
    /// `"extensions"`), if declared.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.raw.get(name).filter(|v| !v.is_null())
    }

    fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    fn has_sub(&self, name: &str, sub: &str) -> bool {
        self.get(name)
            .and_then(|v| v.get(sub))
            .is_some_and(|v| !v.is_null())
    }

    /// `elicitation` is declared, in any mode: the client can answer
    /// `elicitation/create`.
    pub fn elicitation(&self) -> bool {
        self.has("elicitation")
    }

    /// The client takes form-mode elicitation (`requestedSchema`): it
    /// declared `elicitation.form`, or an `elicitation` object without modes
    /// (which MCP reads as form only).
    pub fn elicitation_form(&self) -> bool {
        self.elicitation()
            && (self.has_sub("elicitation", "form") || !self.has_sub("elicitation", "url"))
    }

    /// The client takes URL-mode elicitation (`elicitation.url`).
    pub fn elicitation_url(&self) -> bool {
        self.has_sub("elicitation", "url")
    }

    /// `sampling` is declared: the client can answer `sampling/createMessage`.
    pub fn sampling(&self) -> bool {
        self.has("sampling")
    }

    /// The client lets sampling requests offer tools (`sampling.tools`).
    pub fn sampling_tools(&self) -> bool {
        self.has_sub("sampling", "tools")
    }

    /// `roots` is declared: the client can answer `roots/list`.
    pub fn roots(&self) -> bool {
        self.has("roots")
    }

    /// Whether the client declared what `request` needs: `elicitation`
    /// (`elicitation.url` for a URL-mode request, form mode otherwise),
    /// `sampling`, or `roots`.
    pub fn supports(&self, request: &InputRequest) -> bool {
        match request {
            InputRequest::Elicitation(params) => {
                if params.get("mode").and_then(Value::as_str) == Some("url") {
                    self.elicitation_url()
                } else {
                    self.elicitation_form()
                }
            }
            InputRequest::Sampling(_) => self.sampling(),
            InputRequest::ListRoots => self.roots(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_and_malformed_mean_nothing() {
        for text in ["{}", "", "null", "[1]", "not json", "{\"sampling\": null}"] {
            let caps = ClientCapabilities::parse(text);
            assert!(
                !caps.elicitation() && !caps.sampling() && !caps.roots(),
                "{text}"
            );
        }
    }

    #[test]
    fn elicitation_modes() {
        let caps = |v| ClientCapabilities::from_json(v);
        let empty = caps(json!({"elicitation": {}}));
        assert!(empty.elicitation_form() && !empty.elicitation_url());
        let url = caps(json!({"elicitation": {"url": {}}}));
        assert!(url.elicitation() && !url.elicitation_form() && url.elicitation_url());
        let both = caps(json!({"elicitation": {"form": {}, "url": {}}}));
        assert!(both.elicitation_form() && both.elicitation_url());
        assert!(both.supports(&InputRequest::elicit_url("m", "https://x", "id")));
        assert!(!empty.supports(&InputRequest::elicit_url("m", "https://x", "id")));
        assert!(url.supports(&InputRequest::elicit_url("m", "https://x", "id")));
        assert!(!url.supports(&InputRequest::elicit("m", json!({"type": "object"}))));
    }

    #[test]
    fn sampling_and_roots() {
        let caps = ClientCapabilities::parse(
            r#"{"sampling": {"tools": {}}, "roots": {"listChanged": true}, "extensions": {"x": {}}}"#,
        );
        assert!(caps.sampling() && caps.sampling_tools() && caps.roots());
        assert!(!caps.elicitation());
        assert!(caps.supports(&InputRequest::sample_text("q", 5)));
        assert!(caps.supports(&InputRequest::ListRoots));
        assert_eq!(caps.get("extensions"), Some(&json!({"x": {}})));
        assert_eq!(caps.raw().len(), 3);
    }
}
