//! Plain components: any component that does not implement `capsule:plugin` but exports
//! functions. Every exported function (world-level, or of an exported interface) whose types have
//! a JSON form becomes a tool: its input schema comes from the parameter types, its output schema
//! from the result type ([`schema`]), and its arguments and result cross as [`Val`]s
//! ([`value`]) in a dynamic call (`runtime::plugin` runs it in the same per-call sandbox as every
//! plugin). Descriptions come from the operator's policy, a `NAME.wit` beside the component, or
//! the component's `package-docs` section ([`docs`]).
//!
//! Tool names inside the plugin are the function names with `-` mapped to `_`; functions that
//! share a name across interfaces are prefixed with their interface's name (`files_read`). The
//! host publishes them as `<plugin>_<name>` like every tool.

pub mod docs;
pub mod schema;
pub mod value;

use serde_json::Value;
use wasmtime::Engine;
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, Val};

/// One exported function served as a tool.
#[derive(Clone)]
pub struct PlainFunction {
    /// The tool's name inside the plugin (published as `<plugin>_<tool>`).
    pub tool: String,
    /// The exported interface it belongs to (its export name, e.g. `example:fs/files@0.1.0`),
    /// or `None` for a world-level function.
    pub interface: Option<String>,
    /// Its name in the WIT (kebab-case).
    pub function: String,
    /// Where to find it in an instance.
    pub export: ComponentExportIndex,
    /// Parameters, in order: WIT name and type.
    pub params: Vec<(String, Type)>,
    /// The result type, if the function returns one.
    pub result: Option<Type>,
    /// JSON Schema of the arguments object ([`schema::input_schema`]).
    pub input_schema: Value,
    /// JSON Schema of the structured content (`{"result": ...}`), when the function returns a
    /// value (for a top-level `result<T, E>`, when `T` is present).
    pub output_schema: Option<Value>,
}

impl PlainFunction {
    /// How the function is named in messages: `greet` or `example:fs/files@0.1.0#read-file`.
    pub fn qualified(&self) -> String {
        qualified(self.interface.as_deref(), &self.function)
    }

    /// A dummy result slot for the dynamic call (overwritten by wasmtime).
    pub fn result_slots(&self) -> Vec<Val> {
        self.result.iter().map(|_| Val::Bool(false)).collect()
    }
}

/// `greet` or `interface#function`.
pub fn qualified(interface: Option<&str>, function: &str) -> String {
    match interface {
        Some(i) => format!("{i}#{function}"),
        None => function.to_string(),
    }
}

/// An exported function that is not served, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Skipped {
    /// `function` or `interface#function`.
    pub function: String,
    /// Why, as a sentence fragment ("uses a resource handle ...").
    pub reason: String,
}

/// What a plain component offers: the functions served as tools, the ones skipped, and the
/// names of the component's imports (what an operator must know to grant it).
#[derive(Clone, Default)]
pub struct PlainExports {
    pub functions: Vec<PlainFunction>,
    pub skipped: Vec<Skipped>,
    /// Import names as the component declares them (`wasi:http/outgoing-handler@0.2.3`).
    pub imports: Vec<String>,
}

impl PlainExports {
    /// The function served as tool `name`.
    pub fn function(&self, tool: &str) -> Option<&PlainFunction> {
        self.functions.iter().find(|f| f.tool == tool)
    }
}

/// The short name of an interface export: `example:fs/files@0.1.0` → `files`.
fn short_name(interface: &str) -> &str {
    let name = interface.rsplit('/').next().unwrap_or(interface);
    name.split('@').next().unwrap_or(name)
}

/// The version in an interface export name (`…@0.1.0` → `0.1.0`).
pub fn version_of(interface: &str) -> Option<&str> {
    interface.rsplit_once('@').map(|(_, v)| v)
}

fn snake(name: &str) -> String {
    name.replace('-', "_")
}

/// A function found among the exports, before naming and schema derivation.
struct Found {
    interface: Option<String>,
    function: String,
    export: ComponentExportIndex,
    ty: ComponentFunc,
}

/// Find every exported function of `component` and derive its tool, or say why it is skipped.
pub fn derive(component: &Component, engine: &Engine) -> PlainExports {
    let ty = component.component_type();
    let imports = ty
        .imports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let mut found = Vec::new();
    for (name, export) in ty.exports(engine) {
        match export.ty {
            ComponentItem::ComponentFunc(f) => {
                if let Some(index) = component.get_export_index(None, name) {
                    found.push(Found {
                        interface: None,
                        function: name.to_string(),
                        export: index,
                        ty: f,
                    });
                }
            }
            ComponentItem::ComponentInstance(instance) => {
                let Some(parent) = component.get_export_index(None, name) else {
                    continue;
                };
                for (function, item) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(f) = item.ty
                        && let Some(index) = component.get_export_index(Some(&parent), function)
                    {
                        found.push(Found {
                            interface: Some(name.to_string()),
                            function: function.to_string(),
                            export: index,
                            ty: f,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    let mut plain = PlainExports {
        imports,
        ..PlainExports::default()
    };
    let mut usable = Vec::new();
    for f in found {
        match check(&f) {
            Ok(()) => usable.push(f),
            Err(reason) => plain.skipped.push(Skipped {
                function: qualified(f.interface.as_deref(), &f.function),
                reason,
            }),
        }
    }
    let names = tool_names(&usable);
    for (f, tool) in usable.into_iter().zip(names) {
        let qualified_name = qualified(f.interface.as_deref(), &f.function);
        let Some(tool) = tool else {
            plain.skipped.push(Skipped {
                function: qualified_name,
                reason: "its tool name collides with another function's, even with the \
                         interface prefix"
                    .into(),
            });
            continue;
        };
        let params: Vec<(String, Type)> =
            f.ty.params()
                .map(|(name, ty)| (name.to_string(), ty))
                .collect();
        let result = f.ty.results().next();
        // The value of a successful call: `T` of a top-level `result<T, E>`, else the result.
        let success = match &result {
            Some(Type::Result(r)) => r.ok(),
            other => other.clone(),
        };
        let schemas = schema::input_schema(&params).and_then(|input| {
            let output = success.as_ref().map(schema::output_schema).transpose()?;
            Ok((input, output))
        });
        let (input_schema, output_schema) = match schemas {
            Ok(schemas) => schemas,
            Err(why) => {
                let reason = match why {
                    schema::Underivable::TooLarge => format!(
                        "its JSON Schema would have more than {} nodes",
                        schema::MAX_SCHEMA_NODES
                    ),
                    schema::Underivable::Unsupported(why) => why,
                };
                plain.skipped.push(Skipped {
                    function: qualified_name,
                    reason,
                });
                continue;
            }
        };
        plain.functions.push(PlainFunction {
            tool,
            interface: f.interface,
            function: f.function,
            export: f.export,
            params,
            result,
            input_schema,
            output_schema,
        });
    }
    plain
}

/// Whether a found function can be served: not async, not a resource's method or constructor,
/// and every parameter and result type has a JSON form.
fn check(f: &Found) -> Result<(), String> {
    if f.interface.as_deref() == Some("exports")
        && f.function == "init"
        && f.ty
            .params()
            .map(|(n, _)| n)
            .eq(["app-name", "symbols", "stub-wasi"])
    {
        return Err(
            "it is componentize-py's own initialization hook, not part of the \
                    component's interface"
                .into(),
        );
    }
    if f.function.starts_with('[') {
        return Err("it is a resource's constructor, method or static function".into());
    }
    if f.ty.async_() {
        return Err(
            "it is an async function (component-model async), which Capsule does not \
                    call"
                .into(),
        );
    }
    for (name, ty) in f.ty.params() {
        if let Some(why) = schema::unsupported(&ty) {
            return Err(format!("parameter '{name}' {why}"));
        }
    }
    for ty in f.ty.results() {
        if let Some(why) = schema::unsupported(&ty) {
            return Err(format!("its result {why}"));
        }
    }
    Ok(())
}

/// Tool names for `functions`, in order: the snake_case function name, prefixed with the
/// interface's short name when another function has the same name; `None` when even the
/// prefixed name collides.
fn tool_names(functions: &[Found]) -> Vec<Option<String>> {
    let bare: Vec<String> = functions.iter().map(|f| snake(&f.function)).collect();
    let named: Vec<String> = functions
        .iter()
        .zip(&bare)
        .map(|(f, name)| {
            let clashes = bare.iter().filter(|other| *other == name).count() > 1;
            match (&f.interface, clashes) {
                (Some(interface), true) => format!("{}_{name}", snake(short_name(interface))),
                _ => name.clone(),
            }
        })
        .collect();
    named
        .iter()
        .map(|name| (named.iter().filter(|n| *n == name).count() == 1).then(|| name.clone()))
        .collect()
}

#[cfg(test)]
mod tests;
