//! A stored escalation for unit tests of the logic that reads one.

use crate::model::{Delivery, DeliveryState, Destination, Escalation, Status, ValidEscalation};
use chrono::{DateTime, Utc};

/// 2026-11-25 13:05 UTC, the moment every test escalation closed.
pub fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T13:05:00Z").expect("a valid time").with_timezone(&Utc)
}

pub fn request() -> ValidEscalation {
    ValidEscalation {
        key: None,
        to: Destination::PersonEmail("ana@example.com".into()),
        player: Default::default(),
        summary: "Help".into(),
        question: None,
        fields: vec![super::request::default_field()],
        timeout: std::time::Duration::from_secs(1800),
        context: serde_json::Value::Null,
        policy: Default::default(),
    }
}

/// A posted, pending escalation; override what the test is about.
pub fn escalation() -> Escalation {
    let at = at();
    Escalation {
        cursor: 1,
        id: "esc_1".into(),
        key: None,
        fingerprint: String::new(),
        status: Status::Pending,
        request: request(),
        created_at: at,
        expires_at: at,
        delivery: Delivery {
            state: DeliveryState::Posted,
            error: None,
            attempts: 1,
            space_id: None,
            room_uuid: None,
            message_id: None,
            message_uuid: None,
            recipient_id: None,
        },
        answer: None,
        closed_at: Some(at),
        close_reason: None,
        updated_at: at,
        reminders: Default::default(),
        fallback: Default::default(),
        claim: None,
        deadline_passed: false,
    }
}
