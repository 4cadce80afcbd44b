//! Signatures that tie a card submission to the escalation that posted the card.
//!
//! Anyone in a space can craft an attachment action (or press a stale card), and the
//! `data` of an `Action.Submit` comes back verbatim in the submission's inputs. The
//! card therefore carries `HMAC-SHA256(key, escalation id)` next to the id, so a
//! submission naming an escalation this daemon never signed is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// 128 bits of the MAC: plenty against forgery, short on the card.
const TAG_BYTES: usize = 16;
/// Domain separation, so the key could sign other things later without confusion.
const CONTEXT: &[u8] = b"webex-hitl/escalation/v1\0";

#[derive(Clone)]
pub struct Signer {
    key: [u8; 32],
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer { key: <redacted> }")
    }
}

impl Signer {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A fresh random key (from the OS-seeded thread RNG).
    pub fn generate() -> Self {
        Self::new(rand::random())
    }

    pub fn key_bytes(&self) -> [u8; 32] {
        self.key
    }

    fn mac(&self, escalation_id: &str) -> HmacSha256 {
        // HMAC takes keys of any length; a 32-byte key cannot be refused.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts every key length"),
        };
        mac.update(CONTEXT);
        mac.update(escalation_id.as_bytes());
        mac
    }

    /// Unpadded base64url of the first 128 bits of the MAC (22 characters).
    pub fn sign(&self, escalation_id: &str) -> String {
        let tag = self.mac(escalation_id).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..TAG_BYTES])
    }

    /// Constant-time check of a signature made by [`Signer::sign`].
    pub fn verify(&self, escalation_id: &str, signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature.trim()) {
            Ok(tag) if tag.len() == TAG_BYTES => self.mac(escalation_id).verify_truncated_left(&tag).is_ok(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new([7u8; 32])
    }

    #[test]
    fn a_signature_verifies_for_its_id() {
        let s = signer();
        let sig = s.sign("esc_01");
        assert_eq!(sig.len(), 22);
        assert!(s.verify("esc_01", &sig));
        assert_eq!(sig, s.sign("esc_01"), "signing is deterministic");
    }

    #[test]
    fn tampered_ids_and_signatures_are_refused() {
        let s = signer();
        let sig = s.sign("esc_01");
        assert!(!s.verify("esc_02", &sig));
        assert!(!s.verify("esc_01", ""));
        assert!(!s.verify("esc_01", "not base64!"));
        assert!(!s.verify("esc_01", &sig[..21]));
        let mut flipped = sig.clone().into_bytes();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(!s.verify("esc_01", &flipped));
        // A full untruncated MAC is not what we sign either.
        let full = URL_SAFE_NO_PAD.encode(s.mac("esc_01").finalize().into_bytes());
        assert!(!s.verify("esc_01", &full));
    }

    #[test]
    fn another_key_refuses() {
        let sig = signer().sign("esc_01");
        assert!(!Signer::new([8u8; 32]).verify("esc_01", &sig));
        let generated = Signer::generate();
        assert!(!generated.verify("esc_01", &sig));
        assert!(generated.verify("esc_01", &generated.sign("esc_01")));
        let again = Signer::new(generated.key_bytes());
        assert!(again.verify("esc_01", &generated.sign("esc_01")));
        assert_ne!(Signer::generate().key_bytes(), generated.key_bytes());
    }

    #[test]
    fn debug_hides_the_key() {
        let shown = format!("{:?}", Signer::new([0xab; 32]));
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, "));
    }
}
