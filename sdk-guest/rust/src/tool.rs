//! Tools: typed functions from an arguments struct to a result.

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::content::{Content, ResourceLink};
use crate::error::Error;
use crate::input::{Context, Outcome, Resumption};
use crate::schema::{object_schema, portable_schema, remove_absent_nulls};

type Handler = Box<dyn Fn(&str, &Context) -> Result<Outcome<ToolOutput>, Error>>;

/// A tool: a name, a description, schemas derived from its types, and the
/// function that runs it. Build one with [`tool`], then refine it with the
/// builder methods.
pub struct Tool {
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) annotations: Option<ToolAnnotations>,
    pub(crate) meta: Option<Value>,
    /// Declared with [`Tool::task_support`]; `None` declares nothing (the host's default).
    task_support: Option<TaskSupport>,
    input_schema: fn() -> Value,
    /// A schema published instead of `input_schema`'s ([`Tool::input_schema_verbatim`]).
    verbatim_input: Option<Value>,
    output_schema: fn() -> Option<Value>,
    handler: Handler,
}

/// Behaviour hints for clients (MCP `ToolAnnotations`). Hints, not
/// guarantees: the sandbox is what enforces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolAnnotations {
    /// A human-readable title.
    pub title: Option<String>,
    /// The tool does not modify its environment.
    pub read_only_hint: Option<bool>,
    /// The tool may perform destructive updates.
    pub destructive_hint: Option<bool>,
    /// Calling it twice with the same arguments has no further effect.
    pub idempotent_hint: Option<bool>,
    /// The tool talks to an open world (the internet) rather than a closed
    /// domain.
    pub open_world_hint: Option<bool>,
}

/// The key of a tool's `_meta` that carries its [`TaskSupport`] to the host
/// (a JSON string: `"forbidden"`, `"optional"` or `"required"`). The host
/// reads it and leaves it out of the `_meta` it publishes.
pub const TASK_SUPPORT_META_KEY: &str = "capsule/taskSupport";

/// Whether a tool may run as an MCP task (the `execution.taskSupport` of an
/// MCP 2025-11-25 tool; the 2026-07-28 tasks extension): declare it with
/// [`Tool::task_support`]. The operator's policy (`[tools.NAME]
/// task_support`) overrides it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TaskSupport {
    /// Never a task: every call answers within its request and its
    /// `[limits] timeout`. What a tool without a declaration gets.
    #[default]
    Forbidden,
    /// A task when the client declared the tasks extension (a long call
    /// becomes a task the client polls with `tasks/get`), a plain call
    /// otherwise.
    Optional,
    /// Only as a task: a client without the tasks extension gets MCP error
    /// `-32021`.
    Required,
}

impl TaskSupport {
    /// The name on the wire and in policy: `forbidden`, `optional` or
    /// `required`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSupport::Forbidden => "forbidden",
            TaskSupport::Optional => "optional",
            TaskSupport::Required => "required",
        }
    }
}

impl std::fmt::Display for TaskSupport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declare a tool named `name` that runs `handler`.
///
/// `A`, the arguments type, derives `Deserialize` and `JsonSchema`; its
/// schema, in the portable profile ([`portable_schema`](crate::portable_schema)),
/// is the tool's input schema: an `Option` or `#[serde(default)]` field is
/// published as required and nullable, and a `null` for it reaches `handler`
/// as "not given" (`None`, the default). `R` is either a type deriving
/// `Serialize` and `JsonSchema`, which becomes the structured content (and a
/// text block with the same JSON) and gives the output schema, or a
/// [`ToolOutput`] for free-form content without an output schema.
///
/// Arguments that do not deserialize into `A` are answered with
/// [`Error::InvalidArguments`] carrying serde's message; `handler` does not
/// run.
///
/// ```
/// use capsule_plugin::prelude::*;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Args { a: f64, b: f64 }
/// #[derive(Serialize, JsonSchema)]
/// struct Sum { sum: f64 }
///
/// fn add(args: Args) -> Result<Sum, ToolError> {
///     Ok(Sum { sum: args.a + args.b })
/// }
///
/// let t = tool("add", "Add two numbers", add).read_only();
/// assert_eq!(t.name(), "add");
/// ```
pub fn tool<A, R, F>(name: impl Into<String>, description: impl Into<String>, handler: F) -> Tool
where
    A: DeserializeOwned + JsonSchema,
    R: IntoToolOutput,
    F: Fn(A) -> Result<R, Error> + 'static,
{
    Tool {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        annotations: None,
        meta: None,
        task_support: None,
        input_schema: portable_schema::<A>,
        verbatim_input: None,
        output_schema: R::output_schema,
        handler: Box::new(move |arguments, _| {
            let args = parse_arguments::<A>(arguments)?;
            Ok(Outcome::Complete(handler(args)?.into_tool_output()?))
        }),
    }
}

/// Declare a tool that may ask the client for input before it finishes
/// (elicitation, sampling, roots: MCP multi round-trip requests, SEP-2322).
///
/// Like [`tool`], but `handler` also gets the request's [`Context`] and
/// returns an [`Outcome`]: `Outcome::complete(result)` when done, or an
/// [`InputRequired`](crate::InputRequired) (`.into()`) naming what it needs.
/// The host then asks the client and calls the tool again, in a fresh
/// instance, with the same arguments and a [`Context`] carrying the answers
/// and the state. Ask only for what
/// [`Context::client_capabilities`] says the client supports: the host fails
/// a request for an undeclared capability with MCP error `-32021`.
///
/// ```
/// use capsule_plugin::prelude::*;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Args { question: String }
///
/// fn ask_model(args: Args, cx: &Context) -> Result<Outcome<ToolOutput>, ToolError> {
///     if !cx.client_capabilities().sampling() {
///         return Ok(Outcome::complete(ToolOutput::error("this client cannot sample")));
///     }
///     match cx.sampling("answer") {
///         Some(answer) => Ok(Outcome::complete(ToolOutput::text(answer.text()))),
///         None => Ok(InputRequired::new().sample_text("answer", args.question, 200).into()),
///     }
/// }
///
/// let t = interactive_tool("ask_model", "Ask the client's model", ask_model);
/// assert_eq!(t.name(), "ask_model");
/// ```
pub fn interactive_tool<A, R, F>(
    name: impl Into<String>,
    description: impl Into<String>,
    handler: F,
) -> Tool
where
    A: DeserializeOwned + JsonSchema,
    R: IntoToolOutput,
    F: Fn(A, &Context) -> Result<Outcome<R>, Error> + 'static,
{
    Tool {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        annotations: None,
        meta: None,
        task_support: None,
        input_schema: portable_schema::<A>,
        verbatim_input: None,
        output_schema: R::output_schema,
        handler: Box::new(move |arguments, cx| {
            let args = parse_arguments::<A>(arguments)?;
            match handler(args, cx)? {
                Outcome::Complete(r) => Ok(Outcome::Complete(r.into_tool_output()?)),
                Outcome::InputRequired(input) => {
                    input.validate()?;
                    Ok(Outcome::InputRequired(input))
                }
            }
        }),
    }
}

/// Deserialize tool arguments; an empty or `null` document counts as `{}`.
///
/// The input schema makes every optional field required and nullable (the portable profile), so a
/// client may send `null` for a field it means to leave out: such `null`s are removed first, at
/// every level, and the field gets its `None` or serde default. Arguments without any `null` take
/// the direct path.
pub(crate) fn parse_arguments<A: DeserializeOwned + JsonSchema>(
    arguments: &str,
) -> Result<A, Error> {
    let invalid = |e: serde_json::Error| Error::InvalidArguments(format!("invalid arguments: {e}"));
    let text = arguments.trim();
    let text = if text.is_empty() || text == "null" {
        "{}"
    } else {
        text
    };
    if !text.contains("null") {
        return serde_json::from_str(text).map_err(invalid);
    }
    let mut value: Value = serde_json::from_str(text).map_err(invalid)?;
    remove_absent_nulls::<A>(&mut value);
    serde_json::from_value(value).map_err(invalid)
}

impl Tool {
    /// The tool's name (without the host's `<plugin>_` prefix).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The JSON Schema of the arguments, in the portable profile (see
    /// [`portable_schema`](crate::portable_schema)); generated on each call, the SDK
    /// only calls it from `list-tools`.
    pub fn input_schema(&self) -> Value {
        match &self.verbatim_input {
            Some(schema) => schema.clone(),
            None => (self.input_schema)(),
        }
    }

    /// Publish `schema` (a JSON Schema object) as the tool's input schema exactly as given,
    /// instead of the portable schema generated from the arguments type: for what a generated
    /// schema cannot say, such as the JSON Schema 2020-12 keywords (`$defs` with `$anchor`,
    /// `allOf`, `if`/`then`/`else`) a conformance test expects verbatim. The host still checks
    /// the arguments against it, and they must still deserialize into the arguments type. Such a
    /// schema is rarely portable: `capsule plugins` reports which model providers reject it.
    pub fn input_schema_verbatim(mut self, schema: Value) -> Self {
        self.verbatim_input = Some(schema);
        self
    }

    /// The JSON Schema of the structured content, if the tool returns one.
    pub fn output_schema(&self) -> Option<Value> {
        (self.output_schema)()
    }

    /// Run the tool's first round on `arguments` (JSON text), as `call-tool`
    /// does, and expect it to finish. Handy in unit tests of a plugin. An
    /// [`interactive_tool`] that asks for input answers
    /// [`Error::Internal`] here: test it with [`call_with`](Self::call_with).
    pub fn call(&self, arguments: &str) -> Result<ToolOutput, Error> {
        match self.call_with(arguments, None)? {
            Outcome::Complete(out) => Ok(out),
            Outcome::InputRequired(input) => Err(Error::internal(format!(
                "tool `{}` asked for input ({}); run it with `call_with`",
                self.name,
                input.summary()
            ))),
        }
    }

    /// Run one round of the tool on `arguments` (JSON text), exactly as
    /// `call-tool` does: `resume` is `None` in the first round, and the
    /// client's answers plus the previous round's state in a later one.
    pub fn call_with(
        &self,
        arguments: &str,
        resume: Option<Resumption>,
    ) -> Result<Outcome<ToolOutput>, Error> {
        (self.handler)(arguments, &Context::resumed(resume))
    }

    /// Run one round with a [`Context`] of your own (for instance one with
    /// [`Context::with_client_capabilities`]).
    pub fn call_in(&self, arguments: &str, cx: &Context) -> Result<Outcome<ToolOutput>, Error> {
        (self.handler)(arguments, cx)
    }

    /// Set a human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Replace all annotations.
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.annotations = Some(annotations);
        self
    }

    fn hints(&mut self) -> &mut ToolAnnotations {
        self.annotations
            .get_or_insert_with(ToolAnnotations::default)
    }

    /// Hint that the tool only reads (`readOnlyHint: true`).
    pub fn read_only(mut self) -> Self {
        self.hints().read_only_hint = Some(true);
        self
    }

    /// Hint whether the tool may destroy data (`destructiveHint`).
    pub fn destructive(mut self, destructive: bool) -> Self {
        self.hints().destructive_hint = Some(destructive);
        self
    }

    /// Hint that repeating a call has no further effect (`idempotentHint: true`).
    pub fn idempotent(mut self) -> Self {
        self.hints().idempotent_hint = Some(true);
        self
    }

    /// Hint whether the tool reaches an open world such as the web
    /// (`openWorldHint`).
    pub fn open_world(mut self, open_world: bool) -> Self {
        self.hints().open_world_hint = Some(open_world);
        self
    }

    /// Attach `_meta` (a JSON object).
    pub fn meta(mut self, meta: Value) -> Self {
        self.meta = Some(meta);
        self
    }

    /// Declare whether the tool may run as an MCP task (see [`TaskSupport`];
    /// without a declaration it is [`TaskSupport::Forbidden`]). The SDK puts
    /// it in the tool's `_meta` under [`TASK_SUPPORT_META_KEY`], next to the
    /// keys of [`Tool::meta`], whatever the order of the two calls; this
    /// setting wins over that key written into [`Tool::meta`] by hand.
    ///
    /// ```
    /// use capsule_plugin::prelude::*;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Args { url: String }
    ///
    /// fn crawl(args: Args) -> Result<ToolOutput, ToolError> {
    ///     Ok(ToolOutput::text(format!("crawled {}", args.url)))
    /// }
    ///
    /// let t = tool("crawl", "Crawl a site (takes minutes)", crawl)
    ///     .task_support(TaskSupport::Optional);
    /// assert_eq!(t.name(), "crawl");
    /// ```
    pub fn task_support(mut self, support: TaskSupport) -> Self {
        self.task_support = Some(support);
        self
    }

    /// The `_meta` handed to the host in `list-tools`: the author's [`Tool::meta`]
    /// with the declared task support set under [`TASK_SUPPORT_META_KEY`]. A meta
    /// that is not a JSON object is passed on as it is (the host refuses it, naming
    /// the tool) rather than replaced.
    pub(crate) fn wire_meta(&self) -> Option<Value> {
        let Some(support) = self.task_support else {
            return self.meta.clone();
        };
        let mut meta = self
            .meta
            .clone()
            .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        if let Value::Object(map) = &mut meta {
            map.insert(
                TASK_SUPPORT_META_KEY.to_string(),
                Value::String(support.as_str().to_string()),
            );
        }
        Some(meta)
    }
}

/// Arguments for a tool that takes none: `fn ping(_: NoArgs) -> ...`.
/// Its input schema is `{"type": "object", "properties": {}, "required": [],
/// "additionalProperties": false}`: closed, as MCP recommends for tools
/// without parameters, and portable.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct NoArgs {}

impl JsonSchema for NoArgs {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NoArgs".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "object", "additionalProperties": false})
    }
}

/// A finished tool call (MCP `CallToolResult`): content blocks, optional
/// structured content, and whether it is an error the model should see.
///
/// ```
/// use capsule_plugin::prelude::*;
/// let out = ToolOutput::text("done").with(Content::resource_link("notes://a", "a"));
/// assert_eq!(out.content.len(), 2);
/// assert!(ToolOutput::error("nope").is_error);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolOutput {
    /// The content blocks, in order.
    pub content: Vec<Content>,
    /// A JSON value matching the tool's output schema, if any.
    pub structured_content: Option<Value>,
    /// The tool ran but failed in a way the model should see (MCP `isError`).
    pub is_error: bool,
    /// Extra `_meta` (a JSON object), if any.
    pub meta: Option<Value>,
}

impl ToolOutput {
    /// No content at all.
    pub fn new() -> Self {
        ToolOutput::default()
    }

    /// One text block.
    pub fn text(text: impl Into<String>) -> Self {
        ToolOutput::new().with(Content::text(text))
    }

    /// One text block with `isError: true`: the call ran but failed, and the
    /// model should read why (unlike an [`Error`], which the host also
    /// reports as `isError: true` but which says the request itself failed).
    pub fn error(message: impl Into<String>) -> Self {
        let mut out = ToolOutput::text(message);
        out.is_error = true;
        out
    }

    /// One image block from the raw bytes of an image file.
    pub fn image(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        ToolOutput::new().with(Content::image(data, mime_type))
    }

    /// Structured content from `value` (which must serialize to a JSON
    /// object) plus a text block with the same JSON, as MCP recommends for
    /// clients that do not read structured content.
    pub fn structured(value: &impl Serialize) -> Result<Self, Error> {
        let value = serde_json::to_value(value)
            .map_err(|e| Error::Internal(format!("cannot serialize the tool result: {e}")))?;
        if !value.is_object() {
            return Err(Error::Internal(
                "a structured tool result must serialize to a JSON object".into(),
            ));
        }
        let text = value.to_string();
        Ok(ToolOutput {
            content: vec![Content::text(text)],
            structured_content: Some(value),
            is_error: false,
            meta: None,
        })
    }

    /// Append a content block.
    pub fn with(mut self, block: impl Into<Content>) -> Self {
        self.content.push(block.into());
        self
    }

    /// Append a resource-link block.
    pub fn link(self, link: ResourceLink) -> Self {
        self.with(Content::ResourceLink(link))
    }

    /// Attach `_meta` (a JSON object).
    pub fn meta(mut self, meta: Value) -> Self {
        self.meta = Some(meta);
        self
    }
}

/// What a tool function may return inside `Ok(...)`.
///
/// Implemented for every `Serialize + JsonSchema` type (structured content
/// plus its JSON as text, with an output schema) and for [`ToolOutput`]
/// (free-form content, no output schema).
pub trait IntoToolOutput {
    /// The output schema, if any.
    fn output_schema() -> Option<Value>;
    /// Turn the value into the call's result.
    fn into_tool_output(self) -> Result<ToolOutput, Error>;
}

impl<T: Serialize + JsonSchema> IntoToolOutput for T {
    fn output_schema() -> Option<Value> {
        Some(object_schema::<T>())
    }

    fn into_tool_output(self) -> Result<ToolOutput, Error> {
        ToolOutput::structured(&self)
    }
}

impl IntoToolOutput for ToolOutput {
    fn output_schema() -> Option<Value> {
        None
    }

    fn into_tool_output(self) -> Result<ToolOutput, Error> {
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, JsonSchema)]
    struct GreetArgs {
        name: String,
    }

    #[derive(Serialize, JsonSchema)]
    struct Greeting {
        greeting: String,
    }

    fn greet(args: GreetArgs) -> Result<Greeting, Error> {
        Ok(Greeting {
            greeting: format!("Hello, {}!", args.name),
        })
    }

    #[test]
    fn structured_result_gives_text_copy_and_schema() {
        let t = tool("greet", "Greet", greet);
        let out = t.call(r#"{"name":"Ada"}"#).expect("ok");
        assert_eq!(
            out.structured_content,
            Some(json!({"greeting": "Hello, Ada!"}))
        );
        assert_eq!(
            out.content,
            vec![Content::text(r#"{"greeting":"Hello, Ada!"}"#)]
        );
        assert!(!out.is_error);
        let schema = t.output_schema().expect("output schema");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["properties"]["greeting"]["type"], "string");
        assert_eq!(t.input_schema()["required"], json!(["name"]));
    }

    #[test]
    fn bad_arguments_are_invalid_arguments_with_serde_message() {
        let t = tool("greet", "Greet", greet);
        match t.call(r#"{"nom":"Ada"}"#) {
            Err(Error::InvalidArguments(m)) => assert!(m.contains("missing field `name`"), "{m}"),
            other => panic!("unexpected {other:?}"),
        }
        match t.call("not json") {
            Err(Error::InvalidArguments(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn free_form_output_has_no_schema_and_errors_pass_through() {
        let t = tool("x", "x", |_: NoArgs| Ok(ToolOutput::error("bad input")));
        assert!(t.output_schema().is_none());
        let out = t.call("").expect("ok");
        assert!(out.is_error);
        assert_eq!(out.content, vec![Content::text("bad input")]);

        let t = tool("y", "y", |_: NoArgs| -> Result<ToolOutput, Error> {
            Err(Error::denied("no /data"))
        });
        assert_eq!(t.call("{}"), Err(Error::Denied("no /data".into())));
        assert_eq!(
            t.input_schema(),
            json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false})
        );
    }

    #[test]
    fn null_for_an_optional_field_reaches_the_handler_as_not_given() {
        fn five() -> u32 {
            5
        }
        #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
        struct Page {
            number: Option<u32>,
            #[serde(default = "five")]
            size: u32,
        }
        #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
        struct Args {
            query: String,
            limit: Option<u32>,
            #[serde(default)]
            exact: bool,
            #[serde(default = "five")]
            depth: u32,
            page: Option<Page>,
            pages: Vec<Page>,
        }
        let t = tool("q", "q", |a: Args| Ok(ToolOutput::text(format!("{a:?}"))));
        let schema = t.input_schema();
        assert_eq!(
            schema["required"],
            json!(["depth", "exact", "limit", "page", "pages", "query"])
        );
        // Strict mode: the model sends every property, `null` where it gives none.
        let all_null = r#"{"query": "q", "limit": null, "exact": null, "depth": null,
            "page": {"number": null, "size": null}, "pages": [{"number": 1, "size": null}]}"#;
        let text = |out: ToolOutput| match &out.content[0] {
            Content::Text { text, .. } => text.clone(),
            other => panic!("{other:?}"),
        };
        let page = |number| Page { number, size: 5 };
        let expected = Args {
            query: "q".into(),
            limit: None,
            exact: false,
            depth: 5,
            page: Some(page(None)),
            pages: vec![page(Some(1))],
        };
        assert_eq!(text(t.call(all_null).expect("ok")), format!("{expected:?}"));
        // Left out entirely: the same.
        let omitted = r#"{"query": "q", "page": {}, "pages": [{"number": 1}]}"#;
        assert_eq!(text(t.call(omitted).expect("ok")), format!("{expected:?}"));
        // `null` for the Option of a struct itself, and given values, as sent.
        let given =
            r#"{"query": "q", "limit": 3, "exact": true, "depth": 1, "page": null, "pages": []}"#;
        let expected = Args {
            query: "q".into(),
            limit: Some(3),
            exact: true,
            depth: 1,
            page: None,
            pages: vec![],
        };
        assert_eq!(text(t.call(given).expect("ok")), format!("{expected:?}"));
        // A required field stays required: its `null` is an error.
        match t.call(r#"{"query": null}"#) {
            Err(Error::InvalidArguments(m)) => assert!(m.contains("invalid type: null"), "{m}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn output_schemas_keep_optional_fields_optional() {
        #[derive(Serialize, JsonSchema)]
        struct Out {
            a: u32,
            b: Option<String>,
        }
        let t = tool("o", "o", |_: NoArgs| Ok(Out { a: 1, b: None }));
        let schema = t.output_schema().expect("output schema");
        assert_eq!(schema["required"], json!(["a"]));
        assert!(schema.get("additionalProperties").is_none());
    }

    #[test]
    fn non_object_structured_result_is_internal() {
        let t = tool("s", "s", |_: NoArgs| Ok(String::from("plain")));
        assert!(matches!(t.call("{}"), Err(Error::Internal(_))));
    }

    #[test]
    fn interactive_tool_asks_then_finishes() {
        use crate::input::InputRequired;

        #[derive(Deserialize, JsonSchema)]
        struct Args {
            prompt: String,
        }
        let t = interactive_tool("s", "s", |args: Args, cx: &Context| {
            Ok(match cx.sampling("llm") {
                Some(r) => Outcome::complete(Greeting {
                    greeting: format!("{} -> {}", args.prompt, r.text()),
                }),
                None => InputRequired::new()
                    .sample_text("llm", args.prompt, 10)
                    .state(b"s1".to_vec())
                    .into(),
            })
        });
        assert_eq!(t.input_schema()["required"], json!(["prompt"]));
        assert!(t.output_schema().is_some());
        let first = t.call_with(r#"{"prompt":"hi"}"#, None).expect("ok");
        let input = first.input_required_value().expect("input required");
        assert_eq!(input.state_bytes(), Some(&b"s1"[..]));
        assert!(
            matches!(t.call(r#"{"prompt":"hi"}"#), Err(Error::Internal(m)) if m.contains("llm: sampling/createMessage"))
        );
        let resume = Resumption::new().response(
            "llm",
            json!({"role": "assistant", "content": {"type": "text", "text": "yo"}, "model": "m"}),
        );
        let done = t
            .call_with(r#"{"prompt":"hi"}"#, Some(resume))
            .expect("ok")
            .complete_value()
            .expect("complete");
        assert_eq!(
            done.structured_content,
            Some(json!({"greeting": "hi -> yo"}))
        );
        // Arguments are still checked before the handler runs.
        assert!(matches!(
            t.call_with("{}", None),
            Err(Error::InvalidArguments(_))
        ));
    }

    #[test]
    fn interactive_tool_with_no_request_is_an_internal_error() {
        let t = interactive_tool("e", "e", |_: NoArgs, _: &Context| {
            Ok(Outcome::<ToolOutput>::input_required(
                crate::input::InputRequired::new(),
            ))
        });
        assert!(matches!(t.call_with("{}", None), Err(Error::Internal(_))));
    }

    #[test]
    fn task_support_goes_into_meta() {
        let plain = || tool("t", "t", |_: NoArgs| Ok(ToolOutput::new()));
        // Nothing declared: no key, and the author's meta is passed on untouched.
        assert_eq!(plain().wire_meta(), None);
        let own = json!({"ui": {"icon": "clock"}, "n": 1});
        assert_eq!(plain().meta(own.clone()).wire_meta(), Some(own.clone()));
        // Declared alone.
        assert_eq!(
            plain().task_support(TaskSupport::Optional).wire_meta(),
            Some(json!({"capsule/taskSupport": "optional"}))
        );
        // Merged with the author's meta, in either order.
        let merged = json!({"ui": {"icon": "clock"}, "n": 1, "capsule/taskSupport": "required"});
        assert_eq!(
            plain()
                .meta(own.clone())
                .task_support(TaskSupport::Required)
                .wire_meta(),
            Some(merged.clone())
        );
        assert_eq!(
            plain()
                .task_support(TaskSupport::Required)
                .meta(own.clone())
                .wire_meta(),
            Some(merged)
        );
        // The typed setting wins over the key written by hand, and an explicit
        // `Forbidden` is said out loud (it overrides such a key too).
        let by_hand = json!({"capsule/taskSupport": "required", "x": true});
        assert_eq!(
            plain()
                .meta(by_hand)
                .task_support(TaskSupport::Forbidden)
                .wire_meta(),
            Some(json!({"capsule/taskSupport": "forbidden", "x": true}))
        );
        // The last declaration counts.
        assert_eq!(
            plain()
                .task_support(TaskSupport::Required)
                .task_support(TaskSupport::Optional)
                .wire_meta(),
            Some(json!({"capsule/taskSupport": "optional"}))
        );
        // A meta that is not an object is passed on as given, for the host to refuse.
        assert_eq!(
            plain()
                .meta(json!("oops"))
                .task_support(TaskSupport::Optional)
                .wire_meta(),
            Some(json!("oops"))
        );
        // Interactive tools take it too.
        let asks = interactive_tool("a", "a", |_: NoArgs, _: &Context| {
            Ok(Outcome::complete(ToolOutput::new()))
        })
        .task_support(TaskSupport::Optional);
        assert_eq!(
            asks.wire_meta(),
            Some(json!({"capsule/taskSupport": "optional"}))
        );
    }

    #[test]
    fn task_support_names() {
        assert_eq!(TaskSupport::default(), TaskSupport::Forbidden);
        let names: Vec<String> = [
            TaskSupport::Forbidden,
            TaskSupport::Optional,
            TaskSupport::Required,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(names, ["forbidden", "optional", "required"]);
        assert_eq!(TASK_SUPPORT_META_KEY, "capsule/taskSupport");
    }

    #[test]
    fn hints_accumulate() {
        let t = tool("s", "s", |_: NoArgs| Ok(ToolOutput::new()))
            .read_only()
            .idempotent()
            .open_world(false);
        assert_eq!(
            t.annotations,
            Some(ToolAnnotations {
                read_only_hint: Some(true),
                idempotent_hint: Some(true),
                open_world_hint: Some(false),
                ..Default::default()
            })
        );
    }
}
