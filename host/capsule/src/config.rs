//! The host configuration file (`capsule.toml`, `--config`), parsed strictly: default limits and
//! their ceilings (handed to the sandbox's per-plugin policy, `capsule_sandbox::grants::policy`),
//! authentication and rate limits (`capsule_auth::config`).
//!
//! ```toml
//! [defaults]          # limits of every plugin whose policy does not set them
//! memory = "256MiB"
//! timeout = "30s"
//! [caps]              # ceilings no policy may exceed
//! memory = "1GiB"
//! [auth]              # who may call over HTTP; see capsule_auth::config
//! [rate_limits]       # calls per subject and per tool; see capsule_auth::ratelimit
//! [registry]          # how OCI registries are reached (plain HTTP, extra CA roots)
//! insecure = ["registry.lan:5000"]
//! ca = ["certs/registry-ca.pem"]
//! [trust]             # whose signatures registry plugins need
//! keys = ["keys/cosign.pub"]
//! trusted_root = "sigstore/trusted_root.json"      # keyless: Fulcio CAs and Rekor keys
//! identities = [{ subject = "https://github.com/acme/tools/.github/workflows/release.yml@refs/heads/main",
//!                 issuer = "https://token.actions.githubusercontent.com" }]
//! allow_unsigned = false
//! [[plugin]]          # a plugin from a registry, pinned by capsule.lock (crate::sources)
//! name = "time"
//! source = "oci://registry.example.com/tools/time:1.2"
//! policy = "policies/time.toml"
//! [publish]           # what every plugin's policy [publish] starts from
//! strict_schemas = true                            # refuse tools whose input schema is not portable
//! [telemetry]         # OTLP export; the standard OTEL_* variables win (capsule_telemetry::pipeline)
//! otlp_endpoint = "http://127.0.0.1:4317"
//! otlp_protocol = "grpc"                           # or "http/protobuf"
//! service_name = "capsule"
//! traces = true
//! metrics = true
//! ```

use std::path::{Path, PathBuf};

use capsule_auth::config::{AuthConfig, AuthToml};
use capsule_auth::issue::Issue;
use capsule_auth::ratelimit::{RateLimitConfig, RateLimitsToml};
use capsule_common::env::{EnvLookup, process_env};
use capsule_registry::OciSource;
use capsule_registry::keyless::TrustedIdentity;
use capsule_sandbox::files::{MAX_CONFIG_BYTES, read_regular_text};
use capsule_sandbox::grants::Limits;
use capsule_sandbox::grants::policy::{LimitBounds, LimitsTable, PolicyError, line_of, parse};
use capsule_server::naming::check_plugin_name;
use capsule_telemetry::TelemetryConfig;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigToml {
    #[serde(default)]
    defaults: LimitsTable,
    #[serde(default)]
    caps: LimitsTable,
    /// Authentication and scopes (see `capsule_auth::config`).
    #[serde(default)]
    auth: AuthToml,
    #[serde(default)]
    rate_limits: RateLimitsToml,
    #[serde(default)]
    registry: RegistryToml,
    #[serde(default)]
    trust: TrustToml,
    #[serde(default)]
    plugin: Vec<PluginToml>,
    #[serde(default)]
    telemetry: TelemetryToml,
    #[serde(default)]
    publish: PublishToml,
}

/// `[publish]`: what every plugin's policy `[publish]` table starts from.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishToml {
    /// Refuse tools whose input schema is not portable, unless a plugin's policy says otherwise.
    #[serde(default)]
    strict_schemas: bool,
}

/// `[telemetry]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TelemetryToml {
    otlp_endpoint: Option<String>,
    otlp_protocol: Option<String>,
    service_name: Option<String>,
    traces: Option<bool>,
    metrics: Option<bool>,
}

/// `[[plugin]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginToml {
    name: toml::Spanned<String>,
    source: toml::Spanned<String>,
    #[serde(default)]
    policy: Option<PathBuf>,
}

/// A plugin from a registry (`[[plugin]]`): served from the content-addressed store at the
/// digest `capsule.lock` pins for it (`crate::sources`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcedPlugin {
    /// Its name: the file stem a dropped-in file would have, the prefix of its tools.
    pub name: String,
    /// Where it is published.
    pub source: OciSource,
    /// Its policy file (relative paths are relative to the config file); none: no grants.
    pub policy: Option<PathBuf>,
}

/// `[registry]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryToml {
    #[serde(default)]
    insecure: Vec<String>,
    #[serde(default)]
    ca: Vec<PathBuf>,
}

/// `[trust]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustToml {
    #[serde(default)]
    keys: Vec<PathBuf>,
    #[serde(default)]
    trusted_root: Option<PathBuf>,
    #[serde(default)]
    identities: Vec<IdentityToml>,
    #[serde(default)]
    allow_unsigned: bool,
}

/// `[[trust.identities]]` / `identities = [{ subject, issuer }]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityToml {
    subject: String,
    issuer: String,
}

/// How OCI registries are reached (`[registry]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Registries (`host[:port]`) that may be reached over plain HTTP; loopback ones always may.
    pub insecure: Vec<String>,
    /// PEM files of extra root certificates for HTTPS registries (relative to the config file).
    pub ca_files: Vec<PathBuf>,
}

/// Whose signatures registry plugins need (`[trust]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustConfig {
    /// Cosign public keys (PEM files, relative to the config file); a signature by any of them
    /// is accepted.
    pub key_files: Vec<PathBuf>,
    /// The Sigstore trusted root (`TrustedRoot` JSON) keyless signatures are checked against.
    pub trusted_root: Option<PathBuf>,
    /// Identities whose keyless signatures are accepted (certificate subject and OIDC issuer).
    pub identities: Vec<TrustedIdentity>,
    /// Accept registry plugins without a valid signature (warned about every time).
    pub allow_unsigned: bool,
}

/// The host configuration: default limits and their ceilings, authentication, rate limits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `[defaults]` and `[caps]`: the limits plugins start from and may not exceed.
    pub limits: LimitBounds,
    /// `[auth]`: who may call over HTTP, and which scopes unlock what.
    pub auth: AuthConfig,
    /// `[rate_limits]`: calls per subject and per tool.
    pub rate_limits: RateLimitConfig,
    /// `[registry]`: how OCI registries are reached.
    pub registry: RegistryConfig,
    /// `[trust]`: whose signatures registry plugins need.
    pub trust: TrustConfig,
    /// `[[plugin]]`: plugins from registries, in the file's order.
    pub sources: Vec<SourcedPlugin>,
    /// `[telemetry]`: where traces and metrics are exported over OTLP.
    pub telemetry: TelemetryConfig,
}

impl HostConfig {
    /// Read `capsule.toml`; environment variables it names come from the process environment.
    ///
    /// # Errors
    /// The file cannot be read, or a key or value is wrong ([`PolicyError`] names the line).
    pub fn load(file: &Path) -> Result<Self, PolicyError> {
        let source = read_regular_text(file, MAX_CONFIG_BYTES).map_err(|e| PolicyError {
            file: file.to_path_buf(),
            line: None,
            message: format!("cannot read the config file: {e}"),
        })?;
        Self::from_source(file, &source, &process_env)
    }

    /// [`Self::load`] with the file's text already read, and environment variables read
    /// through `env`.
    ///
    /// # Errors
    /// A key or value is wrong ([`PolicyError`] names the line).
    pub fn from_source(file: &Path, source: &str, env: EnvLookup) -> Result<Self, PolicyError> {
        let parsed: ConfigToml = parse(file, source)?;
        let mut defaults = Limits::default();
        parsed.defaults.apply_to(&mut defaults);
        let mut caps = Limits::unlimited();
        parsed.caps.apply_to(&mut caps);
        let issue = |issue: Issue| PolicyError {
            file: file.to_path_buf(),
            line: issue.span.map(|span| line_of(source, span)),
            message: issue.message,
        };
        let base = file.parent().unwrap_or(Path::new("."));
        let config = Self {
            limits: LimitBounds {
                defaults,
                caps,
                file: Some(file.to_path_buf()),
                strict_schemas: parsed.publish.strict_schemas,
            },
            auth: parsed.auth.resolve(base, env).map_err(issue)?,
            rate_limits: parsed.rate_limits.resolve().map_err(issue)?,
            registry: RegistryConfig {
                insecure: parsed.registry.insecure,
                ca_files: parsed.registry.ca.iter().map(|f| base.join(f)).collect(),
            },
            trust: TrustConfig {
                key_files: parsed.trust.keys.iter().map(|f| base.join(f)).collect(),
                trusted_root: parsed.trust.trusted_root.map(|f| base.join(f)),
                identities: parsed
                    .trust
                    .identities
                    .into_iter()
                    .map(|i| TrustedIdentity {
                        subject: i.subject,
                        issuer: i.issuer,
                    })
                    .collect(),
                allow_unsigned: parsed.trust.allow_unsigned,
            },
            sources: sources(file, source, base, parsed.plugin)?,
            telemetry: TelemetryConfig {
                otlp_endpoint: parsed.telemetry.otlp_endpoint,
                otlp_protocol: parsed.telemetry.otlp_protocol,
                service_name: parsed.telemetry.service_name,
                traces: parsed.telemetry.traces,
                metrics: parsed.telemetry.metrics,
            },
        };
        config
            .limits
            .check_caps(&config.limits.defaults)
            .map_err(|message| PolicyError {
                file: file.to_path_buf(),
                line: None,
                message: format!("[defaults]: {message}"),
            })?;
        Ok(config)
    }
}

/// Check `[[plugin]]` entries: valid names, each once, parseable `oci://` sources.
fn sources(
    file: &Path,
    text: &str,
    base: &Path,
    entries: Vec<PluginToml>,
) -> Result<Vec<SourcedPlugin>, PolicyError> {
    let mut out: Vec<SourcedPlugin> = Vec::new();
    for entry in entries {
        let error = |span: std::ops::Range<usize>, message: String| PolicyError {
            file: file.to_path_buf(),
            line: Some(line_of(text, span)),
            message,
        };
        let name_span = entry.name.span();
        let name = entry.name.into_inner();
        check_plugin_name(&name)
            .map_err(|e| error(name_span.clone(), format!("[[plugin]] {e}")))?;
        if out.iter().any(|p| p.name == name) {
            return Err(error(
                name_span,
                format!("[[plugin]] '{name}' is listed twice"),
            ));
        }
        let source_span = entry.source.span();
        let source: OciSource = entry
            .source
            .into_inner()
            .parse()
            .map_err(|e| error(source_span, format!("[[plugin]] {name}: {e}")))?;
        out.push(SourcedPlugin {
            name,
            source,
            policy: entry.policy.map(|p| base.join(p)),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use capsule_sandbox::grants::policy::Policy;

    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn host_config_reads_auth_scopes_and_rate_limits() {
        use capsule_auth::config::{Mode, TokenCheck};
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let file = write(
            dir,
            "capsule.toml",
            "[auth]\nmode = \"oauth\"\nresource = \"https://mcp.example.com/mcp\"\n\
             [auth.oauth]\nissuer = \"https://idp.example.com/realms/x\"\ntokens = \"introspection\"\n\
             client_id = \"capsule\"\nclient_secret_env = \"CAPSULE_TEST_INTROSPECTION_SECRET\"\n\
             algorithms = [\"ES256\"]\nclock_skew = \"5s\"\n\
             [auth.scopes]\n\"zeta\" = [\"plugin:a\"]\n\"alpha\" = [\"tool:a_*\"]\n\
             [rate_limits]\nper_subject = \"10/s\"\n[rate_limits.tools]\na_x = \"1/min\"\n",
        );
        let env = |name: &str| {
            (name == "CAPSULE_TEST_INTROSPECTION_SECRET").then(|| "s3cret".to_string())
        };
        let source = std::fs::read_to_string(&file).unwrap();
        let config = HostConfig::from_source(&file, &source, &env).unwrap();
        let auth = &config.auth;
        assert_eq!(auth.mode, Mode::Oauth);
        assert_eq!(auth.oauth.tokens, TokenCheck::Introspection);
        assert_eq!(auth.oauth.clock_skew, Duration::from_secs(5));
        assert_eq!(
            auth.oauth.client_secret.as_ref().unwrap().expose(),
            "s3cret"
        );
        // Scopes keep the file's order (the first one that unlocks an item is the one to ask for).
        assert_eq!(auth.scopes_supported(), ["zeta", "alpha"]);
        assert!(auth.check().is_ok());
        assert_eq!(config.rate_limits.per_subject.unwrap().to_string(), "10/s");
        assert_eq!(config.rate_limits.tools["a_x"].to_string(), "1/min");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn registry_and_trust_paths_are_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "capsule.toml",
            "[registry]\ninsecure = [\"registry.lan:5000\"]\nca = [\"certs/ca.pem\"]\n\
             [trust]\nkeys = [\"keys/cosign.pub\", \"/etc/capsule/other.pub\"]\n",
        );
        let config = HostConfig::load(&file).unwrap();
        assert_eq!(config.registry.insecure, ["registry.lan:5000"]);
        assert_eq!(config.registry.ca_files, [dir.path().join("certs/ca.pem")]);
        assert_eq!(
            config.trust.key_files,
            [
                dir.path().join("keys/cosign.pub"),
                PathBuf::from("/etc/capsule/other.pub")
            ]
        );
        assert!(
            !config.trust.allow_unsigned,
            "signatures are required by default"
        );
        let bad = write(dir.path(), "bad.toml", "[trust]\nallow_unsigend = true\n");
        let err = HostConfig::load(&bad).unwrap_err();
        assert!(err.to_string().contains("allow_unsigend"), "{err}");
    }

    #[test]
    fn registry_plugins_are_checked_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "capsule.toml",
            "[[plugin]]\nname = \"time\"\nsource = \"oci://127.0.0.1:5000/tools/time:1.2\"\n\
             policy = \"policies/time.toml\"\n\n[[plugin]]\nname = \"echo\"\n\
             source = \"oci://ghcr.io/acme/echo@sha256:{}\"\n",
        );
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace("{}", &"ab".repeat(32));
        std::fs::write(&file, text).unwrap();
        let config = HostConfig::load(&file).unwrap();
        assert_eq!(config.sources.len(), 2);
        assert_eq!(config.sources[0].name, "time");
        assert_eq!(config.sources[0].source.tag(), Some("1.2"));
        assert_eq!(
            config.sources[0].policy.as_deref(),
            Some(dir.path().join("policies/time.toml").as_path())
        );
        assert_eq!(config.sources[1].policy, None);
        for (text, line, why) in [
            (
                "[[plugin]]\nname = \"a\"\nsource = \"ghcr.io/x:1\"\n",
                3,
                "does not start with oci://",
            ),
            (
                "[[plugin]]\nname = \"a__b\"\nsource = \"oci://ghcr.io/x:1\"\n",
                2,
                "a__b",
            ),
            (
                "[[plugin]]\nname = \"a\"\nsource = \"oci://ghcr.io/x:1\"\n[[plugin]]\nname = \"a\"\nsource = \"oci://ghcr.io/y:1\"\n",
                5,
                "listed twice",
            ),
        ] {
            let bad = write(dir.path(), "bad.toml", text);
            let err = HostConfig::load(&bad).unwrap_err();
            assert_eq!(err.line, Some(line), "{err}");
            assert!(err.message.contains(why), "{err}");
        }
    }

    #[test]
    fn host_config_defaults_and_caps() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let config_file = write(
            dir,
            "capsule.toml",
            "[defaults]\nmemory = \"32MiB\"\nmax_sockets = 8\nmax_open_files = 50\n\
             [caps]\nmemory = \"128MiB\"\ntimeout = \"1m\"\nmax_open_files = 100\n",
        );
        let config = HostConfig::load(&config_file).unwrap();
        assert_eq!(config.limits.defaults.memory_bytes, 32 << 20);
        let p = Policy::load("p", &dir.join("absent.toml"), &[], &config.limits).unwrap();
        assert_eq!(p.limits.memory_bytes, 32 << 20);
        assert_eq!(p.limits.max_sockets, 8);
        let file = write(dir, "p.toml", "[limits]\nmax_open_files = 101\n");
        let err = Policy::load("p", &file, &[], &config.limits).unwrap_err();
        assert!(
            err.message
                .contains("max_open_files = 101 exceeds the cap of 100"),
            "{err}"
        );
        let file = write(dir, "p.toml", "[limits]\nmemory = \"1GiB\"\n");
        let err = Policy::load("p", &file, &[], &config.limits).unwrap_err();
        assert!(err.message.contains("exceeds the cap"), "{err}");
        let bad = write(
            dir,
            "bad.toml",
            "[defaults]\nmemory = \"1GiB\"\n[caps]\nmemory = \"1MiB\"\n",
        );
        assert!(
            HostConfig::load(&bad)
                .unwrap_err()
                .message
                .contains("[defaults]")
        );
    }
}
