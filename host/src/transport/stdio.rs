//! stdio transport with JSON-RPC hygiene in front of rmcp.
//!
//! rmcp's stdio codec silently drops lines it cannot parse; a client that sent one would wait
//! forever. This layer answers them as JSON-RPC 2.0 §5.1 requires: a line that is not JSON gets
//! `-32700 Parse error`, a batch array or an object that is not a JSON-RPC 2.0 message gets
//! `-32600 Invalid Request` (MCP 2025-11-25 removed batching), with the request `id` when one can
//! be read, else `null`. Valid lines pass through unchanged. Output from rmcp and these errors are
//! written to stdout whole lines at a time, so they never interleave.

use serde_json::Value;

use super::jsonrpc::{PARSE_ERROR, Screened, error_response, screen};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Size of the in-process pipes between this layer and rmcp.
const PIPE_BYTES: usize = 1 << 16;

/// Whether an output line is a response (it has an `id` and no `method`).
fn is_response(line: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Shape {
        id: Option<serde::de::IgnoredAny>,
        method: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Shape>(line).is_ok_and(|s| s.id.is_some() && s.method.is_none())
}

/// Longest wait, after stdin closed, for responses to requests already received.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Requests handed to rmcp and not yet answered, so that closing stdin does not drop them.
#[derive(Default)]
struct InFlight {
    count: std::sync::Mutex<usize>,
    changed: tokio::sync::Notify,
}

impl InFlight {
    fn add(&self) {
        *self.count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
    }

    fn done(&self) {
        let mut count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        *count = count.saturating_sub(1);
        self.changed.notify_waiters();
    }

    async fn drained(&self) {
        loop {
            let notified = self.changed.notified();
            if *self.count.lock().unwrap_or_else(|e| e.into_inner()) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// The streams to hand to rmcp, and the task that writes its output.
pub struct Pipes {
    /// What rmcp reads: the screened input lines.
    pub reader: DuplexStream,
    /// What rmcp writes: copied to the real output line by line.
    pub writer: DuplexStream,
    /// Ends once rmcp dropped `writer` and every line reached the output. Await it before the
    /// process exits, or the last responses may be lost.
    pub flushed: JoinHandle<()>,
}

/// Wrap real stdin/stdout. Spawns two tasks on the current tokio runtime; both end when stdin
/// closes and rmcp drops its writer. When stdin closes, rmcp is told only after every request
/// already received has been answered (at most [`DRAIN_TIMEOUT`]), so a client that writes its
/// requests and closes its end still gets every response.
pub fn transport() -> Pipes {
    wrap(tokio::io::stdin(), tokio::io::stdout())
}

/// [`transport`] over any byte streams (for tests).
pub fn wrap<R, W>(input: R, output: W) -> Pipes
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (mut to_rmcp, rmcp_reader) = tokio::io::duplex(PIPE_BYTES);
    let (rmcp_writer, from_rmcp) = tokio::io::duplex(PIPE_BYTES);
    let (errors_tx, mut errors_rx) = mpsc::unbounded_channel::<Value>();
    let in_flight = std::sync::Arc::new(InFlight::default());
    let pending = in_flight.clone();

    tokio::spawn(async move {
        let mut lines = BufReader::new(input).lines();
        loop {
            let line = match lines.next_line().await {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    // Invalid UTF-8 ends the line reader; report and stop reading.
                    let _ = errors_tx.send(error_response(
                        Value::Null,
                        PARSE_ERROR,
                        format!("Parse error: input is not UTF-8 text ({e})"),
                    ));
                    break;
                }
            };
            match screen(&line) {
                Screened::Forward { request } => {
                    if request {
                        pending.add();
                    }
                    if to_rmcp.write_all(line.as_bytes()).await.is_err()
                        || to_rmcp.write_all(b"\n").await.is_err()
                    {
                        break;
                    }
                }
                Screened::Skip => {}
                Screened::Reject(error) => {
                    tracing::warn!(
                        "rejected malformed JSON-RPC input: {}",
                        error["error"]["message"]
                    );
                    let _ = errors_tx.send(error);
                }
            }
        }
        if tokio::time::timeout(DRAIN_TIMEOUT, pending.drained())
            .await
            .is_err()
        {
            tracing::warn!("stdin closed; gave up waiting for requests still running");
        }
        let _ = to_rmcp.shutdown().await;
    });

    let flushed = tokio::spawn(async move {
        let mut output = output;
        let mut rmcp_lines = BufReader::new(from_rmcp).lines();
        let mut errors_open = true;
        loop {
            let line = tokio::select! {
                line = rmcp_lines.next_line() => match line {
                    Ok(Some(line)) => {
                        if is_response(&line) {
                            in_flight.done();
                        }
                        line
                    }
                    _ => break,
                },
                error = errors_rx.recv(), if errors_open => match error {
                    Some(error) => error.to_string(),
                    None => { errors_open = false; continue; }
                },
            };
            if write_line(&mut output, &line).await.is_err() {
                return;
            }
        }
        // rmcp is done; errors for lines read before stdin closed may still be queued.
        errors_rx.close();
        while let Some(error) = errors_rx.recv().await {
            if write_line(&mut output, &error.to_string()).await.is_err() {
                return;
            }
        }
    });

    Pipes {
        reader: rmcp_reader,
        writer: rmcp_writer,
        flushed,
    }
}

async fn write_line<W: AsyncWrite + Unpin>(output: &mut W, line: &str) -> std::io::Result<()> {
    output.write_all(line.as_bytes()).await?;
    output.write_all(b"\n").await?;
    output.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_garbage_and_forwards_the_rest() {
        let input: &[u8] = b"not json\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";
        let (output_writer, mut output_reader) = tokio::io::duplex(4096);
        let pipes = wrap(input, output_writer);
        let mut forwarded = BufReader::new(pipes.reader).lines();
        assert_eq!(
            forwarded.next_line().await.unwrap().as_deref(),
            Some(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        );
        drop(pipes.writer);
        pipes.flushed.await.unwrap();
        let mut out = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut output_reader, &mut out)
            .await
            .unwrap();
        let reply: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(reply["error"]["code"], PARSE_ERROR);
        assert_eq!(reply["id"], Value::Null);
    }
}
