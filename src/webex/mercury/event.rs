//! The typed events the rest of the daemon sees.
//!
//! Mercury frames are decoded into [`Event`] at the edge (see `frame.rs`); nothing
//! deeper reads JSON. Ids here are raw uuids, as Mercury speaks them: turning one
//! into a REST id needs a cluster, which only Webex can tell (see `webex::ids`).

use chrono::{DateTime, Utc};

/// Who did something, or to whom it was done.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonRef {
    pub uuid: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
}

/// The conversation (Webex room) an activity happened in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoomRef {
    pub uuid: String,
    pub is_direct: bool,
    /// The conversation service URL of the room, from which REST objects of its
    /// activities can be fetched in the right cluster.
    pub conversation_url: Option<String>,
}

/// What every activity has in common.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityMeta {
    /// The activity's uuid: the key for de-duplication.
    pub activity_id: String,
    pub published: Option<DateTime<Utc>>,
    pub actor: Option<PersonRef>,
    pub room: Option<RoomRef>,
    /// The actor is the bot itself, by uuid (never by `actor.type`, email or
    /// name, which Webex does not promise).
    pub by_bot: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Someone pressed a submit button on a card. `meta.activity_id` is the
    /// attachment action's uuid.
    CardSubmitted {
        meta: ActivityMeta,
        card_message_uuid: Option<String>,
    },
    MemberAdded {
        meta: ActivityMeta,
        member: PersonRef,
        is_bot: bool,
    },
    MemberRemoved {
        meta: ActivityMeta,
        member: PersonRef,
        is_bot: bool,
    },
    RoomCreated {
        meta: ActivityMeta,
    },
    /// Title change, lock or unlock (`verb` says which).
    RoomUpdated {
        meta: ActivityMeta,
        verb: String,
    },
    /// A message was posted; its uuid is `meta.activity_id`.
    MessagePosted {
        meta: ActivityMeta,
    },
    MessageDeleted {
        meta: ActivityMeta,
        message_uuid: Option<String>,
    },
    /// A conversation activity with a verb this daemon does not act on.
    Unknown {
        meta: ActivityMeta,
        verb: String,
    },
}

impl Event {
    pub fn meta(&self) -> &ActivityMeta {
        match self {
            Event::CardSubmitted { meta, .. }
            | Event::MemberAdded { meta, .. }
            | Event::MemberRemoved { meta, .. }
            | Event::RoomCreated { meta }
            | Event::MessagePosted { meta }
            | Event::RoomUpdated { meta, .. }
            | Event::MessageDeleted { meta, .. }
            | Event::Unknown { meta, .. } => meta,
        }
    }

    pub fn activity_id(&self) -> &str {
        &self.meta().activity_id
    }

    /// Every value [`Event::kind`] can take, so metrics can show each at zero.
    pub const KINDS: [&'static str; 8] = [
        "card_submitted",
        "member_added",
        "member_removed",
        "room_created",
        "room_updated",
        "message_posted",
        "message_deleted",
        "unknown",
    ];

    /// A short stable name, for logs and metrics (one of [`Event::KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::CardSubmitted { .. } => "card_submitted",
            Event::MemberAdded { .. } => "member_added",
            Event::MemberRemoved { .. } => "member_removed",
            Event::RoomCreated { .. } => "room_created",
            Event::RoomUpdated { .. } => "room_updated",
            Event::MessagePosted { .. } => "message_posted",
            Event::MessageDeleted { .. } => "message_deleted",
            Event::Unknown { .. } => "unknown",
        }
    }
}
