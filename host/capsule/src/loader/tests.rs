use std::time::Duration;

use capsule_common::test_support::built_plugin as plugin_file;
use capsule_sandbox::grants::Limits;

use super::*;

fn library(dir: &Path) -> Library {
    let runtime = Runtime::new(None).unwrap();
    Library::new(
        runtime,
        dir.to_path_buf(),
        Vec::new(),
        HostConfig::default(),
    )
}

fn names(library: &Library) -> Vec<String> {
    library
        .plugins()
        .iter()
        .map(|p| p.image.name().to_string())
        .collect()
}

/// Move `path`'s modification time `secs` seconds on (a rewrite within the same second would
/// keep the stamp on file systems with coarse timestamps).
fn bump_mtime(path: &Path, secs: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    let modified = file.metadata().unwrap().modified().unwrap();
    file.set_modified(modified + Duration::from_secs(secs))
        .unwrap();
}

#[test]
fn plugin_files_are_the_wasm_entries_sorted_whatever_their_type() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["b.wasm", "a.wasm", "a.toml", "notes.txt", "wasm"] {
        std::fs::write(dir.path().join(name), b"").unwrap();
    }
    std::fs::create_dir(dir.path().join("c.wasm")).unwrap();
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/d.wasm"), b"").unwrap();
    let found: Vec<_> = plugin_files(dir.path())
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(found, ["a.wasm", "b.wasm", "c.wasm"]);
    let missing = plugin_files(&dir.path().join("absent")).unwrap_err();
    assert!(
        format!("{missing:#}").contains("cannot read the plugin directory"),
        "{missing:#}"
    );
}

#[tokio::test]
async fn a_touched_file_with_the_same_content_keeps_the_loaded_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.wasm");
    std::fs::copy(plugin_file("hello"), &path).unwrap();
    let mut library = library(dir.path());
    assert!(library.scan().await.unwrap());
    let before = library.plugins()[0].clone();
    bump_mtime(&path, 5);
    assert!(
        !library.scan().await.unwrap(),
        "same bytes: nothing changes"
    );
    assert!(Arc::ptr_eq(&before, &library.plugins()[0]));
}

#[tokio::test]
async fn a_policy_change_reloads_the_plugin_and_a_bad_one_keeps_it_serving() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_file("hello"), dir.path().join("hello.wasm")).unwrap();
    let policy = dir.path().join("hello.toml");
    let mut library = library(dir.path());
    assert!(library.scan().await.unwrap());
    let limits = |l: &Library| l.plugins()[0].image.grants().limits;
    assert_eq!(
        limits(&library).call_timeout,
        Limits::default().call_timeout
    );

    std::fs::write(&policy, "[limits]\ntimeout = \"3s\"\n").unwrap();
    assert!(
        library.scan().await.unwrap(),
        "a new policy is a new plugin"
    );
    assert_eq!(limits(&library).call_timeout, Duration::from_secs(3));

    std::fs::write(&policy, "[limits]\n\ntimeout = \"soon\"\n").unwrap();
    bump_mtime(&policy, 5);
    assert!(!library.scan().await.unwrap());
    assert_eq!(limits(&library).call_timeout, Duration::from_secs(3));
    let failures = library.failures();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].serving_previous);
    let reason = &failures[0].reason;
    assert!(
        reason.starts_with("policy not applied:")
            && reason.contains(&format!("{}:3", policy.display()))
            && reason.contains("invalid duration 'soon'"),
        "{reason}"
    );
}

#[tokio::test]
async fn only_the_latest_load_of_a_file_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.wasm");
    std::fs::write(
        dir.path().join("p.toml"),
        "[limits]\nload_timeout = \"2s\"\n",
    )
    .unwrap();
    // The first version's `describe` sleeps past its load timeout, so its (failed) outcome
    // arrives after the second version's: it must not be applied.
    std::fs::copy(plugin_file("hostile_slow"), &path).unwrap();
    let mut library = library(dir.path());
    library.start_scan().unwrap();
    // Give the first load time to read its file (a local read: well under a second), then
    // swap the file atomically. Were the read later, both loads would see the new version
    // and the test would prove less, never fail.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let next = dir.path().join("next.tmp");
    std::fs::copy(plugin_file("textkit"), &next).unwrap();
    std::fs::rename(&next, &path).unwrap();
    bump_mtime(&path, 5);
    library.start_scan().unwrap();
    while library.next_done().await.is_some() {}
    let plugins = library.plugins();
    assert_eq!(plugins.len(), 1);
    assert!(
        plugins[0].tools.iter().any(|t| t.name == "sha256"),
        "the textkit version is served"
    );
    assert!(
        library.failures().is_empty(),
        "the superseded load's failure is dropped: {:?}",
        library.failures()
    );
}

#[tokio::test]
async fn a_file_removed_while_it_loads_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hello.wasm");
    std::fs::copy(plugin_file("hello"), &path).unwrap();
    let mut library = library(dir.path());
    library.start_scan().unwrap();
    std::fs::remove_file(&path).unwrap();
    library.start_scan().unwrap();
    while library.next_done().await.is_some() {}
    assert!(names(&library).is_empty());
    assert!(library.failures().is_empty());
}

#[tokio::test]
async fn a_fifo_named_like_a_plugin_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_file("hello"), dir.path().join("hello.wasm")).unwrap();
    let fifo = dir.path().join("pipe.wasm");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    let mut library = library(dir.path());
    tokio::time::timeout(Duration::from_secs(60), library.scan())
        .await
        .expect("a FIFO must not block the scan")
        .unwrap();
    assert_eq!(names(&library), ["hello"]);
    let failures = library.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].path.ends_with("pipe.wasm"));
    assert!(
        failures[0].reason.contains("not a regular file"),
        "{}",
        failures[0].reason
    );
}

#[tokio::test]
async fn a_file_over_its_size_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(plugin_file("hello"), dir.path().join("hello.wasm")).unwrap();
    std::fs::write(
        dir.path().join("hello.toml"),
        "[limits]\nmax_component_size = \"1KiB\"\n",
    )
    .unwrap();
    let mut library = library(dir.path());
    assert!(!library.scan().await.unwrap());
    let failures = library.failures();
    assert_eq!(failures.len(), 1);
    assert!(
        failures[0].reason.contains("max_component_size"),
        "{}",
        failures[0].reason
    );
}
