//! Behind a firewall: REST and the websocket both go through an HTTP proxy
//! with credentials (`webex.proxy`), the websocket through a `CONNECT` tunnel.
//! The proxy here is a small one on loopback that counts what it carried.

use crate::common::{eventually, proxy, serve_command, write_config, Harness};
use serde_json::json;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[derive(Default)]
struct Counts {
    tunnels: AtomicUsize,
    forwarded: AtomicUsize,
    refused: AtomicUsize,
}

/// A forward proxy: `CONNECT host:port` opens a tunnel; an absolute-form request
/// (`GET http://host:port/...`) is piped to that host. Both need the credentials.
async fn proxy(counts: Arc<Counts>) -> std::net::SocketAddr {
    proxy::listen(move |client| carry(client, counts.clone())).await
}

async fn carry(mut client: TcpStream, counts: Arc<Counts>) {
    let Some(request) = proxy::read_request(&mut client).await else { return };
    if !request.authorized {
        counts.refused.fetch_add(1, Ordering::SeqCst);
        return proxy::refuse(&mut client).await;
    }
    let connect = request.method == "CONNECT";
    let host = if connect {
        request.target.clone()
    } else {
        request.target.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned()
    };
    let Ok(mut upstream) = TcpStream::connect(&host).await else { return };
    if connect {
        counts.tunnels.fetch_add(1, Ordering::SeqCst);
        let _ = client.write_all(proxy::ESTABLISHED).await;
    } else {
        counts.forwarded.fetch_add(1, Ordering::SeqCst);
        // The upstream (hyper) accepts absolute-form targets: pass the head on as is.
        let _ = upstream.write_all(request.head.as_bytes()).await;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

#[tokio::test]
async fn rest_and_the_websocket_go_through_a_connect_proxy_with_credentials() {
    let h = Harness::without_daemon().await;
    let counts = Arc::new(Counts::default());
    let proxy = proxy(counts.clone()).await;
    let proxy_url = format!("http://proxyuser:s3cret@{proxy}");
    let config_path = write_config(h.dir.path(), h.simulator(), "sim-token", &[("webex.proxy", &proxy_url)]);
    let room = h.sim.create_room("Behind the firewall");
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    h.sim.add_member(&room.id, &ana.id, None).unwrap();
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();

    let mut child = serve_command(&config_path)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    h.wait_until_serving().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;
    assert!(counts.tunnels.load(Ordering::SeqCst) >= 1, "the websocket went through a CONNECT tunnel");
    assert!(counts.forwarded.load(Ordering::SeqCst) >= 1, "REST went through the proxy");

    // A full round trip works through it.
    let created =
        h.client.post("/v1/escalations", &json!({"to": {"space_id": room.id}, "summary": "Via proxy"})).await.unwrap();
    assert_eq!(created.status, 201, "{:#}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let message = eventually("the card is posted through the proxy", || async {
        let escalation = h.client.get(&format!("/v1/escalations/{id}")).await.unwrap().body;
        escalation["delivery"]["message_id"].as_str().map(str::to_owned).ok_or(format!("{escalation:#}"))
    })
    .await;
    let inputs = json!({"response": "ok"}).as_object().cloned().unwrap();
    h.sim.submit_card(&message, &ana.id, inputs).unwrap();
    let answered = h.client.get(&format!("/v1/escalations/{id}?wait=10")).await.unwrap().body;
    assert_eq!(answered["status"], "answered");
    assert_eq!(counts.refused.load(Ordering::SeqCst), 0, "credentials were always sent");
    child.start_kill().unwrap();
}

#[tokio::test]
async fn a_proxy_refusing_the_credentials_is_reported() {
    let h = Harness::without_daemon().await;
    let counts = Arc::new(Counts::default());
    let proxy = proxy(counts.clone()).await;
    let proxy_url = format!("http://proxyuser:wrong@{proxy}");
    let config_path = write_config(h.dir.path(), h.simulator(), "sim-token", &[("webex.proxy", &proxy_url)]);
    let output = serve_command(&config_path).env_remove("NO_PROXY").env_remove("no_proxy").output();
    let output = tokio::time::timeout(Duration::from_secs(20), output).await.expect("exits").unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stderr}");
    assert!(counts.refused.load(Ordering::SeqCst) >= 1);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("webex.proxy") && stderr.contains("407"), "{stderr}");
    assert!(!stderr.contains("wrong"), "the proxy password is never printed: {stderr}");
}
