//! The hub: the catalog every request reads, swapped atomically, and the clients to tell when it
//! changes.
//!
//! Requests take a snapshot (`Arc<Catalog>`) when they start and keep the plugin images they
//! resolved, so a call in flight finishes on the version it started with while new calls see the
//! new catalog. After a swap the hub sends `notifications/{tools,prompts,resources}/list_changed`
//! for each list that really changed: to every 2025-11-25 session (registered when the client
//! sends `notifications/initialized`) and to every 2026-07-28 `subscriptions/listen` stream that
//! accepted that notification. Closed sessions are forgotten when a session is added, when an
//! HTTP session closes ([`Hub::forget_closed_sessions`]) and on the next broadcast.
//!
//! It also carries resource subscriptions (MCP "Server Features → Resources → Subscriptions"): a plugin's `resource-updated(uri)` report becomes
//! `notifications/resources/updated` for every session that sent `resources/subscribe` for that
//! URI (2025-11-25) and every listen stream whose accepted filter lists it (2026-07-28).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rmcp::service::{Peer, RoleServer, SubscriptionSendError, SubscriptionSink};

use crate::catalog::Catalog;
use capsule_common::sync::lock;
use capsule_sandbox::runtime::ResourceUpdates;

/// The URIs one 2025-11-25 session subscribed to (`resources/subscribe`), shared by its handler
/// (which adds and removes) and the hub (which reads).
pub type Subscriptions = Arc<Mutex<BTreeSet<String>>>;

/// A 2025-11-25 session: its client and its resource subscriptions.
#[derive(Clone)]
struct Session {
    peer: Peer<RoleServer>,
    subscriptions: Subscriptions,
}

/// Which lists differ between two catalogs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// `tools/list` differs (`notifications/tools/list_changed`).
    pub tools: bool,
    /// `prompts/list` differs (`notifications/prompts/list_changed`).
    pub prompts: bool,
    /// Resources or resource templates.
    pub resources: bool,
}

impl Changes {
    /// Compare what clients can list.
    pub fn between(old: &Catalog, new: &Catalog) -> Self {
        Self {
            tools: old.tool_list() != new.tool_list(),
            prompts: old.prompt_list() != new.prompt_list(),
            resources: old.resource_list() != new.resource_list()
                || old.template_list() != new.template_list(),
        }
    }

    /// Whether any list differs.
    pub fn any(&self) -> bool {
        self.tools || self.prompts || self.resources
    }
}

/// The current catalog and the clients to notify. Shared by the server (reads), the watcher
/// (publishes) and the sandbox (reports resource updates, through [`UpdateRelay`]).
pub struct Hub {
    catalog: ArcSwap<Catalog>,
    sessions: Mutex<Vec<Session>>,
    listeners: Mutex<Vec<(u64, SubscriptionSink)>>,
    next_listener: AtomicU64,
    /// URIs whose `resources/updated` notification is on its way (identical reports merge).
    pending_updates: Mutex<BTreeSet<String>>,
}

impl Hub {
    /// A hub serving `catalog`, with no clients yet.
    pub fn new(catalog: Catalog) -> Arc<Self> {
        Arc::new(Self {
            catalog: ArcSwap::from_pointee(catalog),
            sessions: Mutex::default(),
            listeners: Mutex::default(),
            next_listener: AtomicU64::new(1),
            pending_updates: Mutex::default(),
        })
    }

    /// The current catalog: a snapshot that stays valid (with its plugin images) however often
    /// the hub swaps catalogs afterwards.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    /// Remember a 2025-11-25 session for list-changed notifications, and the set its
    /// `resources/subscribe` requests fill. Sessions that have ended since are forgotten here
    /// too, so HTTP session churn does not grow the list.
    pub fn add_session(&self, peer: Peer<RoleServer>, subscriptions: Subscriptions) {
        let mut sessions = lock(&self.sessions);
        sessions.retain(|s| !s.peer.is_transport_closed());
        sessions.push(Session {
            peer,
            subscriptions,
        });
    }

    /// Forget the 2025-11-25 sessions whose transport has closed, freeing what their client
    /// handles hold (called when a Streamable HTTP session closes or expires).
    pub fn forget_closed_sessions(&self) {
        lock(&self.sessions).retain(|s| !s.peer.is_transport_closed());
    }

    /// Remember a 2026-07-28 `subscriptions/listen` stream; returns the key for
    /// [`Self::remove_listener`].
    pub fn add_listener(&self, sink: SubscriptionSink) -> u64 {
        let id = self.next_listener.fetch_add(1, Ordering::Relaxed);
        lock(&self.listeners).push((id, sink));
        id
    }

    /// Forget a listen stream (its request ended).
    pub fn remove_listener(&self, id: u64) {
        lock(&self.listeners).retain(|(key, _)| *key != id);
    }

    /// How many sessions and listen streams are registered (closed ones are dropped lazily).
    pub fn audience(&self) -> (usize, usize) {
        (lock(&self.sessions).len(), lock(&self.listeners).len())
    }

    /// Swap in `catalog` and notify every client of the lists that changed.
    pub async fn publish(&self, catalog: Catalog) -> Changes {
        let old = self.catalog.swap(Arc::new(catalog));
        let new = self.catalog.load_full();
        let changes = Changes::between(&old, &new);
        if changes.any() {
            self.broadcast(changes).await;
        }
        changes
    }

    async fn broadcast(&self, changes: Changes) {
        let sessions: Vec<_> = lock(&self.sessions).clone();
        for Session { peer, .. } in &sessions {
            let sent = async {
                if changes.tools {
                    peer.notify_tool_list_changed().await?;
                }
                if changes.prompts {
                    peer.notify_prompt_list_changed().await?;
                }
                if changes.resources {
                    peer.notify_resource_list_changed().await?;
                }
                Ok::<(), rmcp::service::ServiceError>(())
            };
            if let Err(error) = sent.await {
                tracing::debug!(%error, "a session did not take a list_changed notification");
            }
        }
        lock(&self.sessions).retain(|s| !s.peer.is_transport_closed());

        let listeners: Vec<_> = lock(&self.listeners).clone();
        let mut closed = Vec::new();
        for (id, sink) in &listeners {
            for (wanted, kind) in [
                (changes.tools, Kind::Tools),
                (changes.prompts, Kind::Prompts),
                (changes.resources, Kind::Resources),
            ] {
                if !wanted {
                    continue;
                }
                match sink_send(sink, kind).await {
                    Ok(()) => {}
                    Err(SubscriptionSendError::SubscriptionClosed) => closed.push(*id),
                    Err(error) => {
                        tracing::debug!(%error, "a listen stream did not take a notification")
                    }
                }
            }
        }
        lock(&self.listeners).retain(|(id, _)| !closed.contains(id));
    }
}

impl Hub {
    /// Send `notifications/resources/updated` for `uri` to the sessions and listen streams
    /// subscribed to it.
    pub async fn notify_resource_updated(&self, uri: &str) {
        let sessions: Vec<_> = lock(&self.sessions)
            .iter()
            .filter(|s| lock(&s.subscriptions).contains(uri))
            .map(|s| s.peer.clone())
            .collect();
        for peer in sessions {
            let param = rmcp::model::ResourceUpdatedNotificationParam::new(uri);
            if let Err(error) = peer.notify_resource_updated(param).await {
                tracing::debug!(%error, uri, "a session did not take a resources/updated notification");
            }
        }
        let listeners: Vec<_> = lock(&self.listeners)
            .iter()
            .filter(|(_, sink)| {
                sink.accepted()
                    .resource_subscriptions
                    .as_ref()
                    .is_some_and(|uris| uris.iter().any(|u| u == uri))
            })
            .map(|(_, sink)| sink.clone())
            .collect();
        for sink in listeners {
            if let Err(error) = sink.notify_resource_updated(uri).await {
                tracing::debug!(%error, uri, "a listen stream did not take a resources/updated notification");
            }
        }
    }
}

/// The hub as the sandbox's receiver of plugins' `resource-updated` reports.
pub struct UpdateRelay(pub Arc<Hub>);

/// A plugin's `resource-updated` report: passed on (without making the plugin wait for the
/// clients) when the URI is one the reporting plugin serves, dropped with a log line otherwise.
/// A report of a URI whose notification is still on its way is merged into it.
impl ResourceUpdates for UpdateRelay {
    fn resource_updated(&self, plugin: &str, uri: &str, admit: &dyn Fn() -> bool) {
        match self.0.catalog().resource_owner(uri) {
            Ok(owner) if owner.name() == plugin => {
                {
                    let mut pending = lock(&self.0.pending_updates);
                    if pending.contains(uri) || !admit() {
                        return;
                    }
                    pending.insert(uri.to_string());
                }
                let hub = self.0.clone();
                let uri = uri.to_string();
                tokio::spawn(async move {
                    lock(&hub.pending_updates).remove(&uri);
                    hub.notify_resource_updated(&uri).await
                });
            }
            _ => tracing::warn!(
                plugin,
                uri,
                "ignored resource-updated for a URI the plugin does not serve"
            ),
        }
    }
}

enum Kind {
    Tools,
    Prompts,
    Resources,
}

async fn sink_send(sink: &SubscriptionSink, kind: Kind) -> Result<(), SubscriptionSendError> {
    let accepted = sink.accepted();
    match kind {
        Kind::Tools if accepted.tools_list_changed == Some(true) => {
            sink.notify_tool_list_changed().await
        }
        Kind::Prompts if accepted.prompts_list_changed == Some(true) => {
            sink.notify_prompt_list_changed().await
        }
        Kind::Resources if accepted.resources_list_changed == Some(true) => {
            sink.notify_resource_list_changed().await
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::server::{CapsuleServer, Shared};
    use crate::testing::{Wire, catalog};

    /// A session of `hub`, registered for notifications once this returns.
    async fn session(hub: &Arc<Hub>) -> Wire {
        let before = hub.audience().0;
        let wire = Wire::connect(CapsuleServer::new(Shared::new(hub.clone()), true)).await;
        // The session is added when the server handles `notifications/initialized`.
        for _ in 0..500 {
            if hub.audience().0 > before {
                return wire;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the session was not registered");
    }

    #[tokio::test]
    async fn a_swap_notifies_sessions_of_the_lists_that_changed() {
        let hub = Hub::new(catalog(&["hello"]).await);
        let mut wire = session(&hub).await;
        let tools = wire.list_all("tools/list", "tools", "name").await.concat();
        assert_eq!(tools, ["hello_greet"]);

        let changes = hub.publish(catalog(&["hello", "notes"]).await).await;
        assert_eq!(
            changes,
            Changes {
                tools: true,
                prompts: true,
                resources: true
            }
        );
        for method in [
            "notifications/tools/list_changed",
            "notifications/prompts/list_changed",
            "notifications/resources/list_changed",
        ] {
            assert_eq!(wire.notification().await["method"], method);
        }
        // The session now answers from the new catalog.
        let tools = wire.list_all("tools/list", "tools", "name").await.concat();
        assert_eq!(tools, ["hello_greet", "notes_search"]);

        // The same lists again: nothing changed, nothing is sent.
        let changes = hub.publish(catalog(&["notes", "hello"]).await).await;
        assert_eq!(changes, Changes::default());
        assert!(!changes.any());
        // notes leaves (every list changes), then textkit joins: only the tools list changes.
        let changes = hub.publish(catalog(&["hello"]).await).await;
        assert!(changes.tools && changes.prompts && changes.resources);
        let changes = hub.publish(catalog(&["hello", "textkit"]).await).await;
        assert_eq!(
            changes,
            Changes {
                tools: true,
                ..Changes::default()
            }
        );
        wire.request("ping", json!({})).await.unwrap();
        let methods: Vec<_> = wire
            .notifications
            .drain(..)
            .map(|n| n["method"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            methods,
            [
                "notifications/tools/list_changed",
                "notifications/prompts/list_changed",
                "notifications/resources/list_changed",
                "notifications/tools/list_changed",
            ]
        );
    }

    #[tokio::test]
    async fn resource_updates_reach_subscribers_and_only_from_the_owner() {
        let hub = Hub::new(catalog(&["hello", "notes"]).await);
        let mut wire = session(&hub).await;
        for uri in ["notes://todo", "notes://ideas"] {
            let subscribed = wire
                .request("resources/subscribe", json!({ "uri": uri }))
                .await;
            assert_eq!(subscribed, Ok(json!({})));
        }
        let relay = UpdateRelay(hub.clone());
        // Reported by a plugin that does not serve the URI: dropped.
        relay.resource_updated("hello", "notes://todo", &|| true);
        // Not subscribed by this session: not sent to it.
        relay.resource_updated("notes", "notes://welcome", &|| true);
        // Refused by the plugin's notification budget: not sent.
        relay.resource_updated("notes", "notes://todo", &|| false);
        // Reported by its owner, subscribed: sent.
        relay.resource_updated("notes", "notes://ideas", &|| true);

        let updated = wire.notification().await;
        assert_eq!(updated["method"], "notifications/resources/updated");
        assert_eq!(updated["params"]["uri"], "notes://ideas");
        wire.request("ping", json!({})).await.unwrap();
        assert!(wire.notifications.is_empty(), "{:?}", wire.notifications);

        // After unsubscribing, the owner's report is not sent either.
        let unsubscribed = wire
            .request("resources/unsubscribe", json!({ "uri": "notes://ideas" }))
            .await;
        assert_eq!(unsubscribed, Ok(json!({})));
        relay.resource_updated("notes", "notes://ideas", &|| true);
        relay.resource_updated("notes", "notes://todo", &|| true);
        let updated = wire.notification().await;
        assert_eq!(updated["params"]["uri"], "notes://todo");
    }
}
