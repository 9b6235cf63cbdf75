//! A connection to one registry (`oci-client`): protocol choice, CA roots, credentials,
//! timeouts, and the pull and push of Wasm artifacts with every byte checked.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt as _;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest as _, Sha256};

use crate::artifact::{self, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, WasmConfig};
use crate::error::RegistryError;
use crate::source::OciSource;

/// Media type of a cosign signature layer (a "simple signing" payload).
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

/// The OCI annotation that names a layer's file.
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

/// Largest manifest accepted (a Wasm artifact's is under 1 KiB).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// How Capsule reaches registries: which may speak plain HTTP, extra CA roots, limits.
#[derive(Clone, Debug)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) that may be reached over plain HTTP besides loopback ones
    /// (`[registry] insecure`).
    pub insecure: Vec<String>,
    /// PEM files of extra root certificates for HTTPS registries (`[registry] ca`).
    pub ca_files: Vec<PathBuf>,
    /// Largest component layer pulled, in bytes.
    pub max_component_bytes: u64,
    /// Deadline of one whole operation (pull, push, sign).
    pub timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            insecure: Vec::new(),
            ca_files: Vec::new(),
            max_component_bytes: 64 << 20,
            timeout: Duration::from_secs(300),
        }
    }
}

/// A pulled and checked Wasm artifact.
#[derive(Clone, Debug)]
pub struct Pulled {
    /// The source, pinned to the manifest digest that was pulled.
    pub source: OciSource,
    /// The manifest digest (`sha256:…`).
    pub digest: String,
    /// The manifest's bytes, as the registry sent them (their SHA-256 is `digest`).
    pub manifest: Vec<u8>,
    /// The component (the layer's bytes; their SHA-256 is `layer_digest`).
    pub component: Vec<u8>,
    /// The layer digest (`sha256:…`).
    pub layer_digest: String,
}

/// A connection to one registry, its protocol settled.
pub struct Registry {
    client: Client,
    protocol: ClientProtocol,
    /// The extra roots (PEM), read once.
    roots: Vec<Vec<u8>>,
    auth: RegistryAuth,
    registry: String,
    options: RegistryOptions,
}

/// A descriptor of a blob: media type, digest, size, nothing else.
fn descriptor(media_type: &str, digest: String, size: i64) -> OciDescriptor {
    OciDescriptor {
        media_type: media_type.to_string(),
        digest,
        size,
        urls: None,
        annotations: None,
        artifact_type: None,
    }
}

/// `sha256:` and the hex SHA-256 of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The PEM certificates of `options.ca_files`.
fn read_roots(options: &RegistryOptions) -> Result<Vec<Vec<u8>>, RegistryError> {
    let mut roots = Vec::new();
    for file in &options.ca_files {
        let data = std::fs::read(file).map_err(|e| RegistryError::Ca {
            file: file.display().to_string(),
            message: format!("cannot read it: {e}"),
        })?;
        if !data.starts_with(b"-----BEGIN")
            && !String::from_utf8_lossy(&data).contains("-----BEGIN CERTIFICATE")
        {
            return Err(RegistryError::Ca {
                file: file.display().to_string(),
                message: "not a PEM certificate".into(),
            });
        }
        roots.push(data);
    }
    Ok(roots)
}

fn client_config(roots: &[Vec<u8>], protocol: ClientProtocol) -> ClientConfig {
    ClientConfig {
        protocol,
        extra_root_certificates: roots
            .iter()
            .map(|data| Certificate {
                encoding: CertificateEncoding::Pem,
                data: data.clone(),
            })
            .collect(),
        connect_timeout: Some(Duration::from_secs(10)),
        read_timeout: Some(Duration::from_secs(60)),
        user_agent: concat!("capsule/", env!("CARGO_PKG_VERSION")),
        // Artifacts are one small layer: one request at a time keeps a registry's load low.
        max_concurrent_download: 1,
        max_concurrent_upload: 1,
        ..ClientConfig::default()
    }
}

/// Error text with its causes (`reqwest` hides the interesting part in `source()`).
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = e.source();
    }
    text
}

/// The digests of `oci-client`'s digest check failing inside a blob stream (an I/O error that
/// wraps a [`DigestError::VerificationError`](oci_client::errors::DigestError)).
fn digest_mismatch(error: &std::io::Error) -> Option<(String, String)> {
    match error
        .get_ref()?
        .downcast_ref::<oci_client::errors::DigestError>()?
    {
        oci_client::errors::DigestError::VerificationError { expected, actual } => {
            Some((expected.clone(), actual.clone()))
        }
        _ => None,
    }
}

/// A registry's error body in a line: the codes and messages of an OCI error envelope
/// (`{"errors": [{"code", "message"}]}`), else the text itself, trimmed.
fn error_body(body: &str) -> String {
    let envelope: Option<Vec<String>> = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errors")?
                .as_array()?
                .iter()
                .map(|e| {
                    let code = e.get("code")?.as_str()?;
                    let message = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
                    Some(format!("{code}: {message}"))
                })
                .collect()
        });
    match envelope {
        Some(errors) if !errors.is_empty() => errors.join("; "),
        _ => body.trim().to_string(),
    }
}

/// Whether a transport error is a TLS handshake that failed with a server that does speak TLS
/// (a certificate not trusted or not valid for the name, an alert, no common protocol). A server
/// that answers in plain HTTP fails the handshake with [`rustls::Error::InvalidMessage`] instead.
fn tls_handshake_failed(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return !matches!(tls, rustls::Error::InvalidMessage(_));
        }
        // `io::Error::source` skips the error it wraps (rustls's, inside one or two of them).
        cause = match e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

impl Registry {
    /// Connect to `source`'s registry with `auth`. HTTPS first; when that fails at the transport
    /// level and the registry is on loopback or in `options.insecure`, plain HTTP (as Docker
    /// treats insecure registries). A transport failure elsewhere is an error: Capsule never
    /// falls back to plain HTTP for a remote registry that was not listed.
    ///
    /// # Errors
    /// [`RegistryError::Ca`] for unusable CA files, [`RegistryError::Unreachable`] when neither
    /// protocol connects.
    pub async fn connect(
        source: &OciSource,
        auth: RegistryAuth,
        options: &RegistryOptions,
    ) -> Result<Self, RegistryError> {
        let registry = source.registry().to_string();
        let plain_allowed = source.is_loopback() || options.insecure.contains(&registry);
        let https = Self::with_protocol(&registry, auth.clone(), options, ClientProtocol::Https)?;
        let https_error = match https.probe(source).await {
            Ok(()) => return Ok(https),
            Err(e) => e,
        };
        // A server that speaks TLS but whose handshake failed (a certificate not trusted, say)
        // is not a plain-HTTP registry: trying plain HTTP would only bury the real error under
        // the TLS server's "400: HTTP request to an HTTPS server".
        if !plain_allowed || matches!(https_error, RegistryError::Tls { .. }) {
            return Err(https_error);
        }
        let http = Self::with_protocol(
            &registry,
            auth,
            options,
            ClientProtocol::HttpsExcept(vec![registry.clone()]),
        )?;
        match http.probe(source).await {
            Ok(()) => {
                tracing::debug!(registry, "registry reached over plain HTTP");
                Ok(http)
            }
            Err(http_error) => Err(RegistryError::Unreachable {
                registry,
                detail: format!(
                    "over HTTPS: {}; over plain HTTP: {}",
                    https_error.detail(),
                    http_error.detail()
                ),
            }),
        }
    }

    fn with_protocol(
        registry: &str,
        auth: RegistryAuth,
        options: &RegistryOptions,
        protocol: ClientProtocol,
    ) -> Result<Self, RegistryError> {
        let roots = read_roots(options)?;
        Ok(Self {
            client: Client::new(client_config(&roots, protocol.clone())),
            protocol,
            roots,
            auth,
            registry: registry.to_string(),
            options: options.clone(),
        })
    }

    /// One request that tells whether the transport works: any HTTP answer does (even 404).
    async fn probe(&self, source: &OciSource) -> Result<(), RegistryError> {
        match self
            .client
            .fetch_manifest_digest(source.reference(), &self.auth)
            .await
        {
            Err(OciDistributionError::RequestError(e)) if tls_handshake_failed(&e) => {
                Err(RegistryError::Tls {
                    registry: self.registry.clone(),
                    detail: chain(&e),
                })
            }
            Err(OciDistributionError::RequestError(e)) => Err(RegistryError::Unreachable {
                registry: self.registry.clone(),
                detail: chain(&e),
            }),
            _ => Ok(()),
        }
    }

    /// The protocol settled by [`Self::connect`], for Sigstore's client.
    pub fn protocol(&self) -> &ClientProtocol {
        &self.protocol
    }

    /// The extra root certificates (PEM), for Sigstore's client.
    pub fn roots(&self) -> &[Vec<u8>] {
        &self.roots
    }

    /// The credentials in use.
    pub fn auth(&self) -> &RegistryAuth {
        &self.auth
    }

    /// The options this registry was reached with.
    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// Run `work` within the operation deadline.
    pub async fn deadline<T>(
        &self,
        work: impl Future<Output = Result<T, RegistryError>>,
    ) -> Result<T, RegistryError> {
        tokio::time::timeout(self.options.timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(RegistryError::Timeout {
                    registry: self.registry.clone(),
                    seconds: self.options.timeout.as_secs(),
                })
            })
    }

    /// Turn an `oci-client` error into what the operator needs to know.
    pub fn explain(&self, source: &OciSource, error: OciDistributionError) -> RegistryError {
        use OciDistributionError as E;
        let registry = self.registry.clone();
        match error {
            E::RequestError(e) => RegistryError::Unreachable {
                registry,
                detail: chain(&e),
            },
            E::AuthenticationFailure(detail) => RegistryError::Auth {
                registry,
                detail: error_body(&detail),
            },
            E::UnauthorizedError { url } => RegistryError::Auth {
                registry,
                detail: format!("401 Unauthorized for {url}"),
            },
            E::ImageManifestNotFoundError(_) => RegistryError::NotFound {
                artifact: source.to_string(),
            },
            E::RegistryError { envelope, .. } => {
                let codes: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|e| format!("{:?}: {}", e.code, e.message))
                    .collect();
                let detail = codes.join("; ");
                if envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        oci_client::errors::OciErrorCode::ManifestUnknown
                            | oci_client::errors::OciErrorCode::NameUnknown
                            | oci_client::errors::OciErrorCode::NotFound
                    )
                }) {
                    RegistryError::NotFound {
                        artifact: source.to_string(),
                    }
                } else if envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        oci_client::errors::OciErrorCode::Unauthorized
                            | oci_client::errors::OciErrorCode::Denied
                    )
                }) {
                    RegistryError::Auth { registry, detail }
                } else {
                    RegistryError::Registry { registry, detail }
                }
            }
            E::ServerError {
                code: 401 | 403,
                message,
                ..
            } => RegistryError::Auth {
                registry,
                detail: error_body(&message),
            },
            E::ServerError { code: 404, .. } => RegistryError::NotFound {
                artifact: source.to_string(),
            },
            other => RegistryError::Registry {
                registry,
                detail: chain(&other),
            },
        }
    }

    /// The manifest digest `source` names now (a tag resolved; a digest checked to exist).
    ///
    /// # Errors
    /// As [`Self::explain`].
    pub async fn resolve(&self, source: &OciSource) -> Result<String, RegistryError> {
        self.deadline(async {
            let (manifest, digest) = self.fetch_manifest(source).await?;
            drop(manifest);
            Ok(digest)
        })
        .await
    }

    /// The manifest's bytes and digest, checked: by digest when the source has one, and always
    /// against the bytes' own SHA-256.
    async fn fetch_manifest(&self, source: &OciSource) -> Result<(Vec<u8>, String), RegistryError> {
        let accepted = [
            OCI_IMAGE_MEDIA_TYPE,
            oci_client::manifest::IMAGE_MANIFEST_MEDIA_TYPE,
            oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE,
        ];
        // oci-client reads the whole body before it returns: the cap is checked after the fact
        // (the operation deadline bounds a registry that streams without end).
        let (bytes, _) = self
            .client
            .pull_manifest_raw(source.reference(), &self.auth, &accepted)
            .await
            .map_err(|e| match e {
                // oci-client checks the bytes against the digest asked for (or the registry's
                // Docker-Content-Digest header).
                OciDistributionError::DigestError(
                    oci_client::errors::DigestError::VerificationError { expected, actual },
                ) => RegistryError::DigestMismatch {
                    what: "manifest",
                    artifact: source.to_string(),
                    expected,
                    actual,
                },
                e => self.explain(source, e),
            })?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(RegistryError::TooLarge {
                what: "the manifest",
                artifact: source.to_string(),
                size: bytes.len() as u64,
                max: MAX_MANIFEST_BYTES,
                hint: "",
            });
        }
        let actual = sha256_digest(&bytes);
        if let Some(expected) = source.digest()
            && expected != actual
        {
            return Err(RegistryError::DigestMismatch {
                what: "manifest",
                artifact: source.to_string(),
                expected: expected.to_string(),
                actual,
            });
        }
        Ok((bytes.to_vec(), actual))
    }

    /// Pull `source`: its manifest (digest checked), then its one component layer (size capped
    /// before and while it downloads, digest checked, component header checked). Nothing is
    /// compiled or written here.
    ///
    /// # Errors
    /// [`RegistryError`]: unreachable, auth, not found, digest mismatch, not a component, too
    /// large, timeout.
    pub async fn pull(&self, source: &OciSource) -> Result<Pulled, RegistryError> {
        self.deadline(async {
            let (manifest, digest) = self.fetch_manifest(source).await?;
            let pinned = source.pinned(&digest);
            let not_component = |why| RegistryError::NotAComponent {
                artifact: pinned.to_string(),
                why,
            };
            let layer = artifact::component_layer(&manifest).map_err(not_component)?;
            let component = self.pull_layer(&pinned, &layer).await?;
            artifact::check_component(&component).map_err(not_component)?;
            Ok(Pulled {
                source: pinned,
                digest,
                manifest,
                component,
                layer_digest: layer.digest,
            })
        })
        .await
    }

    async fn pull_layer(
        &self,
        source: &OciSource,
        layer: &OciDescriptor,
    ) -> Result<Vec<u8>, RegistryError> {
        let max = self.options.max_component_bytes;
        let too_large = |size: u64| RegistryError::TooLarge {
            what: "the component layer",
            artifact: source.to_string(),
            size,
            max,
            hint: " (raise it with --max-component-size or [defaults] max_component_size)",
        };
        let announced = u64::try_from(layer.size).unwrap_or(u64::MAX);
        if announced > max {
            return Err(too_large(announced));
        }
        let mut stream = self
            .client
            .pull_blob_stream(source.reference(), layer)
            .await
            .map_err(|e| self.explain(source, e))?;
        let mut bytes = Vec::with_capacity(announced as usize);
        while let Some(chunk) = stream.stream.next().await {
            // oci-client checks the digest as the stream ends: a mismatch is its error then.
            let chunk = chunk.map_err(|e| match digest_mismatch(&e) {
                Some((expected, actual)) => RegistryError::DigestMismatch {
                    what: "component layer",
                    artifact: source.to_string(),
                    expected,
                    actual,
                },
                None => RegistryError::Unreachable {
                    registry: self.registry.clone(),
                    detail: chain(&e),
                },
            })?;
            let received = (bytes.len() + chunk.len()) as u64;
            if received > max {
                return Err(too_large(received));
            }
            // More bytes than the manifest gives as the layer's size cannot be its bytes.
            if received > announced {
                return Err(RegistryError::SizeMismatch {
                    what: "component layer",
                    artifact: source.to_string(),
                    expected: announced,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let actual = sha256_digest(&bytes);
        if actual != layer.digest {
            return Err(RegistryError::DigestMismatch {
                what: "component layer",
                artifact: source.to_string(),
                expected: layer.digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Push `manifest` (an OCI image manifest) to `target`'s tag; returns its digest, the
    /// SHA-256 of exactly the bytes sent.
    async fn push_manifest(
        &self,
        target: &OciSource,
        manifest: &OciImageManifest,
    ) -> Result<String, RegistryError> {
        let body = serde_json::to_vec(manifest).expect("an image manifest serializes");
        let digest = sha256_digest(&body);
        self.client
            .push_manifest_raw(
                target.reference(),
                body,
                http::HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE),
            )
            .await
            .map_err(|e| self.explain(target, e))?;
        Ok(digest)
    }

    /// Add a cosign signature to the signature manifest under `tag` (`sha256-<hex>.sig`) of
    /// `source`'s repository, keeping the signatures already there (other signers'): cosign's
    /// layout, an image manifest with an empty JSON config and one
    /// [`SIMPLE_SIGNING_MEDIA_TYPE`] layer per signature, each with its `annotations`
    /// (`dev.cosignproject.cosign/signature`, ...). The earlier layers are kept byte for byte.
    ///
    /// # Errors
    /// Registry errors as for [`Self::push`].
    pub async fn append_signature(
        &self,
        source: &OciSource,
        tag: &str,
        payload: Vec<u8>,
        annotations: std::collections::BTreeMap<String, String>,
    ) -> Result<(), RegistryError> {
        let target = source.with_tag(tag);
        self.deadline(async {
            let reference = target.reference();
            self.client
                .auth(reference, &self.auth, oci_client::RegistryOperation::Push)
                .await
                .map_err(|e| self.explain(&target, e))?;
            let mut layers = match self.fetch_manifest(&target).await {
                Ok((bytes, _)) => serde_json::from_slice::<OciImageManifest>(&bytes)
                    .map(|m| m.layers)
                    .unwrap_or_default(),
                Err(RegistryError::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(e),
            };
            layers.retain(|l| l.media_type == SIMPLE_SIGNING_MEDIA_TYPE);
            let payload_digest = sha256_digest(&payload);
            layers.push(OciDescriptor {
                annotations: Some(annotations),
                ..descriptor(
                    SIMPLE_SIGNING_MEDIA_TYPE,
                    payload_digest.clone(),
                    payload.len() as i64,
                )
            });
            let config = b"{}".to_vec();
            let config_digest = sha256_digest(&config);
            let config_size = config.len() as i64;
            for (blob, digest) in [(payload, &payload_digest), (config, &config_digest)] {
                self.client
                    .push_blob(reference, blob, digest)
                    .await
                    .map_err(|e| self.explain(&target, e))?;
            }
            let manifest = OciImageManifest {
                schema_version: 2,
                media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_string()),
                config: descriptor(
                    oci_client::manifest::IMAGE_CONFIG_MEDIA_TYPE,
                    config_digest,
                    config_size,
                ),
                layers,
                subject: None,
                artifact_type: None,
                annotations: None,
            };
            self.push_manifest(&target, &manifest).await.map(drop)
        })
        .await
    }

    /// Push `component` to `source` (its tag) in the Wasm artifact layout: the layer, a
    /// [`WasmConfig`], then the manifest. Returns the manifest digest.
    ///
    /// # Errors
    /// [`RegistryError::NotAComponent`] when the bytes are not a component (checked before
    /// anything is sent); registry errors as for [`Self::pull`].
    /// `title` names the layer (`org.opencontainers.image.title`: the file name `oras pull`
    /// writes it to).
    pub async fn push(
        &self,
        source: &OciSource,
        component: Vec<u8>,
        title: Option<&str>,
    ) -> Result<String, RegistryError> {
        artifact::check_component(&component).map_err(|why| RegistryError::NotAComponent {
            artifact: source.to_string(),
            why,
        })?;
        self.deadline(async {
            let reference: &Reference = source.reference();
            self.client
                .auth(reference, &self.auth, oci_client::RegistryOperation::Push)
                .await
                .map_err(|e| self.explain(source, e))?;
            let layer_digest = sha256_digest(&component);
            let layer_size = component.len() as i64;
            let config = serde_json::to_vec(&WasmConfig {
                architecture: "wasm",
                os: "wasip2",
                layer_digests: vec![layer_digest.clone()],
            })
            .expect("the config serializes");
            let config_digest = sha256_digest(&config);
            let config_size = config.len() as i64;
            self.client
                .push_blob(reference, component, &layer_digest)
                .await
                .map_err(|e| self.explain(source, e))?;
            self.client
                .push_blob(reference, config, &config_digest)
                .await
                .map_err(|e| self.explain(source, e))?;
            let manifest = OciImageManifest {
                schema_version: 2,
                media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_string()),
                config: descriptor(WASM_CONFIG_MEDIA_TYPE, config_digest, config_size),
                layers: vec![OciDescriptor {
                    annotations: title.map(|t| {
                        [(TITLE_ANNOTATION.to_string(), t.to_string())]
                            .into_iter()
                            .collect()
                    }),
                    ..descriptor(WASM_LAYER_MEDIA_TYPE, layer_digest, layer_size)
                }],
                subject: None,
                artifact_type: None,
                annotations: None,
            };
            self.push_manifest(source, &manifest).await
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_read_in_one_line() {
        let body = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\",\
                    \"detail\":[{\"Type\":\"repository\"}]}]}\n";
        assert_eq!(error_body(body), "UNAUTHORIZED: authentication required");
        assert_eq!(error_body(" denied \n"), "denied");
        assert_eq!(error_body("{\"errors\": []}"), "{\"errors\": []}");
    }

    #[test]
    fn a_failed_handshake_is_told_from_a_plain_http_server() {
        // As hyper-util and tokio-rustls nest them: io::Error(Other, io::Error(InvalidData, rustls)).
        let nested = |tls: rustls::Error| {
            std::io::Error::other(std::io::Error::new(std::io::ErrorKind::InvalidData, tls))
        };
        let untrusted = nested(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer,
        ));
        assert!(tls_handshake_failed(&untrusted));
        let plain_http = nested(rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType,
        ));
        assert!(!tls_handshake_failed(&plain_http));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(!tls_handshake_failed(&refused));
    }
}
