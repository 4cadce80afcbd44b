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

/// Parses `text` with the Prometheus project's own Python parser
/// (`prometheus_client`); the names of the families it read, or `None` (said
/// loudly) where Python or the package is missing. `.ci/run` installs it.
fn prometheus_parse(text: &str) -> Option<Vec<String>> {
    const PARSE: &str = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as parse\n\
        for family in parse(sys.stdin.read()):\n    print(family.name, family.type, len(family.samples))\n";
    let run = std::process::Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !run {
        eprintln!("SKIPPED the Prometheus parser check: python3 with prometheus_client is not here (pip install prometheus_client)");
        return None;
    }
    let mut child = std::process::Command::new("python3")
        .args(["-c", PARSE])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "prometheus_client refuses the exposition: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
            .collect(),
    )
}

#[tokio::test]
async fn metrics_on_tcp_are_what_prometheus_parses_and_nothing_else_is_served_there() {
    let mut h = Harness::without_daemon().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    h.config.metrics.listen = Some(port);
    h.start_daemon().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;
    let room = h.sim.create_room("VIP Escalations");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    let body = json!({"to": {"space_id": room.id}, "summary": "Withdrawal on hold"});
    eventually("the escalation is accepted", || async {
        let answer = h.client.post("/v1/escalations", &body).await.unwrap();
        (answer.status == 201).then_some(()).ok_or(answer.body.to_string())
    })
    .await;

    let http = reqwest::Client::new();
    let scrape = http.get(format!("http://{port}/metrics")).send().await.expect("metrics answer on TCP");
    assert_eq!(scrape.status(), 200);
    let content_type = scrape.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = scrape.text().await.unwrap();
    assert!(sample(&text, "webex_hitl_escalation_oldest_pending_seconds").is_some_and(|age| age >= 0.0), "{text}");
    assert_eq!(sample(&text, "webex_hitl_webex_token_valid"), Some(1.0));
    assert!(text.contains("webex_hitl_build_info{version=\""), "{text}");
    if let Some(families) = prometheus_parse(&text) {
        for name in [
            "webex_hitl_build_info",
            "webex_hitl_webex_connected",
            "webex_hitl_escalations",
            "webex_hitl_escalation_oldest_pending_seconds",
        ] {
            assert!(families.iter().any(|f| f == name), "{name} not parsed: {families:?}");
        }
    }

    let other = http.get(format!("http://{port}/v1/health")).send().await.unwrap();
    assert_eq!(other.status(), 404, "only /metrics is served on TCP");
    let error: Value = other.json().await.unwrap();
    assert_eq!(error["error"]["code"], "not_found");
}
