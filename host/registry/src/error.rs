//! What can go wrong between Capsule and a registry, each case named so that the log and
//! `capsule plugins` say what to fix.

use crate::artifact::NotAComponent;
use crate::credentials::CredentialsError;

/// A registry operation that failed, with the source and the reason.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The credentials file could not be used.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// A CA certificate file could not be read or parsed.
    #[error("CA certificate '{file}': {message}")]
    Ca {
        /// The file given.
        file: String,
        /// Why it is unusable.
        message: String,
    },
    /// No connection (refused, DNS, TLS handshake, timeout).
    #[error("registry {registry} is unreachable: {detail}")]
    Unreachable {
        /// `host[:port]`.
        registry: String,
        /// The transport error, with its causes.
        detail: String,
    },
    /// The registry speaks TLS, and the handshake failed (most often: its certificate is issued
    /// by a CA that is not trusted).
    #[error(
        "registry {registry}: the TLS handshake failed ({detail}); if its certificate is issued by \
         a private CA, trust that CA with --ca-file or [registry] ca in capsule.toml"
    )]
    Tls {
        /// `host[:port]`.
        registry: String,
        /// The transport error, with its causes.
        detail: String,
    },
    /// The registry refused the credentials (or asked for some and none were found).
    #[error(
        "registry {registry} refused access ({detail}); put credentials in REGISTRY_AUTH_FILE or \
         ~/.docker/config.json (e.g. with `oras login {registry}`)"
    )]
    Auth {
        /// `host[:port]`.
        registry: String,
        /// What the registry said.
        detail: String,
    },
    /// No manifest under that tag or digest.
    #[error("{artifact} was not found in the registry")]
    NotFound {
        /// The source asked for.
        artifact: String,
    },
    /// Bytes whose SHA-256 is not the digest that names them.
    #[error("{what} of {artifact}: digest mismatch (expected {expected}, got {actual})")]
    DigestMismatch {
        /// Which bytes (`manifest`, `component layer`).
        what: &'static str,
        /// The source.
        artifact: String,
        /// The digest that names them.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// The registry sent more bytes than the manifest gives as the blob's size.
    #[error(
        "{what} of {artifact}: the registry sent more than the {expected} bytes the manifest gives \
         as its size"
    )]
    SizeMismatch {
        /// Which bytes (`component layer`).
        what: &'static str,
        /// The source.
        artifact: String,
        /// The size in the manifest.
        expected: u64,
    },
    /// The artifact is not a Wasm component in the CNCF layout.
    #[error("{artifact} is not a Wasm component artifact: {why}")]
    NotAComponent {
        /// The source.
        artifact: String,
        /// What it is instead.
        why: NotAComponent,
    },
    /// A manifest, config or layer over its cap.
    #[error("{what} of {artifact} is {size} bytes, over the cap of {max} bytes{hint}")]
    TooLarge {
        /// Which blob.
        what: &'static str,
        /// The source.
        artifact: String,
        /// Its (announced or received) size.
        size: u64,
        /// The cap.
        max: u64,
        /// How to raise the cap, if it can be.
        hint: &'static str,
    },
    /// The operation took longer than its deadline.
    #[error("registry {registry} did not finish within {seconds} s")]
    Timeout {
        /// `host[:port]`.
        registry: String,
        /// The deadline.
        seconds: u64,
    },
    /// Any other answer of the registry.
    #[error("registry {registry}: {detail}")]
    Registry {
        /// `host[:port]`.
        registry: String,
        /// What it said.
        detail: String,
    },
    /// No signature for this exact manifest digest, and unsigned artifacts are not allowed.
    #[error(
        "{artifact} is not signed (no cosign signature for its digest; a keyless one counts only \
         with a Rekor entry from a log of the trusted root); sign it with `capsule sign`, or set \
         [trust] allow_unsigned = true (or --allow-unsigned) to accept unsigned plugins"
    )]
    Unsigned {
        /// The digest-pinned source.
        artifact: String,
    },
    /// Signatures exist for the digest, none made by a trusted key.
    #[error(
        "{artifact} has {signatures} signature(s), none verified by a trusted key ({keys}); \
         the artifact may be signed by someone else or tampered with"
    )]
    Untrusted {
        /// The digest-pinned source.
        artifact: String,
        /// How many signatures were found.
        signatures: usize,
        /// The trusted keys and identities, by name.
        keys: String,
    },
    /// Verification is required and no key is configured.
    #[error(
        "no trusted keys or identities: signatures are required for registry plugins; add [trust] \
         keys = [\"cosign.pub\"] (or --key FILE) or keyless identities ([trust] identities with \
         trusted_root) to capsule.toml, or allow unsigned plugins explicitly"
    )]
    NoTrustedKeys,
    /// A key file that cannot be used.
    #[error("key '{file}': {message}")]
    Key {
        /// The key file.
        file: String,
        /// Why it is unusable.
        message: String,
    },
    /// Signing or signature verification failed inside Sigstore's library.
    #[error("signature of {artifact}: {detail}")]
    Signature {
        /// The source.
        artifact: String,
        /// What failed.
        detail: String,
    },
}

impl RegistryError {
    /// What went wrong, without the registry's name in front when the variant has a detail of
    /// its own (to combine several attempts into one message).
    pub fn detail(&self) -> String {
        match self {
            Self::Unreachable { detail, .. }
            | Self::Tls { detail, .. }
            | Self::Registry { detail, .. } => detail.clone(),
            other => other.to_string(),
        }
    }
}
