//! `GET /metrics` through the simulator: a 429 storm and an escalation round
//! trip show up in the Prometheus text the daemon serves on its socket.

use crate::common::{eventually, sample, Harness};
use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw HTTP/1.0 GET, so the test sees the headers exactly as Prometheus would.
async fn scrape(h: &Harness) -> (String, String) {
    let mut stream = tokio::net::UnixStream::connect(&h.config.api.socket).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    (head.to_ascii_lowercase(), body.to_owned())
}

/// Scrapes until `series` is there and `ok`; returns that scrape.
async fn until_metric(h: &Harness, series: &str, ok: impl Fn(f64) -> bool) -> String {
    let ok = &ok;
    eventually(&format!("{series} is satisfied"), || async move {
        let (_, text) = scrape(h).await;
        if sample(&text, series).is_some_and(ok) {
            Ok(text)
        } else {
            Err(text)
        }
    })
    .await
}

#[tokio::test]
async fn metrics_count_a_rate_limit_storm_and_an_escalation_round_trip() {
    let h = Harness::start().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    until_metric(&h, "webex_hitl_events_total{type=\"member_added\"}", |n| n >= 1.0).await;

    // Two 429s, then the refresh's GET /rooms gets through on its third attempt.
    h.sim.fail_next_rest(2, 429, Some(1));
    let refreshed = h.client.post("/v1/spaces/refresh", &json!({})).await.unwrap();
    assert_eq!(refreshed.status, 200, "{:#}", refreshed.body);

    let request = json!({"to": {"space_id": room.id}, "summary": "Withdrawal #4411 on hold", "timeout_s": 1800});
    let created = h.client.post("/v1/escalations", &request).await.unwrap();
    assert_eq!(created.status, 201, "{:#}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let message_id = wait_posted(&h, &id).await;
    let inputs: Map<String, Value> = [("response".to_owned(), json!("Release it."))].into_iter().collect();
    h.sim.submit_card(&message_id, &ana.id, inputs).unwrap();
    let text = until_metric(&h, "webex_hitl_escalations{status=\"answered\"}", |n| n == 1.0).await;

    let (head, _) = scrape(&h).await;
    assert!(head.starts_with("http/1.0 200") || head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("content-type: text/plain; version=0.0.4"), "{head}");
    let v = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in:\n{text}"));
    assert_eq!(v("webex_hitl_webex_connected"), 1.0);
    assert_eq!(v("webex_hitl_webex_reconnects_total"), 0.0);
    assert!(v("webex_hitl_events_total{type=\"card_submitted\"}") >= 1.0);
    assert!(v("webex_hitl_rest_requests_total{method=\"GET\",status=\"429\"}") >= 2.0);
    assert!(v("webex_hitl_rest_requests_total{method=\"GET\",status=\"200\"}") >= 1.0);
    assert!(v("webex_hitl_rest_requests_total{method=\"POST\",status=\"200\"}") >= 1.0, "the card was posted");
    assert!(v("webex_hitl_rest_rate_limited_total") >= 2.0);
    assert_eq!(v("webex_hitl_escalations{status=\"pending\"}"), 0.0);
    assert!(v("webex_hitl_escalation_delivery_seconds_count") >= 1.0);
    assert!(v("webex_hitl_escalation_delivery_seconds_bucket{le=\"+Inf\"}") >= 1.0);
    assert_eq!(v("webex_hitl_escalation_answer_seconds_count"), 1.0);
    assert!(v("webex_hitl_escalation_answer_seconds_sum") < 60.0, "answered within the test: {text}");
    assert!(sample(&text, "webex_hitl_outbox_jobs").is_some(), "{text}");
    assert!(text.contains("# TYPE webex_hitl_escalation_answer_seconds histogram"), "{text}");
}

async fn wait_posted(h: &Harness, id: &str) -> String {
    eventually("the card is posted", || async {
        let escalation = h.client.get(&format!("/v1/escalations/{id}")).await.unwrap().body;
        escalation["delivery"]["message_id"].as_str().map(str::to_owned).ok_or(format!("{escalation:#}"))
    })
    .await
}

#[tokio::test]
async fn metrics_live_outside_v1_and_report_a_lost_connection() {
    let h = Harness::start().await;
    h.sim.set_pong(false);
    h.sim.drop_sockets();
    let text = until_metric(&h, "webex_hitl_webex_connected", |n| n == 0.0).await;
    assert!(text.contains("# TYPE webex_hitl_webex_connected gauge"), "{text}");
    h.sim.set_pong(true);
    until_metric(&h, "webex_hitl_webex_reconnects_total", |n| n >= 1.0).await;
    let missing = h.client.get("/v1/metrics").await.unwrap();
    assert_eq!(missing.status, 404);
}
