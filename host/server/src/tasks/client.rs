//! What a task's plugin call reports, routed by where the task stands: while the request that
//! started it is still open, log lines and progress go to that request's client as for any
//! call; once the request has answered with its `CreateTaskResult` there is no request to
//! report to (SEP-2663: `notifications/progress` and `notifications/message` are not sent for
//! tasks), and progress becomes the task's `statusMessage`, which `tasks/get` shows. A
//! 2025-11-25 task keeps reporting to its session ([`TaskClient::after_detach`]).

use std::sync::Arc;

use capsule_sandbox::runtime::{Client, LogLevel, Notification};

use super::TaskRecord;

/// The sandbox's [`Client`] for a call that runs as a task.
pub struct TaskClient {
    /// The client of the request that started the task.
    pub request: Arc<dyn Client>,
    /// The task.
    pub task: Arc<TaskRecord>,
    /// Whether log lines and progress still reach the request's client once the task has
    /// detached: in MCP 2025-11-25 the request's progress token stays valid for the task's
    /// lifetime and log lines go to the session.
    pub after_detach: bool,
}

impl TaskClient {
    /// Whether what the call reports goes to the request's client now.
    fn reporting(&self) -> bool {
        self.after_detach || !self.task.is_detached()
    }
}

/// The status message of a progress report: `message (progress/total)`, parts left out when
/// absent.
fn status_message(progress: f64, total: Option<f64>, message: Option<&str>) -> String {
    let count = match total {
        Some(total) => format!("{progress}/{total}"),
        None => format!("{progress}"),
    };
    match message {
        Some(m) if !m.is_empty() => format!("{m} ({count})"),
        _ => count,
    }
}

impl Client for TaskClient {
    fn wants_log(&self, level: LogLevel) -> bool {
        self.reporting() && self.request.wants_log(level)
    }

    fn log<'a>(&'a self, plugin: &'a str, level: LogLevel, message: String) -> Notification<'a> {
        self.request.log(plugin, level, message)
    }

    fn wants_progress(&self) -> bool {
        true
    }

    fn progress<'a>(
        &'a self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> Notification<'a> {
        self.task
            .set_status_message(status_message(progress, total, message.as_deref()));
        if self.reporting() && self.request.wants_progress() {
            return self.request.progress(progress, total, message);
        }
        Box::pin(async {})
    }

    fn capabilities(&self) -> String {
        self.request.capabilities()
    }

    fn protocol_version(&self) -> Option<String> {
        self.request.protocol_version()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_a_status_message() {
        assert_eq!(
            status_message(3.0, Some(10.0), Some("crawling")),
            "crawling (3/10)"
        );
        assert_eq!(status_message(0.5, None, None), "0.5");
        assert_eq!(status_message(2.0, Some(4.0), Some("")), "2/4");
    }
}
