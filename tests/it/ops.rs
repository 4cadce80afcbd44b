//! Day-2 operations and the engine's view of failures: every error in the one
//! JSON shape, one daemon per store, a replaced socket named as such, and the
//! exit codes of `wait`.

use crate::common::{Harness, WAIT};
use serde_json::Value;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One raw HTTP/1.1 exchange on the socket, so that the test, not a client
/// library, chooses the method, headers and body. Returns status, head, body.
async fn exchange(socket: &Path, head: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::UnixStream::connect(socket).await.expect("the socket answers");
    let request = format!("{head}\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await.expect("an answer in time").unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, head, answer[split + 4..].to_vec())
}

#[tokio::test]
async fn every_error_is_json_in_the_one_shape_and_every_body_must_be_json() {
    let h = Harness::start().await;
    let socket = h.config.api.socket.as_path();
    let big = vec![b' '; 300 * 1024];
    let cases: Vec<(&str, &[u8], u16, &str)> = vec![
        ("GET /v1/nowhere HTTP/1.1", b"", 404, "not_found"),
        ("DELETE /v1/health HTTP/1.1", b"", 405, "method_not_allowed"),
        ("GET /v1/escalations/esc_nope HTTP/1.1", b"", 404, "not_found"),
        ("GET /v1/events?after=abc HTTP/1.1", b"", 400, "bad_request"),
        ("POST /v1/escalations HTTP/1.1\r\nContent-Type: application/json", b"{", 400, "bad_request"),
        ("POST /v1/escalations HTTP/1.1\r\nContent-Type: application/json", b"{\"summary\": 3}", 422, "invalid"),
        ("POST /v1/escalations HTTP/1.1\r\nContent-Type: application/json", &big, 413, "payload_too_large"),
        (
            "POST /v1/escalations/esc_x/cancel HTTP/1.1\r\nContent-Type: application/json",
            &big,
            413,
            "payload_too_large",
        ),
        ("POST /v1/escalations HTTP/1.1\r\nContent-Type: text/plain", b"{}", 415, "unsupported_media_type"),
        ("POST /v1/messages HTTP/1.1\r\nContent-Type: text/plain", b"{}", 415, "unsupported_media_type"),
        (
            "POST /v1/escalations/esc_x/cancel HTTP/1.1\r\nContent-Type: text/plain",
            b"{}",
            415,
            "unsupported_media_type",
        ),
        ("POST /v1/spaces/refresh HTTP/1.1\r\nContent-Type: text/plain", b"x", 415, "unsupported_media_type"),
        ("POST /v1/escalations/esc_x/cancel HTTP/1.1", b"{}", 415, "unsupported_media_type"),
    ];
    for (head, body, status, code) in cases {
        let (got, answer_head, answer) = exchange(socket, head, body).await;
        let json: Value = serde_json::from_slice(&answer)
            .unwrap_or_else(|e| panic!("{head}: the body is not JSON ({e}): {}", String::from_utf8_lossy(&answer)));
        assert_eq!((got, json["error"]["code"].as_str()), (status, Some(code)), "{head}: {json}");
        assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{head}: {json}");
        assert!(answer_head.to_ascii_lowercase().contains("content-type: application/json"), "{head}: {answer_head}");
    }
    // No body needs no content type, on every POST that takes none.
    let (status, _, answer) = exchange(socket, "POST /v1/escalations/esc_nope/cancel HTTP/1.1", b"").await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&answer));
}
