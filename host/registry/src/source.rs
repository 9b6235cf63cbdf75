//! `oci://REGISTRY/REPOSITORY[:TAG][@sha256:DIGEST]`: where a plugin lives in an OCI registry.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use oci_client::Reference;

/// The URL scheme of registry sources.
pub const SCHEME: &str = "oci://";

/// A plugin's place in an OCI registry: registry host (with port), repository, and a tag, a
/// digest, or both (the digest then wins: it names exact bytes).
///
/// Written `oci://REGISTRY/REPOSITORY:TAG`, `oci://REGISTRY/REPOSITORY@sha256:HEX` or both; the
/// registry is always explicit (no implicit Docker Hub), and a source without tag or digest means
/// the tag `latest` (as in every OCI tool).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OciSource {
    reference: Reference,
}

/// A source that does not parse, with why.
#[derive(Debug, thiserror::Error)]
#[error(
    "'{input}' is not an OCI source: {why} (expected oci://REGISTRY/REPOSITORY:TAG or oci://REGISTRY/REPOSITORY@sha256:DIGEST)"
)]
pub struct SourceError {
    input: String,
    why: String,
}

impl FromStr for OciSource {
    type Err = SourceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |why: &str| SourceError {
            input: input.to_string(),
            why: why.to_string(),
        };
        let rest = input
            .strip_prefix(SCHEME)
            .ok_or_else(|| error("it does not start with oci://"))?;
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| error("it names no repository"))?;
        // As Docker reads names: a first component with a dot or a port, or `localhost`, is a
        // registry. Capsule asks for one explicitly rather than defaulting to Docker Hub.
        if !(registry.contains('.') || registry.contains(':') || registry == "localhost") {
            return Err(error(&format!(
                "'{registry}' is not a registry host (name one with a dot or a port, e.g. ghcr.io or 127.0.0.1:5000)"
            )));
        }
        if path.is_empty() {
            return Err(error("it names no repository"));
        }
        let reference = Reference::from_str(rest).map_err(|e| error(&e.to_string()))?;
        if let Some(digest) = reference.digest()
            && !is_sha256_digest(digest)
        {
            return Err(error("the digest is not sha256:<64 lowercase hex digits>"));
        }
        Ok(Self { reference })
    }
}

/// Whether `digest` is `sha256:` and 64 lowercase hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl fmt::Display for OciSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry(), self.repository())?;
        if let Some(tag) = self.tag() {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest() {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl OciSource {
    /// The registry host, with its port if it has one (`127.0.0.1:5000`, `ghcr.io`).
    pub fn registry(&self) -> &str {
        self.reference.registry()
    }

    /// The repository (`tools/time`).
    pub fn repository(&self) -> &str {
        self.reference.repository()
    }

    /// The tag, if the source names one.
    pub fn tag(&self) -> Option<&str> {
        self.reference.tag()
    }

    /// The manifest digest (`sha256:…`), if the source names one.
    pub fn digest(&self) -> Option<&str> {
        self.reference.digest()
    }

    /// The same repository and tag, pinned to `digest` (a manifest digest, `sha256:…`).
    pub fn pinned(&self, digest: &str) -> Self {
        let reference = match self.tag() {
            Some(tag) => Reference::with_tag_and_digest(
                self.registry().to_string(),
                self.repository().to_string(),
                tag.to_string(),
                digest.to_string(),
            ),
            None => Reference::with_digest(
                self.registry().to_string(),
                self.repository().to_string(),
                digest.to_string(),
            ),
        };
        Self { reference }
    }

    /// The same repository with another tag (a signature's `sha256-HEX.sig`).
    pub fn with_tag(&self, tag: &str) -> Self {
        Self {
            reference: Reference::with_tag(
                self.registry().to_string(),
                self.repository().to_string(),
                tag.to_string(),
            ),
        }
    }

    /// The last component of the repository (`tools/time` → `time`): the default plugin name.
    pub fn base_name(&self) -> &str {
        self.repository()
            .rsplit('/')
            .next()
            .unwrap_or(self.repository())
    }

    /// Whether the registry is on this machine (`localhost`, 127.0.0.0/8, `::1`): such a
    /// registry may be reached over plain HTTP.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(self.registry())
    }

    /// The `oci-client` reference, for requests. Digest-pinned sources are fetched by digest.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }
}

/// Whether `host[:port]` names this machine.
pub fn is_loopback_host(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => registry.rsplit_once(':').map_or(registry, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn sources_parse_and_print_back() {
        for text in [
            "oci://ghcr.io/acme/tools/time:1.2",
            "oci://127.0.0.1:5000/time:latest",
            &format!("oci://localhost/time@{DIGEST}"),
            &format!("oci://registry.example.com/a/b:v1@{DIGEST}"),
        ] {
            let source: OciSource = text.parse().unwrap();
            assert_eq!(source.to_string(), text);
        }
        let source: OciSource = "oci://127.0.0.1:5000/tools/time".parse().unwrap();
        assert_eq!(source.tag(), Some("latest"));
        assert_eq!(source.base_name(), "time");
        assert!(source.is_loopback());
        let pinned = source.pinned(DIGEST);
        assert_eq!(pinned.digest(), Some(DIGEST));
        assert_eq!(
            pinned.to_string(),
            format!("oci://127.0.0.1:5000/tools/time:latest@{DIGEST}")
        );
    }

    #[test]
    fn bad_sources_say_why() {
        for (text, why) in [
            ("ghcr.io/a/b:1", "does not start with oci://"),
            ("oci://ghcr.io", "names no repository"),
            ("oci://acme/tools:1", "not a registry host"),
            ("oci://ghcr.io/a@sha256:abc", "invalid reference"),
            ("oci://ghcr.io/A B", "not an OCI source"),
        ] {
            let err = text.parse::<OciSource>().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn loopback_hosts() {
        for host in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "ghcr.io",
            "10.0.0.1:5000",
            "registry.local:5000",
            "[2001:db8::1]:443",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
