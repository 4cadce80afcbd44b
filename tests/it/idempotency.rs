//! Idempotency as HTTP does it: an `Idempotency-Key` header works as the body's
//! `key` does (both, and different: 422), a replay says so
//! (`Idempotent-Replayed: true`), and a key reused with another body is
//! `422 key_conflict`, for escalations and for messages.

use crate::common::Harness;
use crate::escalations::{create, request, world};
use serde_json::{json, Value};

/// POSTs `body` with an `Idempotency-Key` header: status, `Idempotent-Replayed`, body.
async fn post_keyed(h: &Harness, path: &str, key: &str, body: &Value) -> (u16, Option<String>, Value) {
    let reply = h
        .client
        .exchange(hyper::Method::POST, path, &[("Idempotency-Key", key)], Some(body.to_string()))
        .await
        .unwrap();
    let replayed = reply.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap().to_owned());
    (reply.status.as_u16(), replayed, serde_json::from_slice(&reply.body).unwrap())
}

#[tokio::test]
async fn the_idempotency_key_header_works_like_the_body_key_and_replays_say_so() {
    let w = world().await;
    let body = request(json!({"space_id": w.room.id}), None);
    let (status, replayed, first) = post_keyed(&w.h, "/v1/escalations", "conv-9/turn-2", &body).await;
    assert_eq!((status, replayed, first["key"].as_str()), (201, None, Some("conv-9/turn-2")), "{first}");
    let (status, replayed, again) = post_keyed(&w.h, "/v1/escalations", "conv-9/turn-2", &body).await;
    assert_eq!((status, replayed.as_deref(), &again["id"]), (200, Some("true"), &first["id"]));
    // The same key in the body finds it too.
    let (status, same) = create(&w.h, &request(json!({"space_id": w.room.id}), Some("conv-9/turn-2"))).await;
    assert_eq!((status, &same["id"]), (200, &first["id"]));
    // Both, and different: refused, naming the key.
    let both = request(json!({"space_id": w.room.id}), Some("conv-9/turn-3"));
    let (status, _, refused) = post_keyed(&w.h, "/v1/escalations", "conv-9/turn-4", &both).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid")), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().starts_with("key:"), "{refused}");
    let mut changed = body.clone();
    changed["summary"] = json!("Another question");
    let (status, _, conflict) = post_keyed(&w.h, "/v1/escalations", "conv-9/turn-2", &changed).await;
    assert_eq!((status, conflict["error"]["code"].as_str()), (422, Some("key_conflict")));

    let note = json!({"to": {"space_id": w.room.id}, "text": "Heads up"});
    let (status, replayed, sent) = post_keyed(&w.h, "/v1/messages", "note-1", &note).await;
    assert_eq!((status, replayed), (201, None), "{sent}");
    let (status, replayed, again) = post_keyed(&w.h, "/v1/messages", "note-1", &note).await;
    assert_eq!((status, replayed.as_deref(), &again), (200, Some("true"), &sent));
    let (status, _, refused) = post_keyed(
        &w.h,
        "/v1/messages",
        "note-2",
        &json!({"key": "note-3", "to": {"space_id": w.room.id}, "text": "x"}),
    )
    .await;
    assert_eq!((status, refused["error"]["code"].as_str()), (422, Some("invalid")), "{refused}");
    let list = w.h.client.get("/v1/escalations").await.unwrap().body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "one escalation for one key");
}
