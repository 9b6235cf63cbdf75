//! Plugins from registries (`[[plugin]]` in capsule.toml): fetched and verified once, kept in the
//! content-addressed [`Store`], pinned by `capsule.lock`, and served from the store, so that
//! `serve` runs exactly what the lock pins and needs no registry while the store has it.
//!
//! - `capsule lock` fetches each source the lock does not pin yet (tag resolved to a digest,
//!   signature verified: [`Fetcher`]), keeps its component and manifest in the store, and pins it:
//!   manifest digest, component digest, signer, definitions ([`crate::pin_commands`]).
//! - `serve` and `capsule plugins` serve each pinned source from the store ([`materialize`]);
//!   a component missing from the store is fetched by its pinned digest and verified again. A
//!   source the lock does not pin, or pins for another `source`, is reported and not served.
//! - `capsule update [NAME]` moves pins to what the tags name now and prints what changed
//!   ([`crate::commands::update`]).

use std::path::PathBuf;

use capsule_common::env::process_env;
use capsule_registry::{
    OciSource, Pulled, Registry, RegistryError, RegistryOptions, Signer, TrustPolicy, credentials,
    trust,
};

use crate::config::{HostConfig, SourcedPlugin};
use crate::lock::{Lock, Pin};
use crate::store::{Digest, Store};

/// A registry plugin as the loader sees it: a component file in the store, its name and policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcedFile {
    /// The plugin's name.
    pub name: String,
    /// Its source as the config gives it: what reports name it by, whichever version is served.
    pub source: String,
    /// The component file (a store entry); for a plugin that cannot be served, its source.
    pub path: PathBuf,
    /// Its `[[plugin]] policy` file, if any.
    pub policy_file: Option<PathBuf>,
    /// SHA-256 the component must have: checked before it is compiled.
    pub expect: Option<Digest>,
    /// Why it is not served (not pinned, not in the store and not fetchable, ...).
    pub error: Option<String>,
}

impl SourcedFile {
    fn failed(plugin: &SourcedPlugin, error: String) -> Self {
        Self {
            name: plugin.name.clone(),
            source: plugin.source.to_string(),
            path: PathBuf::from(plugin.source.to_string()),
            policy_file: plugin.policy.clone(),
            expect: None,
            error: Some(error),
        }
    }

    fn stored(plugin: &SourcedPlugin, store: &Store, component: Digest) -> Self {
        Self {
            name: plugin.name.clone(),
            source: plugin.source.to_string(),
            path: store.path(&component),
            policy_file: plugin.policy.clone(),
            expect: Some(component),
            error: None,
        }
    }
}

/// A fetched and verified artifact.
pub struct Fetched {
    /// What was pulled (digest-pinned source, manifest, component).
    pub pulled: Pulled,
    /// Who signed it.
    pub signer: Signer,
}

impl Fetched {
    /// The component's digest.
    pub fn component(&self) -> Digest {
        Digest::of(&self.pulled.component)
    }

    /// Keep the component and the manifest in `store`.
    ///
    /// # Errors
    /// The store cannot be written.
    pub fn keep(&self, store: &Store) -> std::io::Result<Digest> {
        store.put(&self.pulled.manifest)?;
        store.put(&self.pulled.component)
    }

    /// A pin carrying this artifact's registry fields (`source` as configured, the manifest
    /// digest, the signer), for [`crate::pinning::Pins::expect_registry`].
    pub fn registry_pin(&self, source: &OciSource) -> Pin {
        let mut pin = Pin::new(Digest::of(b""), self.component());
        pin.source = Some(source.to_string());
        pin.digest = Some(self.pulled.digest.clone());
        pin.signer = Some(self.signer.to_string());
        pin
    }
}

/// Fetches registry plugins the way the config says: `[registry]` options and `[trust]` keys.
pub struct Fetcher {
    options: RegistryOptions,
    trust: TrustPolicy,
    limits: capsule_sandbox::grants::policy::LimitBounds,
}

impl Fetcher {
    /// A fetcher with `config`'s `[registry]` and `[trust]` (keys read now).
    ///
    /// # Errors
    /// A trusted key file that cannot be read or parsed.
    pub fn new(config: &HostConfig) -> Result<Self, RegistryError> {
        Ok(Self {
            options: RegistryOptions {
                insecure: config.registry.insecure.clone(),
                ca_files: config.registry.ca_files.clone(),
                ..RegistryOptions::default()
            },
            limits: config.limits.clone(),
            trust: TrustPolicy::with_key_files(
                &config.trust.key_files,
                config.trust.allow_unsigned,
            )?
            .with_keyless(
                config.trust.identities.clone(),
                config.trust.trusted_root.as_deref(),
            )?,
        })
    }

    /// Pull `plugin`'s component from `source` (its configured source, or that pinned to a
    /// digest) and verify its signature; nothing is written. The download is capped at the
    /// plugin's `max_component_size` (its policy's, else `[defaults]`), which its load would
    /// enforce anyway.
    ///
    /// # Errors
    /// Every refusal of [`RegistryError`]: unreachable, auth, digest, layout, size, signature.
    pub async fn fetch(
        &self,
        plugin: &SourcedPlugin,
        source: &OciSource,
    ) -> Result<Fetched, RegistryError> {
        let auth = credentials::lookup(source.registry(), &process_env)?;
        let mut options = self.options.clone();
        options.max_component_bytes = self.component_cap(plugin);
        let registry = Registry::connect(source, auth, &options).await?;
        let pulled = registry.pull(source).await?;
        let signer = trust::verify(&registry, source, &pulled.digest, &self.trust).await?;
        Ok(Fetched { pulled, signer })
    }
}

impl Fetcher {
    /// `plugin`'s `max_component_size`: its policy's when the policy parses (a policy that does
    /// not is reported when the plugin loads), else the config's default.
    fn component_cap(&self, plugin: &SourcedPlugin) -> u64 {
        let defaults = self.limits.defaults.max_component_bytes;
        let limit = plugin
            .policy
            .as_deref()
            .and_then(|file| {
                capsule_sandbox::grants::policy::Policy::load(&plugin.name, file, &[], &self.limits)
                    .ok()
            })
            .map_or(defaults, |policy| policy.limits.max_component_bytes);
        limit as u64
    }
}

/// Why `plugin` has no usable pin in `lock`, if it has none.
pub fn unpinned(plugin: &SourcedPlugin, lock: &Lock) -> Option<String> {
    let source = plugin.source.to_string();
    match lock.plugins.get(&plugin.name) {
        None => Some(format!(
            "{source} is not pinned in the lock file: run `capsule lock` to fetch, verify and pin it"
        )),
        Some(pin) if pin.source.as_deref() != Some(source.as_str()) => Some(format!(
            "the config names {source} but the lock file pins {} for '{}': run `capsule update {}`",
            pin.source
                .as_deref()
                .unwrap_or("a file from the plugin directory"),
            plugin.name,
            plugin.name
        )),
        Some(pin) if pin.digest.is_none() => Some(format!(
            "the lock file pins no manifest digest for '{}': run `capsule update {}`",
            plugin.name, plugin.name
        )),
        Some(_) => None,
    }
}

/// What the loader serves for the config's registry plugins: each pinned component from the
/// store. With a `fetcher`, a component missing from the store is fetched by its pinned digest
/// (signature verified again, component digest checked against the pin) and kept; without one
/// (hot reload), it is reported missing.
pub async fn materialize(
    sources: &[SourcedPlugin],
    lock: &Lock,
    store: Option<&Store>,
    fetcher: Option<&Fetcher>,
) -> Vec<SourcedFile> {
    let mut out = Vec::new();
    for plugin in sources {
        out.push(match serve_one(plugin, lock, store, fetcher).await {
            Ok(file) => file,
            Err(reason) => SourcedFile::failed(plugin, reason),
        });
    }
    out
}

async fn serve_one(
    plugin: &SourcedPlugin,
    lock: &Lock,
    store: Option<&Store>,
    fetcher: Option<&Fetcher>,
) -> Result<SourcedFile, String> {
    if let Some(why) = unpinned(plugin, lock) {
        return Err(why);
    }
    let pin = &lock.plugins[&plugin.name];
    let store = store.ok_or("no store directory to serve registry plugins from (--store DIR)")?;
    if store.path(&pin.component).is_file() {
        return Ok(SourcedFile::stored(plugin, store, pin.component));
    }
    let digest = pin.digest.as_deref().unwrap_or_default();
    let Some(fetcher) = fetcher else {
        return Err(format!(
            "its pinned component {} is not in the store '{}'; restart the server or run \
             `capsule lock` to fetch it",
            pin.component,
            store.dir().display()
        ));
    };
    let pinned = plugin.source.pinned(digest);
    let fetched = fetcher
        .fetch(plugin, &pinned)
        .await
        .map_err(|e| format!("not in the store, and fetching the pinned digest failed: {e}"))?;
    if fetched.component() != pin.component {
        return Err(format!(
            "{pinned} holds component {}, not the pinned {}; refusing it",
            fetched.component(),
            pin.component
        ));
    }
    fetched
        .keep(store)
        .map_err(|e| format!("cannot keep it in the store: {e}"))?;
    tracing::info!(plugin = plugin.name, source = %pinned, signer = %fetched.signer, "fetched the pinned component into the store");
    Ok(SourcedFile::stored(plugin, store, pin.component))
}

/// On a lock file change (hot reload): serve the registry plugins the lock now pins, from the
/// store only (`capsule update` and `capsule lock` put them there before they write the lock).
/// Returns whether the set changed, so that the directory must be rescanned.
pub async fn refresh(library: &mut crate::loader::Library) -> bool {
    let sources = library.config().sources.clone();
    let Some(pins) = library.pins() else {
        return false;
    };
    if sources.is_empty() {
        return false;
    }
    let store = pins.store_dir().and_then(|dir| Store::open(dir).ok());
    let files = materialize(&sources, pins.lock(), store.as_ref(), None).await;
    if files == library.sourced() {
        return false;
    }
    library.set_sourced(files);
    true
}

/// `capsule lock`'s registry part: fetch every source the lock does not pin yet and keep it in
/// the store. Returns the files to load (every source: the pinned ones from the store, the new
/// ones just fetched), the fetched artifacts by name (their pins get the registry fields once
/// their definitions are pinned), and one line per source for the report.
pub async fn fetch_unpinned(
    sources: &[SourcedPlugin],
    lock: &Lock,
    store: &Store,
    fetcher: &Fetcher,
) -> (
    Vec<SourcedFile>,
    Vec<(String, OciSource, Fetched)>,
    Vec<String>,
) {
    let mut files = Vec::new();
    let mut fetched = Vec::new();
    let mut lines = Vec::new();
    for plugin in sources {
        let pin = lock.plugins.get(&plugin.name);
        if pin.is_some() {
            let served = materialize(
                std::slice::from_ref(plugin),
                lock,
                Some(store),
                Some(fetcher),
            )
            .await;
            if let Some(why) = served.first().and_then(|f| f.error.clone()) {
                lines.push(format!("{}: {why}", plugin.name));
            }
            files.extend(served);
            continue;
        }
        match fetcher.fetch(plugin, &plugin.source).await {
            Ok(artifact) => match artifact.keep(store) {
                Ok(component) => {
                    lines.push(format!(
                        "{}: fetched {} ({})",
                        plugin.name, artifact.pulled.source, artifact.signer
                    ));
                    files.push(SourcedFile::stored(plugin, store, component));
                    fetched.push((plugin.name.clone(), plugin.source.clone(), artifact));
                }
                Err(e) => {
                    let why = format!("cannot keep it in the store: {e}");
                    lines.push(format!("{}: {why}", plugin.name));
                    files.push(SourcedFile::failed(plugin, why));
                }
            },
            Err(e) => {
                lines.push(format!("{}: not pinned: {e}", plugin.name));
                files.push(SourcedFile::failed(plugin, e.to_string()));
            }
        }
    }
    (files, fetched, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str, source: &str) -> SourcedPlugin {
        SourcedPlugin {
            name: name.into(),
            source: source.parse().unwrap(),
            policy: None,
        }
    }

    fn pin(source: Option<&str>, component: Digest) -> Pin {
        let mut pin = Pin::new(Digest::of(b"definitions"), component);
        pin.source = source.map(str::to_string);
        pin.digest = source.map(|_| format!("sha256:{}", "1".repeat(64)));
        pin
    }

    #[tokio::test]
    async fn pinned_sources_are_served_from_the_store_and_others_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let component = store.put(b"\0asm\x0d\0\x01\0component").unwrap();
        let time = plugin("time", "oci://127.0.0.1:5000/tools/time:1.0");
        let echo = plugin("echo", "oci://127.0.0.1:5000/tools/echo:1.0");
        let gone = plugin("gone", "oci://127.0.0.1:5000/tools/gone:1.0");
        let moved = plugin("moved", "oci://127.0.0.1:5000/tools/moved:2.0");
        let mut lock = Lock::default();
        lock.plugins.insert(
            "time".into(),
            pin(Some("oci://127.0.0.1:5000/tools/time:1.0"), component),
        );
        lock.plugins.insert(
            "gone".into(),
            pin(
                Some("oci://127.0.0.1:5000/tools/gone:1.0"),
                Digest::of(b"elsewhere"),
            ),
        );
        lock.plugins.insert(
            "moved".into(),
            pin(Some("oci://127.0.0.1:5000/tools/moved:1.0"), component),
        );
        let files = materialize(&[time, echo, gone, moved], &lock, Some(&store), None).await;
        assert_eq!(files[0].path, store.path(&component));
        assert_eq!(files[0].expect, Some(component));
        assert_eq!(files[0].error, None);
        let why = |i: usize| files[i].error.clone().unwrap();
        assert!(why(1).contains("not pinned in the lock file"), "{}", why(1));
        assert_eq!(
            files[1].path,
            PathBuf::from("oci://127.0.0.1:5000/tools/echo:1.0")
        );
        assert!(why(2).contains("not in the store"), "{}", why(2));
        assert!(why(3).contains("capsule update moved"), "{}", why(3));
    }
}
