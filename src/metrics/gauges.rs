//! The gauges of a scrape: state read from the link and the store when
//! `GET /metrics` is asked (the handler is `api::metrics`).

use super::Exposition;
use crate::model::Status;
use crate::store::CardOrigin;
use crate::webex::mercury::link::LinkState;

/// What the store says at scrape time; `None` when it could not be read.
#[derive(Debug, Default)]
pub struct StoreGauges {
    pub escalations: Option<Vec<(Status, i64)>>,
    pub outbox_jobs: Option<i64>,
    pub cards: Option<Vec<(CardOrigin, i64)>>,
    /// Seconds the oldest pending escalation has waited (0 when none waits).
    pub oldest_pending_age_s: Option<f64>,
}

pub fn write_link(out: &mut Exposition, link: &LinkState) {
    out.family("webex_hitl_webex_token_valid", "gauge", "1 while Webex accepts the bot token; 0 once it answered 401.");
    out.sample("webex_hitl_webex_token_valid", &[], if link.token_rejected.is_none() { 1.0 } else { 0.0 });
    out.family(
        "webex_hitl_webex_replaced_total",
        "counter",
        "Times another connection took over this bot's device (close 4000: another instance with this device name).",
    );
    out.sample("webex_hitl_webex_replaced_total", &[], link.replaced as f64);
    out.family("webex_hitl_webex_connected", "gauge", "1 while the Mercury websocket is connected and ready.");
    out.sample("webex_hitl_webex_connected", &[], if link.connected { 1.0 } else { 0.0 });
    out.family("webex_hitl_webex_reconnects_total", "counter", "Ready Mercury connections lost and re-established.");
    out.sample("webex_hitl_webex_reconnects_total", &[], link.reconnects as f64);
    if let Some(at) = link.last_event_at {
        out.family("webex_hitl_webex_last_event_timestamp_seconds", "gauge", "When the last Webex event arrived.");
        out.sample("webex_hitl_webex_last_event_timestamp_seconds", &[], at.timestamp_millis() as f64 / 1000.0);
    }
}

/// Whether the outbox is stopped because the store refuses writes.
pub fn write_outbox(out: &mut Exposition, stalled: bool) {
    out.family("webex_hitl_outbox_stalled", "gauge", "1 while the outbox is stopped because the store refuses writes.");
    out.sample("webex_hitl_outbox_stalled", &[], if stalled { 1.0 } else { 0.0 });
}

pub fn write_store(out: &mut Exposition, gauges: &StoreGauges) {
    if let Some(rows) = &gauges.escalations {
        out.family("webex_hitl_escalations", "gauge", "Escalations in the store, by status.");
        // Every status, so each series exists from the first scrape.
        for status in Status::ALL {
            let count = rows.iter().find(|(s, _)| *s == status).map_or(0, |(_, n)| *n);
            out.sample("webex_hitl_escalations", &[("status", status.as_str())], count as f64);
        }
    }
    if let Some(jobs) = gauges.outbox_jobs {
        out.family("webex_hitl_outbox_jobs", "gauge", "Webex calls owed (cards to post or update, replies).");
        out.sample("webex_hitl_outbox_jobs", &[], jobs as f64);
    }
    if let Some(rows) = &gauges.cards {
        out.family(
            "webex_hitl_cards",
            "gauge",
            "Escalation cards recorded; origin=found counts duplicates (a post whose answer was lost), learned of when pressed.",
        );
        for origin in [CardOrigin::Posted, CardOrigin::Found] {
            let count = rows.iter().find(|(o, _)| *o == origin).map_or(0, |(_, n)| *n);
            out.sample("webex_hitl_cards", &[("origin", origin.as_str())], count as f64);
        }
    }
    if let Some(age) = gauges.oldest_pending_age_s {
        out.family(
            "webex_hitl_escalation_oldest_pending_seconds",
            "gauge",
            "How long the oldest pending escalation has waited for a specialist; 0 when none waits.",
        );
        out.sample("webex_hitl_escalation_oldest_pending_seconds", &[], age);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_and_store_gauges() {
        let link = LinkState { connected: true, reconnects: 3, ..LinkState::default() };
        let gauges = StoreGauges {
            escalations: Some(vec![(Status::Answered, 2)]),
            outbox_jobs: Some(1),
            ..StoreGauges::default()
        };
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
