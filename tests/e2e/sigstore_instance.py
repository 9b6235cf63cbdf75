"""A Sigstore instance of the test's own, for keyless signatures without the public-good servers:
a Fulcio-style certificate authority that issues short-lived code-signing certificates naming an
OIDC identity and issuer, and a Rekor-style log key that signs entry timestamps. Its
`trusted_root.json` is in the format of Sigstore's TUF repository (`dev.sigstore.trustroot.v1`).

`sign()` signs an artifact in a registry the way `cosign sign` (keyless, legacy `.sig` layout)
does: a simple-signing payload naming the manifest digest, signed with the certificate's key, and
the layer annotations `dev.cosignproject.cosign/signature`, `dev.sigstore.cosign/certificate`,
`.../chain` and `.../bundle` (the Rekor bundle: the `hashedrekord` entry, its integrated time, and
the log's signed entry timestamp over the canonical JSON of that payload). Real cryptography
throughout (`cryptography`, which `trustme` brings); only the servers are left out."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import ssl
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
OIDC_ISSUER_OID = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def canonical(value) -> bytes:
    """RFC 8785 JSON for the flat string/integer objects used here (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class Sigstore:
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate
    log_key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls, name: str = "Capsule test Sigstore") -> Sigstore:
        now = datetime.datetime.now(datetime.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} Fulcio CA")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(ca_key, hashes.SHA256())
        )
        return cls(ca_key=ca_key, ca_cert=ca_cert, log_key=ec.generate_private_key(ec.SECP256R1()))

    def log_key_der(self) -> bytes:
        return self.log_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def log_id(self) -> bytes:
        return hashlib.sha256(self.log_key_der()).digest()

    def trusted_root(self, path: Path) -> Path:
        """Write this instance's `trusted_root.json`."""
        valid = {"start": "2020-01-01T00:00:00Z"}
        doc = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": "https://rekor.invalid",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {"rawBytes": b64(self.log_key_der()), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": valid},
                    "logId": {"keyId": b64(self.log_id())},
                }
            ],
            "certificateAuthorities": [
                {
                    "subject": {"organization": "capsule-e2e", "commonName": "fulcio"},
                    "uri": "https://fulcio.invalid",
                    "certChain": {"certificates": [{"rawBytes": b64(self.ca_cert.public_bytes(serialization.Encoding.DER))}]},
                    "validFor": valid,
                }
            ],
            "ctlogs": [],
            "timestampAuthorities": [],
        }
        path.write_text(json.dumps(doc, indent=2))
        return path

    def certificate(self, subject: str, issuer: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        """A 10-minute code-signing certificate for `subject` (a URI, or an e-mail with '@'),
        vouched for by OIDC `issuer`, as Fulcio issues them (empty subject name, SAN, issuer
        extension holding the raw issuer string)."""
        now = datetime.datetime.now(datetime.UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        san = x509.RFC822Name(subject) if "@" in subject and "://" not in subject else x509.UniformResourceIdentifier(subject)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(minutes=10))
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(x509.UnrecognizedExtension(OIDC_ISSUER_OID, issuer.encode()), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        return key, cert

    def rekor_bundle(self, payload: bytes, signature: str, cert_pem: bytes, body_signature: str | None = None) -> str:
        """The `dev.sigstore.cosign/bundle` annotation: a `hashedrekord` entry for `signature` over
        `payload` (or, to tamper, over `body_signature`), with its signed entry timestamp."""
        body = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
                "signature": {"content": body_signature or signature, "publicKey": {"content": b64(cert_pem)}},
            },
        }
        entry = {
            "body": b64(canonical(body)),
            "integratedTime": int(time.time()),
            "logIndex": 1,
            "logID": self.log_id().hex(),
        }
        timestamp = self.log_key.sign(canonical(entry), ec.ECDSA(hashes.SHA256()))
        return json.dumps({"SignedEntryTimestamp": b64(timestamp), "Payload": entry})

    def sign(self, registry, repository: str, digest: str, subject: str, issuer: str, *, tamper_log: bool = False) -> None:
        """Sign the manifest `digest` of `repository` in `registry` keylessly as `subject`."""
        key, cert = self.certificate(subject, issuer)
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        payload = canonical(
            {
                "critical": {
                    "identity": {"docker-reference": f"{registry.host}/{repository}"},
                    "image": {"docker-manifest-digest": digest},
                    "type": "cosign container image signature",
                },
                "optional": None,
            }
        )
        signature = b64(key.sign(payload, ec.ECDSA(hashes.SHA256())))
        other = b64(key.sign(b"another payload", ec.ECDSA(hashes.SHA256()))) if tamper_log else None
        annotations = {
            "dev.cosignproject.cosign/signature": signature,
            "dev.sigstore.cosign/certificate": cert_pem.decode(),
            "dev.sigstore.cosign/chain": self.ca_cert.public_bytes(serialization.Encoding.PEM).decode(),
            "dev.sigstore.cosign/bundle": self.rekor_bundle(payload, signature, cert_pem, other),
        }
        config = b"{}"
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": descriptor("application/vnd.oci.image.config.v1+json", config),
            "layers": [{**descriptor(SIMPLE_SIGNING_MEDIA_TYPE, payload), "annotations": annotations}],
        }
        for blob in (config, payload):
            upload(registry, repository, blob)
        put(
            registry,
            f"{repository}/manifests/{digest.replace(':', '-')}.sig",
            json.dumps(manifest).encode(),
            "application/vnd.oci.image.manifest.v1+json",
        )


def descriptor(media_type: str, data: bytes) -> dict:
    return {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": len(data)}


def _base(registry) -> tuple[str, ssl.SSLContext | None]:
    context = ssl.create_default_context(cafile=str(registry.tls.ca)) if registry.tls else None
    return f"{'https' if registry.tls else 'http'}://{registry.host}/v2/", context


def upload(registry, repository: str, blob: bytes) -> None:
    """A monolithic blob upload (OCI distribution spec: POST, then PUT with the digest)."""
    base, context = _base(registry)
    request = urllib.request.Request(f"{base}{repository}/blobs/uploads/", method="POST")
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        location = response.headers["Location"]
    if location.startswith("/"):
        location = base.removesuffix("/v2/") + location
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    separator = "&" if "?" in location else "?"
    request = urllib.request.Request(
        f"{location}{separator}digest={digest}",
        data=blob,
        method="PUT",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        assert response.status == 201, response.status


def put(registry, path: str, body: bytes, content_type: str) -> None:
    base, context = _base(registry)
    request = urllib.request.Request(f"{base}{path}", data=body, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10, context=context) as response:
        assert response.status == 201, response.status
