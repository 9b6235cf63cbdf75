//! The `capsule` binary.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use rmcp::ServiceExt as _;
use tracing_subscriber::EnvFilter;

use capsule_auth::audit::AuditLog;
use capsule_auth::ratelimit::RateLimits;
use capsule_auth::{Access, Authenticator, Mode, Transport, bearer};
use capsule_host::cli::{AuthCommand, Cli, Command, HttpArgs, LogFormat, ServeArgs};
use capsule_host::commands;
use capsule_host::config::HostConfig;
use capsule_host::json_log;
use capsule_host::watch;
use capsule_server::catalog::Catalog;
use capsule_server::hub::Hub;
use capsule_server::request_state::RequestStates;
use capsule_server::server::{CapsuleServer, Shared};
use capsule_server::transport::http::{self, HttpOptions, TlsFiles, guard::Allowlist};
use capsule_telemetry::{PrometheusMetrics, Settings};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Log filter when neither `--log-level` nor `RUST_LOG` is given: our INFO lines, rmcp's warnings,
/// Sigstore's errors only (Capsule reports signature outcomes itself).
const DEFAULT_LOG_FILTER: &str = "info,rmcp=warn,sigstore=error";

fn init_logging(filter: Option<&str>, format: LogFormat) {
    let filter = match filter {
        Some(f) => EnvFilter::new(f),
        None => {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER))
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(false)
            .event_format(json_log::WithTraceIds(
                tracing_subscriber::fmt::format()
                    .json()
                    .with_current_span(false),
            ))
            .init(),
    }
}

fn banner(catalog: &Catalog, failures: usize, held: usize) -> String {
    let plugins = catalog.plugins();
    let names: Vec<String> = plugins
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect();
    let count = |f: fn(&capsule_server::catalog::PluginSummary) -> usize| {
        plugins.iter().map(f).sum::<usize>()
    };
    format!(
        "{} plugin(s) [{}]: {} tools, {} resources, {} resource templates, {} prompts; {} file(s) skipped; {} held",
        plugins.len(),
        names.join(", "),
        count(|p| p.tools.len()),
        count(|p| p.resources.len()),
        count(|p| p.resource_templates.len()),
        count(|p| p.prompts.len()),
        failures,
        held,
    )
}

/// Refuse a non-loopback bind without authentication unless `--insecure-no-auth` says the risk
/// is understood.
fn check_bind(addr: std::net::SocketAddr, args: &HttpArgs, auth: Mode) -> anyhow::Result<()> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    if auth != Mode::None {
        if args.tls_cert.is_none() {
            tracing::warn!(
                "serving {addr} without TLS: access tokens cross the network in clear unless a \
                 TLS-terminating proxy is in front (use --tls-cert/--tls-key otherwise)"
            );
        }
        if args.allowed_hosts.is_empty() {
            tracing::warn!(
                "only loopback Host headers are accepted; add --allowed-host NAME[:PORT] for the \
                 name clients use to reach {addr}"
            );
        }
        return Ok(());
    }
    if !args.insecure_no_auth {
        anyhow::bail!(
            "refusing to serve MCP on {addr}: it is not a loopback address and no authentication \
             is configured (auth mode \"none\"), so anyone who can reach it could run your \
             plugins. Configure authentication: --auth oauth --auth-issuer URL --auth-resource \
             URL (or [auth] mode = \"oauth\" in capsule.toml) for an OAuth authorization \
             server, or --auth bearer --auth-tokens FILE for static tokens; or bind 127.0.0.1 \
             (e.g. --http 127.0.0.1:{port}) behind an authenticating reverse proxy, or pass \
             --insecure-no-auth if such a proxy already guards this address",
            port = addr.port()
        );
    }
    let banner = format!(
        "WARNING: serving MCP WITHOUT AUTHENTICATION on {addr} (--insecure-no-auth): anyone who \
         can reach this address can call every plugin. Use it only behind an authenticating proxy."
    );
    eprintln!("\n{}\n{banner}\n{}\n", "!".repeat(78), "!".repeat(78));
    tracing::warn!("{banner}");
    if args.allowed_hosts.is_empty() {
        tracing::warn!(
            "only loopback Host headers are accepted; add --allowed-host NAME[:PORT] for the name \
             clients use to reach {addr}"
        );
    }
    Ok(())
}

/// Resolve once SIGINT or SIGTERM arrives.
async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::warn!("cannot install signal handlers; graceful shutdown disabled");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => tracing::info!("SIGINT received"),
        _ = term.recv() => tracing::info!("SIGTERM received"),
    }
}

/// Serve one MCP session on stdin/stdout until the client closes stdin.
async fn serve_stdio(shared: Arc<Shared>, live: bool, access: Arc<Access>) -> anyhow::Result<()> {
    let server = CapsuleServer::new(shared, live).with_access(access, Transport::Stdio);
    let pipes = capsule_server::transport::stdio::transport();
    // Outgoing messages pass the 2025-11-25 tasks adapter (capabilities.tasks, execution).
    let transport = capsule_server::transport::tasks_2025::Adapted(
        rmcp::transport::async_rw::AsyncRwTransport::new_server(pipes.reader, pipes.writer),
    );
    let service = match server.serve(transport).await {
        Ok(service) => service,
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => {
            tracing::info!("stdin closed before the client initialized");
            return Ok(());
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context("starting the MCP session on stdio"));
        }
    };
    let opened = std::time::Instant::now();
    let pipe = capsule_telemetry::metrics::network_transport(true);
    capsule_telemetry::metrics::sessions_active(1, pipe);
    let protocol = service
        .peer()
        .peer_info()
        .map(|info| info.protocol_version.to_string());
    let waited = service.waiting().await;
    capsule_telemetry::metrics::sessions_active(-1, pipe);
    capsule_telemetry::metrics::session(protocol.as_deref(), pipe, opened.elapsed());
    let reason = waited.context("serving MCP on stdio")?;
    // rmcp has dropped its writer: wait until its last lines reach stdout.
    let _ = pipes.flushed.await;
    tracing::info!(?reason, "stdio session ended");
    Ok(())
}

/// The host config with the command line's auth overrides applied and checked.
fn serve_config(args: &ServeArgs) -> anyhow::Result<HostConfig> {
    let mut config = commands::host_config(&args.source)?;
    let auth = &mut config.auth;
    if let Some(mode) = args.http.auth {
        auth.mode = mode;
    }
    if let Some(resource) = &args.http.auth_resource {
        auth.resource = Some(resource.clone());
    }
    if let Some(issuer) = &args.http.auth_issuer {
        auth.oauth.issuer = Some(issuer.clone());
    }
    if let Some(file) = &args.http.auth_tokens {
        let tokens =
            capsule_auth::config::load_tokens_file(file, &capsule_common::env::process_env)
                .map_err(anyhow::Error::msg)?;
        auth.tokens.extend(tokens);
    }
    if args.http.http.is_none() {
        // stdio serves the local user: no authentication applies.
        auth.mode = Mode::None;
    }
    auth.check()
        .map_err(|e| anyhow::anyhow!("authentication: {e}"))?;
    Ok(config)
}

/// Scopes, rate limits and the audit log for every transport.
fn access(args: &ServeArgs, config: &HostConfig) -> anyhow::Result<Arc<Access>> {
    let audit = match &args.audit.audit_log {
        Some(path) => Some(AuditLog::open(path, args.audit.audit_arguments)?),
        None => None,
    };
    Ok(Arc::new(Access {
        mode: config.auth.mode,
        scopes: config.auth.scopes.clone(),
        limits: RateLimits::new(&config.rate_limits),
        audit,
    }))
}

/// Log what authentication is in force, and scope grants that name no loaded plugin.
fn describe_auth(config: &HostConfig, catalog: &Catalog) {
    let auth = &config.auth;
    match auth.mode {
        Mode::None => {}
        Mode::Bearer => tracing::info!(
            tokens = auth.tokens.len(),
            "authentication: static bearer tokens"
        ),
        Mode::Oauth => tracing::info!(
            issuer = auth.oauth.issuer.as_deref().unwrap_or("-"),
            resource = auth.resource.as_deref().unwrap_or("-"),
            tokens = ?auth.oauth.tokens,
            "authentication: OAuth 2.1 access tokens"
        ),
    }
    let loaded: Vec<&str> = catalog.plugins().iter().map(|p| p.name.as_str()).collect();
    for plugin in auth.scopes.plugins_named() {
        if !loaded.contains(&plugin) {
            tracing::warn!("[auth.scopes] names plugin '{plugin}', which is not loaded (yet)");
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = serve_config(&args)?;
    // Checked and bound before plugins load, so a refused or busy address fails fast.
    let listener = match args.http.http {
        Some(addr) => {
            check_bind(addr, &args.http, config.auth.mode)?;
            Some(http::bind(addr)?)
        }
        None => None,
    };
    let authenticator = Arc::new(Authenticator::new(&config.auth)?);
    // Before plugins load, so that their loads are counted.
    let (metrics, metrics_listener) = telemetry(&args, &config).await?;
    let access = access(&args, &config)?;
    let tls = match (&args.http.tls_cert, &args.http.tls_key) {
        (Some(cert), Some(key)) => {
            let files = TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            };
            // Checked now too, so that bad files fail before plugins load.
            http::tls::server_config(&files)?;
            Some(files)
        }
        _ => None,
    };
    let auth_config = Arc::new(config.auth.clone());
    let pins = args.source.pins(args.approve_definition_changes)?;
    if args.approve_definition_changes {
        let lock = pins.as_ref().map(|p| p.path().display().to_string());
        tracing::warn!(
            "--approve-definition-changes: the rug-pull protection is OFF: pinned plugins whose \
             definitions change are published without approval and {} is rewritten",
            lock.as_deref()
                .unwrap_or("(no lock file: nothing is pinned)")
        );
    }
    let library = commands::load(&args.source, config.clone(), pins, None).await?;
    let catalog = library.catalog();
    describe_auth(&config, &catalog);
    let transports = match (&listener, args.http.stdio) {
        (None, _) => "stdio",
        (Some(_), false) => "HTTP",
        (Some(_), true) => "HTTP and stdio",
    };
    let request_states = match &args.request_state_key {
        Some(path) => {
            let key = std::fs::read(path).with_context(|| {
                format!("--request-state-key {}: cannot read it", path.display())
            })?;
            RequestStates::new(&key, args.request_state_ttl)
                .with_context(|| format!("--request-state-key {}", path.display()))?
        }
        None => RequestStates::generated(args.request_state_ttl),
    };
    tracing::info!(
        plugins_dir = %args.source.plugins.display(),
        "capsule {} serving on {transports}: {}",
        env!("CARGO_PKG_VERSION"),
        banner(&catalog, library.failures().len(), library.held().len())
    );
    let hub = Hub::new(catalog);
    let shared = Shared::with(
        hub.clone(),
        args.page_size,
        request_states,
        args.default_log_level.0,
        args.task_settings(),
    );
    let watcher = if args.watch.no_watch {
        None
    } else {
        Some(watch::spawn(library, hub.clone())?)
    };
    let live = watcher.is_some();
    let shutdown = CancellationToken::new();
    if let (Some(exported), Some(listener)) = (&metrics, metrics_listener) {
        let (exported, shutdown) = (exported.clone(), shutdown.clone());
        tokio::spawn(async move {
            if let Err(e) = http::metrics::serve(listener, exported, shutdown).await {
                tracing::error!("the metrics listener failed: {e}");
            }
        });
    }
    let Some(listener) = listener else {
        let served = serve_stdio(shared, live, access.clone()).await;
        shutdown.cancel();
        close_audit(&access);
        served?;
        return Ok(ExitCode::SUCCESS);
    };
    let limits = args.http.client_limits();
    let options = HttpOptions {
        allow: Allowlist::new(args.http.allowed_hosts, args.http.allowed_origins),
        tls,
        max_body: usize::try_from(args.http.max_request_body.as_u64()).unwrap_or(usize::MAX),
        shutdown_timeout: args.http.shutdown_timeout,
        auth: authenticator,
        auth_config,
        access: access.clone(),
        limits,
        metrics: metrics.filter(|_| args.telemetry.metrics),
    };
    {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            termination().await;
            shutdown.cancel();
        });
    }
    if args.http.stdio {
        let (shared, shutdown, access) = (shared.clone(), shutdown.clone(), access.clone());
        tokio::spawn(async move {
            if let Err(e) = serve_stdio(shared, live, access).await {
                tracing::error!("{e:#}");
            }
            tracing::info!("stdin closed: shutting down");
            shutdown.cancel();
        });
    }
    let served = http::serve(listener, shared, live, options, shutdown).await;
    close_audit(&access);
    served?;
    drop(watcher);
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Install the telemetry the command line and the environment ask for: Prometheus metrics with
/// `--metrics` or `--metrics-addr` (whose listener is bound here, before plugins load, like the
/// MCP listener), OTLP export of traces and metrics when an endpoint is configured (`OTEL_*`,
/// `[telemetry]`).
async fn telemetry(
    args: &ServeArgs,
    config: &HostConfig,
) -> anyhow::Result<(
    Option<Arc<PrometheusMetrics>>,
    Option<tokio::net::TcpListener>,
)> {
    let telemetry = &args.telemetry;
    let prometheus = telemetry.metrics || telemetry.metrics_addr.is_some();
    let settings = Settings::resolve(&config.telemetry, prometheus, |name| {
        std::env::var(name).ok()
    })
    .map_err(anyhow::Error::msg)?;
    let exported = capsule_telemetry::install(&settings).map_err(anyhow::Error::msg)?;
    for (signal, target) in [("traces", &settings.traces), ("metrics", &settings.metrics)] {
        if let Some(target) = target {
            tracing::info!(
                endpoint = %target.endpoint,
                protocol = ?target.protocol,
                "exporting {signal} over OTLP"
            );
        }
    }
    let listener = match telemetry.metrics_addr {
        Some(addr) => {
            if !addr.ip().is_loopback() {
                tracing::warn!(
                    "serving /metrics on {addr} without authentication: anyone who can reach \
                     it reads the metrics (plugin and tool names, rates, latencies)"
                );
            }
            Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("--metrics-addr {addr}: cannot bind"))?,
            )
        }
        None => None,
    };
    Ok((exported, listener))
}

/// Write out every audit record still queued (at shutdown).
fn close_audit(access: &Access) {
    if let Some(log) = &access.audit {
        log.close(std::time::Duration::from_secs(10));
        tracing::info!(path = %log.path().display(), "audit log closed");
    }
}

fn auth_command(command: AuthCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuthCommand::NewToken => {
            let token = bearer::new_token()?;
            println!("{token}");
            eprintln!(
                "sha256 = \"{}\"   # for [[auth.token]] in capsule.toml; keep the token itself secret",
                bearer::hex(&bearer::sha256(token.as_bytes()))
            );
        }
        AuthCommand::HashToken => {
            let mut token = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut token)?;
            let token = token.trim();
            if !bearer::is_token68(token) {
                anyhow::bail!(
                    "stdin does not hold a bearer token (letters, digits and -._~+/ with trailing =)"
                );
            }
            if token.len() < bearer::MIN_TOKEN_LEN {
                eprintln!(
                    "warning: the token is {} bytes long; `capsule auth new-token` makes a strong one",
                    token.len()
                );
            }
            println!("{}", bearer::hex(&bearer::sha256(token.as_bytes())));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Auth(command) => auth_command(command),
        Command::Pull(args) => capsule_host::oci::pull(args).await,
        Command::Push(args) => capsule_host::oci::push(args).await,
        Command::Sign(args) => capsule_host::oci::sign(args).await,
        Command::Key(command) => capsule_host::oci::key(command),
        Command::Plugins(args) => commands::plugins(args).await,
        Command::Lock(args) => commands::lock(args).await,
        Command::Approve(args) => commands::approve(args).await,
        Command::Update(args) => commands::update(args).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_level.as_deref(), cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("capsule: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("capsule: {e:#}");
            ExitCode::from(2)
        }
    };
    // Export the last spans and metrics while the runtime still drives the gRPC channel.
    capsule_telemetry::shutdown();
    code
}
