//! `capsule pull`, `push`, `sign` and `key generate`: plugins through OCI registries, with
//! nothing but `capsule` (`capsule_registry` does the registry work and the signature checks).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use capsule_common::env::process_env;
use capsule_registry::keyless::TrustedIdentity;
use capsule_registry::trust::{self, PASSWORD_ENV};
use capsule_registry::{OciSource, Registry, RegistryOptions, TrustPolicy, credentials};
use capsule_server::naming::check_plugin_name;

use crate::config::HostConfig;

/// How registries are reached: the config file's `[registry]` and `[trust]`, and overrides.
#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Host config file: its `[registry]` (plain-HTTP registries, CA roots) and `[trust]`
    /// (trusted keys) apply.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Also reach this registry (`HOST[:PORT]`) over plain HTTP if HTTPS fails. Registries on
    /// loopback always may. Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure: Vec<String>,

    /// Also trust this PEM root certificate for HTTPS registries. Repeatable.
    #[arg(long = "ca-file", value_name = "PEM")]
    pub ca_files: Vec<PathBuf>,
}

/// `capsule pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// The artifact: `oci://REGISTRY/REPOSITORY:TAG` or `…@sha256:DIGEST`.
    #[arg(value_name = "SOURCE")]
    pub source: OciSource,

    /// Directory to write the plugin into (`NAME.wasm`, replaced atomically: a server watching
    /// the directory hot-reloads it).
    #[arg(long, value_name = "DIR")]
    pub plugins: PathBuf,

    /// The plugin's name (its file stem and the prefix of its tools); default: the last
    /// component of the repository.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Trust signatures by this cosign public key (PEM), besides `[trust] keys`. Repeatable.
    #[arg(long = "key", value_name = "PEM")]
    pub keys: Vec<PathBuf>,

    /// Accept an artifact without a valid signature by a trusted key (a warning is printed).
    #[arg(long)]
    pub allow_unsigned: bool,

    /// Trust keyless signatures whose certificate names this subject (SAN: URI or e-mail),
    /// besides `[trust] identities`; needs `--certificate-oidc-issuer` and a trusted root.
    #[arg(long, value_name = "SUBJECT", requires = "certificate_oidc_issuer")]
    pub certificate_identity: Option<String>,

    /// The OIDC issuer of `--certificate-identity` (e.g.
    /// `https://token.actions.githubusercontent.com`).
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,

    /// The Sigstore trusted root (`TrustedRoot` JSON: Fulcio CAs, Rekor keys) keyless signatures
    /// are checked against; overrides `[trust] trusted_root`.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,

    /// Largest component accepted (e.g. `64MiB`); default: the config's `[defaults]
    /// max_component_size` (64 MiB).
    #[arg(long, value_name = "SIZE")]
    pub max_component_size: Option<bytesize::ByteSize>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `capsule push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// The component to publish (`.wasm`).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Where: `oci://REGISTRY/REPOSITORY:TAG`.
    #[arg(value_name = "SOURCE")]
    pub source: OciSource,

    /// Sign the pushed artifact with this cosign private key (as `capsule sign` does).
    #[arg(long = "sign-key", value_name = "KEY")]
    pub sign_key: Option<PathBuf>,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `capsule sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The artifact: `oci://REGISTRY/REPOSITORY:TAG` (resolved to its digest) or `…@sha256:…`.
    #[arg(value_name = "SOURCE")]
    pub source: OciSource,

    /// The cosign private key (`cosign.key`); its password comes from `COSIGN_PASSWORD`.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,

    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `capsule key`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a cosign-compatible ECDSA P-256 key pair: PREFIX.key (encrypted with the password
    /// in `COSIGN_PASSWORD`) and PREFIX.pub (for `[trust] keys`).
    Generate {
        /// Path prefix of the two files.
        #[arg(long, value_name = "PREFIX", default_value = "cosign")]
        output: PathBuf,
    },
}

fn config(file: Option<&Path>) -> anyhow::Result<HostConfig> {
    Ok(match file {
        Some(file) => HostConfig::load(file)?,
        None => HostConfig::default(),
    })
}

fn options(args: &RegistryArgs, config: &HostConfig) -> RegistryOptions {
    let mut options = RegistryOptions {
        insecure: config.registry.insecure.clone(),
        ca_files: config.registry.ca_files.clone(),
        max_component_bytes: config.limits.defaults.max_component_bytes as u64,
        ..RegistryOptions::default()
    };
    options.insecure.extend(args.insecure.iter().cloned());
    options.ca_files.extend(args.ca_files.iter().cloned());
    options
}

async fn connect(source: &OciSource, options: &RegistryOptions) -> anyhow::Result<Registry> {
    let auth = credentials::lookup(source.registry(), &process_env)?;
    Ok(Registry::connect(source, auth, options).await?)
}

fn password() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(process_env(PASSWORD_ENV).unwrap_or_default().into_bytes())
}

/// `capsule pull`: fetch, check (digest, layout, size, component header, signature), then write
/// `DIR/NAME.wasm` atomically.
///
/// # Errors
/// Anything that refuses the artifact; the directory is then left as it was.
pub async fn pull(args: PullArgs) -> anyhow::Result<ExitCode> {
    let config = config(args.registry.config.as_deref())?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| args.source.base_name().replace('-', "_"));
    check_plugin_name(&name)
        .with_context(|| format!("'{name}' cannot be a plugin name; choose one with --name"))?;
    if !args.plugins.is_dir() {
        anyhow::bail!(
            "--plugins {}: not a directory (create it first)",
            args.plugins.display()
        );
    }
    let mut options = options(&args.registry, &config);
    if let Some(max) = args.max_component_size {
        options.max_component_bytes = max.as_u64();
    }
    let mut key_files = config.trust.key_files.clone();
    key_files.extend(args.keys.iter().cloned());
    let mut identities = config.trust.identities.clone();
    if let (Some(subject), Some(issuer)) =
        (&args.certificate_identity, &args.certificate_oidc_issuer)
    {
        identities.push(TrustedIdentity {
            subject: subject.clone(),
            issuer: issuer.clone(),
        });
    }
    let root = args
        .trusted_root
        .as_ref()
        .or(config.trust.trusted_root.as_ref());
    let policy = TrustPolicy::with_key_files(
        &key_files,
        config.trust.allow_unsigned || args.allow_unsigned,
    )?
    .with_keyless(identities, root.map(PathBuf::as_path))?;
    let registry = connect(&args.source, &options).await?;
    let pulled = registry.pull(&args.source).await?;
    let signer = trust::verify(&registry, &args.source, &pulled.digest, &policy).await?;
    let target = args.plugins.join(format!("{name}.wasm"));
    // A temporary `.capsule-*.tmp` renamed into place: a watching server ignores the temporary
    // name and loads the file once, complete.
    crate::store::write_atomic(&target, &pulled.component, 0o644)
        .with_context(|| format!("cannot write '{}'", target.display()))?;
    println!(
        "{} -> {} ({} bytes, {})",
        pulled.source,
        target.display(),
        pulled.component.len(),
        match &signer {
            capsule_registry::Signer::Key { name, fingerprint } =>
                format!("signed by {name} ({fingerprint})"),
            capsule_registry::Signer::Identity(identity) => format!("signed by {identity}"),
            capsule_registry::Signer::Unsigned => "UNSIGNED".into(),
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// `capsule push`: publish a component in the Wasm artifact layout (and sign it with
/// `--sign-key`). Prints the digest-pinned source.
///
/// # Errors
/// The file is not a component, or the registry refused.
pub async fn push(args: PushArgs) -> anyhow::Result<ExitCode> {
    if let Some(digest) = args.source.digest() {
        anyhow::bail!(
            "push to a tag, not to a digest ('{}' names {digest}): the digest is what the \
             registry computes, and push prints it",
            args.source
        );
    }
    let config = config(args.registry.config.as_deref())?;
    let component = std::fs::read(&args.file)
        .with_context(|| format!("cannot read '{}'", args.file.display()))?;
    let options = options(&args.registry, &config);
    let registry = connect(&args.source, &options).await?;
    let title = args.file.file_name().and_then(|n| n.to_str());
    let digest = registry.push(&args.source, component, title).await?;
    if let Some(key) = &args.sign_key {
        trust::sign(&registry, &args.source, &digest, key, &password()).await?;
        eprintln!("signed with {}", key.display());
    }
    println!("{}", args.source.pinned(&digest));
    Ok(ExitCode::SUCCESS)
}

/// `capsule sign`: sign an artifact's manifest digest with a cosign key.
///
/// # Errors
/// The key cannot be used, or the registry refused.
pub async fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let config = config(args.registry.config.as_deref())?;
    let options = options(&args.registry, &config);
    let registry = connect(&args.source, &options).await?;
    let digest = match args.source.digest() {
        Some(digest) => digest.to_string(),
        None => registry.resolve(&args.source).await?,
    };
    trust::sign(&registry, &args.source, &digest, &args.key, &password()).await?;
    println!("signed {}", args.source.pinned(&digest));
    Ok(ExitCode::SUCCESS)
}

/// `capsule key generate`.
///
/// # Errors
/// Either file exists already, or cannot be written.
pub fn key(command: KeyCommand) -> anyhow::Result<ExitCode> {
    let KeyCommand::Generate { output } = command;
    let private_file = output.with_extension("key");
    let public_file = output.with_extension("pub");
    for file in [&private_file, &public_file] {
        if file.exists() {
            anyhow::bail!("'{}' exists; refusing to overwrite a key", file.display());
        }
    }
    let password = password();
    if password.is_empty() {
        eprintln!(
            "warning: {PASSWORD_ENV} is empty: the private key is encrypted with an empty password"
        );
    }
    let (private, public) = trust::generate_key_pair(&password)?;
    write_private(&private_file, private.as_bytes())?;
    std::fs::write(&public_file, &public)
        .with_context(|| format!("cannot write '{}'", public_file.display()))?;
    println!(
        "private key: {} (keep it secret)\npublic key: {} (add it to [trust] keys)",
        private_file.display(),
        public_file.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Create `file` with mode 0600 (it must not exist).
fn write_private(file: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .with_context(|| format!("cannot create '{}'", file.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("cannot write '{}'", file.display()))?;
    Ok(())
}
