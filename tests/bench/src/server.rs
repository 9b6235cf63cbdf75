//! A server under test: how to start it, how to reach it, and how long it took to be ready.
//!
//! Start-up is measured from just before the process is spawned to the moment the first
//! successful `tools/list` reply arrives (for HTTP: after polling the port until it accepts a
//! connection; for 2025-11-25: after the initialize handshake, which is part of being ready).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::json;
use tokio::process::Child;

use crate::http::{HttpConn, HttpTarget};
use crate::proto::{self, Era, Outcome};
use crate::stats::{self, Memory};
use crate::stdio::{self, StdioClient};

/// How to start and reach a server.
#[derive(Clone, Debug)]
pub struct ServerSpec {
    /// Name in reports, e.g. `capsule` or `native`.
    pub label: String,
    /// Command to spawn (through `sh -c "exec …"`). Without `url` the server speaks stdio.
    pub cmd: Option<String>,
    /// Streamable HTTP endpoint, e.g. `http://127.0.0.1:8931/mcp`. `{port}` in `url` and `cmd`
    /// is replaced by a free loopback port chosen at start.
    pub url: Option<String>,
    /// Where the server's stderr is appended (`None`: discarded).
    pub stderr: Option<PathBuf>,
}

impl ServerSpec {
    /// `stdio` or `http`.
    pub fn transport(&self) -> &'static str {
        if self.url.is_some() { "http" } else { "stdio" }
    }
}

/// How to reach a started server.
pub enum Endpoint {
    /// One pipe pair; requests are pipelined on it.
    Stdio(Arc<StdioClient>),
    /// An HTTP endpoint; each worker opens its own connection.
    Http {
        target: HttpTarget,
        addr: SocketAddr,
    },
}

/// A started server.
pub struct Server {
    pub endpoint: Endpoint,
    /// The spawned process behind an HTTP endpoint (stdio processes live in the client).
    child: Option<Child>,
    pid: Option<u32>,
    /// Spawn → first successful `tools/list`.
    pub startup: Duration,
    /// Tool names `tools/list` returned (first page).
    pub tools: Vec<String>,
}

/// A free loopback TCP port (bound and released; another process could take it meanwhile).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Server {
    /// Start the server (or connect to it, for an HTTP server without `cmd`), speak `era`, and
    /// wait for the first successful `tools/list`.
    ///
    /// # Errors
    /// The server does not start, does not answer, or answers with an error.
    pub async fn start(spec: &ServerSpec, era: Era) -> anyhow::Result<Self> {
        let port = if spec.url.as_deref().is_some_and(|u| u.contains("{port}"))
            || spec.cmd.as_deref().is_some_and(|c| c.contains("{port}"))
        {
            Some(free_port()?.to_string())
        } else {
            None
        };
        let fill = |s: &str| match &port {
            Some(p) => s.replace("{port}", p),
            None => s.to_string(),
        };
        let list_params = proto::with_meta(era, json!({})).to_string();
        match &spec.url {
            None => {
                let cmd = spec
                    .cmd
                    .as_deref()
                    .context("give the server command (--cmd) or its URL (--url)")?;
                let t0 = Instant::now();
                let client = StdioClient::spawn(&fill(cmd), spec.stderr.as_deref())?;
                if era == Era::Legacy {
                    client.initialize().await?;
                }
                let (outcome, at) = client.request("tools/list", &list_params).await?;
                let startup = at - t0;
                if outcome != Outcome::Ok {
                    bail!("tools/list failed: {outcome:?}");
                }
                let pid = client.pid();
                let client = Arc::new(client);
                // Names come from a second, fully parsed request: never part of the timing.
                let tools = tool_names(&client.request_value("tools/list", &list_params).await?);
                Ok(Self {
                    endpoint: Endpoint::Stdio(client),
                    child: None,
                    pid: Some(pid),
                    startup,
                    tools,
                })
            }
            Some(url) => {
                let target = HttpTarget::parse(&fill(url))?;
                let addr = target.addr().await?;
                let t0 = Instant::now();
                let mut child = match &spec.cmd {
                    Some(cmd) => Some(stdio::spawn_plain(&fill(cmd), spec.stderr.as_deref())?),
                    None => None,
                };
                let pid = child.as_ref().and_then(Child::id);
                // Poll until the port accepts (or the process died).
                let deadline = t0 + Duration::from_secs(120);
                let mut conn = loop {
                    match HttpConn::connect(&target, addr, era).await {
                        Ok(conn) => break conn,
                        Err(e) => {
                            if let Some(c) = child.as_mut()
                                && let Some(status) = c.try_wait()?
                            {
                                bail!("the server exited ({status}) before accepting: {e:#}");
                            }
                            if Instant::now() > deadline {
                                bail!("the server did not accept connections in time: {e:#}");
                            }
                            tokio::time::sleep(Duration::from_millis(2)).await;
                        }
                    }
                };
                let (outcome, at) = conn.request("tools/list", None, &list_params).await?;
                let startup = at - t0;
                if outcome != Outcome::Ok {
                    bail!("tools/list failed: {outcome:?}");
                }
                let tools =
                    tool_names(&conn.request_value("tools/list", None, &list_params).await?);
                conn.close().await;
                Ok(Self {
                    endpoint: Endpoint::Http { target, addr },
                    child,
                    pid,
                    startup,
                    tools,
                })
            }
        }
    }

    /// `VmRSS`/`VmHWM` of the server process now.
    pub fn memory(&self) -> Option<Memory> {
        self.pid.and_then(stats::memory)
    }

    /// Stop the server: close stdin (stdio) or send SIGTERM (HTTP), then kill after `grace`.
    pub async fn stop(self, grace: Duration) {
        match self.endpoint {
            Endpoint::Stdio(client) => {
                if let Ok(client) = Arc::try_unwrap(client) {
                    client.shutdown(grace).await;
                }
            }
            Endpoint::Http { .. } => {
                if let Some(mut child) = self.child {
                    if let Some(pid) = child.id() {
                        // SAFETY: signalling a child process we spawned and still own.
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
                    }
                    if tokio::time::timeout(grace, child.wait()).await.is_err() {
                        let _ = child.kill().await;
                    }
                }
            }
        }
    }
}

/// The tool names of a `tools/list` reply message.
fn tool_names(reply: &serde_json::Value) -> Vec<String> {
    reply["result"]["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
