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
        }
    }

    /// Every code, for documentation and tests.
    pub const ALL_CODES: [&'static str; 9] = [
        "malformed_hex",
        "bad_length",
        "bad_encoding_flags",
        "coordinate_out_of_range",
        "not_on_curve",
        "not_in_subgroup",
        "infinity_public_key",
        "duplicate_message",
        "invalid_signature",
    ];
}
