//! `GET /v1/people?q=`: the person picker for DMs, through Webex's people
//! search (the bot's own org only), the bot itself left out.

use crate::common::Harness;
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
