//! A plugin's stdout and stderr, routed into the host log.
//!
//! Plugins never write to the host's stdout: in a stdio server that stream carries JSON-RPC. Each
//! complete line a plugin writes becomes one `tracing` event at INFO (stdout) or WARN (stderr),
//! tagged with the plugin name. Lines longer than [`MAX_LINE`] bytes are split; output is never
//! buffered beyond one line, so a chatty plugin cannot grow host memory. Every line is charged to
//! the plugin's log budget and escaped ([`super::emissions`]): a flood is dropped past the budget,
//! and a plugin cannot forge host log lines.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use capsule_telemetry::trace;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use super::emissions::{Emissions, escape};

/// Longest line (in bytes) kept before it is flushed to the log as is.
pub const MAX_LINE: usize = 4096;

/// Which of the plugin's output streams this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A [`StdoutStream`] that turns a plugin's output into log lines.
#[derive(Clone)]
pub struct LogOutput {
    plugin: Arc<str>,
    stream: Stream,
    emissions: Arc<Emissions>,
}

impl LogOutput {
    /// Output `stream` of plugin `plugin`, charged to its `emissions` budgets.
    pub fn new(plugin: Arc<str>, stream: Stream, emissions: Arc<Emissions>) -> Self {
        Self {
            plugin,
            stream,
            emissions,
        }
    }
}

impl IsTerminal for LogOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            plugin: self.plugin.clone(),
            stream: self.stream,
            emissions: self.emissions.clone(),
            buf: Vec::new(),
            // The guest opens its stream inside the call: the request's context, so that its
            // lines carry the request's trace ids although a background task writes them.
            trace: trace::enabled().then(trace::Context::current),
        })
    }
}

struct LineWriter {
    plugin: Arc<str>,
    stream: Stream,
    emissions: Arc<Emissions>,
    buf: Vec<u8>,
    /// The trace context of the call that opened the stream (tracing on only).
    trace: Option<trace::Context>,
}

impl LineWriter {
    fn emit(&self, line: &[u8]) {
        if !self.emissions.log_line(line.len()) {
            return;
        }
        let line = String::from_utf8_lossy(line);
        let line = escape(line.trim_end_matches('\r'));
        let _in_request = self.trace.clone().map(trace::Context::attach);
        match self.stream {
            Stream::Stdout => {
                tracing::info!(target: "capsule::plugin", plugin = %self.plugin, stream = "stdout", "{line}")
            }
            Stream::Stderr => {
                tracing::warn!(target: "capsule::plugin", plugin = %self.plugin, stream = "stderr", "{line}")
            }
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.buf.extend_from_slice(&data[..i]);
                    let line = std::mem::take(&mut self.buf);
                    self.emit_split(&line);
                    data = &data[i + 1..];
                }
                None => {
                    self.buf.extend_from_slice(data);
                    data = &[];
                    if self.buf.len() >= MAX_LINE {
                        let line = std::mem::take(&mut self.buf);
                        self.emit_split(&line);
                    }
                }
            }
        }
    }

    fn emit_split(&self, line: &[u8]) {
        if line.is_empty() {
            return self.emit(line);
        }
        for chunk in line.chunks(MAX_LINE) {
            self.emit(chunk);
        }
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.emit_split(&line);
        }
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.push(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
