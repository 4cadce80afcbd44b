//! `GET /metrics`: the counters, plus gauges read from the link and the store
//! at scrape time.

use super::text::CONTENT_TYPE;
use super::Exposition;
use crate::api::AppState;
use crate::webex::mercury::link::LinkState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Every escalation status, so each series exists from the first scrape.
const STATUSES: [&str; 5] = ["pending", "answered", "expired", "cancelled", "failed"];

/// What the store says at scrape time; `None` when it could not be read.
#[derive(Debug, Default)]
pub struct StoreGauges {
    pub escalations: Option<Vec<(String, i64)>>,
    pub outbox_jobs: Option<i64>,
}

pub async fn get(State(state): State<AppState>) -> Response {
    let escalations = state.store.escalation_counts().await;
    let outbox = state.store.outbox_len().await;
    if let Err(error) = escalations.as_ref().map(|_| ()).and(outbox.as_ref().map(|_| ())) {
        tracing::warn!(%error, "metrics: cannot read the store; its gauges are left out");
    }
    let gauges = StoreGauges { escalations: escalations.ok(), outbox_jobs: outbox.ok() };
    let link = state.link.borrow().clone();
    let mut out = Exposition::default();
    write_link(&mut out, &link);
    state.metrics.write_counters(&mut out);
    write_store(&mut out, &gauges);
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], out.finish()).into_response()
}

pub fn write_link(out: &mut Exposition, link: &LinkState) {
    out.family("webex_hitl_webex_connected", "gauge", "1 while the Mercury websocket is connected and ready.");
    out.sample("webex_hitl_webex_connected", &[], if link.connected { 1.0 } else { 0.0 });
    out.family("webex_hitl_webex_reconnects_total", "counter", "Ready Mercury connections lost and re-established.");
    out.sample("webex_hitl_webex_reconnects_total", &[], link.reconnects as f64);
    if let Some(at) = link.last_event_at {
        out.family("webex_hitl_webex_last_event_timestamp_seconds", "gauge", "When the last Webex event arrived.");
        out.sample("webex_hitl_webex_last_event_timestamp_seconds", &[], at.timestamp_millis() as f64 / 1000.0);
    }
}

pub fn write_store(out: &mut Exposition, gauges: &StoreGauges) {
    if let Some(rows) = &gauges.escalations {
        out.family("webex_hitl_escalations", "gauge", "Escalations in the store, by status.");
        for status in STATUSES {
            let count = rows.iter().find(|(s, _)| s == status).map_or(0, |(_, n)| *n);
            out.sample("webex_hitl_escalations", &[("status", status)], count as f64);
        }
        for (status, count) in rows.iter().filter(|(s, _)| !STATUSES.contains(&s.as_str())) {
            out.sample("webex_hitl_escalations", &[("status", status)], *count as f64);
        }
    }
    if let Some(jobs) = gauges.outbox_jobs {
        out.family("webex_hitl_outbox_jobs", "gauge", "Webex calls owed (cards to post or update, replies).");
        out.sample("webex_hitl_outbox_jobs", &[], jobs as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_and_store_gauges() {
        let link = LinkState { connected: true, reconnects: 3, ..LinkState::default() };
        let gauges = StoreGauges { escalations: Some(vec![("answered".into(), 2)]), outbox_jobs: Some(1) };
        let mut out = Exposition::default();
        write_link(&mut out, &link);
        write_store(&mut out, &gauges);
        let text = out.finish();
        assert!(text.contains("webex_hitl_webex_connected 1\n"), "{text}");
        assert!(text.contains("webex_hitl_webex_reconnects_total 3\n"), "{text}");
        assert!(text.contains("webex_hitl_escalations{status=\"answered\"} 2\n"), "{text}");
        assert!(text.contains("webex_hitl_escalations{status=\"pending\"} 0\n"), "{text}");
        assert!(text.contains("webex_hitl_outbox_jobs 1\n"), "{text}");
        assert!(!text.contains("last_event"), "no event yet, no timestamp: {text}");
    }

    #[test]
    fn an_unreadable_store_leaves_its_gauges_out() {
        let mut out = Exposition::default();
        write_store(&mut out, &StoreGauges::default());
        assert_eq!(out.finish(), "");
    }
}
