//! An MCP client over a child process's stdin/stdout (newline-delimited JSON-RPC).
//!
//! One writer task batches outgoing lines (flushing when its queue is empty) and one reader task
//! routes each reply to the request waiting for it, so any number of requests can be in flight
//! on the one pipe: concurrency N means N requests pipelined.
//!
//! The command runs as `sh -c "exec CMD"`: shell syntax works, and the process id is the
//! server's own (for `/proc/PID/status`). The server's stderr goes to a file or is discarded.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, BufWriter};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use crate::proto::{self, Incoming, Outcome};

/// A reply: its outcome, when its line was read, and the whole message if it was asked for.
type Reply = (Outcome, Instant, Option<serde_json::Value>);

/// Who waits for which request id, and whether it wants the whole message parsed.
type Pending = Arc<Mutex<HashMap<u64, (oneshot::Sender<Reply>, bool)>>>;

/// A running stdio MCP server and the client end of its pipes.
pub struct StdioClient {
    out: mpsc::UnboundedSender<Vec<u8>>,
    pending: Pending,
    next_id: AtomicU64,
    /// Methods of notifications (and server→client requests) as they arrive.
    messages: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Instant)>>,
    child: tokio::sync::Mutex<Child>,
    pid: u32,
}

/// Start `cmd` through `sh -c "exec CMD"`.
fn command(cmd: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(format!("exec {cmd}"));
    c.kill_on_drop(true);
    c
}

/// Spawn `cmd` with stdin/stdout/stderr as given; return the child.
pub fn spawn_plain(cmd: &str, stderr: Option<&Path>) -> anyhow::Result<Child> {
    let mut c = command(cmd);
    c.stdin(Stdio::null()).stdout(Stdio::null());
    c.stderr(stderr_to(stderr)?);
    c.spawn().with_context(|| format!("cannot start `{cmd}`"))
}

fn stderr_to(path: Option<&Path>) -> anyhow::Result<Stdio> {
    Ok(match path {
        Some(p) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("cannot open {}", p.display()))?,
        ),
        None => Stdio::null(),
    })
}

impl StdioClient {
    /// Spawn the server `cmd`; its stderr is appended to `stderr` (or discarded).
    ///
    /// # Errors
    /// The command cannot be started.
    pub fn spawn(cmd: &str, stderr: Option<&Path>) -> anyhow::Result<Self> {
        let mut c = command(cmd);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr_to(stderr)?);
        let mut child = c.spawn().with_context(|| format!("cannot start `{cmd}`"))?;
        let pid = child.id().context("the server exited at once")?;
        let stdin = child.stdin.take().context("no stdin pipe")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;

        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            let mut w = BufWriter::with_capacity(1 << 16, stdin);
            while let Some(line) = out_rx.recv().await {
                if w.write_all(&line).await.is_err() {
                    return;
                }
                // Batch whatever else is queued, then flush once.
                while let Ok(line) = out_rx.try_recv() {
                    if w.write_all(&line).await.is_err() {
                        return;
                    }
                }
                if w.flush().await.is_err() {
                    return;
                }
            }
            // Queue closed: dropping `w` closes the server's stdin.
        });

        let pending: Pending = Arc::default();
        let (msg_tx, msg_rx) = mpsc::unbounded_channel();
        let routes = pending.clone();
        tokio::spawn(async move {
            let mut r = BufReader::with_capacity(1 << 20, stdout);
            let mut line = Vec::with_capacity(1 << 16);
            loop {
                line.clear();
                match r.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let now = Instant::now();
                let text = line.trim_ascii();
                if text.is_empty() {
                    continue;
                }
                match proto::parse_incoming(text) {
                    Ok(Incoming::Response { id, outcome }) => {
                        let waiter = routes.lock().unwrap().remove(&id);
                        if let Some((waiter, full)) = waiter {
                            let value = full.then(|| serde_json::from_slice(text).ok()).flatten();
                            let _ = waiter.send((outcome, now, value));
                        }
                    }
                    Ok(Incoming::Message { method }) => {
                        let _ = msg_tx.send((method, now));
                    }
                    Ok(Incoming::Unmatched { outcome }) => {
                        eprintln!("capsule-bench: a reply without a usable id: {outcome:?}");
                    }
                    Err(e) => eprintln!("capsule-bench: {e:#}"),
                }
            }
            // The server closed stdout: fail everything still waiting.
            routes.lock().unwrap().clear();
        });

        Ok(Self {
            out,
            pending,
            next_id: AtomicU64::new(1),
            messages: tokio::sync::Mutex::new(msg_rx),
            child: tokio::sync::Mutex::new(child),
            pid,
        })
    }

    /// Open a 2025-11-25 session: `initialize`, then `notifications/initialized`.
    ///
    /// # Errors
    /// The server did not answer, or refused.
    pub async fn initialize(&self) -> anyhow::Result<()> {
        let (outcome, _) = self
            .request("initialize", &proto::initialize_params().to_string())
            .await?;
        if outcome != proto::Outcome::Ok {
            bail!("initialize failed: {outcome:?}");
        }
        self.notify("notifications/initialized")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Send a request whose params are already serialised; wait for its reply. Returns the
    /// outcome and the instant the reply line was read.
    ///
    /// # Errors
    /// The server closed its stdout or stdin before replying.
    pub async fn request(
        &self,
        method: &str,
        params_json: &str,
    ) -> anyhow::Result<(Outcome, Instant)> {
        let (outcome, at, _) = self.send(method, params_json, false).await?;
        Ok((outcome, at))
    }

    /// Like [`Self::request`], but return the whole reply message, parsed (not for timing).
    ///
    /// # Errors
    /// As [`Self::request`], or the reply is an error.
    pub async fn request_value(
        &self,
        method: &str,
        params_json: &str,
    ) -> anyhow::Result<serde_json::Value> {
        match self.send(method, params_json, true).await? {
            (Outcome::Ok, _, Some(value)) => Ok(value),
            (outcome, _, _) => bail!("{method} failed: {outcome:?}"),
        }
    }

    async fn send(&self, method: &str, params_json: &str, full: bool) -> anyhow::Result<Reply> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut line = proto::request_text(id, method, params_json).into_bytes();
        line.push(b'\n');
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, (tx, full));
        if self.out.send(line).is_err() {
            bail!("the server's stdin is closed");
        }
        rx.await
            .map_err(|_| anyhow::anyhow!("the server closed stdout before answering {method}"))
    }

    /// Send a notification.
    pub fn notify(&self, method: &str) -> anyhow::Result<()> {
        let mut line = proto::notification_text(method).into_bytes();
        line.push(b'\n');
        self.out
            .send(line)
            .map_err(|_| anyhow::anyhow!("the server's stdin is closed"))
    }

    /// Wait up to `timeout` for a message (notification or server request) named `method`,
    /// skipping others; returns when it was read.
    pub async fn wait_for(&self, method: &str, timeout: Duration) -> Option<Instant> {
        let mut rx = self.messages.lock().await;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((m, at))) if m == method => return Some(at),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Forget messages received so far.
    pub async fn drain_messages(&self) {
        let mut rx = self.messages.lock().await;
        while rx.try_recv().is_ok() {}
    }

    /// Close the server's stdin and wait up to `grace` for it to exit, then kill it.
    pub async fn shutdown(self, grace: Duration) {
        let Self { out, child, .. } = self;
        drop(out);
        let mut child = child.into_inner();
        if tokio::time::timeout(grace, child.wait()).await.is_err() {
            let _ = child.kill().await;
        }
    }
}
