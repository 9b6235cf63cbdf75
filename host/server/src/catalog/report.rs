//! What the catalog reports about each loaded plugin: the rows of `capsule plugins` (table and
//! `--json`) and of the start-up log line. Nothing here is used to route requests.
//!
//! A plugin's summary says what it asks for in its metadata (requests grant nothing), what it
//! effectively gets (requested ∩ granted, ARCHITECTURE.md §3 "Deny by default"), its limits, and
//! the names it publishes after the catalog settled every claim ([`crate::claims`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use capsule_common::task_support::TaskSupport;
use capsule_sandbox::grants::{Grants, Limits};
use capsule_sandbox::plain::Skipped;
use capsule_sandbox::runtime::LoadedPlugin;
use capsule_sandbox::runtime::bindings::plugin::{Access, CapabilityRequests};
use capsule_sandbox::runtime::plugin::{Exports, PluginKind};
use capsule_sandbox::schema::portable::Finding;

/// A filesystem path a plugin requests (from its metadata).
#[derive(Clone, Debug, Serialize)]
pub struct FilesystemRequest {
    /// The guest path, e.g. `/notes`.
    pub path: String,
    /// `read-only` or `read-write`.
    pub access: &'static str,
    /// Why the plugin says it needs the path.
    pub reason: Option<String>,
}

/// What a plugin asks for (requests grant nothing).
#[derive(Clone, Debug, Serialize, Default)]
pub struct Requests {
    /// Guest paths and the access asked for.
    pub filesystem: Vec<FilesystemRequest>,
    /// Origins or host patterns as the plugin wrote them.
    pub network: Vec<String>,
    /// Environment variable names.
    pub env: Vec<String>,
}

/// A granted filesystem path (effective: requested ∩ granted).
#[derive(Clone, Debug, Serialize)]
pub struct GrantedPath {
    /// Where the plugin sees it.
    pub path: String,
    /// The host directory behind it.
    pub host: PathBuf,
    /// `read-only` or `read-write`.
    pub access: String,
}

/// What a plugin effectively gets. Environment and configuration values are never shown, only
/// names.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Granted {
    /// Mounts: guest path, host directory, access.
    pub filesystem: Vec<GrantedPath>,
    /// Outgoing HTTP origins, canonical (`https://api.github.com`, `https://*.example.com:8443`).
    pub network: Vec<String>,
    /// Raw TCP addresses (`host:port`).
    pub tcp: Vec<String>,
    /// Whether granted names may resolve to loopback, private, link-local ... addresses.
    pub allow_private: bool,
    /// Environment variable names (never their values).
    pub env: Vec<String>,
    /// `wasi:config/store` keys, sorted (never their values). Nothing requests them: the policy's
    /// `[config]` is the grant.
    pub config: Vec<String>,
}

/// A plugin's effective limits, human-readable.
#[derive(Clone, Debug, Serialize)]
pub struct LimitsSummary {
    /// Memory per instance, as a byte size (e.g. `64.0 MiB`).
    pub memory: String,
    /// Time per call, as a duration (e.g. `30s`).
    pub timeout: String,
    /// Calls of the plugin that may run at once.
    pub max_concurrency: usize,
    /// Largest output per call, as a byte size (e.g. `1.0 MiB`).
    pub max_output: String,
}

/// One loaded plugin as `capsule plugins` and the start-up log describe it.
#[derive(Clone, Debug, Serialize)]
pub struct PluginSummary {
    /// File stem: the namespace of its tools and prompts.
    pub name: String,
    /// The name the plugin gives itself in its metadata.
    pub display_name: String,
    /// Its version, from its metadata.
    pub version: String,
    /// Its description, from its metadata.
    pub description: Option<String>,
    /// The `.wasm` file it was loaded from.
    pub path: PathBuf,
    /// `capsule` (implements capsule:plugin), `plain` (exported functions served as tools) or
    /// `wasmcp` (exports wasmcp:mcp-v20251125 tools, resources and prompts).
    pub kind: PluginKind,
    /// The component's imports, as it names them (`wasi:http/outgoing-handler@0.2.3`): what it
    /// may try to use, whatever it is granted.
    pub imports: Vec<String>,
    /// What the plugin offers that is not served, with why (a plain component's skipped
    /// functions; a wasmcp component's unserved exports and fields, unprovided imports).
    pub skipped: Vec<Skipped>,
    /// Published tools without a description of their own.
    pub undocumented: Vec<String>,
    /// Which interfaces it exports (tools, resources, prompts, completions).
    pub exports: Exports,
    /// What it asks for.
    pub requests: Requests,
    /// What it gets: requested ∩ granted.
    pub granted: Granted,
    /// Its effective `[limits]`.
    pub limits: LimitsSummary,
    /// Published tool names.
    pub tools: Vec<String>,
    /// Published tools that some model provider would reject, with every reason
    /// (`capsule_sandbox::schema::portable`); empty when all are portable.
    pub portability: BTreeMap<String, Vec<Finding>>,
    /// Published tools that may run as MCP tasks, with their task support (`optional`,
    /// `required`); tools left out are `forbidden`.
    pub tasks: BTreeMap<String, TaskSupport>,
    /// Resource URIs it serves.
    pub resources: Vec<String>,
    /// Resource templates it serves.
    pub resource_templates: Vec<String>,
    /// Published prompt names.
    pub prompts: Vec<String>,
}

/// What the catalog published for one plugin, after settling claims (each list sorted).
#[derive(Default)]
pub(super) struct Published {
    pub tools: Vec<String>,
    /// Published names of the tools without a description of their own.
    pub undocumented: Vec<String>,
    /// Findings by published tool name (tools with none are left out).
    pub portability: BTreeMap<String, Vec<Finding>>,
    /// Task support by published tool name (`forbidden` tools are left out).
    pub tasks: BTreeMap<String, TaskSupport>,
    pub resources: Vec<String>,
    pub resource_templates: Vec<String>,
    pub prompts: Vec<String>,
}

impl PluginSummary {
    /// The summary of `plugin`, which publishes `published`.
    pub(super) fn describe(plugin: &LoadedPlugin, published: Published) -> Self {
        let grants = plugin.image.grants();
        PluginSummary {
            name: plugin.image.name().to_string(),
            display_name: plugin.metadata.name.clone(),
            version: plugin.metadata.version.clone(),
            description: plugin.metadata.description.clone(),
            path: plugin.path.clone(),
            kind: plugin.kind,
            imports: plugin.imports.clone(),
            skipped: plugin.skipped.clone(),
            undocumented: published.undocumented,
            exports: plugin.exports,
            requests: requests(&plugin.metadata.requests),
            granted: granted(grants),
            limits: limits(&grants.limits),
            tools: published.tools,
            portability: published.portability,
            tasks: published.tasks,
            resources: published.resources,
            resource_templates: published.resource_templates,
            prompts: published.prompts,
        }
    }
}

fn granted(g: &Grants) -> Granted {
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
        config: g.config.keys().map(str::to_string).collect(),
    }
}

fn limits(l: &Limits) -> LimitsSummary {
    LimitsSummary {
        memory: bytesize::ByteSize(l.memory_bytes as u64).to_string(),
        timeout: humantime::format_duration(l.call_timeout).to_string(),
        max_concurrency: l.max_concurrency,
        max_output: bytesize::ByteSize(l.max_output_bytes as u64).to_string(),
    }
}

fn requests(r: &CapabilityRequests) -> Requests {
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
