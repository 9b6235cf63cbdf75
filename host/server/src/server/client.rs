//! The sandbox's view of an MCP client ([`capsule_sandbox::runtime::Client`]) over an rmcp
//! session: a plugin's log lines become `notifications/message` and its progress reports
//! `notifications/progress` (MCP 2025-11-25, Utilities: Logging and Progress).

#![allow(deprecated)] // MCP logging is deprecated by SEP-2577 but still part of both revisions we serve.

use std::sync::Arc;

use capsule_sandbox::runtime::{Client, LogLevel, Notification};
use rmcp::model::{
    ClientCapabilities, LoggingLevel, LoggingMessageNotificationParam, ProgressNotificationParam,
    ProgressToken,
};
use rmcp::service::{Peer, RoleServer};

/// One request's client: the session to notify, the request's progress token, the least severe
/// log level the client wants, and the capabilities it declared.
pub struct McpClient {
    /// The client connection of the request.
    pub peer: Peer<RoleServer>,
    /// The request's `_meta.progressToken`, if the client asked for progress.
    pub progress_token: Option<ProgressToken>,
    /// Least severe level the client wants as `notifications/message`; `None` sends none. From
    /// the request's `_meta` (2026-07-28) or the session's `logging/setLevel` (2025-11-25).
    pub log_level: Option<LoggingLevel>,
    /// What the client declared it supports (`initialize` or the request's `_meta`).
    pub capabilities: Option<Arc<ClientCapabilities>>,
    /// The protocol version of the session or request (`2025-11-25`, `2026-07-28`).
    pub protocol_version: Option<String>,
}

/// Severity rank shared by WIT and MCP levels (RFC 5424 order, debug lowest).
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// The MCP level of a plugin's (WIT) log level: the same eight RFC 5424 severities.
fn to_mcp(level: LogLevel) -> LoggingLevel {
    match level {
        LogLevel::Debug => LoggingLevel::Debug,
        LogLevel::Info => LoggingLevel::Info,
        LogLevel::Notice => LoggingLevel::Notice,
        LogLevel::Warning => LoggingLevel::Warning,
        LogLevel::Error => LoggingLevel::Error,
        LogLevel::Critical => LoggingLevel::Critical,
        LogLevel::Alert => LoggingLevel::Alert,
        LogLevel::Emergency => LoggingLevel::Emergency,
    }
}

impl Client for McpClient {
    fn wants_log(&self, level: LogLevel) -> bool {
        self.log_level
            .is_some_and(|min| rank(to_mcp(level)) >= rank(min))
    }

    fn log<'a>(&'a self, plugin: &'a str, level: LogLevel, message: String) -> Notification<'a> {
        Box::pin(async move {
            let param = LoggingMessageNotificationParam::new(to_mcp(level), message.into())
                .with_logger(plugin);
            if let Err(error) = self.peer.notify_logging_message(param).await {
                tracing::debug!(plugin, %error, "could not send log notification");
            }
        })
    }

    fn wants_progress(&self) -> bool {
        self.progress_token.is_some()
    }

    fn progress<'a>(
        &'a self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> Notification<'a> {
        Box::pin(async move {
            let Some(token) = &self.progress_token else {
                return;
            };
            let mut param = ProgressNotificationParam::new(token.clone(), progress);
            if let Some(total) = total {
                param = param.with_total(total);
            }
            if let Some(message) = message {
                param = param.with_message(message);
            }
            if let Err(error) = self.peer.notify_progress(param).await {
                tracing::debug!(%error, "could not send progress notification");
            }
        })
    }

    fn capabilities(&self) -> String {
        match &self.capabilities {
            Some(caps) => serde_json::to_string(&**caps).unwrap_or_else(|_| "{}".into()),
            None => "{}".into(),
        }
    }

    fn protocol_version(&self) -> Option<String> {
        self.protocol_version.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wit_level_maps_to_the_mcp_level_of_the_same_rank() {
        let levels = [
            LogLevel::Debug,
            LogLevel::Info,
            LogLevel::Notice,
            LogLevel::Warning,
            LogLevel::Error,
            LogLevel::Critical,
            LogLevel::Alert,
            LogLevel::Emergency,
        ];
        for (i, level) in levels.into_iter().enumerate() {
            assert_eq!(rank(to_mcp(level)) as usize, i);
        }
    }
}
