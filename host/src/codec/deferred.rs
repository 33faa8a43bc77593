//! Signatures whose decoding is left to the engine that verifies them.
//!
//! Decompressing a G2 signature and checking its subgroup costs tens of µs on the CPU, more
//! than the rest of the host's share of a device batch. When the serving engine decodes
//! signatures itself (`Engine::decodes_signatures`), the request parser runs only the checks
//! that cost no arithmetic (length, flag bits, x < p) and the item carries the compressed
//! bytes. An engine that cannot decode (the CPU, or the device engine once the device is out
//! of service) decodes on the CPU, once per item whatever the number of checks bisection runs:
//! the result is kept with the item. A device's decoding never lands there; only the CPU's
//! does, so a device fault cannot leak into a later CPU check.

use std::sync::{Arc, OnceLock};

use super::point::{check_compressed_encoding, decode_signature, Signature};
use super::ItemError;
use crate::suite::Variant;

/// A signature as an engine receives it.
#[derive(Clone, Debug)]
pub enum ItemSignature {
    /// Decoded and subgroup-checked when the request was parsed.
    Decoded(Signature),
    /// Canonical compressed encoding of a point other than infinity; whether it is a point of
    /// the group is the engine's to find out.
    Deferred(Arc<Deferred>),
}

/// The compressed bytes of a deferred signature and, once the CPU decoded it, the result.
#[derive(Debug)]
pub struct Deferred {
    variant: Variant,
    bytes: Vec<u8>,
    decoded: OnceLock<Result<Signature, ItemError>>,
}

impl Deferred {
    /// The compressed encoding (96 bytes min_pk, 48 min_sig), its cheap checks passed.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The strict decoding on the CPU (as `decode_signature`), computed once.
    pub fn decode(&self) -> Result<Signature, ItemError> {
        *self
            .decoded
            .get_or_init(|| decode_signature(self.variant, &self.bytes))
    }
}

impl ItemSignature {
    /// A signature of `variant` from its received bytes: decoded now, or with `defer` and
    /// unless it is the (canonical, arithmetic-free) infinity, screened and carried for the
    /// engine. The errors are `decode_signature`'s: screening finds the same first error.
    pub fn parse(variant: Variant, bytes: Vec<u8>, defer: bool) -> Result<Self, ItemError> {
        if !defer || check_compressed_encoding(&bytes, variant.signature_len())? {
            return decode_signature(variant, &bytes).map(ItemSignature::Decoded);
        }
        Ok(ItemSignature::Deferred(Arc::new(Deferred {
            variant,
            bytes,
            decoded: OnceLock::new(),
        })))
    }

    /// The signature decoded on the CPU: at once if it was decoded at parse time.
    pub fn decoded(&self) -> Result<Signature, ItemError> {
        match self {
            ItemSignature::Decoded(signature) => Ok(*signature),
            ItemSignature::Deferred(deferred) => deferred.decode(),
        }
    }
}

impl From<Signature> for ItemSignature {
    fn from(signature: Signature) -> Self {
        ItemSignature::Decoded(signature)
    }
}

#[cfg(test)]
mod tests {
    use blst::min_pk;

    use super::*;

    fn signature() -> Vec<u8> {
        let sk = min_pk::SecretKey::key_gen(&[3; 32], &[]).unwrap();
        sk.sign(b"m", b"dst", &[]).compress().to_vec()
    }

    #[test]
    fn deferral_keeps_the_bytes_and_decodes_as_the_parser_would() {
        let bytes = signature();
        let deferred = ItemSignature::parse(Variant::MinPk, bytes.clone(), true).unwrap();
        let ItemSignature::Deferred(inner) = &deferred else {
            panic!("not deferred")
        };
        assert_eq!(inner.bytes(), &bytes[..]);
        assert_eq!(deferred.decoded(), decode_signature(Variant::MinPk, &bytes));
    }

    #[test]
    fn cheap_errors_come_at_parse_time_and_arithmetic_ones_at_decoding() {
        let mut short = signature();
        short.pop();
        assert_eq!(
            ItemSignature::parse(Variant::MinPk, short, true).err(),
            Some(ItemError::BadLength {
                expected: 96,
                got: 95
            })
        );
        // x = 0 with the compression bit: canonical, but no point of G2 has it.
        let mut zero_x = vec![0u8; 96];
        zero_x[0] = 0x80;
        let parsed = ItemSignature::parse(Variant::MinPk, zero_x.clone(), true).unwrap();
        assert!(matches!(parsed, ItemSignature::Deferred(_)));
        assert_eq!(
            parsed.decoded().err(),
            decode_signature(Variant::MinPk, &zero_x).err()
        );
        // Infinity costs no arithmetic: decoded at once.
        let mut infinity = vec![0u8; 96];
        infinity[0] = 0xc0;
        assert!(matches!(
            ItemSignature::parse(Variant::MinPk, infinity, true),
            Ok(ItemSignature::Decoded(_))
        ));
    }
}
