//! Loading a plain component (`crate::plain`): its tools from its exported functions, described
//! by the operator's policy, its `NAME.wit` or its `package-docs`, and one instance started to
//! prove it can run in its sandbox. Also the `[tools.NAME]` policy tables every plugin kind gets.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use capsule_common::task_support::{self, TaskSupport};
use serde_json::Value;
use wasmtime::component::InstancePre;

use super::{
    Compiled, ContentHash, LoadError, LoadedPlugin, PluginImage, PluginKind, RequestScope, Runtime,
    tools,
};
use super::{described, load_call_failed, unrequested_metadata};
use crate::grants::Policy;
use crate::plain::docs::{self, Docs};
use crate::plain::{PlainExports, Skipped, version_of};
use crate::runtime::CallState;
use crate::schema::vet::{SchemaLimits, vet};

impl PluginImage {
    /// Load `plain`, the exports of a component that has no `capsule:plugin/plugin`
    /// (`not_a_plugin` is that lookup's error), as a plain component.
    ///
    /// # Errors
    /// [`LoadError::NotAPlugin`] when it exports no function at all,
    /// [`LoadError::NothingToServe`] when every function is skipped, [`LoadError::Docs`] for a
    /// `NAME.wit` or `[tools.NAME]` that does not fit, and what starting an instance can fail with.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn load_plain(
        runtime: &Runtime,
        name: &str,
        path: PathBuf,
        (bytes, hash, compiled): (Vec<u8>, ContentHash, Compiled),
        pre: InstancePre<CallState>,
        plain: PlainExports,
        policy: &Policy,
        not_a_plugin: wasmtime::Error,
    ) -> Result<LoadedPlugin, LoadError> {
        if plain.functions.is_empty() {
            if plain.skipped.is_empty() {
                return Err(LoadError::NotAPlugin(not_a_plugin.into()));
            }
            return Err(nothing_to_serve(&plain));
        }
        let limits = policy.limits;
        let deadline = Instant::now() + limits.load_timeout;
        let plain = Arc::new(within_schema_limits(plain, &limits));
        if plain.functions.is_empty() {
            return Err(nothing_to_serve(&plain));
        }
        let reading = {
            let (plain, wit, plugin) = (plain.clone(), policy.wit.clone(), name.to_string());
            tokio::task::spawn_blocking(move || -> Result<Docs, String> {
                let embedded = docs::from_component(&bytes, &plugin);
                match wit {
                    Some(wit) => {
                        Ok(docs::from_wit_file(&wit.path, &wit.text, &plain)?.or(embedded))
                    }
                    None => Ok(embedded),
                }
            })
        };
        let docs = tokio::time::timeout_at(deadline.into(), reading)
            .await
            .map_err(|_| LoadError::LoadTimeout(limits.load_timeout))?
            .map_err(|e| LoadError::Docs(format!("reading the WIT documentation failed: {e}")))?
            .map_err(LoadError::Docs)?;

        let image = PluginImage::unrequested(runtime, name, policy, pre, Some(plain.clone()), None);
        // One instance, exactly as a call makes it: a component that cannot start in its
        // sandbox (a trap in its start function, say) fails now, not at its first call.
        image
            .start_until(RequestScope::default(), deadline)
            .await
            .map_err(load_call_failed(limits.load_timeout))?;

        let mut tools: Vec<tools::Tool> = plain
            .functions
            .iter()
            .map(|f| {
                let docs = docs.function(f.interface.as_deref(), &f.function);
                let mut input_schema = f.input_schema.clone();
                for (param, text) in docs.map(|d| &d.params).into_iter().flatten() {
                    describe_property(&mut input_schema, param, text);
                }
                tools::Tool {
                    name: f.tool.clone(),
                    title: None,
                    description: docs.and_then(|d| d.description.clone()),
                    input_schema: input_schema.to_string(),
                    output_schema: f.output_schema.as_ref().map(Value::to_string),
                    annotations: None,
                    meta: None,
                }
            })
            .collect();
        let undocumented = described(&mut tools, policy, &path)?;
        for (tool, f) in tools.iter_mut().zip(&plain.functions) {
            if undocumented.contains(&tool.name) {
                tool.description = Some(format!(
                    "Calls `{}` of the WebAssembly component {name}.wasm.",
                    f.qualified()
                ));
            }
        }
        let version = plain
            .functions
            .iter()
            .find_map(|f| f.interface.as_deref().and_then(version_of))
            .unwrap_or("unversioned")
            .to_string();
        Ok(LoadedPlugin {
            exports: image.exports(),
            path,
            hash,
            compiled,
            metadata: unrequested_metadata(
                name,
                version,
                format!(
                    "A plain WebAssembly component: {} exported functions served as tools",
                    plain.functions.len()
                ),
            ),
            tools,
            resources: Vec::new(),
            resource_templates: Vec::new(),
            prompts: Vec::new(),
            kind: PluginKind::Plain,
            imports: plain.imports.clone(),
            skipped: plain.skipped.clone(),
            undocumented,
            image,
        })
    }
}

/// The error of a component whose every function is skipped: each with why.
fn nothing_to_serve(plain: &PlainExports) -> LoadError {
    let reasons: Vec<String> = plain
        .skipped
        .iter()
        .map(|s| format!("`{}` {}", s.function, s.reason))
        .collect();
    LoadError::NothingToServe(reasons.join("; "))
}

/// `plain` without the functions whose derived schemas the admission checks would refuse (over
/// `[limits] max_schema`, or nested deeper than vetting allows): each is skipped with the reason,
/// instead of the whole component being refused.
fn within_schema_limits(mut plain: PlainExports, limits: &crate::grants::Limits) -> PlainExports {
    let schema_limits = SchemaLimits {
        max_bytes: limits.max_schema_bytes,
        ..SchemaLimits::default()
    };
    let vetted = |schema: &Value| {
        let text = schema.to_string();
        vet(schema, text.len(), &schema_limits).map(drop)
    };
    let mut kept = Vec::with_capacity(plain.functions.len());
    for f in std::mem::take(&mut plain.functions) {
        let refusal = vetted(&f.input_schema)
            .map_err(|e| format!("its input schema is refused: {e}"))
            .and_then(|()| match &f.output_schema {
                Some(output) => {
                    vetted(output).map_err(|e| format!("its output schema is refused: {e}"))
                }
                None => Ok(()),
            });
        match refusal {
            Ok(()) => kept.push(f),
            Err(reason) => plain.skipped.push(Skipped {
                function: f.qualified(),
                reason,
            }),
        }
    }
    plain.functions = kept;
    plain
}

/// Set `description` on property `name` of an object schema (if it has that property).
fn describe_property(schema: &mut Value, name: &str, description: &str) -> bool {
    match schema
        .get_mut("properties")
        .and_then(|p| p.get_mut(name))
        .and_then(Value::as_object_mut)
    {
        Some(property) => {
            property.insert("description".into(), Value::String(description.into()));
            true
        }
        None => false,
    }
}

/// Write `support` into `tool`'s `_meta` under [`task_support::META_KEY`], where the plugin
/// declares it and the catalog reads it: the operator's `[tools.NAME] task_support` wins.
///
/// # Errors
/// When the tool's `_meta` is not a JSON object (the message says why).
fn set_task_support(tool: &mut tools::Tool, support: TaskSupport) -> Result<(), String> {
    let mut meta = match &tool.meta {
        Some(text) => match serde_json::from_str::<Value>(text).map_err(|e| e.to_string())? {
            Value::Object(map) => map,
            _ => return Err("it is not an object".into()),
        },
        None => serde_json::Map::new(),
    };
    meta.insert(task_support::META_KEY.into(), support.as_str().into());
    tool.meta = Some(Value::Object(meta).to_string());
    Ok(())
}

/// Apply the policy's `[tools.NAME]` tables to `tools`: title, description, and argument
/// descriptions written into the input schema.
///
/// # Errors
/// [`LoadError::Docs`] naming the policy file and line when a table names a tool the plugin
/// does not have, or an argument its tool does not take.
pub(super) fn apply_tool_texts(
    tools: &mut [tools::Tool],
    policy: &Policy,
    policy_file: &Path,
) -> Result<(), LoadError> {
    let file = policy_file.display();
    for (name, text) in &policy.tools {
        let line = text.line;
        let Some(tool) = tools.iter_mut().find(|t| t.name == *name) else {
            let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
            return Err(LoadError::Docs(format!(
                "{file}:{line}: [tools.{name}]: the plugin has no tool '{name}' (its tools: {})",
                names.join(", ")
            )));
        };
        if let Some(title) = &text.title {
            tool.title = Some(title.clone());
        }
        if let Some(description) = &text.description {
            tool.description = Some(description.clone());
        }
        if let Some(support) = text.task_support {
            set_task_support(tool, support).map_err(|e| {
                LoadError::Docs(format!(
                    "{file}:{line}: [tools.{name}].task_support: the tool's _meta is not a JSON \
                     object: {e}"
                ))
            })?;
        }
        if text.params.is_empty() {
            continue;
        }
        let mut schema: Value = serde_json::from_str(&tool.input_schema).map_err(|e| {
            LoadError::Docs(format!(
                "{file}:{line}: [tools.{name}].params: the tool's input schema is not JSON: {e}"
            ))
        })?;
        for (param, description) in &text.params {
            if !describe_property(&mut schema, param, description) {
                return Err(LoadError::Docs(format!(
                    "{file}:{line}: [tools.{name}].params.{param}: tool '{name}' takes no \
                     argument '{param}'"
                )));
            }
        }
        tool.input_schema = schema.to_string();
    }
    Ok(())
}
