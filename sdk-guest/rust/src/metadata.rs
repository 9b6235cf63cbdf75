//! What a plugin says about itself: name, version, description and the
//! capabilities it requests.

/// How much of a granted path the plugin asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    ReadOnly,
    /// Read and write.
    ReadWrite,
}

/// A filesystem path the plugin would like to see inside its sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesystemRequest {
    /// Absolute guest path, e.g. `/data`.
    pub path: String,
    /// Read-only or read-write.
    pub access: Access,
    /// Why the plugin needs it (shown to the operator).
    pub reason: Option<String>,
}

/// The plugin's self-description, returned by the WIT `describe` export.
///
/// Capability requests grant nothing: the operator grants capabilities in
/// policy and the plugin gets at most the intersection of what it requested
/// and what was granted.
///
/// ```
/// use capsule_plugin::{Access, Metadata};
/// let meta = Metadata::new("notes", "0.1.0")
///     .description("Markdown notes")
///     .filesystem("/notes", Access::ReadOnly, "reads the notes it serves")
///     .env("NOTES_LOCALE");
/// assert_eq!(meta.filesystem[0].path, "/notes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Display name. The host namespaces tools and prompts by the plugin's
    /// file stem, not by this name.
    pub name: String,
    /// Semantic version, usually `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// One line about what the plugin does.
    pub description: Option<String>,
    /// Filesystem paths requested.
    pub filesystem: Vec<FilesystemRequest>,
    /// Network requested: HTTP origins such as `https://api.github.com`,
    /// `tcp://host:port`, or `*` (whatever is granted).
    pub network: Vec<String>,
    /// Names of environment variables the plugin reads.
    pub env: Vec<String>,
}

impl Metadata {
    /// Metadata with a name and a version and nothing requested.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Metadata {
            name: name.into(),
            version: version.into(),
            description: None,
            filesystem: Vec::new(),
            network: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Set the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Request the guest path `path` with `access`, explaining why.
    pub fn filesystem(
        mut self,
        path: impl Into<String>,
        access: Access,
        reason: impl Into<String>,
    ) -> Self {
        self.filesystem.push(FilesystemRequest {
            path: path.into(),
            access,
            reason: Some(reason.into()),
        });
        self
    }

    /// Request outgoing HTTP to `origin` (`scheme://host[:port]`, the host
    /// may start with `*.`), raw TCP to `tcp://host:port`, or `*`: whatever
    /// the operator grants (for generic clients that cannot know their
    /// origins). The host's `[network]` policy decides what is reachable.
    pub fn network(mut self, origin: impl Into<String>) -> Self {
        self.network.push(origin.into());
        self
    }

    /// Declare that the plugin reads environment variable `name`.
    pub fn env(mut self, name: impl Into<String>) -> Self {
        self.env.push(name.into());
        self
    }
}
