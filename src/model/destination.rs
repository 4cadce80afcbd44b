//! Where a card or a message goes: the one destination type of the daemon, for
//! the engine's requests (`to`), the stored escalation and the Webex call.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// JSON form: exactly one of `{"space_id": ..}`, `{"person_email": ..}`,
/// `{"person_id": ..}` (the last two are direct messages). Webex's own
/// `roomId` / `toPersonEmail` / `toPersonId` map onto it one to one.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    SpaceId(String),
    PersonEmail(String),
    PersonId(String),
}

/// The keys a destination may have, for messages.
pub(crate) const DESTINATION_KEYS: &str = "space_id, person_email, person_id";

impl Destination {
    /// The id or email it names, whatever the kind.
    pub fn value(&self) -> &str {
        match self {
            Destination::SpaceId(v) | Destination::PersonEmail(v) | Destination::PersonId(v) => v,
        }
    }

    /// A direct message to one person (rather than a post in a space).
    pub fn is_direct(&self) -> bool {
        !matches!(self, Destination::SpaceId(_))
    }
}

/// Hand-written so that zero, two or unknown keys get a message about `to`
/// itself ("give exactly one of …"), raised once the object is read whole.
impl<'de> Deserialize<'de> for Destination {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let keys = BTreeMap::<String, String>::deserialize(deserializer)?;
        let mut found = None;
        for (key, value) in keys {
            let destination = match key.as_str() {
                "space_id" => Destination::SpaceId(value),
                "person_email" => Destination::PersonEmail(value),
                "person_id" => Destination::PersonId(value),
                other => {
                    return Err(D::Error::custom(format!(
                        "unknown destination {other:?}: give exactly one of {DESTINATION_KEYS}"
                    )))
                }
            };
            if found.replace(destination).is_some() {
                return Err(D::Error::custom(format!("several destinations: give exactly one of {DESTINATION_KEYS}")));
            }
        }
        found.ok_or_else(|| D::Error::custom(format!("missing destination: give exactly one of {DESTINATION_KEYS}")))
    }
}

/// The one email rule: a destination, a player, a mention are held to it.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\@".contains(c);
    !local.is_empty()
        && local.len() <= 64
        && !local.chars().any(bad)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !domain.chars().any(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_in_the_api_form() {
        for to in [
            Destination::SpaceId("R".into()),
            Destination::PersonEmail("a@b.co".into()),
            Destination::PersonId("P".into()),
        ] {
            let text = serde_json::to_value(&to).unwrap();
            assert_eq!(serde_json::from_value::<Destination>(text).unwrap(), to);
        }
        assert_eq!(serde_json::to_value(Destination::SpaceId("R".into())).unwrap(), json!({"space_id": "R"}));
    }

    #[test]
    fn exactly_one_key() {
        let none = serde_json::from_value::<Destination>(json!({})).unwrap_err().to_string();
        assert!(none.contains("missing destination"), "{none}");
        let two = serde_json::from_value::<Destination>(json!({"space_id": "R", "person_id": "P"}));
        assert!(two.unwrap_err().to_string().contains("several destinations"));
        let unknown = serde_json::from_value::<Destination>(json!({"room": "R"})).unwrap_err().to_string();
        assert!(unknown.contains("unknown destination \"room\""), "{unknown}");
    }
}
