//! The daemon against the simulator's Mercury as Webex runs it: frames a bot
//! does not act on (typing notices, KMS traffic, a registration status, a
//! binary frame) arrive mid-connection and must neither drop the link nor get
//! in the way of a card answered right after them.

use crate::common::{eventually, Harness};
use serde_json::{json, Map, Value};

async fn escalation(h: &Harness, id: &str) -> Value {
    h.client.get(&format!("/v1/escalations/{id}")).await.expect("escalation answers").body
}

#[tokio::test]
async fn frames_a_bot_ignores_do_not_disturb_the_link_or_an_answer() {
    let h = Harness::start().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    let reconnects = h.reconnects().await;
    for event_type in ["status.start_typing", "encryption.kms_message", "mercury.registration_status", "x.unheard_of"] {
        h.sim.inject_event(event_type);
    }
    h.sim.inject_binary(vec![0xde, 0xad, 0xbe, 0xef]);
    eventually("the daemon acks the frames it does not act on", || async {
        let unmatched = h.sim.unmatched_ack_count();
        (unmatched >= 4).then_some(()).ok_or_else(|| format!("{unmatched} unmatched acks"))
    })
    .await;

    let body = json!({"to": {"space_id": room.id}, "summary": "Withdrawal on hold", "question": "Release it?"});
    let created = h.client.post("/v1/escalations", &body).await.unwrap();
    assert_eq!(created.status.as_u16(), 201, "{:#}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let card = eventually("the card is posted", || async {
        let e = escalation(&h, &id).await;
        e["delivery"]["message_id"].as_str().map(str::to_owned).ok_or_else(|| format!("{e:#}"))
    })
    .await;
    let inputs: Map<String, Value> = [("response".to_owned(), json!("Yes"))].into_iter().collect();
    h.sim.submit_card(&card, &ana.id, inputs).unwrap();
    eventually("the answer is taken", || async {
        let e = escalation(&h, &id).await;
        (e["status"] == "answered").then_some(()).ok_or_else(|| format!("{e:#}"))
    })
    .await;
    assert_eq!(h.reconnects().await, reconnects, "the link stayed up");
    assert_eq!(h.health().await["webex"]["connected"], true);
}
