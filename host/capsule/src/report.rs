//! `capsule plugins`: what a plugin directory would serve, for people (a table) and machines (JSON).

use std::fmt::Write as _;

use serde::Serialize;

use crate::loader::LoadFailure;
use capsule_server::catalog::{Catalog, PluginSummary, Problem};

/// The JSON document printed by `capsule plugins --json`.
#[derive(Serialize)]
pub struct PluginsReport<'a> {
    /// Plugins that loaded, sorted by name.
    pub plugins: &'a [PluginSummary],
    /// Files that did not load: `{path, reason}`.
    pub errors: &'a [LoadFailure],
    /// Items that loaded plugins declare but that are not published: `{plugin, message}`.
    pub problems: &'a [Problem],
}

/// The packages among `imports` (`wasi:http/outgoing-handler@0.2.3` → `wasi:http`), each once.
fn packages(imports: &[String]) -> Vec<String> {
    let mut packages: Vec<String> = imports
        .iter()
        .map(|i| {
            let package = i.split(['/', '@']).next().unwrap_or(i);
            package.to_string()
        })
        .collect();
    packages.sort();
    packages.dedup();
    packages
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_string()
    } else {
        items.join(", ")
    }
}

/// The human-readable report.
pub fn table(catalog: &Catalog, failures: &[LoadFailure]) -> String {
    let mut out = String::new();
    let plugins = catalog.plugins();
    let w = plugins
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        out,
        "{:<w$}  {:<9}  {:>5}  {:>9}  {:>7}  PATH",
        "PLUGIN", "VERSION", "TOOLS", "RESOURCES", "PROMPTS"
    );
    for p in plugins {
        let _ = writeln!(
            out,
            "{:<w$}  {:<9}  {:>5}  {:>9}  {:>7}  {}",
            p.name,
            p.version,
            p.tools.len(),
            p.resources.len() + p.resource_templates.len(),
            p.prompts.len(),
            p.path.display()
        );
    }
    for p in plugins {
        let _ = writeln!(
            out,
            "\n{} {}{}",
            p.name,
            p.version,
            p.description
                .as_deref()
                .map(|d| format!(" — {d}"))
                .unwrap_or_default()
        );
        let _ = writeln!(out, "  kind:       {}", p.kind);
        let _ = writeln!(out, "  imports:    {}", list(&packages(&p.imports)));
        let _ = writeln!(out, "  tools:      {}", list(&p.tools));
        if !p.undocumented.is_empty() {
            let _ = writeln!(out, "  undescribed: {}", list(&p.undocumented));
        }
        for s in &p.skipped {
            let _ = writeln!(out, "  skipped:    {}: {}", s.function, s.reason);
        }
        let _ = writeln!(out, "  resources:  {}", list(&p.resources));
        let _ = writeln!(out, "  templates:  {}", list(&p.resource_templates));
        let _ = writeln!(out, "  prompts:    {}", list(&p.prompts));
        let r = &p.requests;
        let fs: Vec<String> = r
            .filesystem
            .iter()
            .map(|f| format!("{} ({})", f.path, f.access))
            .collect();
        let _ = writeln!(
            out,
            "  requests:   filesystem: {}; network: {}; env: {}",
            list(&fs),
            list(&r.network),
            list(&r.env)
        );
        let g = &p.granted;
        let fs: Vec<String> = g
            .filesystem
            .iter()
            .map(|f| format!("{} = {} ({})", f.path, f.host.display(), f.access))
            .collect();
        let mut network = g.network.clone();
        network.extend(g.tcp.iter().map(|t| format!("tcp://{t}")));
        let private = if g.allow_private {
            " (private addresses allowed)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  granted:    filesystem: {}; network: {}{private}; env: {}; config: {}",
            list(&fs),
            list(&network),
            list(&g.env),
            list(&g.config)
        );
        let l = &p.limits;
        let _ = writeln!(
            out,
            "  limits:     memory {}, timeout {}, max_concurrency {}, max_output {}",
            l.memory, l.timeout, l.max_concurrency, l.max_output
        );
    }
    if !failures.is_empty() {
        let _ = writeln!(out, "\nSkipped files:");
        for f in failures {
            let _ = writeln!(out, "  {}: {}", f.path.display(), f.reason);
        }
    }
    if !catalog.problems().is_empty() {
        let _ = writeln!(out, "\nNot published:");
        for p in catalog.problems() {
            let _ = writeln!(out, "  [{}] {}", p.plugin, p.message);
        }
    }
    out
}
