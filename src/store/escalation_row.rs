//! Reading an escalation row into an [`Escalation`]: the status and delivery
//! state as enums, the request and answer as their types. A value this version
//! cannot read is a conversion error naming its column, never a panic.

use super::db::Row;
use super::error::StoreError;

use super::{corrupt, time};
use crate::model::{ClaimState, Delivery, DeliveryState, Escalation, FallbackState, ReminderState, Status};

fn json_column<T: serde::de::DeserializeOwned>(row: &Row<'_>, idx: usize) -> Result<Option<T>, StoreError> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(idx, e))).transpose()
}

fn status_column(row: &Row<'_>, idx: usize) -> Result<Status, StoreError> {
    let text: String = row.get(idx)?;
    text.parse().map_err(|e| corrupt(idx, e))
}

fn delivery_state_column(row: &Row<'_>, idx: usize) -> Result<DeliveryState, StoreError> {
    let text: String = row.get(idx)?;
    DeliveryState::parse(&text).ok_or_else(|| corrupt(idx, format!("unknown delivery state {text:?}")))
}

pub(super) fn from_row(row: &Row<'_>) -> Result<Escalation, StoreError> {
    Ok(Escalation {
        cursor: row.get(0)?,
        id: row.get(1)?,
        key: row.get(2)?,
        fingerprint: row.get(3)?,
        status: status_column(row, 4)?,
        request: json_column(row, 5)?.ok_or_else(|| corrupt(5, "no request"))?,
        created_at: time::column(row, 6)?,
        expires_at: time::column(row, 7)?,
        delivery: Delivery {
            state: delivery_state_column(row, 8)?,
            error: row.get(9)?,
            attempts: row.get(10)?,
            space_id: row.get(11)?,
            room_uuid: row.get(12)?,
            message_id: row.get(13)?,
            message_uuid: row.get(14)?,
            recipient_id: row.get(15)?,
        },
        answer: json_column(row, 16)?,
        closed_at: time::opt_column(row, 17)?,
        close_reason: row.get(18)?,
        updated_at: time::column(row, 19)?,
        reminders: ReminderState { sent: row.get(20)?, next_at: time::opt_column(row, 21)? },
        deadline_passed: row.get(22)?,
        fallback: FallbackState { step: row.get(23)?, next_at: time::opt_column(row, 24)?, error: row.get(25)? },
        claim: match json_column(row, 26)? {
            Some(by) => Some(ClaimState { by, at: time::column(row, 27)?, expires_at: time::opt_column(row, 28)? }),
            None => None,
        },
    })
}
