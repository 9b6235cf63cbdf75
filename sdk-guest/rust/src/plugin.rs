//! The registry of everything a plugin provides.

use crate::metadata::Metadata;

#[cfg(any(feature = "resources", feature = "prompts"))]
use crate::completion::{Completion, CompletionRef};
#[cfg(feature = "resources")]
use crate::content::ResourceContents;
#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
use crate::error::Error;
#[cfg(any(feature = "tools", feature = "prompts"))]
use crate::input::{Outcome, Resumption};
#[cfg(feature = "prompts")]
use crate::prompt::{Prompt, PromptOutput};
#[cfg(feature = "resources")]
use crate::resource::{Resource, ResourceTemplate};
#[cfg(feature = "tools")]
use crate::tool::{Tool, ToolOutput};

/// A plugin: its metadata plus the tools, resources and prompts it provides.
///
/// Build one in a function and export it with [`export_plugin!`], or let
/// [`plugin!`] do both. The host instantiates the component afresh for every
/// request, so the function runs once per request: keep it cheap (schemas
/// are generated only when tools are listed).
///
/// The `call_tool_with`, `read_resource`, `get_prompt_with` and `complete`
/// methods dispatch exactly like the component's exports do, which makes a
/// plugin easy to unit-test natively; `call_tool` and `get_prompt` are the
/// one-round shorthands.
///
/// [`export_plugin!`]: crate::export_plugin
/// [`plugin!`]: crate::plugin
pub struct Plugin {
    pub(crate) metadata: Metadata,
    #[cfg(feature = "tools")]
    pub(crate) tools: Vec<Tool>,
    #[cfg(feature = "resources")]
    pub(crate) resources: Vec<Resource>,
    #[cfg(feature = "resources")]
    pub(crate) listers: Vec<Box<dyn Fn() -> Vec<Resource>>>,
    #[cfg(feature = "resources")]
    pub(crate) templates: Vec<ResourceTemplate>,
    #[cfg(feature = "prompts")]
    pub(crate) prompts: Vec<Prompt>,
}

impl Plugin {
    /// A plugin that provides nothing yet.
    pub fn new(metadata: Metadata) -> Self {
        Plugin {
            metadata,
            #[cfg(feature = "tools")]
            tools: Vec::new(),
            #[cfg(feature = "resources")]
            resources: Vec::new(),
            #[cfg(feature = "resources")]
            listers: Vec::new(),
            #[cfg(feature = "resources")]
            templates: Vec::new(),
            #[cfg(feature = "prompts")]
            prompts: Vec::new(),
        }
    }

    /// The metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Add a tool (feature `tools`).
    #[cfg(feature = "tools")]
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// The tools, in the order added.
    #[cfg(feature = "tools")]
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    #[cfg(feature = "tools")]
    fn find_tool(&self, name: &str) -> Result<&Tool, Error> {
        self.tools
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::NotFound(format!("unknown tool `{name}`")))
    }

    /// Run tool `name` on `arguments` (JSON text) and expect it to finish in
    /// one round (see [`Tool::call`]). Unknown names answer
    /// [`Error::NotFound`].
    #[cfg(feature = "tools")]
    pub fn call_tool(&self, name: &str, arguments: &str) -> Result<ToolOutput, Error> {
        self.find_tool(name)?.call(arguments)
    }

    /// Run one round of tool `name` on `arguments` (JSON text), exactly as
    /// `call-tool` does; `resume` carries the client's answers and the state
    /// in a later round (see [`Tool::call_with`]). Unknown names answer
    /// [`Error::NotFound`].
    #[cfg(feature = "tools")]
    pub fn call_tool_with(
        &self,
        name: &str,
        arguments: &str,
        resume: Option<Resumption>,
    ) -> Result<Outcome<ToolOutput>, Error> {
        self.find_tool(name)?.call_with(arguments, resume)
    }

    /// Add a static resource (feature `resources`).
    #[cfg(feature = "resources")]
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resources.push(resource);
        self
    }

    /// Add a function that lists resources when the host asks
    /// (`list-resources`, once at load time), for resources that depend on
    /// data, e.g. one per file. Reading a listed resource uses its own read
    /// function if it has one, else the first matching template.
    #[cfg(feature = "resources")]
    pub fn resources_from(mut self, list: impl Fn() -> Vec<Resource> + 'static) -> Self {
        self.listers.push(Box::new(list));
        self
    }

    /// Add a resource template (feature `resources`).
    #[cfg(feature = "resources")]
    pub fn template(mut self, template: ResourceTemplate) -> Self {
        self.templates.push(template);
        self
    }

    /// Every resource: the static ones, then those of each lister.
    #[cfg(feature = "resources")]
    pub fn list_resources(&self) -> Vec<Resource> {
        let mut all = Vec::new();
        for r in &self.resources {
            let mut copy = Resource::new(r.uri.clone(), r.name.clone());
            copy.title = r.title.clone();
            copy.description = r.description.clone();
            copy.mime_type = r.mime_type.clone();
            copy.size = r.size;
            copy.annotations = r.annotations.clone();
            all.push(copy);
        }
        for list in &self.listers {
            all.extend(list());
        }
        all
    }

    /// The resource templates, in the order added.
    #[cfg(feature = "resources")]
    pub fn templates(&self) -> &[ResourceTemplate] {
        &self.templates
    }

    /// Read `uri`: a static resource with that URI, else the first template
    /// that matches, else a listed resource with a read function of its own;
    /// otherwise [`Error::NotFound`].
    #[cfg(feature = "resources")]
    pub fn read_resource(&self, uri: &str) -> Result<Vec<ResourceContents>, Error> {
        if let Some(result) = self
            .resources
            .iter()
            .filter(|r| r.uri == uri)
            .find_map(Resource::read)
        {
            return result;
        }
        if let Some(result) = self.templates.iter().find_map(|t| t.read(uri)) {
            return result;
        }
        for list in &self.listers {
            if let Some(result) = list()
                .iter()
                .filter(|r| r.uri == uri)
                .find_map(Resource::read)
            {
                return result;
            }
        }
        Err(Error::NotFound(format!("unknown resource `{uri}`")))
    }

    /// Add a prompt (feature `prompts`).
    #[cfg(feature = "prompts")]
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompts.push(prompt);
        self
    }

    /// The prompts, in the order added.
    #[cfg(feature = "prompts")]
    pub fn prompts(&self) -> &[Prompt] {
        &self.prompts
    }

    #[cfg(feature = "prompts")]
    fn find_prompt(&self, name: &str) -> Result<&Prompt, Error> {
        self.prompts
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::NotFound(format!("unknown prompt `{name}`")))
    }

    /// Render prompt `name` with `arguments` and expect it to finish in one
    /// round (see [`Prompt::render`]). Unknown names answer
    /// [`Error::NotFound`].
    #[cfg(feature = "prompts")]
    pub fn get_prompt(
        &self,
        name: &str,
        arguments: &[(String, String)],
    ) -> Result<PromptOutput, Error> {
        self.find_prompt(name)?.render(arguments)
    }

    /// Render one round of prompt `name`, exactly as `get-prompt` does;
    /// `resume` carries the client's answers and the state in a later round
    /// (see [`Prompt::render_with`]). Unknown names answer
    /// [`Error::NotFound`].
    #[cfg(feature = "prompts")]
    pub fn get_prompt_with(
        &self,
        name: &str,
        arguments: &[(String, String)],
        resume: Option<Resumption>,
    ) -> Result<Outcome<PromptOutput>, Error> {
        self.find_prompt(name)?.render_with(arguments, resume)
    }

    /// Complete `argument` of a prompt or a resource template from the
    /// partial `value`, exactly as `completions.complete` does: the
    /// completer registered with `Prompt::completer` /
    /// `ResourceTemplate::completer`, or an empty completion when there is
    /// none. A prompt or template this plugin does not have answers
    /// [`Error::NotFound`].
    #[cfg(any(feature = "resources", feature = "prompts"))]
    pub fn complete(
        &self,
        reference: &CompletionRef,
        argument: &str,
        value: &str,
        context: &[(String, String)],
    ) -> Result<Completion, Error> {
        match reference {
            #[cfg(feature = "prompts")]
            CompletionRef::Prompt(name) => {
                self.find_prompt(name)?.complete(argument, value, context)
            }
            #[cfg(feature = "resources")]
            CompletionRef::ResourceTemplate(uri_template) => self
                .templates
                .iter()
                .find(|t| t.uri_template == *uri_template)
                .ok_or_else(|| {
                    Error::NotFound(format!("unknown resource template `{uri_template}`"))
                })?
                .complete(argument, value, context),
            #[allow(unreachable_patterns)]
            other => Err(Error::NotFound(format!(
                "this plugin has no {}",
                match other {
                    CompletionRef::Prompt(n) => format!("prompt `{n}`"),
                    CompletionRef::ResourceTemplate(t) => format!("resource template `{t}`"),
                }
            ))),
        }
    }
}

#[cfg(all(test, feature = "tools", feature = "resources", feature = "prompts"))]
mod tests {
    use super::*;
    use crate::prelude::*;

    fn sample() -> Plugin {
        Plugin::new(Metadata::new("t", "1.0.0"))
            .tool(tool("ping", "Ping", |_: NoArgs| {
                Ok(ToolOutput::text("pong"))
            }))
            .resource(resource("a://one", "one", || Ok("1")))
            .resources_from(|| {
                vec![
                    Resource::new("b://x", "x"),
                    resource("c://own", "own", || Ok("own")),
                ]
            })
            .template(template("b://{id}", "b", |v: &Vars| {
                Ok(format!("b {}", &v["id"]))
            }))
            .prompt(prompt(
                "hi",
                "Say hi",
                |_: &PromptArgs| Ok("hi".to_string()),
            ))
    }

    #[test]
    fn dispatch() {
        let p = sample();
        assert_eq!(
            p.call_tool("ping", "{}").expect("ok").content,
            vec![Content::text("pong")]
        );
        assert!(matches!(p.call_tool("nope", "{}"), Err(Error::NotFound(_))));
        let uris: Vec<String> = p.list_resources().into_iter().map(|r| r.uri).collect();
        assert_eq!(uris, ["a://one", "b://x", "c://own"]);
        let body = |uri: &str| p.read_resource(uri).map(|c| c[0].body.clone());
        assert_eq!(body("a://one"), Ok(ResourceBody::Text("1".into())));
        assert_eq!(body("b://x"), Ok(ResourceBody::Text("b x".into())));
        assert_eq!(body("c://own"), Ok(ResourceBody::Text("own".into())));
        assert_eq!(
            body("z://"),
            Err(Error::NotFound("unknown resource `z://`".into()))
        );
        assert_eq!(
            p.get_prompt("hi", &[]).expect("ok").messages,
            vec![Message::user("hi")]
        );
        assert!(matches!(p.get_prompt("no", &[]), Err(Error::NotFound(_))));
    }

    #[test]
    fn completion_dispatch() {
        let p = sample()
            .prompt(
                prompt("city", "City", |a: &PromptArgs| {
                    Ok(a.require("name")?.to_string())
                })
                .required("name", "A city")
                .completer("name", |partial, _| {
                    Completion::matching(["Paris", "Rome"], partial)
                }),
            )
            .template(template("d://{a}/{b}", "d", |_: &Vars| Ok("d")).completer(
                "b",
                |partial: &str, cx: &CompletionContext| {
                    vec![format!("{}-{partial}", cx.get("a").unwrap_or("?"))]
                },
            ));
        let prompt_ref = CompletionRef::Prompt("city".into());
        assert_eq!(
            p.complete(&prompt_ref, "name", "r", &[]).unwrap().values,
            ["Rome"]
        );
        assert_eq!(
            p.complete(&prompt_ref, "nope", "r", &[]),
            Ok(Completion::empty())
        );
        let template_ref = CompletionRef::ResourceTemplate("d://{a}/{b}".into());
        assert_eq!(
            p.complete(&template_ref, "b", "x", &[("a".into(), "1".into())])
                .unwrap()
                .values,
            ["1-x"]
        );
        // A template without completers answers empty.
        assert_eq!(
            p.complete(
                &CompletionRef::ResourceTemplate("b://{id}".into()),
                "id",
                "",
                &[]
            ),
            Ok(Completion::empty())
        );
        assert!(matches!(
            p.complete(&CompletionRef::Prompt("ghost".into()), "a", "", &[]),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            p.complete(
                &CompletionRef::ResourceTemplate("z://{q}".into()),
                "q",
                "",
                &[]
            ),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn interactive_dispatch() {
        use serde_json::json;
        let p = sample()
            .tool(interactive_tool("ask", "Ask", |_: NoArgs, cx: &Context| {
                Ok(match cx.roots("roots") {
                    Some(r) => Outcome::complete(ToolOutput::text(r.roots.len().to_string())),
                    None => InputRequired::new().list_roots("roots").into(),
                })
            }))
            .prompt(interactive_prompt(
                "p",
                "P",
                |_: &PromptArgs, cx: &Context| {
                    Ok(match cx.state() {
                        Some(b"again") => Outcome::complete("done".to_string()),
                        _ => InputRequired::new()
                            .list_roots("r")
                            .state(b"again".to_vec())
                            .into(),
                    })
                },
            ));
        let first = p.call_tool_with("ask", "{}", None).unwrap();
        assert_eq!(
            first.input_required_value().unwrap().get("roots"),
            Some(&InputRequest::ListRoots)
        );
        let resume = Resumption::new().response("roots", json!({"roots": [{"uri": "file:///a"}]}));
        let done = p.call_tool_with("ask", "{}", Some(resume)).unwrap();
        assert_eq!(
            done.complete_value().unwrap().content,
            vec![Content::text("1")]
        );
        assert!(matches!(
            p.call_tool_with("ghost", "{}", None),
            Err(Error::NotFound(_))
        ));
        let round1 = p.get_prompt_with("p", &[], None).unwrap();
        let state = round1
            .input_required_value()
            .unwrap()
            .state_bytes()
            .unwrap()
            .to_vec();
        let round2 = p
            .get_prompt_with("p", &[], Some(Resumption::new().state(state)))
            .unwrap()
            .complete_value()
            .unwrap();
        assert_eq!(round2.messages, vec![Message::user("done")]);
        assert_eq!(round2.description.as_deref(), Some("P"));
        assert!(matches!(p.get_prompt("p", &[]), Err(Error::Internal(_))));
    }
}
