//! Item-level error codes: why one public key, message or signature was refused.

/// Why one item of a request is invalid. `code()` is the stable snake_case string that the
/// API returns (docs/API.md lists them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    /// Not a `0x`-prefixed string of an even number of hex digits.
    #[error("not 0x-prefixed hex with an even number of digits")]
    MalformedHex,
    /// Decoded to the wrong number of bytes for this variant (compressed encodings only).
    #[error("expected {expected} bytes, got {got}")]
    BadLength { expected: usize, got: usize },
    /// The three flag bits are not canonical: compression bit clear (an uncompressed
    /// encoding), or the infinity bit set together with the sign bit or a non-zero x.
    #[error("flag bits are not a canonical compressed encoding")]
    BadEncodingFlags,
    /// An x coordinate (either Fp2 limb in G2) is not below the field modulus p.
    #[error("x coordinate is not below the field modulus")]
    CoordinateOutOfRange,
    /// No point of the curve has this x coordinate.
    #[error("no curve point has this x coordinate")]
    NotOnCurve,
    /// On the curve but outside the prime-order subgroup.
    #[error("point is not in the prime-order subgroup")]
    NotInSubgroup,
    /// KeyValidate refuses the identity as a public key.
    #[error("public key is the point at infinity")]
    InfinityPublicKey,
    /// BASIC scheme: an aggregate over repeated messages is refused.
    #[error("message repeated in an aggregate of the basic scheme")]
    DuplicateMessage,
    /// Well-formed, but the signature does not verify.
    #[error("signature does not verify")]
    InvalidSignature,
    /// A `key_id` that is not 1-128 characters of `[A-Za-z0-9._:-]`.
    #[error("key id is not 1-128 characters of [A-Za-z0-9._:-]")]
    InvalidKeyId,
    /// No key is registered under this `key_id`.
    #[error("no key is registered under this id")]
    UnknownKey,
    /// The key registered under this `key_id` was revoked.
    #[error("the key registered under this id was revoked")]
    RevokedKey,
    /// The registered key is of the other variant than the request's.
    #[error("the registered key is of the other variant")]
    KeyVariantMismatch,
    /// The key registry could not be read; the item was not verified.
    #[error("the key registry is unavailable")]
    RegistryUnavailable,
}

impl ItemError {
    /// The code carried in the API's `error` fields.
    pub const fn code(self) -> &'static str {
        match self {
            ItemError::MalformedHex => "malformed_hex",
            ItemError::BadLength { .. } => "bad_length",
            ItemError::BadEncodingFlags => "bad_encoding_flags",
            ItemError::CoordinateOutOfRange => "coordinate_out_of_range",
            ItemError::NotOnCurve => "not_on_curve",
            ItemError::NotInSubgroup => "not_in_subgroup",
            ItemError::InfinityPublicKey => "infinity_public_key",
            ItemError::DuplicateMessage => "duplicate_message",
            ItemError::InvalidSignature => "invalid_signature",
            ItemError::InvalidKeyId => "invalid_key_id",
            ItemError::UnknownKey => "unknown_key",
            ItemError::RevokedKey => "revoked_key",
            ItemError::KeyVariantMismatch => "key_variant_mismatch",
            ItemError::RegistryUnavailable => "registry_unavailable",
        }
    }

    /// Every code, for documentation and tests.
    pub const ALL_CODES: [&'static str; 14] = [
        "malformed_hex",
        "bad_length",
        "bad_encoding_flags",
        "coordinate_out_of_range",
        "not_on_curve",
        "not_in_subgroup",
        "infinity_public_key",
        "duplicate_message",
        "invalid_signature",
        "invalid_key_id",
        "unknown_key",
        "revoked_key",
        "key_variant_mismatch",
        "registry_unavailable",
    ];
}
