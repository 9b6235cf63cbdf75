//! Prompts: message templates rendered from string arguments.

use crate::completion::{self, Completer, Completion, CompletionContext, IntoCompletion};
use crate::content::{Content, Role};
use crate::error::Error;
use crate::input::{Context, Outcome, Resumption};

type RenderFn = Box<dyn Fn(&PromptArgs, &Context) -> Result<Outcome<PromptOutput>, Error>>;

/// One declared argument of a prompt (MCP `PromptArgument`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptArgument {
    /// Its name.
    pub name: String,
    /// A human-readable title.
    pub title: Option<String>,
    /// What to pass.
    pub description: Option<String>,
    /// Whether the client must pass it (the host checks before the plugin
    /// runs).
    pub required: bool,
}

/// A prompt (MCP `Prompt`): a name, a description, declared arguments, and
/// the function that renders it. Build one with [`prompt`].
pub struct Prompt {
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) arguments: Vec<PromptArgument>,
    completers: Vec<(String, Completer)>,
    render: RenderFn,
}

/// Declare prompt `name`, rendered by `render` from its arguments.
///
/// `render` may return a `String` (one user message), a [`Message`], a
/// `Vec<Message>`, or a [`PromptOutput`].
///
/// ```
/// use capsule_plugin::prelude::*;
/// let p = prompt("brainstorm", "Ideas about a topic", |args: &PromptArgs| {
///     let topic = args.require("topic")?;
///     let count = args.get_or("count", "5");
///     Ok(format!("Give me {count} ideas about {topic}."))
/// })
/// .required("topic", "What to brainstorm about")
/// .optional("count", "How many ideas (default 5)");
/// let out = p.render(&[("topic".into(), "tea".into())]).unwrap();
/// assert_eq!(out.messages[0], Message::user("Give me 5 ideas about tea."));
/// ```
pub fn prompt<R, F>(name: impl Into<String>, description: impl Into<String>, render: F) -> Prompt
where
    R: IntoPromptOutput,
    F: Fn(&PromptArgs) -> Result<R, Error> + 'static,
{
    Prompt {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        arguments: Vec::new(),
        completers: Vec::new(),
        render: Box::new(move |args, _| Ok(Outcome::Complete(render(args)?.into_prompt_output()))),
    }
}

/// Declare a prompt that may ask the client for input before it renders
/// (elicitation, sampling, roots: MCP multi round-trip requests, SEP-2322).
///
/// Like [`prompt`], but `render` also gets the request's [`Context`] and
/// returns an [`Outcome`]; see [`interactive_tool`](crate::interactive_tool)
/// for how the rounds go.
///
/// ```
/// use capsule_plugin::prelude::*;
/// use serde_json::json;
///
/// let p = interactive_prompt("review", "Review code with the user's focus", |args: &PromptArgs, cx: &Context| {
///     let file = args.require("file")?;
///     let Some(focus) = cx.elicitation("focus") else {
///         return Ok(InputRequired::new()
///             .elicit("focus", "What should the review focus on?", json!({
///                 "type": "object",
///                 "properties": {"focus": {"type": "string"}},
///                 "required": ["focus"]
///             }))
///             .into());
///     };
///     let focus = focus.get_str("focus").unwrap_or("anything");
///     Ok(Outcome::complete(format!("Review {file}, focusing on {focus}.")))
/// })
/// .required("file", "The file to review");
///
/// let args = [("file".to_string(), "main.rs".to_string())];
/// assert!(p.render_with(&args, None).unwrap().is_input_required());
/// let resume = Resumption::new()
///     .response("focus", json!({"action": "accept", "content": {"focus": "errors"}}));
/// let out = p.render_with(&args, Some(resume)).unwrap().complete_value().unwrap();
/// assert_eq!(out.messages, [Message::user("Review main.rs, focusing on errors.")]);
/// ```
pub fn interactive_prompt<R, F>(
    name: impl Into<String>,
    description: impl Into<String>,
    render: F,
) -> Prompt
where
    R: IntoPromptOutput,
    F: Fn(&PromptArgs, &Context) -> Result<Outcome<R>, Error> + 'static,
{
    Prompt {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        arguments: Vec::new(),
        completers: Vec::new(),
        render: Box::new(move |args, cx| match render(args, cx)? {
            Outcome::Complete(r) => Ok(Outcome::Complete(r.into_prompt_output())),
            Outcome::InputRequired(input) => {
                input.validate()?;
                Ok(Outcome::InputRequired(input))
            }
        }),
    }
}

impl Prompt {
    /// The prompt's name (without the host's `<plugin>_` prefix).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The declared arguments.
    pub fn arguments(&self) -> &[PromptArgument] {
        &self.arguments
    }

    /// Set a human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Declare a required argument.
    pub fn required(self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.argument(name, description, true)
    }

    /// Declare an optional argument.
    pub fn optional(self, name: impl Into<String>, description: impl Into<String>) -> Self {
        self.argument(name, description, false)
    }

    fn argument(
        mut self,
        name: impl Into<String>,
        description: impl Into<String>,
        required: bool,
    ) -> Self {
        self.arguments.push(PromptArgument {
            name: name.into(),
            title: None,
            description: Some(description.into()),
            required,
        });
        self
    }

    /// Suggest values for argument `argument` while the user types it (MCP
    /// `completion/complete`): `complete` gets the partial value and the
    /// arguments already filled in, and returns suggestions (a
    /// `Vec<String>`, a `Vec<&str>`, a [`Completion`], or a `Result` of
    /// one). Arguments without a completer get an empty completion.
    ///
    /// ```
    /// use capsule_plugin::prelude::*;
    /// let p = prompt("weather", "Weather in a city", |a: &PromptArgs| {
    ///     Ok(format!("Weather in {}?", a.require("city")?))
    /// })
    /// .required("city", "A city")
    /// .completer("city", |partial, _| Completion::matching(["Paris", "Perth", "Rome"], partial));
    /// assert_eq!(p.complete("city", "pe", &[]).unwrap().values, ["Perth"]);
    /// assert!(p.complete("other", "x", &[]).unwrap().values.is_empty());
    /// ```
    pub fn completer<R, F>(mut self, argument: impl Into<String>, complete: F) -> Self
    where
        R: IntoCompletion,
        F: Fn(&str, &CompletionContext) -> R + 'static,
    {
        let argument = argument.into();
        self.completers.retain(|(name, _)| *name != argument);
        self.completers
            .push((argument, completion::completer(complete)));
        self
    }

    /// Complete argument `argument` from the partial `value`, given the
    /// arguments already filled in, as `completions.complete` does.
    pub fn complete(
        &self,
        argument: &str,
        value: &str,
        context: &[(String, String)],
    ) -> Result<Completion, Error> {
        let context = CompletionContext::new(context.to_vec());
        completion::run(&self.completers, argument, value, &context)
    }

    /// Render the prompt's first round with `arguments` (name, value pairs),
    /// as `get-prompt` does, and expect it to finish. A result without a
    /// description gets the prompt's. An [`interactive_prompt`] that asks for
    /// input answers [`Error::Internal`] here: test it with
    /// [`render_with`](Self::render_with).
    pub fn render(&self, arguments: &[(String, String)]) -> Result<PromptOutput, Error> {
        match self.render_with(arguments, None)? {
            Outcome::Complete(out) => Ok(out),
            Outcome::InputRequired(input) => Err(Error::internal(format!(
                "prompt `{}` asked for input ({}); render it with `render_with`",
                self.name,
                input.summary()
            ))),
        }
    }

    /// Render one round of the prompt, exactly as `get-prompt` does:
    /// `resume` is `None` in the first round, and the client's answers plus
    /// the previous round's state in a later one.
    pub fn render_with(
        &self,
        arguments: &[(String, String)],
        resume: Option<Resumption>,
    ) -> Result<Outcome<PromptOutput>, Error> {
        self.render_in(arguments, &Context::resumed(resume))
    }

    /// Render one round with a [`Context`] of your own (for instance one with
    /// [`Context::with_client_capabilities`]).
    pub fn render_in(
        &self,
        arguments: &[(String, String)],
        cx: &Context,
    ) -> Result<Outcome<PromptOutput>, Error> {
        let args = PromptArgs {
            pairs: arguments.to_vec(),
        };
        Ok((self.render)(&args, cx)?.map(|mut out| {
            if out.description.is_none() {
                out.description = self.description.clone();
            }
            out
        }))
    }
}

/// The arguments a prompt was called with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptArgs {
    pairs: Vec<(String, String)>,
}

impl PromptArgs {
    /// The value of argument `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of argument `name`, or `default`.
    pub fn get_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.get(name).unwrap_or(default)
    }

    /// The value of argument `name`, or [`Error::InvalidArguments`] saying
    /// it is missing.
    pub fn require(&self, name: &str) -> Result<&str, Error> {
        self.get(name)
            .ok_or_else(|| Error::InvalidArguments(format!("missing required argument `{name}`")))
    }

    /// Every argument, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// One message of a rendered prompt (MCP `PromptMessage`).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: Content,
}

impl Message {
    /// A message with any content block.
    pub fn new(role: Role, content: impl Into<Content>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }

    /// A text message from the user.
    pub fn user(text: impl Into<String>) -> Self {
        Message::new(Role::User, Content::text(text))
    }

    /// A text message from the assistant.
    pub fn assistant(text: impl Into<String>) -> Self {
        Message::new(Role::Assistant, Content::text(text))
    }
}

/// A rendered prompt (MCP `GetPromptResult`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromptOutput {
    /// A description of the rendered prompt; defaults to the prompt's.
    pub description: Option<String>,
    /// The messages.
    pub messages: Vec<Message>,
}

/// What a prompt function may return inside `Ok(...)`.
pub trait IntoPromptOutput {
    /// Turn the value into a rendered prompt.
    fn into_prompt_output(self) -> PromptOutput;
}

impl IntoPromptOutput for PromptOutput {
    fn into_prompt_output(self) -> PromptOutput {
        self
    }
}

impl IntoPromptOutput for Vec<Message> {
    fn into_prompt_output(self) -> PromptOutput {
        PromptOutput {
            description: None,
            messages: self,
        }
    }
}

impl IntoPromptOutput for Message {
    fn into_prompt_output(self) -> PromptOutput {
        vec![self].into_prompt_output()
    }
}

impl IntoPromptOutput for String {
    fn into_prompt_output(self) -> PromptOutput {
        Message::user(self).into_prompt_output()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_and_optional_arguments() {
        let p = prompt("p", "A prompt", |a: &PromptArgs| {
            Ok(vec![
                Message::user(a.require("x")?.to_string()),
                Message::assistant(a.get_or("y", "dflt").to_string()),
            ])
        })
        .required("x", "ex")
        .optional("y", "why");
        assert_eq!(p.arguments().len(), 2);
        assert!(p.arguments()[0].required && !p.arguments()[1].required);
        let out = p.render(&[("x".into(), "1".into())]).expect("ok");
        assert_eq!(out.description.as_deref(), Some("A prompt"));
        assert_eq!(
            out.messages,
            vec![Message::user("1"), Message::assistant("dflt")]
        );
        assert_eq!(
            p.render(&[]),
            Err(Error::InvalidArguments(
                "missing required argument `x`".into()
            ))
        );
    }
}
