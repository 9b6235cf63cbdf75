//! HTTPS: the rustls server configuration from PEM files, reloaded on `SIGHUP`.
//!
//! The certificate file holds the chain (leaf first, PEM `CERTIFICATE` blocks); the key file one
//! private key (PKCS#8, PKCS#1 or SEC1 PEM). TLS 1.2 and 1.3 with rustls' `ring` provider; ALPN
//! offers `h2` and `http/1.1`. On `SIGHUP` both files are read again and new connections use
//! the new certificate; if they are unreadable or do not match, the old one stays and the error
//! is logged.

use std::sync::Arc;

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsFiles;

/// Build a rustls server config from the PEM files. Errors name the file and what is wrong.
pub fn server_config(files: &TlsFiles) -> anyhow::Result<ServerConfig> {
    let cert_pem = std::fs::read(&files.cert)
        .with_context(|| format!("reading the TLS certificate {}", files.cert.display()))?;
    let key_pem = std::fs::read(&files.key)
        .with_context(|| format!("reading the TLS key {}", files.key.display()))?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a PEM certificate chain", files.cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("{}: no CERTIFICATE block found", files.cert.display());
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .with_context(|| format!("{}: no PEM private key found", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "the key {} does not fit the certificate {}",
                files.key.display(),
                files.cert.display()
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Load the files into a reloadable axum-server config.
pub async fn load(files: &TlsFiles) -> anyhow::Result<RustlsConfig> {
    let files = files.clone();
    let config = tokio::task::spawn_blocking(move || server_config(&files)).await??;
    Ok(RustlsConfig::from_config(Arc::new(config)))
}

/// Reload the certificate and key into `config` on every `SIGHUP`.
pub fn reload_on_sighup(files: TlsFiles, config: RustlsConfig) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(stream) => stream,
        Err(e) => {
            tracing::warn!("cannot watch SIGHUP, TLS certificate reload disabled: {e}");
            return;
        }
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let reloaded = {
                let files = files.clone();
                tokio::task::spawn_blocking(move || server_config(&files)).await
            };
            match reloaded {
                Ok(Ok(new)) => {
                    config.reload_from_config(Arc::new(new));
                    tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                }
                Ok(Err(e)) => {
                    tracing::error!("TLS reload failed, keeping the old certificate: {e:#}")
                }
                Err(e) => tracing::error!("TLS reload failed: {e}"),
            }
        }
    });
}
