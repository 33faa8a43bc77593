//! JSON bodies of the HTTP API (see docs/API.md). Bytes travel as `0x`-prefixed hex strings;
//! they stay strings here so that decoding can report a precise error per item.

use serde::{Deserialize, Serialize};

use crate::suite::{Scheme, Variant};

/// One signed item: `signature` by `public_key` (or by the key registered as `key_id`: exactly
/// one of the two) over `message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub public_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub message: String,
    pub signature: String,
}

/// Latency class of a verification request (docs/API.md, "Latency classes").
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Someone is waiting: verified at once on a lane of its own, limited in size.
    Interactive,
    /// Throughput matters: batched across requests.
    #[default]
    Bulk,
}

impl Priority {
    pub const ALL: [Priority; 2] = [Priority::Interactive, Priority::Bulk];

    /// The name the API and the metrics' `priority` label use.
    pub const fn name(self) -> &'static str {
        match self {
            Priority::Interactive => "interactive",
            Priority::Bulk => "bulk",
        }
    }

    fn is_bulk(&self) -> bool {
        *self == Priority::Bulk
    }
}

/// `POST /v1/verify`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct VerifyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
    #[serde(default, skip_serializing_if = "Priority::is_bulk")]
    pub priority: Priority,
    pub items: Vec<Item>,
}

/// The verdict on one item, in request order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub valid: bool,
    /// Why the item is invalid: an item-level error code (docs/API.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub results: Vec<Verdict>,
    pub valid: usize,
    pub invalid: usize,
}

/// `POST /v1/aggregate`: exactly one of `signatures` or `public_keys`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AggregateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_keys: Option<Vec<String>>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggregateResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// `POST /v1/aggregate-verify`: one aggregate signature over distinct (pk, msg) pairs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AggregateVerifyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
    #[serde(default, skip_serializing_if = "Priority::is_bulk")]
    pub priority: Priority,
    /// Exactly one of `public_keys` and `key_ids` (registered keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ids: Option<Vec<String>>,
    pub messages: Vec<String>,
    pub signature: String,
}

/// `POST /v1/fast-aggregate-verify`: one aggregate signature by many keys over one message
/// (proof-of-possession scheme only).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FastAggregateVerifyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
    #[serde(default, skip_serializing_if = "Priority::is_bulk")]
    pub priority: Priority,
    /// Exactly one of `public_keys` and `key_ids` (registered keys).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ids: Option<Vec<String>>,
    pub message: String,
    pub signature: String,
}

/// The answer of both aggregate-verify endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictResponse {
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A request-level error (HTTP 400/413/429/503), `{"error": CODE, "detail": "..."}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub detail: String,
}

/// Encodes bytes the way the API carries them.
pub fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// `GET /v1/info`: what this server runs and accepts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InfoResponse {
    pub name: String,
    pub version: String,
    /// The backend serving requests now.
    pub backend: String,
    /// Every backend this build can run.
    pub backends: Vec<String>,
    pub schemes: Vec<String>,
    pub variants: Vec<String>,
    pub default_scheme: Scheme,
    pub default_variant: Variant,
    pub limits: InfoLimits,
    /// Validated public keys held in the cache now.
    pub cached_keys: usize,
}

/// The limits a client must respect (docs/API.md).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InfoLimits {
    pub max_body_bytes: usize,
    pub max_items: usize,
    pub max_batch_size: usize,
    pub max_queue_delay_ms: u64,
    pub queue_capacity: usize,
    pub key_cache_capacity: usize,
    pub interactive_max_items: usize,
    pub interactive_capacity: usize,
}

/// `PUT /v1/keys/{key_id}` (and one entry of `POST /v1/keys/batch`, which also carries
/// `key_id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRegistration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub public_key: String,
    pub proof_of_possession: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,
}

/// A registered key as `GET /v1/keys/{key_id}` shows it (also the answer of PUT and DELETE).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key_id: String,
    pub public_key: String,
    pub variant: Variant,
    pub revoked: bool,
    /// RFC 3339, UTC, milliseconds.
    pub registered_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// The append-only audit trail, oldest first.
    pub events: Vec<KeyEvent>,
}

/// One audit event of a key: `registered` or `revoked`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEvent {
    pub event: String,
    pub at: String,
}

/// The outcome of one entry of `POST /v1/keys/batch`: `status` `created` or `exists`, or an
/// `error` code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBatchResult {
    pub key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /v1/keys/batch`: one result per entry, in order, and the counts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyBatchResponse {
    pub results: Vec<KeyBatchResult>,
    pub created: usize,
    pub existing: usize,
    pub failed: usize,
}
