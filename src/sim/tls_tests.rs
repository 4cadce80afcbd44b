//! The simulator over TLS, with the private CA of `tests/fixtures/tls`.

use super::server_tests::authed;
use super::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
}

async fn tls_sim() -> Simulator {
    let tls = SimTls::from_files(&fixture("localhost.pem"), &fixture("localhost.key")).unwrap();
    Simulator::start(SimOptions { tls: Some(tls), ..SimOptions::default() }).await.unwrap()
}

/// The daemon's own TLS setup: webpki roots, plus the private CA when `trust_ca`.
fn client_tls(trust_ca: bool) -> std::sync::Arc<rustls::ClientConfig> {
    let ca = fixture("ca.pem");
    crate::webex::tls::client_config(trust_ca.then_some(ca.as_path())).unwrap()
}

fn client(trust_ca: bool) -> reqwest::Client {
    let tls = (*client_tls(trust_ca)).clone();
    reqwest::Client::builder().use_preconfigured_tls(tls).no_proxy().build().unwrap()
}

#[tokio::test]
async fn every_url_handed_out_is_https_or_wss_on_localhost() {
    let sim = tls_sim().await;
    let port = sim.addr().port();
    let base = format!("https://localhost:{port}");
    assert!(sim.is_tls());
    assert_eq!(sim.api_url(), format!("{base}/v1"));
    assert_eq!(sim.u2c_url(), format!("{base}/u2c/api/v1"));
    assert!(sim.config_lines().contains(&format!("api_url = \"{base}/v1\"")), "{}", sim.config_lines());
    let c = client(true);

    let catalog: Value = authed(&c, reqwest::Method::GET, format!("{}/catalog?format=hostmap", sim.u2c_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["serviceLinks"]["wdm"], json!(format!("{base}/wdm/api/v1")));
    assert_eq!(catalog["serviceLinks"]["hydra"], json!(format!("{base}/v1")));
    assert!(catalog["hostCatalog"][format!("localhost:{port}")].is_array(), "{catalog:#}");

    let device = super::server_tests::register(&sim, &c).await;
    assert_eq!(device["url"].as_str().unwrap().split("/devices/").next(), Some(sim.wdm_url().as_str()));
    let ws_url = device["webSocketUrl"].as_str().unwrap();
    assert!(ws_url.starts_with(&format!("wss://localhost:{port}/mercury/")), "{ws_url}");
    assert!(device["services"]["conversationServiceUrl"].as_str().unwrap().starts_with(&base));
    sim.stop().await;
}

#[tokio::test]
async fn rest_and_paging_links_work_over_https() {
    let sim = tls_sim().await;
    let h = sim.handle();
    for i in 0..3 {
        let room = h.create_room(&format!("room {i}"));
        h.add_member(&room.id, &h.bot().id, None).unwrap();
    }
    let c = client(true);
    let resp = authed(&c, reqwest::Method::GET, format!("{}/rooms?max=2", sim.api_url())).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let link = resp.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("<{}/rooms?", sim.api_url())), "{link}");
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
    let page: Value = authed(&c, reqwest::Method::GET, next).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    sim.stop().await;
}

#[tokio::test]
async fn a_client_without_the_private_ca_is_refused_and_the_server_keeps_accepting() {
    let sim = tls_sim().await;
    let url = format!("{}/people/me", sim.api_url());
    let error = authed(&client(false), reqwest::Method::GET, url.clone()).send().await.unwrap_err();
    assert!(format!("{error:?}").contains("UnknownIssuer"), "{error:?}");

    // Plain HTTP and garbage on the TLS port: the handshake fails, nothing else.
    let mut plain = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    plain.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let _silent = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();

    let resp = authed(&client(true), reqwest::Method::GET, url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    sim.stop().await;
}

#[tokio::test]
async fn the_websocket_speaks_wss() {
    let sim = tls_sim().await;
    let device = super::server_tests::register(&sim, &client(true)).await;
    let url = device["webSocketUrl"].as_str().unwrap();
    let connector = tokio_tungstenite::Connector::Rustls(client_tls(true));
    let (mut ws, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector)).await.unwrap();
    let auth = json!({"id": "a1", "type": "authorization", "data": {"token": "Bearer sim-token"}});
    ws.send(WsMessage::text(auth.to_string())).await.unwrap();
    let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap();
    let frame: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
    assert_eq!(frame["data"]["eventType"], "mercury.buffer_state", "{frame:#}");
    sim.stop().await;
}
