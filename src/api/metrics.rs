//! `GET /metrics` (Prometheus text, outside `/v1/`): the daemon's counters, plus
//! gauges read from the link and the store at scrape time, so they never drift.

use super::AppState;
use crate::metrics::{write_build_info, write_link, write_outbox, write_store, Exposition, StoreGauges, CONTENT_TYPE};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn get(State(state): State<AppState>) -> Response {
    let escalations = state.store.escalation_counts().await;
    let outbox = state.store.outbox_len().await;
    let cards = state.store.card_counts().await;
    if let Err(error) =
        escalations.as_ref().map(|_| ()).and(outbox.as_ref().map(|_| ())).and(cards.as_ref().map(|_| ()))
    {
        tracing::warn!(%error, "metrics: cannot read the store; its gauges are left out");
    }
    let gauges = StoreGauges { escalations: escalations.ok(), outbox_jobs: outbox.ok(), cards: cards.ok() };
    let link = state.link.borrow().clone();
    let mut out = Exposition::default();
    write_build_info(&mut out);
    write_link(&mut out, &link);
    write_outbox(&mut out, state.outbox.borrow().is_some());
    state.metrics.write_counters(&mut out);
    write_store(&mut out, &gauges);
    (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], out.finish()).into_response()
}
