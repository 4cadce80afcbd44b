//! Every Webex error has Webex's body, whoever produced it; `Retry-After` in
//! each of its forms; 429s from U2C; the pre-login catalog needs no token.

use super::server_tests::{authed, sim};
use super::*;
use reqwest::Method;
use serde_json::Value;

/// The status, and asserts the body is Webex's error with the header's tracking id.
async fn webex_error(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let tracking = resp.headers()["TrackingID"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.expect("a JSON error body");
    let message = body["message"].as_str().expect("message").to_owned();
    assert_eq!(body["errors"][0]["description"], body["message"]);
    assert_eq!(body["trackingId"], tracking);
    (status, message)
}

#[tokio::test]
async fn router_errors_have_webexs_body_too() {
    let (sim, c) = sim().await;
    let api = sim.api_url();
    let wrong_method = authed(&c, Method::DELETE, format!("{api}/rooms")).send().await.unwrap();
    assert_eq!(webex_error(wrong_method).await.0, 405);
    let huge = vec![b'x'; 3 * 1024 * 1024];
    let too_big = authed(&c, Method::POST, format!("{api}/messages")).body(huge).send().await.unwrap();
    assert_eq!(webex_error(too_big).await, (413, "The request payload is too big".to_owned()));
    let nowhere = authed(&c, Method::GET, format!("{api}/nowhere")).send().await.unwrap();
    assert_eq!(webex_error(nowhere).await.0, 404);
    let stale = authed(&c, Method::GET, sim.api_url().replace("/v1", "/mercury/v1/apps/wx2/registrations/x/messages"));
    let (status, _) = webex_error(stale.send().await.unwrap()).await;
    assert!((400..500).contains(&status), "not a websocket request: {status}");
    sim.stop().await;
}

#[tokio::test]
async fn retry_after_comes_as_seconds_an_http_date_or_garbage() {
    let (sim, c) = sim().await;
    let (h, url) = (sim.handle(), format!("{}/people/me", sim.api_url()));
    let fail = |retry_after| Failure { count: 1, status: 429, retry_after: Some(retry_after), path: None };
    h.fail_next_calls(FaultTarget::Rest, fail(RetryAfter::HttpDateIn(120)));
    let resp = authed(&c, Method::GET, url.clone()).send().await.unwrap();
    let date = resp.headers()["retry-after"].to_str().unwrap().to_owned();
    assert!(chrono::DateTime::parse_from_rfc2822(&date.replace("GMT", "+0000")).is_ok(), "{date}");
    assert_eq!(webex_error(resp).await.0, 429);
    let control = sim.api_url().replace("/v1", "/_sim");
    let body = serde_json::json!({"count": 1, "status": 429, "retryAfter": "soon, maybe"});
    c.post(format!("{control}/faults/rest")).json(&body).send().await.unwrap();
    let resp = authed(&c, Method::GET, url).send().await.unwrap();
    assert_eq!(resp.headers()["retry-after"], "soon, maybe");
    sim.stop().await;
}

#[tokio::test]
async fn u2c_can_be_rate_limited_and_its_limited_catalog_is_public() {
    let (sim, c) = sim().await;
    let (u2c, control) = (sim.u2c_url(), sim.api_url().replace("/v1", "/_sim"));
    let body = serde_json::json!({"count": 1, "status": 429, "retryAfter": 2});
    c.post(format!("{control}/faults/u2c")).json(&body).send().await.unwrap();
    let resp = authed(&c, Method::GET, format!("{u2c}/catalog?format=hostmap")).send().await.unwrap();
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_eq!(webex_error(resp).await.0, 429);
    let full = authed(&c, Method::GET, format!("{u2c}/catalog?format=hostmap")).send().await.unwrap();
    let full: Value = full.json().await.unwrap();
    assert_eq!(full["serviceLinks"]["wdm"], sim.wdm_url());
    let anonymous = c.get(format!("{u2c}/catalog?format=hostmap")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let limited = c.get(format!("{u2c}/limited/catalog?format=hostmap&orgId={ORG_UUID}")).send().await.unwrap();
    assert_eq!(limited.status(), 200, "the SDK asks for it before it has a token");
    sim.stop().await;
}
