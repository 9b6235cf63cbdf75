//! Registry credentials as other OCI tools keep them: the containers auth file
//! (`REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`) and Docker's
//! `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
//!
//! Each file is `{"auths": {"REGISTRY": {...}}}`; an entry holds `auth` (base64 of
//! `user:password`), or `username` and `password`, or `registrytoken` (a bearer token sent as
//! is). The first file with an entry for the registry wins. Keys match the registry host with or
//! without a scheme and path (`https://ghcr.io`, `ghcr.io/v1/`); Docker Hub's legacy key
//! `https://index.docker.io/v1/` stands for `docker.io`. Credential helpers (`credsStore`,
//! `credHelpers`) and OAuth refresh tokens (`identitytoken`) are not run: such an entry is an error
//! that says so, rather than a silent anonymous request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use capsule_common::env::EnvLookup;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// Largest credentials file read (they hold a few entries).
const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, Entry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct Entry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    registrytoken: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Credentials that could not be used, with the file and why.
#[derive(Debug, thiserror::Error)]
#[error("registry credentials in '{file}': {message}")]
pub struct CredentialsError {
    /// The credentials file.
    pub file: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// The files looked at, in order: `REGISTRY_AUTH_FILE` alone when it is set; otherwise the
/// containers auth file under `XDG_RUNTIME_DIR`, then Docker's `config.json`.
pub fn auth_files(env: EnvLookup) -> Vec<PathBuf> {
    if let Some(file) = env("REGISTRY_AUTH_FILE").filter(|f| !f.is_empty()) {
        return vec![PathBuf::from(file)];
    }
    let mut files = Vec::new();
    if let Some(dir) = env("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        files.push(Path::new(&dir).join("containers/auth.json"));
    }
    match env("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(dir) => files.push(Path::new(&dir).join("config.json")),
        None => {
            if let Some(home) = env("HOME").filter(|h| !h.is_empty()) {
                files.push(Path::new(&home).join(".docker/config.json"));
            }
        }
    }
    files
}

/// The credentials for `registry` (`host[:port]`) from the first of [`auth_files`] that has
/// them; anonymous when none does. Missing files are skipped.
///
/// # Errors
/// A file that exists but cannot be read or parsed, or whose entry for `registry` cannot be used
/// (bad base64, no password, a credential helper or an identity token).
pub fn lookup(registry: &str, env: EnvLookup) -> Result<RegistryAuth, CredentialsError> {
    for file in auth_files(env) {
        if let Some(auth) = lookup_in(&file, registry)? {
            tracing::debug!(registry, file = %file.display(), "registry credentials");
            return Ok(auth);
        }
    }
    Ok(RegistryAuth::Anonymous)
}

/// The credentials for `registry` in `file`, `None` when the file is absent or has no entry.
///
/// # Errors
/// As [`lookup`].
pub fn lookup_in(file: &Path, registry: &str) -> Result<Option<RegistryAuth>, CredentialsError> {
    let error = |message: String| CredentialsError {
        file: file.to_path_buf(),
        message,
    };
    let text = match read_capped(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(format!("cannot read it: {e}"))),
    };
    let parsed: AuthFile =
        serde_json::from_str(&text).map_err(|e| error(format!("not valid JSON: {e}")))?;
    let entry = parsed
        .auths
        .iter()
        .find(|(key, _)| key_host(key) == registry_key(registry));
    if let Some((key, entry)) = entry {
        return entry_auth(entry)
            .map(Some)
            .map_err(|m| error(format!("entry \"{key}\": {m}")));
    }
    if let Some(helper) = parsed
        .cred_helpers
        .get(registry)
        .or(parsed.creds_store.as_ref())
    {
        return Err(error(format!(
            "credentials for {registry} are kept by the credential helper \"{helper}\", which \
             Capsule does not run; log in with a tool that writes them to the file (e.g. \
             `oras login` or `podman login --authfile`), or point REGISTRY_AUTH_FILE at such a file"
        )));
    }
    Ok(None)
}

fn read_capped(file: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(file)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other("larger than 1 MiB"));
    }
    Ok(text)
}

/// `docker.io` for Docker Hub's legacy names, else the host itself.
fn registry_key(registry: &str) -> &str {
    match registry {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

/// The host part of an auth file key: `https://ghcr.io/v1/` → `ghcr.io`.
fn key_host(key: &str) -> &str {
    let host = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    registry_key(host.split('/').next().unwrap_or(host))
}

fn entry_auth(entry: &Entry) -> Result<RegistryAuth, String> {
    if let Some(token) = entry.registrytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(RegistryAuth::Bearer(token.to_string()));
    }
    if let Some(encoded) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| "\"auth\" is not base64".to_string())?;
        let decoded =
            String::from_utf8(decoded).map_err(|_| "\"auth\" is not UTF-8".to_string())?;
        let (user, password) = decoded
            .split_once(':')
            .ok_or_else(|| "\"auth\" is not base64 of user:password".to_string())?;
        return Ok(RegistryAuth::Basic(user.to_string(), password.to_string()));
    }
    if let (Some(user), Some(password)) = (&entry.username, &entry.password) {
        return Ok(RegistryAuth::Basic(user.clone(), password.clone()));
    }
    if entry.identitytoken.is_some() {
        return Err(
            "an identity token (OAuth refresh token) is not supported; store a \
                    password or a registry token instead"
                .into(),
        );
    }
    Err("it has no auth, username/password or registrytoken".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn entries_are_found_by_host_in_every_spelling() {
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        let f = file(&format!(
            r#"{{"auths": {{
                "https://ghcr.io/v1/": {{"auth": "{auth}"}},
                "127.0.0.1:5000": {{"username": "bob", "password": "pw"}},
                "https://index.docker.io/v1/": {{"registrytoken": "tok"}}
            }}}}"#
        ));
        let got = |r: &str| lookup_in(f.path(), r).unwrap();
        assert!(
            matches!(got("ghcr.io"), Some(RegistryAuth::Basic(u, p)) if u == "alice" && p == "s3cret")
        );
        assert!(matches!(got("127.0.0.1:5000"), Some(RegistryAuth::Basic(u, _)) if u == "bob"));
        assert!(matches!(got("index.docker.io"), Some(RegistryAuth::Bearer(t)) if t == "tok"));
        assert!(got("quay.io").is_none());
    }

    #[test]
    fn unusable_entries_are_errors_that_say_why() {
        let f = file(r#"{"auths": {"ghcr.io": {"auth": "%%%"}}}"#);
        let err = lookup_in(f.path(), "ghcr.io").unwrap_err().to_string();
        assert!(err.contains("not base64"), "{err}");
        let f = file(r#"{"auths": {}, "credsStore": "desktop"}"#);
        let err = lookup_in(f.path(), "ghcr.io").unwrap_err().to_string();
        assert!(err.contains("credential helper \"desktop\""), "{err}");
        let f = file(r#"{"auths": {"ghcr.io": {"identitytoken": "x"}}}"#);
        let err = lookup_in(f.path(), "ghcr.io").unwrap_err().to_string();
        assert!(err.contains("identity token"), "{err}");
        let f = file("not json");
        assert!(
            lookup_in(f.path(), "ghcr.io")
                .unwrap_err()
                .to_string()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn the_auth_file_variable_wins_and_missing_files_mean_anonymous() {
        let env = |name: &str| match name {
            "REGISTRY_AUTH_FILE" => Some("/nonexistent/auth.json".to_string()),
            "HOME" => Some("/home/x".to_string()),
            _ => None,
        };
        assert_eq!(auth_files(&env), [PathBuf::from("/nonexistent/auth.json")]);
        assert!(matches!(
            lookup("ghcr.io", &env).unwrap(),
            RegistryAuth::Anonymous
        ));
        let env = |name: &str| match name {
            "XDG_RUNTIME_DIR" => Some("/run/user/1".to_string()),
            "HOME" => Some("/home/x".to_string()),
            _ => None,
        };
        assert_eq!(
            auth_files(&env),
            [
                PathBuf::from("/run/user/1/containers/auth.json"),
                PathBuf::from("/home/x/.docker/config.json")
            ]
        );
    }
}
