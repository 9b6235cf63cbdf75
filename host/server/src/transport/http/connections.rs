//! Admission of TCP connections: a global cap on open connections, a deadline for the first
//! byte, and prompt release at shutdown (issue #14, part 10).
//!
//! [`Gate`] is the innermost axum-server acceptor (under TLS when HTTPS is on). For each
//! accepted connection it:
//! 1. sets `TCP_NODELAY` (an SSE response is written as several small events; with Nagle's
//!    algorithm and delayed ACKs each exchange would stall ~40 ms);
//! 2. takes a permit of the connection semaphore, held until the connection closes; without
//!    one the connection is answered `503 Service Unavailable` (plain HTTP; with TLS it is
//!    closed) with the message of [`over_capacity_message`], and closed;
//! 3. waits for the client's first byte, at most the header timeout, and closes the connection
//!    when it does not come or when shutdown begins.
//!
//! From then on hyper's HTTP/1 `header_read_timeout` (set in [`super::serve`]) closes a
//! connection whose request head is not complete within the header timeout, counted from when
//! hyper starts waiting for one: after the first byte, and between requests on a kept-alive
//! connection, so the same timeout is the idle keep-alive timeout.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// How long an over-capacity connection is given to send its request before it is answered,
/// so that closing it does not reset the connection under the answer.
const DRAIN_WAIT: Duration = Duration::from_millis(200);

/// The acceptor (see the module docs).
#[derive(Clone)]
pub struct Gate {
    permits: Arc<Semaphore>,
    limit: usize,
    first_byte: Duration,
    shutdown: CancellationToken,
    tls: bool,
}

impl Gate {
    /// At most `limit` connections open at once; each must send a byte within `first_byte`;
    /// waiting ends when `shutdown` is cancelled. `tls`: the connection will carry TLS, so an
    /// over-capacity one is closed without a plain-text answer.
    pub fn new(limit: usize, first_byte: Duration, shutdown: CancellationToken, tls: bool) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(limit.min(Semaphore::MAX_PERMITS))),
            limit,
            first_byte,
            shutdown,
            tls,
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.limit
            .min(Semaphore::MAX_PERMITS)
            .saturating_sub(self.permits.available_permits())
    }
}

/// The body of the `503` an over-capacity connection gets.
pub fn over_capacity_message(limit: usize) -> String {
    format!(
        "Service Unavailable: the server holds its limit of {limit} open connections \
         (--max-connections raises it); retry later, and reuse connections (keep-alive)"
    )
}

impl<S: Send + 'static> axum_server::accept::Accept<TcpStream, S> for Gate {
    type Stream = Admitted;
    type Service = S;
    type Future = BoxFuture<'static, io::Result<(Admitted, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let gate = self.clone();
        Box::pin(async move {
            stream.set_nodelay(true)?;
            let Ok(permit) = gate.permits.clone().try_acquire_owned() else {
                if !gate.tls {
                    refuse(stream, gate.limit).await;
                }
                return Err(io::Error::other("connection limit reached"));
            };
            let mut first_byte = [0u8; 1];
            tokio::select! {
                first = tokio::time::timeout(gate.first_byte, stream.peek(&mut first_byte)) => match first {
                    Ok(Ok(0)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(read) => read.map(drop)?,
                    Err(_) => return Err(io::ErrorKind::TimedOut.into()),
                },
                _ = gate.shutdown.cancelled() => return Err(io::ErrorKind::Interrupted.into()),
            }
            Ok((
                Admitted {
                    stream,
                    _permit: permit,
                },
                service,
            ))
        })
    }
}

/// Answer `503` and close: read what the client sent first (briefly), so the close does not
/// reset the connection before the answer is read.
async fn refuse(mut stream: TcpStream, limit: usize) {
    let mut sink = [0u8; 4096];
    if let Ok(Ok(n)) = tokio::time::timeout(DRAIN_WAIT, stream.read(&mut sink)).await
        && n == sink.len()
    {
        while let Ok(n) = stream.try_read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    }
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": capsule_common::codes::SERVER_BUSY, "message": over_capacity_message(limit)},
    })
    .to_string();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 5\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let answer = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(DRAIN_WAIT, answer).await;
}

/// An admitted connection: the TCP stream and its permit, given back when it closes.
pub struct Admitted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum_server::accept::Accept as _;
    use tokio::net::TcpListener;

    async fn pair(listener: &TcpListener) -> (TcpStream, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, server) = tokio::join!(client, listener.accept());
        (client.unwrap(), server.unwrap().0)
    }

    #[tokio::test]
    async fn over_the_cap_a_connection_gets_503_and_a_closed_one_frees_its_place() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gate = Gate::new(1, Duration::from_secs(5), CancellationToken::new(), false);
        let (mut first, server) = pair(&listener).await;
        first.write_all(b"G").await.unwrap();
        let admitted = gate.accept(server, ()).await.unwrap();
        assert_eq!(gate.open(), 1);

        let (mut second, server) = pair(&listener).await;
        second
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(gate.accept(server, ()).await.is_err());
        let mut answer = String::new();
        second.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        assert!(answer.contains("--max-connections"), "{answer}");

        drop(admitted);
        assert_eq!(gate.open(), 0);
    }

    #[tokio::test]
    async fn a_silent_connection_is_dropped_at_the_deadline_or_at_shutdown() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let shutdown = CancellationToken::new();
        let gate = Gate::new(4, Duration::from_millis(50), shutdown.clone(), false);
        let (_client, server) = pair(&listener).await;
        let error = gate.accept(server, ()).await.err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(gate.open(), 0);

        let gate = Gate::new(4, Duration::from_secs(60), shutdown.clone(), false);
        let (_client, server) = pair(&listener).await;
        let waiting = tokio::spawn({
            let gate = gate.clone();
            async move { gate.accept(server, ()).await.err().map(|e| e.kind()) }
        });
        shutdown.cancel();
        assert_eq!(waiting.await.unwrap(), Some(io::ErrorKind::Interrupted));
    }
}
