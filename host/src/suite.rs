//! Ciphersuites of draft-irtf-cfrg-bls-signature-05 and the two group layouts.

use serde::{Deserialize, Serialize};

/// How a signature binds the message (draft-irtf-cfrg-bls-signature §4.2).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Messages in an aggregate must be distinct.
    Basic,
    /// The signer's public key is prepended to the message.
    Aug,
    /// Proof of possession: the Ethereum scheme, and the only one where
    /// same-message aggregation (fast aggregate verify) is sound.
    #[default]
    Pop,
}

/// Which group holds the public key and which the signature. Spelled `min_pk`/`min_sig`
/// everywhere (JSON, TOML, flags, env); flags also take the kebab-case form.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Public keys in G1 (48 bytes), signatures in G2 (96 bytes).
    #[default]
    #[value(name = "min_pk", alias = "min-pk")]
    MinPk,
    /// Public keys in G2 (96 bytes), signatures in G1 (48 bytes).
    #[value(name = "min_sig", alias = "min-sig")]
    MinSig,
}

/// A scheme on a variant: everything needed to pick a domain separation tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Suite {
    pub scheme: Scheme,
    pub variant: Variant,
}

impl Suite {
    pub const fn new(scheme: Scheme, variant: Variant) -> Self {
        Self { scheme, variant }
    }

    /// The hash-to-curve domain separation tag for signatures of this suite.
    pub const fn dst(self) -> &'static [u8] {
        match (self.variant, self.scheme) {
            (Variant::MinPk, Scheme::Basic) => b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_",
            (Variant::MinPk, Scheme::Aug) => b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_AUG_",
            (Variant::MinPk, Scheme::Pop) => b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            (Variant::MinSig, Scheme::Basic) => b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_",
            (Variant::MinSig, Scheme::Aug) => b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_AUG_",
            (Variant::MinSig, Scheme::Pop) => b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_",
        }
    }

    /// The domain separation tag for proofs of possession (POP scheme only).
    pub const fn pop_dst(self) -> &'static [u8] {
        match self.variant {
            Variant::MinPk => b"BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_",
            Variant::MinSig => b"BLS_POP_BLS12381G1_XMD:SHA-256_SSWU_RO_POP_",
        }
    }
}

impl Variant {
    /// Compressed public key length in bytes.
    pub const fn public_key_len(self) -> usize {
        match self {
            Variant::MinPk => 48,
            Variant::MinSig => 96,
        }
    }

    /// Compressed signature length in bytes.
    pub const fn signature_len(self) -> usize {
        match self {
            Variant::MinPk => 96,
            Variant::MinSig => 48,
        }
    }
}
