//! `/v1/messages` as a bot meets it: what it may read and list, the `text`
//! Webex derives, and `max` clamped to a list's limit.

use super::server_tests::{authed, bot_room, sim};
use reqwest::Method;
use serde_json::{json, Value};

async fn get(c: &reqwest::Client, url: String) -> (u16, Option<String>, Value) {
    let resp = authed(c, Method::GET, url).send().await.unwrap();
    let link = resp.headers().get("link").and_then(|l| l.to_str().ok()).map(str::to_owned);
    (resp.status().as_u16(), link, resp.json().await.unwrap())
}

/// Someone posts through the control API, mentioning `mentioned` (emails).
async fn person_posts(c: &reqwest::Client, control: &str, room: &str, text: &str, mentioned: &[&str]) -> String {
    let body = json!({"roomId": room, "personEmail": "ana@example.com", "text": text, "mentionedPeople": mentioned});
    let resp: Value = c.post(format!("{control}/messages")).json(&body).send().await.unwrap().json().await.unwrap();
    resp["messageId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_bot_reads_and_lists_group_messages_only_where_it_is_mentioned() {
    let (sim, c) = sim().await;
    let (api, control) = (sim.api_url(), sim.api_url().replace("/v1", "/_sim"));
    let h = sim.handle();
    let room = bot_room(&h, "VIP");
    let ana = h.add_person("ana@example.com", "Ana");
    h.add_member(&room.id, &ana.id, None).unwrap();
    let chatter = person_posts(&c, &control, &room.id, "lunch?", &[]).await;
    let first = person_posts(&c, &control, &room.id, "HITL Bot one", &["hitl-bot@webex.bot"]).await;
    let second = person_posts(&c, &control, &room.id, "HITL Bot two", &["hitl-bot@webex.bot"]).await;

    let (status, _, body) = get(&c, format!("{api}/messages/{chatter}")).await;
    assert_eq!((status, body["message"].as_str()), (404, Some("Could not find a message with provided ID.")));
    let (status, _, mention) = get(&c, format!("{api}/messages/{first}")).await;
    assert_eq!((status, mention["mentionedPeople"].clone()), (200, json!([h.bot().id])));

    let (status, _, refused) = get(&c, format!("{api}/messages?roomId={}", room.id)).await;
    assert_eq!((status, refused["message"].as_str()), (403, Some("Failed to get activity.")));
    assert!(refused["trackingId"].is_string());
    let (status, _, _) = get(&c, format!("{api}/messages?roomId={}&mentionedPeople={}", room.id, ana.id)).await;
    assert_eq!(status, 400, "a bot may name only itself");

    let (status, link, page) = get(&c, format!("{api}/messages?roomId={}&mentionedPeople=me&max=1", room.id)).await;
    assert_eq!((status, page["items"][0]["id"].as_str()), (200, Some(second.as_str())), "newest first");
    let link = link.expect("a next link");
    assert!(link.contains(&format!("beforeMessage={second}")), "{link}");
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
    let (_, link, page) = get(&c, next).await;
    assert_eq!(page["items"].as_array().unwrap().iter().map(|m| m["id"].clone()).collect::<Vec<_>>(), [json!(first)]);
    assert!(link.is_none());
    sim.stop().await;
}

#[tokio::test]
async fn markdown_only_messages_answer_with_a_plain_text() {
    let (sim, c) = sim().await;
    let room = bot_room(&sim.handle(), "VIP");
    let body = json!({"roomId": room.id, "markdown": "**Heads up**: see [the runbook](https://example.com/rb)"});
    let resp = authed(&c, Method::POST, format!("{}/messages", sim.api_url())).json(&body).send().await.unwrap();
    let msg: Value = resp.json().await.unwrap();
    assert_eq!(msg["text"], "Heads up: see the runbook");
    assert_eq!(msg["markdown"], body["markdown"]);
    sim.stop().await;
}

#[tokio::test]
async fn max_above_a_lists_limit_is_clamped_not_refused() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    let room = bot_room(&h, "VIP");
    bot_room(&h, "Other");
    let (status, _, rooms) = get(&c, format!("{}/rooms?max=5000", sim.api_url())).await;
    assert_eq!((status, rooms["items"].as_array().map(Vec::len)), (200, Some(2)));
    let ana = h.add_person("ana@example.com", "Ana");
    h.add_member(&room.id, &ana.id, None).unwrap();
    for i in 0..101 {
        h.post_message_mentioning(&room.id, &ana.id, &format!("HITL Bot {i}"), &[h.bot().id]).unwrap();
    }
    let url = format!("{}/messages?roomId={}&mentionedPeople=me&max=500", sim.api_url(), room.id);
    let (status, link, page) = get(&c, url).await;
    assert_eq!((status, page["items"].as_array().map(Vec::len)), (200, Some(100)), "100 with mentionedPeople");
    assert!(link.is_some_and(|l| l.contains("max=100")));
    let (status, _, _) = get(&c, format!("{}/rooms?max=0", sim.api_url())).await;
    assert_eq!(status, 400, "below 1 is still an error");
    sim.stop().await;
}
