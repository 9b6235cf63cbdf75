//! Matching URIs against RFC 6570 level-1 URI templates (`notes://{name}`).

use std::collections::BTreeMap;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String),
}

/// A parsed RFC 6570 level-1 template: literal text with simple `{var}`
/// expressions. Operators (`{+var}`, `{/var}`, ...) and lists are not
/// supported; such an expression never matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    parts: Vec<Part>,
}

impl UriTemplate {
    /// Parse `template`. Unbalanced braces are taken literally.
    pub fn parse(template: &str) -> Self {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                break;
            };
            literal.push_str(&rest[..open]);
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Var(after[..close].to_string()));
            rest = &after[close + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        UriTemplate { parts }
    }

    /// The variable names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Match `uri` against the template. On success every variable is bound
    /// to the (percent-decoded) text it covers, which may be empty and may
    /// contain any character, `/` included: the handler validates values.
    /// When several splits fit, earlier variables take the shortest text.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        if self.variables().any(|v| !is_simple_name(v)) {
            return None;
        }
        let mut raw = Vec::new();
        if !match_parts(&self.parts, uri, &mut raw) {
            return None;
        }
        let mut vars = BTreeMap::new();
        for (name, value) in raw {
            vars.insert(name.to_string(), percent_decode(value)?);
        }
        Some(vars)
    }
}

/// A level-1 variable name: ALPHA / DIGIT / `_` / `.` / pct-encoded.
fn is_simple_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '%')
}

fn match_parts<'t, 'u>(parts: &'t [Part], uri: &'u str, out: &mut Vec<(&'t str, &'u str)>) -> bool {
    match parts.split_first() {
        None => uri.is_empty(),
        Some((Part::Literal(lit), rest)) => match uri.strip_prefix(lit.as_str()) {
            Some(tail) => match_parts(rest, tail, out),
            None => false,
        },
        Some((Part::Var(name), rest)) => {
            if rest.is_empty() {
                out.push((name, uri));
                return true;
            }
            // Try every split point, shortest first.
            for (end, _) in uri.char_indices().chain(std::iter::once((uri.len(), ' '))) {
                let mark = out.len();
                out.push((name, &uri[..end]));
                if match_parts(rest, &uri[end..], out) {
                    return true;
                }
                out.truncate(mark);
            }
            false
        }
    }
}

/// Decode `%XX` escapes; `None` if the result is not UTF-8. A `%` not
/// followed by two hex digits is kept as it is.
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
        UriTemplate::parse(template)
            .matches(uri)
            .map(|v| v.into_iter().collect())
    }

    fn pairs(p: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
    }

    #[test]
    fn single_variable() {
        assert_eq!(
            m("notes://{name}", "notes://ideas"),
            pairs(&[("name", "ideas")])
        );
        assert_eq!(m("notes://{name}", "notes://"), pairs(&[("name", "")]));
        assert_eq!(m("notes://{name}", "note://ideas"), None);
        assert_eq!(m("notes://{name}", "notes:/"), None);
        // Values may hold anything; handlers validate them.
        assert_eq!(
            m("notes://{name}", "notes://a/../b"),
            pairs(&[("name", "a/../b")])
        );
    }

    #[test]
    fn prefix_suffix_and_several_variables() {
        assert_eq!(
            m("file:///{dir}/{file}.md", "file:///docs/readme.md"),
            pairs(&[("dir", "docs"), ("file", "readme")])
        );
        assert_eq!(
            m("file:///{dir}/{file}.md", "file:///docs/readme.txt"),
            None
        );
        assert_eq!(
            m("db://{table}/rows/{id}", "db://users/rows/42"),
            pairs(&[("id", "42"), ("table", "users")])
        );
        // Shortest first for earlier variables.
        assert_eq!(
            m("x://{a}-{b}", "x://1-2-3"),
            pairs(&[("a", "1"), ("b", "2-3")])
        );
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(m("n://{v}", "n://a%20b"), pairs(&[("v", "a b")]));
        assert_eq!(m("n://{v}", "n://..%2Fetc"), pairs(&[("v", "../etc")]));
        assert_eq!(m("n://{v}", "n://100%"), pairs(&[("v", "100%")]));
        assert_eq!(m("n://{v}", "n://%C3%A9"), pairs(&[("v", "é")]));
        assert_eq!(m("n://{v}", "n://%FF"), None);
    }

    #[test]
    fn templates_without_variables_and_operators() {
        assert_eq!(m("a://fixed", "a://fixed"), pairs(&[]));
        assert_eq!(m("a://fixed", "a://other"), None);
        assert_eq!(m("a://{+path}", "a://x"), None);
        assert_eq!(m("a://{open", "a://{open"), pairs(&[]));
        let t = UriTemplate::parse("db://{table}/{id}");
        assert_eq!(t.variables().collect::<Vec<_>>(), vec!["table", "id"]);
    }
}
