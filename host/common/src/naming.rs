//! Names clients see: `<prefix>_<item>` for tools and prompts (ARCHITECTURE.md §3), where the
//! prefix is the plugin's file stem unless the operator's policy sets another one, or none
//! (`[publish] prefix`), or renames the item (`[publish.rename]`).
//!
//! A published name matches `^[A-Za-z0-9_-]{1,64}$` (the set every major client accepts; Claude
//! Desktop rejects a server with any other tool name) and never contains `__` (some clients split
//! on it).

/// Longest published name, in bytes (ASCII only).
pub const MAX_NAME_LEN: usize = 64;

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The fix every [`NameError`] about a plugin name suggests.
const RENAME: &str = "rename the file to use only letters, digits, '-' and single '_'";

/// A plugin file stem or a published name that breaks the naming rules (ARCHITECTURE.md §3
/// "Names"). The message names the offending text and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The stem is empty or longer than [`MAX_NAME_LEN`] − 2 characters.
    #[error("plugin name '{0}' must be 1 to {max} characters; {fix}", max = MAX_NAME_LEN - 2, fix = RENAME)]
    PluginLength(String),
    /// The stem has a character outside `[A-Za-z0-9_-]`.
    #[error("plugin name '{0}' has characters outside [A-Za-z0-9_-]; {fix}", fix = RENAME)]
    PluginCharacters(String),
    /// The stem starts with `_` or `-`, or ends with `_`.
    #[error("plugin name '{0}' must start with a letter or digit and not end with '_'; {fix}", fix = RENAME)]
    PluginEdges(String),
    /// The stem contains `__`.
    #[error("plugin name '{0}' contains '__'; {fix}", fix = RENAME)]
    PluginDoubleUnderscore(String),
    /// A policy's `[publish] prefix` breaks a rule of plugin names.
    #[error("publish.prefix '{prefix}' {rule} (or set prefix = \"\" for none)")]
    Prefix {
        /// The prefix.
        prefix: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// Plugin `plugin` declares a tool or prompt with an empty name.
    #[error("plugin '{plugin}' declares an item with an empty name")]
    EmptyItem {
        /// The plugin's prefix (its file stem unless its policy sets another).
        plugin: String,
    },
    /// The item's name has a character outside `[A-Za-z0-9_-]`.
    #[error(
        "'{item}' has characters outside [A-Za-z0-9_-] (published names must match \
         ^[A-Za-z0-9_-]{{1,64}}$)"
    )]
    ItemCharacters {
        /// The item's name inside its plugin.
        item: String,
    },
    /// `<plugin>_<item>` would contain `__`.
    #[error("'{item}' would be published as '{name}', which contains '__'")]
    DoubleUnderscore {
        /// The item's name inside its plugin.
        item: String,
        /// The name it would be published as.
        name: String,
    },
    /// `<plugin>_<item>` would be longer than [`MAX_NAME_LEN`] characters.
    #[error("'{item}' would be published as '{name}', longer than {max} characters", max = MAX_NAME_LEN)]
    TooLong {
        /// The item's name inside its plugin.
        item: String,
        /// The name it would be published as.
        name: String,
    },
}

/// Check a plugin file stem. It must be 1..=62 characters of `[A-Za-z0-9_-]`, start with a letter
/// or digit, not end with `_`, and not contain `__`, so that `<plugin>_<item>` stays valid.
///
/// # Errors
/// The first rule the stem breaks, as a [`NameError`] whose message says how to rename the file.
pub fn check_plugin_name(stem: &str) -> Result<(), NameError> {
    prefix_rules(stem)
}

/// Check a policy's `[publish] prefix` (not empty: an empty prefix means none): the rules of a
/// plugin name ([`check_plugin_name`]), so that `<prefix>_<item>` stays valid.
///
/// # Errors
/// The rule the prefix breaks, as [`NameError::Prefix`].
pub fn check_prefix(prefix: &str) -> Result<(), NameError> {
    prefix_rules(prefix).map_err(|e| NameError::Prefix {
        prefix: prefix.to_string(),
        rule: match e {
            NameError::PluginLength(_) => "must be 1 to 62 characters",
            NameError::PluginCharacters(_) => "may only use letters, digits, '-' and '_'",
            NameError::PluginEdges(_) => "must start with a letter or digit and not end with '_'",
            _ => "must not contain '__'",
        },
    })
}

/// Check a name an item is renamed to (`[publish.rename]`): published as it is, it must match
/// `^[A-Za-z0-9_-]{1,64}$` and not contain `__`.
///
/// # Errors
/// As [`published_name`] with no prefix.
pub fn check_published_name(name: &str) -> Result<(), NameError> {
    published_name("", name).map(|_| ())
}

fn prefix_rules(stem: &str) -> Result<(), NameError> {
    let stem_owned = || stem.to_string();
    if stem.is_empty() || stem.len() > MAX_NAME_LEN - 2 {
        return Err(NameError::PluginLength(stem_owned()));
    }
    if !stem.chars().all(allowed) {
        return Err(NameError::PluginCharacters(stem_owned()));
    }
    if !stem.starts_with(|c: char| c.is_ascii_alphanumeric()) || stem.ends_with('_') {
        return Err(NameError::PluginEdges(stem_owned()));
    }
    if stem.contains("__") {
        return Err(NameError::PluginDoubleUnderscore(stem_owned()));
    }
    Ok(())
}

/// The published name of `item` under `prefix` (a plugin name or a prefix already checked by
/// [`check_plugin_name`] or [`check_prefix`]): `<prefix>_<item>`, or `item` itself when `prefix`
/// is empty (the policy's `prefix = ""`).
///
/// # Errors
/// When the result would break the naming rules: [`NameError::EmptyItem`],
/// [`NameError::ItemCharacters`], [`NameError::DoubleUnderscore`] or [`NameError::TooLong`].
pub fn published_name(prefix: &str, item: &str) -> Result<String, NameError> {
    let plugin = prefix;
    let name = if prefix.is_empty() {
        item.to_string()
    } else {
        format!("{prefix}_{item}")
    };
    let item_owned = || item.to_string();
    if item.is_empty() {
        return Err(NameError::EmptyItem {
            plugin: plugin.to_string(),
        });
    }
    if !item.chars().all(allowed) {
        return Err(NameError::ItemCharacters { item: item_owned() });
    }
    if name.contains("__") {
        return Err(NameError::DoubleUnderscore {
            item: item_owned(),
            name,
        });
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            item: item_owned(),
            name,
        });
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_text_and_the_rule() {
        assert_eq!(
            check_plugin_name("a__b").unwrap_err().to_string(),
            "plugin name 'a__b' contains '__'; rename the file to use only letters, digits, '-' \
             and single '_'"
        );
        assert_eq!(
            check_plugin_name("").unwrap_err().to_string(),
            "plugin name '' must be 1 to 62 characters; rename the file to use only letters, \
             digits, '-' and single '_'"
        );
        assert_eq!(
            published_name("p", "a.b").unwrap_err().to_string(),
            "'a.b' has characters outside [A-Za-z0-9_-] (published names must match \
             ^[A-Za-z0-9_-]{1,64}$)"
        );
    }

    #[test]
    fn plugin_names() {
        for ok in ["hello", "text-kit", "a", "notes_v2", "X9"] {
            assert_eq!(check_plugin_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "_x",
            "x_",
            "a__b",
            "has space",
            "dot.ted",
            "ünï",
            &"a".repeat(63),
        ] {
            assert!(check_plugin_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn published_names() {
        assert_eq!(published_name("notes", "search").unwrap(), "notes_search");
        assert_eq!(
            published_name("kit", "word-count").unwrap(),
            "kit_word-count"
        );
        assert!(published_name("notes", "").is_err());
        assert!(
            published_name("notes", "_private")
                .unwrap_err()
                .to_string()
                .contains("__")
        );
        assert!(
            published_name("notes", "a__b")
                .unwrap_err()
                .to_string()
                .contains("__")
        );
        assert!(published_name("notes", "a.b").is_err());
        assert!(published_name("notes", "a/b").is_err());
        assert_eq!(published_name("", "search").unwrap(), "search");
        assert!(published_name("", "a__b").is_err());
        assert!(published_name("", &"x".repeat(65)).is_err());
        assert_eq!(check_published_name("json_schema_2020_12_tool"), Ok(()));
        assert!(check_published_name("has space").is_err());
        assert_eq!(check_prefix("gh"), Ok(()));
        assert_eq!(
            check_prefix("g_").unwrap_err().to_string(),
            "publish.prefix 'g_' must start with a letter or digit and not end with '_' (or set \
             prefix = \"\" for none)"
        );
        let long = "x".repeat(58);
        assert_eq!(published_name("notes", &long).unwrap().len(), 64);
        assert!(
            published_name("notes", &format!("{long}y"))
                .unwrap_err()
                .to_string()
                .contains("64")
        );
    }
}
