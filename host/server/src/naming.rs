//! Names clients see: `<plugin>_<item>` for tools and prompts (ARCHITECTURE.md §3).
//!
//! A published name matches `^[A-Za-z0-9_-]{1,64}$` (the set every major client accepts; Claude
//! Desktop rejects a server with any other tool name) and never contains `__` (some clients split
//! on it). The plugin part is the plugin's file stem.

/// Longest published name, in bytes (ASCII only).
pub const MAX_NAME_LEN: usize = 64;

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Check a plugin file stem. It must be 1..=62 characters of `[A-Za-z0-9_-]`, start with a letter
/// or digit, not end with `_`, and not contain `__`, so that `<plugin>_<item>` stays valid.
///
/// # Errors
/// A sentence saying what is wrong and how to rename the file.
pub fn check_plugin_name(stem: &str) -> Result<(), String> {
    let fix = "rename the file to use only letters, digits, '-' and single '_'";
    if stem.is_empty() || stem.len() > MAX_NAME_LEN - 2 {
        return Err(format!(
            "plugin name '{stem}' must be 1 to {} characters; {fix}",
            MAX_NAME_LEN - 2
        ));
    }
    if !stem.chars().all(allowed) {
        return Err(format!(
            "plugin name '{stem}' has characters outside [A-Za-z0-9_-]; {fix}"
        ));
    }
    if !stem.starts_with(|c: char| c.is_ascii_alphanumeric()) || stem.ends_with('_') {
        return Err(format!(
            "plugin name '{stem}' must start with a letter or digit and not end with '_'; {fix}"
        ));
    }
    if stem.contains("__") {
        return Err(format!("plugin name '{stem}' contains '__'; {fix}"));
    }
    Ok(())
}

/// The published name of `item` from plugin `plugin` (already checked by
/// [`check_plugin_name`]): `<plugin>_<item>`.
///
/// # Errors
/// When the result would break the naming rules, a sentence naming the item and the rule.
pub fn published_name(plugin: &str, item: &str) -> Result<String, String> {
    let name = format!("{plugin}_{item}");
    if item.is_empty() {
        return Err(format!(
            "plugin '{plugin}' declares an item with an empty name"
        ));
    }
    if !item.chars().all(allowed) {
        return Err(format!(
            "'{item}' has characters outside [A-Za-z0-9_-] (published names must match \
             ^[A-Za-z0-9_-]{{1,64}}$)"
        ));
    }
    if name.contains("__") {
        return Err(format!(
            "'{item}' would be published as '{name}', which contains '__'"
        ));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "'{item}' would be published as '{name}', longer than {MAX_NAME_LEN} characters"
        ));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                .contains("__")
        );
        assert!(published_name("notes", "a__b").unwrap_err().contains("__"));
        assert!(published_name("notes", "a.b").is_err());
        assert!(published_name("notes", "a/b").is_err());
        let long = "x".repeat(58);
        assert_eq!(published_name("notes", &long).unwrap().len(), 64);
        assert!(
            published_name("notes", &format!("{long}y"))
                .unwrap_err()
                .contains("64")
        );
    }
}
