//! An outage is recorded once: the replies, the events and the moved mark are
//! one transaction, and a second report of the same outage finds the mark moved.

use super::{event_types, store_test};
use crate::model::{Destination, ValidEscalation};
use crate::store::{Delivered, EventPayload, EventRecord, LinkAlive, NewEscalation, Outage, Reply, Task};
use chrono::{Duration, Utc};

/// How often the marks are beaten, as the outage watch does at most.
const BEAT: std::time::Duration = std::time::Duration::from_secs(60);

/// One pending escalation whose card is out.
async fn posted(store: &crate::store::Store) {
    let new = NewEscalation {
        id: "esc_1".into(),
        request: ValidEscalation {
            key: None,
            to: Destination::SpaceId("ROOM".into()),
            player: Default::default(),
            summary: "Help".into(),
            question: None,
            fields: Vec::new(),
            timeout: std::time::Duration::from_secs(1800),
            context: serde_json::Value::Null,
            policy: Default::default(),
        },
        expires_at: Utc::now() + Duration::hours(1),
        space_id: None,
        room_uuid: None,
        recipient_id: None,
    };
    store.insert_escalation(new).await.unwrap();
    let post = store.due_jobs(Utc::now(), 10).await.unwrap().remove(0);
    let delivered = Delivered {
        space_id: "ROOM".into(),
        room_uuid: "room-uuid".into(),
        message_id: "CARD".into(),
        message_uuid: "card-uuid".into(),
        recipient_id: None,
        first_reminder_at: None,
        first_fallback_at: None,
    };
    store.record_delivery(post.id, "esc_1", delivered).await.unwrap();
}

store_test! {
    #[tokio::test]
    async fn an_outage_queues_a_reply_per_live_card_and_an_event_once(store) {
        posted(&store).await;
        let start = Utc::now() - Duration::hours(1);
        store.mark_link_alive(LinkAlive { at: start, device_url: None, up_since: None }).await.unwrap();

        let outage = Outage { start, end: Utc::now() };
        let now = LinkAlive { at: outage.end, device_url: None, up_since: None };
        let concerned = store.record_outage(outage, now.clone(), "press again".into(), BEAT).await.unwrap();
        assert_eq!(concerned.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["esc_1"]);
        let replies: Vec<Task> =
            store.due_jobs(Utc::now(), 10).await.unwrap().into_iter().filter_map(|j| j.task.ok()).collect();
        let expected =
            Reply { room_id: "ROOM".into(), parent_id: Some("CARD".into()), text: "press again".into(), markdown: None };
        assert_eq!(replies, [Task::Reply(expected)]);
        assert_eq!(store.link_alive().await.unwrap(), Some(now.clone()), "the mark moved with them");

        let again = store.record_outage(outage, now, "press again".into(), BEAT).await.unwrap();
        assert!(again.is_empty(), "the same outage is not recorded twice");
        assert_eq!(store.outbox_len().await.unwrap(), 1, "no second reply was queued");
        let lost = event_types(&store).await.into_iter().filter(|t| *t == "escalation.maybe_lost").count();
        assert_eq!(lost, 1);
        let event = store.events_after(0, 100).await.unwrap().pop().unwrap();
        match &event.payload {
            EventPayload::MaybeLost(lost) => assert_eq!((lost.escalation.id.as_str(), lost.outage), ("esc_1", outage)),
            other => panic!("{other:?}"),
        }
        let line: EventRecord = serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
        assert_eq!(line, event, "the event line reads back");
    }
}

store_test! {
    #[tokio::test]
    async fn an_outage_another_instance_was_up_through_is_not_an_outage(store) {
        posted(&store).await;
        let start = Utc::now() - Duration::hours(1);
        store.mark_link_alive(LinkAlive { at: start, device_url: None, up_since: None }).await.unwrap();
        // A peer sharing the store, up since before the outage and beaten a moment ago.
        let peer = LinkAlive { at: Utc::now(), device_url: None, up_since: Some(start - Duration::hours(1)) };
        let mark = serde_json::to_vec(&peer).unwrap();
        store
            .write(move |tx| tx.execute(crate::store::sql::UPSERT_META, crate::store::db::args!["link_alive/peer", mark]))
            .await
            .unwrap();
        let outage = Outage { start, end: Utc::now() };
        let now = LinkAlive { at: outage.end, device_url: None, up_since: Some(outage.end) };
        let concerned = store.record_outage(outage, now.clone(), "press again".into(), BEAT).await.unwrap();
        assert!(concerned.is_empty(), "the peer's device got the events meanwhile");
        assert_eq!(store.outbox_len().await.unwrap(), 0, "no reply asks to press again");
        assert_eq!(store.link_alive().await.unwrap(), Some(now), "the mark moved on");
    }
}
