//! Capability negotiation: the `ServerCapabilities` a catalog lets the server advertise in its
//! `initialize` result (MCP 2025-11-25) and `server/discover` result (MCP 2026-07-28), "Lifecycle
//! → Capability Negotiation".
//!
//! Built with rmcp's typed [`ServerCapabilities::builder`], so every capability is a field the
//! compiler knows: a misspelt capability does not compile, where JSON assembled by hand would have
//! silently advertised nothing.

#![allow(deprecated)] // `logging` is deprecated by SEP-2577 but still part of both revisions we serve.

use rmcp::model::{PromptsCapability, ResourcesCapability, ServerCapabilities, ToolsCapability};

use super::Catalog;

impl Catalog {
    /// Whether a published prompt or resource template belongs to a plugin that exports
    /// `completions` (the `completion/complete` request, MCP "Utilities → Completion").
    pub fn has_completions(&self) -> bool {
        self.prompts
            .values()
            .map(|e| &e.plugin)
            .chain(self.templates.iter().map(|t| &t.plugin))
            .any(|p| p.exports().completions)
    }

    /// The MCP `ServerCapabilities` this catalog supports:
    /// - `tools` and `logging` always (the server exists to serve tools, even when none are
    ///   loaded, and forwards plugin logs);
    /// - `resources` with `subscribe: true` when any plugin serves resources or resource
    ///   templates (`resources/subscribe` in 2025-11-25, listen filters in 2026-07-28; plugins
    ///   report changes with the `resource-updated` host import);
    /// - `completions` when [`Self::has_completions`];
    /// - `prompts` when any plugin serves prompts;
    /// - the tasks extension (`extensions["io.modelcontextprotocol/tasks"]`, SEP-2663) always:
    ///   tasks outlive catalog changes, so `tasks/get` must keep working after the last
    ///   task-supporting tool is gone.
    ///
    /// With `list_changed` (the plugin directory is watched) the `tools`, `resources` and
    /// `prompts` capabilities say `listChanged: true`; otherwise they leave it out.
    pub fn capabilities(&self, list_changed: bool) -> ServerCapabilities {
        let list_changed = list_changed.then_some(true);
        let mut tools = ToolsCapability::default();
        tools.list_changed = list_changed;
        let mut builder = ServerCapabilities::builder()
            .enable_logging()
            .enable_tools_with(tools)
            .enable_tasks();
        if self.has_resources() {
            let mut resources = ResourcesCapability::default();
            resources.subscribe = Some(true);
            resources.list_changed = list_changed;
            builder.resources = Some(resources);
        }
        if self.has_completions() {
            builder.completions = Some(Default::default());
        }
        if self.has_prompts() {
            let mut prompts = PromptsCapability::default();
            prompts.list_changed = list_changed;
            builder.prompts = Some(prompts);
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_empty_catalog_advertises_tools_logging_and_tasks_only() {
        let c = Catalog::build(&[]);
        assert_eq!(
            serde_json::to_value(c.capabilities(true)).unwrap(),
            json!({
                "tools": { "listChanged": true },
                "logging": {},
                "extensions": { "io.modelcontextprotocol/tasks": {} }
            })
        );
        assert_eq!(
            serde_json::to_value(c.capabilities(false)).unwrap(),
            json!({
                "tools": {},
                "logging": {},
                "extensions": { "io.modelcontextprotocol/tasks": {} }
            })
        );
    }
}
