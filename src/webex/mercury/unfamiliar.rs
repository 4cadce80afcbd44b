//! Frames and activities the daemon does not act on are acked and skipped; an
//! operator hears of each *type* once per process, not once per frame, since
//! Webex sends some of them (typing, KMS, highlights) by the thousand and a new
//! type Webex starts sending is worth one line, not a flood.

use std::collections::HashSet;
use std::sync::Mutex;

/// Past this many distinct types, new ones are no longer remembered (nor
/// logged): a server inventing types cannot grow the set without bound.
const MAX_TYPES: usize = 256;

/// The types already logged.
#[derive(Default)]
pub struct Unfamiliar {
    seen: Mutex<HashSet<String>>,
}

impl Unfamiliar {
    /// True the first time `kind` is seen (then the caller logs it).
    pub fn first_time(&self, kind: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.contains(kind) || seen.len() >= MAX_TYPES {
            return false;
        }
        seen.insert(kind.to_owned())
    }

    /// Logs `kind` at info level the first time it is seen.
    pub fn note(&self, what: &'static str, kind: &str) {
        if self.first_time(kind) {
            tracing::info!(
                what,
                kind,
                "ignoring a Webex event type this daemon does not use (acked; said once per type)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_is_reported_once() {
        let unfamiliar = Unfamiliar::default();
        assert!(unfamiliar.first_time("status.start_typing"));
        assert!(!unfamiliar.first_time("status.start_typing"), "the second frame of a type is silent");
        assert!(unfamiliar.first_time("encryption.kms_message"), "another type is reported");
        assert!(!unfamiliar.first_time("encryption.kms_message"));
    }

    #[test]
    fn the_set_of_types_is_bounded() {
        let unfamiliar = Unfamiliar::default();
        let new = (0..MAX_TYPES + 10).filter(|n| unfamiliar.first_time(&format!("type.{n}"))).count();
        assert_eq!(new, MAX_TYPES);
        assert_eq!(unfamiliar.seen.lock().unwrap().len(), MAX_TYPES);
    }
}
