//! Graceful shutdown: the work in flight that the server waits for before it stops.
//!
//! Every plugin call (tool call, resource read, prompt get) runs under [`InFlight::track`], and
//! every HTTP request holds an [`InFlight::token`] until its response has been sent. At shutdown
//! the HTTP transport stops taking connections, then [`InFlight::drain`]s: it waits up to
//! `--shutdown-timeout` for what is running. Calls that overrun are reported, then cut when the
//! streams close.

use std::future::Future;
use std::time::Duration;

use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::{TaskTrackerToken, TrackedFuture};

/// The calls and requests in flight. Cloning gives another handle on the same set.
#[derive(Clone, Default)]
pub struct InFlight {
    tracker: TaskTracker,
}

/// Work that was still running when [`InFlight::drain`] gave up waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{running} call(s) still running after {waited:?}")]
pub struct Overrun {
    /// Calls and requests still in flight.
    pub running: usize,
    /// How long `drain` waited.
    pub waited: Duration,
}

impl InFlight {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run `call` as work in flight: it counts until the returned future completes or is dropped.
    pub fn track<F: Future>(&self, call: F) -> TrackedFuture<F> {
        self.tracker.track_future(call)
    }

    /// A token that counts as work in flight until it is dropped (an HTTP response that is still
    /// being sent).
    pub fn token(&self) -> TaskTrackerToken {
        self.tracker.token()
    }

    /// How many calls and tokens are in flight.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }

    /// Mark the set closed and wait until everything in it has finished, at most `timeout`.
    /// Work tracked after this still counts, and is waited for too.
    ///
    /// # Errors
    /// [`Overrun`] with the number still running when `timeout` passes first.
    pub async fn drain(&self, timeout: Duration) -> Result<(), Overrun> {
        self.tracker.close();
        match tokio::time::timeout(timeout, self.tracker.wait()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(Overrun {
                running: self.tracker.len(),
                waited: timeout,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    #[tokio::test]
    async fn drain_waits_for_the_calls_in_flight() {
        let calls = InFlight::new();
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let done = Arc::new(AtomicBool::new(false));
        let call = {
            let done = done.clone();
            calls.track(async move {
                let _ = finished.await;
                done.store(true, Ordering::SeqCst);
            })
        };
        let task = tokio::spawn(call);
        assert_eq!(calls.len(), 1);
        let drained = tokio::spawn({
            let calls = calls.clone();
            async move { calls.drain(Duration::from_secs(10)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!drained.is_finished(), "drain returned with a call running");
        finish.send(()).unwrap();
        assert_eq!(drained.await.unwrap(), Ok(()));
        assert!(
            done.load(Ordering::SeqCst),
            "the call finished before drain returned"
        );
        assert!(calls.is_empty());
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_token_counts_until_dropped() {
        let calls = InFlight::new();
        let token = calls.token();
        assert_eq!(calls.len(), 1);
        drop(token);
        assert!(calls.is_empty());
        assert_eq!(calls.drain(Duration::from_millis(10)).await, Ok(()));
    }

    #[tokio::test]
    async fn drain_gives_up_after_the_timeout() {
        let calls = InFlight::new();
        let _stuck = calls.token();
        let overrun = calls.drain(Duration::from_millis(20)).await.unwrap_err();
        assert_eq!(overrun.running, 1);
        assert_eq!(overrun.to_string(), "1 call(s) still running after 20ms");
    }
}
