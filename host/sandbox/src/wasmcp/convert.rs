//! Answers of a wasmcp component ([`Val`]s of `wasmcp:mcp-v20251125@0.1.x` types) as Capsule's
//! own types (`runtime::bindings`): tools, resources, templates and prompts for the catalog, tool
//! results, resource contents and rendered prompts for calls, and `error-code` as
//! [`types::Error`].
//!
//! Fields are read by name, so the order of a record's fields does not matter; a field Capsule
//! reads that is missing or of another type makes the answer a [`Shape`] error. Streamed text and
//! bytes (`text-stream`, `blob-stream`) are read by the runtime before conversion
//! (`runtime::plugin::wasmcp`): it replaces each stream handle by its index in [`Streamed`],
//! which holds what was read. What Capsule's types have no place for is dropped:
//!
//! - listed items: `icons`, and the `_meta` of resources, templates and prompts (noted in
//!   [`Dropped`], which the plugin report shows); `_meta` of a list result;
//! - content blocks: their `_meta`, the `annotations` of an embedded resource, a resource link's
//!   `_meta` and `icons`;
//! - `_meta` of a read-resource or get-prompt result, and the `data` of an error.

use std::collections::BTreeSet;

use wasmtime::component::Val;

use crate::runtime::bindings::{prompts, resources, tools, types};

/// An answer that does not have the shape of `wasmcp:mcp-v20251125@0.1.x`: what was expected
/// where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape(pub String);

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the component's answer does not have the wasmcp:mcp-v20251125 shape: {}",
            self.0
        )
    }
}

type R<T> = Result<T, Shape>;

/// What a listing had that Capsule does not serve, by kind ("tool icons", "resource _meta").
pub type Dropped = BTreeSet<&'static str>;

/// The contents of the streams of one answer, by index: a `text-stream` or `blob-stream` whose
/// handle the runtime replaced by `u32` index `i` has the bytes at `i`.
#[derive(Debug, Default)]
pub struct Streamed(Vec<Option<Vec<u8>>>);

impl Streamed {
    /// Streams' contents, in index order.
    pub fn new(contents: Vec<Vec<u8>>) -> Self {
        Self(contents.into_iter().map(Some).collect())
    }

    /// The contents of stream `index` (each can be taken once).
    fn take(&mut self, payload: Option<&Val>, what: &str) -> R<Vec<u8>> {
        match payload {
            Some(Val::U32(i)) => self
                .0
                .get_mut(*i as usize)
                .and_then(Option::take)
                .ok_or_else(|| Shape(format!("{what}: no stream {i} was read"))),
            _ => Err(Shape(format!("{what}: the stream was not read"))),
        }
    }
}

/// The fields of a record value, read by name.
struct Record<'a> {
    what: &'static str,
    fields: &'a [(String, Val)],
}

fn record<'a>(value: &'a Val, what: &'static str) -> R<Record<'a>> {
    match value {
        Val::Record(fields) => Ok(Record { what, fields }),
        other => Err(Shape(format!("{what} is not a record: {}", kind(other)))),
    }
}

/// The name of a value's kind, for shape errors.
fn kind(value: &Val) -> &'static str {
    match value {
        Val::Bool(_) => "a bool",
        Val::String(_) => "a string",
        Val::List(_) => "a list",
        Val::Record(_) => "a record",
        Val::Variant(..) => "a variant",
        Val::Enum(_) => "an enum",
        Val::Option(_) => "an option",
        Val::Result(_) => "a result",
        Val::Resource(_) => "a resource handle",
        _ => "another type",
    }
}

impl<'a> Record<'a> {
    /// The field `name`, which must be there.
    fn field(&self, name: &str) -> R<&'a Val> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| Shape(format!("{} has no field `{name}`", self.what)))
    }

    /// The value inside option field `name` (`None` when it is `none` or not there at all).
    fn opt(&self, name: &str) -> R<Option<&'a Val>> {
        match self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v) {
            None | Some(Val::Option(None)) => Ok(None),
            Some(Val::Option(Some(v))) => Ok(Some(v)),
            Some(other) => Err(Shape(format!(
                "{}.{name} is not an option: {}",
                self.what,
                kind(other)
            ))),
        }
    }

    fn string(&self, name: &str) -> R<String> {
        string(self.field(name)?, self.what, name)
    }

    fn opt_string(&self, name: &str) -> R<Option<String>> {
        self.opt(name)?
            .map(|v| string(v, self.what, name))
            .transpose()
    }

    fn opt_bool(&self, name: &str) -> R<Option<bool>> {
        self.opt(name)?
            .map(|v| match v {
                Val::Bool(b) => Ok(*b),
                other => Err(self.wrong(name, "a bool", other)),
            })
            .transpose()
    }

    fn opt_u64(&self, name: &str) -> R<Option<u64>> {
        self.opt(name)?
            .map(|v| match v {
                Val::U64(n) => Ok(*n),
                other => Err(self.wrong(name, "a u64", other)),
            })
            .transpose()
    }

    fn list(&self, name: &str) -> R<&'a [Val]> {
        match self.field(name)? {
            Val::List(items) => Ok(items),
            other => Err(self.wrong(name, "a list", other)),
        }
    }

    /// Whether option field `name` is set (for the dropped-field notes).
    fn has(&self, name: &str) -> bool {
        matches!(self.opt(name), Ok(Some(_)))
    }

    fn wrong(&self, name: &str, expected: &str, got: &Val) -> Shape {
        Shape(format!(
            "{}.{name} is not {expected}: {}",
            self.what,
            kind(got)
        ))
    }
}

fn string(value: &Val, what: &str, name: &str) -> R<String> {
    match value {
        Val::String(s) => Ok(s.clone()),
        other => Err(Shape(format!(
            "{what}.{name} is not a string: {}",
            kind(other)
        ))),
    }
}

fn bytes(value: &Val, what: &str) -> R<Vec<u8>> {
    let Val::List(items) = value else {
        return Err(Shape(format!("{what} is not a list<u8>: {}", kind(value))));
    };
    items
        .iter()
        .map(|v| match v {
            Val::U8(b) => Ok(*b),
            other => Err(Shape(format!("{what} is not a list<u8>: {}", kind(other)))),
        })
        .collect()
}

/// The case name and payload of a variant value.
fn variant<'a>(value: &'a Val, what: &str) -> R<(&'a str, Option<&'a Val>)> {
    match value {
        Val::Variant(case, payload) => Ok((case.as_str(), payload.as_deref())),
        other => Err(Shape(format!("{what} is not a variant: {}", kind(other)))),
    }
}

/// The `ok` payload of a function's `result<T, error-code>`, or its error as [`types::Error`].
///
/// # Errors
/// The outer `Err` is a [`Shape`] error; the inner one is the component's `error-code`.
pub fn ok(value: &Val) -> R<Result<Option<&Val>, types::Error>> {
    match value {
        Val::Result(Ok(v)) => Ok(Ok(v.as_deref())),
        Val::Result(Err(Some(e))) => error_code(e).map(Err),
        Val::Result(Err(None)) => Err(Shape("the error has no error-code".into())),
        other => Err(Shape(format!(
            "the answer is not a result: {}",
            kind(other)
        ))),
    }
}

/// A wasmcp `error-code` as Capsule's typed error: `parse-error`, `invalid-request` and
/// `invalid-params` are invalid arguments; `method-not-found` is not found; `internal-error` is
/// internal; `server`, `json-rpc` and `mcp` go by their code (-32602 and -32600 invalid
/// arguments, -32601 and -32002, MCP's resource not found, not found, anything else internal).
/// The message is the error's `message`; its `data` is dropped.
///
/// # Errors
/// A [`Shape`] error when `value` is not an `error-code`.
pub fn error_code(value: &Val) -> R<types::Error> {
    let (case, payload) = variant(value, "error-code")?;
    let payload = payload.ok_or_else(|| Shape(format!("error-code.{case} has no error")))?;
    let error = record(payload, "error")?;
    let message = error.string("message")?;
    let code = match error.field("code")? {
        Val::S64(code) => *code,
        other => return Err(error.wrong("code", "an s64", other)),
    };
    Ok(match case {
        "parse-error" | "invalid-request" | "invalid-params" => {
            types::Error::InvalidArguments(message)
        }
        "method-not-found" => types::Error::NotFound(message),
        "internal-error" => types::Error::Internal(message),
        _ => match code {
            -32602 | -32600 | -32700 => types::Error::InvalidArguments(message),
            -32601 | -32002 => types::Error::NotFound(message),
            _ => types::Error::Internal(message),
        },
    })
}

/// A `list-*-result`: its items (field `items`) and `next-cursor`.
///
/// # Errors
/// A [`Shape`] error.
pub fn page<'a>(
    value: Option<&'a Val>,
    what: &'static str,
    items: &str,
) -> R<(&'a [Val], Option<String>)> {
    let value = value.ok_or_else(|| Shape(format!("{what} is missing")))?;
    let page = record(value, what)?;
    Ok((page.list(items)?, page.opt_string("next-cursor")?))
}

fn annotations(value: Option<&Val>) -> R<Option<types::Annotations>> {
    let Some(value) = value else {
        return Ok(None);
    };
    let a = record(value, "annotations")?;
    let audience = a
        .opt("audience")?
        .map(|v| match v {
            Val::List(roles) => roles.iter().map(role).collect::<R<Vec<_>>>(),
            other => Err(a.wrong("audience", "a list", other)),
        })
        .transpose()?;
    let priority = a
        .opt("priority")?
        .map(|v| match v {
            Val::Float64(p) => Ok(*p),
            other => Err(a.wrong("priority", "an f64", other)),
        })
        .transpose()?;
    Ok(Some(types::Annotations {
        audience,
        priority,
        last_modified: a.opt_string("last-modified")?,
    }))
}

fn role(value: &Val) -> R<types::Role> {
    match value {
        Val::Enum(r) if r == "user" => Ok(types::Role::User),
        Val::Enum(r) if r == "assistant" => Ok(types::Role::Assistant),
        other => Err(Shape(format!(
            "a role is not `user` or `assistant`: {other:?}"
        ))),
    }
}

/// The `options` record of an item, if any.
fn options<'a>(item: &Record<'a>, what: &'static str) -> R<Option<Record<'a>>> {
    item.opt("options")?.map(|v| record(v, what)).transpose()
}

/// A `tool` of `list-tools` as Capsule's tool. Its `icons` are dropped.
///
/// # Errors
/// A [`Shape`] error.
pub fn tool(value: &Val, dropped: &mut Dropped) -> R<tools::Tool> {
    let t = record(value, "tool")?;
    let mut tool = tools::Tool {
        name: t.string("name")?,
        title: None,
        description: None,
        input_schema: t.string("input-schema")?,
        output_schema: None,
        annotations: None,
        meta: None,
    };
    if let Some(o) = options(&t, "tool-options")? {
        tool.title = o.opt_string("title")?;
        tool.description = o.opt_string("description")?;
        tool.output_schema = o.opt_string("output-schema")?;
        tool.meta = o.opt_string("meta")?;
        if let Some(a) = o.opt("annotations")? {
            let a = record(a, "tool-annotations")?;
            tool.annotations = Some(tools::ToolAnnotations {
                title: a.opt_string("title")?,
                read_only_hint: a.opt_bool("read-only-hint")?,
                destructive_hint: a.opt_bool("destructive-hint")?,
                idempotent_hint: a.opt_bool("idempotent-hint")?,
                open_world_hint: a.opt_bool("open-world-hint")?,
            });
        }
        if o.has("icons") {
            dropped.insert("tool icons");
        }
    }
    Ok(tool)
}

/// An `mcp-resource` of `list-resources` as Capsule's resource. Its `icons` and `_meta` are
/// dropped.
///
/// # Errors
/// A [`Shape`] error.
pub fn resource(value: &Val, dropped: &mut Dropped) -> R<resources::Resource> {
    let r = record(value, "mcp-resource")?;
    let mut resource = resources::Resource {
        uri: r.string("uri")?,
        name: r.string("name")?,
        title: None,
        description: None,
        mime_type: None,
        size: None,
        annotations: None,
    };
    if let Some(o) = options(&r, "resource-options")? {
        resource.title = o.opt_string("title")?;
        resource.description = o.opt_string("description")?;
        resource.mime_type = o.opt_string("mime-type")?;
        resource.size = o.opt_u64("size")?;
        resource.annotations = annotations(o.opt("annotations")?)?;
        if o.has("icons") {
            dropped.insert("resource icons");
        }
        if o.has("meta") {
            dropped.insert("resource _meta");
        }
    }
    Ok(resource)
}

/// A `resource-template` of `list-resource-templates` as Capsule's template. Its `icons` and
/// `_meta` are dropped.
///
/// # Errors
/// A [`Shape`] error.
pub fn resource_template(value: &Val, dropped: &mut Dropped) -> R<resources::ResourceTemplate> {
    let r = record(value, "resource-template")?;
    let mut template = resources::ResourceTemplate {
        uri_template: r.string("uri-template")?,
        name: r.string("name")?,
        title: None,
        description: None,
        mime_type: None,
        annotations: None,
    };
    if let Some(o) = options(&r, "resource-template-options")? {
        template.title = o.opt_string("title")?;
        template.description = o.opt_string("description")?;
        template.mime_type = o.opt_string("mime-type")?;
        template.annotations = annotations(o.opt("annotations")?)?;
        if o.has("icons") {
            dropped.insert("resource template icons");
        }
        if o.has("meta") {
            dropped.insert("resource template _meta");
        }
    }
    Ok(template)
}

/// A `prompt` of `list-prompts` as Capsule's prompt (an argument's `required: none` is
/// `false`). Its `icons` and `_meta` are dropped.
///
/// # Errors
/// A [`Shape`] error.
pub fn prompt(value: &Val, dropped: &mut Dropped) -> R<prompts::Prompt> {
    let p = record(value, "prompt")?;
    let mut prompt = prompts::Prompt {
        name: p.string("name")?,
        title: None,
        description: None,
        arguments: Vec::new(),
    };
    if let Some(o) = options(&p, "prompt-options")? {
        prompt.title = o.opt_string("title")?;
        prompt.description = o.opt_string("description")?;
        if let Some(arguments) = o.opt("arguments")? {
            let Val::List(arguments) = arguments else {
                return Err(o.wrong("arguments", "a list", arguments));
            };
            prompt.arguments = arguments
                .iter()
                .map(|a| {
                    let a = record(a, "prompt-argument")?;
                    Ok(prompts::PromptArgument {
                        name: a.string("name")?,
                        title: a.opt_string("title")?,
                        description: a.opt_string("description")?,
                        required: a.opt_bool("required")?.unwrap_or(false),
                    })
                })
                .collect::<R<_>>()?;
        }
        if o.has("icons") {
            dropped.insert("prompt icons");
        }
        if o.has("meta") {
            dropped.insert("prompt _meta");
        }
    }
    Ok(prompt)
}

/// The text of a `text-data`, inline or streamed.
fn text_data(value: &Val, streamed: &mut Streamed) -> R<String> {
    match variant(value, "text-data")? {
        ("text", Some(Val::String(s))) => Ok(s.clone()),
        ("text-stream", payload) => String::from_utf8(streamed.take(payload, "text-stream")?)
            .map_err(|_| Shape("the streamed text is not UTF-8".into())),
        (case, _) => Err(Shape(format!("unknown text-data case `{case}`"))),
    }
}

/// The bytes of a `blob-data`, inline or streamed.
fn blob_data(value: &Val, streamed: &mut Streamed) -> R<Vec<u8>> {
    match variant(value, "blob-data")? {
        ("blob", Some(b)) => bytes(b, "blob-data.blob"),
        ("blob-stream", payload) => streamed.take(payload, "blob-stream"),
        (case, _) => Err(Shape(format!("unknown blob-data case `{case}`"))),
    }
}

/// One `resource-contents` (text or blob) as Capsule's resource contents.
fn resource_contents(value: &Val, streamed: &mut Streamed) -> R<types::ResourceContents> {
    let (case, payload) = variant(value, "resource-contents")?;
    let payload = payload.ok_or_else(|| Shape(format!("resource-contents.{case} is empty")))?;
    let (what, field) = match case {
        "text" => ("text-resource-contents", "text"),
        "blob" => ("blob-resource-contents", "blob"),
        other => return Err(Shape(format!("unknown resource-contents case `{other}`"))),
    };
    let c = record(payload, what)?;
    let body = if case == "text" {
        types::ResourceBody::Text(text_data(c.field(field)?, streamed)?)
    } else {
        types::ResourceBody::Blob(blob_data(c.field(field)?, streamed)?)
    };
    let (mime_type, meta) = match options(&c, "embedded-resource-options")? {
        Some(o) => (o.opt_string("mime-type")?, o.opt_string("meta")?),
        None => (None, None),
    };
    Ok(types::ResourceContents {
        uri: c.string("uri")?,
        mime_type,
        body,
        meta,
    })
}

/// The `annotations` in a content block's `options` (its `_meta` is dropped).
fn content_annotations(block: &Record<'_>) -> R<Option<types::Annotations>> {
    match options(block, "content-options")? {
        Some(o) => annotations(o.opt("annotations")?),
        None => Ok(None),
    }
}

/// A `content-block` as Capsule's content block.
///
/// # Errors
/// A [`Shape`] error.
pub fn content_block(value: &Val, streamed: &mut Streamed) -> R<types::ContentBlock> {
    let (case, payload) = variant(value, "content-block")?;
    let payload = payload.ok_or_else(|| Shape(format!("content-block.{case} is empty")))?;
    Ok(match case {
        "text" => {
            let t = record(payload, "text-content")?;
            types::ContentBlock::Text(types::TextContent {
                text: text_data(t.field("text")?, streamed)?,
                annotations: content_annotations(&t)?,
            })
        }
        "image" | "audio" => {
            let b = record(payload, "blob")?;
            let media = types::MediaContent {
                data: blob_data(b.field("data")?, streamed)?,
                mime_type: b.string("mime-type")?,
                annotations: content_annotations(&b)?,
            };
            if case == "image" {
                types::ContentBlock::Image(media)
            } else {
                types::ContentBlock::Audio(media)
            }
        }
        "resource-link" => {
            let l = record(payload, "resource-link-content")?;
            let mut link = types::ResourceLink {
                uri: l.string("uri")?,
                name: l.string("name")?,
                title: None,
                description: None,
                mime_type: None,
                size: None,
                annotations: None,
            };
            if let Some(o) = options(&l, "resource-link-options")? {
                link.title = o.opt_string("title")?;
                link.description = o.opt_string("description")?;
                link.mime_type = o.opt_string("mime-type")?;
                link.size = o.opt_u64("size")?;
                link.annotations = annotations(o.opt("annotations")?)?;
            }
            types::ContentBlock::ResourceLink(link)
        }
        "embedded-resource" => {
            let e = record(payload, "embedded-resource-content")?;
            types::ContentBlock::EmbeddedResource(resource_contents(
                e.field("resource")?,
                streamed,
            )?)
        }
        other => return Err(Shape(format!("unknown content-block case `{other}`"))),
    })
}

/// A `call-tool-result` as Capsule's tool result (`is-error: none` is `false`).
///
/// # Errors
/// A [`Shape`] error.
pub fn call_tool_result(value: &Val, streamed: &mut Streamed) -> R<tools::CallToolResult> {
    let r = record(value, "call-tool-result")?;
    Ok(tools::CallToolResult {
        content: r
            .list("content")?
            .iter()
            .map(|block| content_block(block, streamed))
            .collect::<R<_>>()?,
        structured_content: r.opt_string("structured-content")?,
        is_error: r.opt_bool("is-error")?.unwrap_or(false),
        meta: r.opt_string("meta")?,
    })
}

/// A `read-resource-result` as Capsule's resource contents (its `_meta` is dropped).
///
/// # Errors
/// A [`Shape`] error.
pub fn read_resource_result(
    value: &Val,
    streamed: &mut Streamed,
) -> R<Vec<types::ResourceContents>> {
    record(value, "read-resource-result")?
        .list("contents")?
        .iter()
        .map(|c| resource_contents(c, streamed))
        .collect()
}

/// A `get-prompt-result` as Capsule's rendered prompt (its `_meta` is dropped).
///
/// # Errors
/// A [`Shape`] error.
pub fn get_prompt_result(value: &Val, streamed: &mut Streamed) -> R<prompts::GetPromptResult> {
    let r = record(value, "get-prompt-result")?;
    Ok(prompts::GetPromptResult {
        description: r.opt_string("description")?,
        messages: r
            .list("messages")?
            .iter()
            .map(|m| {
                let m = record(m, "prompt-message")?;
                Ok(prompts::PromptMessage {
                    role: role(m.field("role")?)?,
                    content: content_block(m.field("content")?, streamed)?,
                })
            })
            .collect::<R<_>>()?,
    })
}
