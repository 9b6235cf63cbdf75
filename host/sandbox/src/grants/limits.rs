//! Resource limits of one plugin: what each call may use (memory, wall-clock time, concurrent
//! calls, result size and blocks, open files, sockets and other handles) and what loading it may
//! cost (time, component size, how much
//! it may say about itself). Defaults here, overridden by `capsule.toml` `[defaults]` and by a
//! plugin's policy `[limits]`, never above `capsule.toml` `[caps]` (see [`crate::grants::policy`]).

use std::time::Duration;

use bytesize::ByteSize;

/// Limits applied to one plugin. Every field is a policy key of `[limits]` (named in
/// [`Limits::entries`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `memory`: total linear memory (all memories of the instance together) in bytes; growing
    /// past it fails inside the guest, and a call that dies of it is reported as over its memory
    /// limit.
    pub memory_bytes: usize,
    /// `timeout`: wall-clock budget of one call, instantiation and schema checks included (epoch
    /// interruption).
    pub call_timeout: Duration,
    /// `task_timeout`: wall-clock budget of one MCP task of this plugin, from its creation to its
    /// end: every round of the call and the time it waits for the client's input. A call that
    /// becomes a task runs under this instead of `call_timeout`.
    pub task_timeout: Duration,
    /// `max_tasks`: MCP tasks of this plugin running at once (working or waiting for the
    /// client's input). A call that would start one more is refused with a tool error.
    pub max_tasks: usize,
    /// `max_concurrency`: calls of this plugin running at once; more wait (up to
    /// `call_timeout`), then fail.
    pub max_concurrency: usize,
    /// `max_output`: largest result a call may return, in bytes of its JSON as sent to the
    /// client (every block, annotation, `_meta` and structured content).
    pub max_output_bytes: usize,
    /// `max_content_blocks`: most content blocks (or resource contents, or prompt messages) in
    /// one result.
    pub max_content_blocks: usize,
    /// `load_timeout`: wall-clock budget of reading the plugin's self-description (`describe`,
    /// every `list-*`, their instantiation).
    pub load_timeout: Duration,
    /// `compile_timeout`: wall-clock budget of compiling the component.
    pub compile_timeout: Duration,
    /// `max_component_size`: largest `.wasm` file read, in bytes.
    pub max_component_bytes: usize,
    /// `max_tools`: most tools the plugin may list.
    pub max_tools: usize,
    /// `max_prompts`: most prompts the plugin may list.
    pub max_prompts: usize,
    /// `max_resources`: most resources and resource templates the plugin may list, together.
    pub max_resources: usize,
    /// `max_description`: longest name, title, description or other text of one listed item, in
    /// bytes.
    pub max_description_bytes: usize,
    /// `max_schema`: largest input or output schema of one tool, in bytes of JSON.
    pub max_schema_bytes: usize,
    /// `max_listing`: bytes of everything the plugin lists (its metadata, tools, resources,
    /// templates and prompts) together.
    pub max_listing_bytes: usize,
    /// `max_open_files`: files and directories one call may hold open at once
    /// (`wasi:filesystem` `open-at`; the preopened mounts do not count). One more ends the call.
    pub max_open_files: usize,
    /// `max_sockets`: sockets one call may hold at once: `wasi:sockets` TCP sockets plus
    /// outgoing `wasi:http` connections. One more socket ends the call; one more HTTP connection
    /// fails with `connection-limit-reached`.
    pub max_sockets: usize,
    /// `max_handles`: entries one call may hold in its host resource table (every WASI handle:
    /// descriptors, streams, pollables, sockets, HTTP fields, requests, bodies, ...), and also the
    /// live handles in wasmtime's component handle tables of its store. One more ends the call.
    pub max_handles: usize,
}

/// Smallest `max_handles`: instantiating a plugin and writing its output take a few dozen.
pub const MIN_HANDLES: usize = 100;

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            call_timeout: Duration::from_secs(30),
            task_timeout: Duration::from_secs(3600),
            max_tasks: 16,
            max_concurrency: 16,
            max_output_bytes: 4 << 20,
            max_content_blocks: 1000,
            load_timeout: Duration::from_secs(10),
            compile_timeout: Duration::from_secs(60),
            max_component_bytes: 64 << 20,
            max_tools: 1000,
            max_prompts: 1000,
            max_resources: 10_000,
            max_description_bytes: 32 << 10,
            max_schema_bytes: 256 << 10,
            max_listing_bytes: 8 << 20,
            max_open_files: 256,
            max_sockets: 64,
            max_handles: 10_000,
        }
    }
}

/// One limit as a policy key, comparable and printable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The `[limits]` key.
    pub key: &'static str,
    /// Comparable value (bytes, nanoseconds or a count).
    pub value: u128,
    /// As an operator writes it (`64.0 MiB`, `10s`, `16`).
    pub text: String,
}

impl Limits {
    /// No limit at all: the ceiling when `[caps]` says nothing.
    pub fn unlimited() -> Self {
        Self {
            memory_bytes: usize::MAX,
            call_timeout: Duration::MAX,
            task_timeout: Duration::MAX,
            max_tasks: usize::MAX,
            max_concurrency: usize::MAX,
            max_output_bytes: usize::MAX,
            max_content_blocks: usize::MAX,
            load_timeout: Duration::MAX,
            compile_timeout: Duration::MAX,
            max_component_bytes: usize::MAX,
            max_tools: usize::MAX,
            max_prompts: usize::MAX,
            max_resources: usize::MAX,
            max_description_bytes: usize::MAX,
            max_schema_bytes: usize::MAX,
            max_listing_bytes: usize::MAX,
            max_open_files: usize::MAX,
            max_sockets: usize::MAX,
            max_handles: usize::MAX,
        }
    }

    /// Every limit with its policy key, in the order of the policy reference.
    pub fn entries(&self) -> Vec<Entry> {
        let bytes = |key, v: usize| Entry {
            key,
            value: v as u128,
            text: ByteSize(v as u64).to_string(),
        };
        let time = |key, v: Duration| Entry {
            key,
            value: v.as_nanos(),
            text: humantime::format_duration(v).to_string(),
        };
        let count = |key, v: usize| Entry {
            key,
            value: v as u128,
            text: v.to_string(),
        };
        vec![
            bytes("memory", self.memory_bytes),
            time("timeout", self.call_timeout),
            time("task_timeout", self.task_timeout),
            count("max_tasks", self.max_tasks),
            count("max_concurrency", self.max_concurrency),
            bytes("max_output", self.max_output_bytes),
            count("max_content_blocks", self.max_content_blocks),
            time("load_timeout", self.load_timeout),
            time("compile_timeout", self.compile_timeout),
            bytes("max_component_size", self.max_component_bytes),
            count("max_tools", self.max_tools),
            count("max_prompts", self.max_prompts),
            count("max_resources", self.max_resources),
            bytes("max_description", self.max_description_bytes),
            bytes("max_schema", self.max_schema_bytes),
            bytes("max_listing", self.max_listing_bytes),
            count("max_open_files", self.max_open_files),
            count("max_sockets", self.max_sockets),
            count("max_handles", self.max_handles),
        ]
    }

    /// The first limit above its ceiling in `caps`: `(limit, cap)`.
    pub fn over(&self, caps: &Limits) -> Option<(Entry, Entry)> {
        self.entries()
            .into_iter()
            .zip(caps.entries())
            .find(|(limit, cap)| limit.value > cap.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_limit_over_its_cap() {
        let caps = Limits {
            max_tools: 10,
            ..Limits::unlimited()
        };
        assert_eq!(Limits::default().over(&Limits::unlimited()), None);
        let (limit, cap) = Limits::default().over(&caps).unwrap();
        assert_eq!((limit.key, limit.text.as_str()), ("max_tools", "1000"));
        assert_eq!(cap.text, "10");
        let keys: Vec<_> = Limits::default().entries().iter().map(|e| e.key).collect();
        assert_eq!(keys.len(), 19);
    }
}
