//! Webex REST ids and the raw uuids that Mercury speaks.
//!
//! A REST id is unpadded URL-safe base64 of `ciscospark://<cluster>/<KIND>/<uuid>`.
//! Mercury frames carry only the uuid, so everything that joins the two worlds
//! compares uuids. The cluster is never guessed: an id with the wrong cluster
//! gets a 404 from Webex, so a cluster comes from an id Webex handed out.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use std::fmt;
use std::str::FromStr;

/// The cluster of the original US deployment; people and organizations always use it.
pub const US_CLUSTER: &str = "us";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Message,
    Room,
    People,
    Membership,
    AttachmentAction,
    Organization,
    Team,
    Content,
}

impl IdKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Message => "MESSAGE",
            IdKind::Room => "ROOM",
            IdKind::People => "PEOPLE",
            IdKind::Membership => "MEMBERSHIP",
            IdKind::AttachmentAction => "ATTACHMENT_ACTION",
            IdKind::Organization => "ORGANIZATION",
            IdKind::Team => "TEAM",
            IdKind::Content => "CONTENT",
        }
    }
}

impl FromStr for IdKind {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "MESSAGE" => IdKind::Message,
            "ROOM" => IdKind::Room,
            "PEOPLE" => IdKind::People,
            "MEMBERSHIP" => IdKind::Membership,
            "ATTACHMENT_ACTION" => IdKind::AttachmentAction,
            "ORGANIZATION" => IdKind::Organization,
            "TEAM" => IdKind::Team,
            "CONTENT" => IdKind::Content,
            other => return Err(IdError::UnknownKind(other.to_owned())),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("not base64")]
    NotBase64,
    #[error("not of the form ciscospark://<cluster>/<KIND>/<uuid>")]
    BadShape,
    #[error("unknown id kind {0:?}")]
    UnknownKind(String),
}

/// A decoded REST id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RestId {
    pub cluster: String,
    pub kind: IdKind,
    pub uuid: String,
}

impl RestId {
    pub fn new(kind: IdKind, cluster: impl Into<String>, uuid: impl Into<String>) -> Self {
        Self { cluster: cluster.into(), kind, uuid: uuid.into() }
    }

    /// Decodes padded or unpadded, URL-safe or standard base64, as ids are seen in the wild.
    pub fn decode(id: &str) -> Result<Self, IdError> {
        let id = id.trim();
        let bytes = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD_NO_PAD, STANDARD]
            .iter()
            .find_map(|engine| engine.decode(id).ok())
            .ok_or(IdError::NotBase64)?;
        let text = String::from_utf8(bytes).map_err(|_| IdError::BadShape)?;
        let rest = text.strip_prefix("ciscospark://").ok_or(IdError::BadShape)?;
        // The cluster may itself hold ':' (urn:TEAM:eu-central-1_k) but never '/'.
        let mut parts = rest.splitn(3, '/');
        let (Some(cluster), Some(kind), Some(uuid)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(IdError::BadShape);
        };
        if cluster.is_empty() || uuid.is_empty() || uuid.contains('/') {
            return Err(IdError::BadShape);
        }
        Ok(Self::new(kind.parse()?, cluster, uuid))
    }

    /// The canonical REST form: unpadded URL-safe base64.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("ciscospark://{}/{}/{}", self.cluster, self.kind.as_str(), self.uuid))
    }
}

impl fmt::Display for RestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

/// The uuid inside a REST id, if it is one.
pub fn uuid_of(rest_id: &str) -> Option<String> {
    RestId::decode(rest_id).ok().map(|id| id.uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    // From ../shared/webex/frames/rest-rooms-list.json.
    const VIP_ROOM: &str = "Y2lzY29zcGFyazovL3VzL1JPT00vNWUwZjdhMzAtMWIyYy0xMWVmLThkOWUtMDEyMzQ1Njc4OWFi";

    #[test]
    fn decodes_a_real_room_id() {
        let id = RestId::decode(VIP_ROOM).unwrap();
        assert_eq!(id.kind, IdKind::Room);
        assert_eq!(id.cluster, "us");
        assert_eq!(id.uuid, "5e0f7a30-1b2c-11ef-8d9e-0123456789ab");
        assert_eq!(id.encode(), VIP_ROOM);
    }

    #[test]
    fn decodes_padded_and_standard_alphabet() {
        let id = RestId::new(IdKind::Room, "urn:TEAM:eu-central-1_k", "a?b>c-uuid");
        let padded = STANDARD.encode(format!("ciscospark://{}/ROOM/{}", id.cluster, id.uuid));
        assert_eq!(RestId::decode(&padded).unwrap(), id);
        assert_eq!(RestId::decode(&id.encode()).unwrap(), id);
    }

    #[test]
    fn membership_uuid_keeps_its_colon() {
        let id = RestId::new(IdKind::Membership, "us", "person-uuid:room-uuid");
        assert_eq!(RestId::decode(&id.encode()).unwrap().uuid, "person-uuid:room-uuid");
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(RestId::decode("!!!"), Err(IdError::NotBase64));
        assert_eq!(RestId::decode(&URL_SAFE_NO_PAD.encode("hello")), Err(IdError::BadShape));
        let bad_kind = URL_SAFE_NO_PAD.encode("ciscospark://us/WIDGET/x");
        assert_eq!(RestId::decode(&bad_kind), Err(IdError::UnknownKind("WIDGET".into())));
    }
}
