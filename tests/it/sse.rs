//! `GET /v1/events` as Server-Sent Events: `id:` is the seq, `Last-Event-ID`
//! resumes after it, and NDJSON stays the default.

use crate::common::{eventually, Harness};

/// The SSE events read until `count` carried an id: `(id, event, data)`.
async fn sse_events(h: &Harness, path: &str, headers: &[(&str, &str)], count: usize) -> Vec<(i64, String, String)> {
    let (mut events, mut id, mut kind) = (Vec::new(), None, String::new());
    h.client
        .stream_sse(path, headers, |line| {
            if let Some(seq) = line.strip_prefix("id: ") {
                id = seq.parse().ok();
            } else if let Some(event) = line.strip_prefix("event: ") {
                kind = event.to_owned();
            } else if let Some(data) = line.strip_prefix("data: ") {
                if let Some(seq) = id.take() {
                    events.push((seq, std::mem::take(&mut kind), data.to_owned()));
                }
            }
            events.len() < count
        })
        .await
        .expect("the SSE stream answers");
    events
}

#[tokio::test]
async fn sse_ids_are_seqs_and_last_event_id_resumes_after_them() {
    let h = Harness::start().await;
    let bot = h.sim.bot();
    for title in ["Room A", "Room B", "Room C"] {
        let room = h.sim.create_room(title);
        h.sim.add_member(&room.id, &bot.id, None).unwrap();
    }
    eventually("three space.added events", || async {
        let (_, body) =
            h.client.raw(hyper::Method::GET, "/v1/events?after=0", None).await.map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&body).into_owned();
        (text.matches("\"space.added\"").count() >= 3).then_some(()).ok_or(text)
    })
    .await;

    let first = sse_events(&h, "/v1/events?after=0", &[], 2).await;
    for (seq, kind, data) in &first {
        let line: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!((line["seq"].as_i64(), line["type"].as_str()), (Some(*seq), Some(kind.as_str())), "{data}");
    }
    assert!(first[0].0 < first[1].0, "{first:?}");

    // A reconnect with the last id it saw: the stream goes on after it, whatever `after` says.
    let last = first[1].0.to_string();
    let resumed = sse_events(&h, "/v1/events?after=0", &[("Last-Event-ID", &last)], 1).await;
    assert!(resumed[0].0 > first[1].0, "resumed at {:?} after {last}", resumed[0]);

    // Without the Accept header: NDJSON, as before.
    let (status, body) = h.client.raw(hyper::Method::GET, "/v1/events?after=0&limit=1", None).await.unwrap();
    let line: serde_json::Value = serde_json::from_slice(&body).expect("one NDJSON line");
    assert_eq!((status.as_u16(), line["seq"].as_i64()), (200, Some(first[0].0)));

    let headers = [("Accept", "text/event-stream"), ("Last-Event-ID", "yesterday")];
    let bad = h.client.exchange(hyper::Method::GET, "/v1/events", &headers, None).await.unwrap();
    assert_eq!(bad.status, 400, "{:?}", bad.body);
}
