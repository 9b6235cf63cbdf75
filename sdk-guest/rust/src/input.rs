//! Input required: a tool or prompt asks the client for elicitation,
//! sampling or roots and is called again with the answers (MCP multi
//! round-trip requests, SEP-2322).
//!
//! An interactive handler gets a [`Context`] and returns an [`Outcome`]:
//! either the finished result or an [`InputRequired`] naming what it needs,
//! each request under a key. The host asks the client (in 2026-07-28 by
//! returning `InputRequiredResult`, in 2025-11-25 by sending the requests to
//! the client itself) and runs the handler again in a fresh instance, whose
//! [`Context`] carries the answers under the same keys and the
//! [`state`](InputRequired::state) the previous round returned.

use std::cell::OnceCell;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::capabilities::ClientCapabilities;
use crate::content::Role;
use crate::error::Error;

/// The most state bytes a round may carry (WIT `input-required.state`).
pub const MAX_STATE_BYTES: usize = 16 * 1024;

/// One request the host sends to the client on the plugin's behalf (MCP
/// `InputRequest`). The parameters are the MCP request's `params` as JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum InputRequest {
    /// `elicitation/create` (MCP `ElicitRequestParams`): ask the user. Needs
    /// the client's `elicitation` capability (`elicitation.url` in URL mode).
    /// The answer is an [`ElicitResult`].
    Elicitation(Value),
    /// `sampling/createMessage` (MCP `CreateMessageRequestParams`): ask the
    /// client's model. Needs the client's `sampling` capability. The answer
    /// is a [`CreateMessageResult`].
    Sampling(Value),
    /// `roots/list`: ask for the client's roots. Needs the client's `roots`
    /// capability. The answer is a [`ListRootsResult`].
    ListRoots,
}

impl InputRequest {
    /// A form-mode elicitation: show `message` and ask for an object matching
    /// `requested_schema` (a flat JSON Schema object of strings, numbers,
    /// booleans and enums, as MCP allows).
    pub fn elicit(message: impl Into<String>, requested_schema: Value) -> Self {
        InputRequest::Elicitation(json!({
            "message": message.into(),
            "requestedSchema": requested_schema,
        }))
    }

    /// A URL-mode elicitation: send the user to `url` (for what must not pass
    /// through the client, such as credentials or a payment). Needs the
    /// client's `elicitation.url` capability.
    pub fn elicit_url(
        message: impl Into<String>,
        url: impl Into<String>,
        elicitation_id: impl Into<String>,
    ) -> Self {
        InputRequest::Elicitation(json!({
            "mode": "url",
            "message": message.into(),
            "url": url.into(),
            "elicitationId": elicitation_id.into(),
        }))
    }

    /// A sampling request with the given `CreateMessageRequestParams`
    /// (`messages`, `maxTokens`, optionally `systemPrompt`,
    /// `modelPreferences`, ...).
    pub fn sample(params: Value) -> Self {
        InputRequest::Sampling(params)
    }

    /// A sampling request of one user text message, answered in at most
    /// `max_tokens` tokens.
    pub fn sample_text(prompt: impl Into<String>, max_tokens: u32) -> Self {
        InputRequest::Sampling(json!({
            "messages": [{
                "role": "user",
                "content": {"type": "text", "text": prompt.into()},
            }],
            "maxTokens": max_tokens,
        }))
    }

    /// A `roots/list` request.
    pub fn list_roots() -> Self {
        InputRequest::ListRoots
    }

    /// The MCP method: `elicitation/create`, `sampling/createMessage` or
    /// `roots/list`.
    pub fn method(&self) -> &'static str {
        match self {
            InputRequest::Elicitation(_) => "elicitation/create",
            InputRequest::Sampling(_) => "sampling/createMessage",
            InputRequest::ListRoots => "roots/list",
        }
    }

    /// The client capability it needs: `elicitation`, `sampling` or `roots`.
    pub fn capability(&self) -> &'static str {
        match self {
            InputRequest::Elicitation(_) => "elicitation",
            InputRequest::Sampling(_) => "sampling",
            InputRequest::ListRoots => "roots",
        }
    }
}

/// What a round needs from the client before the request can finish (MCP
/// `InputRequiredResult`): requests under keys of the plugin's choosing, and
/// an opaque state handed back in the next round.
///
/// ```
/// use capsule_plugin::InputRequired;
/// use serde_json::json;
///
/// let ask = InputRequired::new()
///     .elicit("user_name", "What is your name?", json!({
///         "type": "object",
///         "properties": {"name": {"type": "string"}},
///         "required": ["name"]
///     }))
///     .sample_text("greeting", "Write a one-line greeting", 50)
///     .list_roots("client_roots")
///     .state(b"step-1".to_vec());
/// assert_eq!(ask.requests().len(), 3);
/// assert_eq!(ask.state_bytes(), Some(&b"step-1"[..]));
/// ```
///
/// The state comes back exactly as returned, or the host refuses the retry
/// (in 2026-07-28 the client carries it, sealed with an HMAC). The client can
/// read it: keep secrets out. At most [`MAX_STATE_BYTES`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputRequired {
    requests: Vec<(String, InputRequest)>,
    state: Option<Vec<u8>>,
}

impl InputRequired {
    /// No requests yet; add at least one.
    pub fn new() -> Self {
        InputRequired::default()
    }

    /// Add `request` under `key` (a later request under the same key replaces
    /// the earlier one).
    pub fn request(mut self, key: impl Into<String>, request: InputRequest) -> Self {
        let key = key.into();
        self.requests.retain(|(k, _)| *k != key);
        self.requests.push((key, request));
        self
    }

    /// Add a form-mode elicitation under `key`; see [`InputRequest::elicit`].
    pub fn elicit(
        self,
        key: impl Into<String>,
        message: impl Into<String>,
        requested_schema: Value,
    ) -> Self {
        self.request(key, InputRequest::elicit(message, requested_schema))
    }

    /// Add a URL-mode elicitation under `key`; see
    /// [`InputRequest::elicit_url`].
    pub fn elicit_url(
        self,
        key: impl Into<String>,
        message: impl Into<String>,
        url: impl Into<String>,
        elicitation_id: impl Into<String>,
    ) -> Self {
        self.request(key, InputRequest::elicit_url(message, url, elicitation_id))
    }

    /// Add a sampling request under `key` with the given
    /// `CreateMessageRequestParams`.
    pub fn sample(self, key: impl Into<String>, params: Value) -> Self {
        self.request(key, InputRequest::sample(params))
    }

    /// Add a one-message sampling request under `key`; see
    /// [`InputRequest::sample_text`].
    pub fn sample_text(
        self,
        key: impl Into<String>,
        prompt: impl Into<String>,
        max_tokens: u32,
    ) -> Self {
        self.request(key, InputRequest::sample_text(prompt, max_tokens))
    }

    /// Add a `roots/list` request under `key`.
    pub fn list_roots(self, key: impl Into<String>) -> Self {
        self.request(key, InputRequest::ListRoots)
    }

    /// Carry `state` to the next round ([`Context::state`]).
    pub fn state(mut self, state: impl Into<Vec<u8>>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Carry `value` as JSON to the next round ([`Context::state_json`]).
    pub fn state_json(self, value: &impl Serialize) -> Result<Self, Error> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::internal(format!("cannot serialize the request state: {e}")))?;
        Ok(self.state(bytes))
    }

    /// The requests, in the order added.
    pub fn requests(&self) -> &[(String, InputRequest)] {
        &self.requests
    }

    /// `key: method` of each request, comma-separated (for messages).
    #[cfg(any(feature = "tools", feature = "prompts"))]
    pub(crate) fn summary(&self) -> String {
        self.requests
            .iter()
            .map(|(k, r)| format!("{k}: {}", r.method()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The request under `key`.
    pub fn get(&self, key: &str) -> Option<&InputRequest> {
        self.requests.iter().find(|(k, _)| k == key).map(|(_, r)| r)
    }

    /// The state, if any.
    pub fn state_bytes(&self) -> Option<&[u8]> {
        self.state.as_deref()
    }

    /// Whether no request was added.
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// Split into requests and state.
    pub fn into_parts(self) -> (Vec<(String, InputRequest)>, Option<Vec<u8>>) {
        (self.requests, self.state)
    }

    /// Check what the contract requires: at least one request, and a state
    /// of at most [`MAX_STATE_BYTES`]. The SDK checks before a round ends,
    /// so a plugin bug shows up as an internal error naming it.
    #[cfg_attr(not(any(feature = "tools", feature = "prompts")), allow(dead_code))]
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.requests.is_empty() {
            return Err(Error::internal(
                "the plugin returned input-required without any request",
            ));
        }
        if let Some(state) = &self.state
            && state.len() > MAX_STATE_BYTES
        {
            return Err(Error::internal(format!(
                "the plugin's input-required state is {} bytes; at most {MAX_STATE_BYTES} fit",
                state.len()
            )));
        }
        Ok(())
    }
}

/// How an interactive handler ended: the result, or what it needs first.
///
/// `T` is what the handler would return when done (a tool's structured
/// result or [`ToolOutput`](crate::ToolOutput), a prompt's `String`,
/// messages or [`PromptOutput`](crate::PromptOutput)). An [`InputRequired`]
/// converts into any `Outcome` with `.into()`.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// Finished.
    Complete(T),
    /// The client must answer first; the handler runs again with a
    /// [`Context`] holding the answers.
    InputRequired(InputRequired),
}

impl<T> Outcome<T> {
    /// Finished with `value`.
    pub fn complete(value: T) -> Self {
        Outcome::Complete(value)
    }

    /// Needs `input` from the client first.
    pub fn input_required(input: InputRequired) -> Self {
        Outcome::InputRequired(input)
    }

    /// Transform the finished value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Complete(v) => Outcome::Complete(f(v)),
            Outcome::InputRequired(i) => Outcome::InputRequired(i),
        }
    }

    /// The finished value, if any.
    pub fn complete_value(self) -> Option<T> {
        match self {
            Outcome::Complete(v) => Some(v),
            Outcome::InputRequired(_) => None,
        }
    }

    /// The input required, if any.
    pub fn input_required_value(self) -> Option<InputRequired> {
        match self {
            Outcome::Complete(_) => None,
            Outcome::InputRequired(i) => Some(i),
        }
    }

    /// Whether it is [`Outcome::InputRequired`].
    pub fn is_input_required(&self) -> bool {
        matches!(self, Outcome::InputRequired(_))
    }
}

impl<T> From<InputRequired> for Outcome<T> {
    fn from(input: InputRequired) -> Self {
        Outcome::InputRequired(input)
    }
}

/// What the host passes back in a later round (WIT `resumption`): the
/// client's answers by key, as JSON text, and the previous round's state.
/// Build one to unit-test an interactive handler natively.
///
/// ```
/// use capsule_plugin::Resumption;
/// use serde_json::json;
/// let resume = Resumption::new()
///     .response("user_name", json!({"action": "accept", "content": {"name": "Ada"}}))
///     .state(b"step-1".to_vec());
/// assert_eq!(resume.responses().len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resumption {
    responses: Vec<(String, String)>,
    state: Option<Vec<u8>>,
}

impl Resumption {
    /// No answers, no state.
    pub fn new() -> Self {
        Resumption::default()
    }

    /// From the parts the host passes: answers as JSON text, and the state.
    pub fn from_parts(responses: Vec<(String, String)>, state: Option<Vec<u8>>) -> Self {
        Resumption { responses, state }
    }

    /// Add the answer `value` under `key`.
    pub fn response(self, key: impl Into<String>, value: Value) -> Self {
        self.response_text(key, value.to_string())
    }

    /// Add the answer under `key` as JSON text (which may be malformed, as a
    /// client's may be).
    pub fn response_text(mut self, key: impl Into<String>, json: impl Into<String>) -> Self {
        self.responses.push((key.into(), json.into()));
        self
    }

    /// Set the state of the previous round.
    pub fn state(mut self, state: impl Into<Vec<u8>>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// The answers, as JSON text by key.
    pub fn responses(&self) -> &[(String, String)] {
        &self.responses
    }

    /// The previous round's state.
    pub fn state_bytes(&self) -> Option<&[u8]> {
        self.state.as_deref()
    }
}

/// What an interactive handler knows about the request beyond its
/// arguments: the client's answers and the state of the previous round (when
/// this is a later round), and the client's capabilities.
///
/// Answers come back under the keys of the [`InputRequired`] that asked for
/// them. A client may leave keys out, add unknown ones, or send an answer of
/// the wrong shape: the typed accessors answer `None` for all of these, and
/// the handler asks again.
///
/// ```
/// use capsule_plugin::prelude::*;
/// use serde_json::json;
///
/// fn greet(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
///     let Some(answer) = cx.elicitation("user_name") else {
///         return Ok(InputRequired::new()
///             .elicit("user_name", "What is your name?", json!({
///                 "type": "object",
///                 "properties": {"name": {"type": "string"}},
///                 "required": ["name"]
///             }))
///             .into());
///     };
///     let text = match answer.get_str("name") {
///         Some(name) if answer.is_accepted() => format!("Hello, {name}!"),
///         _ => "Hello, stranger!".to_string(),
///     };
///     Ok(Outcome::complete(ToolOutput::text(text)))
/// }
///
/// // Round 1 asks, round 2 answers.
/// let t = interactive_tool("greet", "Greet the user by name", greet);
/// assert!(t.call_with("{}", None).unwrap().is_input_required());
/// let resume = Resumption::new()
///     .response("user_name", json!({"action": "accept", "content": {"name": "Ada"}}));
/// let done = t.call_with("{}", Some(resume)).unwrap().complete_value().unwrap();
/// assert_eq!(done.content, vec![Content::text("Hello, Ada!")]);
/// ```
#[derive(Debug, Default)]
pub struct Context {
    resume: Option<Resumption>,
    capabilities: OnceCell<ClientCapabilities>,
}

impl Context {
    /// The context of a first round (no answers, no state).
    pub fn new() -> Self {
        Context::default()
    }

    /// The context of a round resumed with `resume` (or a first round).
    pub fn resumed(resume: Option<Resumption>) -> Self {
        Context {
            resume,
            capabilities: OnceCell::new(),
        }
    }

    /// Use `capabilities` instead of asking the host (handy in tests).
    pub fn with_client_capabilities(self, capabilities: ClientCapabilities) -> Self {
        let cell = OnceCell::new();
        let _ = cell.set(capabilities);
        Context {
            resume: self.resume,
            capabilities: cell,
        }
    }

    /// Whether this is a later round (the host passed a resumption).
    pub fn is_resumed(&self) -> bool {
        self.resume.is_some()
    }

    /// The capabilities the client declared, asked of the host once per
    /// request; see [`client_capabilities`](crate::client_capabilities()).
    pub fn client_capabilities(&self) -> &ClientCapabilities {
        self.capabilities
            .get_or_init(crate::host::client_capabilities)
    }

    /// The state the previous round returned, exactly.
    pub fn state(&self) -> Option<&[u8]> {
        self.resume.as_ref()?.state_bytes()
    }

    /// The previous round's state read as JSON (see
    /// [`InputRequired::state_json`]); `None` if absent or of another shape.
    pub fn state_json<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(self.state()?).ok()
    }

    /// The keys the client answered, in its order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.resume
            .iter()
            .flat_map(|r| r.responses.iter().map(|(k, _)| k.as_str()))
    }

    fn response_text(&self, key: &str) -> Option<&str> {
        self.resume
            .as_ref()?
            .responses
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client sent an answer under `key`, whatever its shape.
    pub fn has_response(&self, key: &str) -> bool {
        self.response_text(key).is_some()
    }

    /// The answer under `key` as JSON; `None` if absent or not JSON.
    pub fn response_json(&self, key: &str) -> Option<Value> {
        serde_json::from_str(self.response_text(key)?).ok()
    }

    /// The answer under `key` as a `T` (typically [`ElicitResult`],
    /// [`CreateMessageResult`] or [`ListRootsResult`]); `None` if absent or
    /// of another shape — ask again.
    pub fn response<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.try_response(key).ok().flatten()
    }

    /// Like [`response`](Self::response), but an answer of the wrong shape is
    /// an [`Error::InvalidArguments`] saying so, for handlers that prefer to
    /// fail than to ask again.
    pub fn try_response<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Error> {
        let Some(text) = self.response_text(key) else {
            return Ok(None);
        };
        serde_json::from_str(text).map(Some).map_err(|e| {
            Error::invalid_arguments(format!("the client's answer `{key}` is malformed: {e}"))
        })
    }

    /// The answer to an elicitation under `key`.
    pub fn elicitation(&self, key: &str) -> Option<ElicitResult> {
        self.response(key)
    }

    /// The answer to a sampling request under `key`.
    pub fn sampling(&self, key: &str) -> Option<CreateMessageResult> {
        self.response(key)
    }

    /// The answer to a `roots/list` request under `key`.
    pub fn roots(&self, key: &str) -> Option<ListRootsResult> {
        self.response(key)
    }
}

/// What the user did with an elicitation (MCP `ElicitResult.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitAction {
    /// Submitted the form (`content` holds the values) or, in URL mode,
    /// agreed to open the URL.
    Accept,
    /// Explicitly said no.
    Decline,
    /// Dismissed without choosing.
    Cancel,
}

/// The answer to `elicitation/create` (MCP `ElicitResult`).
///
/// ```
/// use capsule_plugin::{ElicitAction, ElicitResult};
/// let r: ElicitResult = serde_json::from_value(serde_json::json!({
///     "action": "accept", "content": {"name": "Ada", "age": 36}
/// })).unwrap();
/// assert!(r.is_accepted());
/// assert_eq!(r.get_str("name"), Some("Ada"));
/// assert_eq!(r.get("age"), Some(&serde_json::json!(36)));
/// let declined: ElicitResult = serde_json::from_str(r#"{"action":"decline"}"#).unwrap();
/// assert_eq!(declined.action, ElicitAction::Decline);
/// assert!(declined.content.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElicitResult {
    /// Accept, decline or cancel.
    pub action: ElicitAction,
    /// The submitted values (form mode, when accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Map<String, Value>>,
}

impl ElicitResult {
    /// Whether the user accepted.
    pub fn is_accepted(&self) -> bool {
        self.action == ElicitAction::Accept
    }

    /// The submitted value of field `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.content.as_ref()?.get(name)
    }

    /// The submitted value of field `name`, if it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)?.as_str()
    }

    /// The submitted values as a `T`; `None` if not accepted or of another
    /// shape.
    pub fn content_as<T: DeserializeOwned>(&self) -> Option<T> {
        if !self.is_accepted() {
            return None;
        }
        let content = self.content.clone().unwrap_or_default();
        serde_json::from_value(Value::Object(content)).ok()
    }

    /// The content as a JSON object (`{}` when there is none).
    pub fn content_json(&self) -> Value {
        Value::Object(self.content.clone().unwrap_or_default())
    }
}

/// The answer to `sampling/createMessage` (MCP `CreateMessageResult`).
///
/// ```
/// use capsule_plugin::CreateMessageResult;
/// let r: CreateMessageResult = serde_json::from_value(serde_json::json!({
///     "role": "assistant",
///     "content": {"type": "text", "text": "Paris"},
///     "model": "m", "stopReason": "endTurn"
/// })).unwrap();
/// assert_eq!(r.text(), "Paris");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMessageResult {
    /// Who wrote it (normally the assistant).
    #[serde(default = "assistant")]
    pub role: Role,
    /// One content block, or (when the request offered tools) a list of
    /// them, as JSON.
    pub content: Value,
    /// The model that answered.
    #[serde(default)]
    pub model: String,
    /// Why the model stopped (`endTurn`, `stopSequence`, `maxTokens`,
    /// `toolUse`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

fn assistant() -> Role {
    Role::Assistant
}

impl CreateMessageResult {
    /// The text of the answer: every text block, joined (empty if none).
    pub fn text(&self) -> String {
        let text_of = |block: &Value| {
            (block.get("type").and_then(Value::as_str) == Some("text"))
                .then(|| block.get("text").and_then(Value::as_str))
                .flatten()
                .map(str::to_string)
        };
        match &self.content {
            Value::Array(blocks) => blocks.iter().filter_map(text_of).collect(),
            block => text_of(block).unwrap_or_default(),
        }
    }
}

/// The answer to `roots/list` (MCP `ListRootsResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListRootsResult {
    /// The roots, as the client listed them.
    pub roots: Vec<Root>,
}

/// A root the client exposes (MCP `Root`): a directory or file the user
/// works in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    /// A `file://` URI.
    pub uri: String,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_have_the_mcp_shapes() {
        let ask = InputRequired::new()
            .elicit("a", "Who?", json!({"type": "object"}))
            .sample_text("b", "Capital of France?", 100)
            .list_roots("c")
            .elicit_url("d", "Sign in", "https://example.com/x", "e-1");
        assert_eq!(
            ask.get("a"),
            Some(&InputRequest::Elicitation(
                json!({"message": "Who?", "requestedSchema": {"type": "object"}})
            ))
        );
        assert_eq!(
            ask.get("b"),
            Some(&InputRequest::Sampling(json!({
                "messages": [{"role": "user", "content": {"type": "text", "text": "Capital of France?"}}],
                "maxTokens": 100
            })))
        );
        assert_eq!(ask.get("c"), Some(&InputRequest::ListRoots));
        assert_eq!(
            ask.get("d").map(InputRequest::capability),
            Some("elicitation")
        );
        let methods: Vec<_> = ask.requests().iter().map(|(_, r)| r.method()).collect();
        assert_eq!(
            methods,
            [
                "elicitation/create",
                "sampling/createMessage",
                "roots/list",
                "elicitation/create"
            ]
        );
        assert!(ask.validate().is_ok());
    }

    #[test]
    fn same_key_replaces_and_validation_catches_bugs() {
        let ask = InputRequired::new()
            .list_roots("k")
            .sample_text("k", "x", 1);
        assert_eq!(ask.requests().len(), 1);
        assert_eq!(ask.get("k").map(InputRequest::capability), Some("sampling"));
        assert!(matches!(
            InputRequired::new().validate(),
            Err(Error::Internal(_))
        ));
        let big = InputRequired::new()
            .list_roots("r")
            .state(vec![0; MAX_STATE_BYTES + 1]);
        assert!(matches!(big.validate(), Err(Error::Internal(m)) if m.contains("16384")));
        let fits = InputRequired::new()
            .list_roots("r")
            .state(vec![0; MAX_STATE_BYTES]);
        assert!(fits.validate().is_ok());
    }

    #[test]
    fn context_reads_typed_answers_and_state() {
        let cx = Context::resumed(Some(
            Resumption::new()
                .response(
                    "e",
                    json!({"action": "accept", "content": {"name": "Ada"}}),
                )
                .response(
                    "s",
                    json!({"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "image", "data": "", "mimeType": "image/png"}, {"type": "text", "text": "b"}], "model": "m"}),
                )
                .response("r", json!({"roots": [{"uri": "file:///w", "name": "W"}]}))
                .response("bad", json!(12345))
                .response_text("broken", "{not json")
                .state(serde_json::to_vec(&json!({"step": 2})).unwrap()),
        ));
        assert!(cx.is_resumed());
        assert_eq!(cx.elicitation("e").unwrap().get_str("name"), Some("Ada"));
        assert_eq!(cx.sampling("s").unwrap().text(), "ab");
        assert_eq!(
            cx.roots("r").unwrap().roots,
            vec![Root {
                uri: "file:///w".into(),
                name: Some("W".into())
            }]
        );
        assert_eq!(cx.elicitation("bad"), None);
        assert!(cx.has_response("bad"));
        assert!(matches!(
            cx.try_response::<ElicitResult>("bad"),
            Err(Error::InvalidArguments(m)) if m.contains("`bad`")
        ));
        assert_eq!(cx.try_response::<ElicitResult>("missing"), Ok(None));
        assert_eq!(cx.response_json("broken"), None);
        assert_eq!(cx.response_json("bad"), Some(json!(12345)));
        assert_eq!(cx.elicitation("missing"), None);
        assert_eq!(cx.state_json::<Value>(), Some(json!({"step": 2})));
        assert_eq!(
            cx.keys().collect::<Vec<_>>(),
            ["e", "s", "r", "bad", "broken"]
        );

        let first = Context::new();
        assert!(!first.is_resumed() && first.state().is_none());
        assert_eq!(first.keys().count(), 0);
    }

    #[test]
    fn elicit_result_helpers() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Person {
            name: String,
        }
        let accepted: ElicitResult =
            serde_json::from_value(json!({"action": "accept", "content": {"name": "Ada"}}))
                .unwrap();
        assert_eq!(
            accepted.content_as::<Person>(),
            Some(Person { name: "Ada".into() })
        );
        assert_eq!(accepted.content_json(), json!({"name": "Ada"}));
        let cancelled: ElicitResult = serde_json::from_value(json!({"action": "cancel"})).unwrap();
        assert!(!cancelled.is_accepted());
        assert_eq!(cancelled.content_as::<Person>(), None);
        assert_eq!(cancelled.content_json(), json!({}));
        assert!(serde_json::from_value::<ElicitResult>(json!({"action": "maybe"})).is_err());
    }

    #[test]
    fn context_capabilities_can_be_given() {
        let cx = Context::new()
            .with_client_capabilities(ClientCapabilities::from_json(json!({"sampling": {}})));
        assert!(cx.client_capabilities().sampling());
        assert!(!cx.client_capabilities().elicitation());
    }
}
