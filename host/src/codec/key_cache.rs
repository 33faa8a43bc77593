//! Validated public keys, decoded once: KeyValidate costs a subgroup check (tens of µs),
//! and settlement traffic repeats the same device keys over and over.
//!
//! Fresh keys are free to make, so a hostile client can send a stream of keys that are never
//! seen again. With first-in first-out (or LRU) eviction every such key pushes out a device key
//! that honest traffic repeats. The cache is therefore `moka` with its TinyLFU admission policy:
//! a new key enters only if a frequency sketch says it is asked for more often than the entry it
//! would evict, so one-shot keys are refused and hot keys stay. moka is maintained, widely used
//! (it is a port of Caffeine's design), concurrent without one global lock, and bounded by entry
//! count exactly as `--key-cache-capacity` promises, which is why it was chosen over writing an
//! admission filter here.

use moka::sync::Cache;
use prometheus::IntCounter;

use super::{decode_public_key, ItemError, PublicKey};
use crate::suite::Variant;

type Key = (Variant, Vec<u8>);

/// A bounded map from compressed key bytes to validated keys. Only keys that pass KeyValidate
/// are stored, so invalid keys never take a slot (nor count in the frequency sketch's favour).
pub struct KeyCache {
    keys: Cache<Key, PublicKey>,
}

impl KeyCache {
    /// A cache holding at most `capacity` keys (0 disables caching). `evictions` counts keys
    /// removed for room and new keys the admission policy refused.
    pub fn new(capacity: usize, evictions: IntCounter) -> Self {
        let keys = Cache::builder()
            .max_capacity(capacity as u64)
            .eviction_listener(move |_key, _value, cause| {
                if cause.was_evicted() {
                    evictions.inc();
                }
            })
            .build();
        Self { keys }
    }

    /// The validated key for these bytes, decoding and validating it on a miss.
    pub fn get(&self, variant: Variant, bytes: &[u8]) -> Result<PublicKey, ItemError> {
        self.lookup(variant, bytes).0
    }

    /// Like `get`, and also says whether the cache already held the key (for metrics).
    pub fn lookup(&self, variant: Variant, bytes: &[u8]) -> (Result<PublicKey, ItemError>, bool) {
        let key = (variant, bytes.to_vec());
        // `get` also records the access in the frequency sketch, hit or miss: that is what lets
        // a key asked for repeatedly win admission later.
        if let Some(pk) = self.keys.get(&key) {
            return (Ok(pk), true);
        }
        // Validate without holding anything: other requests keep hitting the cache meanwhile.
        let result = decode_public_key(variant, bytes);
        if let Ok(pk) = result {
            self.keys.insert(key, pk);
        }
        (result, false)
    }

    /// Whether these bytes are a cached (hence valid) key, without validating on a miss and
    /// without counting as an access: lets admission price a request before decoding it.
    pub fn contains(&self, variant: Variant, bytes: &[u8]) -> bool {
        self.keys.contains_key(&(variant, bytes.to_vec()))
    }

    /// Keys held now (settles moka's pending admissions and evictions first, so it is exact
    /// but not free: for /v1/info and tests, not for the request path).
    pub fn len(&self) -> usize {
        self.keys.run_pending_tasks();
        self.keys.entry_count() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u64) -> Vec<u8> {
        let mut ikm = [9u8; 32];
        ikm[..8].copy_from_slice(&seed.to_le_bytes());
        blst::min_pk::SecretKey::key_gen(&ikm, &[])
            .unwrap()
            .sk_to_pk()
            .compress()
            .to_vec()
    }

    #[test]
    fn bounded_and_never_holds_invalid_keys() {
        let evictions = IntCounter::new("evictions", "test").unwrap();
        let cache = KeyCache::new(3, evictions.clone());
        for seed in 0..10 {
            let bytes = key(seed);
            assert!(matches!(
                cache.lookup(Variant::MinPk, &bytes),
                (Ok(_), false)
            ));
        }
        assert!(cache.len() <= 3, "{} keys held", cache.len());
        assert!(evictions.get() >= 7, "{} evictions", evictions.get());
        let mut infinity = vec![0u8; 48];
        infinity[0] = 0xc0;
        assert_eq!(
            cache.get(Variant::MinPk, &infinity),
            Err(ItemError::InfinityPublicKey)
        );
        assert!(!cache.contains(Variant::MinPk, &infinity));
        assert!(cache.len() <= 3);
    }

    /// The attack of issue 12: a hot working set of device keys, then a flood of fresh keys
    /// (each asked for once, as an attacker would) while honest traffic keeps coming.
    #[test]
    fn hot_keys_survive_a_flood_of_one_shot_keys() {
        const CAPACITY: usize = 64;
        let evictions = IntCounter::new("evictions", "test").unwrap();
        let cache = KeyCache::new(CAPACITY, evictions.clone());
        let hot: Vec<Vec<u8>> = (0..CAPACITY as u64 / 2).map(key).collect();
        for _ in 0..4 {
            for bytes in &hot {
                assert!(cache.get(Variant::MinPk, bytes).is_ok());
            }
        }
        let flood = 16 * CAPACITY as u64;
        for seed in 1_000..1_000 + flood {
            assert!(cache.get(Variant::MinPk, &key(seed)).is_ok());
            // Honest traffic: one hot key every 8 one-shot keys.
            if seed % 8 == 0 {
                let bytes = &hot[(seed / 8) as usize % hot.len()];
                assert!(cache.get(Variant::MinPk, bytes).is_ok());
            }
        }
        assert!(cache.len() <= CAPACITY);
        let kept = hot
            .iter()
            .filter(|bytes| cache.contains(Variant::MinPk, bytes))
            .count();
        assert_eq!(kept, hot.len(), "hot keys flushed by one-shot keys");
        assert!(evictions.get() >= flood - CAPACITY as u64);
        let hits = hot
            .iter()
            .filter(|bytes| cache.lookup(Variant::MinPk, bytes).1)
            .count();
        assert_eq!(hits, hot.len());
    }

    #[test]
    fn variants_are_separate_and_contains_does_not_validate() {
        let cache = KeyCache::new(16, IntCounter::new("e", "test").unwrap());
        let bytes = key(1);
        assert!(!cache.contains(Variant::MinPk, &bytes));
        assert!(matches!(
            cache.lookup(Variant::MinPk, &bytes),
            (Ok(_), false)
        ));
        assert!(matches!(
            cache.lookup(Variant::MinPk, &bytes),
            (Ok(_), true)
        ));
        assert!(cache.contains(Variant::MinPk, &bytes));
        assert!(!cache.contains(Variant::MinSig, &bytes));
    }

    #[test]
    fn zero_capacity_validates_but_keeps_nothing() {
        let cache = KeyCache::new(0, IntCounter::new("e", "test").unwrap());
        let bytes = key(2);
        for _ in 0..3 {
            assert!(matches!(
                cache.lookup(Variant::MinPk, &bytes),
                (Ok(_), false)
            ));
        }
        assert_eq!(cache.len(), 0);
    }
}
