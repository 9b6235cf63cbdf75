//! `conformance`: the tools, resources and prompts the official MCP
//! conformance suite (`@modelcontextprotocol/conformance`) calls by name,
//! on WIT `capsule:plugin@0.2.0`.
//!
//! Install the component as `test.wasm`: Capsule publishes a tool or prompt
//! `<file stem>_<name>`, so the tool `simple_text` here is the suite's
//! `test_simple_text`. Resource URIs (`test://...`) are published as they are.
//!
//! Every answer follows the scenario's stated expectation (texts, media
//! types, URIs, input-request keys); `make conformance` runs the suite
//! against it. Elicitation, sampling and roots are asked with
//! `input-required` (the multi round-trip requests of SEP-2322): the host
//! returns an `InputRequiredResult` to 2026-07-28 clients and sends the
//! requests itself to 2025-11-25 clients, then calls the tool again with the
//! answers. Every interactive tool asks again when a retry lacks (or garbles)
//! the answer it needs, and never fails for it.
//!
//! Not here, because a plugin cannot do them: `test_trigger_tool_change` and
//! `test_trigger_prompt_change` (server-stateless probes that change the
//! server's tool and prompt lists; the lists are the host's, built from the
//! plugin directory). `json_schema_2020_12_tool` and the tasks extension
//! fixtures (`greet`, `slow_compute`, `failing_job`, `protocol_error_job`,
//! `confirm_delete`, `multi_input`) have no `test_` prefix: the suite's
//! runner (tests/conformance/run.py) gives the plugin a policy whose
//! `[publish] rename` publishes them under those names.

use std::collections::BTreeMap;
use std::thread::sleep;
use std::time::Duration;

use capsule_plugin::prelude::*;
use serde_json::{Value, json};

/// A 1x1 red pixel, 8-bit RGB PNG (made with Python's `zlib` and `struct`).
pub const RED_PIXEL_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xf7, 0x03, 0x41, 0x43, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Sample rate of [`beep_wav`].
const WAV_RATE: u32 = 8_000;

/// A 50 ms, 8 kHz, 8-bit mono PCM WAV file: a 400 Hz square wave.
pub fn beep_wav() -> Vec<u8> {
    let samples: Vec<u8> = (0..WAV_RATE / 20)
        .map(|i| if (i / 10) % 2 == 0 { 0xa0 } else { 0x60 })
        .collect();
    let data_len = samples.len() as u32;
    let mut wav = Vec::with_capacity(44 + samples.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&WAV_RATE.to_le_bytes());
    wav.extend_from_slice(&WAV_RATE.to_le_bytes()); // bytes per second
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend_from_slice(&samples);
    wav
}

/// The pause between the log lines and progress steps the scenarios ask for.
const STEP: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------- tools

/// The input schema the `json-schema-2020-12` scenario expects verbatim: `$schema`, `$defs` with
/// an `$anchor`, `additionalProperties`, composition (`allOf`/`anyOf`) and conditional
/// (`if`/`then`/`else`) keywords (SEP-1613, SEP-2106).
fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}}
            }
        },
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    })
}

fn json_schema_tool(_: Value) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text("ok"))
}

fn simple_text(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text(
        "This is a simple text response for testing.",
    ))
}

fn image_content(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::image(RED_PIXEL_PNG, "image/png"))
}

fn audio_content(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::new().with(Content::audio(beep_wav(), "audio/wav")))
}

fn embedded_resource(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::new().with(Content::resource(
        ResourceContents::text(
            "test://embedded-resource",
            "This is an embedded resource content.",
        )
        .mime_type("text/plain"),
    )))
}

fn multiple_content_types(_: NoArgs) -> Result<ToolOutput, ToolError> {
    let json = serde_json::json!({"test": "data", "value": 123}).to_string();
    Ok(ToolOutput::text("Multiple content types test:")
        .with(Content::image(RED_PIXEL_PNG, "image/png"))
        .with(Content::resource(
            ResourceContents::text("test://mixed-content-resource", json)
                .mime_type("application/json"),
        )))
}

fn tool_with_logging(_: NoArgs) -> Result<ToolOutput, ToolError> {
    log(LogLevel::Info, "Tool execution started");
    sleep(STEP);
    log(LogLevel::Info, "Tool processing data");
    sleep(STEP);
    log(LogLevel::Info, "Tool execution completed");
    Ok(ToolOutput::text("Tool with logging executed successfully"))
}

fn tool_with_progress(_: NoArgs) -> Result<ToolOutput, ToolError> {
    for (i, step) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if i > 0 {
            sleep(STEP);
        }
        progress(
            step,
            Some(100.0),
            Some(&format!("Completed step {step} of 100")),
        );
    }
    Ok(ToolOutput::text("Progress reported: 0, 50 and 100 of 100"))
}

fn error_handling(_: NoArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::error(
        "This tool intentionally returns an error for testing",
    ))
}

fn logging_tool(_: NoArgs) -> Result<ToolOutput, ToolError> {
    // The host forwards this only to a client that asked for log messages
    // (2026-07-28: `_meta` logLevel); server-stateless checks that a request
    // without one gets no `notifications/message`.
    log(LogLevel::Info, "Diagnostic trace logging activated");
    Ok(ToolOutput::text("Logging evaluated"))
}

fn streaming_elicitation(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    // server-stateless (2026-07-28) calls this with the elicitation
    // capability and checks that the response stream carries notifications
    // and a result (here an InputRequiredResult), never a server-to-client
    // request: with MRTR the question travels in the result.
    progress(50.0, Some(100.0), Some("Streaming"));
    if cx.elicitation("confirm").is_some() || !cx.client_capabilities().elicitation_form() {
        return Ok(Outcome::complete(ToolOutput::text("Streaming complete")));
    }
    Ok(InputRequired::new()
        .elicit("confirm", "Continue streaming?", confirm_schema())
        .into())
}

fn reconnection(_: NoArgs) -> Result<ToolOutput, ToolError> {
    // server-sse-polling (SEP-1699) expects the server to close the SSE
    // stream mid-call and deliver this result after the client reconnects;
    // closing the stream is the host's part, the plugin only takes a moment.
    sleep(Duration::from_millis(100));
    Ok(ToolOutput::text(
        "Reconnection test completed successfully. If you received this, the client \
         properly reconnected after stream closure.",
    ))
}

/// Arguments of `custom_header`.
#[derive(Deserialize, JsonSchema)]
struct RegionArgs {
    /// A region name; HTTP clients mirror it into the `Mcp-Param-Region`
    /// header (SEP-2243).
    #[schemars(extend("x-mcp-header" = "Region"))]
    region: String,
}

fn custom_header(args: RegionArgs) -> Result<ToolOutput, ToolError> {
    // http-custom-header-server-validation looks for a tool with a string
    // parameter annotated `x-mcp-header`; checking the header against the
    // body is the host's part.
    Ok(ToolOutput::text(format!("Region: {}", args.region)))
}

/// The URI `touch_watched_resource` reports as changed.
const WATCHED: &str = "test://watched-resource";

fn touch_watched_resource(_: NoArgs) -> Result<ToolOutput, ToolError> {
    // resources-subscribe/unsubscribe only check the replies; this is how a
    // client (and Capsule's e2e tests) sees a subscription deliver
    // `notifications/resources/updated`.
    resource_updated(WATCHED);
    Ok(ToolOutput::text(format!("Reported {WATCHED} as updated.")))
}

// ---------------------------------------------------------------- input required

/// `{"type": "object", "properties": {<field>: {"type": "string"}}, "required": [<field>]}`.
fn one_string_schema(field: &str) -> Value {
    json!({
        "type": "object",
        "properties": {field: {"type": "string"}},
        "required": [field],
    })
}

/// The `ok` confirmation form of the request-state scenarios.
fn confirm_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
    })
}

/// The accepted text field `field` of an elicitation answer, or how the user
/// answered instead (`declined`, `cancelled`, `gave no <field>`).
fn accepted_text(answer: &ElicitResult, field: &str) -> Result<String, String> {
    match (answer.action, answer.get(field)) {
        (ElicitAction::Accept, Some(Value::String(s))) => Ok(s.clone()),
        (ElicitAction::Accept, Some(other)) => Ok(other.to_string()),
        (ElicitAction::Accept, None) => Err(format!("gave no {field}")),
        (ElicitAction::Decline, _) => Err("declined".into()),
        (ElicitAction::Cancel, _) => Err("cancelled".into()),
    }
}

/// `file:///a (A), file:///b`.
fn roots_text(roots: &ListRootsResult) -> String {
    if roots.roots.is_empty() {
        return "none".into();
    }
    roots
        .roots
        .iter()
        .map(|r| match &r.name {
            Some(name) => format!("{} ({name})", r.uri),
            None => r.uri.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The answers gathered so far by a tool that needs several, carried from
/// round to round in the state: a retry may answer only some keys, and the
/// next round asks only for the rest.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Gathered {
    tool: String,
    answers: BTreeMap<String, Value>,
}

/// The answer under `key` if it has the shape `request` asks for, as JSON.
fn valid_answer(cx: &Context, key: &str, request: &InputRequest) -> Option<Value> {
    let value = match request {
        InputRequest::Elicitation(_) => serde_json::to_value(cx.elicitation(key)?),
        InputRequest::Sampling(_) => serde_json::to_value(cx.sampling(key)?),
        InputRequest::ListRoots => serde_json::to_value(cx.roots(key)?),
    };
    value.ok()
}

/// Gather an answer to every one of `wanted`: those already carried in the
/// state (if it is this `tool`'s) or given in this round. When some are
/// missing, ask for those, carrying the rest in the state.
fn gather(
    tool: &str,
    cx: &Context,
    wanted: Vec<(&str, InputRequest)>,
) -> Result<Result<BTreeMap<String, Value>, InputRequired>, ToolError> {
    let mut gathered = cx
        .state_json::<Gathered>()
        .filter(|g| g.tool == tool)
        .unwrap_or_else(|| Gathered {
            tool: tool.to_string(),
            answers: BTreeMap::new(),
        });
    let mut ask = InputRequired::new();
    for (key, request) in wanted {
        if gathered.answers.contains_key(key) {
            continue;
        }
        match valid_answer(cx, key, &request) {
            Some(answer) => {
                gathered.answers.insert(key.to_string(), answer);
            }
            None => ask = ask.request(key, request),
        }
    }
    if ask.is_empty() {
        return Ok(Ok(gathered.answers));
    }
    Ok(Err(ask.state_json(&gathered)?))
}

fn name_request() -> InputRequest {
    InputRequest::elicit("What is your name?", one_string_schema("name"))
}

fn capital_request() -> InputRequest {
    InputRequest::sample_text("What is the capital of France?", 100)
}

/// input-required-result-basic-elicitation (and -missing-input-response,
/// -result-type, -ignore-extra-params, -validate-input): `user_name`.
fn ir_elicitation(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(answer) = cx.elicitation("user_name") else {
        return Ok(InputRequired::new()
            .request("user_name", name_request())
            .into());
    };
    Ok(Outcome::complete(ToolOutput::text(
        match accepted_text(&answer, "name") {
            Ok(name) => format!("Hello, {name}!"),
            Err(why) => format!("Hello, stranger! (the user {why})"),
        },
    )))
}

/// input-required-result-basic-sampling: `capital_question`.
fn ir_sampling(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(answer) = cx.sampling("capital_question") else {
        return Ok(InputRequired::new()
            .request("capital_question", capital_request())
            .into());
    };
    Ok(Outcome::complete(ToolOutput::text(format!(
        "Sampling response: {}",
        answer.text()
    ))))
}

/// input-required-result-basic-list-roots: `client_roots`.
fn ir_list_roots(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(roots) = cx.roots("client_roots") else {
        return Ok(InputRequired::new().list_roots("client_roots").into());
    };
    Ok(Outcome::complete(ToolOutput::text(format!(
        "Client roots: {}",
        roots_text(&roots)
    ))))
}

/// The state of the request-state scenarios: what the second round must get
/// back, byte for byte.
const REQUEST_STATE: &[u8] = b"capsule-conformance/request-state/v1";
const TAMPERED_STATE: &[u8] = b"capsule-conformance/tampered-state/v1";

/// Ask `confirm` carrying `state` until a round brings both the answer and
/// the very same state back.
fn confirm_with_state(
    cx: &Context,
    state: &[u8],
    message: &str,
) -> Result<Outcome<ToolOutput>, ToolError> {
    match (cx.elicitation("confirm"), cx.state()) {
        (Some(answer), Some(got)) if got == state => {
            let ok = answer.is_accepted() && answer.get("ok") == Some(&Value::Bool(true));
            Ok(Outcome::complete(ToolOutput::text(format!(
                "state-ok: the request state came back intact (confirmed: {ok})"
            ))))
        }
        _ => Ok(InputRequired::new()
            .elicit("confirm", message, confirm_schema())
            .state(state.to_vec())
            .into()),
    }
}

/// input-required-result-request-state: the text must say `state-ok`.
fn ir_request_state(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    confirm_with_state(cx, REQUEST_STATE, "Please confirm")
}

/// input-required-result-tampered-state: the host refuses a tampered
/// `requestState` before this runs; an intact one completes.
fn ir_tampered_state(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    confirm_with_state(cx, TAMPERED_STATE, "Please confirm")
}

/// input-required-result-multiple-input-requests: an elicitation, a sampling
/// and a roots request in one round, with state.
fn ir_multiple_inputs(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let wanted = vec![
        ("user_name", name_request()),
        (
            "greeting",
            InputRequest::sample_text("Generate a greeting", 50),
        ),
        ("client_roots", InputRequest::ListRoots),
    ];
    let answers = match gather("multiple_inputs", cx, wanted)? {
        Ok(answers) => answers,
        Err(ask) => return Ok(ask.into()),
    };
    let name = serde_json::from_value::<ElicitResult>(answers["user_name"].clone())
        .map_err(|e| ToolError::internal(e.to_string()))?;
    let greeting = serde_json::from_value::<CreateMessageResult>(answers["greeting"].clone())
        .map_err(|e| ToolError::internal(e.to_string()))?;
    let roots = serde_json::from_value::<ListRootsResult>(answers["client_roots"].clone())
        .map_err(|e| ToolError::internal(e.to_string()))?;
    Ok(Outcome::complete(ToolOutput::text(format!(
        "All inputs received. Name: {}; greeting: {}; roots: {}",
        accepted_text(&name, "name").unwrap_or_else(|why| format!("(the user {why})")),
        greeting.text(),
        roots_text(&roots),
    ))))
}

/// Where input-required-result-multi-round is, carried in the state.
#[derive(Debug, Serialize, Deserialize)]
struct MultiRound {
    round: u32,
    name: Option<String>,
}

/// input-required-result-multi-round: `step1` (a name), then `step2` (a
/// colour) with a new state, then the result.
fn ir_multi_round(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let step1 = |state: &MultiRound| -> Result<Outcome<ToolOutput>, ToolError> {
        Ok(InputRequired::new()
            .elicit(
                "step1",
                "Step 1: What is your name?",
                one_string_schema("name"),
            )
            .state_json(state)?
            .into())
    };
    let step2 = |state: &MultiRound| -> Result<Outcome<ToolOutput>, ToolError> {
        Ok(InputRequired::new()
            .elicit(
                "step2",
                "Step 2: What is your favorite color?",
                one_string_schema("color"),
            )
            .state_json(state)?
            .into())
    };
    match cx.state_json::<MultiRound>() {
        Some(MultiRound {
            round: 2,
            name: Some(name),
        }) => match cx.elicitation("step2") {
            Some(answer) => {
                let color = accepted_text(&answer, "color")
                    .unwrap_or_else(|why| format!("unknown (the user {why})"));
                Ok(Outcome::complete(ToolOutput::text(format!(
                    "Hello, {name}! Your favorite color is {color}."
                ))))
            }
            None => step2(&MultiRound {
                round: 2,
                name: Some(name),
            }),
        },
        _ => match cx.elicitation("step1") {
            Some(answer) => step2(&MultiRound {
                round: 2,
                name: Some(
                    accepted_text(&answer, "name").unwrap_or_else(|_| "stranger".to_string()),
                ),
            }),
            None => step1(&MultiRound {
                round: 1,
                name: None,
            }),
        },
    }
}

/// input-required-result-capability-check: ask only for what the client
/// declared (`elicitation`, `sampling`, `roots`).
fn ir_capabilities(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let caps = cx.client_capabilities();
    let mut wanted = Vec::new();
    if caps.elicitation_form() {
        wanted.push(("user_name", name_request()));
    }
    if caps.sampling() {
        wanted.push(("capital_question", capital_request()));
    }
    if caps.roots() {
        wanted.push(("client_roots", InputRequest::ListRoots));
    }
    if wanted.is_empty() {
        return Ok(Outcome::complete(ToolOutput::text(
            "The client declared none of elicitation, sampling and roots: nothing to ask",
        )));
    }
    let answers = match gather("capabilities", cx, wanted)? {
        Ok(answers) => answers,
        Err(ask) => return Ok(ask.into()),
    };
    let keys: Vec<&str> = answers.keys().map(String::as_str).collect();
    Ok(Outcome::complete(ToolOutput::text(format!(
        "Asked only for what the client declared; answers: {}",
        keys.join(", ")
    ))))
}

/// server-stateless (2026-07-28): needs sampling whatever the client
/// declared, so a client without it gets MCP error -32021 from the host.
fn missing_capability(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(answer) = cx.sampling("completion") else {
        return Ok(InputRequired::new()
            .sample_text("completion", "Say hello", 20)
            .into());
    };
    Ok(Outcome::complete(ToolOutput::text(format!(
        "LLM response: {}",
        answer.text()
    ))))
}

/// Arguments of `sampling`.
#[derive(Deserialize, JsonSchema)]
struct SamplingArgs {
    /// The prompt to send to the LLM
    prompt: String,
}

/// tools-call-sampling (2025-11-25): `sampling/createMessage` with the
/// prompt, then `LLM response: <text>`.
fn sampling(args: SamplingArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(answer) = cx.sampling("llm") else {
        return Ok(InputRequired::new()
            .sample_text("llm", args.prompt, 100)
            .into());
    };
    Ok(Outcome::complete(ToolOutput::text(format!(
        "LLM response: {}",
        answer.text()
    ))))
}

/// Arguments of `elicitation`.
#[derive(Deserialize, JsonSchema)]
struct ElicitationArgs {
    /// The message to show the user
    message: String,
}

/// tools-call-elicitation (2025-11-25): a username and email form, then the
/// user's response.
fn elicitation(args: ElicitationArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(answer) = cx.elicitation("user_response") else {
        return Ok(InputRequired::new()
            .elicit(
                "user_response",
                args.message,
                json!({
                    "type": "object",
                    "properties": {
                        "username": {"type": "string", "description": "User's response"},
                        "email": {"type": "string", "description": "User's email address"},
                    },
                    "required": ["username", "email"],
                }),
            )
            .into());
    };
    Ok(Outcome::complete(ToolOutput::text(format!(
        "User response: action={}, content={}",
        action_name(answer.action),
        answer.content_json()
    ))))
}

fn action_name(action: ElicitAction) -> &'static str {
    match action {
        ElicitAction::Accept => "accept",
        ElicitAction::Decline => "decline",
        ElicitAction::Cancel => "cancel",
    }
}

/// Ask `form` under `key` with `message`, then report the answer as
/// `Elicitation completed: action=..., content={...}`.
fn elicit_form(cx: &Context, message: &str, form: Value) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(answer) = cx.elicitation("form") else {
        return Ok(InputRequired::new().elicit("form", message, form).into());
    };
    Ok(Outcome::complete(ToolOutput::text(format!(
        "Elicitation completed: action={}, content={}",
        action_name(answer.action),
        answer.content_json()
    ))))
}

/// elicitation-sep1034-defaults (2025-11-25): a default for every primitive
/// type.
fn elicitation_sep1034_defaults(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    elicit_form(
        cx,
        "Please review and update the form fields with defaults",
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {
                    "type": "string",
                    "description": "User status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active",
                },
                "verified": {"type": "boolean", "description": "Verification status", "default": true},
            },
            "required": [],
        }),
    )
}

/// elicitation-sep1330-enums (2025-11-25): the five enum forms.
fn elicitation_sep1330_enums(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    elicit_form(
        cx,
        "Please select options from the enum fields",
        json!({
            "type": "object",
            "properties": {
                "untitledSingle": {
                    "type": "string",
                    "description": "Select one option",
                    "enum": ["option1", "option2", "option3"],
                },
                "titledSingle": {
                    "type": "string",
                    "description": "Select one option with titles",
                    "oneOf": [
                        {"const": "value1", "title": "First Option"},
                        {"const": "value2", "title": "Second Option"},
                        {"const": "value3", "title": "Third Option"},
                    ],
                },
                "legacyEnum": {
                    "type": "string",
                    "description": "Select one option (legacy)",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"],
                },
                "untitledMulti": {
                    "type": "array",
                    "description": "Select multiple options",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
                },
                "titledMulti": {
                    "type": "array",
                    "description": "Select multiple options with titles",
                    "minItems": 1,
                    "maxItems": 3,
                    "items": {
                        "anyOf": [
                            {"const": "value1", "title": "First Choice"},
                            {"const": "value2", "title": "Second Choice"},
                            {"const": "value3", "title": "Third Choice"},
                        ],
                    },
                },
            },
            "required": [],
        }),
    )
}

// ---------------------------------------------------------------- resources

/// The text of `test://template/{id}/data`.
fn template_data(vars: &Vars) -> Result<String, ToolError> {
    let id = &vars["id"];
    Ok(serde_json::json!({
        "id": id,
        "templateTest": true,
        "data": format!("Data for ID: {id}"),
    })
    .to_string())
}

/// Ids the template's `{id}` completer suggests.
const TEMPLATE_IDS: [&str; 6] = ["1", "2", "42", "100", "123", "456"];

// ---------------------------------------------------------------- prompts

fn simple_prompt(_: &PromptArgs) -> Result<String, ToolError> {
    Ok("This is a simple prompt for testing.".to_string())
}

fn prompt_with_arguments(args: &PromptArgs) -> Result<String, ToolError> {
    let arg1 = args.require("arg1")?;
    let arg2 = args.require("arg2")?;
    Ok(format!(
        "Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"
    ))
}

/// Values the `arg1` completer of `prompt_with_arguments` suggests.
const ARG1_VALUES: [&str; 7] = ["hello", "help", "paris", "park", "party", "test", "testing"];

/// `arg2` suggestions, which depend on `arg1` when it is filled in.
fn arg2_values(arg1: Option<&str>) -> &'static [&'static str] {
    match arg1 {
        Some("hello" | "help") => &["world", "there", "everyone"],
        Some("paris" | "park" | "party") => &["france", "texas", "ontario"],
        _ => &["alpha", "beta", "gamma"],
    }
}

/// input-required-result-non-tool-request: `prompts/get` asks
/// `user_context` first.
fn ir_prompt(_: &PromptArgs, cx: &Context) -> Result<Outcome<Vec<Message>>, ToolError> {
    let Some(answer) = cx.elicitation("user_context") else {
        return Ok(InputRequired::new()
            .elicit(
                "user_context",
                "What context should the prompt use?",
                one_string_schema("context"),
            )
            .into());
    };
    let context =
        accepted_text(&answer, "context").unwrap_or_else(|why| format!("none (the user {why})"));
    Ok(Outcome::complete(vec![
        Message::user(format!("Context: {context}")),
        Message::user("Answer with this context in mind."),
    ]))
}

fn prompt_with_embedded_resource(args: &PromptArgs) -> Result<Vec<Message>, ToolError> {
    let uri = args.require("resourceUri")?;
    Ok(vec![
        Message::new(
            Role::User,
            Content::resource(
                ResourceContents::text(uri, "Embedded resource content for testing.")
                    .mime_type("text/plain"),
            ),
        ),
        Message::user("Please process the embedded resource above."),
    ])
}

fn prompt_with_image(_: &PromptArgs) -> Result<Vec<Message>, ToolError> {
    Ok(vec![
        Message::new(Role::User, Content::image(RED_PIXEL_PNG, "image/png")),
        Message::user("Please analyze the image above."),
    ])
}

// ------------------------------------------------------- tasks (SEP-2663)
//
// The tasks extension scenarios call these by their bare names (run.py
// renames them). Each long job sleeps a little before it asks or ends, as a
// real job would, so that it outlives the host's synchronous window and runs
// as a task; a call that ends or asks within the window answers in its
// request.

/// Arguments of `greet`.
#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// Who to greet
    name: String,
}

/// `greet` (sync only): `Hello, {name}!`.
fn greet(args: GreetArgs) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text(format!("Hello, {}!", args.name)))
}

/// Arguments of `slow_compute`.
#[derive(Deserialize, JsonSchema)]
struct SlowComputeArgs {
    /// How long to compute, in seconds (0: at once)
    seconds: u64,
    /// A label echoed in the result
    label: Option<String>,
}

/// `slow_compute` (task optional): sleeps `seconds`, reporting progress each
/// second, then answers.
fn slow_compute(args: SlowComputeArgs) -> Result<ToolOutput, ToolError> {
    let label = args.label.unwrap_or_else(|| "job".into());
    let total = args.seconds as f64;
    for done in 0..args.seconds {
        progress(
            done as f64,
            Some(total),
            Some(&format!("{label}: {done} of {} s", args.seconds)),
        );
        sleep(Duration::from_secs(1));
    }
    Ok(ToolOutput::text(format!(
        "{label}: computed for {} s",
        args.seconds
    )))
}

/// `failing_job` (task required): a tool execution error after about 1 s.
fn failing_job(_: NoArgs) -> Result<ToolOutput, ToolError> {
    sleep(Duration::from_secs(1));
    Ok(ToolOutput::error("failing_job failed on purpose after 1 s"))
}

/// `protocol_error_job` (task required): crashes after about 1 s (a trap,
/// which the host reports as a failed task).
fn protocol_error_job(_: NoArgs) -> Result<ToolOutput, ToolError> {
    sleep(Duration::from_secs(1));
    panic!("protocol_error_job crashes on purpose")
}

/// Arguments of `confirm_delete`.
#[derive(Deserialize, JsonSchema)]
struct ConfirmDeleteArgs {
    /// The file to delete
    filename: String,
}

/// `confirm_delete` (task optional): looks at the file for about 1 s, then
/// asks to confirm (`confirm`); deletes nothing either way.
fn confirm_delete(args: ConfirmDeleteArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(answer) = cx.elicitation("confirm") else {
        sleep(Duration::from_secs(1));
        return Ok(InputRequired::new()
            .elicit(
                "confirm",
                format!("Delete {}?", args.filename),
                json!({
                    "type": "object",
                    "properties": {"confirm": {"type": "boolean"}},
                    "required": ["confirm"],
                }),
            )
            .into());
    };
    let confirmed =
        answer.action == ElicitAction::Accept && answer.get("confirm") == Some(&Value::Bool(true));
    Ok(Outcome::complete(ToolOutput::text(if confirmed {
        format!("Deleted {}", args.filename)
    } else {
        format!("Kept {}", args.filename)
    })))
}

/// `multi_input` (task optional): after about 1 s, asks two questions at
/// once (`name` and `confirm`), then answers with both.
fn multi_input(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let (Some(name), Some(confirm)) = (cx.elicitation("name"), cx.elicitation("confirm")) else {
        sleep(Duration::from_secs(1));
        return Ok(InputRequired::new()
            .request("name", name_request())
            .elicit("confirm", "Go ahead?", confirm_schema())
            .into());
    };
    Ok(Outcome::complete(ToolOutput::text(format!(
        "Both answers: name {}, confirm {}",
        accepted_text(&name, "name").unwrap_or_else(|why| format!("(the user {why})")),
        action_name(confirm.action),
    ))))
}

/// `tool_with_task` (task required): asks `user_name` at once (before any
/// task: the request's own multi round-trip), then works about 1 s as a
/// task and greets the name gathered.
fn tool_with_task(_: NoArgs, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
    let Some(answer) = cx.elicitation("user_name") else {
        return Ok(InputRequired::new()
            .request("user_name", name_request())
            .into());
    };
    sleep(Duration::from_secs(1));
    let name = accepted_text(&answer, "name").unwrap_or_else(|why| format!("(the user {why})"));
    Ok(Outcome::complete(ToolOutput::text(format!(
        "Hello, {name}! (asked before the task, greeted from it)"
    ))))
}

// ---------------------------------------------------------------- the plugin

/// Everything the plugin serves.
pub fn plugin() -> Plugin {
    Plugin::new(
        Metadata::new("conformance", env!("CARGO_PKG_VERSION")).description(
            "The fixture of the MCP conformance suite: install as test.wasm so tools and prompts \
             are published as test_<name>",
        ),
    )
    // Tools (tools-* scenarios).
    .tool(
        tool(
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            json_schema_tool,
        )
        .input_schema_verbatim(json_schema_2020_12())
        .read_only(),
    )
    .tool(tool("simple_text", "Tests simple text content response", simple_text).read_only())
    .tool(tool("image_content", "Tests image content response", image_content).read_only())
    .tool(tool("audio_content", "Tests audio content response", audio_content).read_only())
    .tool(
        tool(
            "embedded_resource",
            "Tests embedded resource content response",
            embedded_resource,
        )
        .read_only(),
    )
    .tool(
        tool(
            "multiple_content_types",
            "Tests response with multiple content types (text, image, resource)",
            multiple_content_types,
        )
        .read_only(),
    )
    .tool(tool(
        "tool_with_logging",
        "Tests tool that emits log messages during execution",
        tool_with_logging,
    ))
    .tool(tool(
        "tool_with_progress",
        "Tests tool that reports progress notifications",
        tool_with_progress,
    ))
    .tool(tool(
        "error_handling",
        "Tests error response handling",
        error_handling,
    ))
    // Diagnostics of server-stateless (2026-07-28) and server-sse-polling.
    .tool(tool(
        "logging_tool",
        "Diagnostic logging validator tool: logs one info message",
        logging_tool,
    ))
    .tool(interactive_tool(
        "streaming_elicitation",
        "Diagnostic tool validating response streams: reports progress, then asks to continue \
         (an input-required result) when the client can elicit",
        streaming_elicitation,
    ))
    .tool(interactive_tool(
        "missing_capability",
        "Diagnostic tool that always needs the client's sampling capability",
        missing_capability,
    ))
    // Elicitation and sampling (2025-11-25: the host asks the client during
    // the call).
    .tool(interactive_tool(
        "sampling",
        "Tests server-initiated sampling (LLM completion request)",
        sampling,
    ))
    .tool(interactive_tool(
        "elicitation",
        "Tests server-initiated elicitation (user input request)",
        elicitation,
    ))
    .tool(interactive_tool(
        "elicitation_sep1034_defaults",
        "Tests elicitation with default values per SEP-1034",
        elicitation_sep1034_defaults,
    ))
    .tool(interactive_tool(
        "elicitation_sep1330_enums",
        "Tests elicitation with enum schema improvements per SEP-1330",
        elicitation_sep1330_enums,
    ))
    // Input-required results (2026-07-28, SEP-2322).
    .tool(interactive_tool(
        "input_required_result_elicitation",
        "Asks the user's name (elicitation `user_name`), then greets them",
        ir_elicitation,
    ))
    .tool(interactive_tool(
        "input_required_result_sampling",
        "Asks the client's model for the capital of France (sampling `capital_question`)",
        ir_sampling,
    ))
    .tool(interactive_tool(
        "input_required_result_list_roots",
        "Asks for the client's roots (`client_roots`) and lists them",
        ir_list_roots,
    ))
    .tool(interactive_tool(
        "input_required_result_request_state",
        "Asks for a confirmation with a request state and checks the state comes back (state-ok)",
        ir_request_state,
    ))
    .tool(interactive_tool(
        "input_required_result_multiple_inputs",
        "Asks for a name, a sampled greeting and the roots in one round",
        ir_multiple_inputs,
    ))
    .tool(interactive_tool(
        "input_required_result_multi_round",
        "Asks for a name (step1), then a colour (step2) with an updated state, then answers",
        ir_multi_round,
    ))
    .tool(interactive_tool(
        "input_required_result_tampered_state",
        "Asks for a confirmation with a request state; the host refuses a tampered one",
        ir_tampered_state,
    ))
    .tool(interactive_tool(
        "input_required_result_capabilities",
        "Asks only for what the client declared: elicitation, sampling, roots",
        ir_capabilities,
    ))
    .tool(tool(
        "reconnection",
        "Tests SSE stream disconnection and client reconnection (SEP-1699): takes ~100 ms",
        reconnection,
    ))
    .tool(
        tool(
            "custom_header",
            "Echoes a parameter that HTTP clients mirror into the Mcp-Param-Region header (SEP-2243)",
            custom_header,
        )
        .read_only(),
    )
    .tool(tool(
        "touch_watched_resource",
        "Reports test://watched-resource as updated (notifications/resources/updated to its subscribers)",
        touch_watched_resource,
    ))
    // Tasks extension (tasks-* scenarios of 2026-07-28).
    .tool(tool("greet", "Greets someone (never a task)", greet).read_only())
    .tool(
        tool(
            "slow_compute",
            "Computes for `seconds` seconds, reporting progress (may run as a task)",
            slow_compute,
        )
        .task_support(TaskSupport::Optional),
    )
    .tool(
        tool(
            "failing_job",
            "A job that fails with a tool error after about 1 s (runs only as a task)",
            failing_job,
        )
        .task_support(TaskSupport::Required),
    )
    .tool(
        tool(
            "protocol_error_job",
            "A job that crashes after about 1 s (runs only as a task)",
            protocol_error_job,
        )
        .task_support(TaskSupport::Required),
    )
    .tool(
        interactive_tool(
            "confirm_delete",
            "Asks to confirm deleting a file, after looking at it (may run as a task)",
            confirm_delete,
        )
        .task_support(TaskSupport::Optional),
    )
    .tool(
        interactive_tool(
            "multi_input",
            "Asks two questions at once (may run as a task)",
            multi_input,
        )
        .task_support(TaskSupport::Optional),
    )
    .tool(
        interactive_tool(
            "tool_with_task",
            "Asks a name first, then greets it from a task (runs only as a task)",
            tool_with_task,
        )
        .task_support(TaskSupport::Required),
    )
    // Resources (resources-* scenarios).
    .resource(
        resource("test://static-text", "static-text", || {
            Ok("This is the content of the static text resource.")
        })
        .title("Static Text Resource")
        .description("A static text resource for testing")
        .mime_type("text/plain"),
    )
    .resource(
        resource("test://static-binary", "static-binary", || {
            Ok(RED_PIXEL_PNG.to_vec())
        })
        .title("Static Binary Resource")
        .description("A static binary resource (image) for testing")
        .mime_type("image/png"),
    )
    .resource(
        resource("test://watched-resource", "watched-resource", || {
            Ok("This is the content of the watched resource.")
        })
        .title("Watched Resource")
        .description("A resource clients can subscribe to")
        .mime_type("text/plain"),
    )
    .template(
        template("test://template/{id}/data", "template", template_data)
            .title("Resource Template")
            .description("A resource template with parameter substitution")
            .mime_type("application/json")
            .completer("id", |partial, _| {
                Completion::matching(TEMPLATE_IDS, partial)
            }),
    )
    // Prompts (prompts-* scenarios).
    .prompt(
        prompt(
            "simple_prompt",
            "A simple prompt without arguments",
            simple_prompt,
        )
        .title("Simple Test Prompt"),
    )
    .prompt(
        prompt(
            "prompt_with_arguments",
            "A prompt with required arguments",
            prompt_with_arguments,
        )
        .title("Prompt With Arguments")
        .required("arg1", "First test argument")
        .required("arg2", "Second test argument")
        .completer("arg1", |partial, _| {
            Completion::matching(ARG1_VALUES, partial)
        })
        .completer("arg2", |partial, cx| {
            Completion::matching(arg2_values(cx.get("arg1")).iter().copied(), partial)
        }),
    )
    .prompt(
        prompt(
            "prompt_with_embedded_resource",
            "A prompt that includes an embedded resource",
            prompt_with_embedded_resource,
        )
        .title("Prompt With Embedded Resource")
        .required("resourceUri", "URI of the resource to embed"),
    )
    .prompt(
        prompt(
            "prompt_with_image",
            "A prompt that includes image content",
            prompt_with_image,
        )
        .title("Prompt With Image"),
    )
    .prompt(
        interactive_prompt(
            "input_required_result_prompt",
            "A prompt that asks the user for its context first (elicitation `user_context`)",
            ir_prompt,
        )
        .title("Prompt With Input Required"),
    )
}

capsule_plugin::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;
    use capsule_plugin::testing;
    use serde_json::Value;

    fn call(name: &str) -> ToolOutput {
        plugin().call_tool(name, "{}").expect("tool runs")
    }

    /// One round of tool `name` with `arguments`.
    fn round(name: &str, arguments: Value, resume: Option<Resumption>) -> Outcome<ToolOutput> {
        plugin()
            .call_tool_with(name, &arguments.to_string(), resume)
            .expect("tool runs")
    }

    /// The input required by one round (panics if it completed).
    fn asks(outcome: Outcome<ToolOutput>) -> InputRequired {
        match outcome {
            Outcome::InputRequired(input) => input,
            Outcome::Complete(out) => panic!("expected input-required, got {out:?}"),
        }
    }

    /// The text of a completed round (panics if it asked for input).
    fn text(outcome: Outcome<ToolOutput>) -> String {
        match outcome {
            Outcome::Complete(out) => {
                assert!(!out.is_error, "{out:?}");
                match &out.content[..] {
                    [Content::Text { text, .. }] => text.clone(),
                    other => panic!("expected one text block, got {other:?}"),
                }
            }
            Outcome::InputRequired(input) => panic!("expected a result, got {input:?}"),
        }
    }

    /// The keys and methods a round asks for.
    fn requests(input: &InputRequired) -> Vec<(&str, &'static str)> {
        input
            .requests()
            .iter()
            .map(|(k, r)| (k.as_str(), r.method()))
            .collect()
    }

    fn params(input: &InputRequired, key: &str) -> Value {
        match input.get(key) {
            Some(InputRequest::Elicitation(p) | InputRequest::Sampling(p)) => p.clone(),
            other => panic!("{key}: {other:?}"),
        }
    }

    fn accept(content: Value) -> Value {
        json!({"action": "accept", "content": content})
    }

    fn sampled(text: &str) -> Value {
        json!({
            "role": "assistant",
            "content": {"type": "text", "text": text},
            "model": "test-model",
            "stopReason": "endTurn"
        })
    }

    fn test_roots() -> Value {
        json!({"roots": [{"uri": "file:///test/root", "name": "Test Root"}]})
    }

    /// The state a round carries, as the next round's resumption.
    fn carry(input: &InputRequired) -> Resumption {
        match input.state_bytes() {
            Some(state) => Resumption::new().state(state.to_vec()),
            None => Resumption::new(),
        }
    }

    #[test]
    fn media_are_well_formed() {
        assert_eq!(&RED_PIXEL_PNG[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&RED_PIXEL_PNG[12..16], b"IHDR");
        assert_eq!(&RED_PIXEL_PNG[16..24], &[0, 0, 0, 1, 0, 0, 0, 1]);
        assert_eq!(&RED_PIXEL_PNG[RED_PIXEL_PNG.len() - 8..][..4], b"IEND");
        let wav = beep_wav();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        let riff_len = u32::from_le_bytes(wav[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_len + 8, wav.len());
        let data_len = u32::from_le_bytes(wav[40..44].try_into().unwrap()) as usize;
        assert_eq!(data_len + 44, wav.len());
    }

    #[test]
    fn tools_answer_what_the_scenarios_expect() {
        assert_eq!(
            call("simple_text").content,
            vec![Content::text("This is a simple text response for testing.")]
        );
        assert_eq!(
            call("image_content").content,
            vec![Content::image(RED_PIXEL_PNG, "image/png")]
        );
        assert_eq!(
            call("audio_content").content,
            vec![Content::audio(beep_wav(), "audio/wav")]
        );
        assert_eq!(
            call("embedded_resource").content,
            vec![Content::resource(
                ResourceContents::text(
                    "test://embedded-resource",
                    "This is an embedded resource content."
                )
                .mime_type("text/plain")
            )]
        );
        let mixed = call("multiple_content_types").content;
        assert_eq!(mixed.len(), 3);
        assert_eq!(mixed[0], Content::text("Multiple content types test:"));
        assert_eq!(mixed[1], Content::image(RED_PIXEL_PNG, "image/png"));
        let Content::Resource(embedded) = &mixed[2] else {
            panic!("{:?}", mixed[2])
        };
        assert_eq!(embedded.uri, "test://mixed-content-resource");
        assert_eq!(embedded.mime_type.as_deref(), Some("application/json"));
        let ResourceBody::Text(text) = &embedded.body else {
            panic!("{embedded:?}")
        };
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            serde_json::json!({"test": "data", "value": 123})
        );
        let error = call("error_handling");
        assert!(error.is_error);
        assert_eq!(
            error.content,
            vec![Content::text(
                "This tool intentionally returns an error for testing"
            )]
        );
        for name in ["tool_with_logging", "tool_with_progress", "logging_tool"] {
            let out = call(name);
            assert!(!out.is_error, "{name}");
            assert!(matches!(&out.content[..], [Content::Text { .. }]), "{name}");
        }
    }

    #[test]
    fn custom_header_parameter_is_annotated() {
        let p = plugin();
        let t = p
            .tools()
            .iter()
            .find(|t| t.name() == "custom_header")
            .expect("custom_header");
        let schema = t.input_schema();
        assert_eq!(schema["properties"]["region"]["type"], "string");
        assert_eq!(schema["properties"]["region"]["x-mcp-header"], "Region");
        assert_eq!(schema["required"], serde_json::json!(["region"]));
        let out = p
            .call_tool("custom_header", r#"{"region":"eu-west-1"}"#)
            .unwrap();
        assert_eq!(out.content, vec![Content::text("Region: eu-west-1")]);
    }

    #[test]
    fn resources_and_template_read() {
        let p = plugin();
        let text = p.read_resource("test://static-text").unwrap();
        assert_eq!(
            text,
            vec![
                ResourceContents::text(
                    "test://static-text",
                    "This is the content of the static text resource."
                )
                .mime_type("text/plain")
            ]
        );
        let binary = p.read_resource("test://static-binary").unwrap();
        assert_eq!(
            binary,
            vec![
                ResourceContents::blob("test://static-binary", RED_PIXEL_PNG)
                    .mime_type("image/png")
            ]
        );
        let watched = p.read_resource("test://watched-resource").unwrap();
        assert_eq!(watched[0].mime_type.as_deref(), Some("text/plain"));
        let data = p.read_resource("test://template/123/data").unwrap();
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].uri, "test://template/123/data");
        assert_eq!(data[0].mime_type.as_deref(), Some("application/json"));
        let ResourceBody::Text(text) = &data[0].body else {
            panic!("{data:?}")
        };
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            serde_json::json!({"id": "123", "templateTest": true, "data": "Data for ID: 123"})
        );
        assert!(matches!(
            p.read_resource("test://nonexistent-resource-for-conformance-testing"),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn prompts_render() {
        let p = plugin();
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let simple = p.get_prompt("simple_prompt", &[]).unwrap();
        assert_eq!(
            simple.messages,
            vec![Message::user("This is a simple prompt for testing.")]
        );
        let args = p
            .get_prompt(
                "prompt_with_arguments",
                &pairs(&[("arg1", "hello"), ("arg2", "world")]),
            )
            .unwrap();
        assert_eq!(
            args.messages,
            vec![Message::user(
                "Prompt with arguments: arg1='hello', arg2='world'"
            )]
        );
        let embedded = p
            .get_prompt(
                "prompt_with_embedded_resource",
                &pairs(&[("resourceUri", "test://example-resource")]),
            )
            .unwrap();
        assert_eq!(
            embedded.messages,
            vec![
                Message::new(
                    Role::User,
                    Content::resource(
                        ResourceContents::text(
                            "test://example-resource",
                            "Embedded resource content for testing."
                        )
                        .mime_type("text/plain")
                    )
                ),
                Message::user("Please process the embedded resource above."),
            ]
        );
        let image = p.get_prompt("prompt_with_image", &[]).unwrap();
        assert_eq!(
            image.messages,
            vec![
                Message::new(Role::User, Content::image(RED_PIXEL_PNG, "image/png")),
                Message::user("Please analyze the image above."),
            ]
        );
    }

    #[test]
    fn elicitation_asks_user_name_then_greets() {
        let name = "input_required_result_elicitation";
        let first = asks(round(name, json!({}), None));
        assert_eq!(requests(&first), [("user_name", "elicitation/create")]);
        assert_eq!(
            params(&first, "user_name"),
            json!({
                "message": "What is your name?",
                "requestedSchema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}},
                    "required": ["name"]
                }
            })
        );
        let answered = Resumption::new().response("user_name", accept(json!({"name": "Alice"})));
        assert_eq!(
            text(round(name, json!({}), Some(answered))),
            "Hello, Alice!"
        );
        // Extra keys are ignored (ignore-extra-params).
        let extra = Resumption::new()
            .response("user_name", accept(json!({"name": "Alice"})))
            .response("unknown_extra_key", accept(json!({"foo": "bar"})));
        assert_eq!(text(round(name, json!({}), Some(extra))), "Hello, Alice!");
        let declined = Resumption::new().response("user_name", json!({"action": "decline"}));
        assert_eq!(
            text(round(name, json!({}), Some(declined))),
            "Hello, stranger! (the user declined)"
        );
    }

    #[test]
    fn missing_or_malformed_answers_are_asked_again() {
        let name = "input_required_result_elicitation";
        for resume in [
            Resumption::new().response("wrong_key", accept(json!({"data": "wrong"}))),
            Resumption::new().response("user_name", json!(12345)),
            Resumption::new().response_text("user_name", "{not json"),
            Resumption::new(),
        ] {
            let again = asks(round(name, json!({}), Some(resume)));
            assert_eq!(requests(&again), [("user_name", "elicitation/create")]);
        }
    }

    #[test]
    fn sampling_and_roots() {
        let first = asks(round("input_required_result_sampling", json!({}), None));
        assert_eq!(
            requests(&first),
            [("capital_question", "sampling/createMessage")]
        );
        assert_eq!(
            params(&first, "capital_question"),
            json!({
                "messages": [{
                    "role": "user",
                    "content": {"type": "text", "text": "What is the capital of France?"}
                }],
                "maxTokens": 100
            })
        );
        let answered = Resumption::new().response(
            "capital_question",
            sampled("The capital of France is Paris."),
        );
        assert_eq!(
            text(round(
                "input_required_result_sampling",
                json!({}),
                Some(answered)
            )),
            "Sampling response: The capital of France is Paris."
        );

        let first = asks(round("input_required_result_list_roots", json!({}), None));
        assert_eq!(requests(&first), [("client_roots", "roots/list")]);
        let answered = Resumption::new().response("client_roots", test_roots());
        assert_eq!(
            text(round(
                "input_required_result_list_roots",
                json!({}),
                Some(answered)
            )),
            "Client roots: file:///test/root (Test Root)"
        );
    }

    #[test]
    fn request_state_must_come_back_intact() {
        for name in [
            "input_required_result_request_state",
            "input_required_result_tampered_state",
        ] {
            let first = asks(round(name, json!({}), None));
            assert_eq!(requests(&first), [("confirm", "elicitation/create")]);
            assert_eq!(params(&first, "confirm")["message"], "Please confirm");
            assert!(first.state_bytes().is_some_and(|s| !s.is_empty()));
            let ok = carry(&first).response("confirm", accept(json!({"ok": true})));
            let done = text(round(name, json!({}), Some(ok)));
            assert!(done.contains("state-ok"), "{done}");
            // Without the state, or with another one, it starts over.
            for resume in [
                Resumption::new().response("confirm", accept(json!({"ok": true}))),
                Resumption::new()
                    .state(b"other".to_vec())
                    .response("confirm", accept(json!({"ok": true}))),
            ] {
                let again = asks(round(name, json!({}), Some(resume)));
                assert_eq!(again.state_bytes(), first.state_bytes());
            }
        }
    }

    #[test]
    fn multiple_inputs_in_one_round_and_partial_answers() {
        let name = "input_required_result_multiple_inputs";
        let first = asks(round(name, json!({}), None));
        assert_eq!(
            requests(&first),
            [
                ("user_name", "elicitation/create"),
                ("greeting", "sampling/createMessage"),
                ("client_roots", "roots/list"),
            ]
        );
        assert_eq!(params(&first, "greeting")["maxTokens"], 50);
        assert!(first.state_bytes().is_some());
        let all = carry(&first)
            .response("user_name", accept(json!({"name": "Alice"})))
            .response("greeting", sampled("Hello there!"))
            .response("client_roots", test_roots());
        assert_eq!(
            text(round(name, json!({}), Some(all))),
            "All inputs received. Name: Alice; greeting: Hello there!; roots: file:///test/root (Test Root)"
        );
        // Part of the answers: the next round asks for the rest only, and the
        // answers given travel in the state.
        let part = carry(&first).response("greeting", sampled("Hi!"));
        let second = asks(round(name, json!({}), Some(part)));
        assert_eq!(
            requests(&second),
            [
                ("user_name", "elicitation/create"),
                ("client_roots", "roots/list")
            ]
        );
        let rest = carry(&second)
            .response("user_name", accept(json!({"name": "Bob"})))
            .response("client_roots", json!({"roots": []}));
        assert_eq!(
            text(round(name, json!({}), Some(rest))),
            "All inputs received. Name: Bob; greeting: Hi!; roots: none"
        );
    }

    #[test]
    fn multi_round_evolves_its_state() {
        let name = "input_required_result_multi_round";
        let r1 = asks(round(name, json!({}), None));
        assert_eq!(requests(&r1), [("step1", "elicitation/create")]);
        assert_eq!(
            params(&r1, "step1")["message"],
            "Step 1: What is your name?"
        );
        let r2 = asks(round(
            name,
            json!({}),
            Some(carry(&r1).response("step1", accept(json!({"name": "Alice"})))),
        ));
        assert_eq!(requests(&r2), [("step2", "elicitation/create")]);
        assert_eq!(
            params(&r2, "step2")["requestedSchema"]["required"],
            json!(["color"])
        );
        assert_ne!(r1.state_bytes(), r2.state_bytes());
        // A retry of round 2 without the answer asks step 2 again.
        let again = asks(round(name, json!({}), Some(carry(&r2))));
        assert_eq!(requests(&again), [("step2", "elicitation/create")]);
        assert_eq!(again.state_bytes(), r2.state_bytes());
        let done = text(round(
            name,
            json!({}),
            Some(carry(&r2).response("step2", accept(json!({"color": "blue"})))),
        ));
        assert_eq!(done, "Hello, Alice! Your favorite color is blue.");
    }

    #[test]
    fn capabilities_decide_what_is_asked() {
        let name = "input_required_result_capabilities";
        testing::set_client_capabilities(json!({"sampling": {}}));
        let first = asks(round(name, json!({}), None));
        assert_eq!(
            requests(&first),
            [("capital_question", "sampling/createMessage")]
        );
        let done = text(round(
            name,
            json!({}),
            Some(carry(&first).response("capital_question", sampled("Paris"))),
        ));
        assert!(done.contains("capital_question"), "{done}");

        testing::set_client_capabilities(json!({"elicitation": {}, "roots": {}}));
        let first = asks(round(name, json!({}), None));
        assert_eq!(
            requests(&first),
            [
                ("user_name", "elicitation/create"),
                ("client_roots", "roots/list")
            ]
        );

        testing::set_client_capabilities(json!({"elicitation": {"url": {}}}));
        let none = text(round(name, json!({}), None));
        assert!(none.contains("nothing to ask"), "{none}");
        testing::set_client_capabilities(json!({}));
    }

    #[test]
    fn missing_capability_always_needs_sampling() {
        for caps in [json!({}), json!({"elicitation": {}})] {
            testing::set_client_capabilities(caps);
            let first = asks(round("missing_capability", json!({}), None));
            assert_eq!(requests(&first), [("completion", "sampling/createMessage")]);
        }
        testing::set_client_capabilities(json!({}));
        let done = Resumption::new().response("completion", sampled("hi"));
        assert_eq!(
            text(round("missing_capability", json!({}), Some(done))),
            "LLM response: hi"
        );
    }

    #[test]
    fn streaming_elicitation_asks_only_clients_that_elicit() {
        assert_eq!(
            text(round("streaming_elicitation", json!({}), None)),
            "Streaming complete"
        );
        testing::set_client_capabilities(json!({"elicitation": {}}));
        let first = asks(round("streaming_elicitation", json!({}), None));
        assert_eq!(requests(&first), [("confirm", "elicitation/create")]);
        let done = Resumption::new().response("confirm", accept(json!({"ok": true})));
        assert_eq!(
            text(round("streaming_elicitation", json!({}), Some(done))),
            "Streaming complete"
        );
        testing::set_client_capabilities(json!({}));
    }

    #[test]
    fn legacy_sampling_and_elicitation_tools() {
        let first = asks(round(
            "sampling",
            json!({"prompt": "Test prompt for sampling"}),
            None,
        ));
        assert_eq!(
            params(&first, "llm"),
            json!({
                "messages": [{
                    "role": "user",
                    "content": {"type": "text", "text": "Test prompt for sampling"}
                }],
                "maxTokens": 100
            })
        );
        let answered =
            Resumption::new().response("llm", sampled("This is a test response from the client"));
        assert_eq!(
            text(round(
                "sampling",
                json!({"prompt": "Test prompt for sampling"}),
                Some(answered)
            )),
            "LLM response: This is a test response from the client"
        );
        assert!(matches!(
            plugin().call_tool_with("sampling", "{}", None),
            Err(Error::InvalidArguments(_))
        ));

        let args = json!({"message": "Please provide your information"});
        let first = asks(round("elicitation", args.clone(), None));
        let p = params(&first, "user_response");
        assert_eq!(p["message"], "Please provide your information");
        assert_eq!(
            p["requestedSchema"]["required"],
            json!(["username", "email"])
        );
        assert_eq!(
            p["requestedSchema"]["properties"]["email"]["description"],
            "User's email address"
        );
        let answered = Resumption::new().response(
            "user_response",
            accept(json!({"username": "testuser", "email": "test@example.com"})),
        );
        assert_eq!(
            text(round("elicitation", args, Some(answered))),
            r#"User response: action=accept, content={"email":"test@example.com","username":"testuser"}"#
        );
    }

    #[test]
    fn sep1034_defaults_and_sep1330_enums() {
        let first = asks(round("elicitation_sep1034_defaults", json!({}), None));
        let props = &params(&first, "form")["requestedSchema"]["properties"];
        assert_eq!(props["name"]["default"], "John Doe");
        assert_eq!(props["age"]["type"], "integer");
        assert_eq!(props["age"]["default"], 30);
        assert_eq!(props["score"]["default"], 95.5);
        assert_eq!(props["status"]["default"], "active");
        assert_eq!(
            props["status"]["enum"],
            json!(["active", "inactive", "pending"])
        );
        assert_eq!(props["verified"]["default"], true);

        let first = asks(round("elicitation_sep1330_enums", json!({}), None));
        let props = &params(&first, "form")["requestedSchema"]["properties"];
        assert!(props["untitledSingle"].get("oneOf").is_none());
        assert_eq!(props["titledSingle"]["oneOf"][0]["title"], "First Option");
        assert!(props["titledSingle"].get("enum").is_none());
        assert_eq!(
            props["legacyEnum"]["enumNames"].as_array().map(Vec::len),
            Some(3)
        );
        assert_eq!(props["untitledMulti"]["items"]["type"], "string");
        assert_eq!(props["titledMulti"]["items"]["anyOf"][2]["const"], "value3");
        assert!(props["titledMulti"]["items"].get("enum").is_none());

        let answered = Resumption::new().response("form", json!({"action": "cancel"}));
        assert_eq!(
            text(round(
                "elicitation_sep1330_enums",
                json!({}),
                Some(answered)
            )),
            "Elicitation completed: action=cancel, content={}"
        );
    }

    #[test]
    fn prompt_asks_for_its_context() {
        let p = plugin();
        let first = p
            .get_prompt_with("input_required_result_prompt", &[], None)
            .expect("renders")
            .input_required_value()
            .expect("asks");
        assert_eq!(requests(&first), [("user_context", "elicitation/create")]);
        assert_eq!(
            params(&first, "user_context")["message"],
            "What context should the prompt use?"
        );
        let answered =
            Resumption::new().response("user_context", accept(json!({"context": "test context"})));
        let out = p
            .get_prompt_with("input_required_result_prompt", &[], Some(answered))
            .expect("renders")
            .complete_value()
            .expect("complete");
        assert_eq!(out.messages[0], Message::user("Context: test context"));
        assert!(out.description.is_some());
    }

    #[test]
    fn completions() {
        let p = plugin();
        let prompt_ref = CompletionRef::Prompt("prompt_with_arguments".into());
        let values = |arg: &str, partial: &str, context: &[(&str, &str)]| {
            let context: Vec<(String, String)> = context
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            p.complete(&prompt_ref, arg, partial, &context)
                .expect("completes")
                .values
        };
        assert_eq!(values("arg1", "par", &[]), ["paris", "park", "party"]);
        assert_eq!(values("arg1", "test", &[]), ["test", "testing"]);
        assert_eq!(values("arg1", "zzz", &[]), Vec::<String>::new());
        assert_eq!(
            values("arg2", "", &[("arg1", "hello")]),
            ["world", "there", "everyone"]
        );
        assert_eq!(values("arg2", "t", &[("arg1", "paris")]), ["texas"]);
        assert_eq!(values("arg2", "", &[]), ["alpha", "beta", "gamma"]);
        let template_ref = CompletionRef::ResourceTemplate("test://template/{id}/data".into());
        assert_eq!(
            p.complete(&template_ref, "id", "1", &[]).unwrap().values,
            ["1", "100", "123"]
        );
        // Without a completer: an empty completion.
        assert_eq!(
            p.complete(&CompletionRef::Prompt("simple_prompt".into()), "x", "", &[]),
            Ok(Completion::default())
        );
    }

    #[test]
    fn tool_names_fit_the_host_prefix() {
        // Published as test_<name>: `^[A-Za-z0-9_-]{1,64}$` without `__`.
        let p = plugin();
        let names = p
            .tools()
            .iter()
            .map(|t| t.name().to_string())
            .chain(p.prompts().iter().map(|p| p.name().to_string()));
        for name in names {
            let published = format!("test_{name}");
            assert!(published.len() <= 64, "{published}");
            assert!(!published.contains("__"), "{published}");
            assert!(
                published
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{published}"
            );
        }
    }
}
