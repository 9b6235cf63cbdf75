//! Test support: real plugins (built by `make plugins` into `target/plugins`, or
//! `$CAPSULE_PLUGINS`) loaded into catalogs, and an MCP client that speaks newline-delimited
//! JSON-RPC to a [`CapsuleServer`] over an in-process pipe (`tokio::io::duplex`), as a stdio
//! client would.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rmcp::ServiceExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader, DuplexStream, Lines};
use tokio::io::{ReadHalf, WriteHalf};

use capsule_common::test_support::{built_plugin, repo_root};

use crate::catalog::Catalog;
use crate::server::CapsuleServer;
use capsule_sandbox::grants::{Mount, Policy};
use capsule_sandbox::runtime::cache::content_hash;
use capsule_sandbox::runtime::{LoadedPlugin, PluginImage, Runtime};

/// How long a test waits for one answer or notification before failing.
const PATIENCE: Duration = Duration::from_secs(20);

/// One runtime for every test of the binary: compiled plugins are cached under
/// `target/test-cache`, so each plugin compiles once per build.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let cache = repo_root().join("target/test-cache/capsule-server");
        Runtime::new(Some(&cache)).expect("a wasmtime runtime")
    })
}

/// Load `target/plugins/FILE.wasm` as plugin `FILE`. `notes` gets its `/notes` directory
/// (`plugins/notes/data`, read-only); other plugins get no grants.
pub async fn plugin(file: &str) -> Arc<LoadedPlugin> {
    let path = built_plugin(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut policy = Policy::default();
    if file == "notes" {
        let data = repo_root().join("plugins/notes/data");
        let mount: Mount = format!("notes:/notes={}:ro", data.display())
            .parse()
            .expect("the notes mount parses");
        policy.mounts.push(mount);
    }
    let hash = content_hash(&bytes);
    match PluginImage::load(runtime(), file, path, bytes, hash, &policy).await {
        Ok(plugin) => Arc::new(plugin),
        Err(e) => panic!("{file} did not load: {e}"),
    }
}

/// A catalog of the plugins in `files`.
pub async fn catalog(files: &[&str]) -> Catalog {
    let mut plugins = Vec::new();
    for file in files {
        plugins.push(plugin(file).await);
    }
    Catalog::build(&plugins)
}

/// The client end of one MCP session (2025-11-25) with a [`CapsuleServer`].
pub struct Wire {
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    writer: WriteHalf<DuplexStream>,
    next_id: u64,
    /// Notifications that arrived while a response was awaited, oldest first.
    pub notifications: VecDeque<Value>,
    /// The `initialize` result.
    pub initialized: Value,
}

impl Wire {
    /// Serve `server` on an in-process pipe, as the stdio transport does (outgoing messages
    /// through [`crate::transport::tasks_2025::Adapted`]), and complete the `initialize`
    /// handshake (protocol 2025-11-25, no client capabilities).
    pub async fn connect(server: CapsuleServer) -> Wire {
        let (client, served) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            // As the real transports do: the 2025-11-25 tasks adapter on the way out.
            let (read, write) = tokio::io::split(served);
            let transport = crate::transport::tasks_2025::Adapted(
                rmcp::transport::async_rw::AsyncRwTransport::new_server(read, write),
            );
            if let Ok(running) = server.serve(transport).await {
                let _ = running.waiting().await;
            }
        });
        let (reader, writer) = tokio::io::split(client);
        let mut wire = Wire {
            lines: BufReader::new(reader).lines(),
            writer,
            next_id: 1,
            notifications: VecDeque::new(),
            initialized: Value::Null,
        };
        let params = json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": { "name": "capsule-server-tests", "version": "0" },
        });
        wire.initialized = wire
            .request("initialize", params)
            .await
            .expect("initialize succeeds");
        wire.send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await;
        wire
    }

    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    async fn read(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("the server answers in time")
            .expect("the pipe is readable")
            .expect("the server did not close the pipe");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Send request `method` with `params`; `Ok(result)` or `Err(error object)`.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.send(request).await;
        loop {
            let mut message = self.read().await;
            if message.get("id") == Some(&json!(id)) {
                return match message.get_mut("error") {
                    Some(error) => Err(error.take()),
                    None => Ok(message["result"].take()),
                };
            }
            assert!(
                message.get("id").is_none(),
                "unexpected message from the server: {message}"
            );
            self.notifications.push_back(message);
        }
    }

    /// The next notification (one already received, else the next to arrive).
    pub async fn notification(&mut self) -> Value {
        if let Some(n) = self.notifications.pop_front() {
            return n;
        }
        let message = self.read().await;
        assert!(
            message.get("id").is_none(),
            "expected a notification, got {message}"
        );
        message
    }

    /// Every item of list `method` (`tools/list`, ...), whose items are under `field`, read page
    /// by page; returns the pages' keys (`key` of each item).
    pub async fn list_all(&mut self, method: &str, field: &str, key: &str) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut params = json!({});
        loop {
            let result = self
                .request(method, params)
                .await
                .unwrap_or_else(|e| panic!("{method}: {e}"));
            let keys = result[field]
                .as_array()
                .unwrap_or_else(|| panic!("{method} result without {field}: {result}"))
                .iter()
                .map(|item| item[key].as_str().unwrap().to_string())
                .collect();
            pages.push(keys);
            match result.get("nextCursor").and_then(Value::as_str) {
                Some(cursor) => params = json!({ "cursor": cursor }),
                None => return pages,
            }
        }
    }
}
