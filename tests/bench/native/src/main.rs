//! `capsule-native-baseline`: the tools of the `hello` and `textkit` example plugins, implemented
//! natively in Rust with rmcp and no WebAssembly, as the benchmark baseline (issue #9).
//!
//! The tool names, descriptions, annotations, argument and result shapes are those Capsule serves
//! for `plugins/hello` and `plugins/textkit` (`hello_greet`, `textkit_word_count`, ...), so the
//! benchmark harness can send the very same requests to both servers and report Capsule ÷ native.
//! Results carry the structured content and its JSON text, as Capsule's do.
//!
//! ```text
//! capsule-native-baseline                       # MCP over stdio (rmcp's stdio transport)
//! capsule-native-baseline --stdio-pipes         # MCP over stdio, read and written as Capsule
//!                                               # does: non-blocking pipes on the reactor
//! capsule-native-baseline --http 127.0.0.1:8931 # Streamable HTTP at /mcp (2025-11-25 sessions
//!                                               # and 2026-07-28 stateless requests)
//! ```
//!
//! Built only for benchmarking: no auth, loopback Host check only (rmcp's default).

use axum::serve::ListenerExt as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, InitializeResult, ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{Json, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Arguments of `greet`.
#[derive(Deserialize, JsonSchema)]
struct GreetArgs {
    /// Who to greet
    name: String,
}

/// Result of `greet`.
#[derive(Serialize, JsonSchema)]
struct Greeting {
    /// The greeting, e.g. `Hello, Ada!`
    greeting: String,
}

/// A piece of text.
#[derive(Deserialize, JsonSchema)]
struct TextArgs {
    /// The input text
    text: String,
}

/// Counts of a text.
#[derive(Serialize, JsonSchema)]
struct Counts {
    /// Whitespace-separated words
    words: usize,
    /// Lines (a trailing newline does not start a new line)
    lines: usize,
    /// Unicode scalar values
    chars: usize,
}

/// A URL slug.
#[derive(Serialize, JsonSchema)]
struct Slug {
    /// Lowercase ASCII letters and digits separated by single dashes
    slug: String,
}

/// A SHA-256 digest.
#[derive(Serialize, JsonSchema)]
struct Digest256 {
    /// Lowercase hex digest of the text's UTF-8 bytes
    hex: String,
}

/// Base64 text.
#[derive(Serialize, JsonSchema)]
struct Encoded {
    /// Standard base64 (RFC 4648, with padding) of the text's UTF-8 bytes
    encoded: String,
}

/// Base64 to decode.
#[derive(Deserialize, JsonSchema)]
struct DecodeArgs {
    /// Standard base64 (RFC 4648, with padding) of UTF-8 text
    encoded: String,
}

/// Plain text.
#[derive(Serialize, JsonSchema)]
struct Text {
    /// The resulting text
    text: String,
}

/// The native server: every tool of `hello` and `textkit`, under Capsule's names.
#[derive(Clone)]
struct Baseline {
    tool_router: ToolRouter<Self>,
}

#[tool_router(router = tool_router)]
impl Baseline {
    fn new() -> Self {
        Self {
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        name = "hello_greet",
        description = "Greet someone by name",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn greet(&self, Parameters(args): Parameters<GreetArgs>) -> Json<Greeting> {
        Json(Greeting {
            greeting: format!("Hello, {}!", args.name),
        })
    }

    #[tool(
        name = "textkit_word_count",
        description = "Count the words, lines and characters of a text",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn word_count(&self, Parameters(args): Parameters<TextArgs>) -> Json<Counts> {
        Json(Counts {
            words: args.text.split_whitespace().count(),
            lines: args.text.lines().count(),
            chars: args.text.chars().count(),
        })
    }

    #[tool(
        name = "textkit_slugify",
        description = "Turn a text into a URL slug (lowercase ASCII letters and digits joined by dashes)",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn slugify(&self, Parameters(args): Parameters<TextArgs>) -> Json<Slug> {
        let mut slug = String::with_capacity(args.text.len());
        let mut pending_dash = false;
        for c in args.text.chars() {
            if c.is_ascii_alphanumeric() {
                if pending_dash && !slug.is_empty() {
                    slug.push('-');
                }
                pending_dash = false;
                slug.push(c.to_ascii_lowercase());
            } else {
                pending_dash = true;
            }
        }
        Json(Slug { slug })
    }

    #[tool(
        name = "textkit_sha256",
        description = "SHA-256 digest of a text's UTF-8 bytes, as lowercase hex",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn sha256(&self, Parameters(args): Parameters<TextArgs>) -> Json<Digest256> {
        let digest = Sha256::digest(args.text.as_bytes());
        Json(Digest256 {
            hex: digest.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    #[tool(
        name = "textkit_base64_encode",
        description = "Encode a text's UTF-8 bytes as standard base64 with padding",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn base64_encode(&self, Parameters(args): Parameters<TextArgs>) -> Json<Encoded> {
        Json(Encoded {
            encoded: STANDARD.encode(args.text.as_bytes()),
        })
    }

    #[tool(
        name = "textkit_base64_decode",
        description = "Decode standard base64 into UTF-8 text",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn base64_decode(
        &self,
        Parameters(args): Parameters<DecodeArgs>,
    ) -> Result<Json<Text>, String> {
        let bytes = STANDARD.decode(args.encoded.trim()).map_err(|e| {
            format!("invalid arguments: `encoded` is not valid standard base64 (RFC 4648, with padding): {e}")
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            format!("invalid arguments: `encoded` decodes to bytes that are not UTF-8 text: {e}")
        })?;
        Ok(Json(Text { text }))
    }

    #[tool(
        name = "textkit_reverse",
        description = "Reverse a text character by character",
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn reverse(&self, Parameters(args): Parameters<TextArgs>) -> Json<Text> {
        Json(Text {
            text: args.text.chars().rev().collect(),
        })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Baseline {
    fn get_info(&self) -> ServerConfig {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "capsule-native-baseline",
                env!("CARGO_PKG_VERSION"),
            ))
    }
}

fn usage() -> ! {
    eprintln!("usage: capsule-native-baseline [--http HOST:PORT | --stdio-pipes]");
    std::process::exit(2)
}

/// stdin and stdout as non-blocking pipes driven by tokio's reactor, with 1 MiB pipe buffers:
/// the I/O Capsule's stdio transport does (`host/src/transport/stdio.rs`), without its JSON-RPC
/// screening, so that Capsule ÷ this baseline isolates the cost of the sandbox and the screen
/// from the cost of the I/O model. (rmcp's `stdio()` reads and writes through tokio's blocking
/// thread pool.)
fn stdio_pipes() -> anyhow::Result<(
    tokio::net::unix::pipe::Receiver,
    tokio::net::unix::pipe::Sender,
)> {
    use std::os::fd::{AsFd as _, AsRawFd as _};
    let dup = |fd: std::os::fd::BorrowedFd<'_>| -> anyhow::Result<std::os::fd::OwnedFd> {
        let owned = fd.try_clone_to_owned()?;
        // SAFETY: F_SETPIPE_SZ on a descriptor this process owns; failure is harmless.
        unsafe { libc::fcntl(owned.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
        Ok(owned)
    };
    let input = tokio::net::unix::pipe::Receiver::from_owned_fd(dup(std::io::stdin().as_fd())?)?;
    let output = tokio::net::unix::pipe::Sender::from_owned_fd(dup(std::io::stdout().as_fd())?)?;
    Ok((input, output))
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (http, pipes) = match args.next().as_deref() {
        None => (None, false),
        Some("--http") => (Some(args.next().unwrap_or_else(|| usage())), false),
        Some("--stdio-pipes") => (None, true),
        Some(_) => usage(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        match http {
            None if pipes => {
                let running = Baseline::new().serve(stdio_pipes()?).await?;
                running.waiting().await?;
            }
            None => {
                let running = Baseline::new().serve(rmcp::transport::stdio()).await?;
                running.waiting().await?;
            }
            Some(addr) => {
                let service: StreamableHttpService<Baseline, LocalSessionManager> =
                    StreamableHttpService::new(
                        || Ok(Baseline::new()),
                        Default::default(),
                        StreamableHttpServerConfig::default(),
                    );
                let router = axum::Router::new().nest_service("/mcp", service);
                let listener = tokio::net::TcpListener::bind(&addr).await?;
                eprintln!(
                    "capsule-native-baseline: Streamable HTTP at http://{}/mcp",
                    listener.local_addr()?
                );
                // No Nagle: an SSE reply is written in several small pieces (event, then the end
                // of the chunked body), and Nagle plus the client's delayed ACK would hold the
                // later pieces for up to 40 ms.
                let listener = listener.tap_io(|tcp| {
                    let _ = tcp.set_nodelay(true);
                });
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = tokio::signal::ctrl_c().await;
                    })
                    .await?;
            }
        }
        anyhow::Ok(())
    })
}
