//! Behind a firewall, for real: the simulator speaks only HTTPS/WSS with a
//! certificate from a private CA (`tests/fixtures/tls`), and the only way out
//! is a `CONNECT` proxy that wants credentials. REST (reqwest) and the
//! websocket (our own tunnel) must both go through `CONNECT` and trust the CA
//! from `webex.ca_file` — and without it, refuse the certificate.

use crate::common::Client as ApiClient;
use crate::common::{eventually, proxy, serve_command, write_config, WAIT};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use webex_hitl::sim::{SimHandle, SimOptions, SimTls, Simulator};

const USER: &str = "proxyuser";
const PASSWORD: &str = "s3cret";

/// Every proxy setting the daemon could pick up from the test runner's environment.
const PROXY_ENV: [&str; 8] =
    ["NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
}

/// What the proxy carried: one entry per tunnel, and what it turned away.
#[derive(Default)]
struct Seen {
    /// `(target, kind)`; kind from the ALPN of the ClientHello: REST offers
    /// `http/1.1` (and h2), the websocket's TLS config offers nothing.
    tunnels: Mutex<Vec<(String, &'static str)>>,
    /// Requests that were not `CONNECT` (absolute-form `GET https://…` and the like).
    not_connect: Mutex<Vec<String>>,
    refused: Mutex<usize>,
}

impl Seen {
    fn tunnels(&self) -> Vec<(String, &'static str)> {
        self.tunnels.lock().unwrap().clone()
    }
}

/// A `CONNECT`-only forward proxy on loopback that requires Basic credentials.
async fn connect_proxy(seen: Arc<Seen>) -> std::net::SocketAddr {
    proxy::listen(move |client| carry(client, seen.clone())).await
}

async fn carry(mut client: TcpStream, seen: Arc<Seen>) {
    let Some(request) = proxy::read_request(&mut client).await else { return };
    if request.method != "CONNECT" {
        seen.not_connect.lock().unwrap().push(request.request_line);
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n").await;
        return;
    }
    if !request.authorized {
        *seen.refused.lock().unwrap() += 1;
        return proxy::refuse(&mut client).await;
    }
    let Ok(mut upstream) = TcpStream::connect(&request.target).await else { return };
    if client.write_all(proxy::ESTABLISHED).await.is_err() {
        return;
    }
    let Some(hello) = read_tls_record(&mut client).await else { return };
    let offers_http1 = hello.windows(9).any(|w| w == b"\x08http/1.1");
    seen.tunnels.lock().unwrap().push((request.target, if offers_http1 { "rest" } else { "websocket" }));
    if upstream.write_all(&hello).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

/// One whole TLS record (the ClientHello): 5-byte header, then its length.
async fn read_tls_record(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut record = vec![0; 5];
    stream.read_exact(&mut record).await.ok()?;
    let length = usize::from(u16::from_be_bytes([record[3], record[4]]));
    record.resize(5 + length, 0);
    stream.read_exact(&mut record[5..]).await.ok()?;
    Some(record)
}

/// A TLS simulator with a room, Ana in it and the bot; a scratch dir with the token.
struct Setup {
    simulator: Simulator,
    sim: SimHandle,
    dir: tempfile::TempDir,
    client: ApiClient,
}

impl Setup {
    async fn start() -> Self {
        let tls = SimTls::from_files(&fixture("localhost.pem"), &fixture("localhost.key")).unwrap();
        let simulator = Simulator::start(SimOptions { tls: Some(tls), ..SimOptions::default() }).await.unwrap();
        assert!(simulator.api_url().starts_with("https://localhost:"), "{}", simulator.api_url());
        let dir = tempfile::tempdir().unwrap();
        let client = ApiClient::new(dir.path().join("api.sock"));
        Self { sim: simulator.handle(), simulator, dir, client }
    }

    /// Writes the config, with the simulator's token and `overrides`; returns its path.
    fn config(&self, overrides: &[(&str, &str)]) -> PathBuf {
        write_config(self.dir.path(), &self.simulator, "sim-token", overrides)
    }

    fn tunnel_target(&self) -> String {
        format!("localhost:{}", self.simulator.addr().port())
    }

    /// Polls `/v1/health` (null while the daemon's socket does not answer yet) until `ready` holds.
    async fn wait_health(&self, ready: impl Fn(&Value) -> bool) -> Value {
        let ready = &ready;
        eventually("the health condition holds", || async move {
            let health = self.client.get("/v1/health").await.map(|a| a.body).unwrap_or(Value::Null);
            if ready(&health) {
                Ok(health)
            } else {
                Err(format!("{health:#}"))
            }
        })
        .await
    }

    /// An escalation to a room, delivered, answered by Ana, seen by `?wait=`.
    async fn escalation_round_trip(&self) {
        let room = self.sim.create_room("Behind the TLS proxy");
        let ana = self.sim.add_person("ana.specialist@example.com", "Ana Specialist");
        self.sim.add_member(&room.id, &ana.id, None).unwrap();
        self.sim.add_member(&room.id, &self.sim.bot().id, None).unwrap();
        let body = json!({"to": {"space_id": room.id}, "summary": "Via a TLS-inspecting proxy"});
        let created = self.client.post("/v1/escalations", &body).await.unwrap();
        assert_eq!(created.status, 201, "{:#}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let message = eventually("the card is posted", || async {
            let escalation = self.client.get(&format!("/v1/escalations/{id}")).await.unwrap().body;
            escalation["delivery"]["message_id"].as_str().map(str::to_owned).ok_or(format!("{escalation:#}"))
        })
        .await;
        assert_eq!(self.sim.messages(&room.id).len(), 1, "the card reached the simulator");
        let inputs = json!({"response": "ok"}).as_object().cloned().unwrap();
        self.sim.submit_card(&message, &ana.id, inputs).unwrap();
        let answered = self.client.get(&format!("/v1/escalations/{id}?wait=10")).await.unwrap().body;
        assert_eq!(answered["status"], "answered", "{answered:#}");
    }
}

/// `serve` with no proxy settings inherited from the test runner.
fn daemon(config: &Path) -> tokio::process::Command {
    let mut command = serve_command(config);
    for name in PROXY_ENV {
        command.env_remove(name);
    }
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    command
}

/// Asserts REST and the websocket each went through at least one tunnel, all
/// to the simulator, and that the proxy saw nothing but authorized `CONNECT`s.
fn assert_only_tunnels(seen: &Seen, target: &str) {
    let tunnels = seen.tunnels();
    assert!(tunnels.len() >= 2, "{tunnels:?}");
    assert!(tunnels.iter().all(|(t, _)| t == target), "every tunnel leads to {target}: {tunnels:?}");
    assert!(tunnels.iter().any(|(_, kind)| *kind == "rest"), "REST went through CONNECT: {tunnels:?}");
    assert!(tunnels.iter().any(|(_, kind)| *kind == "websocket"), "the websocket went through CONNECT: {tunnels:?}");
    assert_eq!(*seen.not_connect.lock().unwrap(), Vec::<String>::new(), "no absolute-form requests");
    assert_eq!(*seen.refused.lock().unwrap(), 0, "credentials were always sent");
}

#[tokio::test]
async fn rest_and_the_websocket_tunnel_through_connect_and_trust_the_private_ca() {
    let setup = Setup::start().await;
    let seen = Arc::new(Seen::default());
    let proxy = connect_proxy(seen.clone()).await;
    let (proxy_url, ca) = (format!("http://{USER}:{PASSWORD}@{proxy}"), fixture("ca.pem"));
    let config = setup.config(&[("webex.proxy", &proxy_url), ("webex.ca_file", ca.to_str().unwrap())]);
    let mut child = daemon(&config).spawn().unwrap();

    let health = setup.wait_health(|h| h["webex"]["connected"] == true).await;
    assert_eq!(setup.sim.connection_count(), 1, "one websocket, over TLS: {health:#}");
    setup.escalation_round_trip().await;
    assert_only_tunnels(&seen, &setup.tunnel_target());
    child.start_kill().unwrap();
}

#[tokio::test]
async fn without_the_ca_file_the_private_certificate_is_refused() {
    let setup = Setup::start().await;
    let seen = Arc::new(Seen::default());
    let proxy = connect_proxy(seen.clone()).await;
    let config = setup.config(&[("webex.proxy", &format!("http://{USER}:{PASSWORD}@{proxy}"))]);
    let mut child = daemon(&config).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();

    // The daemon keeps retrying (a proxy may be fixed any moment); its log says why.
    let mut log = String::new();
    let found = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = stderr.next_line().await {
            log.push_str(&line);
            log.push('\n');
            if line.contains("certificate") {
                return line;
            }
        }
        String::new()
    })
    .await;
    let line = found.unwrap_or_else(|_| panic!("no certificate error logged within {WAIT:?}:\n{log}"));
    assert!(line.contains("webex.ca_file"), "the log says how to fix it: {line}");
    assert!(!log.contains(PASSWORD), "the proxy password is never printed: {log}");
    assert!(seen.tunnels().iter().all(|(t, _)| *t == setup.tunnel_target()), "{:?}", seen.tunnels());
    assert_eq!(setup.sim.connection_count(), 0, "no websocket without a trusted certificate");
    assert!(setup.sim.rest_calls().is_empty(), "no request got through the TLS handshake");
    assert!(child.try_wait().unwrap().is_none(), "still running and retrying");
    child.start_kill().unwrap();
}

#[tokio::test]
async fn https_proxy_from_the_environment_works_for_rest_and_the_websocket() {
    let setup = Setup::start().await;
    let seen = Arc::new(Seen::default());
    let proxy = connect_proxy(seen.clone()).await;
    let ca = fixture("ca.pem");
    let config = setup.config(&[("webex.ca_file", ca.to_str().unwrap())]);
    let mut child = daemon(&config).env("HTTPS_PROXY", format!("http://{USER}:{PASSWORD}@{proxy}")).spawn().unwrap();

    setup.wait_health(|h| h["webex"]["connected"] == true).await;
    setup.escalation_round_trip().await;
    assert_only_tunnels(&seen, &setup.tunnel_target());
    child.start_kill().unwrap();
}
