//! Descriptions of a plain component's functions, from its WIT documentation.
//!
//! Two sources, read with `wit-parser`:
//! - the component's `package-docs` custom section (the doc comments wit-component can embed;
//!   most toolchains leave them out today), decoded with the component's own WIT;
//! - `NAME.wit` beside `NAME.wasm`: one WIT file the operator (or the author) supplies, holding
//!   the package with a world whose exports are the component's, with doc comments. It must
//!   match the component: every function it exports must be exported by the component with the
//!   same parameter names, and the other way round; otherwise the load fails naming the
//!   difference. Imports may be left out of it.
//!
//! A function's doc comment is its description. A parameter's description is a line of that
//! comment of the form `` - `name`: text `` or `* name: text` (`:`, `-` or `—` after the name).

use std::collections::BTreeMap;
use std::path::Path;

use wit_parser::{Resolve, WorldId, WorldItem};

use super::{PlainExports, qualified};

/// Documentation of one function.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunctionDocs {
    /// The whole doc comment.
    pub description: Option<String>,
    /// Parameter name (as in WIT) → description, from `- name: text` lines.
    pub params: BTreeMap<String, String>,
}

/// Documentation of a component's exported functions, keyed by [`qualified`] name.
#[derive(Clone, Debug, Default)]
pub struct Docs {
    functions: BTreeMap<String, FunctionDocs>,
}

impl Docs {
    /// The docs of `function` (in `interface`, if any).
    pub fn function(&self, interface: Option<&str>, function: &str) -> Option<&FunctionDocs> {
        self.functions.get(&qualified(interface, function))
    }

    /// Fill what `self` lacks from `other` (`self` wins per function).
    pub fn or(mut self, other: Docs) -> Docs {
        for (name, docs) in other.functions {
            self.functions.entry(name).or_insert(docs);
        }
        self
    }

    fn from_world(resolve: &Resolve, world: WorldId) -> (Docs, BTreeMap<String, Vec<String>>) {
        let mut docs = Docs::default();
        let mut signatures = BTreeMap::new();
        let mut add = |interface: Option<&str>, f: &wit_parser::Function| {
            let name = qualified(interface, &f.name);
            signatures.insert(
                name.clone(),
                f.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
            );
            if let Some(text) = f.docs.contents.as_deref().filter(|t| !t.trim().is_empty()) {
                let param_names: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
                docs.functions.insert(
                    name,
                    FunctionDocs {
                        description: Some(text.trim().to_string()),
                        params: param_lines(text, &param_names),
                    },
                );
            }
        };
        for (key, item) in &resolve.worlds[world].exports {
            match item {
                WorldItem::Function(f) => add(None, f),
                WorldItem::Interface { id, .. } => {
                    let interface = resolve.name_world_key(key);
                    for f in resolve.interfaces[*id].functions.values() {
                        add(Some(&interface), f);
                    }
                }
                WorldItem::Type { .. } => {}
            }
        }
        (docs, signatures)
    }
}

/// Parameter descriptions in a doc comment: lines `- name: text`, `* `name` - text`, ...
fn param_lines(text: &str, params: &[&str]) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix(['-', '*']) else {
            continue;
        };
        let rest = rest.trim_start();
        let (name, after) = match rest.strip_prefix('`') {
            Some(quoted) => match quoted.split_once('`') {
                Some((name, after)) => (name, after),
                None => continue,
            },
            None => {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                    .unwrap_or(rest.len());
                rest.split_at(end)
            }
        };
        let Some(description) = after
            .trim_start()
            .strip_prefix([':', '-', '—', '–'])
            .map(str::trim)
        else {
            continue;
        };
        if params.contains(&name) && !description.is_empty() {
            found.insert(name.to_string(), description.to_string());
        }
    }
    found
}

/// The docs in the component's `package-docs` section, if it has one. A section that cannot be
/// decoded is logged and ignored (docs are optional; the component still loads).
pub fn from_component(bytes: &[u8], plugin: &str) -> Docs {
    if memchr::memmem::find(bytes, b"package-docs").is_none() {
        return Docs::default();
    }
    match wit_parser::decoding::decode(bytes) {
        Ok(wit_parser::decoding::DecodedWasm::Component(resolve, world)) => {
            Docs::from_world(&resolve, world).0
        }
        Ok(_) => Docs::default(),
        Err(e) => {
            tracing::warn!(plugin, "the component's package-docs are not used: {e:#}");
            Docs::default()
        }
    }
}

/// The docs in `NAME.wit` (`text`, read from `path`), checked against what the component
/// exports.
///
/// # Errors
/// The file does not parse (wit-parser's message, with line), or none of its worlds exports
/// exactly the component's functions: the message names the first difference.
pub fn from_wit_file(path: &Path, text: &str, plain: &PlainExports) -> Result<Docs, String> {
    let file = path.display();
    let mut resolve = Resolve::default();
    let package = resolve
        .push_source(&path.to_string_lossy(), text)
        .map_err(|e| format!("{file} is not valid WIT: {e:#}"))?;
    let mut component: BTreeMap<String, Vec<String>> = plain
        .functions
        .iter()
        .map(|f| {
            (
                f.qualified(),
                f.params.iter().map(|(n, _)| n.clone()).collect(),
            )
        })
        .collect();
    for skipped in &plain.skipped {
        component.entry(skipped.function.clone()).or_default();
    }
    let worlds: Vec<WorldId> = resolve.packages[package].worlds.values().copied().collect();
    if worlds.is_empty() {
        return Err(format!(
            "{file} has no world: it must hold the world whose exports the component has"
        ));
    }
    let mut first_difference = None;
    for world in worlds {
        let (docs, declared) = Docs::from_world(&resolve, world);
        match difference(&declared, &component, plain) {
            None => return Ok(docs),
            Some(why) => {
                first_difference.get_or_insert(format!(
                    "{file} does not match the component (world '{}'): {why}",
                    resolve.worlds[world].name
                ));
            }
        }
    }
    Err(first_difference.unwrap_or_default())
}

/// The first difference between the functions a WIT world declares and those the component
/// exports (both: qualified name → parameter names). Parameters of skipped functions are not
/// compared.
fn difference(
    declared: &BTreeMap<String, Vec<String>>,
    exported: &BTreeMap<String, Vec<String>>,
    plain: &PlainExports,
) -> Option<String> {
    for (name, params) in declared {
        match exported.get(name) {
            None => {
                return Some(format!(
                    "it declares `{name}`, which the component does not export"
                ));
            }
            Some(theirs) if theirs != params && plain.function_named(name).is_some() => {
                return Some(format!(
                    "`{name}` takes ({}) in the WIT but ({}) in the component",
                    params.join(", "),
                    theirs.join(", ")
                ));
            }
            Some(_) => {}
        }
    }
    exported
        .keys()
        .find(|name| !declared.contains_key(*name))
        .map(|name| format!("the component exports `{name}`, which it does not declare"))
}

impl PlainExports {
    /// The served function whose [`qualified`] name is `name`.
    fn function_named(&self, name: &str) -> Option<&super::PlainFunction> {
        self.functions.iter().find(|f| f.qualified() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_lines_in_the_usual_spellings_are_found() {
        let text = "Greets someone.\n\n- `name`: who to greet\n* times - how often\n- other: not a parameter\n";
        let found = param_lines(text, &["name", "times"]);
        assert_eq!(found["name"], "who to greet");
        assert_eq!(found["times"], "how often");
        assert_eq!(found.len(), 2);
    }
}
