//! The catalog: the merged, namespaced view of every loaded plugin that the server answers from,
//! and the index that routes each request to the plugin that serves it.
//!
//! Built once from the loaded plugins (and rebuilt whole when they change), then only read. Tools
//! and prompts are published as `<plugin>_<name>`, or as the plugin's policy says (`[publish]`:
//! another prefix or none, renames, include/exclude globs); resources keep their URIs. Names and URIs that
//! several plugins claim are settled by [`crate::claims`] (never by load order, ARCHITECTURE.md
//! §3); a claim refused or withheld is reported. Items a plugin declares badly (an invalid name or
//! schema) are skipped and reported; the rest of the plugin still loads.
//!
//! - this module: the routing index (published name or resource URI → plugin);
//! - [`report`]: what `capsule plugins` and the start-up log say about each plugin;
//! - [`capabilities`]: the MCP server capabilities the catalog lets the server advertise.

pub mod capabilities;
pub mod report;

use std::collections::BTreeMap;
use std::sync::Arc;

use rmcp::model as mcp;
use serde_json::Value;

use crate::claims::{Claim, Rule, most_senior, settle};
pub use crate::claims::{Problem, Seniority};
use crate::convert::{self, ConvertError};
use crate::naming::{NameError, published_name};
use crate::uri_template::{TemplateError, UriTemplate};
use capsule_common::task_support::{self, TaskSupport};
use capsule_sandbox::runtime::{LoadedPlugin, PluginImage};
use capsule_sandbox::schema::portable::{self, Finding};
use capsule_sandbox::schema::vet::SchemaLimits;
use capsule_sandbox::schema::{Schema, SchemaError};
use report::Published;
pub use report::{FilesystemRequest, Granted, GrantedPath, LimitsSummary, PluginSummary, Requests};

/// A published tool and where it runs.
pub struct ToolEntry {
    /// The plugin that runs it.
    pub plugin: Arc<PluginImage>,
    /// The tool's name inside its plugin.
    pub name: String,
    /// The MCP `Tool` clients list, named `<plugin>_<name>`.
    pub tool: mcp::Tool,
    /// Compiled `inputSchema`, checked before every call.
    pub input: Arc<Schema>,
    /// Compiled `outputSchema`, checked against every structured result.
    pub output: Option<Arc<Schema>>,
    /// Why model providers would reject the tool as published (empty: portable).
    pub portability: Vec<Finding>,
    /// Whether calls may run as MCP tasks: the plugin's `_meta` declaration
    /// ([`task_support::META_KEY`], removed from the published `_meta`) or the operator's
    /// `[tools.NAME] task_support`; `forbidden` when neither says.
    pub task_support: TaskSupport,
}

/// A published prompt and where it renders.
pub struct PromptEntry {
    /// The plugin that renders it.
    pub plugin: Arc<PluginImage>,
    /// The prompt's name inside its plugin.
    pub name: String,
    /// The MCP `Prompt` clients list, named `<plugin>_<name>`.
    pub prompt: mcp::Prompt,
    /// Names of the arguments marked `required`.
    pub required: Vec<String>,
}

/// A concrete resource and its plugin.
pub struct ResourceEntry {
    /// The plugin that reads it.
    pub plugin: Arc<PluginImage>,
    /// The MCP `Resource` clients list.
    pub resource: mcp::Resource,
}

/// A resource template and its plugin.
pub struct TemplateEntry {
    /// The plugin that reads the URIs it matches.
    pub plugin: Arc<PluginImage>,
    /// How long its plugin has been served, to settle URIs that several plugins' templates match.
    pub seniority: Option<Seniority>,
    /// The parsed template that matches URIs.
    pub template: UriTemplate,
    /// The MCP `ResourceTemplate` clients list.
    pub mcp: mcp::ResourceTemplate,
}

/// The merged view of all loaded plugins.
#[derive(Default)]
pub struct Catalog {
    plugins: Vec<PluginSummary>,
    tools: BTreeMap<String, ToolEntry>,
    prompts: BTreeMap<String, PromptEntry>,
    resources: BTreeMap<String, ResourceEntry>,
    templates: Vec<TemplateEntry>,
    problems: Vec<Problem>,
}

/// No seniority known: every contested URI is withheld.
fn unranked(_: &str) -> Option<Seniority> {
    None
}

/// Why a resource URI could not be routed to a plugin.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No plugin serves the URI, as a resource or through a template.
    #[error("resource '{0}' not found")]
    NotFound(String),
    #[error(
        "the resource URI is {0} bytes long, over the limit of {max} bytes",
        max = crate::uri_template::MAX_URI_BYTES
    )]
    /// The URI is over [`crate::uri_template::MAX_URI_BYTES`] (its length in bytes).
    TooLong(usize),
    #[error(
        "resource '{uri}' matches templates of several plugins ({plugins}); ask the operator to remove the overlap"
    )]
    /// Templates of several plugins match and none has served longer.
    Ambiguous {
        /// The URI asked for.
        uri: String,
        /// The plugins whose templates match, sorted, joined by `, `.
        plugins: String,
    },
}

/// Why a tool, prompt or resource template a plugin declares is not published (the catalog
/// reports it as a [`Problem`] and publishes the plugin's other items).
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// Its published name would break the naming rules.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A field does not convert to the MCP type.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// Its URI template does not parse.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Its input schema fails vetting ([`capsule_sandbox::schema::vet`]) or does not compile.
    #[error("invalid input-schema: {0}")]
    InputSchema(#[source] SchemaError),
    /// Its output schema fails vetting or does not compile.
    #[error("invalid output-schema: {0}")]
    OutputSchema(#[source] SchemaError),
    /// Its `_meta` declares a task support that is not a known name.
    #[error("invalid _meta \"{key}\": {0}", key = task_support::META_KEY)]
    TaskSupport(String),
}

impl Catalog {
    /// Merge `plugins` (any order; the result does not depend on it), with no seniority known:
    /// a resource URI or template two plugins claim is withheld from both.
    pub fn build(plugins: &[Arc<LoadedPlugin>]) -> Self {
        Self::build_ranked(plugins, &unranked)
    }

    /// Merge `plugins`; competing claims are settled by [`crate::claims`] with `seniority`
    /// telling how long each plugin has been served.
    pub fn build_ranked(
        plugins: &[Arc<LoadedPlugin>],
        seniority: &dyn Fn(&str) -> Option<Seniority>,
    ) -> Self {
        let mut plugins: Vec<&Arc<LoadedPlugin>> = plugins.iter().collect();
        plugins.sort_by(|a, b| a.image.name().cmp(b.image.name()));
        let mut problems = Vec::new();
        let mut tools = Vec::new();
        let mut prompts = Vec::new();
        let mut resources = Vec::new();
        let mut templates = Vec::new();

        for p in plugins.iter().copied() {
            let plugin = p.image.name().to_string();
            let mut report = |message: String| {
                problems.push(Problem {
                    plugin: plugin.clone(),
                    message,
                })
            };
            let publishing = p.image.publishing();
            for t in &p.tools {
                let Some(name) = publish_as(&p.image, &t.name) else {
                    continue;
                };
                match name
                    .and_then(|(name, namespace)| Ok((tool_entry(&p.image, t, &name)?, namespace)))
                {
                    Ok((entry, _))
                        if publishing.strict_schemas && !entry.portability.is_empty() =>
                    {
                        let reasons: Vec<String> =
                            entry.portability.iter().map(ToString::to_string).collect();
                        report(format!(
                            "tool '{}' skipped: its input schema is not portable and \
                             strict_schemas is on: {}",
                            t.name,
                            reasons.join("; ")
                        ));
                    }
                    Ok((entry, namespace)) => tools.push(Claim {
                        key: entry.tool.name.to_string(),
                        plugin: plugin.clone(),
                        namespace,
                        entry,
                    }),
                    Err(e) => report(format!("tool '{}' skipped: {e}", t.name)),
                }
            }
            for pr in &p.prompts {
                let Some(name) = publish_as(&p.image, &pr.name) else {
                    continue;
                };
                match name.and_then(|(name, namespace)| {
                    Ok((prompt_entry(&p.image, pr, &name)?, namespace))
                }) {
                    Ok((entry, namespace)) => prompts.push(Claim {
                        key: entry.prompt.name.clone(),
                        plugin: plugin.clone(),
                        namespace,
                        entry,
                    }),
                    Err(e) => report(format!("prompt '{}' skipped: {e}", pr.name)),
                }
            }
            for item in publishing.rename.keys() {
                let declared = p.tools.iter().any(|t| &t.name == item)
                    || p.prompts.iter().any(|pr| &pr.name == item);
                if !declared {
                    report(format!(
                        "publish.rename.{item}: the plugin has no tool or prompt '{item}'"
                    ));
                }
            }
            for r in &p.resources {
                match convert::resource(r) {
                    Ok(resource) => resources.push(Claim {
                        key: r.uri.clone(),
                        plugin: plugin.clone(),
                        namespace: String::new(),
                        entry: ResourceEntry {
                            plugin: p.image.clone(),
                            resource,
                        },
                    }),
                    Err(e) => report(format!("resource '{}' skipped: {e}", r.uri)),
                }
            }
            for t in &p.resource_templates {
                let entry = UriTemplate::parse(&t.uri_template)
                    .map_err(EntryError::from)
                    .and_then(|template| {
                        Ok(TemplateEntry {
                            plugin: p.image.clone(),
                            seniority: seniority(&plugin),
                            template,
                            mcp: convert::resource_template(t)?,
                        })
                    });
                match entry {
                    Ok(entry) => templates.push(Claim {
                        key: t.uri_template.clone(),
                        plugin: plugin.clone(),
                        namespace: String::new(),
                        entry,
                    }),
                    Err(e) => report(format!(
                        "resource template '{}' skipped: {e}",
                        t.uri_template
                    )),
                }
            }
        }

        let p = &mut problems;
        let tools = settle("tool name", Rule::Namespace, tools, seniority, p);
        let prompts = settle("prompt name", Rule::Namespace, prompts, seniority, p);
        let resources = settle("resource URI", Rule::Seniority, resources, seniority, p);
        let templates = settle(
            "resource template",
            Rule::Seniority,
            templates,
            seniority,
            p,
        )
        .into_values()
        .collect::<Vec<_>>();

        let summaries = plugins
            .iter()
            .map(|p| {
                let name = p.image.name();
                let mine = |owner: &Arc<PluginImage>| owner.name() == name;
                PluginSummary::describe(
                    p,
                    Published {
                        tools: owned_keys(&tools, |e| mine(&e.plugin)),
                        undocumented: tools
                            .values()
                            .filter(|e| mine(&e.plugin) && p.undocumented.contains(&e.name))
                            .map(|e| e.tool.name.to_string())
                            .collect(),
                        portability: tools
                            .values()
                            .filter(|e| mine(&e.plugin) && !e.portability.is_empty())
                            .map(|e| (e.tool.name.to_string(), e.portability.clone()))
                            .collect(),
                        tasks: tools
                            .values()
                            .filter(|e| mine(&e.plugin) && e.task_support.allows_tasks())
                            .map(|e| (e.tool.name.to_string(), e.task_support))
                            .collect(),
                        resources: owned_keys(&resources, |e| mine(&e.plugin)),
                        resource_templates: templates
                            .iter()
                            .filter(|e| mine(&e.plugin))
                            .map(|e| e.template.as_str().to_string())
                            .collect(),
                        prompts: owned_keys(&prompts, |e| mine(&e.plugin)),
                    },
                )
            })
            .collect();

        Catalog {
            plugins: summaries,
            tools,
            prompts,
            resources,
            templates,
            problems,
        }
    }

    /// Every loaded plugin's summary, sorted by name (`capsule plugins`, `/readyz`).
    pub fn plugins(&self) -> &[PluginSummary] {
        &self.plugins
    }

    /// Items that were not published, with the reason.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The tool published as `name` (`<plugin>_<tool>`).
    pub fn tool(&self, name: &str) -> Option<&ToolEntry> {
        self.tools.get(name)
    }

    /// The prompt published as `name` (`<plugin>_<prompt>`).
    pub fn prompt(&self, name: &str) -> Option<&PromptEntry> {
        self.prompts.get(name)
    }

    /// Published tools, sorted by name.
    pub fn tool_list(&self) -> Vec<mcp::Tool> {
        self.tools.values().map(|e| e.tool.clone()).collect()
    }

    /// Published prompts, sorted by name.
    pub fn prompt_list(&self) -> Vec<mcp::Prompt> {
        self.prompts.values().map(|e| e.prompt.clone()).collect()
    }

    /// Concrete resources, sorted by URI.
    pub fn resource_list(&self) -> Vec<mcp::Resource> {
        self.resources
            .values()
            .map(|e| e.resource.clone())
            .collect()
    }

    /// Resource templates, sorted by template.
    pub fn template_list(&self) -> Vec<mcp::ResourceTemplate> {
        self.templates.iter().map(|e| e.mcp.clone()).collect()
    }

    /// Whether any plugin provides resources (concrete or templated).
    pub fn has_resources(&self) -> bool {
        !self.resources.is_empty() || !self.templates.is_empty()
    }

    /// Whether any plugin provides prompts.
    pub fn has_prompts(&self) -> bool {
        !self.prompts.is_empty()
    }

    /// The resource template published as `uri_template`.
    pub fn template(&self, uri_template: &str) -> Option<&TemplateEntry> {
        self.templates
            .iter()
            .find(|t| t.mcp.uri_template == uri_template)
    }

    /// The plugin that serves `uri`: the owner of that exact resource, else the one plugin whose
    /// templates match it.
    ///
    /// # Errors
    /// [`ResolveError::NotFound`] when nothing claims it, [`ResolveError::Ambiguous`] when
    /// templates of several plugins match and none has served longer, [`ResolveError::TooLong`]
    /// past [`crate::uri_template::MAX_URI_BYTES`].
    pub fn resource_owner(&self, uri: &str) -> Result<Arc<PluginImage>, ResolveError> {
        if uri.len() > crate::uri_template::MAX_URI_BYTES {
            return Err(ResolveError::TooLong(uri.len()));
        }
        if let Some(entry) = self.resources.get(uri) {
            return Ok(entry.plugin.clone());
        }
        let matching: Vec<&TemplateEntry> = self
            .templates
            .iter()
            .filter(|t| t.template.matches(uri).is_some())
            .collect();
        if matching.is_empty() {
            return Err(ResolveError::NotFound(uri.to_string()));
        }
        // Templates of several plugins match: the one that has served longer answers.
        let names: Vec<&str> = matching.iter().map(|t| t.plugin.name()).collect();
        let seniority = |name: &str| {
            matching
                .iter()
                .find(|t| t.plugin.name() == name)
                .and_then(|t| t.seniority)
        };
        let winner = most_senior(&names, &seniority)
            .and_then(|name| matching.iter().find(|t| t.plugin.name() == name));
        match winner {
            Some(entry) => Ok(entry.plugin.clone()),
            None => {
                let mut plugins = names.clone();
                plugins.sort();
                plugins.dedup();
                Err(ResolveError::Ambiguous {
                    uri: uri.to_string(),
                    plugins: plugins.join(", "),
                })
            }
        }
    }
}

/// The keys of `map` whose entry `owned` accepts, in order.
fn owned_keys<E>(map: &BTreeMap<String, E>, owned: impl Fn(&E) -> bool) -> Vec<String> {
    map.iter()
        .filter(|(_, e)| owned(e))
        .map(|(k, _)| k.clone())
        .collect()
}

/// The name the item `item` of `plugin` is published as, with the namespace it is in (the prefix
/// it was made with; empty for an unprefixed or renamed item), under the plugin's `[publish]`
/// policy; `None` when its `include`/`exclude` globs leave the item out.
fn publish_as(plugin: &PluginImage, item: &str) -> Option<Result<(String, String), EntryError>> {
    let publishing = plugin.publishing();
    if !publishing.publishes(item) {
        return None;
    }
    if let Some(name) = publishing.rename.get(item) {
        return Some(Ok((name.clone(), String::new())));
    }
    let prefix = publishing.prefix.as_deref().unwrap_or(plugin.name());
    Some(
        published_name(prefix, item)
            .map(|name| (name, prefix.to_string()))
            .map_err(EntryError::from),
    )
}

fn tool_entry(
    plugin: &Arc<PluginImage>,
    t: &capsule_sandbox::runtime::bindings::tools::Tool,
    published: &str,
) -> Result<ToolEntry, EntryError> {
    let mut tool = convert::tool(published, t)?;
    let task_support = take_task_support(&mut tool)?;
    let limits = SchemaLimits {
        max_bytes: plugin.grants().limits.max_schema_bytes,
        ..SchemaLimits::default()
    };
    let input = Schema::vetted(&Value::Object((*tool.input_schema).clone()), &limits)
        .map_err(EntryError::InputSchema)?;
    let output = match &tool.output_schema {
        Some(schema) => Some(Arc::new(
            Schema::vetted(&Value::Object((**schema).clone()), &limits)
                .map_err(EntryError::OutputSchema)?,
        )),
        None => None,
    };
    let input = Arc::new(input);
    let portability = portable::check(published, &Value::Object((*tool.input_schema).clone()));
    Ok(ToolEntry {
        plugin: plugin.clone(),
        name: t.name.clone(),
        tool,
        input,
        output,
        portability,
        task_support,
    })
}

/// Remove the task support declaration from `tool`'s `_meta` (dropping a `_meta` left empty)
/// and return it; `forbidden` when there is none.
///
/// # Errors
/// [`EntryError::TaskSupport`] when the value is not one of the three names.
fn take_task_support(tool: &mut mcp::Tool) -> Result<TaskSupport, EntryError> {
    let Some(meta) = tool.meta.as_mut() else {
        return Ok(TaskSupport::Forbidden);
    };
    let declared = meta.remove(task_support::META_KEY);
    if meta.is_empty() {
        tool.meta = None;
    }
    match declared {
        None => Ok(TaskSupport::Forbidden),
        Some(Value::String(name)) => name
            .parse()
            .map_err(|e: task_support::UnknownTaskSupport| EntryError::TaskSupport(e.to_string())),
        Some(other) => Err(EntryError::TaskSupport(format!(
            "expected one of \"forbidden\", \"optional\", \"required\", got {other}"
        ))),
    }
}

fn prompt_entry(
    plugin: &Arc<PluginImage>,
    p: &capsule_sandbox::runtime::bindings::prompts::Prompt,
    published: &str,
) -> Result<PromptEntry, EntryError> {
    Ok(PromptEntry {
        plugin: plugin.clone(),
        name: p.name.clone(),
        prompt: convert::prompt(published, p)?,
        required: p
            .arguments
            .iter()
            .filter(|a| a.required)
            .map(|a| a.name.clone())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_catalog_routes_nothing() {
        let c = Catalog::build(&[]);
        assert!(!c.has_resources() && !c.has_prompts());
        assert_eq!(
            c.resource_owner("x://y").err(),
            Some(ResolveError::NotFound("x://y".into()))
        );
        let long = format!("x://{}", "a".repeat(crate::uri_template::MAX_URI_BYTES));
        assert_eq!(
            c.resource_owner(&long).err(),
            Some(ResolveError::TooLong(long.len()))
        );
    }
}
