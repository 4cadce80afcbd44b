//! The spaces cache through the simulator and the socket API: kept true by
//! events in real time, repaired by resyncs, durable across restarts.

use crate::common::{eventually_within, Harness};
use serde_json::Value;
use std::time::Duration;

async fn spaces(h: &Harness, query: &str) -> Vec<Value> {
    let answer = h.client.get(&format!("/v1/spaces{query}")).await.unwrap();
    assert!(answer.status.is_success(), "{answer:?}");
    answer.body["items"].as_array().unwrap().clone()
}

fn titles(items: &[Value]) -> Vec<String> {
    items.iter().map(|s| s["title"].as_str().unwrap().to_owned()).collect()
}

/// Polls until `check` holds on the visible spaces, for at most `within`.
async fn until_spaces(h: &Harness, within: Duration, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let check = &check;
    eventually_within(within, "the visible spaces match", || async move {
        let items = spaces(h, "").await;
        if check(&items) {
            Ok(items)
        } else {
            Err(format!("{items:#?}"))
        }
    })
    .await
}

#[tokio::test]
async fn added_removed_and_renamed_show_up_within_a_second() {
    let h = Harness::start().await;
    let bot = h.sim.bot();
    let room = h.sim.create_room("VIP Escalations");
    h.sim.add_member(&room.id, &bot.id, None).unwrap();
    let items = until_spaces(&h, Duration::from_secs(1), |items| titles(items) == ["VIP Escalations"]).await;
    assert_eq!(items[0]["id"], room.id);
    assert_eq!(items[0]["space_type"], "group");
    assert_eq!(items[0]["visible"], true);

    h.sim.rename_room(&room.id, "VIP Escalations (EU)").unwrap();
    until_spaces(&h, Duration::from_secs(1), |items| titles(items) == ["VIP Escalations (EU)"]).await;

    h.sim.remove_member(&room.id, &bot.id, None).unwrap();
    until_spaces(&h, Duration::from_secs(1), |items| items.is_empty()).await;
    let all = spaces(&h, "?include_removed=true").await;
    assert_eq!(titles(&all), ["VIP Escalations (EU)"], "removed spaces are kept");
    assert_eq!(all[0]["visible"], false);
    assert!(all[0]["removed_at"].is_string());
}

#[tokio::test]
async fn filters_and_lookups() {
    let h = Harness::start().await;
    let bot = h.sim.bot();
    for title in ["Payments", "VIP Desk", "vip overflow"] {
        let room = h.sim.create_room(title);
        h.sim.add_member(&room.id, &bot.id, None).unwrap();
    }
    until_spaces(&h, Duration::from_secs(2), |items| items.len() == 3).await;
    assert_eq!(titles(&spaces(&h, "?q=VIP").await), ["VIP Desk", "vip overflow"]);
    assert_eq!(spaces(&h, "?type=direct").await.len(), 0);
    let bad = h.client.get("/v1/spaces?type=channel").await.unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.body["error"]["message"].as_str().unwrap().contains("type"));

    let one = &spaces(&h, "?q=Payments").await[0];
    let by_id = h.client.get(&format!("/v1/spaces/{}", one["id"].as_str().unwrap())).await.unwrap();
    assert_eq!(by_id.body["title"], "Payments");
    let missing = h.client.get("/v1/spaces/Y2lzY29zcGFyazovL3VzL1JPT00vbm9wZQ").await.unwrap();
    assert_eq!(missing.status, 404);
    assert!(missing.body["error"]["message"].as_str().unwrap().contains("add the bot"));
}

#[tokio::test]
async fn a_resync_repairs_what_happened_while_the_daemon_was_stopped() {
    let mut h = Harness::start().await;
    let bot = h.sim.bot();
    let kept = h.sim.create_room("Kept");
    let renamed = h.sim.create_room("Old name");
    let left = h.sim.create_room("Left");
    let migrated = h.sim.create_room("Migrated");
    for room in [&kept, &renamed, &left, &migrated] {
        h.sim.add_member(&room.id, &bot.id, None).unwrap();
    }
    until_spaces(&h, Duration::from_secs(2), |items| items.len() == 4).await;

    h.stop_daemon().await;
    let joined = h.sim.create_room("Joined while down");
    h.sim.add_member(&joined.id, &bot.id, None).unwrap();
    h.sim.rename_room(&renamed.id, "New name").unwrap();
    h.sim.remove_member(&left.id, &bot.id, None).unwrap();
    let moved = h.sim.migrate_room(&migrated.id).unwrap();
    h.start_daemon().await;

    let items = until_spaces(&h, Duration::from_secs(3), |items| {
        let mut t = titles(items);
        t.sort();
        t == ["Joined while down", "Kept", "Migrated", "New name"]
    })
    .await;
    let migrated_now = items.iter().find(|s| s["title"] == "Migrated").unwrap();
    assert_eq!(migrated_now["id"], moved.id, "the migrated room is known by its new id");
    assert_ne!(moved.id, migrated.id);
}

#[tokio::test]
async fn refresh_reports_what_changed() {
    let h = Harness::start().await;
    let answer = h.client.post("/v1/spaces/refresh", &Value::Null).await.unwrap();
    assert!(answer.status.is_success(), "{answer:?}");
    assert_eq!(answer.body["added"].as_array().unwrap().len(), 0);
    // A change Mercury never told us about (the socket was made silent first).
    h.sim.make_devices_stale();
    let room = h.sim.create_room("Quiet");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    let answer = h.client.post("/v1/spaces/refresh", &Value::Null).await.unwrap();
    let added = answer.body["added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{:#}", answer.body);
    assert_eq!(added[0]["title"], "Quiet");
}

#[tokio::test]
async fn space_changes_are_in_the_event_log_once() {
    let h = Harness::start().await;
    let room = h.sim.create_room("Logged");
    h.sim.duplicate_next_event();
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    until_spaces(&h, Duration::from_secs(2), |items| items.len() == 1).await;
    h.wait_health(|health| health["events"]["duplicates"].as_u64().unwrap() >= 1).await;
    let (_, body) = h.client.raw(hyper::Method::GET, "/v1/events?after=0", None).await.unwrap();
    let lines: Vec<Value> =
        std::str::from_utf8(&body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let added: Vec<_> = lines.iter().filter(|l| l["type"] == "space.added").collect();
    assert_eq!(added.len(), 1, "{lines:#?}");
    assert_eq!(added[0]["space"]["title"], "Logged");
    let seqs: Vec<i64> = lines.iter().map(|l| l["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "seq rises: {seqs:?}");
}

#[tokio::test]
async fn the_cache_survives_a_restart() {
    let mut h = Harness::start().await;
    let room = h.sim.create_room("Durable");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    until_spaces(&h, Duration::from_secs(2), |items| items.len() == 1).await;
    h.stop_daemon().await;
    // With Webex unreachable, the cache still answers after the restart.
    h.sim.fail_next_rest(1_000, 503, None);
    h.start_daemon_in_background().await;
    assert_eq!(titles(&spaces(&h, "").await), ["Durable"]);
}

#[tokio::test]
async fn people_resolves_an_email_or_says_it_is_unknown() {
    let h = Harness::start().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let found = h.client.get("/v1/people?email=ana.specialist@example.com").await.unwrap();
    assert_eq!(found.status, 200);
    assert_eq!(found.body["id"], ana.id);
    assert_eq!(found.body["display_name"], "Ana Specialist");
    let unknown = h.client.get("/v1/people?email=nobody@example.com").await.unwrap();
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"]["code"], "unknown_person");
    let bad = h.client.get("/v1/people").await.unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.body["error"]["message"].as_str().unwrap().starts_with("email"));
}

#[tokio::test]
async fn five_thousand_spaces_sync_across_pages() {
    let mut h = Harness::without_daemon().await;
    let bot = h.sim.bot();
    for i in 0..5_000 {
        let room = h.sim.create_room(&format!("Space {i:04}"));
        h.sim.add_member(&room.id, &bot.id, None).unwrap();
    }
    h.start_daemon().await;
    let items = eventually_within(Duration::from_secs(30), "5000 spaces are synced", || async {
        let items = spaces(&h, "").await;
        if items.len() == 5_000 {
            Ok(items)
        } else {
            Err(format!("only {} spaces", items.len()))
        }
    })
    .await;
    assert_eq!(items[0]["title"], "Space 0000");
    assert_eq!(items[4_999]["title"], "Space 4999");
}

#[tokio::test]
async fn a_restart_replays_no_handled_event() {
    let mut h = Harness::start().await;
    // Every ack is lost, so Mercury will redeliver everything after the restart.
    h.sim.lose_acks(true);
    let room = h.sim.create_room("Once");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    until_spaces(&h, Duration::from_secs(2), |items| items.len() == 1).await;
    h.sim.rename_room(&room.id, "Once renamed").unwrap();
    until_spaces(&h, Duration::from_secs(2), |items| titles(items) == ["Once renamed"]).await;
    let events_before = event_types(&h).await;

    h.stop_daemon().await;
    h.sim.lose_acks(false);
    h.start_daemon().await;
    let health = h.wait_health(|health| health["events"]["duplicates"].as_u64().unwrap() >= 2).await;
    assert_eq!(health["events"]["handled"], 0, "redelivered frames are recognised, not handled again");
    let events_after = event_types(&h).await;
    let space_events = |types: &[String]| types.iter().filter(|t| t.starts_with("space.")).cloned().collect::<Vec<_>>();
    assert_eq!(space_events(&events_after), space_events(&events_before));
    assert_eq!(titles(&spaces(&h, "").await), ["Once renamed"]);
}

async fn event_types(h: &Harness) -> Vec<String> {
    let (_, body) = h.client.raw(hyper::Method::GET, "/v1/events?after=0", None).await.unwrap();
    std::str::from_utf8(&body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["type"].as_str().unwrap().to_owned())
        .collect()
}
