//! The `capsule` command line (clap).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
#[allow(deprecated)] // MCP logging (SEP-2577) is still part of both revisions Capsule serves.
use rmcp::model::LoggingLevel;

use capsule_auth::Mode as AuthMode;
use capsule_sandbox::grants::Mount;
use capsule_server::transport::http::guard::{HostRule, OriginRule};
use capsule_server::transport::http::limits::ClientLimits;

/// Capsule: an MCP server whose tools, resources and prompts live in sandboxed WebAssembly
/// components.
#[derive(Debug, Parser)]
#[command(name = "capsule", version, about, long_about = None)]
pub struct Cli {
    /// Log filter for stderr (e.g. `info`, `debug`, `capsule=debug,warn`). Defaults to $RUST_LOG,
    /// else `info,rmcp=warn`.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    /// How log lines on stderr are written: `text` (the default) or `json` (one JSON object per
    /// line: `timestamp`, `level`, `target`, `fields` with the message and the line's fields —
    /// `plugin` on everything a plugin prints — for log collectors).
    #[arg(long, global = true, value_name = "FORMAT", default_value = "text")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// The format of log lines (`--log-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (ANSI colours on a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

// `serve` has many flags; the enum is parsed once per process, so its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the plugins in a directory over MCP: stdio (the default), or HTTP with `--http`.
    Serve(ServeArgs),
    /// Load the plugins in a directory and describe them (exit status 1 if a file failed or a
    /// pinned plugin's definitions differ from the lock file, so that it is held).
    Plugins(PluginsArgs),
    /// Pin every plugin in the directory that the lock file does not pin yet (its definitions
    /// and component); existing pins are kept. Exit status 1 if a file failed or a pinned
    /// plugin's definitions differ from its pin.
    Lock(LockArgs),
    /// Approve the current definitions of pinned plugins: show what changed, then write their
    /// new hashes into the lock file (a running server watching it publishes them).
    Approve(ApproveArgs),
    /// Move the pins of registry plugins (`[[plugin]]` in the config) to what their sources name
    /// now: fetch and verify, show what changed (version, requested grants, tools), write the
    /// lock file (a running server watching it serves the new versions).
    Update(UpdateArgs),
    /// Static bearer tokens: make one, or hash one for `[[auth.token]] sha256 = ...`.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Fetch a plugin from an OCI registry, verify its digest and signature, and write it into
    /// a plugin directory.
    Pull(crate::oci::PullArgs),
    /// Publish a component to an OCI registry in the Wasm artifact layout.
    Push(crate::oci::PushArgs),
    /// Sign an artifact in a registry with a cosign key (the signature goes to the registry).
    Sign(crate::oci::SignArgs),
    /// Signing keys.
    #[command(subcommand)]
    Key(crate::oci::KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Print a new random token (43 characters) and, on stderr, its SHA-256 for the config.
    NewToken,
    /// Read a token from stdin and print its SHA-256 (hex), for `[[auth.token]] sha256 = "..."`.
    HashToken,
}

/// Where plugins come from and what they are granted.
#[derive(Debug, Args)]
pub struct PluginSource {
    /// Directory of plugin components (`*.wasm`); each plugin is named after its file stem.
    #[arg(long, value_name = "DIR")]
    pub plugins: PathBuf,

    /// Grant plugin PLUGIN the host directory HOST_DIR at guest path GUEST, read-only (`:ro`, the
    /// default) or read-write (`:rw`). Repeatable. Example: `--fs notes:/notes=./data:ro`.
    #[arg(long = "fs", value_name = "PLUGIN:GUEST=HOST_DIR[:ro|:rw]")]
    pub mounts: Vec<Mount>,

    /// Host config file: default limits for every plugin and the caps no policy may exceed.
    /// Each plugin's own policy is `NAME.toml` beside `NAME.wasm`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Default wall-clock limit of one plugin call (e.g. `30s`, `500ms`); overrides the config's
    /// `[defaults] timeout` (30s when neither is given). A plugin's policy may set its own.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,

    /// Default memory limit of one plugin instance, in MiB; overrides the config's
    /// `[defaults] memory` (256 when neither is given). A plugin's policy may set its own.
    #[arg(long, value_name = "MIB")]
    pub memory_mib: Option<usize>,

    /// Where compiled plugins are cached (default: the user cache directory, e.g.
    /// ~/.cache/capsule/compiled). Must be private to this user.
    #[arg(long, value_name = "DIR", conflicts_with = "no_cache")]
    pub cache_dir: Option<PathBuf>,

    /// Compile every plugin at start-up instead of using the compile cache.
    #[arg(long)]
    pub no_cache: bool,

    /// The lock file pinning plugins' definitions (`capsule lock`, `capsule approve`). Default:
    /// `capsule.lock` beside `--config FILE`; with neither, nothing is pinned. A lock file that
    /// does not exist pins nothing.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,

    /// The content-addressed store, where approved definitions documents are kept (default:
    /// the user data directory, e.g. ~/.local/share/capsule/store).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

impl PluginSource {
    /// The lock file: `--lock`, else `capsule.lock` beside `--config`, else none.
    pub fn lock_path(&self) -> Option<PathBuf> {
        crate::lock::lock_path(self.lock.as_deref(), self.config.as_deref())
    }

    /// The lock file in force (see [`Self::lock_path`]), read; `approve_changes` is
    /// `serve --approve-definition-changes`.
    ///
    /// # Errors
    /// The lock file exists but cannot be read or parsed.
    pub fn pins(
        &self,
        approve_changes: bool,
    ) -> Result<Option<crate::pinning::Pins>, capsule_sandbox::grants::policy::PolicyError> {
        self.lock_path()
            .map(|path| crate::pinning::Pins::open(path, self.store_dir(), approve_changes))
            .transpose()
    }

    /// The store directory: `--store`, else `capsule/store` in the user data directory.
    pub fn store_dir(&self) -> Option<PathBuf> {
        self.store
            .clone()
            .or_else(|| dirs::data_dir().map(|d| d.join("capsule").join("store")))
    }
}

/// Hot reload of the plugin directory.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Watch the plugin directory and apply changes live (the default).
    #[arg(long, overrides_with = "no_watch")]
    pub watch: bool,

    /// Serve the plugins found at start-up and ignore later changes.
    #[arg(long)]
    pub no_watch: bool,
}

/// Serving MCP over HTTP.
#[derive(Debug, Args)]
pub struct HttpArgs {
    /// Serve MCP over HTTP on this address (e.g. `127.0.0.1:8080`; port 0 picks a free port):
    /// Streamable HTTP at `/mcp`, legacy HTTP+SSE at `/sse`, `/healthz` and `/readyz`. Without
    /// `--stdio`, stdio is not served.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,

    /// With `--http`: serve stdio as well (the process ends when stdin closes).
    #[arg(long, requires = "http")]
    pub stdio: bool,

    /// Accept this `Host` header too (`NAME` or `NAME:PORT`); loopback names are always
    /// accepted. Needed when clients reach the server by another name. Repeatable.
    #[arg(long = "allowed-host", value_name = "HOST[:PORT]", requires = "http")]
    pub allowed_hosts: Vec<HostRule>,

    /// Accept requests from this browser origin too (`SCHEME://HOST[:PORT|:*]`, `null`);
    /// `http(s)://localhost|127.0.0.1|[::1]` on any port are always accepted. Repeatable.
    #[arg(long = "allowed-origin", value_name = "ORIGIN", requires = "http")]
    pub allowed_origins: Vec<OriginRule>,

    /// Serve HTTPS with this PEM certificate chain (with `--tls-key`). Reloaded on SIGHUP.
    #[arg(long, value_name = "PEM", requires_all = ["http", "tls_key"])]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of `--tls-cert`.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Allow binding a non-loopback address although Capsule authenticates nobody: anyone who
    /// can reach the port can run your plugins. Only behind an authenticating reverse proxy.
    #[arg(long, requires = "http")]
    pub insecure_no_auth: bool,

    /// Authentication of HTTP requests; overrides `[auth] mode` of the config. `bearer`: static
    /// tokens (`[[auth.token]]` or `--auth-tokens`); `oauth`: access tokens from an
    /// authorization server (`[auth.oauth]`, or `--auth-issuer` and `--auth-resource`).
    #[arg(long, value_name = "MODE", requires = "http")]
    pub auth: Option<AuthMode>,

    /// The canonical URL clients use for this server (e.g. `https://mcp.example.com/mcp`): the
    /// audience OAuth tokens must carry (RFC 8707). Overrides `[auth] resource`.
    #[arg(long, value_name = "URL", requires = "http")]
    pub auth_resource: Option<String>,

    /// The OAuth authorization server (issuer URL). Overrides `[auth.oauth] issuer`.
    #[arg(long, value_name = "URL", requires = "http")]
    pub auth_issuer: Option<String>,

    /// A file of static bearer tokens (`[[token]]` entries: subject, sha256 or env, scopes).
    #[arg(long, value_name = "FILE", requires = "http")]
    pub auth_tokens: Option<PathBuf>,

    /// Largest HTTP request body (e.g. `4MiB`, `512KiB`); larger ones get 413.
    #[arg(long, value_name = "SIZE", default_value = "4MiB", requires = "http")]
    pub max_request_body: bytesize::ByteSize,

    /// On SIGINT/SIGTERM, how long to let calls in flight finish before closing every stream.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,

    /// Most TCP connections open at once; one more is answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = ClientLimits::DEFAULT_MAX_CONNECTIONS,
          value_parser = positive, requires = "http")]
    pub max_connections: usize,

    /// How long a connection may take to send a complete request head, counted from when it
    /// opens and, between HTTP/1.1 requests, from the end of the previous response (so it is
    /// also the idle keep-alive timeout). Slower or idle connections are closed.
    #[arg(long, value_name = "DURATION", default_value = "10s",
          value_parser = parse_timeout, requires = "http")]
    pub header_timeout: Duration,

    /// Most MCP sessions open at once (2025-11-25 Streamable HTTP `Mcp-Session-Id` sessions and
    /// legacy `/sse` sessions together); one more `initialize` gets 503.
    #[arg(long, value_name = "N", default_value_t = ClientLimits::DEFAULT_MAX_SESSIONS,
          value_parser = positive, requires = "http")]
    pub max_sessions: usize,

    /// Most MCP sessions one subject (the token's subject; `anonymous` without auth) holds at
    /// once; one more gets 429.
    #[arg(long, value_name = "N", default_value_t = ClientLimits::DEFAULT_MAX_SESSIONS_PER_SUBJECT,
          value_parser = positive, requires = "http")]
    pub max_sessions_per_subject: usize,

    /// An MCP session with no request for this long ends; its next request gets 404 and the
    /// client initializes again.
    #[arg(long, value_name = "DURATION", default_value = "10m",
          value_parser = parse_timeout, requires = "http")]
    pub session_idle_timeout: Duration,

    /// Most long-lived streams (`GET /mcp` SSE streams and `subscriptions/listen` requests) one
    /// subject holds open at once; one more gets 429.
    #[arg(long, value_name = "N", default_value_t = ClientLimits::DEFAULT_MAX_STREAMS_PER_SUBJECT,
          value_parser = positive, requires = "http")]
    pub max_streams_per_subject: usize,
}

impl HttpArgs {
    /// The client limits these flags set.
    pub fn client_limits(&self) -> ClientLimits {
        ClientLimits {
            max_sessions: self.max_sessions,
            max_sessions_per_subject: self.max_sessions_per_subject,
            session_idle_timeout: self.session_idle_timeout,
            max_streams_per_subject: self.max_streams_per_subject,
            max_connections: self.max_connections,
            header_timeout: self.header_timeout,
        }
    }
}

/// A count of at least 1.
fn positive(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A duration above zero (`500ms`, `10s`, `10m`).
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be above zero".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// Metrics (README, "Observability").
#[derive(Debug, Args)]
pub struct TelemetryArgs {
    /// Record metrics and serve them at `GET /metrics` on the `--http` listener, behind its
    /// authentication (Prometheus text format). Off by default (then metrics cost nothing).
    #[arg(long, requires = "http")]
    pub metrics: bool,

    /// Record metrics and serve `GET /metrics` on this address too, without authentication
    /// (e.g. `127.0.0.1:9464`; for stdio deployments and scrapers without a token). A
    /// non-loopback address is served with a warning: anyone who reaches it reads the metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
}

/// The audit log.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Append one JSON line per tool call, resource read, prompt get and refused request to
    /// FILE (created with mode 0600): time, request id, subject, client, transport, plugin,
    /// target, SHA-256 of the arguments, outcome, duration.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,

    /// With `--audit-log`: record the raw arguments too, not only their SHA-256.
    #[arg(long, requires = "audit_log")]
    pub audit_arguments: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub source: PluginSource,

    #[command(flatten)]
    pub watch: WatchArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub audit: AuditArgs,

    #[command(flatten)]
    pub telemetry: TelemetryArgs,

    /// The level at and above which a 2025-11-25 session gets plugin log lines
    /// (`notifications/message`) until it sends `logging/setLevel`: `debug`, `info`, `notice`,
    /// `warning`, `error`, `critical`, `alert`, `emergency`, or `off` (none until the client
    /// asks). 2026-07-28 requests ask per request (`_meta`) and are not affected.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub default_log_level: DefaultLogLevel,

    /// Items per page of tools/list, resources/list, resources/templates/list and prompts/list;
    /// clients follow `nextCursor` for the rest.
    #[arg(long, value_name = "N", default_value_t = capsule_server::pagination::DEFAULT_PAGE_SIZE,
          value_parser = clap::value_parser!(usize))]
    pub page_size: usize,

    /// A file holding the HMAC key (at least 32 bytes, e.g. `head -c 32 /dev/urandom`) that
    /// seals the `requestState` of input-required results (2026-07-28 elicitation, sampling and
    /// roots). Give every replica behind one load balancer the same file; without it a random
    /// key is made at start, so retries must reach the same process.
    #[arg(long, value_name = "FILE")]
    pub request_state_key: Option<PathBuf>,

    /// How long a finished MCP task's result is kept for the client to fetch (e.g. `1h`).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    pub task_ttl: Duration,

    /// Most MCP tasks one subject (token subject over HTTP; the local user over stdio) may have
    /// at once, running or kept.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(usize))]
    pub max_tasks_per_subject: usize,

    /// How long a call of a task-supporting tool runs inside its request before it becomes an
    /// MCP task (a call that ends or asks for input sooner answers in the request).
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub task_sync_window: Duration,

    /// The polling interval suggested to clients of MCP tasks (`pollIntervalMs`).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    pub task_poll_interval: Duration,

    /// How long a client has to answer an input-required result and retry (e.g. `10m`).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub request_state_ttl: Duration,

    /// Publish pinned plugins whose definitions changed without waiting for `capsule approve`,
    /// and rewrite the lock file with their new hashes (warned about each time). This turns the
    /// rug-pull protection off: a plugin update can then change what its tools say to clients.
    #[arg(long)]
    pub approve_definition_changes: bool,
}

impl ServeArgs {
    /// The MCP task settings of these flags.
    pub fn task_settings(&self) -> capsule_server::tasks::TaskSettings {
        capsule_server::tasks::TaskSettings {
            ttl: self.task_ttl,
            max_per_subject: self.max_tasks_per_subject,
            sync_window: self.task_sync_window,
            poll_interval: self.task_poll_interval,
        }
    }
}

#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(flatten)]
    pub source: PluginSource,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    #[command(flatten)]
    pub source: PluginSource,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The plugins to approve (their names, the file stems).
    #[arg(
        value_name = "NAME",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub names: Vec<String>,

    /// Approve every pinned plugin in the directory.
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub source: PluginSource,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The registry plugins to update (their `[[plugin]] name`); default: all of them.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    #[command(flatten)]
    pub source: PluginSource,
}

/// `--default-log-level`: an MCP logging level (RFC 5424 severities, as MCP names them) or `off`.
#[allow(deprecated)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DefaultLogLevel(pub Option<LoggingLevel>);

#[allow(deprecated)]
impl std::str::FromStr for DefaultLogLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "off" {
            return Ok(Self(None));
        }
        serde_json::from_value(serde_json::Value::String(s.to_string()))
            .map(|level| Self(Some(level)))
            .map_err(|_| {
                format!(
                    "'{s}' is not a log level: use debug, info, notice, warning, error, critical, \
                     alert, emergency or off"
                )
            })
    }
}
