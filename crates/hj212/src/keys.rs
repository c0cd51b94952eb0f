//! HJ 212-2025 key management as data: per device (MN) a ring of SM4 keys with history, the 90-day rotation
//! rule and the 1014 exchange (the host issues a key, the device confirms with 9012 `ExeRtn=1`). Storage and
//! randomness belong to the caller: the gateway persists the rings and generates keys.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use crate::sm4::Sm4Key;

/// Keys shall be changed at least every 90 days (HJ 212-2025 §6.4.3).
pub const KEY_LIFETIME_DAYS: i64 = 90;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error(
        "a key must be 16 printable ASCII characters other than `;`, `,`, `=`, `&` (it travels as NewSK text)"
    )]
    NotPrintable,
    #[error("fixed or patterned keys are forbidden (all one character, or a running sequence)")]
    Patterned,
    #[error("this key was already used by the device")]
    Reused,
    #[error("no key rotation is pending")]
    NothingPending,
}

/// One key with its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceKey {
    pub key: Sm4Key,
    /// `SKCreateTime`.
    pub created: DateTime<Utc>,
    /// When a newer key replaced it.
    pub retired: Option<DateTime<Utc>>,
}

/// Checks a key before it is issued: transportable as NewSK text and not trivially guessable.
pub fn validate_key(key: &Sm4Key) -> Result<(), KeyError> {
    if !key
        .iter()
        .all(|byte| byte.is_ascii_graphic() && !matches!(byte, b';' | b',' | b'=' | b'&'))
    {
        return Err(KeyError::NotPrintable);
    }
    let all_same = key.iter().all(|&byte| byte == key[0]);
    let steps: Vec<i16> = key
        .windows(2)
        .map(|pair| i16::from(pair[1]) - i16::from(pair[0]))
        .collect();
    let running = steps
        .iter()
        .all(|&step| step == steps[0] && step.abs() == 1);
    if all_same || running {
        return Err(KeyError::Patterned);
    }
    Ok(())
}

/// The keys of one device: the current one, a key issued but not yet confirmed, and the retired ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRing {
    current: Option<DeviceKey>,
    pending: Option<DeviceKey>,
    history: Vec<DeviceKey>,
}

impl KeyRing {
    /// A ring starting from the key registered for the device (the initial key is registered out of band).
    pub fn with_initial(key: Sm4Key, created: DateTime<Utc>) -> KeyRing {
        KeyRing {
            current: Some(DeviceKey {
                key,
                created,
                retired: None,
            }),
            pending: None,
            history: Vec::new(),
        }
    }

    pub fn current(&self) -> Option<&DeviceKey> {
        self.current.as_ref()
    }

    pub fn pending(&self) -> Option<&DeviceKey> {
        self.pending.as_ref()
    }

    pub fn history(&self) -> &[DeviceKey] {
        &self.history
    }

    /// Keys to try on a received packet, most likely first: current, the pending one (the device may already
    /// use it while its 9012 is in flight), then retired keys newest first (packets queued before a rotation
    /// and backfilled later).
    pub fn candidates(&self) -> impl Iterator<Item = &Sm4Key> {
        self.current
            .iter()
            .chain(self.pending.iter())
            .chain(self.history.iter().rev())
            .map(|entry| &entry.key)
    }

    /// Whether a new key should be issued now: none yet, or the current one within `margin` of 90 days.
    pub fn rotation_due(&self, now: DateTime<Utc>, margin: Duration) -> bool {
        match &self.current {
            None => true,
            Some(current) => now + margin >= current.created + Duration::days(KEY_LIFETIME_DAYS),
        }
    }

    /// Records a key sent with 1014 `NewSK`; it becomes current once the device confirms.
    pub fn issue(&mut self, key: Sm4Key, created: DateTime<Utc>) -> Result<(), KeyError> {
        validate_key(&key)?;
        if self.candidates().any(|known| *known == key) {
            return Err(KeyError::Reused);
        }
        self.pending = Some(DeviceKey {
            key,
            created,
            retired: None,
        });
        Ok(())
    }

    /// The device answered the 1014 with 9012 `ExeRtn=1`: the pending key becomes current.
    pub fn confirm(&mut self, at: DateTime<Utc>) -> Result<(), KeyError> {
        let pending = self.pending.take().ok_or(KeyError::NothingPending)?;
        if let Some(mut previous) = self.current.replace(pending) {
            previous.retired = Some(at);
            self.history.push(previous);
        }
        Ok(())
    }

    /// The device refused or never answered: keep the current key.
    pub fn abandon(&mut self) -> Result<(), KeyError> {
        self.pending
            .take()
            .map(|_| ())
            .ok_or(KeyError::NothingPending)
    }

    /// Drops retired keys older than `keep_until`; returns how many were dropped.
    pub fn forget_retired_before(&mut self, keep_until: DateTime<Utc>) -> usize {
        let before = self.history.len();
        self.history
            .retain(|entry| entry.retired.is_none_or(|retired| retired >= keep_until));
        before - self.history.len()
    }
}

/// Key rings by MN.
#[derive(Debug, Clone, Default)]
pub struct KeyRegistry {
    rings: HashMap<String, KeyRing>,
}

impl KeyRegistry {
    pub fn new() -> KeyRegistry {
        KeyRegistry::default()
    }

    pub fn ring(&self, mn: &str) -> Option<&KeyRing> {
        self.rings.get(mn)
    }

    pub fn ring_mut(&mut self, mn: &str) -> &mut KeyRing {
        self.rings.entry(mn.to_owned()).or_default()
    }

    pub fn register_initial(
        &mut self,
        mn: &str,
        key: Sm4Key,
        created: DateTime<Utc>,
    ) -> Result<(), KeyError> {
        validate_key(&key)?;
        self.rings
            .insert(mn.to_owned(), KeyRing::with_initial(key, created));
        Ok(())
    }

    /// Devices whose key must be rotated now (sorted by MN for stable scheduling).
    pub fn due_for_rotation(&self, now: DateTime<Utc>, margin: Duration) -> Vec<&str> {
        let mut due: Vec<&str> = self
            .rings
            .iter()
            .filter(|(_, ring)| ring.pending.is_none() && ring.rotation_due(now, margin))
            .map(|(mn, _)| mn.as_str())
            .collect();
        due.sort_unstable();
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_cst;

    const FIRST: Sm4Key = *b"k3Y!x9Qa7Lm2Pz0W";
    const SECOND: Sm4Key = *b"Rt5#uV8nB1cE6gH4";

    #[test]
    fn patterned_and_unsafe_keys_are_refused() {
        assert_eq!(validate_key(b"0000000000000000"), Err(KeyError::Patterned));
        assert_eq!(validate_key(b"0123456789:<>?@A"), Ok(()));
        assert_eq!(validate_key(b"abcdefghijklmnop"), Err(KeyError::Patterned));
        assert_eq!(validate_key(b"ponmlkjihgfedcba"), Err(KeyError::Patterned));
        assert_eq!(
            validate_key(b"k3Y!x9Qa7Lm2Pz0;"),
            Err(KeyError::NotPrintable)
        );
        assert_eq!(validate_key(&FIRST), Ok(()));
    }

    #[test]
    fn rotation_lifecycle() {
        let start = parse_cst("20260101000000").unwrap();
        let mut registry = KeyRegistry::new();
        registry.register_initial("MN1", FIRST, start).unwrap();
        let margin = Duration::days(7);
        assert!(
            registry
                .due_for_rotation(start + Duration::days(82), margin)
                .is_empty()
        );
        assert_eq!(
            registry.due_for_rotation(start + Duration::days(83), margin),
            vec!["MN1"]
        );

        let ring = registry.ring_mut("MN1");
        assert_eq!(ring.issue(FIRST, start), Err(KeyError::Reused));
        ring.issue(SECOND, start + Duration::days(83)).unwrap();
        assert_eq!(ring.candidates().collect::<Vec<_>>(), vec![&FIRST, &SECOND]);
        assert!(
            registry
                .due_for_rotation(start + Duration::days(83), margin)
                .is_empty(),
            "pending rotation"
        );

        let ring = registry.ring_mut("MN1");
        ring.confirm(start + Duration::days(84)).unwrap();
        assert_eq!(ring.current().unwrap().key, SECOND);
        assert_eq!(ring.candidates().collect::<Vec<_>>(), vec![&SECOND, &FIRST]);
        assert_eq!(ring.history()[0].retired, Some(start + Duration::days(84)));
        assert_eq!(ring.confirm(start), Err(KeyError::NothingPending));
        assert!(!ring.rotation_due(start + Duration::days(100), margin));

        assert_eq!(ring.forget_retired_before(start + Duration::days(200)), 1);
        assert_eq!(ring.candidates().count(), 1);
    }

    #[test]
    fn abandoned_rotation_keeps_the_current_key() {
        let start = parse_cst("20260101000000").unwrap();
        let mut ring = KeyRing::with_initial(FIRST, start);
        ring.issue(SECOND, start).unwrap();
        ring.abandon().unwrap();
        assert_eq!(ring.current().unwrap().key, FIRST);
        assert!(ring.pending().is_none());
        assert_eq!(ring.abandon(), Err(KeyError::NothingPending));
    }
}
