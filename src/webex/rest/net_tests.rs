//! Network tests of the REST client against the scripted server on 127.0.0.1.

use std::time::{Duration, Instant};

use serde_json::json;

use super::testkit::{card_message, client, fast_policy, token, Canned, MockServer, TOKEN};
use super::*;
use crate::secret::Secret;

const ME: &str = include_str!("../../../tests/fixtures/frames/rest-people-me.json");
const CARD_MESSAGE: &str = include_str!("../../../tests/fixtures/frames/rest-message-created-card.json");
const NOT_FOUND: &str = include_str!("../../../tests/fixtures/frames/rest-error-404-room.json");

#[tokio::test]
async fn waits_for_retry_after_on_429_then_succeeds() {
    let server = MockServer::start().await;
    server.script(
        "GET",
        "/v1/people/me",
        vec![Canned::json(429, "{}").header("Retry-After", "1"), Canned::json(200, ME)],
    );
    let started = Instant::now();
    let me = client(&server, fast_policy()).me().await.expect("me");
    assert_eq!(me.kind.as_deref(), Some("bot"));
    assert_eq!(server.count("GET", "/v1/people/me"), 2);
    let calls = server.calls();
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= Duration::from_millis(950), "waited only {gap:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let expected = format!("Bearer {TOKEN}");
    assert_eq!(calls[0].authorization.as_deref(), Some(expected.as_str()));
}

#[tokio::test]
async fn rate_limit_that_persists_gives_up_after_the_budget() {
    let server = MockServer::start().await;
    let limited = Canned::json(429, "{}").header("Retry-After", "0");
    server.script("GET", "/v1/rooms/R", vec![limited]);
    let err = client(&server, fast_policy()).room("R").await.unwrap_err();
    assert!(matches!(err, RestError::RateLimited { .. }), "{err:?}");
    assert_eq!(server.count("GET", "/v1/rooms/R"), 4);
}

#[tokio::test]
async fn post_is_not_retried_on_500() {
    let server = MockServer::start().await;
    server.script("POST", "/v1/messages", vec![Canned::json(500, "oops")]);
    let err = client(&server, fast_policy()).create_message(&card_message()).await.unwrap_err();
    assert!(matches!(err, RestError::Server { status: 500, .. }), "{err:?}");
    assert_eq!(server.count("POST", "/v1/messages"), 1);
}

#[tokio::test]
async fn post_is_retried_on_503_and_sends_the_card() {
    let server = MockServer::start().await;
    server.script("POST", "/v1/messages", vec![Canned::json(503, "{}"), Canned::json(200, CARD_MESSAGE)]);
    let msg = client(&server, fast_policy()).create_message(&card_message()).await.expect("posted");
    assert!(msg.card.is_some());
    let calls = server.calls();
    assert_eq!(calls.len(), 2);
    let sent: serde_json::Value = serde_json::from_str(&calls[1].body).expect("json body");
    assert_eq!(sent["roomId"], "R1");
    assert_eq!(sent["attachments"][0]["contentType"], ADAPTIVE_CARD);
}

#[tokio::test]
async fn post_timing_out_after_sending_is_not_retried() {
    let server = MockServer::start().await;
    let slow = Canned::json(200, CARD_MESSAGE).delayed(Duration::from_secs(5));
    server.script("POST", "/v1/messages", vec![slow]);
    let http = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().expect("http");
    let rest = RestClient::new(http, &server.url("/v1"), token(), fast_policy()).expect("client");
    let err = rest.create_message(&card_message()).await.unwrap_err();
    assert!(matches!(err, RestError::Network { sent: true, .. }), "{err:?}");
    assert_eq!(server.count("POST", "/v1/messages"), 1);
}

#[tokio::test]
async fn post_that_cannot_connect_reports_unsent() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let base = format!("http://127.0.0.1:{port}/v1");
    let rest = RestClient::new(reqwest::Client::new(), &base, token(), fast_policy()).expect("client");
    let err = rest.create_message(&card_message()).await.unwrap_err();
    assert!(matches!(err, RestError::Network { sent: false, .. }), "{err:?}");
    assert_eq!(err.retry_kind(), RetryKind::Network);
}

#[tokio::test]
async fn get_is_retried_on_502() {
    let server = MockServer::start().await;
    let bad = Canned::json(502, "<html>Bad Gateway</html>");
    server.script("GET", "/v1/people/me", vec![bad.clone(), bad, Canned::json(200, ME)]);
    client(&server, fast_policy()).me().await.expect("me");
    assert_eq!(server.count("GET", "/v1/people/me"), 3);
}

#[tokio::test]
async fn unauthorized_carries_tracking_id_and_never_the_token() {
    let server = MockServer::start().await;
    let body = r#"{"message":"The request requires a valid access token set in the Authorization request header.","trackingId":"BODY_ID"}"#;
    server.script("GET", "/v1/people/me", vec![Canned::json(401, body)]);
    let err = client(&server, fast_policy()).me().await.unwrap_err();
    assert!(matches!(err, RestError::Unauthorized { .. }), "{err:?}");
    assert_eq!(err.tracking_id(), Some("SIM_401"));
    assert_eq!(server.count("GET", "/v1/people/me"), 1);
    let text = err.to_string();
    assert!(text.starts_with("Webex rejected the bot token (401): The request requires"));
    assert!(!text.contains(TOKEN) && !format!("{err:?}").contains(TOKEN));
}

#[tokio::test]
async fn not_found_message_and_delete() {
    let server = MockServer::start().await;
    server.script("GET", "/v1/messages/M1", vec![Canned::json(404, NOT_FOUND)]);
    server.script("DELETE", "/v1/messages/M2", vec![Canned::json(204, "")]);
    let rest = client(&server, fast_policy());
    let err = rest.message("M1").await.unwrap_err();
    assert!(err.to_string().contains("Could not find a room"), "{err}");
    rest.delete_message("M2").await.expect("deleted");
}

#[tokio::test]
async fn token_is_read_per_request() {
    let server = MockServer::start().await;
    server.script("GET", "/v1/people/me", vec![Canned::json(200, ME)]);
    let shared = token();
    let rest =
        RestClient::new(reqwest::Client::new(), &server.url("/v1"), shared.clone(), fast_policy()).expect("client");
    rest.me().await.expect("first");
    shared.set(Secret::new("rotated"));
    rest.me().await.expect("second");
    let calls = server.calls();
    assert_eq!(calls[1].authorization.as_deref(), Some("Bearer rotated"));
}

fn rooms_page(ids: &[&str]) -> String {
    let items: Vec<_> = ids.iter().map(|id| json!({"id": id, "title": id, "type": "group"})).collect();
    json!({ "items": items }).to_string()
}

#[tokio::test]
async fn rooms_follow_links_and_readd_dropped_params() {
    let server = MockServer::start().await;
    let page2 = format!(r#"<{}>; rel="next""#, server.url("/v1/rooms?cursor=2"));
    let page3 = format!(
        r#"<{}>; rel="next", <{}>; rel="first""#,
        server.url("/v1/rooms?cursor=3&max=1000"),
        server.url("/v1/rooms")
    );
    server.script(
        "GET",
        "/v1/rooms",
        vec![
            Canned::json(200, rooms_page(&["a", "b"])).header("Link", &page2),
            Canned::json(200, rooms_page(&["c"])).header("Link", &page3),
            Canned::json(200, rooms_page(&["d"])),
        ],
    );
    let query = RoomQuery { room_type: Some(RoomType::Group), sort_by: Some(RoomSort::LastActivity), page_size: 1000 };
    let rooms = client(&server, fast_policy()).rooms(&query).await.expect("rooms");
    let ids: Vec<_> = rooms.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    let queries: Vec<String> = server.calls().into_iter().filter_map(|c| c.query).collect();
    assert_eq!(queries.len(), 3);
    assert_eq!(queries[0], "type=group&sortBy=lastactivity&max=1000");
    assert_eq!(queries[1], "cursor=2&type=group&sortBy=lastactivity&max=1000");
    assert_eq!(queries[2], "cursor=3&max=1000&type=group&sortBy=lastactivity");
}

#[tokio::test]
async fn memberships_and_attachment_actions_decode() {
    let server = MockServer::start().await;
    let members = json!({"items": [{"id": "M", "roomId": "R", "personId": "P",
        "personEmail": "ana@example.com", "isModerator": true, "roomType": "direct"}]});
    server.script("GET", "/v1/memberships", vec![Canned::json(200, members.to_string())]);
    let action = json!({"id": "A", "messageId": "M", "personId": "P", "inputs": {"n": 1}});
    server.script("GET", "/v1/attachment/actions/A", vec![Canned::json(200, action.to_string())]);
    let rest = client(&server, fast_policy());
    let found = rest.memberships("R", Some(PersonFilter::Email("ana@example.com".into()))).await.expect("memberships");
    assert_eq!(found[0].room_type, Some(RoomType::Direct));
    assert!(found[0].is_moderator);
    let query = server.calls()[0].query.clone().unwrap_or_default();
    assert_eq!(query, "roomId=R&personEmail=ana%40example.com&max=1000");
    let a = rest.attachment_action("A").await.expect("action");
    assert_eq!(a.inputs["n"], "1");
}
