//! The `capsule` command line (clap).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::grants::Mount;

/// Capsule: an MCP server whose tools, resources and prompts live in sandboxed WebAssembly
/// components.
#[derive(Debug, Parser)]
#[command(name = "capsule", version, about, long_about = None)]
pub struct Cli {
    /// Log filter for stderr (e.g. `info`, `debug`, `capsule=debug,warn`). Defaults to $RUST_LOG,
    /// else `info,rmcp=warn`.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the plugins in a directory over MCP (stdio).
    Serve(ServeArgs),
    /// Load the plugins in a directory and describe them (exit status 1 if a file failed).
    Plugins(PluginsArgs),
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

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub source: PluginSource,

    #[command(flatten)]
    pub watch: WatchArgs,
}

#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(flatten)]
    pub source: PluginSource,

    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}
