//! Resolved keys in memory, bounded in bytes. moka's TinyLFU admission keeps keys that are
//! looked up often: a flood of one-shot lookups (fresh ids, or an attacker walking the id
//! space) is refused admission instead of evicting the hot devices.

use std::sync::Arc;

use moka::sync::Cache;

use crate::codec::PublicKey;

/// A registered key as verification needs it: the validated point and its compressed bytes
/// (AUG prepends them to the message). Revoked keys are cached too, since revocation is final.
#[derive(Clone, Debug)]
pub struct ResolvedKey {
    pub public_key: PublicKey,
    pub compressed: Arc<[u8]>,
    pub revoked: bool,
}

/// Bytes an entry costs beyond its id and encodings: the point, moka's bookkeeping, the Arcs.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<ResolvedKey>() + 160;

pub struct KeyCache {
    entries: Cache<Arc<str>, ResolvedKey>,
}

impl KeyCache {
    /// A cache of at most `max_bytes` (0 disables caching).
    pub fn new(max_bytes: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|id: &Arc<str>, key: &ResolvedKey| {
                (id.len() + key.compressed.len() + ENTRY_OVERHEAD).min(u32::MAX as usize) as u32
            })
            .build();
        Self { entries }
    }

    pub fn get(&self, key_id: &str) -> Option<ResolvedKey> {
        self.entries.get(key_id)
    }

    pub fn insert(&self, key_id: &str, key: ResolvedKey) {
        self.entries.insert(Arc::from(key_id), key);
    }

    /// Drops one key (revoked elsewhere).
    pub fn invalidate(&self, key_id: &str) {
        self.entries.invalidate(key_id);
    }

    /// Drops everything (a replica lost revocation notices).
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}
