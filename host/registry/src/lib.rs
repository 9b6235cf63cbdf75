//! Plugins from OCI registries: where they are ([`source`]), who may fetch them
//! ([`credentials`]), the CNCF Wasm artifact layout ([`artifact`]), pull and push with every
//! byte checked ([`client`]), and cosign-compatible signatures verified in-process ([`trust`]:
//! keys; [`keyless`]: Fulcio certificates and Rekor entries against a Sigstore trusted root).
//!
//! Nothing here compiles, writes or serves a plugin: a pull returns checked bytes (digest,
//! size, component header) and who signed them; the `capsule` binary decides where they go.

pub mod artifact;
pub mod client;
pub mod credentials;
pub mod error;
pub mod keyless;
pub mod source;
pub mod trust;

pub use client::{Pulled, Registry, RegistryOptions};
pub use error::RegistryError;
pub use source::OciSource;
pub use trust::{Signer, TrustPolicy, TrustedKey};
