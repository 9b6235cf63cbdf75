//! The audit log (`--audit-log PATH`): one JSON object per line (JSON Lines) per call and per
//! refused request.
//!
//! A call line (`"event": "call"`) — a tool call, resource read or prompt get, over any transport:
//!
//! ```json
//! {"time":"2026-11-21T10:00:00.123Z","event":"call","request_id":7,"subject":"alice",
//!  "client_id":"inspector","transport":"http","method":"tools/call","plugin":"notes",
//!  "tool":"notes_search","arguments_sha256":"9f2c…","outcome":"ok","duration_ms":3.1}
//! ```
//!
//! `outcome` is `ok`, `tool_error` (the tool answered `isError: true`), `error` (a JSON-RPC
//! error, e.g. an unknown tool), `denied` (with `reason`, e.g. `insufficient_scope: needs
//! notes:write`) or `limited` (a rate limit; `reason` names it). An `"event": "auth"` line records
//! a request refused before any call was read: no or an invalid token (`reason` says why). The
//! arguments appear only as the SHA-256 of their compact JSON, unless the operator passes
//! `--audit-arguments` (which also adds a tool error's text, since it may echo them). Tokens and
//! secrets never appear.
//!
//! Lines are handed to a writer thread through an unbounded channel, so a call never waits for
//! the disk; the writer flushes whenever it has caught up. [`AuditLog::close`] (at shutdown) waits
//! until every line sent before it is written and synced, so none is lost.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;

use super::bearer::{hex, sha256};
use super::principal::Principal;

/// The SHA-256 (hex) of a JSON value's compact serialization.
pub fn arguments_digest(arguments: &Value) -> String {
    hex(&sha256(arguments.to_string().as_bytes()))
}

/// One line of the audit log.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Record {
    pub time: String,
    /// `call` or `auth`.
    pub event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Value>,
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `stdio`, `http` or `sse`.
    pub transport: &'static str,
    /// The JSON-RPC method (`tools/call`, ...), or `HTTP-METHOD /path` for an `auth` line.
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// `ok`, `tool_error`, `error`, `denied` or `limited`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub duration_ms: f64,
}

impl Record {
    /// A record stamped now, for `principal` (if any).
    pub fn new(
        event: &'static str,
        transport: &'static str,
        principal: Option<&Principal>,
    ) -> Self {
        Self {
            time: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            event,
            subject: principal.map(|p| p.subject.clone()),
            client_id: principal.and_then(|p| p.client_id.clone()),
            transport,
            ..Self::default()
        }
    }

    pub fn took(mut self, elapsed: Duration) -> Self {
        self.duration_ms = (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0;
        self
    }
}

enum Message {
    Line(String),
    Close(mpsc::Sender<()>),
}

/// The audit log writer.
pub struct AuditLog {
    path: PathBuf,
    sender: mpsc::Sender<Message>,
    /// Whether to write the raw arguments too (`--audit-arguments`).
    pub raw_arguments: bool,
}

impl AuditLog {
    /// Open (append, create with mode 0600) `path` and start the writer thread.
    pub fn open(path: &Path, raw_arguments: bool) -> anyhow::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| anyhow::anyhow!("cannot open the audit log '{}': {e}", path.display()))?;
        let (sender, receiver) = mpsc::channel::<Message>();
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("capsule-audit".into())
            .spawn(move || write_lines(file, receiver, &shown))?;
        Ok(Self {
            path: path.to_path_buf(),
            sender,
            raw_arguments,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queue one record (never blocks on the disk).
    pub fn write(&self, record: &Record) {
        match serde_json::to_string(record) {
            Ok(line) => {
                if self.sender.send(Message::Line(line)).is_err() {
                    tracing::error!("audit log writer has stopped; a record was lost");
                }
            }
            Err(e) => tracing::error!("cannot serialize an audit record: {e}"),
        }
    }

    /// Wait (up to `timeout`) until every record queued so far is written and synced.
    pub fn close(&self, timeout: Duration) {
        let (ack, done) = mpsc::channel();
        if self.sender.send(Message::Close(ack)).is_ok() && done.recv_timeout(timeout).is_err() {
            tracing::error!("the audit log did not finish writing within {timeout:?}");
        }
    }
}

fn write_lines(file: std::fs::File, receiver: mpsc::Receiver<Message>, path: &str) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
    let mut failed = false;
    let report = |e: std::io::Error, failed: &mut bool| {
        if !*failed {
            tracing::error!("cannot write the audit log '{path}': {e}");
            *failed = true;
        }
    };
    while let Ok(message) = receiver.recv() {
        let mut next = Some(message);
        // Write everything queued, then flush once.
        while let Some(message) = next.take() {
            match message {
                Message::Line(line) => {
                    if let Err(e) = out
                        .write_all(line.as_bytes())
                        .and_then(|()| out.write_all(b"\n"))
                    {
                        report(e, &mut failed);
                    }
                }
                Message::Close(ack) => {
                    if let Err(e) = out.flush().and_then(|()| out.get_ref().sync_data()) {
                        report(e, &mut failed);
                    }
                    let _ = ack.send(());
                }
            }
            next = receiver.try_recv().ok();
        }
        if let Err(e) = out.flush() {
            report(e, &mut failed);
        }
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn many_lines_from_many_threads_all_arrive_and_parse() {
        let dir = std::env::temp_dir().join(format!("capsule-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(&path);
        let log = std::sync::Arc::new(AuditLog::open(&path, false).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        let mut r = Record::new("call", "http", None);
                        r.method = "tools/call".into();
                        r.request_id = Some(json!(t * 10_000 + i));
                        r.arguments_sha256 = Some(arguments_digest(&json!({"i": i})));
                        r.outcome = "ok";
                        log.write(&r);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        log.close(Duration::from_secs(10));
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 16_000);
        assert!(
            lines
                .iter()
                .all(|l| l["event"] == "call" && l["subject"].is_null())
        );
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn digests_are_sha256_of_compact_json() {
        assert_eq!(
            arguments_digest(&json!({})),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
