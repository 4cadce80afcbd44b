//! The daemon against the simulator: connecting, staying connected through every
//! fault the simulator can script, and handling each event once.

use crate::common::{eventually, eventually_within, Harness};
use std::time::Duration;

/// Scripts one membership event in a fresh room and returns once the daemon has
/// handled one more event than before.
async fn an_event_gets_through(h: &Harness) {
    let before = h.handled().await;
    let room = h.sim.create_room("Ops");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).expect("bot added");
    h.wait_health(|health| health["events"]["handled"].as_u64().unwrap_or(0) > before).await;
}

#[tokio::test]
async fn connects_and_reports_health() {
    let h = Harness::start().await;
    let health = h.health().await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["webex"]["bot"]["email"], "hitl-bot@webex.bot");
    assert_eq!(health["webex"]["bot"]["id"], h.sim.bot().id);
    assert!(health["webex"]["device_url"].as_str().unwrap().starts_with(&h.simulator().wdm_url()));
    assert_eq!(h.sim.device_count(), 1);
    assert_eq!(h.sim.connection_count(), 1);
    an_event_gets_through(&h).await;
}

async fn reconnects_after(fault: impl FnOnce(&Harness)) {
    let h = Harness::start().await;
    let before = h.reconnects().await;
    fault(&h);
    h.wait_health(|health| {
        health["webex"]["connected"] == true && health["webex"]["reconnects"].as_u64().unwrap() > before
    })
    .await;
    an_event_gets_through(&h).await;
    assert_eq!(h.sim.device_count(), 1, "reconnecting must not leak devices");
}

#[tokio::test]
async fn reconnects_after_sockets_are_dropped() {
    reconnects_after(|h| h.sim.drop_sockets()).await;
}

#[tokio::test]
async fn reconnects_after_a_server_error_close() {
    reconnects_after(|h| h.sim.close_sockets(1011, "internal error")).await;
}

#[tokio::test]
async fn reconnects_after_a_handover_close() {
    reconnects_after(|h| h.sim.close_sockets(4001, "server shutdown")).await;
}

#[tokio::test]
async fn reconnects_when_pongs_stop() {
    reconnects_after(|h| h.sim.set_pong(false)).await;
}

#[tokio::test]
async fn shutdown_frame_opens_a_new_socket_first() {
    let h = Harness::start().await;
    let before = h.reconnects().await;
    h.sim.send_shutdown();
    h.wait_health(|health| health["webex"]["reconnects"].as_u64().unwrap() > before).await;
    // The handover never went through a disconnected state long enough to lose
    // events: one arrives on the new socket right away.
    an_event_gets_through(&h).await;
    eventually("the old socket is let go", || async {
        match h.sim.connection_count() {
            1 => Ok(()),
            open => Err(format!("{open} sockets open")),
        }
    })
    .await;
}

#[tokio::test]
async fn re_registers_after_a_stale_registration() {
    let h = Harness::start().await;
    let old_device = h.health().await["webex"]["device_url"].clone();
    h.sim.make_devices_stale();
    h.sim.drop_sockets();
    let health = h
        .wait_health(|health| health["webex"]["connected"] == true && health["webex"]["device_url"] != old_device)
        .await;
    assert_ne!(health["webex"]["device_url"], old_device);
    assert_eq!(h.sim.device_count(), 1);
    an_event_gets_through(&h).await;
}

#[tokio::test]
async fn reconnects_after_the_simulator_restarts() {
    let mut h = Harness::start().await;
    h.restart_simulator(true).await;
    h.wait_health(|health| {
        health["webex"]["connected"] == true && health["webex"]["reconnects"].as_u64().unwrap() >= 1
    })
    .await;
    an_event_gets_through(&h).await;
}

#[tokio::test]
async fn reconnects_to_a_simulator_that_forgot_everything() {
    let mut h = Harness::start().await;
    h.restart_simulator(false).await;
    // The new world has no device: the upgrade or refresh 404s and the daemon registers anew.
    h.wait_health(|health| {
        health["webex"]["connected"] == true && health["webex"]["reconnects"].as_u64().unwrap() >= 1
    })
    .await;
    assert_eq!(h.sim.device_count(), 1);
    an_event_gets_through(&h).await;
}

#[tokio::test]
async fn reuses_its_device_across_daemon_restarts() {
    let mut h = Harness::start().await;
    let device = h.health().await["webex"]["device_url"].clone();
    h.stop_daemon().await;
    h.start_daemon().await;
    let health = h.wait_health(|health| health["webex"]["connected"] == true).await;
    assert_eq!(health["webex"]["device_url"], device);
    assert_eq!(h.sim.device_count(), 1);
}

#[tokio::test]
async fn an_event_delivered_twice_is_handled_once() {
    let h = Harness::start().await;
    let before = h.health().await["events"].clone();
    h.sim.duplicate_next_event();
    an_event_gets_through(&h).await;
    let after = h
        .wait_health(|health| health["events"]["duplicates"].as_u64().unwrap() > before["duplicates"].as_u64().unwrap())
        .await;
    assert_eq!(after["events"]["handled"].as_u64().unwrap(), before["handled"].as_u64().unwrap() + 1);
}

#[tokio::test]
async fn events_during_a_rest_429_storm_are_not_lost() {
    let h = Harness::start().await;
    // More 429s than one call's retry budget: some event's room lookup fails for good.
    h.sim.fail_next_rest(8, 429, Some(1));
    let rooms: Vec<_> = (0..3).map(|i| h.sim.create_room(&format!("Storm {i}"))).collect();
    for room in &rooms {
        h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    }
    eventually_within(Duration::from_secs(30), "every stormed room reaches the cache", || async {
        let spaces = h.client.get("/v1/spaces").await.unwrap().body;
        let mut titles: Vec<_> = spaces["items"].as_array().unwrap().iter().map(|s| s["title"].clone()).collect();
        titles.sort_by_key(|t| t.to_string());
        if titles == ["Storm 0", "Storm 1", "Storm 2"] {
            Ok(())
        } else {
            Err(format!("{spaces:#}"))
        }
    })
    .await;
    let calls = h.sim.rest_calls();
    assert!(calls.iter().filter(|c| c.status == 429).count() >= 8, "the storm happened");
}

#[tokio::test]
async fn device_registration_waits_out_a_429_from_wdm() {
    let mut h = Harness::without_daemon().await;
    h.sim.fail_next_wdm(2, 429, Some(1));
    let started = std::time::Instant::now();
    h.start_daemon().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;
    assert!(started.elapsed() >= Duration::from_millis(900), "Retry-After was honoured");
    let wdm_429s = h.sim.rest_calls().iter().filter(|c| c.path.starts_with("/wdm") && c.status == 429).count();
    assert_eq!(wdm_429s, 2);
    assert_eq!(h.sim.device_count(), 1);
}
