//! Authorization per plugin and tool: which OAuth scopes unlock which tools, resources and
//! prompts (`[auth.scopes]` in `capsule.toml`).
//!
//! ```toml
//! [auth.scopes]
//! "notes:read"  = ["resources:notes", "prompts:notes", "tool:notes_search"]
//! "notes:write" = ["plugin:notes"]
//! "text"        = ["tools:textkit", "tool:hello_*"]
//! "admin"       = ["*"]
//! ```
//!
//! Each scope lists what it unlocks; a token may use an item when any of its scopes unlocks it.
//! What a scope can name:
//!
//! | grant | unlocks |
//! |---|---|
//! | `*` | everything |
//! | `plugin:P` | every tool, resource, resource template and prompt of plugin `P` |
//! | `tools:P`, `resources:P`, `prompts:P` | that kind of item of plugin `P` |
//! | `tool:NAME`, `prompt:NAME` | one tool or prompt by its published name; a trailing `*` matches a prefix (`tool:notes_*`) |
//! | `resource:URI` | one resource URI (or template); a trailing `*` matches a prefix (`resource:notes://*`) |
//!
//! Without an `[auth.scopes]` table every authenticated caller may use everything. With one,
//! anything no scope unlocks is hidden from every token (deny by default). The MCP
//! authorization spec (2025-11-25 and 2026-07-28, "Scope Challenge Handling") lets lists vary
//! per authorization: `tools/list`, `resources/list`, `resources/templates/list` and
//! `prompts/list` show only what the token may use, and a call outside its scopes gets
//! `403 insufficient_scope` naming the scope to request (the first one in the table that unlocks
//! the item).

use std::collections::BTreeSet;

/// A name or URI pattern: exact, or a prefix when written with a trailing `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    prefix: bool,
}

/// A grant in `[auth.scopes]` that does not parse; the message says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// A `*` before the end of a name or URI pattern.
    #[error("'{0}': '*' is only allowed at the end")]
    InnerWildcard(String),
    /// `tool:`, `prompt:` or `resource:` with nothing after it.
    #[error("an empty name")]
    EmptyName,
    /// No `kind:` prefix (and not `*`).
    #[error(
        "'{0}': write \"*\", \"plugin:NAME\", \"tools:PLUGIN\", \"resources:PLUGIN\", \
         \"prompts:PLUGIN\", \"tool:NAME\", \"prompt:NAME\" or \"resource:URI\""
    )]
    Shape(String),
    /// `plugin:`, `tools:`, `resources:` or `prompts:` without one plugin name.
    #[error("'{0}': name one plugin (its file stem, no wildcards)")]
    Plugin(String),
    /// A kind that is not one of the seven.
    #[error(
        "'{text}': unknown kind '{kind}' (use plugin, tools, resources, prompts, tool, prompt or \
         resource)"
    )]
    Kind {
        /// The grant as written.
        text: String,
        /// The kind as written.
        kind: String,
    },
}

impl Pattern {
    fn parse(text: &str) -> Result<Self, GrantError> {
        let (body, prefix) = match text.strip_suffix('*') {
            Some(body) => (body, true),
            None => (text, false),
        };
        if body.contains('*') {
            return Err(GrantError::InnerWildcard(text.to_string()));
        }
        if body.is_empty() && !prefix {
            return Err(GrantError::EmptyName);
        }
        Ok(Self {
            text: body.to_string(),
            prefix,
        })
    }

    fn matches(&self, candidate: &str) -> bool {
        if self.prefix {
            candidate.starts_with(&self.text)
        } else {
            candidate == self.text
        }
    }
}

/// What one entry of a scope's list unlocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    Everything,
    Plugin(String),
    ToolsOf(String),
    ResourcesOf(String),
    PromptsOf(String),
    Tool(Pattern),
    Prompt(Pattern),
    Resource(Pattern),
}

impl Grant {
    /// Parse one grant (see the module docs for the forms).
    ///
    /// # Errors
    /// [`GrantError`], saying what to write instead.
    pub fn parse(text: &str) -> Result<Self, GrantError> {
        if text == "*" {
            return Ok(Grant::Everything);
        }
        let Some((kind, rest)) = text.split_once(':') else {
            return Err(GrantError::Shape(text.to_string()));
        };
        let plugin = |rest: &str| {
            if rest.is_empty() || rest.contains('*') {
                Err(GrantError::Plugin(text.to_string()))
            } else {
                Ok(rest.to_string())
            }
        };
        match kind {
            "plugin" => plugin(rest).map(Grant::Plugin),
            "tools" => plugin(rest).map(Grant::ToolsOf),
            "resources" => plugin(rest).map(Grant::ResourcesOf),
            "prompts" => plugin(rest).map(Grant::PromptsOf),
            "tool" => Pattern::parse(rest).map(Grant::Tool),
            "prompt" => Pattern::parse(rest).map(Grant::Prompt),
            "resource" => Pattern::parse(rest).map(Grant::Resource),
            other => Err(GrantError::Kind {
                text: text.to_string(),
                kind: other.to_string(),
            }),
        }
    }

    fn unlocks(&self, target: &Target<'_>) -> bool {
        match (self, target) {
            (Grant::Everything, _) => true,
            (Grant::Plugin(p), t) => t.plugin() == p,
            (Grant::ToolsOf(p), Target::Tool { plugin, .. }) => plugin == p,
            (Grant::ResourcesOf(p), Target::Resource { plugin, .. }) => plugin == p,
            (Grant::PromptsOf(p), Target::Prompt { plugin, .. }) => plugin == p,
            (Grant::Tool(pattern), Target::Tool { name, .. }) => pattern.matches(name),
            (Grant::Prompt(pattern), Target::Prompt { name, .. }) => pattern.matches(name),
            (Grant::Resource(pattern), Target::Resource { uri, .. }) => pattern.matches(uri),
            _ => false,
        }
    }
}

/// Something a token may or may not use: identified by its plugin and published name or URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    Tool {
        plugin: &'a str,
        name: &'a str,
    },
    Prompt {
        plugin: &'a str,
        name: &'a str,
    },
    /// A concrete resource URI, or a resource template's URI template (for listing).
    Resource {
        plugin: &'a str,
        uri: &'a str,
    },
}

impl<'a> Target<'a> {
    pub fn plugin(&self) -> &'a str {
        match self {
            Target::Tool { plugin, .. }
            | Target::Prompt { plugin, .. }
            | Target::Resource { plugin, .. } => plugin,
        }
    }

    /// `tool 'x'`, `prompt 'x'`, `resource 'x'`.
    pub fn describe(&self) -> String {
        match self {
            Target::Tool { name, .. } => format!("tool '{name}'"),
            Target::Prompt { name, .. } => format!("prompt '{name}'"),
            Target::Resource { uri, .. } => format!("resource '{uri}'"),
        }
    }
}

/// One scope and what it unlocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeRule {
    pub scope: String,
    pub grants: Vec<Grant>,
}

/// The scope table, in the order of the config file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeMap {
    rules: Vec<ScopeRule>,
}

/// Whether a caller may use an item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Not with these scopes; `needed` is the first scope that would unlock it, if any.
    Denied {
        needed: Option<String>,
    },
}

impl ScopeMap {
    pub fn new(rules: Vec<ScopeRule>) -> Self {
        Self { rules }
    }

    /// No table: every authenticated caller may use everything.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The scopes of the table, in order (for `scopes_supported`, RFC 9728 §2).
    pub fn scopes(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.rules
            .iter()
            .filter(|r| seen.insert(r.scope.clone()))
            .map(|r| r.scope.clone())
            .collect()
    }

    /// May a token with `scopes` use `target`?
    pub fn decide(&self, scopes: &BTreeSet<String>, target: &Target<'_>) -> Decision {
        if self.rules.is_empty() {
            return Decision::Allowed;
        }
        let mut needed = None;
        for rule in &self.rules {
            if rule.grants.iter().any(|g| g.unlocks(target)) {
                if scopes.contains(&rule.scope) {
                    return Decision::Allowed;
                }
                needed.get_or_insert_with(|| rule.scope.clone());
            }
        }
        Decision::Denied { needed }
    }

    /// Grants that name a plugin no loaded plugin has, for a start-up warning.
    pub fn plugins_named(&self) -> BTreeSet<&str> {
        self.rules
            .iter()
            .flat_map(|r| r.grants.iter())
            .filter_map(|g| match g {
                Grant::Plugin(p)
                | Grant::ToolsOf(p)
                | Grant::ResourcesOf(p)
                | Grant::PromptsOf(p) => Some(p.as_str()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rules: &[(&str, &[&str])]) -> ScopeMap {
        ScopeMap::new(
            rules
                .iter()
                .map(|(scope, grants)| ScopeRule {
                    scope: scope.to_string(),
                    grants: grants.iter().map(|g| Grant::parse(g).unwrap()).collect(),
                })
                .collect(),
        )
    }

    fn scopes(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const SEARCH: Target<'static> = Target::Tool {
        plugin: "notes",
        name: "notes_search",
    };
    const WRITE: Target<'static> = Target::Tool {
        plugin: "notes",
        name: "notes_write",
    };
    const WELCOME: Target<'static> = Target::Resource {
        plugin: "notes",
        uri: "notes://welcome",
    };
    const GREET: Target<'static> = Target::Tool {
        plugin: "hello",
        name: "hello_greet",
    };

    #[test]
    fn read_and_write_scopes_split_one_plugin() {
        let m = map(&[
            (
                "notes:read",
                &["resources:notes", "prompts:notes", "tool:notes_search"],
            ),
            ("notes:write", &["plugin:notes"]),
        ]);
        let read = scopes(&["notes:read"]);
        assert_eq!(m.decide(&read, &SEARCH), Decision::Allowed);
        assert_eq!(m.decide(&read, &WELCOME), Decision::Allowed);
        assert_eq!(
            m.decide(&read, &WRITE),
            Decision::Denied {
                needed: Some("notes:write".into())
            }
        );
        assert_eq!(
            m.decide(&scopes(&["notes:write"]), &WRITE),
            Decision::Allowed
        );
        // The first scope in the table that unlocks an item is the one to ask for.
        assert_eq!(
            m.decide(&scopes(&[]), &SEARCH),
            Decision::Denied {
                needed: Some("notes:read".into())
            }
        );
        // Nothing unlocks plugins the table does not name: deny by default, no scope to suggest.
        assert_eq!(
            m.decide(&scopes(&["notes:read", "notes:write"]), &GREET),
            Decision::Denied { needed: None }
        );
    }

    #[test]
    fn patterns_kinds_and_everything() {
        let m = map(&[
            ("hello", &["tool:hello_*"]),
            ("uris", &["resource:notes://w*"]),
            ("all", &["*"]),
        ]);
        assert_eq!(m.decide(&scopes(&["hello"]), &GREET), Decision::Allowed);
        assert!(matches!(
            m.decide(&scopes(&["hello"]), &SEARCH),
            Decision::Denied { .. }
        ));
        assert_eq!(m.decide(&scopes(&["uris"]), &WELCOME), Decision::Allowed);
        let ideas = Target::Resource {
            plugin: "notes",
            uri: "notes://ideas",
        };
        assert!(matches!(
            m.decide(&scopes(&["uris"]), &ideas),
            Decision::Denied { .. }
        ));
        assert_eq!(m.decide(&scopes(&["all"]), &ideas), Decision::Allowed);
        // tools:P does not unlock P's prompts.
        let m = map(&[("t", &["tools:notes"])]);
        let prompt = Target::Prompt {
            plugin: "notes",
            name: "notes_summarize",
        };
        assert!(matches!(
            m.decide(&scopes(&["t"]), &prompt),
            Decision::Denied { .. }
        ));
        assert_eq!(m.decide(&scopes(&["t"]), &SEARCH), Decision::Allowed);
    }

    #[test]
    fn no_table_allows_everything() {
        assert_eq!(
            ScopeMap::default().decide(&scopes(&[]), &WRITE),
            Decision::Allowed
        );
    }

    #[test]
    fn bad_grants_say_what_to_write() {
        for (text, needle) in [
            ("notes", "write \"*\""),
            ("tool:", "an empty name"),
            ("tool:a*b", "only allowed at the end"),
            ("plugin:no*", "no wildcards"),
            ("widget:x", "unknown kind 'widget'"),
        ] {
            let err = Grant::parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
