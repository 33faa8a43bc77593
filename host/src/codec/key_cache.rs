//! Validated public keys, decoded once: KeyValidate costs a subgroup check (tens of µs),
//! and settlement traffic repeats the same device keys over and over.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use super::{decode_public_key, ItemError, PublicKey};
use crate::suite::Variant;

/// A bounded map from compressed key bytes to validated keys. Only keys that pass KeyValidate
/// are stored, so invalid keys cannot evict good ones. Eviction is first-in first-out: cheap,
/// and an evicted hot key is simply validated again.
pub struct KeyCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    keys: HashMap<(Variant, Vec<u8>), PublicKey>,
    order: VecDeque<(Variant, Vec<u8>)>,
}

impl KeyCache {
    /// A cache holding at most `capacity` keys (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// The validated key for these bytes, decoding and validating it on a miss.
    pub fn get(&self, variant: Variant, bytes: &[u8]) -> Result<PublicKey, ItemError> {
        self.lookup(variant, bytes).0
    }

    /// Like `get`, and also says whether the cache already held the key (for metrics).
    pub fn lookup(&self, variant: Variant, bytes: &[u8]) -> (Result<PublicKey, ItemError>, bool) {
        let key = (variant, bytes.to_vec());
        if let Some(pk) = self.lock().keys.get(&key).copied() {
            return (Ok(pk), true);
        }
        (self.insert(key), false)
    }

    fn insert(&self, key: (Variant, Vec<u8>)) -> Result<PublicKey, ItemError> {
        let (variant, bytes) = (key.0, key.1.as_slice());
        // Validate outside the lock: other requests keep hitting the cache meanwhile.
        let pk = decode_public_key(variant, bytes)?;
        if self.capacity > 0 {
            let mut inner = self.lock();
            if !inner.keys.contains_key(&key) {
                while inner.keys.len() >= self.capacity {
                    match inner.order.pop_front() {
                        Some(old) => inner.keys.remove(&old),
                        None => break,
                    };
                }
                inner.order.push_back(key.clone());
                inner.keys.insert(key, pk);
            }
        }
        Ok(pk)
    }

    /// Keys held now.
    pub fn len(&self) -> usize {
        self.lock().keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map stays consistent even if a holder panicked: every mutation is a single
        // insert/remove, so a poisoned lock is safe to keep using.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_capacity_valid_keys_and_never_invalid_ones() {
        let keys: Vec<Vec<u8>> = (1..=5u8)
            .map(|i| {
                blst::min_pk::SecretKey::key_gen(&[i; 32], &[])
                    .unwrap()
                    .sk_to_pk()
                    .compress()
                    .to_vec()
            })
            .collect();
        let cache = KeyCache::new(3);
        for key in &keys {
            assert!(matches!(cache.lookup(Variant::MinPk, key), (Ok(_), false)));
        }
        assert_eq!(cache.len(), 3);
        // First in, first out: the last three stay.
        assert!(matches!(
            cache.lookup(Variant::MinPk, &keys[4]),
            (Ok(_), true)
        ));
        assert!(matches!(
            cache.lookup(Variant::MinPk, &keys[0]),
            (Ok(_), false)
        ));
        let mut infinity = vec![0u8; 48];
        infinity[0] = 0xc0;
        assert_eq!(
            cache.get(Variant::MinPk, &infinity),
            Err(ItemError::InfinityPublicKey)
        );
        assert_eq!(cache.len(), 3);
    }
}
