//! The audit record of one request, filled in as the request goes and written once with its
//! outcome ([`capsule_auth::audit`]).

use std::time::Instant;

use rmcp::ErrorData as McpError;
use serde_json::{Map, Value};

use capsule_auth::Access;
use capsule_auth::audit::{Record, arguments_digest};

/// The audit record of one call in progress.
pub(super) struct Audit {
    pub(super) record: Option<Record>,
    pub(super) raw_arguments: bool,
    pub(super) started: Instant,
}

impl Audit {
    pub(super) fn set(&mut self, f: impl FnOnce(&mut Record)) {
        if let Some(r) = &mut self.record {
            f(r);
        }
    }

    /// Record the request's arguments (absent = `{}`): their digest, and with
    /// `--audit-arguments` the arguments themselves. Nothing is copied when no record is kept.
    pub(super) fn arguments(&mut self, arguments: Option<&Map<String, Value>>) {
        let raw = self.raw_arguments;
        self.set(|r| {
            let arguments = Value::Object(arguments.cloned().unwrap_or_default());
            r.arguments_sha256 = Some(arguments_digest(&arguments));
            if raw {
                r.arguments = Some(arguments);
            }
        });
    }

    /// Write the record with its outcome (once).
    pub(super) fn finish(
        &mut self,
        access: &Access,
        outcome: &'static str,
        reason: Option<String>,
    ) {
        if let Some(mut r) = self.record.take() {
            r.outcome = outcome;
            r.reason = reason;
            access.record(r.took(self.started.elapsed()));
        }
    }

    pub(super) fn finish_result<T>(&mut self, access: &Access, result: &Result<T, McpError>) {
        match result {
            Ok(_) => self.finish(access, "ok", None),
            Err(e) => self.finish(access, "error", Some(e.message.to_string())),
        }
    }
}
