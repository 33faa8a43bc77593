//! Bench-only seeding (bench/src/bin/registry.rs): fills the store with many valid, distinct
//! min_pk keys through the store's own write path, without proofs of possession. Making 10M
//! proofs would take about an hour on two cores (~0.3 ms each) and would measure the import,
//! which has its own figure; the lookup and memory figures only need the rows. Not reachable
//! from the HTTP API or the CLI.

use std::ops::Range;

use blst::min_pk;

use super::store::{now_ms, StoredKey};
use super::{Registry, RegistryError};
use crate::suite::Variant;

/// Keys written per transaction.
const CHUNK: u64 = 10_000;

/// Key `i` is (i + 1)·g1: distinct for every u64 `i` (far below the group order), never the
/// point at infinity, in the subgroup, and one point addition from its predecessor.
fn point(i: u64) -> Result<min_pk::PublicKey, RegistryError> {
    let mut scalar = [0u8; 32];
    scalar[24..].copy_from_slice(&(i + 1).to_be_bytes());
    min_pk::SecretKey::from_bytes(&scalar)
        .map(|sk| sk.sk_to_pk())
        .map_err(|e| RegistryError::Unavailable(format!("seed scalar: {e:?}")))
}

impl Registry {
    /// Registers `{prefix}{i:010}` → (i + 1)·g1 for every i in `range`, in transactions of
    /// 10,000; `progress` is called with the last index written. Ids already present keep
    /// their key (the store's `ON CONFLICT DO NOTHING`), so a seeding can be extended.
    pub fn seed_sequential(
        &self,
        prefix: &str,
        range: Range<u64>,
        mut progress: impl FnMut(u64),
    ) -> Result<(), RegistryError> {
        let g1 = point(0)?;
        let mut current = point(range.start)?;
        let mut start = range.start;
        while start < range.end {
            let end = (start + CHUNK).min(range.end);
            let mut keys = Vec::with_capacity((end - start) as usize);
            for i in start..end {
                keys.push(StoredKey {
                    key_id: format!("{prefix}{i:010}"),
                    variant: Variant::MinPk,
                    public_key: current.compress().to_vec(),
                    point: current.serialize().to_vec(),
                    registered_at_ms: now_ms(),
                    revoked_at_ms: None,
                });
                let mut next = min_pk::AggregatePublicKey::from_public_key(&current);
                next.add_public_key(&g1, false)
                    .map_err(|e| RegistryError::Unavailable(format!("seed point: {e:?}")))?;
                current = next.to_public_key();
            }
            let store = self.store.clone();
            self.runtime()
                .block_on(async move { store.register_all(&keys).await })?;
            progress(end);
            start = end;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_public_key;
    use crate::registry::RegistryConfig;

    #[test]
    fn seeded_keys_are_distinct_valid_multiples_of_g1() {
        let dir = std::env::temp_dir().join(format!("tollgate-seed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = RegistryConfig {
            data_dir: dir.clone(),
            ..RegistryConfig::default()
        };
        let registry = Registry::open(&config, &prometheus::Registry::new()).unwrap();
        let mut written = Vec::new();
        registry
            .seed_sequential("seed-", 5..12, |n| written.push(n))
            .unwrap();
        assert_eq!(written, [12]);
        for i in 5..12u64 {
            let key = registry
                .resolve(Variant::MinPk, &format!("seed-{i:010}"))
                .unwrap();
            // The stored point is (i + 1)·g1 by scalar multiplication, and its compressed
            // form passes the strict decoding (KeyValidate) registration applies.
            assert_eq!(&key.compressed[..], &point(i).unwrap().compress()[..]);
            decode_public_key(Variant::MinPk, &key.compressed).unwrap();
        }
        assert!(registry.resolve(Variant::MinPk, "seed-0000000012").is_err());
        drop(registry);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
