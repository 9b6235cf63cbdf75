//! The handler driven over the wire by a real JSON-RPC client, with catalogs of real plugins
//! (`hello`: one tool; `textkit`: several tools; `notes`: a tool, resources, a template, prompts).

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use serde_json::{Value, json};

use super::{CapsuleServer, Shared};
use crate::hub::Hub;
use crate::request_state::{DEFAULT_TTL, RequestStates};
use crate::testing::{Wire, catalog};
use capsule_auth::principal::Proof;
use capsule_auth::scopes::{Grant, ScopeMap, ScopeRule};
use capsule_auth::{Access, Mode, Principal, Transport};

fn shared(catalog: crate::catalog::Catalog, page_size: usize) -> Arc<Shared> {
    Shared::with(
        Hub::new(catalog),
        page_size,
        RequestStates::generated(DEFAULT_TTL),
        super::shared::DEFAULT_LOG_LEVEL,
        crate::tasks::TaskSettings::default(),
    )
}

/// A server whose caller is authenticated (an HTTP+SSE session) with `scopes`, under
/// `[auth.scopes]`: `greet` unlocks hello's tools, `notes` the whole notes plugin.
fn scoped(shared: Arc<Shared>, scopes: &[&str]) -> CapsuleServer {
    let rule = |scope: &str, grant: &str| ScopeRule {
        scope: scope.into(),
        grants: vec![Grant::parse(grant).unwrap()],
    };
    let access = Access {
        mode: Mode::Bearer,
        scopes: ScopeMap::new(vec![
            rule("greet", "tool:hello_*"),
            rule("notes", "plugin:notes"),
        ]),
        ..Access::default()
    };
    let principal = Principal {
        subject: "alice".into(),
        client_id: None,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        proof: Proof::StaticToken,
    };
    CapsuleServer::new(shared, false)
        .with_access(Arc::new(access), Transport::Sse)
        .with_session_principal(Arc::new(RwLock::new(Some(Arc::new(principal)))))
}

fn names(pages: Vec<Vec<String>>) -> Vec<String> {
    pages.concat()
}

#[tokio::test]
async fn lists_are_paged_with_cursors_that_cover_each_item_once() {
    let catalog = catalog(&["hello", "textkit", "notes"]).await;
    let all_tools: Vec<String> = catalog
        .tool_list()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    assert!(all_tools.len() > 4, "{all_tools:?}");
    let mut wire = Wire::connect(CapsuleServer::new(shared(catalog, 2), false)).await;

    let pages = wire.list_all("tools/list", "tools", "name").await;
    assert!(pages.iter().all(|p| p.len() <= 2), "{pages:?}");
    assert!(
        pages.iter().rev().skip(1).all(|p| p.len() == 2),
        "{pages:?}"
    );
    assert_eq!(names(pages), all_tools);

    let resources = names(wire.list_all("resources/list", "resources", "uri").await);
    assert_eq!(
        resources,
        ["notes://ideas", "notes://todo", "notes://welcome"]
    );
    let templates = wire
        .list_all(
            "resources/templates/list",
            "resourceTemplates",
            "uriTemplate",
        )
        .await;
    assert_eq!(names(templates), ["notes://{name}"]);
    let prompts = names(wire.list_all("prompts/list", "prompts", "name").await);
    assert_eq!(prompts, ["notes_brainstorm", "notes_summarize"]);
}

#[tokio::test]
async fn a_cursor_the_server_did_not_issue_is_invalid_params() {
    let catalog = catalog(&["hello", "textkit"]).await;
    let mut wire = Wire::connect(CapsuleServer::new(shared(catalog, 2), false)).await;
    for bad in ["", "bm90LW91cnM", "%%%"] {
        let error = wire
            .request("tools/list", json!({ "cursor": bad }))
            .await
            .unwrap_err();
        assert_eq!(error["code"], -32602, "{bad}: {error}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("invalid cursor"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn lists_show_only_what_the_callers_scopes_unlock() {
    let shared = shared(catalog(&["hello", "textkit", "notes"]).await, 100);

    let mut greeter = Wire::connect(scoped(shared.clone(), &["greet"])).await;
    let tools = names(greeter.list_all("tools/list", "tools", "name").await);
    assert_eq!(tools, ["hello_greet"]);
    let resources = greeter.list_all("resources/list", "resources", "uri").await;
    assert_eq!(names(resources), Vec::<String>::new());
    let templates = greeter
        .list_all(
            "resources/templates/list",
            "resourceTemplates",
            "uriTemplate",
        )
        .await;
    assert_eq!(names(templates), Vec::<String>::new());
    let prompts = greeter.list_all("prompts/list", "prompts", "name").await;
    assert_eq!(names(prompts), Vec::<String>::new());

    let mut reader = Wire::connect(scoped(shared.clone(), &["notes"])).await;
    let tools = names(reader.list_all("tools/list", "tools", "name").await);
    assert_eq!(tools, ["notes_search"]);
    let resources = names(reader.list_all("resources/list", "resources", "uri").await);
    assert_eq!(resources.len(), 3);
    let prompts = names(reader.list_all("prompts/list", "prompts", "name").await);
    assert_eq!(prompts.len(), 2);

    // No scope at all: every list is empty, and a call is refused with -32003.
    let mut nobody = Wire::connect(scoped(shared, &[])).await;
    assert!(names(nobody.list_all("tools/list", "tools", "name").await).is_empty());
    let refused = nobody
        .request(
            "tools/call",
            json!({ "name": "hello_greet", "arguments": { "name": "x" } }),
        )
        .await
        .unwrap_err();
    assert_eq!(refused["code"], -32003, "{refused}");
}

#[tokio::test]
async fn capabilities_follow_what_the_plugins_serve() {
    let tools_only = shared(catalog(&["hello"]).await, 100);
    let mut wire = Wire::connect(CapsuleServer::new(tools_only, true)).await;
    let caps = &wire.initialized["capabilities"];
    assert_eq!(caps["tools"], json!({ "listChanged": true }), "{caps}");
    assert_eq!(caps["logging"], json!({}));
    assert!(
        caps.get("resources").is_none() && caps.get("prompts").is_none(),
        "{caps}"
    );
    // Methods of capabilities not advertised are -32601.
    let error = wire.request("prompts/list", json!({})).await.unwrap_err();
    assert_eq!(error["code"], -32601, "{error}");
    let error = wire.request("resources/list", json!({})).await.unwrap_err();
    assert_eq!(error["code"], -32601, "{error}");

    let everything = shared(catalog(&["hello", "notes"]).await, 100);
    let wire = Wire::connect(CapsuleServer::new(everything, false)).await;
    let caps = &wire.initialized["capabilities"];
    assert_eq!(caps["tools"], json!({}), "{caps}");
    assert_eq!(caps["resources"], json!({ "subscribe": true }), "{caps}");
    assert_eq!(caps["prompts"], json!({}), "{caps}");
    let keys: BTreeSet<&str> = caps
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let known = [
        "tools",
        "logging",
        "resources",
        "prompts",
        "completions",
        "extensions",
        "tasks",
    ];
    assert!(keys.iter().all(|k| known.contains(k)), "{caps}");
    assert_eq!(
        caps["extensions"],
        json!({ "io.modelcontextprotocol/tasks": {} }),
        "{caps}"
    );
    // 2025-11-25's own tasks; the one client of this transport may list its tasks.
    assert_eq!(
        caps["tasks"],
        json!({ "list": {}, "cancel": {}, "requests": { "tools": { "call": {} } } }),
        "{caps}"
    );
    assert!(caps.get("experimental").is_none(), "{caps}");
}

#[tokio::test]
async fn a_subscription_needs_a_uri_some_plugin_serves() {
    let shared = shared(catalog(&["notes"]).await, 100);
    let mut wire = Wire::connect(CapsuleServer::new(shared, false)).await;
    let ok = wire
        .request("resources/subscribe", json!({ "uri": "notes://todo" }))
        .await;
    assert_eq!(ok, Ok(json!({})));
    // Through the template.
    let ok = wire
        .request("resources/subscribe", json!({ "uri": "notes://anything" }))
        .await;
    assert_eq!(ok, Ok(json!({})));
    let error = wire
        .request("resources/subscribe", json!({ "uri": "other://x" }))
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32002, "{error}");
    assert_eq!(error["data"]["uri"], Value::from("other://x"));
}

#[tokio::test]
async fn shutdown_waits_for_a_tool_call_in_flight() {
    let shared = shared(catalog(&["fixture"]).await, 100);
    let mut wire = Wire::connect(CapsuleServer::new(shared.clone(), false)).await;
    assert!(shared.in_flight().is_empty());
    let call = tokio::spawn(async move {
        let params = json!({ "name": "fixture_sleep", "arguments": { "ms": 400 } });
        wire.request("tools/call", params).await
    });
    // The call counts as in flight while the plugin sleeps.
    let mut waited = 0;
    while shared.in_flight().is_empty() {
        assert!(waited < 2000, "the call never counted as in flight");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        waited += 5;
    }
    let drained = shared
        .in_flight()
        .drain(std::time::Duration::from_secs(20))
        .await;
    assert_eq!(drained, Ok(()));
    assert!(shared.in_flight().is_empty());
    let result = call.await.unwrap().expect("the call succeeds");
    assert_ne!(result["isError"], json!(true), "{result}");
}
