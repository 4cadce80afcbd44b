//! Service discovery (U2C): the `hostmap` catalog that tells a client where
//! WDM, the conversation service and the REST API of its region live.
//!
//! Shaped as Cisco's SDK reads it (`services/services.js`): `hostCatalog` is
//! keyed by a URL's `host` (name and port), each key lists the hosts of *one*
//! service (the SDK names a key's service by its first entry, webex 2.x
//! insists on finding that service in `serviceLinks`), and each entry's `host`
//! is a bare host name to which the client appends the service URL's port.
//! The entry `id` (`urn:TEAM:<cluster>:<service>`) is how the SDK maps a URL
//! to its cluster: the listener's own name is the home (US) conversation
//! service, its second name the migrated cluster's, so the cluster derived
//! from an activity's `target.url` is the room's. Other services have no
//! entries; clients use their `serviceLinks` URL as it is.
//!
//! `GET /limited/catalog` is the pre-login catalog: Webex serves it without a
//! token (the SDK asks for it before it authorizes anything).

use super::handle::Shared;
use super::render::Urls;
use super::world::MIGRATED_CLUSTER;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The cluster of the simulator's home (US) services, as the catalog names it.
pub const HOME_CLUSTER_URN: &str = "urn:TEAM:us-east-2_a";

/// `/catalog` (behind the token check).
pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/catalog", get(full))
}

/// `/limited/catalog` (no token needed).
pub fn public_routes() -> Router<Arc<Shared>> {
    Router::new().route("/limited/catalog", get(limited))
}

async fn full(State(s): State<Arc<Shared>>) -> Json<Value> {
    let urls = s.urls();
    let links = json!({
        "wdm": urls.wdm(),
        "conversation": urls.conversation(),
        "hydra": format!("{}/v1", urls.base),
        "u2c": format!("{}/u2c/api/v1", urls.base),
        "metrics": format!("{}/metrics/api/v1", urls.base),
    });
    Json(hostmap(&urls, links, true))
}

async fn limited(State(s): State<Arc<Shared>>) -> Json<Value> {
    let urls = s.urls();
    let links = json!({
        "hydra": format!("{}/v1", urls.base),
        "u2c": format!("{}/u2c/api/v1", urls.base),
        "metrics": format!("{}/metrics/api/v1", urls.base),
    });
    Json(hostmap(&urls, links, false))
}

/// `scheme://name:port` → (`name:port`, `name`).
fn authority(base: &str) -> (&str, &str) {
    let authority = base.split_once("://").map_or(base, |(_, rest)| rest);
    let name = match authority.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => authority,
    };
    (authority, name)
}

fn entry(name: &str, cluster: &str, service: &str) -> Value {
    json!({"host": name, "ttl": -1, "priority": 5, "id": format!("{cluster}:{service}")})
}

/// The catalog; the conversation hosts only with `conversation` (the
/// pre-login catalog has no conversation service).
fn hostmap(urls: &Urls, links: Value, conversation: bool) -> Value {
    let mut hosts = Map::new();
    if conversation {
        let (home, home_name) = authority(urls.base);
        hosts.insert(home.to_owned(), json!([entry(home_name, HOME_CLUSTER_URN, "conversation")]));
        let (other, other_name) = authority(urls.other);
        if other != home {
            hosts.insert(other.to_owned(), json!([entry(other_name, MIGRATED_CLUSTER, "conversation")]));
        }
    }
    json!({"serviceLinks": links, "hostCatalog": hosts, "format": "hostmap"})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cluster_has_its_conversation_host_and_entries_name_bare_hosts() {
        let urls = Urls { base: "http://127.0.0.1:8900", other: "http://localhost:8900" };
        let links = json!({"wdm": urls.wdm()});
        let c = hostmap(&urls, links, true);
        let home = &c["hostCatalog"]["127.0.0.1:8900"];
        assert_eq!(
            home[0],
            json!({"host": "127.0.0.1", "ttl": -1, "priority": 5, "id": "urn:TEAM:us-east-2_a:conversation"})
        );
        let eu = &c["hostCatalog"]["localhost:8900"][0];
        assert_eq!(eu["host"], "localhost");
        assert_eq!(eu["id"], format!("{MIGRATED_CLUSTER}:conversation"));
        assert_eq!(urls.conversation_in(MIGRATED_CLUSTER), "http://localhost:8900/conversation/api/v1");
        assert_eq!(urls.conversation_in("us"), "http://127.0.0.1:8900/conversation/api/v1");
    }

    #[test]
    fn without_a_second_name_there_is_one_host() {
        let urls = Urls { base: "http://10.1.2.3:8900", other: "http://10.1.2.3:8900" };
        let c = hostmap(&urls, json!({}), true);
        assert_eq!(c["hostCatalog"].as_object().map(Map::len), Some(1));
        let limited = hostmap(&urls, json!({}), false);
        assert_eq!(limited["hostCatalog"], json!({}), "no conversation service before login");
    }
}
