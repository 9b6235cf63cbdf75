//! Argument completion (MCP `completion/complete`): suggestions for a prompt
//! argument or a resource-template variable while the user types it.
//!
//! Register a completer on the prompt argument or template variable with
//! `Prompt::completer` / `ResourceTemplate::completer`; anything without one
//! is answered with an empty completion.

use crate::error::Error;

/// The most values one completion carries (MCP's limit); the SDK cuts longer
/// lists and sets [`has_more`](Completion::has_more).
pub const MAX_COMPLETION_VALUES: usize = 100;

/// Suggestions for one argument (MCP `CompleteResult.completion`).
///
/// ```
/// use capsule_plugin::Completion;
/// let c = Completion::matching(["Paris", "park", "Rome"], "PAR");
/// assert_eq!(c.values, ["Paris", "park"]);
/// assert_eq!(c.total, Some(2));
/// assert!(!c.has_more);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// The suggestions, best first.
    pub values: Vec<String>,
    /// How many matches exist in all, when known.
    pub total: Option<u32>,
    /// Whether there are more matches than `values`.
    pub has_more: bool,
}

impl Completion {
    /// Nothing to suggest.
    pub fn empty() -> Self {
        Completion::default()
    }

    /// These suggestions, best first.
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Completion {
            values: values.into_iter().map(Into::into).collect(),
            total: None,
            has_more: false,
        }
    }

    /// The `candidates` that start with `partial`, ignoring case, in their
    /// order, with `total` set to how many matched.
    pub fn matching<I, S>(candidates: I, partial: &str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let partial = partial.to_lowercase();
        let values: Vec<String> = candidates
            .into_iter()
            .map(Into::into)
            .filter(|c| c.to_lowercase().starts_with(&partial))
            .collect();
        let total = u32::try_from(values.len()).ok();
        Completion {
            values,
            total,
            has_more: false,
        }
    }

    /// Set how many matches exist in all.
    pub fn total(mut self, total: u32) -> Self {
        self.total = Some(total);
        self
    }

    /// Say whether there are more matches than the values.
    pub fn has_more(mut self, has_more: bool) -> Self {
        self.has_more = has_more;
        self
    }

    /// At most [`MAX_COMPLETION_VALUES`] values; when cut, `has_more` is set
    /// and `total` (if unknown) becomes the uncut count.
    pub(crate) fn capped(mut self) -> Self {
        if self.values.len() > MAX_COMPLETION_VALUES {
            if self.total.is_none() {
                self.total = u32::try_from(self.values.len()).ok();
            }
            self.values.truncate(MAX_COMPLETION_VALUES);
            self.has_more = true;
        }
        self
    }
}

/// What a completer may return: a [`Completion`], a `Vec<String>` or
/// `Vec<&str>` of suggestions, or a `Result` of one of these (an error
/// becomes a JSON-RPC error for the client).
pub trait IntoCompletion {
    /// Turn the value into a completion.
    fn into_completion(self) -> Result<Completion, Error>;
}

impl IntoCompletion for Completion {
    fn into_completion(self) -> Result<Completion, Error> {
        Ok(self)
    }
}

impl IntoCompletion for Vec<String> {
    fn into_completion(self) -> Result<Completion, Error> {
        Ok(Completion::new(self))
    }
}

impl IntoCompletion for Vec<&str> {
    fn into_completion(self) -> Result<Completion, Error> {
        Ok(Completion::new(self))
    }
}

impl<T: IntoCompletion> IntoCompletion for Result<T, Error> {
    fn into_completion(self) -> Result<Completion, Error> {
        self?.into_completion()
    }
}

/// The other arguments (or template variables) the user has already filled
/// in, for completers whose suggestions depend on them (MCP
/// `CompleteRequest.context.arguments`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompletionContext {
    pairs: Vec<(String, String)>,
}

impl CompletionContext {
    /// From name, value pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        CompletionContext { pairs }
    }

    /// The value of argument `name`, if filled in.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every filled-in argument.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// What is being completed (MCP `PromptReference` /
/// `ResourceTemplateReference`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionRef {
    /// A prompt, by its name without the host's `<plugin>_` prefix.
    Prompt(String),
    /// A resource template, by its URI template.
    ResourceTemplate(String),
}

/// A registered completer.
pub(crate) type Completer = Box<dyn Fn(&str, &CompletionContext) -> Result<Completion, Error>>;

/// Box `f` as a completer.
pub(crate) fn completer<R, F>(f: F) -> Completer
where
    R: IntoCompletion,
    F: Fn(&str, &CompletionContext) -> R + 'static,
{
    Box::new(move |value, context| f(value, context).into_completion())
}

/// Run the completer registered for `argument` in `completers`, or answer
/// empty.
pub(crate) fn run(
    completers: &[(String, Completer)],
    argument: &str,
    value: &str,
    context: &CompletionContext,
) -> Result<Completion, Error> {
    match completers.iter().find(|(name, _)| name == argument) {
        Some((_, complete)) => Ok(complete(value, context)?.capped()),
        None => Ok(Completion::empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_to_the_limit() {
        let many: Vec<String> = (0..150).map(|i| format!("v{i}")).collect();
        let c = Completion::new(many).capped();
        assert_eq!(c.values.len(), MAX_COMPLETION_VALUES);
        assert_eq!(c.total, Some(150));
        assert!(c.has_more);
        let known = Completion::new(vec!["a"; 101]).total(5000).capped();
        assert_eq!(known.total, Some(5000));
        let short = Completion::new(["a"]).capped();
        assert_eq!(short, Completion::new(["a"]));
    }

    #[test]
    fn run_finds_the_completer_or_answers_empty() {
        let completers = vec![
            (
                "city".to_string(),
                completer(|partial: &str, cx: &CompletionContext| {
                    let country = cx.get("country").unwrap_or("fr");
                    let cities = if country == "fr" {
                        vec!["Paris", "Lyon"]
                    } else {
                        vec!["Rome"]
                    };
                    Completion::matching(cities, partial)
                }),
            ),
            (
                "broken".to_string(),
                completer(
                    |_: &str, _: &CompletionContext| -> Result<Vec<String>, Error> {
                        Err(Error::internal("no index"))
                    },
                ),
            ),
        ];
        let none = CompletionContext::default();
        assert_eq!(
            run(&completers, "city", "p", &none).unwrap().values,
            ["Paris"]
        );
        let italy = CompletionContext::new(vec![("country".into(), "it".into())]);
        assert_eq!(
            run(&completers, "city", "", &italy).unwrap().values,
            ["Rome"]
        );
        assert_eq!(
            run(&completers, "other", "x", &none),
            Ok(Completion::empty())
        );
        assert_eq!(
            run(&completers, "broken", "", &none),
            Err(Error::internal("no index"))
        );
    }
}
