//! The driver's waits end at shutdown: a stalled dial or registration never holds it up.

use super::*;
use crate::secret::Secret;
use crate::webex::mercury::link::MAX_COVERED_WAIT;
use crate::webex::mercury::transport::tests::accept_and_stall;
use crate::webex::proxy::ProxyRules;
use crate::webex::rest::testkit::fast_policy;
use crate::webex::rest::Transport;
use crate::webex::tls::client_config;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long after the dial or registration stalled the daemon is told to stop.
const SHUTDOWN_AFTER: Duration = Duration::from_secs(1);

/// A connection whose REST calls go to `wdm` and whose sockets are dialled directly.
fn connection(wdm: &str) -> Connection {
    let http = reqwest::Client::builder().no_proxy().build().expect("client");
    let token = SharedSecret::new(Secret::new("t"));
    let devices = DeviceManager::new(Transport::new(http, token.clone(), fast_policy()), wdm, Some(wdm), "test");
    let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(32));
    Connection {
        devices,
        dialer: Dialer::new(client_config(None).expect("tls"), ProxyRules::direct()),
        token,
        settings: Settings {
            timing: Timing::default(),
            backoff,
            bot_uuid: "bot".into(),
            unfamiliar: Default::default(),
        },
        events: mpsc::unbounded_channel().0,
        state: watch::channel(LinkState::default()).0,
        heartbeat: Heartbeat::new(),
    }
}

fn device(web_socket_url: String) -> Device {
    Device {
        url: "http://127.0.0.1:9/devices/d".into(),
        web_socket_url,
        user_id: None,
        name: "test".into(),
        modification_time: None,
        conversation_service_url: None,
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_a_stalled_dial_at_once() {
    let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("wss://{}/mercury", server.local_addr().unwrap());
    let mut connection = connection("http://127.0.0.1:9/wdm");
    let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
    let shutdown = CancellationToken::new();
    let start = Instant::now();
    let stop = async {
        let socket = accept_and_stall(&server).await;
        tokio::time::sleep(SHUTDOWN_AFTER).await;
        shutdown.cancel();
        socket
    };
    let device = device(url);
    // Boxed, as the daemon's task is: the driver's future is too big for a test thread's stack.
    let run = Box::pin(connection.run_socket(&device, &ack_tx, &mut ack_rx, &shutdown));
    let (end, _socket) = tokio::join!(run, stop);
    assert!(matches!(end, SocketEnd::Cancelled), "the dial ended otherwise than by the shutdown");
    assert_eq!(start.elapsed(), SHUTDOWN_AFTER, "not after the dial's own {:?}", connection.dialer.step_timeout);
}

#[tokio::test(start_paused = true)]
async fn shutdown_cancels_a_stalled_device_registration_at_once() {
    // Never accepted: the kernel completes the handshake, and nobody answers.
    let wdm = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let connection = connection(&format!("http://{}/wdm", wdm.local_addr().unwrap()));
    let shutdown = CancellationToken::new();
    let start = Instant::now();
    let stop = async {
        tokio::time::sleep(SHUTDOWN_AFTER).await;
        shutdown.cancel();
    };
    let run = async { tokio::join!(Box::pin(connection.run(shutdown.clone())), stop).0 };
    let outcome = tokio::time::timeout(MAX_COVERED_WAIT * 2, run).await.expect("shutdown ends the registration");
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(start.elapsed(), SHUTDOWN_AFTER);
}
