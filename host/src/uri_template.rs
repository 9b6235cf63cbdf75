//! Matching concrete URIs against RFC 6570 URI templates, to route `resources/read`.
//!
//! Supported: literal text, simple expressions `{var}` (level 1: one or more characters other
//! than `/`, `?` and `#`) and reserved expressions `{+var}` (level 2: one or more of any
//! character). Templates with other operators still parse (so they can be listed) but never match.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var { name: String, reserved: bool },
    Unsupported,
}

/// A parsed URI template (RFC 6570).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

impl UriTemplate {
    /// Parse `template`.
    ///
    /// # Errors
    /// An unclosed `{`, an empty expression or a stray `}`.
    pub fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(i) if rest.as_bytes()[i] == b'}' => {
                    return Err(format!("URI template '{template}' has a stray '}}'"));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_string()));
                    }
                    let end = rest[i..]
                        .find('}')
                        .ok_or_else(|| format!("URI template '{template}' has an unclosed '{{'"))?;
                    let expr = &rest[i + 1..i + end];
                    parts.push(parse_expression(template, expr)?);
                    rest = &rest[i + end + 1..];
                }
                None => {
                    parts.push(Part::Literal(rest.to_string()));
                    rest = "";
                }
            }
        }
        Ok(Self {
            source: template.to_string(),
            parts,
        })
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The literal text before the first expression (e.g. `notes://` for `notes://{name}`).
    pub fn literal_prefix(&self) -> &str {
        match self.parts.first() {
            Some(Part::Literal(s)) => s,
            _ => "",
        }
    }

    /// Match `uri`; on success, the value of each variable.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut vars = BTreeMap::new();
        match_parts(&self.parts, uri, &mut vars).then_some(vars)
    }
}

fn parse_expression(template: &str, expr: &str) -> Result<Part, String> {
    let (reserved, name) = match expr.strip_prefix('+') {
        Some(name) => (true, name),
        None => (false, expr),
    };
    if name.is_empty() {
        return Err(format!("URI template '{template}' has an empty expression"));
    }
    let simple = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    Ok(if simple {
        Part::Var {
            name: name.to_string(),
            reserved,
        }
    } else {
        Part::Unsupported
    })
}

fn match_parts(parts: &[Part], input: &str, vars: &mut BTreeMap<String, String>) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return input.is_empty();
    };
    match first {
        Part::Literal(lit) => input
            .strip_prefix(lit.as_str())
            .is_some_and(|tail| match_parts(rest, tail, vars)),
        Part::Unsupported => false,
        Part::Var { name, reserved } => {
            // Try the longest value first, then shorter ones (templates are short; inputs too).
            let limit = if *reserved {
                input.len()
            } else {
                input.find(['/', '?', '#']).unwrap_or(input.len())
            };
            let mut ends: Vec<usize> = input[..limit]
                .char_indices()
                .map(|(i, c)| i + c.len_utf8())
                .collect();
            ends.reverse();
            for end in ends {
                if match_parts(rest, &input[end..], vars) {
                    vars.insert(name.clone(), input[..end].to_string());
                    return true;
                }
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(t: &str, uri: &str) -> Option<Vec<(String, String)>> {
        UriTemplate::parse(t)
            .unwrap()
            .matches(uri)
            .map(|v| v.into_iter().collect())
    }

    #[test]
    fn simple_variables_stop_at_slashes() {
        assert_eq!(
            m("notes://{name}", "notes://ideas"),
            Some(vec![("name".into(), "ideas".into())])
        );
        assert_eq!(m("notes://{name}", "notes://a/b"), None);
        assert_eq!(m("notes://{name}", "notes://"), None);
        assert_eq!(m("notes://{name}", "other://ideas"), None);
    }

    #[test]
    fn several_variables_and_suffixes() {
        assert_eq!(
            m(
                "repo://{owner}/{repo}/readme.md",
                "repo://me/capsule/readme.md"
            ),
            Some(vec![
                ("owner".into(), "me".into()),
                ("repo".into(), "capsule".into())
            ])
        );
        assert_eq!(
            m("file:///{+path}", "file:///a/b/c.txt"),
            Some(vec![("path".into(), "a/b/c.txt".into())])
        );
        assert_eq!(
            m("x://{a}.{b}", "x://v1.2.txt"),
            Some(vec![
                ("a".into(), "v1.2".into()),
                ("b".into(), "txt".into())
            ])
        );
    }

    #[test]
    fn parse_errors_and_unsupported_operators() {
        assert!(UriTemplate::parse("notes://{name").is_err());
        assert!(UriTemplate::parse("notes://name}").is_err());
        assert!(UriTemplate::parse("notes://{}").is_err());
        let t = UriTemplate::parse("search://{?q}").unwrap();
        assert_eq!(t.matches("search://?q=x"), None);
        assert_eq!(t.literal_prefix(), "search://");
    }
}
