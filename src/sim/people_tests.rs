//! Organisations over HTTP: Webex finds people by email only in the bot's own
//! org, yet a DM by email reaches anyone, and an id finds anyone.

use super::server_tests::{authed, sim};
use super::OTHER_ORG_UUID;
use reqwest::Method;
use serde_json::{json, Value};

async fn get(c: &reqwest::Client, url: String) -> (u16, Value) {
    let resp = authed(c, Method::GET, url).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn email_lookup_stays_in_the_bot_org_but_a_dm_by_email_does_not() {
    let (sim, c) = sim().await;
    let (api, control) = (sim.api_url(), sim.api_url().replace("/v1", "/_sim"));
    sim.handle().add_person("ana@example.com", "Ana");
    let body = json!({"email": "bo@partner.example", "displayName": "Bo Partner", "orgId": OTHER_ORG_UUID});
    let bo: Value = c.post(format!("{control}/people")).json(&body).send().await.unwrap().json().await.unwrap();
    let (_, me) = get(&c, format!("{api}/people/me")).await;
    assert_ne!(bo["org_id"], me["orgId"], "the control API made a person in another org");

    let (status, same_org) = get(&c, format!("{api}/people?email=ana@example.com")).await;
    assert_eq!((status, same_org["items"][0]["orgId"].clone()), (200, me["orgId"].clone()));
    assert!(same_org["items"][0]["status"].is_string(), "presence inside the org");
    let (status, other_org) = get(&c, format!("{api}/people?email=bo@partner.example")).await;
    assert_eq!((status, other_org), (200, json!({"items": []})), "not found by email, and not an error");

    let dm = json!({"toPersonEmail": "bo@partner.example", "markdown": "**Hi** Bo"});
    let resp = authed(&c, Method::POST, format!("{api}/messages")).json(&dm).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let msg: Value = resp.json().await.unwrap();
    assert_eq!(msg["toPersonEmail"], "bo@partner.example");
    assert_eq!(msg["toPersonId"], bo["id"]);
    assert_eq!((msg["roomType"].as_str(), msg["text"].as_str()), (Some("direct"), Some("Hi Bo")));

    let (status, person) = get(&c, format!("{api}/people/{}", bo["id"].as_str().unwrap())).await;
    assert_eq!((status, person["orgId"].clone()), (200, bo["org_id"].clone()));
    assert!(person.get("status").is_none(), "no presence across orgs");
    let ids = format!("{},{}", bo["id"].as_str().unwrap(), me["id"].as_str().unwrap());
    let (_, both) = get(&c, format!("{api}/people?id={ids}")).await;
    assert_eq!(both["items"].as_array().map(Vec::len), Some(2), "lookup by id crosses orgs");
    sim.stop().await;
}

#[tokio::test]
async fn the_recipient_fields_are_in_details_not_in_lists() {
    let (sim, c) = sim().await;
    let api = sim.api_url();
    sim.handle().add_person("ana@example.com", "Ana");
    let dm = json!({"toPersonEmail": "ana@example.com", "text": "hello"});
    let posted: Value =
        authed(&c, Method::POST, format!("{api}/messages")).json(&dm).send().await.unwrap().json().await.unwrap();
    let (_, detail) = get(&c, format!("{api}/messages/{}", posted["id"].as_str().unwrap())).await;
    assert_eq!(detail["toPersonEmail"], "ana@example.com");
    let (_, list) = get(&c, format!("{api}/messages?roomId={}", posted["roomId"].as_str().unwrap())).await;
    assert_eq!(list["items"][0]["id"], posted["id"]);
    assert!(list["items"][0].get("toPersonEmail").is_none(), "a list item is a ListMessage");
    sim.stop().await;
}

#[tokio::test]
async fn display_name_search_is_a_prefix_of_name_or_email_within_the_bot_org() {
    let (sim, c) = sim().await;
    let (api, control) = (sim.api_url(), sim.api_url().replace("/v1", "/_sim"));
    sim.handle().add_person("ana.specialist@example.com", "Ana Specialist");
    sim.handle().add_person("anatole@example.com", "Tole Ana");
    let body = json!({"email": "ana@partner.example", "displayName": "Ana Partner", "orgId": OTHER_ORG_UUID});
    c.post(format!("{control}/people")).json(&body).send().await.unwrap();
    let names = |found: &Value| -> Vec<String> {
        found["items"].as_array().unwrap().iter().map(|p| p["displayName"].as_str().unwrap().to_owned()).collect()
    };
    let (status, found) = get(&c, format!("{api}/people?displayName=aNa")).await;
    assert_eq!((status, names(&found)), (200, vec!["Ana Specialist".to_owned(), "Tole Ana".to_owned()]));
    let (_, one) = get(&c, format!("{api}/people?displayName=ana&max=1")).await;
    assert_eq!(names(&one).len(), 1, "max is honoured");
    let (status, _) = get(&c, format!("{api}/people?displayName=%20")).await;
    assert_eq!(status, 400, "an empty name is no search");
}
