//! An MCP client over Streamable HTTP: one HTTP/1.1 keep-alive connection per [`HttpConn`].
//!
//! Requests are `POST`s of one JSON-RPC message with `Accept: application/json,
//! text/event-stream`; a reply is read from a JSON body or from the SSE stream the server opens
//! for the request (events whose `data` is the JSON-RPC response). The latency of a request ends
//! when its response message has arrived, even if the stream closes later.
//!
//! Era specifics (see [`crate::proto`]): a 2025-11-25 connection runs `initialize` first and then
//! sends `Mcp-Session-Id` and `MCP-Protocol-Version` on every request (each connection is its own
//! session, as separate clients would be); a 2026-07-28 connection sends `MCP-Protocol-Version`,
//! `Mcp-Method` and, for `tools/call`, `Mcp-Name` with every request, and `_meta` in its params.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::proto::{self, Era, Incoming, Outcome};

/// Where the server listens: `http://HOST:PORT/PATH`.
#[derive(Clone, Debug)]
pub struct HttpTarget {
    /// `HOST:PORT` as written in the URL (the `Host` header).
    pub authority: String,
    /// The request path, e.g. `/mcp`.
    pub path: String,
}

impl HttpTarget {
    /// Parse `http://HOST:PORT/PATH` (plain HTTP only; TLS is not measured).
    ///
    /// # Errors
    /// Not an `http://` URL.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .with_context(|| format!("'{url}' is not an http:// URL (https is not supported)"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            bail!("'{url}' has no host");
        }
        let authority = if authority.contains(':') && !authority.ends_with(']') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(Self {
            authority,
            path: path.to_string(),
        })
    }

    /// Resolve the authority to a socket address.
    ///
    /// # Errors
    /// The name does not resolve.
    pub async fn addr(&self) -> anyhow::Result<SocketAddr> {
        tokio::net::lookup_host(&self.authority)
            .await?
            .next()
            .with_context(|| format!("'{}' does not resolve", self.authority))
    }
}

/// One connection (and, for 2025-11-25, one session).
pub struct HttpConn {
    sender: http1::SendRequest<Full<Bytes>>,
    target: HttpTarget,
    era: Era,
    session: Option<String>,
    next_id: u64,
}

/// Longest a single request may take before the harness gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

impl HttpConn {
    /// Open a TCP connection (no Nagle) and, for 2025-11-25, run the initialize handshake.
    ///
    /// # Errors
    /// Connection refused, or the handshake failed.
    pub async fn connect(target: &HttpTarget, addr: SocketAddr, era: Era) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut c = Self {
            sender,
            target: target.clone(),
            era,
            session: None,
            next_id: 1,
        };
        if era == Era::Legacy {
            let params = proto::initialize_params().to_string();
            let (outcome, _, session, _) = c.post("initialize", None, &params, true, false).await?;
            if outcome != Outcome::Ok {
                bail!("initialize failed: {outcome:?}");
            }
            c.session = session;
            c.notify("notifications/initialized").await?;
        }
        Ok(c)
    }

    /// Send a request (params already serialised, including `_meta` for 2026-07-28; `name` is the
    /// `Mcp-Name` header for `tools/call`). Returns the outcome and when the reply arrived.
    ///
    /// # Errors
    /// HTTP or protocol failures (not tool errors, which are an [`Outcome`]).
    pub async fn request(
        &mut self,
        method: &str,
        name: Option<&str>,
        params_json: &str,
    ) -> anyhow::Result<(Outcome, Instant)> {
        let (outcome, at, _, _) = self.post(method, name, params_json, false, false).await?;
        Ok((outcome, at))
    }

    /// Like [`Self::request`], but return the whole reply message, parsed (not for timing).
    ///
    /// # Errors
    /// As [`Self::request`], or the reply is an error.
    pub async fn request_value(
        &mut self,
        method: &str,
        name: Option<&str>,
        params_json: &str,
    ) -> anyhow::Result<serde_json::Value> {
        match self.post(method, name, params_json, false, true).await? {
            (Outcome::Ok, _, _, Some(raw)) => Ok(serde_json::from_slice(&raw)?),
            (outcome, ..) => bail!("{method} failed: {outcome:?}"),
        }
    }

    /// Send a notification (expects 202 Accepted).
    ///
    /// # Errors
    /// Any other status.
    pub async fn notify(&mut self, method: &str) -> anyhow::Result<()> {
        let body = proto::notification_text(method);
        let req = self
            .builder(Method::POST, method, None)?
            .body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let _ = resp.into_body().collect().await;
        if !status.is_success() {
            bail!("{method}: HTTP {status}");
        }
        Ok(())
    }

    /// End the 2025-11-25 session (`DELETE`); a no-op for 2026-07-28.
    pub async fn close(mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let Ok(req) = Request::builder()
            .method(Method::DELETE)
            .uri(&self.target.path)
            .header(HOST, &self.target.authority)
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", self.era.version())
            .body(Full::new(Bytes::new()))
        else {
            return;
        };
        if self.sender.ready().await.is_ok()
            && let Ok(resp) = self.sender.send_request(req).await
        {
            let _ = resp.into_body().collect().await;
        }
    }

    fn builder(
        &self,
        method: Method,
        rpc_method: &str,
        name: Option<&str>,
    ) -> anyhow::Result<hyper::http::request::Builder> {
        let mut b = Request::builder()
            .method(method)
            .uri(&self.target.path)
            .header(HOST, &self.target.authority)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        if rpc_method != "initialize" {
            b = b.header("mcp-protocol-version", self.era.version());
        }
        if let Some(session) = &self.session {
            b = b.header("mcp-session-id", session);
        }
        if self.era == Era::Stateless {
            b = b.header("mcp-method", rpc_method);
            if let Some(name) = name {
                b = b.header("mcp-name", name);
            }
        }
        Ok(b)
    }

    async fn post(
        &mut self,
        method: &str,
        name: Option<&str>,
        params_json: &str,
        want_session: bool,
        keep: bool,
    ) -> anyhow::Result<(Outcome, Instant, Option<String>, Option<Vec<u8>>)> {
        let id = self.next_id;
        self.next_id += 1;
        let body = proto::request_text(id, method, params_json);
        let req = self
            .builder(Method::POST, method, name)?
            .body(Full::new(Bytes::from(body)))?;
        let fut = async {
            self.sender.ready().await?;
            let resp = self.sender.send_request(req).await?;
            let status = resp.status();
            let session = want_session
                .then(|| {
                    resp.headers()
                        .get("mcp-session-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                })
                .flatten();
            let sse = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            let mut body = resp.into_body();
            let mut reader = ReplyReader::new(id, sse);
            reader.keep = keep;
            let mut found = None;
            while let Some(frame) = body.frame().await {
                let frame = frame?;
                if let Some(data) = frame.data_ref() {
                    reader.push(data);
                    if found.is_none() {
                        found = reader.poll()?.map(|o| (o, Instant::now()));
                    }
                }
            }
            if !status.is_success() && status != StatusCode::ACCEPTED {
                if let Some((outcome @ Outcome::RpcError(..), at)) = found {
                    return Ok((outcome, at, session, None));
                }
                bail!(
                    "{method}: HTTP {status}: {}",
                    String::from_utf8_lossy(&reader.buf[..reader.buf.len().min(300)])
                );
            }
            if found.is_none() {
                found = reader.finish()?.map(|o| (o, Instant::now()));
            }
            match found {
                Some((outcome, at)) => Ok((outcome, at, session, reader.kept.take())),
                None => bail!("{method}: HTTP {status} without a JSON-RPC response to id {id}"),
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, fut)
            .await
            .with_context(|| format!("{method}: no reply within {REQUEST_TIMEOUT:?}"))?
    }
}

/// Finds the response to one request id in a JSON body or an SSE stream, as bytes arrive.
struct ReplyReader {
    id: u64,
    sse: bool,
    buf: BytesMut,
    /// SSE: bytes before this offset hold only complete events already looked at.
    scanned: usize,
    /// SSE: no event boundary starts before this offset (past `scanned`).
    searched: usize,
    /// Keep the bytes of the matching message in `kept`.
    keep: bool,
    kept: Option<Vec<u8>>,
}

impl ReplyReader {
    fn new(id: u64, sse: bool) -> Self {
        Self {
            id,
            sse,
            buf: BytesMut::new(),
            scanned: 0,
            searched: 0,
            keep: false,
            kept: None,
        }
    }

    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// SSE: look at every complete event received so far.
    fn poll(&mut self) -> anyhow::Result<Option<Outcome>> {
        if !self.sse {
            return Ok(None);
        }
        loop {
            // Resume the search for the blank line where the last one stopped (minus a separator's
            // length, which may straddle two chunks), so a large event is scanned once.
            let start = self.searched.saturating_sub(3).max(self.scanned);
            let Some((len, sep)) = find_event_end(&self.buf[start..]) else {
                self.searched = self.buf.len();
                return Ok(None);
            };
            let end = start + len;
            let data = sse_data(&self.buf[self.scanned..end]);
            let found = self.match_data(data)?;
            self.scanned = end + sep;
            self.searched = self.scanned;
            if found.is_some() {
                return Ok(found);
            }
        }
    }

    /// The body ended: a JSON body is the reply; an SSE body may end without a blank line.
    fn finish(&mut self) -> anyhow::Result<Option<Outcome>> {
        if self.sse {
            let rest = &self.buf[self.scanned..];
            if rest.iter().all(u8::is_ascii_whitespace) {
                return Ok(None);
            }
            let data = sse_data(rest);
            return self.match_data(data);
        }
        if self.buf.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let body = Vec::from(std::mem::take(&mut self.buf));
        self.matched(body)
    }

    /// The reply in one SSE event's data, if it is the response we wait for.
    fn match_data(&mut self, data: Vec<u8>) -> anyhow::Result<Option<Outcome>> {
        if data.iter().all(u8::is_ascii_whitespace) {
            return Ok(None); // priming event, comment or keep-alive
        }
        self.matched(data)
    }

    /// The outcome of `message` if it answers our request (kept if asked).
    fn matched(&mut self, message: Vec<u8>) -> anyhow::Result<Option<Outcome>> {
        let outcome = match proto::parse_incoming(&message)? {
            Incoming::Response { id, outcome } if id == self.id => outcome,
            Incoming::Unmatched { outcome } => outcome,
            _ => return Ok(None),
        };
        if self.keep {
            self.kept = Some(message);
        }
        Ok(Some(outcome))
    }
}

/// Length of the first event in `buf` and of the blank line after it (`\n\n` or `\r\n\r\n`).
fn find_event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < buf.len() {
        let nl = memchr::memchr(b'\n', &buf[i..])? + i;
        let next = &buf[nl + 1..];
        if next.first() == Some(&b'\n') {
            return Some((nl, 2));
        }
        if next.starts_with(b"\r\n") && nl > 0 && buf[nl - 1] == b'\r' {
            return Some((nl - 1, 4));
        }
        i = nl + 1;
    }
    None
}

/// The `data` of one SSE event: its `data:` lines joined with `\n` (one leading space dropped).
fn sse_data(event: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in event.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(b"data:") {
            if !out.is_empty() {
                out.push(b'\n');
            }
            out.extend_from_slice(rest.strip_prefix(b" ").unwrap_or(rest));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = HttpTarget::parse("http://127.0.0.1:8931/mcp").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:8931", "/mcp")
        );
        let t = HttpTarget::parse("http://localhost").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("localhost:80", "/")
        );
        assert!(HttpTarget::parse("https://x/mcp").is_err());
    }

    #[test]
    fn finds_the_reply_in_an_sse_stream_split_anywhere() {
        let stream = b"id: 0\nretry: 3000\ndata:\n\n: keep-alive\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"content\":[]}}\n\n";
        for split in 0..stream.len() {
            let mut r = ReplyReader::new(9, true);
            r.push(&stream[..split]);
            let mut got = r.poll().unwrap();
            r.push(&stream[split..]);
            if got.is_none() {
                got = r.poll().unwrap();
            }
            assert_eq!(got, Some(Outcome::Ok), "split at {split}");
        }
        let crlf = b"data: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}\r\n\r\n";
        let mut r = ReplyReader::new(9, true);
        r.push(crlf);
        assert_eq!(r.poll().unwrap(), Some(Outcome::Ok));
        let unterminated = b"data: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}";
        let mut r = ReplyReader::new(9, true);
        r.push(unterminated);
        assert_eq!(r.poll().unwrap(), None);
        assert_eq!(r.finish().unwrap(), Some(Outcome::Ok));
    }

    #[test]
    fn reads_a_json_body() {
        let mut r = ReplyReader::new(2, false);
        r.push(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32602,\"message\":\"x\"}}");
        assert_eq!(r.poll().unwrap(), None);
        assert_eq!(
            r.finish().unwrap(),
            Some(Outcome::RpcError(-32602, "x".into()))
        );
    }
}
