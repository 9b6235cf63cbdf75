//! Keyless (Sigstore) signatures: a short-lived Fulcio certificate names who signed (an OIDC
//! identity and its issuer), and a Rekor entry proves when. Checked against a configured
//! trusted root — the Sigstore `TrustedRoot` JSON (`dev.sigstore.trustroot.v1`; the public-good
//! instance's is `trusted_root.json` in its TUF repository, a private deployment has its own) —
//! and a list of identities the operator trusts.
//!
//! Sigstore's client ([`sigstore::cosign`]) checks that the certificate chains to a Fulcio CA of
//! the trusted root (code-signing usage, valid at the Rekor entry's integrated time) and that the
//! Rekor bundle's signed entry timestamp verifies under a Rekor key of the trusted root. Capsule
//! then checks, itself, what that client leaves to its caller: that the signature verifies under
//! the certificate's key, that the Rekor entry is about this very signature and payload (so a
//! timestamp cannot be borrowed from another entry), and that the certificate's subject and issuer
//! are a trusted identity.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls::pki_types::CertificateDer;
use sha2::{Digest as _, Sha256};
use sigstore::cosign::SignatureLayer;
use sigstore::cosign::bundle_content::BundleContent;
use sigstore::cosign::signature_layers::CertificateSubject;
use sigstore::crypto::Signature;
use sigstore::trust::ManualTrustRoot;

use crate::error::RegistryError;

/// An identity whose keyless signatures are trusted: the certificate's subject (its SAN: a URI
/// such as a CI workflow's, or an e-mail address) and the OIDC issuer that vouched for it
/// (certificate extension 1.3.6.1.4.1.57264.1.1). Both must match exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedIdentity {
    /// `https://github.com/acme/tools/.github/workflows/release.yml@refs/heads/main`, or
    /// `release@acme.example`.
    pub subject: String,
    /// `https://token.actions.githubusercontent.com`, `https://accounts.google.com`, ...
    pub issuer: String,
}

impl std::fmt::Display for TrustedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (issuer {})", self.subject, self.issuer)
    }
}

/// The parts of a Sigstore trusted root that keyless verification uses.
#[derive(Clone, Debug, Default)]
pub struct KeylessRoot {
    /// DER certificates of the Fulcio certificate authorities (roots and intermediates).
    fulcio: Vec<Vec<u8>>,
    /// Rekor public keys (DER SubjectPublicKeyInfo) by log ID (hex SHA-256 of the key).
    rekor: BTreeMap<String, Vec<u8>>,
}

impl KeylessRoot {
    /// Read a `TrustedRoot` JSON file: `certificateAuthorities[].certChain.certificates[].rawBytes`
    /// (base64 DER) and `tlogs[].publicKey.rawBytes` with `tlogs[].logId.keyId` (base64).
    ///
    /// # Errors
    /// [`RegistryError::Key`] when the file cannot be read, is not JSON of that shape, or names no
    /// certificate authority or no transparency log.
    pub fn load(file: &Path) -> Result<Self, RegistryError> {
        let error = |message: String| RegistryError::Key {
            file: file.display().to_string(),
            message,
        };
        let text = std::fs::read(file).map_err(|e| error(format!("cannot read it: {e}")))?;
        Self::from_json(&text).map_err(error)
    }

    /// [`Self::load`] with the text already read.
    ///
    /// # Errors
    /// As [`Self::load`], without the file.
    pub fn from_json(text: &[u8]) -> Result<Self, String> {
        let doc: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
        let bytes = |value: &serde_json::Value, what: &str| -> Result<Vec<u8>, String> {
            let text = value
                .as_str()
                .ok_or_else(|| format!("{what} is not a base64 string"))?;
            BASE64
                .decode(text)
                .map_err(|e| format!("{what} is not base64: {e}"))
        };
        let mut root = Self::default();
        for ca in doc["certificateAuthorities"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for cert in ca["certChain"]["certificates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                root.fulcio
                    .push(bytes(&cert["rawBytes"], "a certificate's rawBytes")?);
            }
        }
        for tlog in doc["tlogs"].as_array().into_iter().flatten() {
            let key = bytes(
                &tlog["publicKey"]["rawBytes"],
                "a tlog's publicKey.rawBytes",
            )?;
            let id = bytes(&tlog["logId"]["keyId"], "a tlog's logId.keyId")?;
            root.rekor.insert(hex::encode(id), key);
        }
        if root.fulcio.is_empty() {
            return Err(
                "no certificateAuthorities with certificates: not a Sigstore trusted root".into(),
            );
        }
        if root.rekor.is_empty() {
            return Err("no tlogs with public keys: not a Sigstore trusted root".into());
        }
        Ok(root)
    }

    /// The trust root for Sigstore's client.
    pub fn trust_root(&self) -> ManualTrustRoot<'static> {
        ManualTrustRoot {
            fulcio_certs: self
                .fulcio
                .iter()
                .map(|der| CertificateDer::from(der.clone()))
                .collect(),
            rekor_keys: self.rekor.clone(),
            ctfe_keys: BTreeMap::new(),
        }
    }
}

/// The trusted identity that made `layer`'s keyless signature, if one did: the certificate was
/// accepted by Sigstore's client (see the module docs), the signature verifies under its key,
/// the Rekor entry records this signature over this payload, and subject and issuer match.
pub fn signer<'a>(
    layer: &SignatureLayer,
    identities: &'a [TrustedIdentity],
) -> Option<&'a TrustedIdentity> {
    let certificate = layer.certificate_signature.as_ref()?;
    let signature = layer.signature.as_deref()?;
    certificate
        .verification_key
        .verify_signature(
            Signature::Base64Encoded(signature.as_bytes()),
            &layer.raw_data,
        )
        .ok()?;
    if !logged(layer, signature) {
        return None;
    }
    let subject = match &certificate.subject {
        CertificateSubject::Email(s) | CertificateSubject::Uri(s) => s,
    };
    let issuer = certificate.issuer.as_deref()?;
    identities
        .iter()
        .find(|i| &i.subject == subject && i.issuer == issuer)
}

/// Whether `layer`'s Rekor entry is about `signature` over `layer.raw_data`. A protobuf bundle's
/// entry was checked for that by Sigstore's client; a legacy bundle's body (a `hashedrekord` or
/// `rekord` entry, base64 JSON) is checked here.
fn logged(layer: &SignatureLayer, signature: &str) -> bool {
    match &layer.bundle {
        Some(BundleContent::SigstoreBundle(_)) => true,
        Some(BundleContent::RekorBundle(bundle)) => {
            let Ok(body) = BASE64.decode(&bundle.payload.body) else {
                return false;
            };
            let Ok(body) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return false;
            };
            let spec = &body["spec"];
            let hash = hex::encode(Sha256::digest(&layer.raw_data));
            matches!(body["kind"].as_str(), Some("hashedrekord" | "rekord"))
                && spec["signature"]["content"].as_str() == Some(signature)
                && spec["data"]["hash"]["algorithm"].as_str() == Some("sha256")
                && spec["data"]["hash"]["value"].as_str() == Some(hash.as_str())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_root_yields_its_cas_and_logs() {
        let doc = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{"baseUrl": "https://rekor.example", "hashAlgorithm": "SHA2_256",
                       "publicKey": {"rawBytes": BASE64.encode(b"key"), "keyDetails": "PKIX_ECDSA_P256_SHA_256"},
                       "logId": {"keyId": BASE64.encode([0xab, 0xcd])}}],
            "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": BASE64.encode(b"ca")}]}}],
            "ctlogs": [],
        });
        let root = KeylessRoot::from_json(doc.to_string().as_bytes()).unwrap();
        assert_eq!(root.fulcio, [b"ca".to_vec()]);
        assert_eq!(root.rekor["abcd"], b"key");
        let trust = root.trust_root();
        assert_eq!(trust.fulcio_certs.len(), 1);
        for (bad, why) in [
            ("{}", "no certificateAuthorities"),
            (
                r#"{"certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": "Y2E="}]}}]}"#,
                "no tlogs",
            ),
            ("[", "not JSON"),
            (
                r#"{"certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": "%"}]}}]}"#,
                "not base64",
            ),
        ] {
            let err = KeylessRoot::from_json(bad.as_bytes()).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
