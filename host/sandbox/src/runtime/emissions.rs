//! What a plugin may emit besides its answers: log lines (`log`, and lines printed on stdout or
//! stderr), progress reports and `resource-updated` reports. Each is charged to the plugin (all of
//! its calls together) against a token bucket: a burst, then a steady rate; past it the emission
//! is dropped and a host warning, at most one per second and kind, says how many were dropped. A
//! plugin that floods therefore costs the host a bounded amount of log, memory and notifications,
//! whatever it does, and nothing it writes can forge a host log line ([`escape`]).

use capsule_common::sync::lock;
use std::borrow::Cow;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A kind of emission and its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    /// Emissions allowed at once.
    pub burst: u32,
    /// Emissions allowed per second after the burst.
    pub per_second: u32,
}

/// Log lines (`log` calls and printed lines together): 1000 at once, then 100/s.
pub const LOG_LINES: Rate = Rate {
    burst: 1000,
    per_second: 100,
};
/// Bytes of log text (messages and printed output together): 1 MiB at once, then 64 KiB/s.
pub const LOG_BYTES: Rate = Rate {
    burst: 1 << 20,
    per_second: 64 << 10,
};
/// `notifications/progress` reports: 100 at once, then 20/s.
pub const PROGRESS: Rate = Rate {
    burst: 100,
    per_second: 20,
};
/// `resource-updated` reports passed on: 100 at once, then 20/s (identical reports of a URI
/// whose notification is still on its way are merged before they are counted).
pub const RESOURCE_UPDATES: Rate = Rate {
    burst: 100,
    per_second: 20,
};
/// Longest log message or printed line kept, in bytes; the rest is cut.
pub const MAX_MESSAGE: usize = 4096;

struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
    dropped: u64,
    reported: Option<Instant>,
}

impl Bucket {
    fn new(rate: Rate) -> Self {
        Self {
            rate,
            tokens: f64::from(rate.burst),
            last: Instant::now(),
            dropped: 0,
            reported: None,
        }
    }

    /// Take `cost` tokens if there are enough; otherwise count a drop. Returns whether to emit,
    /// and the number of drops to report now (at most once a second).
    fn take(&mut self, cost: f64) -> (bool, Option<u64>) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * f64::from(self.rate.per_second))
            .min(f64::from(self.rate.burst));
        if self.tokens >= cost {
            self.tokens -= cost;
            return (true, None);
        }
        self.dropped += 1;
        let due = self
            .reported
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1));
        if due {
            self.reported = Some(now);
            return (false, Some(std::mem::take(&mut self.dropped)));
        }
        (false, None)
    }
}

/// The emission budgets of one plugin, shared by all of its calls.
pub struct Emissions {
    plugin: String,
    lines: Mutex<Bucket>,
    bytes: Mutex<Bucket>,
    progress: Mutex<Bucket>,
    updates: Mutex<Bucket>,
}

impl Emissions {
    /// Fresh budgets for plugin `plugin`.
    pub fn new(plugin: &str) -> Self {
        Self {
            plugin: plugin.to_string(),
            lines: Mutex::new(Bucket::new(LOG_LINES)),
            bytes: Mutex::new(Bucket::new(LOG_BYTES)),
            progress: Mutex::new(Bucket::new(PROGRESS)),
            updates: Mutex::new(Bucket::new(RESOURCE_UPDATES)),
        }
    }

    /// Whether a log line of `bytes` bytes may be written (charged to both log budgets).
    pub fn log_line(&self, bytes: usize) -> bool {
        let (line_ok, line_drops) = lock(&self.lines).take(1.0);
        if !line_ok {
            self.report("log lines", &LOG_LINES, "lines", line_drops);
            return false;
        }
        let (bytes_ok, byte_drops) = lock(&self.bytes).take(bytes as f64);
        if !bytes_ok {
            self.report("log lines", &LOG_BYTES, "bytes", byte_drops);
        }
        bytes_ok
    }

    /// Whether a progress report may be sent.
    pub fn progress(&self) -> bool {
        let (ok, drops) = lock(&self.progress).take(1.0);
        if !ok {
            self.report("progress reports", &PROGRESS, "reports", drops);
        }
        ok
    }

    /// Whether a `resource-updated` report may be passed on.
    pub fn resource_update(&self) -> bool {
        let (ok, drops) = lock(&self.updates).take(1.0);
        if !ok {
            self.report(
                "resource-updated reports",
                &RESOURCE_UPDATES,
                "reports",
                drops,
            );
        }
        ok
    }

    fn report(&self, what: &str, rate: &Rate, unit: &str, dropped: Option<u64>) {
        if let Some(n) = dropped.filter(|n| *n > 0) {
            tracing::warn!(
                plugin = %self.plugin,
                "dropped {n} {what} of the plugin: over its budget of {} {unit} at once, then {} \
                 per second",
                rate.burst,
                rate.per_second
            );
        }
    }
}

/// `text` made safe for one host log line: control characters (CR, LF, escape, …, and the
/// Unicode line and paragraph separators) become escapes such as `\n` or `\u{1b}`, so plugin text
/// can never start a forged host line or drive a terminal; at most [`MAX_MESSAGE`] bytes are kept.
pub fn escape(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\t' || c == '\u{2028}' || c == '\u{2029}';
    let cut = text.len() > MAX_MESSAGE;
    if !cut && !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut end = text.len().min(MAX_MESSAGE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 16);
    for c in text[..end].chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if cut {
        out.push_str(&format!("… ({} bytes cut)", text.len() - end));
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_forge_a_line() {
        assert_eq!(escape("plain text\twith tab"), "plain text\twith tab");
        assert_eq!(
            escape("ok\n2026-12-06T00:00:00Z  INFO capsule: FORGED"),
            "ok\\n2026-12-06T00:00:00Z  INFO capsule: FORGED"
        );
        assert_eq!(
            escape("a\rb\u{1b}[31mc\u{2028}"),
            "a\\rb\\u{1b}[31mc\\u{2028}"
        );
        let long = "é".repeat(MAX_MESSAGE);
        let cut = escape(&long);
        assert!(cut.ends_with(&format!("({} bytes cut)", long.len() - MAX_MESSAGE)));
    }

    #[test]
    fn a_bucket_allows_its_burst_then_drops_and_reports_once() {
        let mut bucket = Bucket::new(Rate {
            burst: 3,
            per_second: 1,
        });
        assert!((0..3).all(|_| bucket.take(1.0).0));
        assert_eq!(bucket.take(1.0), (false, Some(1)));
        assert_eq!(bucket.take(1.0), (false, None)); // counted, reported later
        assert_eq!(bucket.dropped, 1);
    }
}
