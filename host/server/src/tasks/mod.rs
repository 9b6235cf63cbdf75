//! MCP tasks (the 2026-07-28 `io.modelcontextprotocol/tasks` extension, SEP-2663): tool calls
//! that run detached from their request, which the client polls with `tasks/get`, answers with
//! `tasks/update` and stops with `tasks/cancel`.
//!
//! [`Tasks`] keeps every task of the server in memory (a restart loses them: a client then gets
//! `-32602` "unknown task" for their ids), each owned by the subject that created it
//! ([`TaskRecord::owner`]): for another subject a task does not exist. It enforces two caps —
//! tasks kept per subject, running or finished ([`TaskSettings::max_per_subject`]), and tasks
//! running per plugin (`[limits] max_tasks`) — and drops a finished task's result
//! [`TaskSettings::ttl`] after it ended. Running a task's call is the server's (`server/task_calls.rs`); what the call reports
//! reaches the task through [`client::TaskClient`].
//!
//! rmcp's `TaskManager` does the bookkeeping of one task but has no owners, caps or per-plugin
//! budgets, which are what Capsule exists for; its wire types (`Task`, `DetailedTask`,
//! `CreateTaskResult`, `GetTaskResult`) are used as they are.

pub mod client;
mod record;
pub mod v2025;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::ErrorData as McpError;
use serde_json::json;

use capsule_common::sync::lock;
pub use record::{Answers, Asker, TaskRecord};

/// Host-wide task settings (`capsule serve` flags `--task-ttl`, `--max-tasks-per-subject`,
/// `--task-sync-window`, `--task-poll-interval`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskSettings {
    /// How long a finished task (its result or error) is kept after it ended.
    pub ttl: Duration,
    /// Most tasks one subject may have at once, running or kept.
    pub max_per_subject: usize,
    /// How long a call of an `optional` or `required` tool runs inside its request before it
    /// becomes a task: a call that ends or asks for input within it answers in the request
    /// (an `optional` tool's result, or the multi round-trip's `InputRequiredResult`).
    pub sync_window: Duration,
    /// The polling interval suggested to clients (`pollIntervalMs`).
    pub poll_interval: Duration,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            max_per_subject: 64,
            sync_window: Duration::from_millis(500),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// Why a task could not be created: the caller's or the plugin's cap is full.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TaskCapError {
    /// The subject has [`TaskSettings::max_per_subject`] tasks.
    #[error(
        "too many tasks: this client already has {0} running or finished tasks kept \
         (capsule serve --max-tasks-per-subject); cancel one or wait for their results to expire"
    )]
    Subject(usize),
    /// The plugin has its `[limits] max_tasks` tasks running.
    #[error(
        "too many tasks: plugin '{plugin}' already runs {max} tasks ([limits] max_tasks); try \
         again when one has ended"
    )]
    Plugin {
        /// The plugin.
        plugin: String,
        /// Its cap.
        max: usize,
    },
}

/// Every task of one server.
pub struct Tasks {
    settings: TaskSettings,
    records: Mutex<HashMap<String, Arc<TaskRecord>>>,
}

impl Tasks {
    /// An empty store with `settings`.
    pub fn new(settings: TaskSettings) -> Self {
        Self {
            settings,
            records: Mutex::default(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &TaskSettings {
        &self.settings
    }

    /// Create a `working` task of `owner` for `tool` of `plugin` (which may run `plugin_max`
    /// tasks at once: `[limits] max_tasks`), ending within `time_limit`. It is visible to `tasks/get` once this
    /// returns (SEP-2663: no `CreateTaskResult` before the task is durably created). Its result is
    /// kept [`TaskSettings::ttl`] after it ends, or `retention` if shorter (a 2025-11-25 client
    /// may ask for less with `task.ttl`).
    ///
    /// # Errors
    /// [`TaskCapError`] when the owner or the plugin already has its cap of tasks.
    pub fn create(
        &self,
        owner: &str,
        plugin: &str,
        plugin_max: usize,
        tool: &str,
        time_limit: Duration,
        retention: Option<Duration>,
    ) -> Result<Arc<TaskRecord>, TaskCapError> {
        let mut records = lock(&self.records);
        Self::sweep(&mut records);
        let of_owner = records.values().filter(|r| r.owner == owner).count();
        if of_owner >= self.settings.max_per_subject {
            return Err(TaskCapError::Subject(self.settings.max_per_subject));
        }
        let of_plugin = records
            .values()
            .filter(|r| r.plugin == plugin && !r.is_terminal())
            .count();
        if of_plugin >= plugin_max {
            return Err(TaskCapError::Plugin {
                plugin: plugin.to_string(),
                max: plugin_max,
            });
        }
        let record = Arc::new(TaskRecord::new(
            owner,
            plugin,
            tool,
            time_limit,
            retention.map_or(self.settings.ttl, |r| r.min(self.settings.ttl)),
            self.settings.poll_interval,
        ));
        records.insert(record.id.clone(), record.clone());
        Ok(record)
    }

    /// Forget task `id` (a call that answered within the synchronous window never became one).
    pub fn remove(&self, id: &str) {
        if let Some(record) = lock(&self.records).remove(id) {
            record.forget();
        }
    }

    /// Task `id` of `owner`.
    ///
    /// # Errors
    /// `-32602` (SEP-2663: unknown task) when there is no such task, it belongs to another
    /// subject (indistinguishable on purpose), or its retention ended.
    pub fn get(&self, owner: &str, id: &str) -> Result<Arc<TaskRecord>, McpError> {
        let mut records = lock(&self.records);
        Self::sweep(&mut records);
        records
            .get(id)
            .filter(|r| r.owner == owner)
            .cloned()
            .ok_or_else(|| {
                McpError::invalid_params(
                    format!(
                        "unknown task '{id}': no task of this client has that id (finished tasks \
                         are kept for a while, then dropped; a server restart drops every task)"
                    ),
                    Some(json!({ "taskId": id })),
                )
            })
    }

    /// Every task of `owner` kept now, by id (2025-11-25 `tasks/list` pages through them).
    pub fn of(&self, owner: &str) -> Vec<Arc<TaskRecord>> {
        let mut records = lock(&self.records);
        Self::sweep(&mut records);
        let mut of_owner: Vec<_> = records
            .values()
            .filter(|r| r.owner == owner)
            .cloned()
            .collect();
        of_owner.sort_by(|a, b| a.id.cmp(&b.id));
        of_owner
    }

    /// Tasks kept now (running or finished and not yet dropped).
    pub fn len(&self) -> usize {
        let mut records = lock(&self.records);
        Self::sweep(&mut records);
        records.len()
    }

    /// Whether no task is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn sweep(records: &mut HashMap<String, Arc<TaskRecord>>) {
        let now = Instant::now();
        records.retain(|_, r| !r.expired(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_per_subject: usize, ttl: Duration) -> Tasks {
        Tasks::new(TaskSettings {
            ttl,
            max_per_subject,
            ..TaskSettings::default()
        })
    }

    #[test]
    fn a_task_is_its_owners_alone() {
        let tasks = store(10, Duration::from_secs(60));
        let t = tasks
            .create("alice", "p", 5, "p_t", Duration::from_secs(5), None)
            .unwrap();
        assert!(tasks.get("alice", &t.id).is_ok());
        let error = tasks.get("mallory", &t.id).unwrap_err();
        assert_eq!(error.code.0, -32602);
        assert_eq!(
            tasks.get("mallory", "nope").unwrap_err().message,
            "unknown task 'nope': no task of this client has that id (finished tasks are kept for \
             a while, then dropped; a server restart drops every task)"
        );
        assert_eq!(
            error.message.replace(&t.id, "nope"),
            tasks.get("mallory", "nope").unwrap_err().message,
            "another subject's task reads exactly like a missing one"
        );
    }

    #[test]
    fn caps_count_kept_tasks_per_subject_and_running_tasks_per_plugin() {
        let tasks = store(2, Duration::from_secs(60));
        let limit = Duration::from_secs(5);
        let a = tasks.create("alice", "p", 3, "p_t", limit, None).unwrap();
        tasks.create("alice", "q", 3, "q_t", limit, None).unwrap();
        assert_eq!(
            tasks
                .create("alice", "p", 3, "p_t", limit, None)
                .unwrap_err(),
            TaskCapError::Subject(2)
        );
        a.complete(Default::default());
        assert!(
            tasks.create("alice", "p", 3, "p_t", limit, None).is_err(),
            "a finished task counts for its subject until dropped"
        );
        let b = tasks.create("bob", "p", 1, "p_t", limit, None).unwrap();
        assert_eq!(
            tasks
                .create("carol", "p", 1, "p_t", limit, None)
                .unwrap_err()
                .to_string(),
            "too many tasks: plugin 'p' already runs 1 tasks ([limits] max_tasks); try again \
             when one has ended"
        );
        b.cancelled();
        assert!(
            tasks.create("carol", "p", 1, "p_t", limit, None).is_ok(),
            "a finished task does not count for its plugin"
        );
        tasks.remove(&a.id);
        assert!(tasks.create("alice", "p", 3, "p_t", limit, None).is_ok());
    }

    #[test]
    fn finished_tasks_are_dropped_after_their_ttl() {
        let tasks = store(10, Duration::ZERO);
        let t = tasks
            .create("alice", "p", 5, "p_t", Duration::from_secs(5), None)
            .unwrap();
        assert_eq!(tasks.len(), 1, "a running task is never dropped");
        t.cancelled();
        assert!(tasks.is_empty());
        assert!(tasks.get("alice", &t.id).is_err());
    }
}
