//! Whether a tool may run as an MCP task: the `taskSupport` of MCP 2025-11-25's
//! `Tool.execution` (schema `ToolExecution`), which Capsule also applies to the 2026-07-28 tasks
//! extension (`io.modelcontextprotocol/tasks`, SEP-2663).
//!
//! A plugin declares it in a tool's `_meta` under [`META_KEY`]; the operator's policy
//! (`[tools.NAME] task_support`) overrides it. The default is [`TaskSupport::Forbidden`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The `_meta` key of a plugin's tool definition that carries its task support (a JSON string,
/// one of [`TaskSupport`]'s names). The host removes it from the `_meta` it publishes.
pub const META_KEY: &str = "capsule/taskSupport";

/// How a tool relates to tasks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskSupport {
    /// `forbidden`: never a task; the call answers within the request (`[limits] timeout`).
    #[default]
    Forbidden,
    /// `optional`: for a client that declared tasks, a call still running after the host's
    /// synchronous window becomes a task; other clients get a synchronous answer.
    Optional,
    /// `required`: only as a task. A client that did not declare tasks gets `-32021` (missing
    /// required client capability).
    Required,
}

impl TaskSupport {
    /// The name as written in policies, `_meta` and MCP (`forbidden`, `optional`, `required`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forbidden => "forbidden",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }

    /// Whether calls may become tasks at all (`optional` or `required`).
    pub fn allows_tasks(self) -> bool {
        self != Self::Forbidden
    }
}

impl fmt::Display for TaskSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task support name that is none of the three.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("task support '{0}' is not one of \"forbidden\", \"optional\", \"required\"")]
pub struct UnknownTaskSupport(pub String);

impl FromStr for TaskSupport {
    type Err = UnknownTaskSupport;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "forbidden" => Ok(Self::Forbidden),
            "optional" => Ok(Self::Optional),
            "required" => Ok(Self::Required),
            other => Err(UnknownTaskSupport(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for support in [
            TaskSupport::Forbidden,
            TaskSupport::Optional,
            TaskSupport::Required,
        ] {
            assert_eq!(support.as_str().parse::<TaskSupport>(), Ok(support));
        }
        assert_eq!(
            "always".parse::<TaskSupport>().unwrap_err().to_string(),
            "task support 'always' is not one of \"forbidden\", \"optional\", \"required\""
        );
        assert!(!TaskSupport::default().allows_tasks());
        assert!(TaskSupport::Required.allows_tasks());
    }
}
