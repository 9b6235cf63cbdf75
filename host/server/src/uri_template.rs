//! Matching concrete URIs against RFC 6570 URI templates, to route `resources/read`.
//!
//! Supported: literal text, simple expressions `{var}` (level 1: one or more characters other
//! than `/`, `?` and `#`) and reserved expressions `{+var}` (level 2: one or more of any
//! character). Templates with other operators still parse (so they can be listed) but never match.
//! Where a URI can be split in several ways, earlier variables take as much as they can.
//!
//! URIs come from clients, templates from plugins: a template is compiled once into a regular
//! expression of the `regex` crate, whose matching time is linear in the URI's length whatever the
//! template (a backtracking matcher took O(n^k) on `x://{a}-{b}-{c}`), and URIs longer than
//! [`MAX_URI_BYTES`] are not matched at all.

use std::collections::BTreeMap;

/// Longest URI matched against templates: 64 KiB.
pub const MAX_URI_BYTES: usize = 64 << 10;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var { name: String, reserved: bool },
    Unsupported,
}

/// A parsed URI template (RFC 6570).
#[derive(Clone, Debug)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
    /// The template as an anchored regular expression with one group per variable (in
    /// `parts` order); `None` when it has an unsupported expression.
    matcher: Option<regex::Regex>,
}

impl PartialEq for UriTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for UriTemplate {}

/// A URI template that cannot be served. Each message quotes the template.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TemplateError {
    /// A `}` with no `{` before it.
    #[error("URI template '{0}' has a stray '}}'")]
    StrayBrace(String),
    /// A `{` with no `}` after it.
    #[error("URI template '{0}' has an unclosed '{{'")]
    Unclosed(String),
    /// `{}` or `{+}`.
    #[error("URI template '{0}' has an empty expression")]
    EmptyExpression(String),
    /// Its regular expression is over the compiled-size limit (1 MiB).
    #[error("URI template '{template}' cannot be compiled: {source}")]
    Compile {
        /// The template as declared.
        template: String,
        /// The underlying error.
        #[source]
        source: regex::Error,
    },
}

impl UriTemplate {
    /// Parse `template` (RFC 6570 level 1 and `{+var}`; other operators parse but never match).
    ///
    /// # Errors
    /// [`TemplateError`]: an unclosed `{`, an empty expression, a stray `}`, or a template too
    /// big to compile.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(i) if rest.as_bytes()[i] == b'}' => {
                    return Err(TemplateError::StrayBrace(template.to_string()));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_string()));
                    }
                    let end = rest[i..]
                        .find('}')
                        .ok_or_else(|| TemplateError::Unclosed(template.to_string()))?;
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
        let matcher = compile(&parts)
            .transpose()
            .map_err(|source| TemplateError::Compile {
                template: template.to_string(),
                source,
            })?;
        Ok(Self {
            source: template.to_string(),
            parts,
            matcher,
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

    /// Match `uri`; on success, the value of each variable. Never matches a URI longer than
    /// [`MAX_URI_BYTES`].
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        if uri.len() > MAX_URI_BYTES {
            return None;
        }
        let captures = self.matcher.as_ref()?.captures(uri)?;
        let names = self.parts.iter().filter_map(|p| match p {
            Part::Var { name, .. } => Some(name),
            _ => None,
        });
        Some(
            names
                .zip(captures.iter().skip(1))
                .filter_map(|(name, value)| Some((name.clone(), value?.as_str().to_string())))
                .collect(),
        )
    }
}

/// The regular expression of `parts`: `None` if one is unsupported.
fn compile(parts: &[Part]) -> Option<Result<regex::Regex, regex::Error>> {
    let mut pattern = String::from("(?s)^");
    for part in parts {
        match part {
            Part::Literal(text) => pattern.push_str(&regex::escape(text)),
            Part::Var {
                reserved: false, ..
            } => pattern.push_str("([^/?#]+)"),
            Part::Var { reserved: true, .. } => pattern.push_str("(.+)"),
            Part::Unsupported => return None,
        }
    }
    pattern.push('$');
    Some(
        regex::RegexBuilder::new(&pattern)
            .size_limit(1 << 20)
            .build(),
    )
}

fn parse_expression(template: &str, expr: &str) -> Result<Part, TemplateError> {
    let (reserved, name) = match expr.strip_prefix('+') {
        Some(name) => (true, name),
        None => (false, expr),
    };
    if name.is_empty() {
        return Err(TemplateError::EmptyExpression(template.to_string()));
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

    /// Matching is linear in the URI: a template that made a backtracking matcher try O(n^3)
    /// splits answers at once (a hang here would stop the test run).
    #[test]
    fn hostile_uris_are_matched_in_linear_time() {
        let t = UriTemplate::parse("x://{a}-{b}-{c}").unwrap();
        // Every split of the dashes fits the variables until the final '/', which none may hold.
        let long = format!("x://{}/", "-".repeat(MAX_URI_BYTES - 10));
        assert_eq!(t.matches(&long), None);
        let split = format!("x://{}a-b-c", "-".repeat(MAX_URI_BYTES - 20));
        assert!(t.matches(&split).is_some());
        let too_long = format!("x://a-b-{}", "c".repeat(MAX_URI_BYTES));
        assert_eq!(t.matches(&too_long), None, "longer than MAX_URI_BYTES");
        let reserved = UriTemplate::parse("files://{+path}").unwrap();
        assert_eq!(
            reserved
                .matches("files://a/b\nc")
                .map(|v| v["path"].clone()),
            Some("a/b\nc".to_string())
        );
    }

    /// The vectors the host and every SDK run (`tests/vectors/uri_templates.json`). The host
    /// only routes, so it does not decode values; the vectors give them decoded.
    #[test]
    fn shared_vectors() {
        let decode = |s: &str| String::from_utf8(capsule_common::percent::decode(s)).ok();
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/vectors/uri_templates.json"))
                .expect("the vectors are JSON");
        for case in doc["cases"].as_array().expect("cases") {
            let (template, uri) = (
                case["template"].as_str().unwrap(),
                case["uri"].as_str().unwrap(),
            );
            let want: Option<BTreeMap<String, String>> =
                serde_json::from_value(case["values"].clone()).expect("values");
            let got = UriTemplate::parse(template)
                .unwrap()
                .matches(uri)
                .and_then(|vars| {
                    vars.into_iter()
                        .map(|(k, v)| Some((k, decode(&v)?)))
                        .collect::<Option<BTreeMap<_, _>>>()
                });
            assert_eq!(got, want, "{template} against {uri}");
        }
    }

    #[test]
    fn parse_errors_and_unsupported_operators() {
        let error = |t: &str| UriTemplate::parse(t).unwrap_err().to_string();
        assert_eq!(
            error("notes://{name"),
            "URI template 'notes://{name' has an unclosed '{'"
        );
        assert_eq!(
            error("notes://name}"),
            "URI template 'notes://name}' has a stray '}'"
        );
        assert_eq!(
            error("notes://{}"),
            "URI template 'notes://{}' has an empty expression"
        );
        let t = UriTemplate::parse("search://{?q}").unwrap();
        assert_eq!(t.matches("search://?q=x"), None);
        assert_eq!(t.literal_prefix(), "search://");
    }
}
