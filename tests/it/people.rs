//! `GET /v1/people?q=`: the person picker for DMs, through Webex's people
//! search (the bot's own org only), the bot itself left out.

use crate::common::{eventually, Harness};
use serde_json::Value;

fn emails(found: &Value) -> Vec<&str> {
    found["items"].as_array().expect("items").iter().filter_map(|p| p["email"].as_str()).collect()
}

#[tokio::test]
async fn q_finds_people_of_the_org_by_name_or_email_prefix() {
    let h = Harness::start().await;
    h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    h.sim.add_person("ben.ops@example.com", "Ben Ops");
    h.sim.add_person("anna.lee@example.com", "Anna Lee");
    let by_name = h.client.get("/v1/people?q=ana").await.unwrap();
    assert_eq!((by_name.status.as_u16(), emails(&by_name.body)), (200, vec!["ana.specialist@example.com"]));
    assert_eq!(by_name.body["items"][0]["display_name"], "Ana Specialist");
    let by_email = h.client.get("/v1/people?q=ben.o").await.unwrap();
    assert_eq!(emails(&by_email.body), ["ben.ops@example.com"]);
    let bot = h.sim.bot();
    let not_the_bot = h.client.get(&format!("/v1/people?q={}", &bot.display_name[..3])).await.unwrap();
    assert!(!emails(&not_the_bot.body).contains(&bot.email.as_str()), "{}", not_the_bot.body);
    assert_eq!(emails(&h.client.get("/v1/people?q=an").await.unwrap().body).len(), 2);
    let limited = h.client.get("/v1/people?q=an&limit=1").await.unwrap();
    assert_eq!(emails(&limited.body).len(), 1, "{}", limited.body);
    let empty = h.client.get("/v1/people?q=%20").await.unwrap();
    assert_eq!((empty.status.as_u16(), empty.body["error"]["code"].as_str()), (400, Some("bad_request")));
    // The email lookup answers one person, as before.
    let one = h.client.get("/v1/people?email=ben.ops@example.com").await.unwrap();
    assert_eq!(one.body["display_name"], "Ben Ops");
}

/// DMs are made as Webex makes them for a post to a person: silently (no
/// event), so the daemon learns of them on a resync.
fn dm_with(h: &Harness, person: &webex_hitl::sim::SimPerson) -> String {
    h.sim.direct_room(&person.id).expect("a DM room").id
}

fn membership_lookups(h: &Harness) -> usize {
    h.sim.rest_calls().iter().filter(|c| c.path.contains("/memberships")).count()
}

async fn refresh(h: &Harness) -> Value {
    let report = h.client.post("/v1/spaces/refresh", &serde_json::json!({})).await.unwrap();
    assert_eq!(report.status, 200, "a refresh never fails for a lookup: {:#}", report.body);
    report.body
}

async fn direct_spaces(h: &Harness) -> Vec<Value> {
    let listed = h.client.get("/v1/spaces?type=direct").await.unwrap();
    listed.body["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn dms_with_people_of_one_name_are_told_apart_and_the_picker_knows_who_has_one() {
    let h = Harness::start().await;
    let anas: Vec<_> = ["ana.lopez@example.com", "ana.lopez@sales.example.com", "ana.lopez2@example.com"]
        .into_iter()
        .map(|email| h.sim.add_person(email, "Ana Lopez"))
        .collect();
    let other_ana = h.sim.add_person("ana.lopez.ops@example.com", "Ana Lopez");
    let rooms: Vec<String> = anas.iter().map(|ana| dm_with(&h, ana)).collect();
    // The first lookup of one DM fails (404 is not retried): the refresh still
    // succeeds, that DM is left unnamed, and a later resync learns it.
    h.sim.fail_next_rest_matching("/memberships", 1, 404, None);
    let report = refresh(&h).await;
    assert_eq!(report["added"].as_array().expect("added").len(), 3, "{report:#}");
    let named = |items: &[Value]| items.iter().filter(|s| s["counterpart_email"].is_string()).count();
    let first = direct_spaces(&h).await;
    assert_eq!((first.len(), named(&first)), (3, 2), "{first:#?}");
    refresh(&h).await;
    let spaces = direct_spaces(&h).await;
    for (ana, room) in anas.iter().zip(&rooms) {
        let space = spaces.iter().find(|s| s["id"] == room.as_str()).expect("the DM is listed");
        assert_eq!(space["title"], "Ana Lopez");
        assert_eq!(space["counterpart_email"], ana.email.as_str(), "{space:#}");
        assert_eq!(space["counterpart_id"], ana.id.as_str());
        assert_eq!(space["counterpart_name"], "Ana Lopez");
        let one = h.client.get(&format!("/v1/spaces/{room}")).await.unwrap();
        assert_eq!(one.body["counterpart_email"], ana.email.as_str());
    }
    // Known DMs are not looked up again on later resyncs.
    let lookups = membership_lookups(&h);
    refresh(&h).await;
    assert_eq!(membership_lookups(&h), lookups, "a known DM costs no lookup");

    let found = h.client.get("/v1/people?q=ana.lopez").await.unwrap();
    let marked = |email: &str| found.body["items"].as_array().unwrap().iter().find(|p| p["email"] == email).cloned();
    let with_dm = marked(&anas[0].email).expect("the first Ana is found");
    assert_eq!(
        (with_dm["has_direct_space"].as_bool(), with_dm["direct_space_id"].as_str()),
        (Some(true), Some(rooms[0].as_str()))
    );
    let without = marked(&other_ana.email).expect("the Ana without a DM is found");
    assert_eq!((without["has_direct_space"].as_bool(), &without["direct_space_id"]), (Some(false), &Value::Null));
    let by_email = h.client.get(&format!("/v1/people?email={}", anas[1].email)).await.unwrap();
    assert_eq!(by_email.body["direct_space_id"], rooms[1].as_str(), "{:#}", by_email.body);
}

#[tokio::test]
async fn a_direct_room_mercury_tells_of_is_named_without_a_resync() {
    let h = Harness::start().await;
    let ana = h.sim.add_person("ana.lopez@example.com", "Ana Lopez");
    let room = dm_with(&h, &ana);
    // Webex announces a change to the room (`update`): the daemon records it
    // and learns who it is with, with no resync asked for.
    h.sim.rename_room(&room, "Ana Lopez (EU)").unwrap();
    let space = eventually("the DM names its person", || async {
        let one = h.client.get(&format!("/v1/spaces/{room}")).await.unwrap();
        if one.body["counterpart_email"] == ana.email.as_str() {
            Ok(one.body)
        } else {
            Err(format!("{:#}", one.body))
        }
    })
    .await;
    assert_eq!((space["title"].as_str(), space["space_type"].as_str()), (Some("Ana Lopez (EU)"), Some("direct")));
    let found = h.client.get("/v1/people?q=ana.lopez").await.unwrap();
    assert_eq!(found.body["items"][0]["direct_space_id"], room.as_str(), "{:#}", found.body);
}
