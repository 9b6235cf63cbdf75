//! Rate limits per subject and per tool (`[rate_limits]` in `capsule.toml`), with `governor`'s
//! GCRA limiters.
//!
//! ```toml
//! [rate_limits]
//! per_subject = "600/min"     # calls per subject, all tools together
//! per_tool = "120/s"          # calls per tool, all subjects together
//! [rate_limits.tools]
//! fetch_get = "10/min"        # this tool's own budget instead of per_tool
//! ```
//!
//! - `per_subject`: calls (tool calls, resource reads, prompt gets) of one subject, all
//!   together. The subject is the token's subject over HTTP with authentication, `anonymous`
//!   over HTTP without, and `stdio` for the local stdio client.
//! - `per_tool`: calls of one tool by everyone together (protects a costly tool or the service
//!   behind it); `[rate_limits.tools]` gives single tools their own rate instead.
//!
//! A rate `"N/unit"` (unit `s`, `min` or `h`) allows bursts of N and refills evenly: `"60/min"`
//! is one call per second on average, up to 60 at once. Over the limit a call is refused, over
//! HTTP with `429 Too Many Requests` and `Retry-After`, over stdio with a tool error that says
//! when to retry.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use serde::Deserialize;
use toml::Spanned;

use super::issue::{Issue, at};

/// `[rate_limits]`, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Calls per subject, all tools together.
    pub per_subject: Option<Rate>,
    /// Calls per tool, all subjects together.
    pub per_tool: Option<Rate>,
    /// Published tool name → its own rate (instead of `per_tool`).
    pub tools: BTreeMap<String, Rate>,
}

impl RateLimitConfig {
    /// No limit is set.
    pub fn is_empty(&self) -> bool {
        self.per_subject.is_none() && self.per_tool.is_none() && self.tools.is_empty()
    }
}

/// `[rate_limits]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsToml {
    per_subject: Option<Spanned<String>>,
    per_tool: Option<Spanned<String>>,
    #[serde(default)]
    tools: BTreeMap<String, Spanned<String>>,
}

impl RateLimitsToml {
    /// Check and resolve the rates.
    ///
    /// # Errors
    /// The first rate that does not parse, with its span.
    pub fn resolve(&self) -> Result<RateLimitConfig, Issue> {
        let rate = |v: &Spanned<String>, what: &str| {
            Rate::parse(v.get_ref()).map_err(|m| at(v.span(), format!("{what}: {m}")))
        };
        let mut tools = BTreeMap::new();
        for (name, v) in &self.tools {
            tools.insert(name.clone(), rate(v, &format!("rate_limits.tools.{name}"))?);
        }
        Ok(RateLimitConfig {
            per_subject: self
                .per_subject
                .as_ref()
                .map(|v| rate(v, "rate_limits.per_subject"))
                .transpose()?,
            per_tool: self
                .per_tool
                .as_ref()
                .map(|v| rate(v, "rate_limits.per_tool"))
                .transpose()?,
            tools,
        })
    }
}

/// A rate: `count` calls per `period`, bursts up to `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub period: Duration,
}

/// How to write a rate, in every [`RateError`].
const RATE_HINT: &str = "write e.g. \"10/s\", \"600/min\" or \"5000/h\"";

/// A rate that does not parse; each message quotes it and says how to write one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// No `/`.
    #[error("invalid rate '{0}'; {hint}", hint = RATE_HINT)]
    Shape(String),
    /// The count is not a positive integer (that fits 32 bits).
    #[error("invalid rate '{0}': the count must be a positive integer; {hint}", hint = RATE_HINT)]
    Count(String),
    /// The unit is not seconds, minutes or hours.
    #[error("invalid rate '{text}': unknown unit '{unit}'; {hint}", hint = RATE_HINT)]
    Unit {
        /// The rate as written.
        text: String,
        /// The unit as written.
        unit: String,
    },
}

impl Rate {
    /// Parse `"N/s"`, `"N/min"` or `"N/h"` (also `sec`, `second`, `m`, `minute`, `hour`).
    ///
    /// # Errors
    /// [`RateError`]: no `/`, a count that is not a positive integer, or an unknown unit.
    pub fn parse(text: &str) -> Result<Self, RateError> {
        let (count, unit) = text
            .split_once('/')
            .ok_or_else(|| RateError::Shape(text.to_string()))?;
        let count: u32 = count
            .trim()
            .parse()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| RateError::Count(text.to_string()))?;
        let period = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => {
                return Err(RateError::Unit {
                    text: text.to_string(),
                    unit: other.to_string(),
                });
            }
        };
        Ok(Self { count, period })
    }

    fn quota(self) -> Quota {
        let burst = NonZeroU32::new(self.count).unwrap_or(NonZeroU32::MIN);
        let every = (self.period / self.count).max(Duration::from_nanos(1));
        Quota::with_period(every)
            .unwrap_or_else(|| Quota::per_second(burst))
            .allow_burst(burst)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.period.as_secs() {
            1 => "s",
            60 => "min",
            _ => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// Which limit refused a call, and when to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limited {
    /// `per-subject` or `per-tool`.
    pub which: &'static str,
    pub rate: Rate,
    pub retry_after: Duration,
}

impl Limited {
    /// Whole seconds for `Retry-After` (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }

    pub fn message(&self, subject: &str, tool: Option<&str>) -> String {
        let who = match (self.which, tool) {
            ("per-tool", Some(tool)) => format!("tool '{tool}'"),
            _ => format!("subject '{subject}'"),
        };
        format!(
            "rate limit exceeded: {who} is limited to {} ({}); retry after {} s",
            self.rate,
            self.which,
            self.retry_after_secs()
        )
    }
}

/// The limiters.
pub struct RateLimits {
    per_subject: Option<(Rate, DefaultKeyedRateLimiter<String>)>,
    per_tool: Option<(Rate, DefaultKeyedRateLimiter<String>)>,
    tools: HashMap<String, (Rate, DefaultDirectRateLimiter)>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl RateLimits {
    pub fn new(config: &RateLimitConfig) -> Self {
        Self {
            per_subject: config
                .per_subject
                .map(|r| (r, DefaultKeyedRateLimiter::keyed(r.quota()))),
            per_tool: config
                .per_tool
                .map(|r| (r, DefaultKeyedRateLimiter::keyed(r.quota()))),
            tools: config
                .tools
                .iter()
                .map(|(name, r)| {
                    (
                        name.clone(),
                        (*r, DefaultDirectRateLimiter::direct(r.quota())),
                    )
                })
                .collect(),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// No limits configured.
    pub fn is_empty(&self) -> bool {
        self.per_subject.is_none() && self.per_tool.is_none() && self.tools.is_empty()
    }

    /// Count one call by `subject` (of `tool`, for tool calls); `Err` when a limit is reached.
    pub fn check(&self, subject: &str, tool: Option<&str>) -> Result<(), Limited> {
        if self.is_empty() {
            return Ok(());
        }
        // Forget idle keys now and then, so the keyed limiters do not grow without bound.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            if let Some((_, l)) = &self.per_subject {
                l.retain_recent();
            }
            if let Some((_, l)) = &self.per_tool {
                l.retain_recent();
            }
        }
        let now = self.clock.now();
        if let Some((rate, limiter)) = &self.per_subject
            && let Err(not_until) = limiter.check_key(&subject.to_string())
        {
            return Err(Limited {
                which: "per-subject",
                rate: *rate,
                retry_after: not_until.wait_time_from(now),
            });
        }
        let Some(tool) = tool else {
            return Ok(());
        };
        let refused = |rate: &Rate, wait: Duration| Limited {
            which: "per-tool",
            rate: *rate,
            retry_after: wait,
        };
        if let Some((rate, limiter)) = self.tools.get(tool) {
            return limiter
                .check()
                .map_err(|n| refused(rate, n.wait_time_from(now)));
        }
        if let Some((rate, limiter)) = &self.per_tool {
            return limiter
                .check_key(&tool.to_string())
                .map_err(|n| refused(rate, n.wait_time_from(now)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(
            Rate::parse("60/min").unwrap(),
            Rate {
                count: 60,
                period: Duration::from_secs(60)
            }
        );
        assert_eq!(Rate::parse("10 / s").unwrap().to_string(), "10/s");
        assert!(
            Rate::parse("0/s")
                .unwrap_err()
                .to_string()
                .contains("positive")
        );
        assert!(
            Rate::parse("5/day")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
        assert!(
            Rate::parse("fast")
                .unwrap_err()
                .to_string()
                .contains("10/s")
        );
    }

    #[test]
    fn subjects_and_tools_have_separate_budgets() {
        let mut config = RateLimitConfig {
            per_subject: Some(Rate::parse("3/h").unwrap()),
            per_tool: Some(Rate::parse("2/h").unwrap()),
            ..Default::default()
        };
        config
            .tools
            .insert("cheap".into(), Rate::parse("100/h").unwrap());
        let limits = RateLimits::new(&config);
        assert!(limits.check("alice", Some("t")).is_ok());
        assert!(limits.check("bob", Some("t")).is_ok());
        // The tool's budget (2/h, everyone together) is spent; alice's own (3/h) is not.
        let refused = limits.check("alice", Some("t")).unwrap_err();
        assert_eq!(refused.which, "per-tool");
        assert!(refused.retry_after_secs() > 1000, "{refused:?}");
        assert!(
            refused
                .message("alice", Some("t"))
                .contains("tool 't' is limited to 2/h")
        );
        assert!(limits.check("alice", Some("cheap")).is_ok());
        // alice has now used 3 calls: her fourth is refused whatever the tool.
        let refused = limits.check("alice", Some("cheap")).unwrap_err();
        assert_eq!(refused.which, "per-subject");
        assert!(limits.check("carol", None).is_ok());
    }
}
