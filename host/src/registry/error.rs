//! Errors of the key registry, each with its API code and HTTP status (docs/API.md).

use crate::codec::ItemError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("key id {0:?} is not 1-128 characters of [A-Za-z0-9._:-]")]
    InvalidKeyId(String),
    #[error("no key is registered under this id")]
    UnknownKey,
    #[error("the key id holds another key or was revoked; ids are never reused")]
    KeyIdTaken,
    #[error("the proof of possession does not verify for this public key")]
    InvalidProofOfPossession,
    /// The public key or proof does not decode; the code is the decoder's.
    #[error("{field}: {error}")]
    InvalidInput {
        field: &'static str,
        error: ItemError,
    },
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("writes are disabled: the server was started without --admin-token-file")]
    WritesDisabled,
    #[error("key registry unavailable: {0}")]
    Store(#[from] sqlx::Error),
    #[error("key registry unavailable: {0}")]
    Unavailable(String),
}

impl RegistryError {
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::InvalidKeyId(_) => "invalid_key_id",
            RegistryError::UnknownKey => "unknown_key",
            RegistryError::KeyIdTaken => "key_id_taken",
            RegistryError::InvalidProofOfPossession => "invalid_proof_of_possession",
            RegistryError::InvalidInput { error, .. } => error.code(),
            RegistryError::Unauthorized => "unauthorized",
            RegistryError::WritesDisabled => "writes_disabled",
            RegistryError::Store(_) | RegistryError::Unavailable(_) => "registry_unavailable",
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            RegistryError::UnknownKey => 404,
            RegistryError::KeyIdTaken => 409,
            RegistryError::Unauthorized => 401,
            RegistryError::WritesDisabled => 403,
            RegistryError::Store(_) | RegistryError::Unavailable(_) => 503,
            _ => 400,
        }
    }
}
