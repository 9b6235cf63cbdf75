//! Multi round-trip requests (MCP SEP-2322, "MRTR"): a plugin's `input-required` outcome, in
//! both protocol eras.
//!
//! A plugin that needs elicitation, sampling or roots returns `input-required` with keyed
//! requests and an opaque state. Then:
//! - **2026-07-28** (stateless): the host answers `InputRequiredResult` (`resultType:
//!   "input_required"`, `inputRequests`, `requestState`). The plugin's state travels in
//!   `requestState`, sealed by [`RequestStates`] ([`crate::request_state`]: HMAC-SHA256,
//!   bound to the method, the tool or prompt name and the caller, with a time limit). The client
//!   retries with `inputResponses` and the echoed `requestState`; the host opens the state
//!   (refusing a forged, altered, expired or misdirected one with `-32602`) and calls the plugin
//!   again with a `resumption`.
//! - **2025-11-25** (sessions): the host sends each request to the client itself, as a
//!   server→client request while the client's request is still in progress ([`ask_client`]),
//!   waits for the answers, and calls the plugin again. The state never leaves the host.
//!
//! Either way a request needs the matching client capability (`elicitation`, `elicitation.url`
//! for URL mode, `sampling`, `roots`): [`missing_capabilities`] names what the client did not
//! declare, which is `-32021` (MissingRequiredClientCapability) in 2026-07-28.

use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{
    ClientCapabilities, ClientResult, GetMeta, InputRequest, InputRequests, InputRequiredResult,
    ServerRequest,
};
use rmcp::service::{Peer, RoleServer};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::request_state::{Binding, RequestStates};
use crate::tasks::v2025::RELATED_TASK;
use capsule_sandbox::runtime::bindings::types;

/// Most rounds one request may take (each is a plugin call and a client round trip).
pub const MAX_ROUNDS: usize = 10;

/// Largest plugin state carried between rounds, in bytes (before sealing).
pub const MAX_STATE_BYTES: usize = 16 * 1024;

/// How long a 2025-11-25 request waits for the client to answer one round (a person may be
/// filling in a form).
pub const CLIENT_ANSWER_TIMEOUT: Duration = Duration::from_secs(600);

/// What is wrong with a plugin's `input-required` outcome. The messages are completed by the
/// caller: "the plugin {message}" for [`check`], "the plugin's {message}" for the others.
#[derive(Debug, thiserror::Error)]
pub enum InputRequiredError {
    /// No requests at all.
    #[error("returned input-required without any request")]
    NoRequests,
    /// Two requests with the same key.
    #[error("used the input request key '{0}' twice")]
    DuplicateKey(String),
    /// A state over [`MAX_STATE_BYTES`] (`size` in bytes).
    #[error("returned an input-required state of {size} bytes, over the limit of {max}", max = MAX_STATE_BYTES)]
    StateTooBig {
        /// The state's size in bytes.
        size: usize,
    },
    /// The request's params are not JSON.
    #[error("input request '{key}': the {method} params are not JSON: {source}")]
    ParamsNotJson {
        /// The key of the plugin's input request.
        key: String,
        /// The MCP method (`elicitation/create`, `sampling/createMessage`, `roots/list`).
        method: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The request's params are JSON but not an object.
    #[error("input request '{key}': the {method} params must be a JSON object")]
    ParamsNotAnObject {
        /// The key of the plugin's input request.
        key: String,
        /// The MCP method (`elicitation/create`, `sampling/createMessage`, `roots/list`).
        method: &'static str,
    },
    /// The request does not deserialize as the MCP request of its method.
    #[error("input request '{key}' does not fit the MCP schema: {source}")]
    Model {
        /// The key of the plugin's input request.
        key: String,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// Why a 2025-11-25 round with the client failed ([`ask_client`]); the message is the tool
/// error (or prompt error) the client gets.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    /// The plugin's requests are malformed.
    #[error(transparent)]
    Request(#[from] InputRequiredError),
    /// A request of a kind rmcp cannot send as a server→client request.
    #[error("input request '{0}' has a method Capsule cannot send")]
    Unsendable(String),
    /// The client's request was cancelled while waiting.
    #[error("the request was cancelled")]
    Cancelled,
    /// No answer within [`CLIENT_ANSWER_TIMEOUT`].
    #[error("the client did not answer {method} within {secs} s", secs = CLIENT_ANSWER_TIMEOUT.as_secs())]
    Timeout {
        /// The MCP method (`elicitation/create`, `sampling/createMessage`, `roots/list`).
        method: &'static str,
    },
    /// The client answered with an error, or the session failed.
    #[error("the client's {method} failed: {source}")]
    ClientFailed {
        /// The MCP method (`elicitation/create`, `sampling/createMessage`, `roots/list`).
        method: &'static str,
        /// The underlying error.
        #[source]
        source: rmcp::service::ServiceError,
    },
    /// The client's answer could not be passed on to the plugin as JSON.
    #[error("the client's {method} answer: {source}")]
    Answer {
        /// The MCP method (`elicitation/create`, `sampling/createMessage`, `roots/list`).
        method: &'static str,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

/// The MCP method and params of the plugin's request `key`, as JSON (`{"method": ...,
/// "params": ...}`).
///
/// # Errors
/// When the plugin's params are not a JSON object.
fn request_json(key: &str, request: &types::InputRequest) -> Result<Value, InputRequiredError> {
    let (method, params) = match request {
        types::InputRequest::Elicitation(p) => ("elicitation/create", p.as_str()),
        types::InputRequest::Sampling(p) => ("sampling/createMessage", p.as_str()),
        types::InputRequest::ListRoots => ("roots/list", "{}"),
    };
    let params: Value =
        serde_json::from_str(params).map_err(|source| InputRequiredError::ParamsNotJson {
            key: key.to_string(),
            method,
            source,
        })?;
    if !params.is_object() {
        return Err(InputRequiredError::ParamsNotAnObject {
            key: key.to_string(),
            method,
        });
    }
    Ok(json!({ "method": method, "params": params }))
}

/// The plugin's requests as MCP `InputRequests`.
///
/// # Errors
/// [`InputRequiredError`] naming the request whose params do not fit the MCP schema of its
/// method.
pub fn input_requests(asked: &types::InputRequired) -> Result<InputRequests, InputRequiredError> {
    let mut out = InputRequests::new();
    for (key, request) in &asked.requests {
        let value = request_json(key, request)?;
        let parsed: InputRequest =
            serde_json::from_value(value).map_err(|source| InputRequiredError::Model {
                key: key.clone(),
                source,
            })?;
        out.insert(key.clone(), parsed);
    }
    Ok(out)
}

/// Check what a plugin returned before it reaches a client.
///
/// # Errors
/// [`InputRequiredError::NoRequests`], [`InputRequiredError::DuplicateKey`] or
/// [`InputRequiredError::StateTooBig`] (over [`MAX_STATE_BYTES`]).
pub fn check(asked: &types::InputRequired) -> Result<(), InputRequiredError> {
    if asked.requests.is_empty() {
        return Err(InputRequiredError::NoRequests);
    }
    let mut keys: Vec<&str> = asked.requests.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    if let Some(w) = keys.windows(2).find(|w| w[0] == w[1]) {
        return Err(InputRequiredError::DuplicateKey(w[0].to_string()));
    }
    let size = asked.state.as_ref().map_or(0, Vec::len);
    if size > MAX_STATE_BYTES {
        return Err(InputRequiredError::StateTooBig { size });
    }
    Ok(())
}

/// The capabilities `asked` needs that `declared` lacks, as a `ClientCapabilities` object for
/// the `-32021` error's `data.requiredCapabilities` (e.g. `{"sampling": {}}`); `None` when the
/// client declared everything.
pub fn missing_capabilities(
    asked: &types::InputRequired,
    declared: Option<&ClientCapabilities>,
) -> Option<ClientCapabilities> {
    let declared = declared
        .and_then(|c| serde_json::to_value(c).ok())
        .unwrap_or_else(|| json!({}));
    let has = |key: &str| declared.get(key).is_some_and(|v| !v.is_null());
    let mut missing = Map::new();
    for (_, request) in &asked.requests {
        match request {
            types::InputRequest::Elicitation(params) => {
                let url_mode = serde_json::from_str::<Value>(params)
                    .ok()
                    .is_some_and(|p| p.get("mode").and_then(Value::as_str) == Some("url"));
                if !has("elicitation") {
                    let entry = if url_mode {
                        json!({ "url": {} })
                    } else {
                        json!({})
                    };
                    missing.insert("elicitation".into(), entry);
                } else if url_mode && declared["elicitation"].get("url").is_none() {
                    missing.insert("elicitation".into(), json!({ "url": {} }));
                }
            }
            types::InputRequest::Sampling(_) if !has("sampling") => {
                missing.insert("sampling".into(), json!({}));
            }
            types::InputRequest::ListRoots if !has("roots") => {
                missing.insert("roots".into(), json!({}));
            }
            _ => {}
        }
    }
    if missing.is_empty() {
        return None;
    }
    serde_json::from_value(Value::Object(missing)).ok()
}

/// Names of the capabilities in `missing`, for a message (`sampling, roots`).
pub fn capability_names(missing: &ClientCapabilities) -> String {
    match serde_json::to_value(missing) {
        Ok(Value::Object(map)) => map.keys().cloned().collect::<Vec<_>>().join(", "),
        _ => "unknown".into(),
    }
}

/// The 2026-07-28 answer: `InputRequiredResult` with the sealed state.
///
/// # Errors
/// When the plugin's requests do not fit the MCP schema (a message for the client).
pub fn input_required_result(
    states: &RequestStates,
    binding: &Binding<'_>,
    asked: &types::InputRequired,
) -> Result<InputRequiredResult, InputRequiredError> {
    let requests = input_requests(asked)?;
    let state = states.seal(binding, asked.state.as_deref());
    Ok(InputRequiredResult::new(Some(requests), Some(state)))
}

/// The resumption a 2026-07-28 retry carries: the client's `inputResponses` and the opened state.
/// `None` when the request has neither (a first round).
///
/// # Errors
/// As [`RequestStates::open`].
pub fn resumption(
    states: &RequestStates,
    binding: &Binding<'_>,
    input_responses: Option<&rmcp::model::InputResponses>,
    request_state: Option<&str>,
) -> Result<Option<types::Resumption>, McpError> {
    if input_responses.is_none() && request_state.is_none() {
        return Ok(None);
    }
    let state = match request_state {
        Some(sealed) => states.open(binding, sealed)?,
        None => None,
    };
    let responses = input_responses
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.to_string()))
        .collect();
    Ok(Some(types::Resumption { responses, state }))
}

/// 2025-11-25: send each of the plugin's requests to the client on `peer` (while the client's
/// request is in progress) and collect the answers for the plugin's next round.
///
/// # Errors
/// [`AskError`], whose message is for a tool error: the client refused or failed a request, did
/// not answer within [`CLIENT_ANSWER_TIMEOUT`], the request was cancelled, or the plugin's
/// request does not fit the MCP schema.
pub async fn ask_client(
    peer: &Peer<RoleServer>,
    asked: &types::InputRequired,
    cancel: &CancellationToken,
) -> Result<Vec<(String, String)>, AskError> {
    let answers = put_requests(peer, input_requests(asked)?, None, cancel).await?;
    answers
        .into_iter()
        .map(|(key, method, result)| {
            let json = serde_json::to_string(&result)
                .map_err(|source| AskError::Answer { method, source })?;
            Ok((key, json))
        })
        .collect()
}

/// Send each of `requests` to the client on `peer` as an MCP server request, one after the
/// other, tied to task `related_task` when given (`_meta` `io.modelcontextprotocol/related-task`,
/// 2025-11-25 "Associating Task-Related Messages"), and collect the answers: (request key, MCP
/// method, the client's result).
///
/// # Errors
/// [`AskError`]: a request of a kind rmcp cannot send, the client failed or refused one, did not
/// answer within [`CLIENT_ANSWER_TIMEOUT`], or `cancel` fired.
pub async fn put_requests(
    peer: &Peer<RoleServer>,
    requests: InputRequests,
    related_task: Option<&str>,
    cancel: &CancellationToken,
) -> Result<Vec<(String, &'static str, ClientResult)>, AskError> {
    let mut answers = Vec::with_capacity(requests.len());
    for (key, request) in requests {
        let (method, mut request) = match request {
            InputRequest::CreateMessage(r) => (
                "sampling/createMessage",
                ServerRequest::CreateMessageRequest(r),
            ),
            InputRequest::Elicitation(r) => ("elicitation/create", ServerRequest::ElicitRequest(r)),
            InputRequest::ListRoots(r) => ("roots/list", ServerRequest::ListRootsRequest(r)),
            _ => return Err(AskError::Unsendable(key)),
        };
        if let Some(id) = related_task {
            request
                .get_meta_mut()
                .0
                .0
                .insert(RELATED_TASK.into(), json!({ "taskId": id }));
        }
        let answer = tokio::select! {
            answer = tokio::time::timeout(CLIENT_ANSWER_TIMEOUT, peer.send_request(request)) => answer,
            () = cancel.cancelled() => return Err(AskError::Cancelled),
        };
        let result = match answer {
            Err(_) => return Err(AskError::Timeout { method }),
            Ok(Err(source)) => return Err(AskError::ClientFailed { method, source }),
            Ok(Ok(result)) => result,
        };
        answers.push((key, method, result));
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(requests: Vec<(&str, types::InputRequest)>) -> types::InputRequired {
        types::InputRequired {
            requests: requests
                .into_iter()
                .map(|(k, r)| (k.to_string(), r))
                .collect(),
            state: None,
        }
    }

    #[test]
    fn check_refusals_read_as_sentences_about_the_plugin() {
        let roots = || types::InputRequest::ListRoots;
        let said =
            |asked: &types::InputRequired| format!("the plugin {}", check(asked).unwrap_err());
        assert_eq!(
            said(&asked(vec![])),
            "the plugin returned input-required without any request"
        );
        assert_eq!(
            said(&asked(vec![("k", roots()), ("k", roots())])),
            "the plugin used the input request key 'k' twice"
        );
        let mut big = asked(vec![("k", roots())]);
        big.state = Some(vec![0; MAX_STATE_BYTES + 1]);
        assert_eq!(
            said(&big),
            format!(
                "the plugin returned an input-required state of {} bytes, over the limit of {MAX_STATE_BYTES}",
                MAX_STATE_BYTES + 1
            )
        );
        assert!(check(&asked(vec![("a", roots()), ("b", roots())])).is_ok());
    }

    #[test]
    fn missing_capabilities_name_what_the_client_lacks() {
        let form = types::InputRequest::Elicitation(
            r#"{"message":"name?","requestedSchema":{"type":"object","properties":{}}}"#.into(),
        );
        let url = types::InputRequest::Elicitation(
            r#"{"mode":"url","message":"go","url":"https://x.example","elicitationId":"1"}"#.into(),
        );
        let sampling = types::InputRequest::Sampling(r#"{"messages":[],"maxTokens":10}"#.into());
        let all = asked(vec![
            ("a", form.clone()),
            ("b", sampling),
            ("c", types::InputRequest::ListRoots),
        ]);
        let missing = missing_capabilities(&all, None).unwrap();
        assert_eq!(
            serde_json::to_value(&missing).unwrap(),
            json!({"elicitation": {}, "sampling": {}, "roots": {}})
        );
        let caps: ClientCapabilities =
            serde_json::from_value(json!({"elicitation": {}, "sampling": {}, "roots": {}}))
                .unwrap();
        assert!(missing_capabilities(&all, Some(&caps)).is_none());
        // URL mode needs elicitation.url; form-only elicitation does not cover it.
        let url_only = asked(vec![("u", url)]);
        let missing = missing_capabilities(&url_only, Some(&caps)).unwrap();
        assert_eq!(
            serde_json::to_value(&missing).unwrap(),
            json!({"elicitation": {"url": {}}})
        );
        assert_eq!(capability_names(&missing), "elicitation");
    }

    #[test]
    fn plugin_requests_become_mcp_input_requests() {
        let requests = asked(vec![
            (
                "name",
                types::InputRequest::Elicitation(
                    r#"{"message":"Your name?","requestedSchema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}}"#.into(),
                ),
            ),
            ("roots", types::InputRequest::ListRoots),
        ]);
        let mcp = input_requests(&requests).unwrap();
        let wire = serde_json::to_value(&mcp).unwrap();
        assert_eq!(wire["name"]["method"], "elicitation/create");
        assert_eq!(wire["name"]["params"]["message"], "Your name?");
        assert_eq!(wire["roots"]["method"], "roots/list");
        let bad = asked(vec![("x", types::InputRequest::Sampling("[1]".into()))]);
        assert_eq!(
            input_requests(&bad).unwrap_err().to_string(),
            "input request 'x': the sampling/createMessage params must be a JSON object"
        );
        assert!(check(&asked(vec![])).is_err());
        assert!(
            check(&asked(vec![
                ("k", types::InputRequest::ListRoots),
                ("k", types::InputRequest::ListRoots)
            ]))
            .is_err()
        );
    }
}
