//! Device registration with WDM, which gives us the Mercury websocket URL.
//!
//! Every registered device receives every event, and Webex refuses new ones
//! past ~100: so we reuse our newest device, create one only when none can be
//! refreshed, and delete the extra devices of ours. The WDM host comes from the
//! U2C catalog, because a hard-coded host in the wrong region gives a socket
//! that connects and never delivers events.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::webex::rest::{lenient_time, RestError, Transport};

/// Our device name unless configured otherwise.
pub const DEFAULT_DEVICE_NAME: &str = "webex-hitl";
/// Webex's U2C service catalog.
pub const DEFAULT_U2C_URL: &str = "https://u2c.wbx2.com/u2c/api/v1";

#[derive(Debug, thiserror::Error)]
pub enum WdmError {
    #[error("device registration failed: {0}")]
    Rest(#[from] RestError),
    #[error("the device registration is gone (404)")]
    Gone,
    #[error("cannot find the WDM service: {0}")]
    Discovery(String),
}

/// A registered device: where to refresh it and which websocket it listens on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub url: String,
    pub web_socket_url: String,
    pub user_id: Option<String>,
    pub name: String,
    pub modification_time: Option<DateTime<Utc>>,
    pub conversation_service_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDevice {
    url: Option<String>,
    web_socket_url: Option<String>,
    user_id: Option<String>,
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    modification_time: Option<DateTime<Utc>>,
    services: Option<WireServices>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireServices {
    conversation_service_url: Option<String>,
}

#[derive(Deserialize)]
struct WireDeviceList {
    #[serde(default)]
    devices: Option<Vec<WireDevice>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCatalog {
    service_links: Option<WireServiceLinks>,
}

#[derive(Deserialize)]
struct WireServiceLinks {
    wdm: Option<String>,
}

/// The body of `POST {wdm}/devices` and of the refreshing `PUT`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceRequest<'a> {
    device_name: &'a str,
    device_type: &'static str,
    localized_model: &'a str,
    model: &'a str,
    name: &'a str,
    system_name: &'a str,
    system_version: &'static str,
}

impl WireDevice {
    /// A usable device, or `None` without a URL or websocket URL.
    fn into_device(self) -> Option<Device> {
        Some(Device {
            url: self.url.filter(|u| !u.is_empty())?,
            web_socket_url: self.web_socket_url.filter(|u| !u.is_empty())?,
            user_id: self.user_id,
            name: self.name.unwrap_or_default(),
            modification_time: self.modification_time,
            conversation_service_url: self.services.and_then(|s| s.conversation_service_url),
        })
    }
}

/// Finds, reuses, creates, refreshes and deletes our WDM device.
pub struct DeviceManager {
    transport: Transport,
    u2c_url: String,
    wdm_override: Option<String>,
    device_name: String,
    discovered: Mutex<Option<String>>,
}

impl DeviceManager {
    pub fn new(transport: Transport, u2c_url: &str, wdm_url: Option<&str>, device_name: &str) -> Self {
        Self {
            transport,
            u2c_url: u2c_url.trim_end_matches('/').to_string(),
            wdm_override: wdm_url.map(|u| u.trim_end_matches('/').to_string()),
            device_name: device_name.to_string(),
            discovered: Mutex::new(None),
        }
    }

    pub fn device_name(&self) -> &str {
        &self.device_name
    }

    /// The configured WDM URL, else `serviceLinks.wdm` of the U2C catalog
    /// (asked once, then cached).
    pub async fn wdm_base(&self) -> Result<String, WdmError> {
        if let Some(url) = &self.wdm_override {
            return Ok(url.clone());
        }
        if let Some(url) = self.cached() {
            return Ok(url);
        }
        let catalog_url = format!("{}/catalog?format=hostmap", self.u2c_url);
        let catalog = self.transport.get::<WireCatalog>(&catalog_url).await?.body;
        let wdm = catalog
            .service_links
            .and_then(|l| l.wdm)
            .filter(|u| u.starts_with("http"))
            .ok_or_else(|| WdmError::Discovery(format!("{catalog_url} has no usable serviceLinks.wdm")))?;
        let wdm = wdm.trim_end_matches('/').to_string();
        *self.discovered.lock().unwrap_or_else(|e| e.into_inner()) = Some(wdm.clone());
        Ok(wdm)
    }

    fn cached(&self) -> Option<String> {
        self.discovered.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Our devices (by name), newest `modificationTime` first.
    pub async fn list_ours(&self) -> Result<Vec<Device>, WdmError> {
        let url = format!("{}/devices", self.wdm_base().await?);
        let list = self.transport.get::<WireDeviceList>(&url).await?.body;
        let mut ours: Vec<Device> = list
            .devices
            .unwrap_or_default()
            .into_iter()
            .filter_map(WireDevice::into_device)
            .filter(|d| d.name == self.device_name)
            .collect();
        // `None` sorts before `Some`, so reversing puts undated devices last.
        ours.sort_by_key(|d| std::cmp::Reverse(d.modification_time));
        Ok(ours)
    }

    /// Reuses our newest device that still refreshes, else creates one; then
    /// deletes our other devices so exactly one receives events.
    pub async fn register(&self) -> Result<Device, WdmError> {
        let ours = self.list_ours().await?;
        let mut gone = Vec::new();
        let mut reused = None;
        for candidate in &ours {
            match self.refresh(candidate).await {
                Ok(device) => {
                    reused = Some(device);
                    break;
                }
                Err(WdmError::Gone) => gone.push(candidate.url.clone()),
                Err(e) => return Err(e),
            }
        }
        let (device, was_reused) = match reused {
            Some(device) => (device, true),
            None => (self.create().await?, false),
        };
        tracing::info!(device = %device.url, reused = was_reused, "WDM device registered");
        let extras = ours.iter().filter(|d| d.url != device.url && !gone.contains(&d.url));
        for extra in extras {
            if let Err(e) = self.delete(extra).await {
                tracing::warn!(device = %extra.url, error = %e, "could not delete an extra WDM device");
            }
        }
        Ok(device)
    }

    async fn create(&self) -> Result<Device, WdmError> {
        let url = format!("{}/devices", self.wdm_base().await?);
        let body = self.request_body();
        let answer = self.transport.send::<WireDevice, _>(Method::POST, &url, Some(&body)).await?;
        usable(answer.body)
    }

    /// Refreshes a device; `Gone` when WDM no longer knows it.
    pub async fn refresh(&self, device: &Device) -> Result<Device, WdmError> {
        let body = self.request_body();
        let answer = self.transport.send::<WireDevice, _>(Method::PUT, &device.url, Some(&body)).await;
        match answer {
            Ok(answer) => usable(answer.body),
            Err(RestError::NotFound { .. }) => Err(WdmError::Gone),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a device; one that is already gone counts as deleted.
    pub async fn delete(&self, device: &Device) -> Result<(), WdmError> {
        match self.transport.delete(&device.url).await {
            Ok(()) | Err(RestError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn request_body(&self) -> DeviceRequest<'_> {
        let name = self.device_name.as_str();
        DeviceRequest {
            device_name: name,
            device_type: "DESKTOP",
            localized_model: name,
            model: name,
            name,
            system_name: name,
            system_version: "1.0",
        }
    }
}

fn usable(wire: WireDevice) -> Result<Device, WdmError> {
    wire.into_device().ok_or_else(|| {
        WdmError::Rest(RestError::Decode {
            what: "WDM device",
            message: "the answer has no url or webSocketUrl".into(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webex::rest::testkit::{fast_policy, transport, Canned, MockServer};
    use serde_json::{json, Value};

    const DEVICE: &str = include_str!("../../tests/fixtures/frames/rest-wdm-device.json");
    const REQUEST: &str = include_str!("../../tests/fixtures/frames/rest-wdm-device-request.json");
    const CATALOG: &str = include_str!("../../tests/fixtures/frames/rest-u2c-catalog.json");
    const WDM: &str = "/wdm/api/v1";

    fn device(server: &MockServer, id: &str, name: &str, modified: &str) -> Value {
        json!({
            "url": server.url(&format!("{WDM}/devices/{id}")),
            "webSocketUrl": format!("wss://mercury.example/v1/apps/wx2/registrations/{id}/messages"),
            "name": name,
            "modificationTime": modified,
        })
    }

    fn manager(server: &MockServer) -> DeviceManager {
        let wdm = server.url(WDM);
        DeviceManager::new(transport(fast_policy()), "http://unused.invalid", Some(&wdm), DEFAULT_DEVICE_NAME)
    }

    fn list(devices: Vec<Value>) -> Canned {
        Canned::json(200, json!({ "devices": devices }).to_string())
    }

    #[test]
    fn fixture_device_and_request_body() {
        let wire: WireDevice = serde_json::from_str(DEVICE).expect("device");
        let d = wire.into_device().expect("usable");
        assert!(d.web_socket_url.starts_with("wss://mercury-connection-"));
        assert_eq!(d.conversation_service_url.as_deref(), Some("https://conv-a.wbx2.com/conversation/api/v1"));
        assert!(d.modification_time.is_some());
        let m = DeviceManager::new(transport(fast_policy()), "http://u", None, DEFAULT_DEVICE_NAME);
        let ours = serde_json::to_value(m.request_body()).expect("json");
        assert_eq!(ours, serde_json::from_str::<Value>(REQUEST).expect("fixture"));
        let no_socket: WireDevice = serde_json::from_value(json!({"url": "u"})).expect("wire");
        assert!(no_socket.into_device().is_none());
    }

    #[tokio::test]
    async fn reuses_the_newest_of_ours_and_deletes_the_others() {
        let server = MockServer::start().await;
        let devices = vec![
            device(&server, "old", DEFAULT_DEVICE_NAME, "2026-11-01T00:00:00Z"),
            device(&server, "new", DEFAULT_DEVICE_NAME, "2026-11-25T00:00:00Z"),
            device(&server, "foreign", "other-bot", "2026-11-30T00:00:00Z"),
            device(&server, "mid", DEFAULT_DEVICE_NAME, "2026-11-10T00:00:00Z"),
        ];
        server.script("GET", &format!("{WDM}/devices"), vec![list(devices.clone())]);
        server.script("PUT", &format!("{WDM}/devices/new"), vec![Canned::json(200, devices[1].to_string())]);
        for id in ["old", "mid"] {
            server.script("DELETE", &format!("{WDM}/devices/{id}"), vec![Canned::json(204, "")]);
        }
        let d = manager(&server).register().await.expect("registered");
        assert!(d.url.ends_with("/devices/new"));
        let calls: Vec<String> = server.calls().iter().map(|c| format!("{} {}", c.method, c.path)).collect();
        assert_eq!(calls[..2], [format!("GET {WDM}/devices"), format!("PUT {WDM}/devices/new")]);
        let mut deleted: Vec<&String> = calls.iter().filter(|c| c.starts_with("DELETE")).collect();
        deleted.sort();
        assert_eq!(deleted, [&format!("DELETE {WDM}/devices/mid"), &format!("DELETE {WDM}/devices/old")]);
        assert_eq!(server.count("POST", &format!("{WDM}/devices")), 0);
        assert_eq!(calls.len(), 4, "{calls:?}");
    }

    #[tokio::test]
    async fn creates_a_device_when_none_is_ours() {
        let server = MockServer::start().await;
        let foreign = device(&server, "foreign", "other-bot", "2026-11-30T00:00:00Z");
        server.script("GET", &format!("{WDM}/devices"), vec![list(vec![foreign])]);
        let created = device(&server, "fresh", DEFAULT_DEVICE_NAME, "2026-11-30T00:00:00Z");
        server.script("POST", &format!("{WDM}/devices"), vec![Canned::json(200, created.to_string())]);
        let d = manager(&server).register().await.expect("registered");
        assert!(d.url.ends_with("/devices/fresh"));
        let post = server.calls().into_iter().find(|c| c.method == "POST").expect("posted");
        let body: Value = serde_json::from_str(&post.body).expect("json");
        assert_eq!(body, serde_json::from_str::<Value>(REQUEST).expect("fixture"));
        assert_eq!(server.count("DELETE", &format!("{WDM}/devices/foreign")), 0);
    }

    #[tokio::test]
    async fn a_gone_device_is_replaced_by_a_new_one() {
        let server = MockServer::start().await;
        let stale = device(&server, "stale", DEFAULT_DEVICE_NAME, "2026-11-01T00:00:00Z");
        // The list answer is rate limited once: WDM calls obey Retry-After too.
        let limited = Canned::json(429, "{}").header("Retry-After", "0");
        server.script("GET", &format!("{WDM}/devices"), vec![limited, list(vec![stale])]);
        server.script("PUT", &format!("{WDM}/devices/stale"), vec![Canned::json(404, "{}")]);
        let created = device(&server, "fresh", DEFAULT_DEVICE_NAME, "2026-11-30T00:00:00Z");
        server.script("POST", &format!("{WDM}/devices"), vec![Canned::json(200, created.to_string())]);
        let m = manager(&server);
        let d = m.register().await.expect("registered");
        assert!(d.url.ends_with("/devices/fresh"));
        assert_eq!(server.count("GET", &format!("{WDM}/devices")), 2);
        assert_eq!(server.count("PUT", &format!("{WDM}/devices/stale")), 1);
        assert_eq!(server.count("DELETE", &format!("{WDM}/devices/stale")), 0);
        server.script("PUT", &format!("{WDM}/devices/fresh"), vec![Canned::json(404, "{}")]);
        assert!(matches!(m.refresh(&d).await, Err(WdmError::Gone)));
    }

    #[tokio::test]
    async fn discovers_wdm_through_u2c_once() {
        let server = MockServer::start().await;
        let mut catalog: Value = serde_json::from_str(CATALOG).expect("catalog");
        catalog["serviceLinks"]["wdm"] = json!(server.url(WDM));
        server.script("GET", "/u2c/api/v1/catalog", vec![Canned::json(200, catalog.to_string())]);
        let m = DeviceManager::new(transport(fast_policy()), &server.url("/u2c/api/v1/"), None, DEFAULT_DEVICE_NAME);
        assert_eq!(m.wdm_base().await.expect("wdm"), server.url(WDM));
        assert_eq!(m.wdm_base().await.expect("cached"), server.url(WDM));
        assert_eq!(server.count("GET", "/u2c/api/v1/catalog"), 1);
        assert_eq!(server.calls()[0].query.as_deref(), Some("format=hostmap"));
        let empty = MockServer::start().await;
        empty.script("GET", "/u2c/api/v1/catalog", vec![Canned::json(200, r#"{"serviceLinks":{}}"#)]);
        let m = DeviceManager::new(transport(fast_policy()), &empty.url("/u2c/api/v1"), None, DEFAULT_DEVICE_NAME);
        assert!(matches!(m.wdm_base().await, Err(WdmError::Discovery(_))));
    }
}
