//! The registry of everything a plugin provides.

use crate::metadata::Metadata;

#[cfg(feature = "resources")]
use crate::content::ResourceContents;
#[cfg(any(feature = "tools", feature = "resources", feature = "prompts"))]
use crate::error::Error;
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
/// The `call_tool`, `read_resource` and `get_prompt` methods dispatch
/// exactly like the component's exports do, which makes a plugin easy to
/// unit-test natively.
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

    /// Run tool `name` on `arguments` (JSON text). Unknown names answer
    /// [`Error::NotFound`].
    #[cfg(feature = "tools")]
    pub fn call_tool(&self, name: &str, arguments: &str) -> Result<ToolOutput, Error> {
        match self.tools.iter().find(|t| t.name == name) {
            Some(tool) => tool.call(arguments),
            None => Err(Error::NotFound(format!("unknown tool `{name}`"))),
        }
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

    /// Render prompt `name` with `arguments`. Unknown names answer
    /// [`Error::NotFound`].
    #[cfg(feature = "prompts")]
    pub fn get_prompt(
        &self,
        name: &str,
        arguments: &[(String, String)],
    ) -> Result<PromptOutput, Error> {
        match self.prompts.iter().find(|p| p.name == name) {
            Some(p) => p.render(arguments),
            None => Err(Error::NotFound(format!("unknown prompt `{name}`"))),
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
}
