//! One task: who owns it, what it runs, and its state machine (SEP-2663 "Task Status":
//! `working` ⇄ `input_required` → `completed` | `failed` | `cancelled`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rmcp::model::{DetailedTask, InputRequests, JsonObject, Task, TaskPayload, TaskStatus};
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use capsule_common::sync::lock;
use capsule_telemetry::metrics;

/// Who puts a 2025-11-25 task's input requests to its client ([`TaskRecord::claim`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    /// The session, on its own (the standalone stream over Streamable HTTP), for requesters
    /// that only poll.
    Session,
    /// A `tasks/result` request, on its own stream (2025-11-25 "Input Required Status").
    Request,
}

/// Answers for one round: (the plugin's request key, the client's answer as JSON text).
pub type Answers = Vec<(String, String)>;

/// A task and its state. Shared by the store, the task's driver and its client.
pub struct TaskRecord {
    /// The server-made id (a UUID v4: 122 random bits).
    pub id: String,
    /// The subject that created it: only it may see, update or cancel the task.
    pub owner: String,
    /// The plugin that runs it (for the per-plugin cap).
    pub plugin: String,
    /// The published tool name (for logs).
    pub tool: String,
    /// When it was created.
    pub created: Instant,
    created_at: String,
    /// When it must have ended (creation plus the plugin's `[limits] task_timeout`).
    pub deadline: Instant,
    /// Stops the running round (`tasks/cancel`).
    pub cancel: CancellationToken,
    /// Whether the request that started it has returned its `CreateTaskResult`: from then on
    /// nothing of the call reaches that request's client.
    detached: AtomicBool,
    /// How long a result is kept after the task ends.
    ttl: Duration,
    /// Suggested polling interval, in milliseconds.
    poll_interval_ms: u64,
    state: Mutex<State>,
    /// Bumped at every change of status or of the outstanding input requests (what a
    /// 2025-11-25 `tasks/result` waits on).
    changes: watch::Sender<u64>,
}

impl std::fmt::Debug for TaskRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRecord")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("plugin", &self.plugin)
            .field("tool", &self.tool)
            .finish_non_exhaustive()
    }
}

struct State {
    phase: Phase,
    status_message: Option<String>,
    last_updated_at: String,
    /// When it reached a terminal status.
    ended: Option<Instant>,
    /// Every request key published for this task (keys are unique over a task's lifetime).
    used_keys: HashSet<String>,
}

enum Phase {
    Working,
    /// Waiting for the client: `requests` by published key, the plugin's key of each, the
    /// answers so far, and where the driver waits for all of them.
    InputRequired {
        requests: InputRequests,
        plugin_keys: BTreeMap<String, String>,
        answers: Answers,
        waiting: Option<oneshot::Sender<Answers>>,
        /// Who is putting the requests to the client now (2025-11-25).
        claimed: Option<Asker>,
    },
    Completed(JsonObject),
    Failed(JsonObject),
    Cancelled,
}

impl Phase {
    fn is_terminal(&self) -> bool {
        matches!(self, Self::Completed(_) | Self::Failed(_) | Self::Cancelled)
    }
}

/// An ISO 8601 (RFC 3339) timestamp of now, in UTC with milliseconds.
fn now_text() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// The longest task time limit or retention honoured: an unlimited one (`Duration::MAX`) would
/// overflow an `Instant`.
const FOREVER: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl TaskRecord {
    /// A new `working` task of `owner` running `tool` of `plugin`, which must end within
    /// `time_limit` and whose result is kept `ttl` after it ends. Counted in
    /// `capsule.tasks.active` until it ends ([`Self::forget`] for one that never became a task).
    pub fn new(
        owner: &str,
        plugin: &str,
        tool: &str,
        time_limit: Duration,
        ttl: Duration,
        poll_interval: Duration,
    ) -> Self {
        let now = Instant::now();
        let created_at = now_text();
        metrics::tasks_active(plugin, 1);
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            owner: owner.to_string(),
            plugin: plugin.to_string(),
            tool: tool.to_string(),
            created: now,
            deadline: now + time_limit.min(FOREVER),
            created_at: created_at.clone(),
            cancel: CancellationToken::new(),
            detached: AtomicBool::new(false),
            ttl: ttl.min(FOREVER),
            poll_interval_ms: millis(poll_interval).max(1),
            state: Mutex::new(State {
                phase: Phase::Working,
                status_message: None,
                last_updated_at: created_at,
                ended: None,
                used_keys: HashSet::new(),
            }),
            changes: watch::Sender::new(0),
        }
    }

    /// Changes of status or of outstanding input requests from now on.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The request that started the task has answered with its `CreateTaskResult`.
    pub fn detach(&self) {
        self.detached.store(true, Ordering::Release);
    }

    /// Whether [`Self::detach`] happened.
    pub fn is_detached(&self) -> bool {
        self.detached.load(Ordering::Acquire)
    }

    /// Whether it has reached a terminal status.
    pub fn is_terminal(&self) -> bool {
        lock(&self.state).phase.is_terminal()
    }

    /// The call answered within its request and never became a task: it stops counting as
    /// running, without counting as ended.
    pub fn forget(&self) {
        let mut state = lock(&self.state);
        if !state.phase.is_terminal() {
            metrics::tasks_active(&self.plugin, -1);
            // Terminal from now on, so that nothing counts it again.
            state.phase = Phase::Cancelled;
        }
    }

    /// Whether its result has been kept its `ttl` past its end, at `now`.
    pub fn expired(&self, now: Instant) -> bool {
        lock(&self.state)
            .ended
            .is_some_and(|ended| now.saturating_duration_since(ended) >= self.ttl)
    }

    /// Set the human-readable status message (the plugin's progress reports).
    pub fn set_status_message(&self, message: String) {
        let mut state = lock(&self.state);
        if !state.phase.is_terminal() {
            state.status_message = Some(message);
            state.last_updated_at = now_text();
        }
    }

    /// Reach terminal `phase`, with `message` as the status message (a progress report's
    /// message would be stale now).
    fn end(&self, phase: Phase, message: Option<String>) {
        let mut state = lock(&self.state);
        if state.phase.is_terminal() {
            return;
        }
        let status = match &phase {
            Phase::Completed(_) => "completed",
            Phase::Failed(_) => "failed",
            _ => "cancelled",
        };
        metrics::tasks_active(&self.plugin, -1);
        metrics::task_ended(&self.plugin, status);
        state.phase = phase;
        state.status_message = message;
        state.ended = Some(Instant::now());
        state.last_updated_at = now_text();
        drop(state);
        self.changed();
    }

    /// End with the tool's result (`completed`; a tool error is `isError: true` in it).
    pub fn complete(&self, result: JsonObject) {
        self.end(Phase::Completed(result), None);
    }

    /// End with a JSON-RPC error (`failed`): `code`, `message` and optional `data`.
    pub fn fail(&self, code: i32, message: &str, data: Option<Value>) {
        let mut error = JsonObject::new();
        error.insert("code".into(), json!(code));
        error.insert("message".into(), json!(message));
        if let Some(data) = data {
            error.insert("data".into(), data);
        }
        self.end(Phase::Failed(error), Some(message.to_string()));
    }

    /// End as `cancelled` (by `tasks/cancel`).
    pub fn cancelled(&self) {
        self.end(
            Phase::Cancelled,
            Some("cancelled at the client's request".into()),
        );
    }

    /// Park the task in `input_required` with the plugin's `requests` (keyed by the plugin's
    /// keys); the receiver gets every answer once the client has answered them all. A key used
    /// earlier in this task is published as `KEY#ROUND` instead, so that keys stay unique over
    /// the task's lifetime (SEP-2663 "Task Update Requests"). `None` when the task has already
    /// ended (cancelled meanwhile).
    pub fn ask(&self, requests: InputRequests, round: usize) -> Option<oneshot::Receiver<Answers>> {
        let mut state = lock(&self.state);
        if state.phase.is_terminal() {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        let mut published = InputRequests::new();
        let mut plugin_keys = BTreeMap::new();
        for (key, request) in requests {
            let mut public = key.clone();
            if state.used_keys.contains(&public) {
                public = format!("{key}#{round}");
            }
            state.used_keys.insert(public.clone());
            plugin_keys.insert(public.clone(), key);
            published.insert(public, request);
        }
        state.phase = Phase::InputRequired {
            requests: published,
            plugin_keys,
            answers: Vec::new(),
            waiting: Some(tx),
            claimed: None,
        };
        state.last_updated_at = now_text();
        drop(state);
        self.changed();
        Some(rx)
    }

    /// The outstanding input requests (published keys), for `asker` to put to the client
    /// (2025-11-25): `None` when the task is not waiting for input, or another asker has them —
    /// except that a `tasks/result` takes them over from the session, whose client may have no
    /// stream to receive them on. [`Self::release`] gives them back unanswered.
    pub fn claim(&self, asker: Asker) -> Option<InputRequests> {
        let mut state = lock(&self.state);
        match &mut state.phase {
            Phase::InputRequired {
                requests, claimed, ..
            } if !requests.is_empty()
                && (claimed.is_none()
                    || (asker == Asker::Request && *claimed == Some(Asker::Session))) =>
            {
                *claimed = Some(asker);
                Some(requests.clone())
            }
            _ => None,
        }
    }

    /// Whether `asker` is putting the task's input requests to the client now.
    pub fn claimed_by(&self, asker: Asker) -> bool {
        matches!(&lock(&self.state).phase, Phase::InputRequired { claimed, .. } if *claimed == Some(asker))
    }

    /// `asker`'s client did not answer: another may put the requests again.
    pub fn release(&self, asker: Asker) {
        if let Phase::InputRequired { claimed, .. } = &mut lock(&self.state).phase
            && *claimed == Some(asker)
        {
            *claimed = None;
        }
        self.changed();
    }

    /// Take the client's `responses` (SEP-2663 `tasks/update`): answers to outstanding requests
    /// are kept and their keys leave `inputRequests`; unknown or already answered keys are
    /// ignored. When the last outstanding request is answered the task is `working` again and
    /// its driver gets every answer.
    pub fn answer(&self, responses: &BTreeMap<String, Value>) {
        let mut state = lock(&self.state);
        let Phase::InputRequired {
            requests,
            plugin_keys,
            answers,
            waiting,
            ..
        } = &mut state.phase
        else {
            return;
        };
        let mut changed = false;
        for (key, value) in responses {
            if requests.remove(key).is_some()
                && let Some(plugin_key) = plugin_keys.remove(key)
            {
                answers.push((plugin_key, value.to_string()));
                changed = true;
            }
        }
        if !changed {
            return;
        }
        if requests.is_empty() {
            let answers = std::mem::take(answers);
            if let Some(tx) = waiting.take() {
                // The driver is gone only when the task ended meanwhile.
                let _ = tx.send(answers);
            }
            state.phase = Phase::Working;
        }
        state.last_updated_at = now_text();
        drop(state);
        self.changed();
    }

    /// `ttlMs`: from creation to the end of retention, in milliseconds (it grows to its final
    /// value when the task ends: end + `ttl`).
    fn ttl_ms(&self, ended: Option<Instant>) -> u64 {
        let until = ended.unwrap_or(self.deadline) + self.ttl;
        millis(until.saturating_duration_since(self.created)).max(1)
    }

    /// The task as MCP sees it (`tasks/get`, `CreateTaskResult`).
    pub fn detailed(&self) -> DetailedTask {
        let state = lock(&self.state);
        let payload = match &state.phase {
            Phase::Working => TaskPayload::Working,
            Phase::InputRequired { requests, .. } => TaskPayload::InputRequired {
                input_requests: requests.clone(),
            },
            Phase::Completed(result) => TaskPayload::Completed {
                result: result.clone(),
            },
            Phase::Failed(error) => TaskPayload::Failed {
                error: error.clone(),
            },
            Phase::Cancelled => TaskPayload::Cancelled,
        };
        let mut task = Task::new(
            self.id.clone(),
            TaskStatus::Working,
            self.created_at.clone(),
            state.last_updated_at.clone(),
        )
        .with_ttl_ms(self.ttl_ms(state.ended))
        .with_poll_interval_ms(self.poll_interval_ms);
        task.status_message = state.status_message.clone();
        DetailedTask::new(task, payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TaskRecord {
        TaskRecord::new(
            "alice",
            "p",
            "p_t",
            Duration::from_secs(60),
            Duration::from_secs(30),
            Duration::from_secs(1),
        )
    }

    fn elicit(message: &str) -> rmcp::model::InputRequest {
        serde_json::from_value(json!({
            "method": "elicitation/create",
            "params": {"message": message, "requestedSchema": {"type": "object", "properties": {}}}
        }))
        .unwrap()
    }

    #[test]
    fn partial_answers_keep_the_task_waiting_and_reused_keys_are_renamed() {
        let r = record();
        let mut requests = InputRequests::new();
        requests.insert("a".into(), elicit("first"));
        requests.insert("b".into(), elicit("second"));
        let mut rx = r.ask(requests, 1).unwrap();
        r.answer(&BTreeMap::from([
            ("a".to_string(), json!({"action": "accept"})),
            ("zzz".to_string(), json!(1)),
        ]));
        let wire = serde_json::to_value(r.detailed()).unwrap();
        assert_eq!(wire["status"], "input_required");
        assert_eq!(
            wire["inputRequests"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert!(rx.try_recv().is_err(), "not all answered yet");
        r.answer(&BTreeMap::from([(
            "b".to_string(),
            json!({"action": "decline"}),
        )]));
        let answers = rx.try_recv().unwrap();
        assert_eq!(answers.len(), 2);
        assert_eq!(answers[0], ("a".into(), r#"{"action":"accept"}"#.into()));
        assert_eq!(
            serde_json::to_value(r.detailed()).unwrap()["status"],
            "working"
        );
        // The plugin asks with key "a" again: it is published under a new key.
        let _rx = r
            .ask(InputRequests::from([("a".to_string(), elicit("again"))]), 2)
            .unwrap();
        let wire = serde_json::to_value(r.detailed()).unwrap();
        assert!(wire["inputRequests"].get("a#2").is_some(), "{wire}");
    }

    #[test]
    fn a_tasks_result_takes_the_questions_over_from_the_session_but_not_back() {
        let r = record();
        assert!(r.claim(Asker::Session).is_none(), "no questions yet");
        let changes = r.changes();
        let _rx = r
            .ask(InputRequests::from([("q".to_string(), elicit("?"))]), 1)
            .unwrap();
        assert!(changes.has_changed().unwrap(), "asking is a change");
        assert_eq!(r.claim(Asker::Session).unwrap().len(), 1);
        assert!(r.claim(Asker::Session).is_none(), "put once per asker");
        assert!(
            r.claim(Asker::Request).is_some(),
            "tasks/result takes them over"
        );
        assert!(r.claimed_by(Asker::Request) && !r.claimed_by(Asker::Session));
        assert!(
            r.claim(Asker::Session).is_none(),
            "the session does not take them back"
        );
        r.release(Asker::Session);
        assert!(r.claimed_by(Asker::Request), "only the holder releases");
        r.release(Asker::Request);
        assert!(
            r.claim(Asker::Session).is_some(),
            "released: free to put again"
        );
        r.answer(&BTreeMap::from([(
            "q".to_string(),
            json!({"action": "decline"}),
        )]));
        assert!(!r.claimed_by(Asker::Session) && r.claim(Asker::Request).is_none());
    }

    #[test]
    fn the_first_terminal_status_sticks_and_ttl_counts_from_the_end() {
        let r = record();
        let before = serde_json::to_value(r.detailed()).unwrap();
        assert_eq!(
            before["ttlMs"], 90_000,
            "deadline (60 s) plus retention (30 s)"
        );
        assert_eq!(before["pollIntervalMs"], 1000);
        r.fail(-32603, "boom", None);
        r.complete(JsonObject::new());
        r.cancelled();
        let after = serde_json::to_value(r.detailed()).unwrap();
        assert_eq!(after["status"], "failed");
        assert_eq!(after["error"], json!({"code": -32603, "message": "boom"}));
        assert_eq!(after["statusMessage"], "boom");
        assert!(after.get("result").is_none());
        assert!(after["ttlMs"].as_u64().unwrap() < 31_000, "{after}");
        assert!(r.is_terminal() && !r.expired(Instant::now()));
        assert!(r.expired(Instant::now() + Duration::from_secs(31)));
        assert!(r.ask(InputRequests::new(), 3).is_none());
    }
}
