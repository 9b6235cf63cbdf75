//! stdio transport with JSON-RPC hygiene in front of rmcp.
//!
//! rmcp's stdio codec silently drops lines it cannot parse; a client that sent one would wait
//! forever. This layer answers them as JSON-RPC 2.0 §5.1 requires: a line that is not JSON gets
//! `-32700 Parse error`, a batch array or an object that is not a JSON-RPC 2.0 message gets
//! `-32600 Invalid Request` (MCP 2025-11-25 removed batching), with the request `id` when one can
//! be read, else `null`. A `ping` or `logging/setLevel` sent under MCP 2026-07-28, which removed
//! them, gets `-32601` as over Streamable HTTP ([`removed_method`]). Valid lines pass through
//! unchanged. Output from rmcp and these errors are
//! written to stdout whole lines at a time, so they never interleave.
//!
//! The layer sits in the I/O path itself, without tasks or in-process pipes of its own: rmcp
//! reads the input through [`Reader`], which screens each line as it goes by (one pass over the
//! text, no allocation: [`screen`]), and writes through [`Writer`], which passes rmcp's bytes to
//! stdout as they are and only looks at the first bytes of each line to count responses. When
//! stdin and stdout are pipes (as MCP clients start servers), they are read and written without
//! blocking, driven by the runtime's reactor (`nonblocking`), instead of through tokio's
//! blocking thread pool: a request then costs no thread hand-off in either direction.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::JoinHandle;

use super::jsonrpc::{Screened, error_response, removed_method, screen};
use super::tasks_2025::route_text;
use capsule_common::codes::{INVALID_REQUEST, PARSE_ERROR};
use capsule_common::sync::lock;

/// Longest wait, after stdin closed, for responses to requests already received.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest input line (one message) accepted: rmcp's own stdio limit. A longer line is answered
/// with `-32600` and skipped without being buffered.
pub const MAX_LINE: usize = 16 << 20;

/// Bytes asked of the input per read (at least).
const READ_CHUNK: usize = 64 << 10;

/// Input buffer capacity kept between messages; a buffer grown beyond it by a big message is
/// released once that message has been handed on.
const KEEP_CAPACITY: usize = 1 << 20;

type Input = Box<dyn AsyncRead + Send + Unpin>;
type Output = Box<dyn AsyncWrite + Send + Unpin>;

/// Requests handed to rmcp and not yet answered, so that closing stdin does not drop them.
#[derive(Default)]
struct InFlight {
    count: Mutex<usize>,
    changed: tokio::sync::Notify,
}

impl InFlight {
    fn add(&self) {
        *lock(&self.count) += 1;
    }

    fn done(&self, responses: usize) {
        let mut count = lock(&self.count);
        *count = count.saturating_sub(responses);
        self.changed.notify_waiters();
    }

    async fn drained(&self) {
        loop {
            let notified = self.changed.notified();
            if *lock(&self.count) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// What the reader, the writer and the error pump share.
struct Shared {
    in_flight: InFlight,
    out: Mutex<Out>,
    /// Wakes the pump: error lines were queued, or rmcp dropped its writer.
    pump: tokio::sync::Notify,
}

impl Shared {
    fn out(&self) -> MutexGuard<'_, Out> {
        lock(&self.out)
    }

    /// Answer a screened-out input line with `error` (written at the next line boundary).
    fn reject(&self, error: Value) {
        tracing::warn!(
            "rejected malformed JSON-RPC input: {}",
            error["error"]["message"]
        );
        let mut line = error.to_string().into_bytes();
        line.push(b'\n');
        self.out().errors.push_back(line);
        self.pump.notify_one();
    }
}

/// The real output and what is known about the line rmcp is writing.
struct Out {
    sink: Output,
    /// rmcp's last byte written was not a newline: an error line must wait.
    mid_line: bool,
    /// The start of rmcp's current line, kept until the line is classified.
    head: Vec<u8>,
    /// Whether rmcp's current line is a response (`None`: not known yet).
    response: Option<bool>,
    /// Error replies of the screen, whole lines, waiting for a line boundary.
    errors: VecDeque<Vec<u8>>,
    /// Bytes of `errors.front()` already written.
    written: usize,
    /// rmcp's writer and the pump, when waiting on the output. The output remembers only the
    /// last waker registered with it, so whoever makes progress wakes the other.
    writer_waker: Option<Waker>,
    pump_waker: Option<Waker>,
    /// rmcp dropped its writer.
    writer_gone: bool,
}

impl Out {
    /// Write the queued error lines (call only at a line boundary).
    fn poll_errors(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(line) = self.errors.front() {
            let n = ready!(Pin::new(&mut self.sink).poll_write(cx, &line[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
            if self.written == line.len() {
                self.errors.pop_front();
                self.written = 0;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Follow rmcp's output (`data` reached the sink): returns how many response lines ended.
    fn account(&mut self, mut data: &[u8]) -> usize {
        let mut responses = 0;
        while !data.is_empty() {
            if !self.mid_line {
                self.mid_line = true;
                self.head.clear();
                self.response = None;
            }
            let newline = find_newline(data);
            let (part, rest) = match newline {
                Some(i) => (&data[..i], &data[i + 1..]),
                None => (data, &data[data.len()..]),
            };
            if self.response.is_none() {
                let ends = newline.is_some();
                self.response = if self.head.is_empty() {
                    classify(part, ends)
                } else {
                    self.head.extend_from_slice(part);
                    classify(&self.head, ends)
                };
                if self.response.is_none() && self.head.is_empty() {
                    self.head.extend_from_slice(part);
                }
            }
            if newline.is_some() {
                responses += usize::from(self.response == Some(true));
                self.mid_line = false;
                self.head.clear();
            }
            data = rest;
        }
        responses
    }
}

/// Whether an output line that starts with `head` is a response (it has `result` or `error`
/// before any `method`: rmcp writes `jsonrpc`, `id`, then one of them). `None` while `head`,
/// not yet the whole line (`complete`), is too short to tell. Reads only up to that member.
fn classify(head: &[u8], complete: bool) -> Option<bool> {
    use serde::de::{IgnoredAny, MapAccess, Visitor};

    #[derive(serde::Deserialize)]
    #[serde(field_identifier, rename_all = "lowercase")]
    enum Key {
        Method,
        Result,
        Error,
        #[serde(other)]
        Other,
    }

    struct Members<'a>(&'a mut Option<bool>);

    impl<'de> Visitor<'de> for Members<'_> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON-RPC message")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<Key>()? {
                match key {
                    Key::Method => {
                        *self.0 = Some(false);
                        return Ok(());
                    }
                    Key::Result | Key::Error => {
                        *self.0 = Some(true);
                        return Ok(());
                    }
                    Key::Other => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            *self.0 = Some(false);
            Ok(())
        }
    }

    let mut answer = None;
    let mut de = serde_json::Deserializer::from_slice(head);
    // Stopping at the deciding member leaves the object unfinished, which serde_json reports as
    // an error: the answer is what counts.
    let parsed = serde::Deserializer::deserialize_map(&mut de, Members(&mut answer));
    match (answer, parsed) {
        (Some(answer), _) => Some(answer),
        (None, Err(e)) if e.is_eof() && !complete => None,
        _ => Some(false),
    }
}

/// Index of the first `\n` in `bytes`. Scans 32 bytes per step (vectorized), since a message
/// can be megabytes long and only ends at its newline.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut start = 0;
    for block in bytes.chunks_exact(BLOCK) {
        if block.iter().fold(false, |any, &b| any | (b == b'\n')) {
            break;
        }
        start += BLOCK;
    }
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| start + i)
}

/// The streams to hand to rmcp, and the task that writes the screen's error replies.
pub struct Pipes {
    /// What rmcp reads: the screened input lines.
    pub reader: Reader,
    /// What rmcp writes: passed to the real output.
    pub writer: Writer,
    /// Ends once rmcp dropped `writer` and every line reached the output. Await it before the
    /// process exits, or the last error replies may be lost.
    pub flushed: JoinHandle<()>,
}

/// Wrap real stdin/stdout. When stdin closes, rmcp is told only after every request already
/// received has been answered (at most [`DRAIN_TIMEOUT`]), so a client that writes its requests
/// and closes its end still gets every response. Spawns one task on the current tokio runtime
/// (it writes error replies while rmcp is idle); it ends when rmcp drops its writer.
pub fn transport() -> Pipes {
    match nonblocking::stdio() {
        Some((input, output)) => wrap(input, output),
        None => wrap(tokio::io::stdin(), tokio::io::stdout()),
    }
}

/// [`transport`] over any byte streams (for tests).
pub fn wrap<R, W>(input: R, output: W) -> Pipes
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::new(Shared {
        in_flight: InFlight::default(),
        out: Mutex::new(Out {
            sink: Box::new(output),
            mid_line: false,
            head: Vec::new(),
            response: None,
            errors: VecDeque::new(),
            written: 0,
            writer_waker: None,
            pump_waker: None,
            writer_gone: false,
        }),
        pump: tokio::sync::Notify::new(),
    });
    let flushed = tokio::spawn(pump(shared.clone()));
    Pipes {
        reader: Reader {
            input: Box::new(input),
            shared: shared.clone(),
            buf: Vec::new(),
            start: 0,
            screened: 0,
            scanned: 0,
            discarding: false,
            state: ReadState::Open,
        },
        writer: Writer { shared },
        flushed,
    }
}

/// Writes the error replies of the screen when rmcp is not in the middle of a line (whatever
/// rmcp itself is doing), and the last ones once rmcp dropped its writer; then flushes.
async fn pump(shared: Arc<Shared>) {
    loop {
        let wake = shared.pump.notified();
        let step = std::future::poll_fn(|cx| {
            let mut out = shared.out();
            // A wake-up the output meant for rmcp's writer may have come here.
            let writer = out.writer_waker.take();
            let result = if out.mid_line && !out.writer_gone {
                out.pump_waker = Some(cx.waker().clone());
                Poll::Pending
            } else {
                if out.mid_line {
                    // rmcp stopped in the middle of a line: end it so the errors stay whole.
                    out.mid_line = false;
                    out.errors.push_front(b"\n".to_vec());
                    out.written = 0;
                }
                let mut flushed = match out.poll_errors(cx) {
                    Poll::Ready(Ok(())) => Pin::new(&mut out.sink).poll_flush(cx),
                    other => other,
                };
                if out.writer_gone && matches!(flushed, Poll::Ready(Ok(()))) {
                    // The end: nothing else will be written. Close the output (a pipe's
                    // flags are restored as it is dropped).
                    flushed = Pin::new(&mut out.sink).poll_shutdown(cx);
                    if flushed.is_ready() {
                        out.sink = Box::new(tokio::io::sink());
                    }
                }
                if flushed.is_pending() {
                    out.pump_waker = Some(cx.waker().clone());
                }
                flushed.map(|r| r.map(|()| out.writer_gone))
            };
            drop(out);
            if let Some(writer) = writer {
                writer.wake();
            }
            result
        })
        .await;
        match step {
            Ok(false) => wake.await,
            // rmcp is gone and everything is written, or the output failed.
            Ok(true) | Err(_) => return,
        }
    }
}

/// rmcp's output: bytes go to the real output as they are. At the start of each line the first
/// bytes tell whether it is a response (for the drain at end of input); a screen error waiting
/// for a line boundary is written before rmcp's next line.
pub struct Writer {
    shared: Arc<Shared>,
}

impl Writer {
    /// Write pending error lines first if rmcp is between lines.
    fn poll_errors(out: &mut Out, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if out.mid_line || out.errors.is_empty() {
            return Poll::Ready(Ok(()));
        }
        out.poll_errors(cx)
    }
}

impl AsyncWrite for Writer {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let shared = &self.shared;
        let mut out = shared.out();
        let written = match Self::poll_errors(&mut out, cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut out.sink).poll_write(cx, data),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        };
        let n = match written {
            Poll::Pending => {
                out.writer_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(n)) => n,
        };
        let responses = out.account(&data[..n]);
        let pump = out.pump_waker.take();
        drop(out);
        if let Some(pump) = pump {
            pump.wake();
        }
        if responses > 0 {
            shared.in_flight.done(responses);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut out = self.shared.out();
        let flushed = match Self::poll_errors(&mut out, cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut out.sink).poll_flush(cx),
            other => other,
        };
        if flushed.is_pending() {
            out.writer_waker = Some(cx.waker().clone());
        } else if let Some(pump) = out.pump_waker.take() {
            drop(out);
            pump.wake();
        }
        flushed
    }

    /// Flushes. The output itself stays open: error replies may still follow.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shared.out().writer_gone = true;
        self.shared.pump.notify_one();
    }
}

enum ReadState {
    Open,
    /// Input ended; waiting for the responses to requests already handed on.
    Draining(Pin<Box<dyn Future<Output = ()> + Send>>),
    Ended,
}

/// rmcp's input: the lines of the real input that pass [`screen`], unchanged. Others are
/// answered through the writer side and left out.
pub struct Reader {
    input: Input,
    shared: Arc<Shared>,
    /// Input bytes: `buf[..start]` rmcp has read, `buf[start..screened]` passed the screen,
    /// `buf[screened..]` is the start of a line not complete yet.
    buf: Vec<u8>,
    start: usize,
    screened: usize,
    /// `buf[screened..scanned]` has no newline (it is not scanned again).
    scanned: usize,
    /// Skipping the rest of an over-long line, up to its newline.
    discarding: bool,
    state: ReadState,
}

impl Reader {
    /// Screen the complete lines after `screened`; true if any was passed on.
    fn screen_lines(&mut self) -> bool {
        let mut passed = false;
        loop {
            let Some(offset) = find_newline(&self.buf[self.scanned..]) else {
                self.scanned = self.buf.len();
                let partial = self.buf.len() - self.screened;
                if self.discarding || partial > MAX_LINE {
                    if !self.discarding {
                        self.too_long();
                        self.discarding = true;
                    }
                    self.buf.truncate(self.screened);
                    self.scanned = self.screened;
                }
                return passed;
            };
            let end = self.scanned + offset;
            if self.discarding || end - self.screened > MAX_LINE {
                if !self.discarding {
                    self.too_long();
                }
                self.discarding = false;
                self.remove_line(end + 1);
                continue;
            }
            if let Some(end) = self.screen_line(self.screened, end) {
                self.screened = end + 1;
                self.scanned = self.screened;
                passed = true;
            } else {
                self.remove_line(end + 1);
            }
        }
    }

    /// Screen `buf[from..to]` (a whole line without its newline): where the line ends now to
    /// pass it on (a 2025-11-25 task request is rewritten in place: [`route_text`]), `None` to
    /// leave it out.
    fn screen_line(&mut self, from: usize, to: usize) -> Option<usize> {
        let mut routed = None;
        let verdict = match std::str::from_utf8(&self.buf[from..to]) {
            Ok(line) => match screen(line) {
                Screened::Forward { request: true } => {
                    routed = route_text(line, None);
                    removed_method(line)
                        .map_or(Screened::Forward { request: true }, Screened::Reject)
                }
                verdict => verdict,
            },
            Err(e) => Screened::Reject(error_response(
                Value::Null,
                PARSE_ERROR,
                format!("Parse error: input is not UTF-8 text ({e})"),
            )),
        };
        match verdict {
            Screened::Forward { request } => {
                if request {
                    self.shared.in_flight.add();
                }
                let Some(text) = routed else {
                    return Some(to);
                };
                let end = from + text.len();
                self.buf.splice(from..to, text.into_bytes());
                Some(end)
            }
            Screened::Skip => None,
            Screened::Reject(error) => {
                self.shared.reject(error);
                None
            }
        }
    }

    fn too_long(&self) {
        self.shared.reject(error_response(
            Value::Null,
            INVALID_REQUEST,
            format!(
                "Invalid Request: message longer than {} MiB",
                MAX_LINE >> 20
            ),
        ));
    }

    /// Drop `buf[screened..end]` (a line that is not passed on).
    fn remove_line(&mut self, end: usize) {
        if end == self.buf.len() {
            self.buf.truncate(self.screened);
        } else {
            self.buf.drain(self.screened..end);
        }
        self.scanned = self.screened;
    }

    /// Input ended: a last line without a newline still counts.
    fn end_of_input(&mut self) {
        if self.screened < self.buf.len() && !self.discarding {
            let end = self.buf.len();
            if self.screen_line(self.screened, end).is_some() {
                self.buf.push(b'\n');
                self.screened = self.buf.len();
            } else {
                self.buf.truncate(self.screened);
            }
        } else {
            self.buf.truncate(self.screened);
        }
        self.scanned = self.screened;
        let shared = self.shared.clone();
        self.state = ReadState::Draining(Box::pin(async move {
            if tokio::time::timeout(DRAIN_TIMEOUT, shared.in_flight.drained())
                .await
                .is_err()
            {
                tracing::warn!("stdin closed; gave up waiting for requests still running");
            }
        }));
    }
}

impl AsyncRead for Reader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        into: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.start < this.screened {
                let n = into.remaining().min(this.screened - this.start);
                into.put_slice(&this.buf[this.start..this.start + n]);
                this.start += n;
                if this.start == this.buf.len() {
                    this.buf.clear();
                    if this.buf.capacity() > KEEP_CAPACITY {
                        this.buf = Vec::new();
                    }
                    (this.start, this.screened, this.scanned) = (0, 0, 0);
                }
                return Poll::Ready(Ok(()));
            }
            match &mut this.state {
                ReadState::Open => {}
                ReadState::Draining(drain) => {
                    ready!(drain.as_mut().poll(cx));
                    this.state = ReadState::Ended;
                    return Poll::Ready(Ok(()));
                }
                ReadState::Ended => return Poll::Ready(Ok(())),
            }
            // Everything passed on has been read: make room and read more.
            if this.start > 0 {
                this.buf.drain(..this.start);
                this.screened -= this.start;
                this.scanned -= this.start;
                this.start = 0;
            }
            if this.buf.capacity() - this.buf.len() < READ_CHUNK {
                this.buf.reserve(READ_CHUNK);
            }
            let len = this.buf.len();
            let mut read = ReadBuf::uninit(this.buf.spare_capacity_mut());
            match Pin::new(&mut this.input).poll_read(cx, &mut read) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            let n = read.filled().len();
            // SAFETY: `poll_read` initialized the first `n` bytes of the spare capacity.
            unsafe { this.buf.set_len(len + n) };
            if n == 0 {
                this.end_of_input();
            } else {
                this.screen_lines();
            }
        }
    }
}

/// stdin and stdout as non-blocking pipes driven by the runtime's reactor (epoll), when both are
/// pipes: reads and writes then happen on the worker thread that runs the transport, instead of
/// being handed to tokio's blocking thread pool and back (a thread wake-up each way per read
/// and per write). `O_NONBLOCK` is set on the pipe ends (shared with anyone holding the same
/// open file description) and their original flags are restored when the transport is dropped.
/// Both pipes are enlarged to 1 MiB where the system allows it, so a big message crosses in a
/// few writes instead of one per 64 KiB.
mod nonblocking {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::unix::pipe;

    /// Pipe buffer size asked for (Linux's default limit for unprivileged processes).
    const PIPE_SIZE: libc::c_int = 1 << 20;

    /// Puts back the flags `fd` had before it was made non-blocking.
    struct Restore {
        fd: RawFd,
        flags: libc::c_int,
    }

    impl Drop for Restore {
        fn drop(&mut self) {
            // SAFETY: F_SETFL on a descriptor of this process (stdin or stdout, never closed).
            unsafe { libc::fcntl(self.fd, libc::F_SETFL, self.flags) };
        }
    }

    /// The input pipe (fields drop in order: the pipe before the flags are restored).
    pub struct Input {
        pipe: pipe::Receiver,
        _restore: Restore,
    }

    /// The output pipe.
    pub struct Output {
        pipe: pipe::Sender,
        _restore: Restore,
    }

    fn is_fifo(fd: RawFd) -> bool {
        // SAFETY: an all-zero `stat` is valid; fstat only writes to it.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fstat of a descriptor number, with a valid out pointer.
        let r = unsafe { libc::fstat(fd, &mut stat) };
        r == 0 && (stat.st_mode & libc::S_IFMT) == libc::S_IFIFO
    }

    /// A duplicate of `fd` (the same open file description) and its current flags.
    fn duplicate(fd: RawFd) -> io::Result<(OwnedFd, libc::c_int)> {
        // SAFETY: fcntl of a descriptor number; failure is -1.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: as above; the new descriptor is owned by the returned OwnedFd alone.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // Best effort: a bigger pipe only saves wake-ups.
        // SAFETY: F_SETPIPE_SZ of a pipe descriptor; failure is harmless.
        unsafe { libc::fcntl(dup, libc::F_SETPIPE_SZ, PIPE_SIZE) };
        // SAFETY: `dup` is a fresh descriptor nothing else owns.
        Ok((unsafe { OwnedFd::from_raw_fd(dup) }, flags))
    }

    /// stdin and stdout as reactor-driven pipes, or `None` if either is not a pipe (a file, a
    /// terminal, a socket) or cannot be set up.
    pub fn stdio() -> Option<(Input, Output)> {
        let (stdin, stdout) = (io::stdin().as_raw_fd(), io::stdout().as_raw_fd());
        if !is_fifo(stdin) || !is_fifo(stdout) {
            return None;
        }
        let open = || -> io::Result<(Input, Output)> {
            let (input, in_flags) = duplicate(stdin)?;
            let input = Input {
                _restore: Restore {
                    fd: stdin,
                    flags: in_flags,
                },
                pipe: pipe::Receiver::from_owned_fd(input)?,
            };
            let (output, out_flags) = duplicate(stdout)?;
            let output = Output {
                _restore: Restore {
                    fd: stdout,
                    flags: out_flags,
                },
                pipe: pipe::Sender::from_owned_fd(output)?,
            };
            Ok((input, output))
        };
        match open() {
            Ok(pipes) => Some(pipes),
            Err(e) => {
                tracing::debug!("stdin and stdout stay blocking: {e}");
                None
            }
        }
    }

    impl AsyncRead for Input {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.pipe).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Output {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            data: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.pipe).poll_write(cx, data)
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.pipe).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.pipe).poll_shutdown(cx)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    async fn output_of(mut reader: tokio::io::DuplexStream) -> Vec<Value> {
        let mut out = String::new();
        reader.read_to_string(&mut out).await.unwrap();
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn answers_garbage_and_forwards_the_rest() {
        let input: &[u8] = b"not json\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";
        let (output_writer, output_reader) = tokio::io::duplex(4096);
        let pipes = wrap(input, output_writer);
        let mut forwarded = BufReader::new(pipes.reader).lines();
        assert_eq!(
            forwarded.next_line().await.unwrap().as_deref(),
            Some(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
        );
        drop(pipes.writer);
        pipes.flushed.await.unwrap();
        let replies = output_of(output_reader).await;
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0]["error"]["code"], PARSE_ERROR);
        assert_eq!(replies[0]["id"], Value::Null);
    }

    /// Error replies never land inside a line rmcp is writing, and rmcp's bytes pass unchanged.
    #[tokio::test]
    async fn errors_wait_for_a_line_boundary() {
        let (mut client, server_in) = tokio::io::duplex(1 << 16);
        let (output_writer, output_reader) = tokio::io::duplex(1 << 20);
        let pipes = wrap(server_in, output_writer);
        let mut writer = pipes.writer;
        let mut forwarded = BufReader::new(pipes.reader).lines();
        writer
            .write_all(br#"{"jsonrpc":"2.0","id":1,"res"#)
            .await
            .unwrap();
        client
            .write_all(b"[1]\n{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n")
            .await
            .unwrap();
        // Reading the forwarded notification screens (and rejects) the batch before it.
        assert_eq!(
            forwarded.next_line().await.unwrap().as_deref(),
            Some(r#"{"jsonrpc":"2.0","method":"n"}"#)
        );
        tokio::task::yield_now().await;
        writer.write_all(b"ult\":{}}\n").await.unwrap();
        writer.flush().await.unwrap();
        drop(writer);
        pipes.flushed.await.unwrap();
        let replies = output_of(output_reader).await;
        assert_eq!(
            replies[0],
            serde_json::json!({"jsonrpc":"2.0","id":1,"result":{}})
        );
        assert_eq!(replies[1]["error"]["code"], INVALID_REQUEST);
        assert_eq!(replies.len(), 2);
    }

    /// After end of input, rmcp sees the end only once every request read has been answered.
    #[tokio::test]
    async fn end_of_input_waits_for_the_answers() {
        let input: &[u8] = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}\n{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"b\"}";
        let (output_writer, output_reader) = tokio::io::duplex(4096);
        let pipes = wrap(input, output_writer);
        let mut reader = pipes.reader;
        let mut writer = pipes.writer;
        let mut text = Vec::new();
        let mut chunk = [0u8; 256];
        // Both requests (the last one without a newline) arrive, then no end yet.
        while text.iter().filter(|&&b| b == b'\n').count() < 2 {
            let n = reader.read(&mut chunk).await.unwrap();
            assert!(n > 0, "input ended before the requests were answered");
            text.extend_from_slice(&chunk[..n]);
        }
        let early = tokio::time::timeout(Duration::from_millis(50), reader.read(&mut chunk)).await;
        assert!(
            early.is_err(),
            "end of input reported with two requests unanswered"
        );
        writer
            .write_all(
                b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n",
            )
            .await
            .unwrap();
        writer
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n")
            .await
            .unwrap();
        let early = tokio::time::timeout(Duration::from_millis(50), reader.read(&mut chunk)).await;
        assert!(
            early.is_err(),
            "end of input reported with one request unanswered"
        );
        writer
            .write_all(
                b"{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"error\":{\"code\":1,\"message\":\"m\"}}\n",
            )
            .await
            .unwrap();
        let end = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut chunk)).await;
        assert_eq!(end.expect("end of input").unwrap(), 0);
        drop(writer);
        pipes.flushed.await.unwrap();
        assert_eq!(output_of(output_reader).await.len(), 3);
    }

    /// Big messages pass whole, split across reads and writes however the streams like.
    #[tokio::test]
    async fn big_messages_pass_unchanged() {
        let text = "x".repeat(3 << 20);
        let request = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{{\"t\":\"{text}\"}}}}\n"
        );
        let (mut client, server_in) = tokio::io::duplex(1 << 16);
        let (output_writer, output_reader) = tokio::io::duplex(1 << 16);
        let pipes = wrap(server_in, output_writer);
        let sent = request.clone();
        tokio::spawn(async move { client.write_all(sent.as_bytes()).await.unwrap() });
        let mut forwarded = BufReader::new(pipes.reader);
        let mut line = String::new();
        forwarded.read_line(&mut line).await.unwrap();
        assert_eq!(line, request);
        let reply = format!("{{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{{\"t\":\"{text}\"}}}}\n");
        let mut writer = pipes.writer;
        let collect = tokio::spawn(output_of(output_reader));
        writer.write_all(reply.as_bytes()).await.unwrap();
        writer.flush().await.unwrap();
        drop(writer);
        pipes.flushed.await.unwrap();
        let replies = collect.await.unwrap();
        assert_eq!(replies.len(), 1);
        assert_eq!(
            replies[0]["result"]["t"].as_str().map(str::len),
            Some(3 << 20)
        );
    }

    #[tokio::test]
    async fn not_utf8_is_a_parse_error_and_reading_goes_on() {
        let input: &[u8] = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}\n{\"jsonrpc\":\"2.0\",\"method\":\"n\"}\n";
        let (output_writer, output_reader) = tokio::io::duplex(4096);
        let pipes = wrap(input, output_writer);
        let mut forwarded = BufReader::new(pipes.reader).lines();
        assert_eq!(
            forwarded.next_line().await.unwrap().as_deref(),
            Some(r#"{"jsonrpc":"2.0","method":"n"}"#)
        );
        drop(pipes.writer);
        pipes.flushed.await.unwrap();
        let replies = output_of(output_reader).await;
        assert_eq!(replies[0]["error"]["code"], PARSE_ERROR);
    }

    #[test]
    fn responses_are_told_from_their_first_members() {
        assert_eq!(
            classify(br#"{"jsonrpc":"2.0","id":1,"result":{"#, false),
            Some(true)
        );
        assert_eq!(
            classify(br#"{"jsonrpc":"2.0","id":"a","error":"#, false),
            Some(true)
        );
        assert_eq!(
            classify(br#"{"jsonrpc":"2.0","id":null,"error":{}}"#, true),
            Some(true)
        );
        assert_eq!(
            classify(br#"{"jsonrpc":"2.0","method":"x","#, false),
            Some(false)
        );
        assert_eq!(
            classify(br#"{"jsonrpc":"2.0","id":3,"method":"x""#, false),
            Some(false)
        );
        assert_eq!(classify(br#"{"jsonrpc":"2.0","id":3"#, false), None);
        assert_eq!(classify(br#"{"jsonrpc":"2.0","id":"long"#, false), None);
        assert_eq!(classify(br#"{"jsonrpc":"2.0","id":3"#, true), Some(false));
        assert_eq!(classify(b"garbage", false), Some(false));
    }

    #[test]
    fn newlines_are_found_anywhere() {
        let mut bytes = vec![b'a'; 200];
        assert_eq!(find_newline(&bytes), None);
        for i in [0, 31, 32, 33, 150, 199] {
            bytes[i] = b'\n';
            assert_eq!(find_newline(&bytes), Some(i));
            bytes[i] = b'a';
        }
    }
}
