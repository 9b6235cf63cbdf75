//! Cosign-compatible signatures, verified in-process with Sigstore's library before a pulled
//! component is handed on (and so before anything compiles it).
//!
//! A signature is cosign's: a "simple signing" payload naming the manifest digest, signed with
//! ECDSA P-256 (or any key type cosign makes), stored in the same repository under the tag
//! `sha256-<hex>.sig` (or as a Sigstore bundle referrer, which Sigstore's client also reads).
//! Key pairs are cosign's files (`cosign.key`, encrypted with the password in `COSIGN_PASSWORD`;
//! `cosign.pub`), so `cosign sign --key` / `cosign verify --key` and Capsule interoperate.
//!
//! Verification accepts a signature only when (1) it verifies under one of the trusted keys and
//! (2) its payload names exactly the manifest digest that was pulled (checked here again, not
//! only by the library: the registry that served the bytes is not trusted to say which
//! signatures belong to them).

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use sigstore::cosign::verification_constraint::{PublicKeyVerifier, VerificationConstraint as _};
use sigstore::cosign::{ClientBuilder, Constraint as _, CosignCapabilities as _, SignatureLayer};
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::signing_key::ecdsa::ECDSAKeys;
use sigstore::crypto::{CosignVerificationKey, SigningScheme};
use sigstore::registry::{Auth, OciReference};
use zeroize::Zeroizing;

use crate::client::Registry;
use crate::error::RegistryError;
use crate::keyless::{self, KeylessRoot, TrustedIdentity};
use crate::source::OciSource;

/// The layer annotation that holds a cosign signature (base64).
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// The environment variable that holds a private key's password (cosign's name for it).
pub const PASSWORD_ENV: &str = "COSIGN_PASSWORD";

/// A public key signatures are checked with.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    /// Where it came from (the file), to name it in messages.
    pub name: String,
    /// `sha256:` of the key's DER SubjectPublicKeyInfo: the signer identity recorded for it.
    pub fingerprint: String,
    pem: Vec<u8>,
}

impl TrustedKey {
    /// Read a PEM public key (`cosign.pub`: ECDSA P-256/P-384, RSA or Ed25519).
    ///
    /// # Errors
    /// [`RegistryError::Key`] when the file cannot be read or holds no usable public key.
    pub fn load(file: &Path) -> Result<Self, RegistryError> {
        let error = |message: String| RegistryError::Key {
            file: file.display().to_string(),
            message,
        };
        let pem = std::fs::read(file).map_err(|e| error(format!("cannot read it: {e}")))?;
        Self::from_pem(&file.display().to_string(), &pem).map_err(|e| error(e.to_string()))
    }

    /// A key from PEM text, named `name`.
    ///
    /// # Errors
    /// The text is not a PEM public key of a supported type.
    pub fn from_pem(name: &str, pem: &[u8]) -> Result<Self, sigstore::errors::SigstoreError> {
        CosignVerificationKey::try_from_pem(pem)?;
        Ok(Self {
            name: name.to_string(),
            fingerprint: format!("sha256:{}", hex::encode(Sha256::digest(pem_body(pem)))),
            pem: pem.to_vec(),
        })
    }
}

/// The DER bytes inside PEM text (the base64 between its BEGIN and END lines), so that a key's
/// fingerprint does not depend on line endings or comments around it; the text itself if it
/// holds none.
fn pem_body(pem: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(pem);
    let body: String = text
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap_or_else(|_| pem.to_vec())
}

/// What signatures a registry plugin needs (`[trust]`).
#[derive(Clone, Debug, Default)]
pub struct TrustPolicy {
    /// Signatures by any of these keys are accepted.
    pub keys: Vec<TrustedKey>,
    /// Keyless signatures by any of these identities are accepted (with [`Self::root`]).
    pub identities: Vec<TrustedIdentity>,
    /// The Sigstore trusted root keyless signatures are checked against.
    pub root: Option<KeylessRoot>,
    /// Accept artifacts without a valid signature (with a warning). Off by default.
    pub allow_unsigned: bool,
}

impl TrustPolicy {
    /// Load `files` as trusted keys.
    ///
    /// # Errors
    /// The first key file that cannot be used.
    pub fn with_key_files(files: &[PathBuf], allow_unsigned: bool) -> Result<Self, RegistryError> {
        let keys = files
            .iter()
            .map(|f| TrustedKey::load(f))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            keys,
            allow_unsigned,
            ..Self::default()
        })
    }

    /// Also trust keyless signatures by `identities`, checked against the trusted root in
    /// `root_file` (a Sigstore `TrustedRoot` JSON).
    ///
    /// # Errors
    /// Identities without a trusted root, or a root file that cannot be used.
    pub fn with_keyless(
        mut self,
        identities: Vec<TrustedIdentity>,
        root_file: Option<&Path>,
    ) -> Result<Self, RegistryError> {
        self.root = root_file.map(KeylessRoot::load).transpose()?;
        if !identities.is_empty() && self.root.is_none() {
            return Err(RegistryError::Key {
                file: "[trust] identities".into(),
                message: "keyless identities need a Sigstore trusted root: set [trust] \
                          trusted_root = \"trusted_root.json\" (or --trusted-root FILE)"
                    .into(),
            });
        }
        self.identities = identities;
        Ok(self)
    }
}

/// Who signed a verified artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signer {
    /// A trusted key: its file and fingerprint.
    Key {
        /// The key's file.
        name: String,
        /// `sha256:` of its public key.
        fingerprint: String,
    },
    /// A keyless signature (Fulcio certificate, Rekor entry) by a trusted identity.
    Identity(TrustedIdentity),
    /// Nobody trusted: accepted only because unsigned plugins are allowed.
    Unsigned,
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key { fingerprint, .. } => write!(f, "key {fingerprint}"),
            Self::Identity(identity) => write!(f, "identity {identity}"),
            Self::Unsigned => f.write_str("unsigned"),
        }
    }
}

fn sigstore_auth(registry: &Registry) -> Auth {
    registry.auth().into()
}

fn cosign_client(
    registry: &Registry,
    root: Option<&KeylessRoot>,
) -> Result<sigstore::cosign::Client, sigstore::errors::SigstoreError> {
    use oci_client::client::ClientProtocol as P;
    use sigstore::registry::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
    let config = ClientConfig {
        protocol: match registry.protocol() {
            P::Http => ClientProtocol::Http,
            P::Https => ClientProtocol::Https,
            P::HttpsExcept(list) => ClientProtocol::HttpsExcept(list.clone()),
        },
        extra_root_certificates: registry
            .roots()
            .iter()
            .map(|data| Certificate {
                encoding: CertificateEncoding::Pem,
                data: data.clone(),
            })
            .collect(),
        ..ClientConfig::default()
    };
    let builder = ClientBuilder::default().with_oci_client_config(config);
    match root.map(KeylessRoot::trust_root) {
        Some(trust) => builder.with_trust_repository(&trust)?.build(),
        None => builder.build(),
    }
}

fn oci_reference(source: &OciSource, digest: &str) -> OciReference {
    OciReference::with_digest(
        source.registry().to_string(),
        source.repository().to_string(),
        digest.to_string(),
    )
}

/// Check the signatures of the manifest `digest` of `source` against `policy`.
///
/// # Errors
/// [`RegistryError::NoTrustedKeys`] (no keys and unsigned not allowed),
/// [`RegistryError::Unsigned`] (no signature for this digest),
/// [`RegistryError::Untrusted`] (signatures, none by a trusted key), registry errors.
pub async fn verify(
    registry: &Registry,
    source: &OciSource,
    digest: &str,
    policy: &TrustPolicy,
) -> Result<Signer, RegistryError> {
    let pinned = source.pinned(digest).to_string();
    if policy.keys.is_empty() && policy.identities.is_empty() && !policy.allow_unsigned {
        return Err(RegistryError::NoTrustedKeys);
    }
    let layers = registry
        .deadline(async {
            let mut client = cosign_client(registry, policy.root.as_ref()).map_err(|e| {
                RegistryError::Signature {
                    artifact: pinned.clone(),
                    detail: e.to_string(),
                }
            })?;
            client
                .trusted_signature_layers(&sigstore_auth(registry), &oci_reference(source, digest))
                .await
                .map_err(|e| RegistryError::Signature {
                    artifact: pinned.clone(),
                    detail: e.to_string(),
                })
        })
        .await?;
    // Only signatures over this exact digest count, whatever the registry filed them under.
    let layers: Vec<&SignatureLayer> = layers
        .iter()
        .filter(|l| l.simple_signing.critical.image.docker_manifest_digest == digest)
        .collect();
    for key in &policy.keys {
        let verifier = PublicKeyVerifier::try_from(&key.pem).map_err(|e| RegistryError::Key {
            file: key.name.clone(),
            message: e.to_string(),
        })?;
        if layers.iter().any(|l| verifier.verify(l).unwrap_or(false)) {
            return Ok(Signer::Key {
                name: key.name.clone(),
                fingerprint: key.fingerprint.clone(),
            });
        }
    }
    for layer in &layers {
        if let Some(identity) = keyless::signer(layer, &policy.identities) {
            return Ok(Signer::Identity(identity.clone()));
        }
    }
    let refusal = if layers.is_empty() {
        RegistryError::Unsigned { artifact: pinned }
    } else {
        RegistryError::Untrusted {
            artifact: pinned,
            signatures: layers.len(),
            keys: policy
                .keys
                .iter()
                .map(|k| k.name.clone())
                .chain(policy.identities.iter().map(|i| i.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        }
    };
    if policy.allow_unsigned {
        let why = match &refusal {
            RegistryError::Unsigned { .. } => "it has no signature".to_string(),
            _ => "no signature on it is by a trusted key".to_string(),
        };
        tracing::warn!(
            "UNSIGNED plugin accepted because unsigned plugins are allowed ([trust] \
             allow_unsigned / --allow-unsigned): {}: {why}",
            source.pinned(digest)
        );
        return Ok(Signer::Unsigned);
    }
    Err(refusal)
}

/// A new ECDSA P-256 key pair as cosign writes it: the private key encrypted with `password`
/// (PEM `ENCRYPTED SIGSTORE PRIVATE KEY`) and the public key (PEM `PUBLIC KEY`).
///
/// # Errors
/// Key generation or encryption failed.
pub fn generate_key_pair(password: &[u8]) -> Result<(Zeroizing<String>, String), RegistryError> {
    let error = |e: sigstore::errors::SigstoreError| RegistryError::Key {
        file: "(new key pair)".into(),
        message: e.to_string(),
    };
    let pair = SigningScheme::ECDSA_P256_SHA256_ASN1
        .create_signer()
        .and_then(|signer| signer.to_sigstore_keypair())
        .map_err(error)?;
    let private = pair.private_key_to_encrypted_pem(password).map_err(error)?;
    let public = pair.public_key_to_pem().map_err(error)?;
    Ok((private, public))
}

/// Sign the manifest `digest` of `source` with the cosign private key `key_pem` (encrypted
/// with `password`; an unencrypted PEM key when the password is empty), and add the signature
/// to `sha256-<hex>.sig` in the same repository (signatures already there are kept, as cosign
/// keeps them).
///
/// # Errors
/// [`RegistryError::Key`] for a key that cannot be decrypted or used, registry errors.
pub async fn sign(
    registry: &Registry,
    source: &OciSource,
    digest: &str,
    key_file: &Path,
    password: &[u8],
) -> Result<(), RegistryError> {
    let key_error = |message: String| RegistryError::Key {
        file: key_file.display().to_string(),
        message,
    };
    let pem = Zeroizing::new(
        std::fs::read(key_file).map_err(|e| key_error(format!("cannot read it: {e}")))?,
    );
    let pair = if password.is_empty() && !pem.windows(9).any(|w| w == b"ENCRYPTED") {
        SigStoreKeyPair::from_pem(&pem)
    } else {
        SigStoreKeyPair::from_encrypted_pem(&pem, password)
    }
    .map_err(|e| key_error(format!("{e} (is {PASSWORD_ENV} the key's password?)")))?;
    let signer = pair
        .to_sigstore_signer(&scheme_of(&pair))
        .map_err(|e| key_error(e.to_string()))?;
    let pinned = source.pinned(digest).to_string();
    let signature_error = |e: sigstore::errors::SigstoreError| RegistryError::Signature {
        artifact: pinned.clone(),
        detail: e.to_string(),
    };
    let identity = OciReference::with_tag(
        source.registry().to_string(),
        source.repository().to_string(),
        source.tag().unwrap_or("latest").to_string(),
    );
    let mut layer = SignatureLayer::new_unsigned(&identity, digest).map_err(signature_error)?;
    // The docker-reference cosign writes: the repository, without tag or digest.
    layer.simple_signing.critical.identity.docker_reference =
        format!("{}/{}", source.registry(), source.repository());
    let signed = sigstore::cosign::constraint::PrivateKeySigner::new_with_signer(signer)
        .add_constraint(&mut layer)
        .map_err(signature_error)?;
    if !signed {
        return Err(RegistryError::Signature {
            artifact: pinned,
            detail: "the signature layer was not signed".into(),
        });
    }
    let signature = layer.signature.clone().unwrap_or_default();
    let annotations = [(SIGNATURE_ANNOTATION.to_string(), signature)].into();
    let tag = format!("{}.sig", digest.replace(':', "-"));
    registry
        .append_signature(source, &tag, layer.raw_data, annotations)
        .await
}

/// The signing scheme of a key pair (cosign's default for each key type).
fn scheme_of(pair: &SigStoreKeyPair) -> SigningScheme {
    match pair {
        SigStoreKeyPair::ECDSA(ECDSAKeys::P256(_)) => SigningScheme::ECDSA_P256_SHA256_ASN1,
        SigStoreKeyPair::ECDSA(ECDSAKeys::P384(_)) => SigningScheme::ECDSA_P384_SHA384_ASN1,
        SigStoreKeyPair::ECDSA(ECDSAKeys::P521(_)) => SigningScheme::ECDSA_P521_SHA512_ASN1,
        SigStoreKeyPair::ED25519(_) => SigningScheme::ED25519,
        // The key size only matters when generating; cosign signs RSA keys with PKCS#1 v1.5.
        SigStoreKeyPair::RSA(_) => SigningScheme::RSA_PKCS1_SHA256(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_pair_loads_back_and_fingerprints_are_stable() {
        let (private, public) = generate_key_pair(b"pw").unwrap();
        assert!(
            private.contains("ENCRYPTED SIGSTORE PRIVATE KEY"),
            "{}",
            &private[..40]
        );
        let a = TrustedKey::from_pem("a", public.as_bytes()).unwrap();
        let b = TrustedKey::from_pem("b", public.as_bytes()).unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert!(a.fingerprint.starts_with("sha256:") && a.fingerprint.len() == 71);
        let pair = SigStoreKeyPair::from_encrypted_pem(private.as_bytes(), b"pw").unwrap();
        assert_eq!(pair.public_key_to_pem().unwrap(), public);
        assert!(SigStoreKeyPair::from_encrypted_pem(private.as_bytes(), b"wrong").is_err());
        assert!(TrustedKey::from_pem("x", b"not a key").is_err());
    }
}
