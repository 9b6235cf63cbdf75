//! The catalog: the merged, namespaced view of every loaded plugin that the server answers from.
//!
//! Built once from the loaded plugins (and rebuilt whole when they change), then only read. Tools
//! and prompts are published as `<plugin>_<name>`; resources keep their URIs. Anything two plugins
//! both claim (a published name, a resource URI, a URI template) is withheld from both and
//! reported: a collision is never resolved by load order (ARCHITECTURE.md §3). Items a plugin declares
//! badly (an invalid name or schema) are skipped and reported; the rest of the plugin still loads.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use rmcp::model as mcp;
use serde::Serialize;
use serde_json::Value;

use crate::claims::{Claim, Rule, most_senior, settle};
pub use crate::claims::{Problem, Seniority};
use crate::convert;
use crate::naming::published_name;
use crate::uri_template::UriTemplate;
use capsule_sandbox::runtime::bindings::plugin::Access;
use capsule_sandbox::runtime::plugin::Exports;
use capsule_sandbox::runtime::{LoadedPlugin, PluginImage};
use capsule_sandbox::schema::Schema;
use capsule_sandbox::schema::vet::SchemaLimits;

/// A published tool and where it runs.
pub struct ToolEntry {
    pub plugin: Arc<PluginImage>,
    /// The tool's name inside its plugin.
    pub name: String,
    pub tool: mcp::Tool,
    /// Compiled `inputSchema`, checked before every call.
    pub input: Arc<Schema>,
    /// Compiled `outputSchema`, checked against every structured result.
    pub output: Option<Arc<Schema>>,
}

/// A published prompt and where it renders.
pub struct PromptEntry {
    pub plugin: Arc<PluginImage>,
    pub name: String,
    pub prompt: mcp::Prompt,
    /// Names of the arguments marked `required`.
    pub required: Vec<String>,
}

/// A concrete resource and its plugin.
pub struct ResourceEntry {
    pub plugin: Arc<PluginImage>,
    pub resource: mcp::Resource,
}

/// A resource template and its plugin.
pub struct TemplateEntry {
    pub plugin: Arc<PluginImage>,
    /// How long its plugin has been served, to settle URIs that several plugins' templates match.
    pub seniority: Option<Seniority>,
    pub template: UriTemplate,
    pub mcp: mcp::ResourceTemplate,
}

/// A filesystem path a plugin requests (from its metadata).
#[derive(Clone, Debug, Serialize)]
pub struct FilesystemRequest {
    pub path: String,
    pub access: &'static str,
    pub reason: Option<String>,
}

/// What a plugin asks for (requests grant nothing).
#[derive(Clone, Debug, Serialize, Default)]
pub struct Requests {
    pub filesystem: Vec<FilesystemRequest>,
    pub network: Vec<String>,
    pub env: Vec<String>,
}

/// A granted filesystem path (effective: requested ∩ granted).
#[derive(Clone, Debug, Serialize)]
pub struct GrantedPath {
    pub path: String,
    pub host: PathBuf,
    pub access: String,
}

/// What a plugin effectively gets. Environment values are never shown, only names.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Granted {
    pub filesystem: Vec<GrantedPath>,
    /// Outgoing HTTP origins, canonical (`https://api.github.com`, `https://*.example.com:8443`).
    pub network: Vec<String>,
    /// Raw TCP addresses (`host:port`).
    pub tcp: Vec<String>,
    /// Whether granted names may resolve to loopback, private, link-local ... addresses.
    pub allow_private: bool,
    pub env: Vec<String>,
}

/// A plugin's effective limits, human-readable.
#[derive(Clone, Debug, Serialize)]
pub struct LimitsSummary {
    pub memory: String,
    pub timeout: String,
    pub max_concurrency: usize,
    pub max_output: String,
}

/// One loaded plugin as `capsule plugins` and the start-up log describe it.
#[derive(Clone, Debug, Serialize)]
pub struct PluginSummary {
    /// File stem: the namespace of its tools and prompts.
    pub name: String,
    /// The name the plugin gives itself in its metadata.
    pub display_name: String,
    pub version: String,
    pub description: Option<String>,
    pub path: PathBuf,
    pub exports: Exports,
    /// What it asks for.
    pub requests: Requests,
    /// What it gets: requested ∩ granted.
    pub granted: Granted,
    pub limits: LimitsSummary,
    /// Published tool names.
    pub tools: Vec<String>,
    pub resources: Vec<String>,
    pub resource_templates: Vec<String>,
    /// Published prompt names.
    pub prompts: Vec<String>,
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
    #[error("resource '{0}' not found")]
    NotFound(String),
    #[error(
        "the resource URI is {0} bytes long, over the limit of {max} bytes",
        max = crate::uri_template::MAX_URI_BYTES
    )]
    TooLong(usize),
    #[error(
        "resource '{uri}' matches templates of several plugins ({plugins}); ask the operator to remove the overlap"
    )]
    Ambiguous { uri: String, plugins: String },
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
            for t in &p.tools {
                match tool_entry(&p.image, t) {
                    Ok(entry) => tools.push(Claim {
                        key: entry.tool.name.to_string(),
                        plugin: plugin.clone(),
                        entry,
                    }),
                    Err(e) => report(format!("tool '{}' skipped: {e}", t.name)),
                }
            }
            for pr in &p.prompts {
                match prompt_entry(&p.image, pr) {
                    Ok(entry) => prompts.push(Claim {
                        key: entry.prompt.name.clone(),
                        plugin: plugin.clone(),
                        entry,
                    }),
                    Err(e) => report(format!("prompt '{}' skipped: {e}", pr.name)),
                }
            }
            for r in &p.resources {
                match convert::resource(r) {
                    Ok(resource) => resources.push(Claim {
                        key: r.uri.clone(),
                        plugin: plugin.clone(),
                        entry: ResourceEntry {
                            plugin: p.image.clone(),
                            resource,
                        },
                    }),
                    Err(e) => report(format!("resource '{}' skipped: {e}", r.uri)),
                }
            }
            for t in &p.resource_templates {
                let entry = UriTemplate::parse(&t.uri_template).and_then(|template| {
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
                PluginSummary {
                    name: name.to_string(),
                    display_name: p.metadata.name.clone(),
                    version: p.metadata.version.clone(),
                    description: p.metadata.description.clone(),
                    path: p.path.clone(),
                    exports: p.exports,
                    requests: requests(&p.metadata.requests),
                    granted: granted(p.image.grants()),
                    limits: limits(&p.image.grants().limits),
                    tools: tools
                        .iter()
                        .filter(|(_, e)| mine(&e.plugin))
                        .map(|(k, _)| k.clone())
                        .collect(),
                    resources: resources
                        .iter()
                        .filter(|(_, e)| mine(&e.plugin))
                        .map(|(k, _)| k.clone())
                        .collect(),
                    resource_templates: templates
                        .iter()
                        .filter(|e| mine(&e.plugin))
                        .map(|e| e.template.as_str().to_string())
                        .collect(),
                    prompts: prompts
                        .iter()
                        .filter(|(_, e)| mine(&e.plugin))
                        .map(|(k, _)| k.clone())
                        .collect(),
                }
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

    pub fn plugins(&self) -> &[PluginSummary] {
        &self.plugins
    }

    /// Items that were not published, with the reason.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    pub fn tool(&self, name: &str) -> Option<&ToolEntry> {
        self.tools.get(name)
    }

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

    /// Whether a published prompt or template belongs to a plugin that exports `completions`.
    pub fn has_completions(&self) -> bool {
        self.prompts
            .values()
            .map(|e| &e.plugin)
            .chain(self.templates.iter().map(|t| &t.plugin))
            .any(|p| p.exports().completions)
    }

    /// The MCP `ServerCapabilities` this catalog supports: `tools` and `logging` always (the
    /// server exists to serve tools, even when none are loaded, and forwards plugin logs),
    /// `resources` and `prompts` only when provided. With `list_changed` (the plugin directory is
    /// watched) each list capability says `listChanged: true`.
    pub fn capabilities(&self, list_changed: bool) -> mcp::ServerCapabilities {
        let list = || {
            let mut cap = serde_json::Map::new();
            if list_changed {
                cap.insert("listChanged".into(), Value::Bool(true));
            }
            Value::Object(cap)
        };
        let mut caps = serde_json::Map::new();
        caps.insert("tools".into(), list());
        caps.insert("logging".into(), Value::Object(Default::default()));
        if self.has_resources() {
            // Subscriptions: `resources/subscribe` (2025-11-25) and listen filters (2026-07-28);
            // plugins report changes with the `resource-updated` host import.
            let mut resources = list();
            resources["subscribe"] = Value::Bool(true);
            caps.insert("resources".into(), resources);
        }
        if self.has_completions() {
            caps.insert("completions".into(), Value::Object(Default::default()));
        }
        if self.has_prompts() {
            caps.insert("prompts".into(), list());
        }
        serde_json::from_value(Value::Object(caps)).unwrap_or_default()
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

fn tool_entry(
    plugin: &Arc<PluginImage>,
    t: &capsule_sandbox::runtime::bindings::tools::Tool,
) -> Result<ToolEntry, String> {
    let published = published_name(plugin.name(), &t.name)?;
    let tool = convert::tool(&published, t)?;
    let limits = SchemaLimits {
        max_bytes: plugin.grants().limits.max_schema_bytes,
        ..SchemaLimits::default()
    };
    let input = Schema::vetted(&Value::Object((*tool.input_schema).clone()), &limits)
        .map_err(|e| format!("invalid input-schema: {e}"))?;
    let output = match &tool.output_schema {
        Some(schema) => Some(Arc::new(
            Schema::vetted(&Value::Object((**schema).clone()), &limits)
                .map_err(|e| format!("invalid output-schema: {e}"))?,
        )),
        None => None,
    };
    let input = Arc::new(input);
    Ok(ToolEntry {
        plugin: plugin.clone(),
        name: t.name.clone(),
        tool,
        input,
        output,
    })
}

fn prompt_entry(
    plugin: &Arc<PluginImage>,
    p: &capsule_sandbox::runtime::bindings::prompts::Prompt,
) -> Result<PromptEntry, String> {
    let published = published_name(plugin.name(), &p.name)?;
    Ok(PromptEntry {
        plugin: plugin.clone(),
        name: p.name.clone(),
        prompt: convert::prompt(&published, p)?,
        required: p
            .arguments
            .iter()
            .filter(|a| a.required)
            .map(|a| a.name.clone())
            .collect(),
    })
}

fn granted(g: &capsule_sandbox::grants::Grants) -> Granted {
    Granted {
        filesystem: g
            .mounts
            .iter()
            .map(|m| GrantedPath {
                path: m.guest.clone(),
                host: m.host.clone(),
                access: m.access.to_string(),
            })
            .collect(),
        network: g
            .network
            .effective
            .allow
            .iter()
            .map(ToString::to_string)
            .collect(),
        tcp: g
            .network
            .effective
            .tcp
            .iter()
            .map(ToString::to_string)
            .collect(),
        allow_private: g.network.effective.allow_private && !g.network.effective.is_empty(),
        env: g.env.iter().map(|v| v.name.clone()).collect(),
    }
}

fn limits(l: &capsule_sandbox::grants::Limits) -> LimitsSummary {
    LimitsSummary {
        memory: bytesize::ByteSize(l.memory_bytes as u64).to_string(),
        timeout: humantime::format_duration(l.call_timeout).to_string(),
        max_concurrency: l.max_concurrency,
        max_output: bytesize::ByteSize(l.max_output_bytes as u64).to_string(),
    }
}

fn requests(r: &capsule_sandbox::runtime::bindings::plugin::CapabilityRequests) -> Requests {
    Requests {
        filesystem: r
            .filesystem
            .iter()
            .map(|f| FilesystemRequest {
                path: f.path.clone(),
                access: match f.access {
                    Access::ReadOnly => "read-only",
                    Access::ReadWrite => "read-write",
                },
                reason: f.reason.clone(),
            })
            .collect(),
        network: r.network.clone(),
        env: r.env.clone(),
    }
}

/// Keep each key that exactly one plugin claims. A key claimed by several plugins is withheld
/// from all of them; a key one plugin declares twice keeps its first declaration. Both are
/// reported.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_catalog_serves_tools_only() {
        let c = Catalog::build(&[]);
        let caps = serde_json::to_value(c.capabilities(true)).unwrap();
        assert_eq!(caps["tools"]["listChanged"], true);
        assert!(caps.get("tools").is_some());
        assert!(caps.get("resources").is_none());
        assert!(caps.get("prompts").is_none());
        assert_eq!(
            c.resource_owner("x://y").err(),
            Some(ResolveError::NotFound("x://y".into()))
        );
    }
}
