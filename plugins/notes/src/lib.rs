//! `notes`: Markdown notes in the guest directory `/notes`, served as
//! resources (`notes://<stem>`), searchable with a tool, and summarizable
//! with a prompt.
//!
//! The operator grants `/notes` (read-only is enough); without it the plugin
//! still loads, lists nothing and answers `denied`.

use std::fs;
use std::io::ErrorKind;

use capsule_plugin::prelude::*;

/// The guest directory holding the notes.
const ROOT: &str = "/notes";

fn plugin() -> Plugin {
    Plugin::new(
        Metadata::new("notes", env!("CARGO_PKG_VERSION"))
            .description("Markdown notes: read, search and summarize")
            .filesystem(
                ROOT,
                Access::ReadOnly,
                "reads the Markdown notes it serves, searches and summarizes",
            ),
    )
    .resources_from(list_resources)
    .template(
        template("notes://{name}", "note", |vars: &Vars| {
            read_note(&vars["name"], vars.uri())
        })
        .mime_type("text/markdown")
        .description("A Markdown note in /notes, by file name without `.md`"),
    )
    .tool(
        tool(
            "search",
            "Search every note for a text (case-insensitive); returns matching lines",
            search,
        )
        .read_only()
        .idempotent()
        .open_world(false),
    )
    .prompt(
        prompt("summarize", "Summarize one note", summarize)
            .required("name", "The note's name (file name without `.md`)"),
    )
    .prompt(
        prompt(
            "brainstorm",
            "Brainstorm ideas about a topic, ready to save as a note",
            brainstorm,
        )
        .required("topic", "What to brainstorm about")
        .optional("count", "How many ideas (default 5)"),
    )
}

capsule_plugin::export_plugin!(plugin);

// ---------------------------------------------------------------- storage

fn not_granted() -> ToolError {
    ToolError::denied(format!(
        "the notes folder {ROOT} is not available to this plugin: the operator must grant \
         {ROOT} (read-only is enough) in the plugin's policy"
    ))
}

fn root_accessible() -> bool {
    fs::metadata(ROOT).map(|m| m.is_dir()).unwrap_or(false)
}

/// Check a note name taken from a URI or an argument.
fn check_stem(name: &str) -> Result<&str, ToolError> {
    if name.contains('/') || name.contains('\\') || name.contains("..") {
        return Err(ToolError::invalid_arguments(format!(
            "invalid note name `{name}`: names cannot contain `/`, `\\` or `..`"
        )));
    }
    if name.is_empty() || name.starts_with('.') || name.chars().any(char::is_control) {
        return Err(ToolError::invalid_arguments(format!(
            "invalid note name `{name}`: give a note's file name without `.md`, e.g. `welcome`"
        )));
    }
    Ok(name)
}

/// Read note `name`; `what` names it in errors (the URI, or the name).
fn read_note(name: &str, what: &str) -> Result<String, ToolError> {
    let stem = check_stem(name)?;
    if !root_accessible() {
        return Err(not_granted());
    }
    match fs::read_to_string(format!("{ROOT}/{stem}.md")) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            Err(ToolError::not_found(format!("no such note: {what}")))
        }
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Err(not_granted()),
        Err(e) if e.kind() == ErrorKind::InvalidData => Err(ToolError::internal(format!(
            "note {what} is not UTF-8 text"
        ))),
        Err(e) => Err(ToolError::internal(format!("cannot read note {what}: {e}"))),
    }
}

/// Every note as (stem, text), sorted by stem.
fn all_notes() -> Result<Vec<(String, String)>, ToolError> {
    let entries = fs::read_dir(ROOT).map_err(|_| not_granted())?;
    let mut notes = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(stem) = file_name.to_str().and_then(|n| n.strip_suffix(".md")) else {
            continue;
        };
        if check_stem(stem).is_err() || !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        // Skip unreadable or non-UTF-8 files rather than failing the listing.
        if let Ok(text) = fs::read_to_string(entry.path()) {
            notes.push((stem.to_string(), text));
        }
    }
    notes.sort();
    Ok(notes)
}

/// `name` as an RFC 6570 simple expansion: unreserved characters as they
/// are, everything else percent-encoded (the template match decodes it).
fn uri_for(name: &str) -> String {
    let mut uri = String::from("notes://");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

// ---------------------------------------------------------------- resources

fn list_resources() -> Vec<Resource> {
    let Ok(notes) = all_notes() else {
        return Vec::new();
    };
    notes
        .into_iter()
        .map(|(stem, text)| {
            let first = text.lines().next().unwrap_or("");
            let title = first.trim_start_matches('#').trim();
            let r = Resource::new(uri_for(&stem), stem.as_str())
                .mime_type("text/markdown")
                .size(text.len() as u64);
            if title.is_empty() {
                r
            } else {
                r.description(title)
            }
        })
        .collect()
}

// ---------------------------------------------------------------- search

/// What to search for.
#[derive(Deserialize, JsonSchema)]
struct SearchArgs {
    /// Text to look for, case-insensitive
    query: String,
}

/// Lines that contain the query.
#[derive(Serialize, JsonSchema)]
struct SearchResult {
    /// Every matching line, by note then line number
    matches: Vec<Match>,
}

/// One matching line.
#[derive(Serialize, JsonSchema)]
struct Match {
    /// The note's name (file name without `.md`)
    note: String,
    /// 1-based line number
    line: usize,
    /// The line's text
    text: String,
}

fn search(args: SearchArgs) -> Result<SearchResult, ToolError> {
    let query = args.query.to_lowercase();
    if query.trim().is_empty() {
        return Err(ToolError::invalid_arguments("`query` must not be empty"));
    }
    let mut matches = Vec::new();
    for (note, text) in all_notes()? {
        for (i, line) in text.lines().enumerate() {
            if line.to_lowercase().contains(&query) {
                matches.push(Match {
                    note: note.clone(),
                    line: i + 1,
                    text: line.to_string(),
                });
            }
        }
    }
    Ok(SearchResult { matches })
}

// ---------------------------------------------------------------- prompts

fn summarize(args: &PromptArgs) -> Result<String, ToolError> {
    let name = args.require("name")?;
    let text = read_note(name, &format!("`{name}`"))?;
    Ok(format!("Please summarize the following note:\n\n{text}"))
}

fn brainstorm(args: &PromptArgs) -> Result<String, ToolError> {
    let topic = args.require("topic")?.trim();
    if topic.is_empty() {
        return Err(ToolError::invalid_arguments("`topic` must not be empty"));
    }
    let count = args.get_or("count", "5").trim();
    match count.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(format!(
            "Please brainstorm {n} ideas about {topic}. Give each idea a short title and one \
             sentence, as a Markdown list I can save as a note."
        )),
        _ => Err(ToolError::invalid_arguments(format!(
            "`count` must be a whole number of at least 1, not `{count}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for bad in ["a/b", "..", "a\\b", "../etc/passwd", "", ".hidden"] {
            assert!(
                matches!(check_stem(bad), Err(ToolError::InvalidArguments(_))),
                "{bad}"
            );
        }
        assert_eq!(check_stem("welcome"), Ok("welcome"));
        assert!(matches!(
            plugin().read_resource("notes://..%2Fsecret"),
            Err(ToolError::InvalidArguments(_))
        ));
    }

    #[test]
    fn uris_round_trip_through_the_template() {
        assert_eq!(uri_for("my note"), "notes://my%20note");
        assert_eq!(uri_for("todo"), "notes://todo");
    }

    #[test]
    fn without_the_folder_reads_are_denied() {
        // Natively there is no /notes (normally): listing is empty and reads
        // are denied.
        if root_accessible() {
            return;
        }
        let p = plugin();
        assert!(p.list_resources().is_empty());
        assert!(matches!(
            p.read_resource("notes://welcome"),
            Err(ToolError::Denied(_))
        ));
        assert!(matches!(
            p.call_tool("search", r#"{"query":"x"}"#),
            Err(ToolError::Denied(_))
        ));
    }

    #[test]
    fn brainstorm_prompt() {
        let p = plugin();
        let out = p
            .get_prompt("brainstorm", &[("topic".into(), "tea".into())])
            .unwrap();
        assert_eq!(out.messages.len(), 1);
        assert_eq!(out.messages[0].role, Role::User);
        match &out.messages[0].content {
            Content::Text { text, .. } => assert!(text.contains("5 ideas about tea"), "{text}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            p.get_prompt(
                "brainstorm",
                &[("topic".into(), "tea".into()), ("count".into(), "x".into())]
            ),
            Err(ToolError::InvalidArguments(_))
        ));
    }
}
