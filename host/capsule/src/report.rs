//! `capsule plugins`: what a plugin directory would serve, for people (a table) and machines (JSON).

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::loader::LoadFailure;
use crate::pinning::{HeldReport, Pins};
use capsule_server::catalog::{Catalog, PluginSummary, Problem};

/// The JSON document printed by `capsule plugins --json`.
#[derive(Serialize)]
pub struct PluginsReport<'a> {
    /// Plugins that loaded and are published, sorted by name: their summary and `pinned`.
    pub plugins: Vec<PluginEntry<'a>>,
    /// Files that did not load: `{path, reason}`.
    pub errors: &'a [LoadFailure],
    /// Items that loaded plugins declare but that are not published: `{plugin, message}`.
    pub problems: &'a [Problem],
    /// The lock file in force (`null`: none, nothing is pinned).
    pub lock: Option<&'a Path>,
    /// Versions not published because their definitions differ from their pin:
    /// `{name, path, serving_previous, pinned, definitions, message, diff}`.
    pub held: &'a [HeldReport],
}

/// One plugin of [`PluginsReport`]: its summary's fields, and whether the lock pins it.
#[derive(Serialize)]
pub struct PluginEntry<'a> {
    #[serde(flatten)]
    pub summary: &'a PluginSummary,
    /// Whether the lock file pins its definitions.
    pub pinned: bool,
}

impl<'a> PluginsReport<'a> {
    /// The report of `catalog`'s plugins, `failures` and `held` versions under `pins`.
    pub fn new(
        catalog: &'a Catalog,
        failures: &'a [LoadFailure],
        pins: Option<&'a Pins>,
        held: &'a [HeldReport],
    ) -> Self {
        Self {
            plugins: catalog
                .plugins()
                .iter()
                .map(|summary| PluginEntry {
                    summary,
                    pinned: is_pinned(pins, &summary.name),
                })
                .collect(),
            errors: failures,
            problems: catalog.problems(),
            lock: pins.map(Pins::path),
            held,
        }
    }
}

fn is_pinned(pins: Option<&Pins>, name: &str) -> bool {
    pins.is_some_and(|p| p.lock().plugins.contains_key(name))
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

/// The portability lines of one plugin: which model providers would reject which tool, and why.
fn portability(out: &mut String, p: &PluginSummary) {
    if p.tools.is_empty() {
        return;
    }
    if p.portability.is_empty() {
        let _ = writeln!(
            out,
            "  portable:   all tools (OpenAI strict, Gemini, Claude)"
        );
        return;
    }
    for (tool, findings) in &p.portability {
        let mut providers: Vec<&str> = findings.iter().map(|f| f.provider.as_str()).collect();
        providers.dedup();
        let _ = writeln!(
            out,
            "  not portable: {tool} (rejected by {})",
            providers.join(", ")
        );
        for f in findings {
            let _ = writeln!(out, "    {f}");
        }
    }
}

/// The human-readable report; with a lock in force, whether each plugin is pinned and the
/// versions held because their definitions differ from their pin.
pub fn table(
    catalog: &Catalog,
    failures: &[LoadFailure],
    pins: Option<&Pins>,
    held: &[HeldReport],
) -> String {
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
        if let Some(pins) = pins {
            let lock = pins.path().display();
            let pin = pins.lock().plugins.get(&p.name);
            if let Some(pin) = pin
                && let (Some(source), Some(digest)) = (&pin.source, &pin.digest)
            {
                let signer = pin.signer.as_deref().unwrap_or("-");
                let _ = writeln!(out, "  source:     {source} @ {digest} (signer: {signer})");
            }
            let _ = if pin.is_some() {
                writeln!(out, "  pinned:     yes ({lock})")
            } else {
                writeln!(
                    out,
                    "  pinned:     no (not in {lock}; `capsule lock` pins it)"
                )
            };
        }
        let _ = writeln!(out, "  imports:    {}", list(&packages(&p.imports)));
        let _ = writeln!(out, "  tools:      {}", list(&p.tools));
        if !p.tasks.is_empty() {
            let tasks: Vec<String> = p.tasks.iter().map(|(t, s)| format!("{t} ({s})")).collect();
            let _ = writeln!(out, "  tasks:      {}", tasks.join(", "));
        }
        portability(&mut out, p);
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
    if !held.is_empty() {
        let _ = writeln!(out, "\nHeld (not published until approved):");
        for h in held {
            let serving = if h.serving_previous {
                "; the previous version keeps serving"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {} ({}): {}{serving}",
                h.name,
                h.path.display(),
                h.message
            );
            for line in &h.diff {
                let _ = writeln!(out, "    {line}");
            }
        }
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
