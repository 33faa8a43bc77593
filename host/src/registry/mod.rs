//! The device key registry: public keys registered once with a proof of possession and
//! addressed by id afterwards (docs/API.md, "Key registry").
//!
//! - `store`: the durable rows behind one interface (embedded SQLite by default, PostgreSQL for
//!   replicas), versioned migrations run at start.
//! - `cache`: validated points in memory, bounded in bytes, TinyLFU admission.
//! - `notify`: revocations by other replicas (PostgreSQL LISTEN/NOTIFY).
//! - `pop`: proofs of possession, checked as randomized batches with bisection.
//! - `auth`: admin bearer tokens for writes.
//! - `key_ref`: how requests name a key (raw bytes or registered id) and its resolution.
//!
//! The store is async (sqlx) and runs on the registry's own small runtime, so its connections
//! and the listener never depend on which HTTP worker happens to call; synchronous callers (the
//! service's decoding, on the blocking pool) wait for it on a channel.

mod auth;
mod cache;
mod error;
mod key_id;
mod key_ref;
mod notify;
mod pop;
mod seed;
mod store;

pub use auth::AdminTokens;
pub use error::RegistryError;
pub use key_id::{check_key_id, MAX_KEY_ID_LEN};
pub use key_ref::{KeyRef, KeyRefs};
pub use store::{Backend, Registered, Revoked};

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use blst::{min_pk, min_sig};
use prometheus::{IntCounterVec, Opts, Registry as Metrics};

use crate::api::wire::{
    to_hex, KeyBatchResponse, KeyBatchResult, KeyEvent, KeyRecord, KeyRegistration,
};
use crate::codec::{decode_public_key, decode_signature, parse_hex, ItemError, PublicKey};
use crate::parallel::map_on_cores;
use crate::suite::Variant;
use cache::{KeyCache, ResolvedKey};
use pop::Candidate;
use store::{now_ms, Store, StoredKey};

/// Where the registry lives and how it behaves (flags in docs/API.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Directory of the embedded store (used when `url` is None).
    pub data_dir: PathBuf,
    /// `postgres://…`: a registry shared by several replicas.
    pub url: Option<String>,
    /// File of admin bearer tokens; None refuses every write.
    pub admin_token_file: Option<PathBuf>,
    /// Fast aggregate verification only by registered key ids.
    pub require_registered_keys: bool,
    /// Bytes of resolved keys kept in memory.
    pub cache_bytes: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("tollgate-data"),
            url: None,
            admin_token_file: None,
            require_registered_keys: false,
            cache_bytes: 64 << 20,
        }
    }
}

/// The registry: store, cache, tokens and the runtime the store runs on.
pub struct Registry {
    store: Arc<Store>,
    cache: Arc<KeyCache>,
    tokens: AdminTokens,
    require_registered_keys: bool,
    lookups: IntCounterVec,
    /// Dropped without waiting (in `Drop`), which is allowed in async contexts.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Registry {
    /// Opens the store (running its migrations), loads the tokens and, on PostgreSQL, starts
    /// following revocations. Blocking: call before serving.
    pub fn open(config: &RegistryConfig, metrics: &Metrics) -> Result<Self, RegistryError> {
        let tokens = match &config.admin_token_file {
            Some(path) => AdminTokens::from_file(path)?,
            None => AdminTokens::none(),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tollgate-registry")
            .enable_all()
            .build()
            .map_err(|e| RegistryError::Unavailable(format!("registry runtime: {e}")))?;
        let store = runtime.block_on(async {
            match &config.url {
                Some(url) => Store::open_postgres(url).await,
                None => Store::open_sqlite(&config.data_dir).await,
            }
        })?;
        let cache = Arc::new(KeyCache::new(config.cache_bytes));
        if let (Some(url), Backend::Postgres) = (&config.url, store.backend()) {
            runtime.spawn(notify::follow_revocations(url.clone(), cache.clone()));
        }
        let lookups = IntCounterVec::new(
            Opts::new(
                "tollgate_registry_lookups_total",
                "Key id resolutions by result: hit (cache), miss (read from the store)",
            ),
            &["result"],
        )
        .map_err(|e| RegistryError::Unavailable(e.to_string()))?;
        metrics
            .register(Box::new(lookups.clone()))
            .map_err(|e| RegistryError::Unavailable(e.to_string()))?;
        tracing::info!(backend = ?store.backend(), "key registry open");
        Ok(Self {
            store: Arc::new(store),
            cache,
            tokens,
            require_registered_keys: config.require_registered_keys,
            lookups,
            runtime: Some(runtime),
        })
    }

    pub fn require_registered_keys(&self) -> bool {
        self.require_registered_keys
    }

    /// Checks the `Authorization` header of a write.
    pub fn authorize(&self, header: Option<&str>) -> Result<(), RegistryError> {
        self.tokens.authorize(header)
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("runtime lives until drop")
    }

    /// Runs `work` on the registry runtime and awaits it from any executor.
    async fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, RegistryError>> + Send + 'static,
    ) -> Result<T, RegistryError> {
        self.runtime()
            .spawn(work)
            .await
            .map_err(|e| RegistryError::Unavailable(format!("registry task failed: {e}")))?
    }

    /// The validated key registered as `key_id`, for verification: from the cache, or read
    /// from the store without decompressing or re-checking it. Synchronous: the service
    /// decodes on the blocking pool.
    pub fn resolve(&self, variant: Variant, key_id: &str) -> Result<ResolvedKey, ItemError> {
        if check_key_id(key_id).is_err() {
            return Err(ItemError::InvalidKeyId);
        }
        let key = match self.cache.get(key_id) {
            Some(key) => {
                self.lookups.with_label_values(&["hit"]).inc();
                key
            }
            None => {
                self.lookups.with_label_values(&["miss"]).inc();
                let key = self.load(key_id)?;
                self.cache.insert(key_id, key.clone());
                key
            }
        };
        if key.revoked {
            Err(ItemError::RevokedKey)
        } else if key.public_key.variant() != variant {
            Err(ItemError::KeyVariantMismatch)
        } else {
            Ok(key)
        }
    }

    fn load(&self, key_id: &str) -> Result<ResolvedKey, ItemError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let store = self.store.clone();
        let id = key_id.to_string();
        self.runtime().spawn(async move {
            let _ = sender.send(store.fetch(&id).await);
        });
        let stored = match receiver.recv() {
            Ok(Ok(Some(stored))) => stored,
            Ok(Ok(None)) => return Err(ItemError::UnknownKey),
            Ok(Err(error)) => {
                tracing::warn!(%error, "registry: lookup failed");
                return Err(ItemError::RegistryUnavailable);
            }
            Err(_) => return Err(ItemError::RegistryUnavailable),
        };
        Ok(ResolvedKey {
            public_key: stored_point(&stored).ok_or(ItemError::RegistryUnavailable)?,
            compressed: stored.public_key.into(),
            revoked: stored.revoked_at_ms.is_some(),
        })
    }

    /// `GET /v1/keys/{key_id}`.
    pub async fn get(&self, key_id: &str) -> Result<KeyRecord, RegistryError> {
        check_key_id(key_id)?;
        let store = self.store.clone();
        let id = key_id.to_string();
        self.run(async move { record(&store, &id).await }).await
    }

    /// `DELETE /v1/keys/{key_id}`: revokes for good (idempotent).
    pub async fn revoke(&self, key_id: &str) -> Result<KeyRecord, RegistryError> {
        check_key_id(key_id)?;
        let store = self.store.clone();
        let id = key_id.to_string();
        let record = self
            .run(async move {
                match store.revoke(&id).await? {
                    Revoked::Unknown => Err(RegistryError::UnknownKey),
                    Revoked::Now | Revoked::Already => record(&store, &id).await,
                }
            })
            .await?;
        self.cache.invalidate(key_id);
        Ok(record)
    }

    /// `PUT /v1/keys/{key_id}`: whether it was created now, and the record.
    pub async fn register(
        &self,
        key_id: &str,
        entry: KeyRegistration,
        default_variant: Variant,
    ) -> Result<(bool, KeyRecord), RegistryError> {
        let entry = KeyRegistration {
            key_id: Some(key_id.to_string()),
            ..entry
        };
        let (outcome, _) = self
            .register_all(vec![entry], default_variant)
            .await?
            .pop()
            .expect("one outcome per entry");
        let created = match outcome? {
            Registered::Created => true,
            Registered::Exists => false,
            Registered::Taken => return Err(RegistryError::KeyIdTaken),
        };
        Ok((created, self.get(key_id).await?))
    }

    /// `POST /v1/keys/batch`.
    pub async fn register_batch(
        &self,
        entries: Vec<KeyRegistration>,
        default_variant: Variant,
    ) -> Result<KeyBatchResponse, RegistryError> {
        let outcomes = self.register_all(entries, default_variant).await?;
        let mut response = KeyBatchResponse {
            results: Vec::with_capacity(outcomes.len()),
            created: 0,
            existing: 0,
            failed: 0,
        };
        for (outcome, key_id) in outcomes {
            let (status, error) = match outcome {
                Ok(Registered::Created) => {
                    response.created += 1;
                    (Some("created"), None)
                }
                Ok(Registered::Exists) => {
                    response.existing += 1;
                    (Some("exists"), None)
                }
                Ok(Registered::Taken) => {
                    response.failed += 1;
                    (None, Some(RegistryError::KeyIdTaken.code()))
                }
                Err(error) => {
                    response.failed += 1;
                    (None, Some(error.code()))
                }
            };
            response.results.push(KeyBatchResult {
                key_id,
                status: status.map(str::to_string),
                error: error.map(str::to_string),
            });
        }
        Ok(response)
    }

    /// Registers entries: decode and validate (KeyValidate, subgroup check of the proof),
    /// answer ids that already hold the same key without checking again (so a resumed import
    /// is cheap), batch-check the remaining proofs, then write every good entry in one
    /// transaction. Per entry: the outcome and the key id as given. The error of the whole
    /// call is a store failure: nothing was acknowledged.
    async fn register_all(
        &self,
        entries: Vec<KeyRegistration>,
        default_variant: Variant,
    ) -> Result<Vec<(Result<Registered, RegistryError>, String)>, RegistryError> {
        let store = self.store.clone();
        self.run(async move {
            let ids: Vec<String> = entries
                .iter()
                .map(|e| e.key_id.clone().unwrap_or_default())
                .collect();
            let mut outcomes: Vec<Option<Result<Registered, RegistryError>>> =
                (0..entries.len()).map(|_| None).collect();
            // Decompression and subgroup checks are a fifth of an import's work: on every core,
            // so one client's import does not wait on a single thread.
            let decoded = tokio::task::spawn_blocking(move || {
                map_on_cores(0..entries.len(), |i| {
                    decode_entry(&entries[i], default_variant)
                })
            })
            .await
            .map_err(|e| RegistryError::Unavailable(format!("decoding failed: {e}")))?;
            let ids_decoded: Vec<&str> = decoded
                .iter()
                .filter_map(|result| result.as_ref().ok())
                .map(|(key, _)| key.key_id.as_str())
                .collect();
            let stored: HashMap<String, StoredKey> = store
                .fetch_all(&ids_decoded)
                .await?
                .into_iter()
                .map(|key| (key.key_id.clone(), key))
                .collect();
            let mut fresh = Vec::new();
            for (index, result) in decoded.into_iter().enumerate() {
                match result {
                    Err(error) => outcomes[index] = Some(Err(error)),
                    Ok((key, candidate)) => match stored.get(&key.key_id) {
                        Some(existing) => {
                            outcomes[index] = Some(Ok(existing.registration_of(&key)))
                        }
                        None => fresh.push((index, key, candidate)),
                    },
                }
            }
            let (positions, keys, candidates): (Vec<usize>, Vec<StoredKey>, Vec<Candidate>) =
                fresh.into_iter().fold(
                    (Vec::new(), Vec::new(), Vec::new()),
                    |(mut p, mut k, mut c), (index, key, candidate)| {
                        p.push(index);
                        k.push(key);
                        c.push(candidate);
                        (p, k, c)
                    },
                );
            let verdicts = tokio::task::spawn_blocking(move || pop::verify_proofs(&candidates))
                .await
                .map_err(|e| RegistryError::Unavailable(format!("proof check failed: {e}")))?
                .map_err(|e| RegistryError::Unavailable(e.to_string()))?;
            let mut proven = Vec::new();
            let mut proven_positions = Vec::new();
            for ((position, key), valid) in positions.into_iter().zip(keys).zip(verdicts) {
                if valid {
                    proven_positions.push(position);
                    proven.push(key);
                } else {
                    outcomes[position] = Some(Err(RegistryError::InvalidProofOfPossession));
                }
            }
            if !proven.is_empty() {
                let written = store.register_all(&proven).await?;
                for (position, outcome) in proven_positions.into_iter().zip(written) {
                    outcomes[position] = Some(Ok(outcome));
                }
            }
            Ok(outcomes
                .into_iter()
                .map(|o| o.expect("every entry has an outcome"))
                .zip(ids)
                .collect())
        })
        .await
    }
}

/// Strict decoding of one registration: the row to store and the proof to check.
fn decode_entry(
    entry: &KeyRegistration,
    default_variant: Variant,
) -> Result<(StoredKey, Candidate), RegistryError> {
    let key_id = entry.key_id.clone().unwrap_or_default();
    check_key_id(&key_id)?;
    let variant = entry.variant.unwrap_or(default_variant);
    let field =
        |field: &'static str| move |error: ItemError| RegistryError::InvalidInput { field, error };
    let compressed = parse_hex(&entry.public_key).map_err(field("public_key"))?;
    let public_key = decode_public_key(variant, &compressed).map_err(field("public_key"))?;
    let proof = parse_hex(&entry.proof_of_possession)
        .and_then(|bytes| decode_signature(variant, &bytes))
        .map_err(field("proof_of_possession"))?;
    let point = match &public_key {
        PublicKey::G1(pk) => pk.serialize().to_vec(),
        PublicKey::G2(pk) => pk.serialize().to_vec(),
    };
    Ok((
        StoredKey {
            key_id,
            variant,
            public_key: compressed.clone(),
            point,
            registered_at_ms: now_ms(),
            revoked_at_ms: None,
        },
        Candidate {
            public_key,
            message: compressed,
            signature: proof.into(),
        },
    ))
}

/// The stored point, read back without decompression or subgroup check (it passed
/// KeyValidate at registration); blst's deserialization still checks it is on the curve, a
/// cheap guard against a corrupted row.
fn stored_point(stored: &StoredKey) -> Option<PublicKey> {
    match stored.variant {
        Variant::MinPk => min_pk::PublicKey::deserialize(&stored.point)
            .ok()
            .map(PublicKey::G1),
        Variant::MinSig => min_sig::PublicKey::deserialize(&stored.point)
            .ok()
            .map(PublicKey::G2),
    }
}

fn rfc3339(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(at).to_string()
}

async fn record(store: &Store, key_id: &str) -> Result<KeyRecord, RegistryError> {
    let stored = store
        .fetch(key_id)
        .await?
        .ok_or(RegistryError::UnknownKey)?;
    let events = store.events(key_id).await?;
    Ok(KeyRecord {
        key_id: stored.key_id,
        public_key: to_hex(&stored.public_key),
        variant: stored.variant,
        revoked: stored.revoked_at_ms.is_some(),
        registered_at: rfc3339(stored.registered_at_ms),
        revoked_at: stored.revoked_at_ms.map(rfc3339),
        events: events
            .into_iter()
            .map(|e| KeyEvent {
                event: e.event,
                at: rfc3339(e.at_ms),
            })
            .collect(),
    })
}
