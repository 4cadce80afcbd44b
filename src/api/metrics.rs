//! `GET /metrics` (Prometheus text, outside `/v1/`): the daemon's counters, plus
//! gauges read from the link and the store at scrape time, so they never drift.

use super::AppState;
use crate::metrics::{write_build_info, write_link, write_outbox, write_store, Exposition, StoreGauges, CONTENT_TYPE};
use crate::store::StoreError;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Prometheus text format (at the root, not under `/v1/`).
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "daemon", responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain; version=0.0.4", body = String), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>) -> Response {
    let gauges = StoreGauges {
        escalations: readable(state.store.escalation_counts().await),
        outbox_jobs: readable(state.store.outbox_len().await),
        cards: readable(state.store.card_counts().await),
        oldest_pending_age_s: readable(state.store.oldest_pending_since().await)
            .map(|since| since.map_or(0.0, |at| (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0)),
    };
    let link = state.link.borrow().clone();
    let mut out = Exposition::default();
    write_build_info(&mut out);
    write_link(&mut out, &link);
    write_outbox(&mut out, state.outbox.borrow().is_some());
    state.metrics.write_counters(&mut out);
    write_store(&mut out, &gauges);
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], out.finish()).into_response()
}

/// A gauge the store cannot give now is left out of this scrape (Prometheus
/// shows the gap), not reported as zero.
fn readable<T>(read: Result<T, StoreError>) -> Option<T> {
    read.map_err(|error| tracing::warn!(%error, "metrics: cannot read the store; its gauges are left out")).ok()
}
