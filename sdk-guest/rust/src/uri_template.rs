//! Matching URIs against RFC 6570 URI templates (`notes://{name}`, `files://{+path}`), with the
//! rules the host routes by (shared test vectors: `tests/vectors/uri_templates.json`):
//!
//! - literal text matches itself;
//! - `{name}` matches one or more characters other than `/`, `?` and `#`;
//! - `{+name}` matches one or more characters of any kind;
//! - any other expression (`{?q}`, `{/p}`, lists, modifiers) never matches;
//! - when several splits fit, earlier variables take as much as they can;
//! - values are percent-decoded (`%XX`; a `%` without two hex digits stays), and a value that does
//!   not decode to UTF-8 makes the URI not match. Validate values in the handler: `..%2F` decodes
//!   to `../`.
//!
//! Matching takes time proportional to the URI's length times the template's parts, whatever both
//! hold.

use std::collections::BTreeMap;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    /// `{name}` (`reserved: false`) or `{+name}` (`reserved: true`).
    Var {
        name: String,
        reserved: bool,
    },
    /// An expression these rules do not match.
    Unsupported(String),
}

/// A parsed URI template.
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
            parts.push(expression(&after[..close]));
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
            Part::Var { name, .. } => Some(name.as_str()),
            Part::Unsupported(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Match `uri` against the template; on success every variable is bound to the
    /// (percent-decoded) text it covers.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        if self.parts.iter().any(|p| matches!(p, Part::Unsupported(_))) {
            return None;
        }
        let bytes = uri.as_bytes();
        let n = bytes.len();
        let boundary = |p: usize| uri.is_char_boundary(p);
        // fits[i][p]: parts[i..] match uri[p..] (only at character boundaries).
        let mut fits = vec![vec![false; n + 1]; self.parts.len() + 1];
        fits[self.parts.len()][n] = true;
        for (i, part) in self.parts.iter().enumerate().rev() {
            let (done, todo) = fits.split_at_mut(i + 1);
            let (here, next) = (&mut done[i], &todo[0]);
            match part {
                Part::Literal(text) if text.len() <= n => {
                    for p in 0..=n - text.len() {
                        here[p] = next[p + text.len()] && bytes[p..].starts_with(text.as_bytes());
                    }
                }
                Part::Literal(_) => {} // longer than the URI: fits nowhere
                Part::Var { reserved, .. } => {
                    // Whether some end q > p is reachable from p through allowed bytes.
                    let mut reach = false;
                    for p in (0..n).rev() {
                        reach = allowed(bytes[p], *reserved) && (next[p + 1] || reach);
                        here[p] = reach && boundary(p);
                    }
                }
                Part::Unsupported(_) => return None,
            }
        }
        if !fits[0][0] {
            return None;
        }
        // Walk the parts again, each variable taking the longest text that still fits.
        let mut vars = BTreeMap::new();
        let mut p = 0;
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(text) => p += text.len(),
                Part::Var { name, reserved } => {
                    let mut end = None;
                    let mut q = p;
                    while q < n && allowed(bytes[q], *reserved) {
                        q += 1;
                        if fits[i + 1][q] {
                            end = Some(q);
                        }
                    }
                    let end = end?;
                    vars.insert(name.clone(), percent_decode(&uri[p..end])?);
                    p = end;
                }
                Part::Unsupported(_) => return None,
            }
        }
        Some(vars)
    }
}

/// Whether a variable may cover `byte`: anything for `{+var}`, anything but `/`, `?` and `#` for
/// `{var}` (all ASCII, so never part of a multi-byte character).
fn allowed(byte: u8, reserved: bool) -> bool {
    reserved || !matches!(byte, b'/' | b'?' | b'#')
}

/// `{name}` and `{+name}` with a name of ALPHA / DIGIT / `_` / `.`; anything else is unsupported.
fn expression(text: &str) -> Part {
    let (reserved, name) = match text.strip_prefix('+') {
        Some(name) => (true, name),
        None => (false, text),
    };
    let simple = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if simple {
        Part::Var {
            name: name.to_string(),
            reserved,
        }
    } else {
        Part::Unsupported(text.to_string())
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

    /// The vectors the host and every SDK run.
    #[test]
    fn shared_vectors() {
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
            let got = UriTemplate::parse(template).matches(uri);
            assert_eq!(got, want, "{template} against {uri}");
        }
    }

    #[test]
    fn hostile_uris_take_linear_time() {
        let t = UriTemplate::parse("x://{a}-{b}-{c}");
        let uri = format!("x://{}/", "-".repeat(64 << 10));
        assert_eq!(t.matches(&uri), None);
    }

    #[test]
    fn literals_longer_than_the_uri_fit_nowhere() {
        assert_eq!(
            UriTemplate::parse("a://{x}/long-suffix").matches("a://b"),
            None
        );
    }

    #[test]
    fn variables_are_listed_in_order() {
        let t = UriTemplate::parse("db://{table}/{+rest}");
        assert_eq!(t.variables().collect::<Vec<_>>(), vec!["table", "rest"]);
        assert_eq!(
            UriTemplate::parse("a://{open").matches("a://{open"),
            Some(BTreeMap::new())
        );
    }
}
