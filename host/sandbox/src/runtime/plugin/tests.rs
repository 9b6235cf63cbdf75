//! Loading and calling real plugins (built by `make plugins` into `target/plugins`, or
//! `$CAPSULE_PLUGINS`): how each way a call or a load can fail is reported.

use std::error::Error as _;

use tokio_util::sync::CancellationToken;

use capsule_common::test_support::built_plugin as plugin_file;

use super::*;
use crate::grants::Limits;
use crate::runtime::cache::content_hash;

use crate::runtime::small_runtime as runtime;

/// The default policy with calls limited to `timeout`.
fn timeout_policy(timeout: Duration) -> Policy {
    Policy {
        limits: Limits {
            call_timeout: timeout,
            ..Limits::default()
        },
        ..Policy::default()
    }
}

async fn load_bytes(
    name: &str,
    bytes: Vec<u8>,
    policy: &Policy,
) -> Result<LoadedPlugin, LoadError> {
    let hash = content_hash(&bytes);
    let path = PathBuf::from(format!("{name}.wasm"));
    PluginImage::load(&runtime(), name, path, bytes, hash, policy).await
}

async fn load(name: &str, policy: &Policy) -> Arc<PluginImage> {
    let bytes = std::fs::read(plugin_file(name)).expect("the plugin file is readable");
    match load_bytes(name, bytes, policy).await {
        Ok(loaded) => loaded.image,
        Err(e) => panic!("{name} did not load: {e}"),
    }
}

async fn call(
    image: &PluginImage,
    scope: RequestScope,
    tool: &str,
    arguments: &str,
) -> Result<tools::CallOutcome, CallError> {
    image.call_tool(scope, tool, arguments.into(), None).await
}

#[tokio::test]
async fn a_call_answers_through_the_versioned_helper() {
    let hello = load("hello", &Policy::default()).await;
    let outcome = call(
        &hello,
        RequestScope::default(),
        "greet",
        r#"{"name":"unit"}"#,
    )
    .await
    .expect("greet answers");
    let tools::CallOutcome::Complete(result) = outcome else {
        panic!("greet asked for input");
    };
    assert!(!result.is_error);
    assert!(
        result
            .structured_content
            .as_deref()
            .unwrap_or_default()
            .contains("Hello, unit!"),
        "{:?}",
        result.structured_content
    );
}

/// A 0.1.0 plugin goes through the `old` side of every versioned call, its answers lifted.
#[tokio::test]
async fn a_0_1_plugin_answers_through_the_old_bindings() {
    let legacy = load("legacy", &Policy::default()).await;
    assert!(legacy.contract_0_1());
    let outcome = call(
        &legacy,
        RequestScope::default(),
        "shout",
        r#"{"text":"hi"}"#,
    )
    .await
    .expect("shout answers");
    let tools::CallOutcome::Complete(result) = outcome else {
        panic!("a 0.1.0 plugin never asks for input");
    };
    assert!(
        matches!(&result.content[..], [types::ContentBlock::Text(t)] if t.text == "HI"),
        "{:?}",
        result.content
    );
    let error = call(
        &legacy,
        RequestScope::default(),
        "shout",
        r#"{"text":"x","fail":"denied"}"#,
    )
    .await
    .expect_err("asked to fail");
    assert!(
        matches!(&error, CallError::Plugin(types::Error::Denied(m)) if m == "you asked for denied"),
        "{error:?}"
    );
    let contents = legacy
        .read_resource(RequestScope::default(), "legacy://motto")
        .await
        .expect("the motto reads");
    assert_eq!(contents.len(), 1);
    let prompt = legacy
        .get_prompt(
            RequestScope::default(),
            "recall",
            &[("topic".into(), "wasm".into())],
            None,
        )
        .await
        .expect("the prompt renders");
    assert!(matches!(prompt, prompts::PromptOutcome::Complete(p) if p.messages.len() == 1));
}

#[tokio::test]
async fn spinning_past_the_time_limit_is_a_timeout_naming_the_limit() {
    let limit = Duration::from_millis(300);
    let fixture = load("fixture", &timeout_policy(limit)).await;
    let started = Instant::now();
    let error = call(&fixture, RequestScope::default(), "spin", "{}")
        .await
        .expect_err("spin never answers");
    assert!(
        matches!(error, CallError::Timeout(d) if d == limit),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the plugin ran longer than its time limit of 300ms"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// A guest waiting inside a host call (a WASI clock wait) is out of the epoch deadline's
/// reach: the host-side backstop ends it, with the same error.
#[tokio::test]
async fn waiting_in_a_host_call_past_the_time_limit_is_a_timeout_too() {
    let limit = Duration::from_millis(300);
    let fixture = load("fixture", &timeout_policy(limit)).await;
    let started = Instant::now();
    let error = call(
        &fixture,
        RequestScope::default(),
        "sleep",
        r#"{"ms":60000}"#,
    )
    .await
    .expect_err("the sleep outlasts the limit");
    assert!(
        matches!(error, CallError::Timeout(d) if d == limit),
        "{error:?}"
    );
    assert!(error.to_string().contains("time limit of 300ms"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_trap_is_the_trap_error_with_wasmtimes_chain_as_its_source() {
    let fixture = load("fixture", &Policy::default()).await;
    let error = call(&fixture, RequestScope::default(), "trap", "{}")
        .await
        .expect_err("trap traps");
    let CallError::Trap(cause) = &error else {
        panic!("not a trap: {error:?}");
    };
    assert!(
        cause.chain().any(|e| matches!(
            e.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::UnreachableCodeReached)
        )),
        "no wasm trap code in the chain: {cause:?}"
    );
    let source = error.source().expect("the trap keeps its source");
    assert_eq!(source.to_string(), cause.to_string());
    let message = error.to_string();
    assert!(message.starts_with("the plugin crashed: "), "{message}");
    assert!(
        message.contains("unreachable"),
        "the message shows the chain: {message}"
    );
    // The plugin keeps serving: every call has a fresh instance.
    let echoed = call(&fixture, RequestScope::default(), "echo", r#"{"value":1}"#).await;
    assert!(echoed.is_ok(), "{echoed:?}");
}

#[tokio::test]
async fn cancelling_the_scope_stops_a_spinning_call() {
    let fixture = load("fixture", &timeout_policy(Duration::from_secs(120))).await;
    let cancel = CancellationToken::new();
    let scope = RequestScope {
        cancel: cancel.clone(),
        ..RequestScope::default()
    };
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        cancel.cancel();
    });
    let started = Instant::now();
    let error = call(&fixture, scope, "spin", "{}")
        .await
        .expect_err("spin never answers");
    canceller.join().expect("the canceller thread ends");
    assert!(matches!(error, CallError::Cancelled), "{error:?}");
    assert_eq!(error.to_string(), "the request was cancelled");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_scope_time_limit_replaces_the_plugin_timeout() {
    // A task's calls run under the task's limit instead of `[limits] timeout`.
    let fixture = load("fixture", &timeout_policy(Duration::from_secs(120))).await;
    let scope = RequestScope {
        time_limit: Some(Duration::from_millis(300)),
        ..RequestScope::default()
    };
    let error = call(&fixture, scope, "spin", "{}")
        .await
        .expect_err("spin never answers");
    assert!(
        matches!(error, CallError::Timeout(limit) if limit == Duration::from_millis(300)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_missing_export_is_a_clear_error() {
    let hello = load("hello", &Policy::default()).await;
    assert!(!hello.exports().resources && !hello.exports().prompts);
    let error = hello
        .read_resource(RequestScope::default(), "hello://x")
        .await
        .expect_err("hello serves no resources");
    assert!(
        matches!(error, CallError::NotExported("resources")),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the plugin does not export capsule:plugin/resources"
    );
    let error = hello
        .get_prompt(RequestScope::default(), "p", &[], None)
        .await
        .expect_err("hello has no prompts");
    assert_eq!(
        error.to_string(),
        "the plugin does not export capsule:plugin/prompts"
    );
}

/// A granted directory that vanished after the load: the call cannot be set up, and the
/// operating system's error is at the end of the chain.
#[tokio::test]
async fn a_vanished_mount_is_a_setup_error_with_the_io_error_in_its_chain() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let data = dir.path().join("notes");
    std::fs::create_dir(&data).expect("the notes directory is created");
    let mount = format!("notes:/notes={}:ro", data.display())
        .parse()
        .expect("a valid mount");
    let policy = Policy {
        mounts: vec![mount],
        ..Policy::default()
    };
    let notes = load("notes", &policy).await;
    std::fs::remove_dir(&data).expect("the notes directory is removed");
    let error = notes
        .read_resource(RequestScope::default(), "notes://welcome")
        .await
        .expect_err("the mount is gone");
    let CallError::Setup(cause) = &error else {
        panic!("not a set-up error: {error:?}");
    };
    let io = cause
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .expect("the io::Error is kept");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    let message = error.to_string();
    assert!(
        message.starts_with("the sandbox could not be prepared: cannot open host directory"),
        "{message}"
    );
    assert!(error.source().is_some());
}

#[tokio::test]
async fn an_unknown_tool_is_the_plugins_typed_error() {
    let fixture = load("fixture", &Policy::default()).await;
    let error = call(&fixture, RequestScope::default(), "no_such_tool", "{}")
        .await
        .expect_err("no such tool");
    assert!(matches!(error, CallError::Plugin(_)), "{error:?}");
    assert!(
        error.source().is_none(),
        "a plugin's own error has no source"
    );
}

#[tokio::test]
async fn a_damaged_component_is_a_compile_error_with_its_source() {
    let mut bytes = std::fs::read(plugin_file("hello")).expect("the plugin file is readable");
    bytes.truncate(bytes.len() / 2);
    let error = load_bytes("truncated", bytes, &Policy::default())
        .await
        .err()
        .expect("half a component does not load");
    assert!(matches!(error, LoadError::Compile(_)), "{error:?}");
    let source = error.source().expect("the compiler's error is kept");
    let message = error.to_string();
    assert!(
        message.starts_with("the component does not compile: "),
        "{message}"
    );
    assert!(
        message.contains(&source.to_string()),
        "{message} lacks {source}"
    );
}

#[tokio::test]
async fn files_that_are_not_components_say_what_they_are() {
    let text = load_bytes("text", b"#!/bin/sh\necho hi\n".to_vec(), &Policy::default()).await;
    assert!(matches!(text, Err(LoadError::NotWasm)), "{:?}", text.err());
    let core = load_bytes("core", b"\0asm\x01\0\0\0".to_vec(), &Policy::default()).await;
    assert!(
        matches!(core, Err(LoadError::CoreModule)),
        "{:?}",
        core.err()
    );
}

#[tokio::test]
async fn an_unsatisfiable_import_is_a_link_error_with_its_source() {
    let component = wat::parse_str(
        r#"(component (import "example:nope/missing" (instance (export "f" (func)))))"#,
    )
    .expect("valid WAT");
    let error = load_bytes("importer", component, &Policy::default())
        .await
        .err()
        .expect("nothing provides example:nope/missing");
    assert!(matches!(error, LoadError::Link(_)), "{error:?}");
    assert!(error.source().is_some());
    let message = error.to_string();
    assert!(message.contains("example:nope/missing"), "{message}");
}

#[tokio::test]
async fn a_component_with_nothing_to_serve_says_so() {
    let component = wat::parse_str("(component)").expect("valid WAT");
    let error = load_bytes("empty", component, &Policy::default())
        .await
        .err()
        .expect("an empty component is no plugin");
    assert!(matches!(error, LoadError::NotAPlugin(_)), "{error:?}");
    assert!(error.source().is_some());
    assert!(
        error.to_string().starts_with(
            "nothing to serve: the component exports no function and not capsule:plugin/plugin"
        ),
        "{error}"
    );
}

/// A plain component whose only function takes a resource: skipped, so nothing to serve,
/// and the message says which function and why.
#[tokio::test]
async fn a_plain_component_whose_functions_are_all_skipped_says_why() {
    let component = wat::parse_str(
        r#"(component
          (type $r (resource (rep i32)))
          (export $r2 "thing" (type $r))
          (core module $m (func (export "f") (param i32)))
          (core instance $i (instantiate $m))
          (func $f (param "t" (own $r2)) (canon lift (core func $i "f")))
          (export "use-thing" (func $f)))"#,
    )
    .expect("valid WAT");
    let error = load_bytes("things", component, &Policy::default())
        .await
        .err()
        .expect("no function can be served");
    assert_eq!(
        error.to_string(),
        "nothing to serve: none of the component's exported functions can be a tool: \
         `use-thing` parameter 't' uses a resource handle (own/borrow), which has no JSON form"
    );
}

/// Values lifted from the guest cost host memory beyond the guest's own (a `list<u8>` is a
/// `Val` per byte): a result worth more than the plugin's memory limit is refused as over
/// its limit before the host allocates it (wasmtime's hostcall fuel), not after.
#[tokio::test]
async fn a_result_too_big_to_lift_is_over_the_memory_limit() {
    let component = wat::parse_str(
        r#"(component
          (core module $m
            (memory (export "mem") 40)
            (func (export "big") (result i32)
              (i32.store (i32.const 0) (i32.const 16))
              (i32.store (i32.const 4) (i32.const 2000000))
              (i32.const 0)))
          (core instance $i (instantiate $m))
          (alias core export $i "mem" (core memory $mem))
          (type $bytes (list u8))
          (func $big (result $bytes) (canon lift (core func $i "big") (memory $mem)))
          (export "big" (func $big)))"#,
    )
    .expect("valid WAT");
    let policy = Policy {
        limits: Limits {
            memory_bytes: 32 << 20,
            ..Limits::default()
        },
        ..Policy::default()
    };
    let image = load_bytes("big", component, &policy)
        .await
        .expect("the component loads")
        .image;
    let error = call(&image, RequestScope::default(), "big", "{}")
        .await
        .expect_err("2 MB of bytes lift to more than 32 MiB of values");
    assert_eq!(
        error.to_string(),
        "the plugin handed the host more than 32.0 MiB of values in one call (its [limits] \
         memory, at most 128.0 MiB)"
    );
}

/// A plain component's function, called through `call_tool` like any tool: arguments
/// converted, the result wrapped, a trap reported as one.
#[tokio::test]
async fn a_plain_function_is_called_as_a_tool() {
    let component = wat::parse_str(
        r#"(component
          (core module $m
            (func (export "add") (param i32 i32) (result i32)
              (i32.add (local.get 0) (local.get 1)))
            (func (export "boom") unreachable))
          (core instance $i (instantiate $m))
          (func $add (param "a" u32) (param "b" u32) (result u32)
            (canon lift (core func $i "add")))
          (func $boom (canon lift (core func $i "boom")))
          (export "add" (func $add))
          (export "boom" (func $boom)))"#,
    )
    .expect("valid WAT");
    let loaded = load_bytes("calc", component, &Policy::default())
        .await
        .expect("a plain component loads");
    assert_eq!(loaded.kind, PluginKind::Plain);
    assert_eq!(loaded.undocumented, ["add", "boom"]);
    let image = loaded.image;
    let outcome = call(
        &image,
        RequestScope::default(),
        "add",
        r#"{"a": 40, "b": 2}"#,
    )
    .await
    .expect("add answers");
    let tools::CallOutcome::Complete(result) = outcome else {
        panic!("a plain call completes")
    };
    assert!(!result.is_error);
    assert_eq!(
        result.structured_content.as_deref(),
        Some(r#"{"result":42}"#)
    );
    let trapped = call(&image, RequestScope::default(), "boom", "{}").await;
    assert!(matches!(trapped, Err(CallError::Trap(_))), "{trapped:?}");
    let unknown = call(&image, RequestScope::default(), "nope", "{}").await;
    assert!(
        matches!(unknown, Err(CallError::Plugin(types::Error::NotFound(_)))),
        "{unknown:?}"
    );
}
