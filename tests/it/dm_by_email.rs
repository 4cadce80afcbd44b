//! A DM by email does not depend on the people lookup, which sees only the
//! bot's own org: the card is posted with `toPersonEmail` and the room and
//! recipient are learnt from Webex's answer.

use crate::common::{eventually, Harness};
use serde_json::{json, Value};

/// Another customer's org: `GET /people?email=` does not find its people.
const PARTNER_ORG: &str = "5c7d2a91-3e48-4b6f-8d17-a2e9f0c4b863";

async fn until(h: &Harness, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let check = &check;
    eventually(&format!("escalation {id} reaches the state"), || async move {
        let escalation = h.client.get(&format!("/v1/escalations/{id}")).await.unwrap().body;
        if check(&escalation) {
            Ok(escalation)
        } else {
            Err(format!("{escalation:#}"))
        }
    })
    .await
}

async fn escalate_to(h: &Harness, email: &str) -> String {
    let body = json!({"to": {"person_email": email}, "summary": "Release withdrawal #4411?"});
    let created = h.client.post("/v1/escalations", &body).await.unwrap();
    assert_eq!(created.status, 201, "{:#}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_dm_to_another_orgs_person_is_posted_answered_and_reaches_the_engine() {
    let h = Harness::start().await;
    let bo = h.sim.add_person_in_org("bo@partner.example", "Bo Partner", PARTNER_ORG);
    let lookup = h.client.get("/v1/people?email=bo@partner.example").await.unwrap();
    assert_eq!(lookup.status, 404, "the lookup is org-scoped: {:#}", lookup.body);

    let id = escalate_to(&h, "bo@partner.example").await;
    let posted = until(&h, &id, |e| e["delivery"]["state"] == "posted").await;
    let card_id = posted["delivery"]["message_id"].as_str().unwrap();
    let card = h.sim.message(card_id).expect("the card is in the simulator");
    assert_eq!(posted["delivery"]["space_id"], card.room_id.as_str(), "the DM room learnt from the post");

    let inputs = [("response", json!("Yes, release it."))].into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    h.sim.submit_card(card_id, &bo.id, inputs).unwrap();
    let answered = until(&h, &id, |e| e["status"] != "pending").await;
    assert_eq!(answered["status"], "answered", "{answered:#}");
    assert_eq!(answered["answer"]["inputs"], json!({"response": "Yes, release it."}));
    assert_eq!(answered["answer"]["by"]["id"], bo.id.as_str());
    assert_eq!(answered["answer"]["by"]["email"], "bo@partner.example");

    let (_, log) = h.client.raw(hyper::Method::GET, "/v1/events?after=0", None).await.unwrap();
    let events: Vec<Value> =
        std::str::from_utf8(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let answer = events.iter().find(|e| e["type"] == "escalation.answered" && e["escalation"]["id"] == id.as_str());
    assert_eq!(answer.expect("escalation.answered in the log")["escalation"]["answer"]["by"]["id"], bo.id.as_str());
}

#[tokio::test]
async fn a_dm_to_an_email_webex_does_not_know_fails_naming_it() {
    let h = Harness::start().await;
    let id = escalate_to(&h, "nobody@nowhere.example").await;
    let failed = until(&h, &id, |e| e["status"] != "pending").await;
    assert_eq!(failed["status"], "failed", "{failed:#}");
    let reason = failed["close_reason"].as_str().or(failed["delivery"]["error"].as_str()).unwrap_or_default();
    assert!(reason.contains("nobody@nowhere.example"), "{failed:#}");
}
