//! Loading real plugin components (built by `make plugins` into `target/plugins`, or
//! `$CAPSULE_PLUGINS`): metadata and static lists are read through the WIT contract, exports are
//! detected per interface, and a URI claimed by two plugins is withheld from both.

use std::sync::Arc;

use capsule_common::test_support::{built_plugin as plugin_file, repo_root};
use capsule_host::config::HostConfig;
use capsule_host::loader::Library;
use capsule_sandbox::grants::Mount;
use capsule_sandbox::grants::Policy;
use capsule_sandbox::runtime::cache::content_hash;
use capsule_sandbox::runtime::{LoadedPlugin, PluginImage, Runtime};
use capsule_server::catalog::Catalog;

fn notes_mount(plugin: &str) -> Mount {
    format!(
        "{plugin}:/notes={}:ro",
        repo_root().join("plugins/notes/data").display()
    )
    .parse()
    .expect("notes data directory exists")
}

async fn load(runtime: &Runtime, file: &str, as_name: &str, policy: Policy) -> LoadedPlugin {
    let path = plugin_file(file);
    let bytes = std::fs::read(&path).expect("readable plugin");
    let hash = content_hash(&bytes);
    match PluginImage::load(runtime, as_name, path, bytes, hash, &policy).await {
        Ok(plugin) => plugin,
        Err(e) => panic!("{file} did not load: {e}"),
    }
}

#[tokio::test]
async fn reads_metadata_and_static_lists_through_the_contract() {
    let runtime = Runtime::new(None).unwrap();
    let hello = load(&runtime, "hello", "hello", Policy::default()).await;
    assert_eq!(hello.metadata.name, "hello");
    assert!(!hello.metadata.version.is_empty());
    assert!(hello.exports.tools && !hello.exports.resources && !hello.exports.prompts);
    assert_eq!(hello.tools.len(), 1);
    assert_eq!(hello.tools[0].name, "greet");
    assert!(hello.tools[0].input_schema.contains("\"name\""));

    let grants = Policy {
        mounts: vec![notes_mount("notes")],
        ..Policy::default()
    };
    let notes = load(&runtime, "notes", "notes", grants).await;
    assert!(notes.exports.tools && notes.exports.resources && notes.exports.prompts);
    let fs = &notes.metadata.requests.filesystem;
    assert_eq!(fs.len(), 1, "notes requests its /notes directory");
    assert_eq!(fs[0].path, "/notes");
    let mut uris: Vec<_> = notes.resources.iter().map(|r| r.uri.as_str()).collect();
    uris.sort();
    assert_eq!(uris, ["notes://ideas", "notes://todo", "notes://welcome"]);
    assert_eq!(notes.resource_templates[0].uri_template, "notes://{name}");
    assert!(notes.prompts.iter().any(
        |p| p.name == "summarize" && p.arguments.iter().any(|a| a.name == "name" && a.required)
    ));
}

#[tokio::test]
async fn a_uri_claimed_by_two_plugins_is_withheld_from_both() {
    let runtime = Runtime::new(None).unwrap();
    let a = load(
        &runtime,
        "notes",
        "notes",
        Policy {
            mounts: vec![notes_mount("notes")],
            ..Policy::default()
        },
    )
    .await;
    let b = load(
        &runtime,
        "notes",
        "notes2",
        Policy {
            mounts: vec![notes_mount("notes2")],
            ..Policy::default()
        },
    )
    .await;
    let catalog = Catalog::build(&[Arc::new(b), Arc::new(a)]);
    assert!(
        catalog.resource_list().is_empty(),
        "no colliding URI is served"
    );
    assert!(
        catalog.template_list().is_empty(),
        "nor the colliding template"
    );
    let collision = catalog
        .problems()
        .iter()
        .find(|p| p.message.contains("'notes://welcome'"))
        .expect("the collision is reported");
    assert_eq!(collision.plugin, "notes, notes2");
    // Namespaced names do not collide: both plugins' tools and prompts are served.
    assert!(catalog.tool("notes_search").is_some() && catalog.tool("notes2_search").is_some());
    assert!(catalog.prompt("notes2_summarize").is_some());
}

/// Either order of loading: the plugin that served a URI first keeps it, its templates answer the
/// URIs both templates match, and the newcomer's claim is refused and reported.
#[tokio::test]
async fn a_uri_stays_with_the_plugin_that_served_it_first() {
    let runtime = Runtime::new(None).unwrap();
    let mut plugins = Vec::new();
    for name in ["notes", "notes2"] {
        let policy = Policy {
            mounts: vec![notes_mount(name)],
            ..Policy::default()
        };
        plugins.push(Arc::new(load(&runtime, "notes", name, policy).await));
    }
    for senior in ["notes", "notes2"] {
        let seniority = |name: &str| Some((if name == senior { 1 } else { 2 }, None));
        let catalog = Catalog::build_ranked(&plugins, &seniority);
        let owner = |uri: &str| catalog.resource_owner(uri).map(|p| p.name().to_string());
        assert_eq!(
            owner("notes://welcome").as_deref(),
            Ok(senior),
            "concrete URI"
        );
        assert_eq!(
            owner("notes://some-new-note").as_deref(),
            Ok(senior),
            "template"
        );
        assert_eq!(catalog.resource_list().len(), 3);
        assert_eq!(catalog.template_list().len(), 1);
        let refusal = catalog
            .problems()
            .iter()
            .find(|p| p.message.contains("'notes://welcome'"))
            .expect("the refused claim is reported");
        assert!(
            refusal.message.contains(&format!("{senior} serves it")),
            "{refusal:?}"
        );
    }
}

#[tokio::test]
async fn a_directory_with_broken_files_still_loads_the_good_ones() {
    let dir = std::env::temp_dir().join(format!("capsule-load-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(plugin_file("hello"), dir.join("hello.wasm")).unwrap();
    std::fs::write(dir.join("empty.wasm"), b"").unwrap();
    std::fs::write(dir.join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join("bad__name.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.join("notes.txt"), b"not a plugin, ignored").unwrap();
    let runtime = Runtime::new(None).unwrap();
    let mut library = Library::new(runtime, dir.clone(), Vec::new(), HostConfig::default());
    assert!(
        library.scan().await.unwrap(),
        "the first scan loads plugins"
    );
    assert!(
        !library.scan().await.unwrap(),
        "nothing changed: a rescan is a no-op"
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let names: Vec<_> = library
        .plugins()
        .iter()
        .map(|p| p.image.name().to_string())
        .collect();
    assert_eq!(names, ["hello"]);
    let reasons: Vec<(String, String)> = library
        .failures()
        .iter()
        .map(|f| {
            (
                f.path.file_name().unwrap().to_string_lossy().into_owned(),
                f.reason.clone(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].0 == "bad__name.wasm" && reasons[0].1.contains("'__'"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].0 == "core.wasm" && reasons[1].1.contains("core WebAssembly module"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].0 == "empty.wasm" && reasons[2].1.contains("not a WebAssembly file"),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn rescans_apply_adds_replacements_failures_and_removals() {
    let dir = std::env::temp_dir().join(format!("capsule-rescan-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = Runtime::new(None).unwrap();
    let mut library = Library::new(runtime, dir.clone(), Vec::new(), HostConfig::default());
    let names = |l: &Library| -> Vec<String> {
        Catalog::build(&l.plugins())
            .tool_list()
            .iter()
            .map(|t| t.name.to_string())
            .collect()
    };
    assert!(
        !library.scan().await.unwrap(),
        "an empty directory loads nothing"
    );

    std::fs::copy(plugin_file("hello"), dir.join("p.wasm")).unwrap();
    assert!(library.scan().await.unwrap());
    assert_eq!(names(&library), ["p_greet"]);

    // A broken new version never replaces the working one.
    std::fs::write(dir.join("p.wasm"), b"\0asm\x0d\0\x01\0 truncated").unwrap();
    assert!(!library.scan().await.unwrap());
    assert_eq!(names(&library), ["p_greet"]);
    let failures = library.failures();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].serving_previous);

    // A good new version does, and clears the error.
    std::fs::copy(plugin_file("textkit"), dir.join("p.wasm")).unwrap();
    assert!(library.scan().await.unwrap());
    assert!(names(&library).contains(&"p_sha256".to_string()));
    assert!(library.failures().is_empty());

    std::fs::remove_file(dir.join("p.wasm")).unwrap();
    assert!(library.scan().await.unwrap());
    assert!(names(&library).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_compile_cache_serves_a_second_load_and_survives_damage() {
    use capsule_sandbox::runtime::Compiled;
    let root = std::env::temp_dir().join(format!("capsule-cache-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let runtime = Runtime::new(Some(&root)).unwrap();
    let first = load(&runtime, "hello", "hello", Policy::default()).await;
    assert!(matches!(first.compiled, Compiled::Fresh(_)));
    let second = load(&runtime, "hello", "hello", Policy::default()).await;
    assert!(
        matches!(second.compiled, Compiled::FromCache(_)),
        "{:?}",
        second.compiled
    );

    // Damage every entry: the next load compiles again (and works).
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        for file in std::fs::read_dir(entry.path()).unwrap().flatten() {
            let mut bytes = std::fs::read(file.path()).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(file.path(), bytes).unwrap();
        }
    }
    let third = load(&runtime, "hello", "hello", Policy::default()).await;
    assert!(
        matches!(third.compiled, Compiled::Fresh(_)),
        "{:?}",
        third.compiled
    );
    assert_eq!(third.tools.len(), 1);
    std::fs::remove_dir_all(&root).unwrap();
}
