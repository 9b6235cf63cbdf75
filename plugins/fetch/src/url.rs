//! Just enough of RFC 3986 for `fetch`: split an absolute `http(s)` URL into what `wasi:http`
//! wants (scheme, authority, path and query) and resolve a `Location` against it (§5.2, with
//! dot-segment removal, §5.2.4). Fragments are dropped: they never go on the wire.

use std::fmt;

/// An absolute http or https URL without fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    /// `host[:port]` as written (IPv6 in brackets).
    pub authority: String,
    /// Starts with `/`.
    pub path_and_query: String,
}

impl Url {
    /// Parse an absolute `http://` or `https://` URL.
    ///
    /// # Errors
    /// Another scheme, no host, user info, spaces or non-ASCII characters (write hosts in
    /// punycode and percent-encode paths).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            format!("'{text}' is not an absolute URL (expected http://... or https://...)")
        })?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "http" => false,
            "https" => true,
            other => {
                return Err(format!(
                    "scheme '{other}' is not supported (use http or https)"
                ));
            }
        };
        if !rest.is_ascii() || rest.contains(char::is_whitespace) {
            return Err(format!(
                "'{text}' has spaces or non-ASCII characters (percent-encode them; write hosts in punycode)"
            ));
        }
        let rest = rest.split('#').next().unwrap_or_default();
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() {
            return Err(format!("'{text}' has no host"));
        }
        if authority.contains('@') {
            return Err(format!("'{text}' has user info, which is not supported"));
        }
        Ok(Url {
            https,
            authority: authority.to_string(),
            path_and_query: match tail {
                "" => "/".to_string(),
                t if t.starts_with('?') => format!("/{t}"),
                t => t.to_string(),
            },
        })
    }

    /// `scheme://authority`.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.authority
        )
    }

    /// Resolve `reference` (a `Location` header) against this URL.
    ///
    /// # Errors
    /// As [`Url::parse`], for absolute and scheme-relative references.
    pub fn join(&self, reference: &str) -> Result<Url, String> {
        let reference = reference.trim();
        let reference = reference.split('#').next().unwrap_or_default();
        let scheme_end = reference.find(['/', '?']).unwrap_or(reference.len());
        if reference[..scheme_end].contains(':') {
            return Url::parse(reference);
        }
        if reference.starts_with("//") {
            let scheme = if self.https { "https:" } else { "http:" };
            return Url::parse(&format!("{scheme}{reference}"));
        }
        let (base_path, _) = split_query(&self.path_and_query);
        let (path, query) = split_query(reference);
        let merged = if path.is_empty() {
            base_path.to_string()
        } else if path.starts_with('/') {
            path.to_string()
        } else {
            let dir = &base_path[..base_path.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{path}")
        };
        let query = match (path.is_empty(), query) {
            (_, Some(q)) => format!("?{q}"),
            (true, None) => split_query(&self.path_and_query)
                .1
                .map(|q| format!("?{q}"))
                .unwrap_or_default(),
            (false, None) => String::new(),
        };
        let joined = Url {
            path_and_query: format!("{}{query}", remove_dot_segments(&merged)),
            ..self.clone()
        };
        Url::parse(&joined.to_string())
    }
}

fn split_query(s: &str) -> (&str, Option<&str>) {
    match s.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (s, None),
    }
}

/// RFC 3986 §5.2.4, for absolute paths.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.origin(), self.path_and_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn parses_absolute_urls() {
        let u = url("HTTPS://example.com:8443/a/b?x=1#frag");
        assert!(u.https);
        assert_eq!(u.authority, "example.com:8443");
        assert_eq!(u.path_and_query, "/a/b?x=1");
        assert_eq!(url("http://h").path_and_query, "/");
        assert_eq!(url("http://h?q").path_and_query, "/?q");
        assert_eq!(url("http://[::1]:80/").authority, "[::1]:80");
        for bad in [
            "example.com",
            "ftp://x",
            "http:///x",
            "http://u@h/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolves_references() {
        let base = url("http://a.test:1/b/c/d?q");
        let cases = [
            ("https://x.test/y", "https://x.test/y"),
            ("//x.test/y", "http://x.test/y"),
            ("/g", "http://a.test:1/g"),
            ("g", "http://a.test:1/b/c/g"),
            ("../g?z", "http://a.test:1/b/g?z"),
            ("../../../g", "http://a.test:1/g"),
            ("./", "http://a.test:1/b/c/"),
            ("?y", "http://a.test:1/b/c/d?y"),
            ("", "http://a.test:1/b/c/d?q"),
            ("g#f", "http://a.test:1/b/c/g"),
        ];
        for (reference, expected) in cases {
            assert_eq!(
                base.join(reference).unwrap().to_string(),
                expected,
                "{reference}"
            );
        }
    }
}
