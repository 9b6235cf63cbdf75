//! Operator policy: the per-plugin policy file (`NAME.toml` beside `NAME.wasm`), parsed strictly,
//! over the default limits and their ceilings ([`LimitBounds`], from the host config
//! `capsule.toml`, which the `capsule` binary parses).
//!
//! Deny by default (ARCHITECTURE.md §3): a plugin with no policy file gets no filesystem, no
//! environment, no configuration and the default limits, and still loads. Every key is checked: an
//! unknown key, a value of the wrong type, a host directory that does not exist or a limit above
//! the host's cap is an error that names the file, the line and what is expected, and the plugin
//! does not load with a half-applied policy.
//!
//! ```toml
//! # plugins/notes.toml
//! [filesystem]
//! "/notes" = { host = "../data/notes", access = "read-only" }   # relative to this file
//! "/cache" = { host = "../data/cache", access = "read-write", quota = "10MiB" }
//!
//! [env]
//! NOTES_TITLE = { value = "My notes" }
//! API_TOKEN = { from_host = "NOTES_API_TOKEN" }
//!
//! [config]                                  # wasi:config/store (get, get-all); see below
//! greeting = { value = "Hello" }
//! api-token = { from_host = "NOTES_API_TOKEN" }
//!
//! [network]                                 # see crate::grants::NetworkGrants
//! allow = ["https://api.github.com", "https://*.example.com:8443", "http://127.0.0.1:8080"]
//! tcp = ["db.internal:5432"]                # raw wasi:sockets TCP connections
//! allow_private = false                     # may granted names resolve to private addresses?
//!
//! [limits]
//! memory = "64MiB"
//! timeout = "10s"
//! max_concurrency = 4
//! max_output = "1MiB"
//! max_open_files = 64                      # see crate::grants::Limits for every key
//! max_sockets = 16
//! max_handles = 5000
//!
//! [tools.read_file]                         # titles and descriptions of a tool, over the plugin's
//! title = "Read a note"
//! description = "Returns the text of one note."
//! params.path = "Path of the note, e.g. /notes/todo.md"
//! task_support = "optional"                # may run as an MCP task: forbidden, optional, required
//!
//! [publish]                                 # what clients see of it: see [`Publishing`]
//! prefix = "n"                              # tools as n_<name>; "" for none; default: the file stem
//! include = ["read_*", "search"]            # globs over its own tool and prompt names
//! exclude = ["read_secret*"]
//! rename = { search = "find_notes" }        # published exactly so, without a prefix
//! strict_schemas = true                     # refuse tools whose input schema is not portable
//! ```
//!
//! Beside the policy, a plain component (`crate::plain`) may have `NAME.wit`: its WIT with doc
//! comments ([`WitSource`]).
//!
//! `[env]` and `[config]` entries follow the same rules: exactly one of `value = "..."` (a
//! literal) or `from_host = "VAR"` (read from the host's environment when the policy is loaded;
//! an unset variable is an error naming the file and the line). Their values are held as
//! [`Secret`]s and never logged or shown. `[env]` keys reach the guest only if it requests them;
//! `[config]` keys (any non-empty string) are granted as written, to every plugin, since the
//! `capsule:plugin` metadata has no way to request them: a component reads them with
//! `wasi:config/store@0.2.0-rc.1` `get`/`get-all` (see [`super::ConfigGrants`]).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;
use toml::Spanned;

use capsule_common::Secret;
use capsule_common::env::{EnvLookup, process_env};
use capsule_common::task_support::TaskSupport;

use super::quota::Quota;
use super::{
    Access, ConfigGrants, ConfigVar, EnvVar, Limits, MIN_HANDLES, Mount, NetworkGrants,
    OriginPattern, TcpGrant,
};

/// A policy or config file that cannot be used. The message names the file, the line, and what
/// is expected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct PolicyError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// Access names as written in policy files.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
enum AccessName {
    ReadOnly,
    ReadWrite,
}

fn default_access() -> AccessName {
    AccessName::ReadOnly
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FsEntry {
    /// Host directory; relative paths are relative to the policy file's directory.
    host: Spanned<String>,
    #[serde(default = "default_access")]
    access: AccessName,
    /// Disk quota of a read-write mount ("10MiB").
    #[serde(default, deserialize_with = "capsule_common::config_units::size")]
    quota: Option<ByteSize>,
}

/// One `[env]` or `[config]` entry: `{ value = "..." }` (a literal) or `{ from_host = "VAR" }`
/// (read from the host's environment when the policy is loaded).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueEntry {
    from_host: Option<String>,
    value: Option<String>,
}

impl ValueEntry {
    /// The entry's value; `what` names it in the error (`env.NAME`, `config.KEY`).
    ///
    /// # Errors
    /// The host variable is unset (or not UTF-8), or the entry gives both or neither form.
    fn resolve(&self, what: &str, host_env: EnvLookup) -> Result<String, String> {
        match (&self.from_host, &self.value) {
            (Some(var), None) => host_env(var).ok_or_else(|| {
                format!("{what}: host environment variable '{var}' is not set (or not UTF-8)")
            }),
            (None, Some(value)) => Ok(value.clone()),
            _ => Err(format!(
                "{what}: give exactly one of from_host = \"VAR\" or value = \"...\""
            )),
        }
    }
}

/// The `[limits]`, `[defaults]` and `[caps]` tables. Unset keys inherit. Each key is a field of
/// [`Limits`] (see [`Limits::entries`] for the names).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsTable {
    #[serde(default, deserialize_with = "capsule_common::config_units::size")]
    memory: Option<ByteSize>,
    #[serde(default, deserialize_with = "capsule_common::config_units::duration")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "capsule_common::config_units::duration")]
    task_timeout: Option<Duration>,
    max_tasks: Option<u32>,
    max_concurrency: Option<u32>,
    #[serde(default, deserialize_with = "capsule_common::config_units::size")]
    max_output: Option<ByteSize>,
    max_content_blocks: Option<u32>,
    #[serde(default, deserialize_with = "capsule_common::config_units::duration")]
    load_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "capsule_common::config_units::duration")]
    compile_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "capsule_common::config_units::size")]
    max_component_size: Option<ByteSize>,
    max_tools: Option<u32>,
    max_prompts: Option<u32>,
    max_resources: Option<u32>,
    #[serde(default, deserialize_with = "capsule_common::config_units::size")]
    max_description: Option<ByteSize>,
    #[serde(default, deserialize_with = "capsule_common::config_units::size")]
    max_schema: Option<ByteSize>,
    #[serde(default, deserialize_with = "capsule_common::config_units::size")]
    max_listing: Option<ByteSize>,
    max_open_files: Option<u32>,
    max_sockets: Option<u32>,
    max_handles: Option<u32>,
}

/// The `[network]` table: origins (`allow`), raw TCP addresses (`tcp`), and whether names may
/// resolve to special-use addresses (`allow_private`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkTable {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    tcp: Vec<Spanned<String>>,
    #[serde(default)]
    allow_private: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyToml {
    #[serde(default)]
    filesystem: BTreeMap<String, Spanned<FsEntry>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<ValueEntry>>,
    #[serde(default)]
    config: BTreeMap<String, Spanned<ValueEntry>>,
    #[serde(default)]
    network: NetworkTable,
    limits: Option<Spanned<LimitsTable>>,
    #[serde(default)]
    tools: BTreeMap<String, Spanned<ToolTextToml>>,
    publish: Option<Spanned<PublishToml>>,
}

/// The `[publish]` table, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishToml {
    prefix: Option<Spanned<String>>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    rename: BTreeMap<String, Spanned<String>>,
    strict_schemas: Option<bool>,
}

/// How a plugin's tools and prompts are published (`[publish]` in its policy; issue #21): the
/// operator's choice of names and of what is published at all. Tools, prompts and the scopes that
/// name them (`tool:NAME`) all use the published names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Publishing {
    /// `prefix`: `None` publishes `<file stem>_<name>`; `Some("")` publishes names as the plugin
    /// declares them; `Some(p)` publishes `<p>_<name>`. Checked against the plugin-name rules
    /// (`capsule_common::naming::check_prefix`).
    pub prefix: Option<String>,
    /// `include`: when not empty, only the items whose name (inside the plugin) matches one of
    /// these globs (`*`, `?`, `[...]`) are published.
    pub include: Vec<glob::Pattern>,
    /// `exclude`: items whose name matches one of these globs are not published (over `include`).
    pub exclude: Vec<glob::Pattern>,
    /// `rename`: item name (inside the plugin) → the exact published name (no prefix added),
    /// checked by `capsule_common::naming::check_published_name`. A name no tool or prompt has
    /// is reported by the catalog.
    pub rename: BTreeMap<String, String>,
    /// `strict_schemas`: tools whose input schema is not portable (accepted unchanged by OpenAI
    /// strict mode, Gemini and Claude) are not published. Defaults to the host's
    /// `[defaults] strict_schemas` ([`LimitBounds::strict_schemas`]).
    pub strict_schemas: bool,
}

impl Publishing {
    /// Whether the item named `name` (inside the plugin) is published: it matches `include` (or
    /// `include` is empty) and no `exclude` glob.
    pub fn publishes(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|g| g.matches(name)))
            && !self.exclude.iter().any(|g| g.matches(name))
    }
}

/// One `[tools.NAME]` table: what the operator says about a tool, over what the plugin says.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolTextToml {
    title: Option<String>,
    description: Option<String>,
    /// Parameter (argument property) name → description.
    #[serde(default)]
    params: BTreeMap<String, String>,
    /// Whether the tool may run as an MCP task, over what the plugin declares.
    task_support: Option<TaskSupport>,
}

/// Titles and descriptions the operator gives a tool in the policy (`[tools.NAME]`), replacing
/// the plugin's own (or, for a plain component, what its WIT documentation says).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ToolText {
    pub title: Option<String>,
    pub description: Option<String>,
    /// Argument name → description, written into the tool's input schema.
    pub params: BTreeMap<String, String>,
    /// `task_support`: whether the tool may run as an MCP task (`forbidden`, `optional`,
    /// `required`), over what the plugin declares in the tool's `_meta`
    /// (`capsule_common::task_support::META_KEY`).
    pub task_support: Option<TaskSupport>,
    /// Line of the table in the policy file (for the error when the plugin has no such tool).
    pub line: usize,
}

/// A `NAME.wit` beside `NAME.wasm`: the WIT of a plain component, with doc comments
/// (`crate::plain::docs`). The host reads it with the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitSource {
    pub path: PathBuf,
    pub text: String,
}

/// The 1-based line of byte offset `span.start` in `source`.
pub fn line_of(source: &str, span: Range<usize>) -> usize {
    source[..span.start.min(source.len())].matches('\n').count() + 1
}

/// Parse `source`, the text of `file`, strictly: the error names the file and the line.
///
/// # Errors
/// TOML syntax, an unknown key, a value of the wrong type.
pub fn parse<T: for<'de> Deserialize<'de>>(file: &Path, source: &str) -> Result<T, PolicyError> {
    toml::from_str(source).map_err(|e| PolicyError {
        file: file.to_path_buf(),
        line: e.span().map(|span| line_of(source, span)),
        message: e.message().trim().to_string(),
    })
}

/// The limits every plugin starts from and the ceilings no policy may exceed (`capsule.toml`'s
/// `[defaults]` and `[caps]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitBounds {
    /// Limits of plugins whose policy does not set them.
    pub defaults: Limits,
    /// Ceilings: a policy asking for more is refused ([`Limits::unlimited`] where `[caps]` sets
    /// nothing).
    pub caps: Limits,
    /// Where they were set (for error messages); `None`: built in.
    pub file: Option<PathBuf>,
    /// `[defaults] strict_schemas`: whether plugins whose policy does not say otherwise have
    /// their non-portable tools refused ([`Publishing::strict_schemas`]). Default `false`.
    pub strict_schemas: bool,
}

impl Default for LimitBounds {
    fn default() -> Self {
        Self {
            defaults: Limits::default(),
            caps: Limits::unlimited(),
            file: None,
            strict_schemas: false,
        }
    }
}

/// A limit over the cap the host config sets for it: "KEY = VALUE exceeds the cap of CAP set in
/// FILE".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{key} = {value} exceeds the cap of {cap} set in {}",
    file.as_deref().map_or_else(|| "the host config".to_string(), |f| f.display().to_string())
)]
pub struct OverCap {
    /// The `[limits]` key.
    pub key: &'static str,
    /// The limit as an operator writes it (`64.0 MiB`, `10s`, `16`).
    pub value: String,
    /// The cap, written the same way.
    pub cap: String,
    /// The file that sets the cap; `None`: built in.
    pub file: Option<PathBuf>,
}

impl LimitBounds {
    /// Check `limits` against the caps.
    ///
    /// # Errors
    /// [`OverCap`] for the first limit over its cap.
    pub fn check_caps(&self, limits: &Limits) -> Result<(), OverCap> {
        match limits.over(&self.caps) {
            None => Ok(()),
            Some((limit, cap)) => Err(OverCap {
                key: limit.key,
                value: limit.text,
                cap: cap.text,
                file: self.file.clone(),
            }),
        }
    }
}

fn bytes(size: ByteSize) -> usize {
    usize::try_from(size.as_u64()).unwrap_or(usize::MAX)
}

impl LimitsTable {
    /// Set in `limits` every key this table sets.
    pub fn apply_to(&self, limits: &mut Limits) {
        fn set<T: Copy, U>(field: &mut U, value: Option<T>, map: impl Fn(T) -> U) {
            if let Some(v) = value {
                *field = map(v);
            }
        }
        let count = |c: u32| c as usize;
        let same = |d: Duration| d;
        set(&mut limits.memory_bytes, self.memory, bytes);
        set(&mut limits.call_timeout, self.timeout, same);
        set(&mut limits.task_timeout, self.task_timeout, same);
        set(&mut limits.max_tasks, self.max_tasks, count);
        set(&mut limits.max_concurrency, self.max_concurrency, count);
        set(&mut limits.max_output_bytes, self.max_output, bytes);
        set(
            &mut limits.max_content_blocks,
            self.max_content_blocks,
            count,
        );
        set(&mut limits.load_timeout, self.load_timeout, same);
        set(&mut limits.compile_timeout, self.compile_timeout, same);
        set(
            &mut limits.max_component_bytes,
            self.max_component_size,
            bytes,
        );
        set(&mut limits.max_tools, self.max_tools, count);
        set(&mut limits.max_prompts, self.max_prompts, count);
        set(&mut limits.max_resources, self.max_resources, count);
        set(
            &mut limits.max_description_bytes,
            self.max_description,
            bytes,
        );
        set(&mut limits.max_schema_bytes, self.max_schema, bytes);
        set(&mut limits.max_listing_bytes, self.max_listing, bytes);
        set(&mut limits.max_open_files, self.max_open_files, count);
        set(&mut limits.max_sockets, self.max_sockets, count);
        set(&mut limits.max_handles, self.max_handles, count);
    }
}

/// What the operator grants one plugin, before intersecting with what it requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The policy file, if there is one.
    pub file: Option<PathBuf>,
    pub mounts: Vec<Mount>,
    pub env: Vec<EnvVar>,
    /// `[config]`: what `wasi:config/store` serves.
    pub config: ConfigGrants,
    /// `[network]`: origins, TCP addresses, `allow_private`.
    pub network: NetworkGrants,
    pub limits: Limits,
    /// `[tools.NAME]`: titles and descriptions by tool name (inside the plugin).
    pub tools: BTreeMap<String, ToolText>,
    /// `[publish]`: names and what is published.
    pub publish: Publishing,
    /// `NAME.wit` beside the component, when the loader found one.
    pub wit: Option<WitSource>,
}

/// The policy file of the plugin at `wasm` (`NAME.wasm` → `NAME.toml`).
pub fn policy_path(wasm: &Path) -> PathBuf {
    wasm.with_extension("toml")
}

impl Policy {
    /// The policy of plugin `plugin`: its policy file (if `file` exists), plus the `--fs`
    /// grants naming it, over `bounds`' default limits; `from_host` values come from the
    /// process environment.
    ///
    /// # Errors
    /// Anything wrong in the file, a missing host directory or environment variable, a limit over
    /// its cap, or a guest path granted both in the file and by `--fs`.
    pub fn load(
        plugin: &str,
        file: &Path,
        cli_mounts: &[Mount],
        bounds: &LimitBounds,
    ) -> Result<Self, PolicyError> {
        let source = match crate::files::read_regular_text(file, crate::files::MAX_CONFIG_BYTES) {
            Ok(source) => Some(source),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(PolicyError {
                    file: file.to_path_buf(),
                    line: None,
                    message: format!("cannot read the policy file: {e}"),
                });
            }
        };
        Self::from_source(
            plugin,
            file,
            source.as_deref(),
            cli_mounts,
            bounds,
            &process_env,
        )
    }

    /// [`Self::load`] with the policy file's text already read (`None`: there is no file), and
    /// `[env]` and `[config]` `from_host` values read through `host_env`.
    ///
    /// # Errors
    /// As [`Self::load`], but for reading the file.
    pub fn from_source(
        plugin: &str,
        file: &Path,
        source: Option<&str>,
        cli_mounts: &[Mount],
        bounds: &LimitBounds,
        host_env: EnvLookup,
    ) -> Result<Self, PolicyError> {
        let mut policy = Policy {
            file: None,
            mounts: Vec::new(),
            env: Vec::new(),
            config: ConfigGrants::default(),
            network: NetworkGrants::default(),
            limits: bounds.defaults,
            tools: BTreeMap::new(),
            publish: Publishing {
                strict_schemas: bounds.strict_schemas,
                ..Publishing::default()
            },
            wit: None,
        };
        if let Some(source) = source {
            policy.file = Some(file.to_path_buf());
            policy.apply_file(plugin, file, source, bounds, host_env)?;
        }
        for mount in cli_mounts.iter().filter(|m| m.plugin == plugin) {
            if policy.mounts.iter().any(|m| m.guest == mount.guest) {
                return Err(PolicyError {
                    file: file.to_path_buf(),
                    line: None,
                    message: format!(
                        "guest path '{}' is granted both here and by --fs; keep one of them",
                        mount.guest
                    ),
                });
            }
            policy.mounts.push(mount.clone());
        }
        Ok(policy)
    }

    fn apply_file(
        &mut self,
        plugin: &str,
        file: &Path,
        source: &str,
        bounds: &LimitBounds,
        host_env: EnvLookup,
    ) -> Result<(), PolicyError> {
        let parsed: PolicyToml = parse(file, source)?;
        let err = |span: Range<usize>, message: String| PolicyError {
            file: file.to_path_buf(),
            line: Some(line_of(source, span)),
            message,
        };
        let base = file.parent().unwrap_or(Path::new("."));
        for (guest, entry) in &parsed.filesystem {
            let span = entry.span();
            let entry = entry.get_ref();
            if !guest.starts_with('/') || guest.split('/').any(|p| p == "..") {
                return Err(err(
                    span,
                    format!(
                        "filesystem: guest path '{guest}' must be absolute and must not contain '..'"
                    ),
                ));
            }
            let host_text = entry.host.get_ref();
            let host = std::fs::canonicalize(base.join(host_text)).map_err(|e| {
                err(
                    entry.host.span(),
                    format!("filesystem.\"{guest}\".host: directory '{host_text}' (relative to the policy file): {e}"),
                )
            })?;
            if !host.is_dir() {
                return Err(err(
                    entry.host.span(),
                    format!(
                        "filesystem.\"{guest}\".host: '{}' is not a directory",
                        host.display()
                    ),
                ));
            }
            if entry.quota.is_some() && entry.access != AccessName::ReadWrite {
                return Err(err(
                    span,
                    format!(
                        "filesystem.\"{guest}\".quota: only a read-write mount can have a quota"
                    ),
                ));
            }
            let quota = entry
                .quota
                .map(|q| Arc::new(Quota::new(host.clone(), q.as_u64())));
            self.mounts.push(Mount {
                plugin: plugin.to_string(),
                guest: guest.clone(),
                host,
                access: match entry.access {
                    AccessName::ReadOnly => Access::ReadOnly,
                    AccessName::ReadWrite => Access::ReadWrite,
                },
                quota,
            });
        }
        for (name, entry) in &parsed.env {
            let value = entry
                .get_ref()
                .resolve(&format!("env.{name}"), host_env)
                .map_err(|message| err(entry.span(), message))?;
            self.env.push(EnvVar {
                name: name.clone(),
                value: Secret::new(value),
            });
        }
        self.config = config_grants(file, source, &parsed.config, host_env)?;
        for entry in &parsed.network.allow {
            let origin = OriginPattern::parse(entry.get_ref())
                .map_err(|e| err(entry.span(), format!("network.allow: {e}")))?;
            if !self.network.allow.contains(&origin) {
                self.network.allow.push(origin);
            }
        }
        for entry in &parsed.network.tcp {
            let addr = TcpGrant::parse(entry.get_ref())
                .map_err(|e| err(entry.span(), format!("network.tcp: {e}")))?;
            if !self.network.tcp.contains(&addr) {
                self.network.tcp.push(addr);
            }
        }
        self.network.allow_private = parsed.network.allow_private;
        for (name, entry) in &parsed.tools {
            let line = line_of(source, entry.span());
            let entry = entry.get_ref();
            self.tools.insert(
                name.clone(),
                ToolText {
                    title: entry.title.clone(),
                    description: entry.description.clone(),
                    params: entry.params.clone(),
                    task_support: entry.task_support,
                    line,
                },
            );
        }
        if let Some(publish) = &parsed.publish {
            self.apply_publish(publish.get_ref(), &err)?;
        }
        if let Some(limits) = &parsed.limits {
            limits.get_ref().apply_to(&mut self.limits);
            bounds
                .check_caps(&self.limits)
                .map_err(|message| err(limits.span(), format!("limits: {message}")))?;
            if self.limits.max_concurrency == 0 {
                return Err(err(
                    limits.span(),
                    "limits.max_concurrency must be at least 1".into(),
                ));
            }
            if self.limits.max_handles < MIN_HANDLES {
                return Err(err(
                    limits.span(),
                    format!("limits.max_handles must be at least {MIN_HANDLES}"),
                ));
            }
        }
        Ok(())
    }

    /// Apply `[publish]`; `err` makes the error at a span of the file.
    fn apply_publish(
        &mut self,
        table: &PublishToml,
        err: &dyn Fn(Range<usize>, String) -> PolicyError,
    ) -> Result<(), PolicyError> {
        use capsule_common::naming::{check_prefix, check_published_name};
        if let Some(prefix) = &table.prefix {
            if !prefix.get_ref().is_empty() {
                check_prefix(prefix.get_ref()).map_err(|e| err(prefix.span(), e.to_string()))?;
            }
            self.publish.prefix = Some(prefix.get_ref().clone());
        }
        let globs = |key: &str, list: &[Spanned<String>]| {
            list.iter()
                .map(|g| {
                    glob::Pattern::new(g.get_ref()).map_err(|e| {
                        err(
                            g.span(),
                            format!("publish.{key}: glob '{}': {e}", g.get_ref()),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        self.publish.include = globs("include", &table.include)?;
        self.publish.exclude = globs("exclude", &table.exclude)?;
        let mut targets = BTreeMap::new();
        for (item, to) in &table.rename {
            check_published_name(to.get_ref())
                .map_err(|e| err(to.span(), format!("publish.rename.{item}: {e}")))?;
            if let Some(other) = targets.insert(to.get_ref().clone(), item.clone()) {
                return Err(err(
                    to.span(),
                    format!(
                        "publish.rename: '{other}' and '{item}' are both renamed to '{}'",
                        to.get_ref()
                    ),
                ));
            }
            self.publish
                .rename
                .insert(item.clone(), to.get_ref().clone());
        }
        if let Some(strict) = table.strict_schemas {
            self.publish.strict_schemas = strict;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------- [config]

/// `key` as a TOML key in messages: bare when it can be, quoted otherwise.
fn config_key(key: &str) -> String {
    let bare = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare && !key.is_empty() {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// The `[config]` section of `file` (whose text is `source`), with `from_host` values read
/// through `host_env` now, at load.
///
/// # Errors
/// An empty key, an entry with neither or both of `value` and `from_host`, or an unset host
/// variable: the message names the file, the line and the key (never a value).
fn config_grants(
    file: &Path,
    source: &str,
    table: &BTreeMap<String, Spanned<ValueEntry>>,
    host_env: EnvLookup,
) -> Result<ConfigGrants, PolicyError> {
    let err = |span: Range<usize>, message: String| PolicyError {
        file: file.to_path_buf(),
        line: Some(line_of(source, span)),
        message,
    };
    let mut vars = Vec::with_capacity(table.len());
    for (key, entry) in table {
        let span = entry.span();
        let shown = config_key(key);
        if key.is_empty() {
            return Err(err(span, "config: a key must not be empty".into()));
        }
        let value = entry
            .get_ref()
            .resolve(&format!("config.{shown}"), host_env)
            .map_err(|message| err(span, message))?;
        vars.push(ConfigVar {
            key: key.clone(),
            value: Secret::new(value),
        });
    }
    Ok(ConfigGrants::new(vars))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("capsule-policy-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        dir
    }

    #[test]
    fn a_full_policy_resolves_paths_env_and_limits() {
        let dir = tmpdir("full");
        let file = write(
            &dir,
            "p.toml",
            "[filesystem]\n\"/data\" = { host = \"data\", access = \"read-write\", quota = \"2KiB\" }\n\
             [env]\nTOKEN = { from_host = \"CAPSULE_TEST_TOKEN\" }\nMODE = { value = \"fast\" }\n\
             [network]\nallow = [\"https://api.github.com\", \"https://*.example.com:8443\"]\n\
             tcp = [\"127.0.0.1:5432\"]\nallow_private = true\n\
             [limits]\nmemory = \"64MiB\"\ntimeout = \"2s\"\nmax_concurrency = 3\nmax_output = \"1KiB\"\n\
             max_open_files = 7\nmax_sockets = 0\nmax_handles = 500\nload_timeout = \"3s\"\n",
        );
        let env = |name: &str| (name == "CAPSULE_TEST_TOKEN").then(|| "s3cret".to_string());
        let source = std::fs::read_to_string(&file).unwrap();
        let bounds = LimitBounds::default();
        let p = Policy::from_source("p", &file, Some(&source), &[], &bounds, &env).unwrap();
        assert_eq!(p.mounts.len(), 1);
        assert_eq!(p.mounts[0].guest, "/data");
        assert_eq!(p.mounts[0].access, Access::ReadWrite);
        assert_eq!(
            p.mounts[0].host,
            std::fs::canonicalize(dir.join("data")).unwrap()
        );
        let env: Vec<_> = p
            .env
            .iter()
            .map(|e| (e.name.as_str(), e.value.expose()))
            .collect();
        assert_eq!(env, [("MODE", "fast"), ("TOKEN", "s3cret")]);
        assert!(
            !format!("{p:?}").contains("s3cret"),
            "secrets never reach Debug output"
        );
        let allow: Vec<String> = p.network.allow.iter().map(ToString::to_string).collect();
        assert_eq!(
            allow,
            ["https://api.github.com", "https://*.example.com:8443"]
        );
        assert_eq!(p.network.tcp, [TcpGrant::parse("127.0.0.1:5432").unwrap()]);
        assert!(p.network.allow_private);
        assert_eq!(p.limits.memory_bytes, 64 << 20);
        assert_eq!(p.limits.call_timeout, Duration::from_secs(2));
        assert_eq!(p.limits.max_concurrency, 3);
        assert_eq!(p.limits.max_output_bytes, 1024);
        assert_eq!(p.limits.max_open_files, 7);
        assert_eq!(p.limits.max_sockets, 0);
        assert_eq!(p.limits.max_handles, 500);
        assert_eq!(p.limits.load_timeout, Duration::from_secs(3));
        assert_eq!(p.mounts[0].quota.as_ref().map(|q| q.limit), Some(2048));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_file_means_nothing_but_default_limits() {
        let dir = tmpdir("none");
        let p = Policy::load("p", &dir.join("p.toml"), &[], &LimitBounds::default()).unwrap();
        assert_eq!(
            p,
            Policy {
                limits: Limits::default(),
                ..Policy::default()
            }
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_expectation() {
        let dir = tmpdir("errors");
        let cases = [
            (
                "[filesystem]\n\"/d\" = { host = \"data\", acces = \"read-only\" }\n",
                2,
                "unknown field `acces`",
            ),
            ("[network]\nalow = []\n", 2, "unknown field `alow`"),
            (
                "[network]\nallow = [\n  \"https://ok.example\",\n  \"https://x.com/path\",\n]\n",
                4,
                "network.allow: 'https://x.com/path': an origin has no path",
            ),
            (
                "[network]\nallow = [\"ftp://x.com\"]\n",
                2,
                "the scheme must be http or https",
            ),
            (
                "\n[network]\ntcp = [\"db.internal\"]\n",
                3,
                "network.tcp: 'db.internal': the port is missing",
            ),
            ("[network]\nallow_private = \"yes\"\n", 2, "invalid type"),
            (
                "\n[filesystem]\n\"/d\" = { host = \"nope\" }\n",
                3,
                "directory 'nope'",
            ),
            (
                "[filesystem]\n\"d\" = { host = \"data\" }\n",
                2,
                "must be absolute",
            ),
            (
                "[env]\nX = { from_host = \"CAPSULE_SURELY_UNSET_VAR\" }\n",
                2,
                "is not set",
            ),
            ("[env]\nX = { }\n", 2, "exactly one of"),
            ("[limits]\nmemory = \"lots\"\n", 2, "invalid size 'lots'"),
            (
                "[limits]\ntimeout = \"soon\"\n",
                2,
                "invalid duration 'soon'",
            ),
            ("[limits]\nmax_concurrency = 0\n", 1, "at least 1"),
            (
                "[filesystem]\n\"/d\" = { host = \"data\", quota = \"1MiB\" }\n",
                2,
                "only a read-write mount can have a quota",
            ),
            (
                "[filesystem]\n\"/d\" = { host = \"data\", access = \"read-write\", quota = \"big\" }\n",
                2,
                "invalid size 'big'",
            ),
            ("[limits]\nmax_handles = 10\n", 1, "at least 100"),
            ("[limits]\nmax_sockets = -1\n", 2, "invalid value"),
            ("[limits]\nmax_files = 3\n", 2, "unknown field `max_files`"),
            (
                "[publish]\nprefix = \"a__b\"\n",
                2,
                "publish.prefix 'a__b' must not contain '__'",
            ),
            ("[publish]\nprefix = \"x.y\"\n", 2, "may only use letters"),
            (
                "[publish]\ninclude = [\"[a\"]\n",
                2,
                "publish.include: glob '[a'",
            ),
            (
                "[publish]\nrename = { a = \"has space\" }\n",
                2,
                "publish.rename.a: 'has space' has characters outside",
            ),
            (
                "[publish]\nrename = { a = \"x\", b = \"x\" }\n",
                2,
                "'a' and 'b' are both renamed to 'x'",
            ),
            (
                "[publish]\nprefixes = \"x\"\n",
                2,
                "unknown field `prefixes`",
            ),
        ];
        for (text, line, needle) in cases {
            let file = write(&dir, "p.toml", text);
            let err = Policy::load("p", &file, &[], &LimitBounds::default()).unwrap_err();
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(err.to_string().contains(needle), "{text:?}: {err}");
            assert!(
                err.to_string().starts_with(&file.display().to_string()),
                "{err}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn publish_sets_names_and_what_is_published() {
        let text = "[publish]\nprefix = \"\"\ninclude = [\"read_*\", \"search\"]\n\
                    exclude = [\"read_secret*\"]\nrename = { search = \"find_notes\" }\n";
        let policy = config_of(text, &|_| None).unwrap();
        let publish = &policy.publish;
        assert_eq!(publish.prefix.as_deref(), Some(""));
        assert_eq!(publish.rename["search"], "find_notes");
        for (name, published) in [
            ("read_note", true),
            ("search", true),
            ("read_secret_key", false),
            ("write_note", false),
        ] {
            assert_eq!(publish.publishes(name), published, "{name}");
        }
        assert!(!publish.strict_schemas);
        // No [publish]: every item, under the file stem; strict_schemas from the host.
        let bounds = LimitBounds {
            strict_schemas: true,
            ..LimitBounds::default()
        };
        let file = Path::new("/plugins/p.toml");
        let policy = Policy::from_source("p", file, Some(""), &[], &bounds, &|_| None).unwrap();
        assert_eq!(policy.publish.prefix, None);
        assert!(policy.publish.publishes("anything") && policy.publish.strict_schemas);
        let text = "[publish]\nstrict_schemas = false\n";
        let policy = Policy::from_source("p", file, Some(text), &[], &bounds, &|_| None).unwrap();
        assert!(!policy.publish.strict_schemas);
    }

    // ------------------------------------------------------------------------------------ [config]

    fn config_of(text: &str, env: EnvLookup) -> Result<Policy, PolicyError> {
        let file = Path::new("/plugins/p.toml");
        Policy::from_source("p", file, Some(text), &[], &LimitBounds::default(), env)
    }

    #[test]
    fn config_takes_literals_and_host_variables() {
        let env = |name: &str| (name == "CAPSULE_TEST_TOKEN").then(|| "s3cret".to_string());
        let p = config_of(
            "[config]\ngreeting = { value = \"Hello\" }\napi-token = { from_host = \"CAPSULE_TEST_TOKEN\" }\n\
             \"dotted.key with space\" = { value = \"\" }\n",
            &env,
        )
        .expect("the [config] section is valid");
        let vars: Vec<_> = p
            .config
            .vars()
            .iter()
            .map(|v| (v.key.as_str(), v.value.expose()))
            .collect();
        assert_eq!(
            vars,
            [
                ("api-token", "s3cret"),
                ("dotted.key with space", ""),
                ("greeting", "Hello")
            ]
        );
        assert!(
            !format!("{p:?}").contains("s3cret"),
            "secrets never reach Debug output"
        );
        // No section, no configuration.
        assert!(
            config_of("", &env)
                .expect("an empty policy is valid")
                .config
                .is_empty()
        );
    }

    #[test]
    fn config_errors_name_the_file_the_line_and_the_key() {
        let env = |name: &str| (name == "SET").then(|| "s3cret".to_string());
        let cases = [
            (
                "[config]\na = { value = \"x\" }\ntoken = { from_host = \"CAPSULE_SURELY_UNSET_VAR\" }\n",
                3,
                "config.token: host environment variable 'CAPSULE_SURELY_UNSET_VAR' is not set",
            ),
            (
                "\n[config]\nboth = { value = \"hidden-literal\", from_host = \"SET\" }\n",
                3,
                "config.both: give exactly one of from_host = \"VAR\" or value = \"...\"",
            ),
            (
                "[config]\nnone = { }\n",
                2,
                "config.none: give exactly one of",
            ),
            (
                "[config]\n\"a key\" = {}\n",
                2,
                "config.\"a key\": give exactly one of",
            ),
            (
                "[config]\nk = { value = \"v\", secret = true }\n",
                2,
                "unknown field `secret`",
            ),
            ("[config]\nk = \"plain\"\n", 2, "invalid type"),
            (
                "[config]\n\"\" = { value = \"v\" }\n",
                2,
                "config: a key must not be empty",
            ),
        ];
        for (text, line, needle) in cases {
            let err = config_of(text, &env).unwrap_err();
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            let message = err.to_string();
            assert!(message.contains(needle), "{text:?}: {message}");
            assert!(message.starts_with("/plugins/p.toml:"), "{message}");
            assert!(
                !message.contains("s3cret") && !message.contains("hidden-literal"),
                "values never reach errors: {message}"
            );
        }
    }
}
