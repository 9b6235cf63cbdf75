//! Prompts: message templates rendered from string arguments.

use crate::content::{Content, Role};
use crate::error::Error;

type RenderFn = Box<dyn Fn(&PromptArgs) -> Result<PromptOutput, Error>>;

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
        render: Box::new(move |args| Ok(render(args)?.into_prompt_output())),
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

    /// Render the prompt with `arguments` (name, value pairs), exactly as
    /// `get-prompt` does. A result without a description gets the prompt's.
    pub fn render(&self, arguments: &[(String, String)]) -> Result<PromptOutput, Error> {
        let args = PromptArgs {
            pairs: arguments.to_vec(),
        };
        let mut out = (self.render)(&args)?;
        if out.description.is_none() {
            out.description = self.description.clone();
        }
        Ok(out)
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
