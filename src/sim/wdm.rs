//! Device registration (WDM): create, list, refresh and delete the bot's
//! devices; each one's `webSocketUrl` leads to its Mercury registration.

use super::errors::ApiError;
use super::events::DeviceInfo;
use super::handle::Shared;
use super::render;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::sync::Arc;

type Answer = Result<Response, ApiError>;

pub fn wdm_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/devices", get(list_devices).post(create_device))
        .route("/devices/{id}", get(get_device).put(refresh_device).delete(delete_device))
}

fn unknown_device() -> ApiError {
    ApiError::not_found("Device not found.")
}

fn device_json(s: &Shared, id: &str) -> Option<Value> {
    let w = s.read();
    let device = w.device(id)?;
    Some(render::device(&s.urls(), &w.bot, device))
}

async fn list_devices(State(s): State<Arc<Shared>>) -> Json<Value> {
    let w = s.read();
    let urls = s.urls();
    let devices: Vec<Value> = w.devices().iter().map(|d| render::device(&urls, &w.bot, d)).collect();
    Json(json!({ "devices": devices }))
}

fn parse_info(body: &Bytes) -> Result<Option<DeviceInfo>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(body).map(Some).map_err(|e| ApiError::bad_request(format!("Invalid device body: {e}")))
}

async fn create_device(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let info = parse_info(&body)?.unwrap_or_default();
    let id = s.update(|w| w.register_device(info).map(|d| d.id.clone()))?;
    let device = device_json(&s, &id).ok_or_else(unknown_device)?;
    Ok(Json(device).into_response())
}

async fn get_device(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let device = device_json(&s, &id).ok_or_else(unknown_device)?;
    Ok(Json(device).into_response())
}

/// `PUT {device.url}`: a refresh; the body (if any) does not change the device.
async fn refresh_device(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let found = s.update(|w| w.refresh_device(&id, None).is_some());
    if !found {
        return Err(unknown_device());
    }
    let device = device_json(&s, &id).ok_or_else(unknown_device)?;
    Ok(Json(device).into_response())
}

async fn delete_device(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    if s.update(|w| w.delete_device(&id)) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(unknown_device())
    }
}
