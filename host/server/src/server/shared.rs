//! What every handler of one server shares, whatever the transport and session: the [`Hub`]
//! (current catalog, clients to notify), the sealer of `requestState` values, the list page size,
//! the log level of 2025-11-25 sessions that did not choose one, the work in flight that
//! shutdown waits for, and the MCP tasks.

use std::sync::Arc;

use rmcp::model::LoggingLevel;

use crate::hub::Hub;
use crate::pagination::DEFAULT_PAGE_SIZE;
use crate::request_state::{DEFAULT_TTL, RequestStates};
use crate::shutdown::InFlight;
use crate::tasks::{TaskSettings, Tasks};

/// The state shared by every [`super::CapsuleServer`] of one server and by its transports.
pub struct Shared {
    hub: Arc<Hub>,
    request_states: RequestStates,
    page_size: usize,
    default_log_level: Option<LoggingLevel>,
    in_flight: InFlight,
    tasks: Tasks,
}

/// The level plugin log lines reach a 2025-11-25 session at until it sends `logging/setLevel`:
/// most clients never do, and would otherwise never see a plugin's log (issue #21).
pub const DEFAULT_LOG_LEVEL: Option<LoggingLevel> = Some(LoggingLevel::Info);

impl Shared {
    /// Serve `hub`'s catalog with the defaults: [`DEFAULT_PAGE_SIZE`] items per page,
    /// `requestState` values sealed with a key of this process, valid for [`DEFAULT_TTL`], and
    /// [`DEFAULT_LOG_LEVEL`].
    pub fn new(hub: Arc<Hub>) -> Arc<Self> {
        Self::with(
            hub,
            DEFAULT_PAGE_SIZE,
            RequestStates::generated(DEFAULT_TTL),
            DEFAULT_LOG_LEVEL,
            TaskSettings::default(),
        )
    }

    /// Serve `hub`'s catalog with lists of `page_size` items per page (at least 1),
    /// input-required states (2026-07-28 `requestState`) sealed by `request_states`, and plugin
    /// log lines sent to 2025-11-25 sessions at `default_log_level` and above until they choose
    /// with `logging/setLevel` (`None`: none until then), and MCP tasks kept under `tasks`.
    pub fn with(
        hub: Arc<Hub>,
        page_size: usize,
        request_states: RequestStates,
        default_log_level: Option<LoggingLevel>,
        tasks: TaskSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            hub,
            request_states,
            page_size: page_size.max(1),
            default_log_level,
            in_flight: InFlight::new(),
            tasks: Tasks::new(tasks),
        })
    }

    /// The log level of a 2025-11-25 session that has not sent `logging/setLevel`.
    pub fn default_log_level(&self) -> Option<LoggingLevel> {
        self.default_log_level
    }

    /// The catalog and the clients to notify.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Seals and opens `requestState` values ([`crate::mrtr`]).
    pub fn request_states(&self) -> &RequestStates {
        &self.request_states
    }

    /// Items per page of `tools/list`, `resources/list`, `resources/templates/list` and
    /// `prompts/list` (≥ 1; [`crate::pagination`]).
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The plugin calls (tool calls, resource reads, prompt gets) and HTTP requests in flight,
    /// for graceful shutdown ([`crate::shutdown`]).
    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }

    /// The MCP tasks of this server ([`crate::tasks`]).
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }
}
