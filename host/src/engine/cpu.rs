//! The CPU engine on blst.
//!
//! Parallelism lives in exactly one place: blst's own thread pool (one worker per core), which
//! `verify_multiple_aggregate_signatures` and `aggregate_verify` spread their pairings over.
//! The service calls this engine from a single batcher thread, so nothing else competes with
//! that pool for the cores.

use blst::{blst_scalar, min_pk, min_sig, BLST_ERROR};
use rand_core::{OsRng, RngCore};

use super::{Engine, EngineError, SignedItem};
use crate::codec::{PublicKey, Signature};
use crate::suite::{Suite, Variant};

/// blst on the host CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuEngine;

impl CpuEngine {
    pub fn new() -> Self {
        Self
    }
}

/// `n` non-zero 64-bit blinding scalars from the OS CSPRNG (never from request data).
pub(crate) fn blinding_scalars(n: usize) -> Result<Vec<blst_scalar>, EngineError> {
    let mut bytes = vec![0u8; n * 8];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| EngineError::Rng(e.to_string()))?;
    let mut scalars = Vec::with_capacity(n);
    for chunk in bytes.chunks_exact(8) {
        let mut r = u64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
        // A zero scalar would drop its item from the check; redraw (probability 2^-64).
        while r == 0 {
            let mut again = [0u8; 8];
            OsRng
                .try_fill_bytes(&mut again)
                .map_err(|e| EngineError::Rng(e.to_string()))?;
            r = u64::from_le_bytes(again);
        }
        let mut scalar = blst_scalar::default();
        scalar.b[..8].copy_from_slice(&r.to_le_bytes());
        scalars.push(scalar);
    }
    Ok(scalars)
}

/// Expands to the batch check for one blst variant module.
macro_rules! batch_check {
    ($module:ident, $pk:path, $sig:path, $items:expr, $suite:expr) => {{
        let mut pks = Vec::with_capacity($items.len());
        let mut sigs = Vec::with_capacity($items.len());
        let mut msgs = Vec::with_capacity($items.len());
        for item in $items {
            match (&item.public_key, &item.signature) {
                ($pk(pk), $sig(sig)) => {
                    pks.push(pk);
                    sigs.push(sig);
                    msgs.push(item.message.as_slice());
                }
                _ => return Err(EngineError::VariantMismatch($suite.variant)),
            }
        }
        let dst = $suite.dst();
        let result = if pks.len() == 1 {
            // One item needs no blinding: a plain verification is cheaper.
            sigs[0].verify(false, msgs[0], dst, &[], pks[0], false)
        } else {
            let rands = blinding_scalars(pks.len())?;
            // Keys and signatures were validated at decoding: no second check here.
            $module::Signature::verify_multiple_aggregate_signatures(
                &msgs, dst, &pks, false, &sigs, false, &rands, 64,
            )
        };
        Ok(result == BLST_ERROR::BLST_SUCCESS)
    }};
}

macro_rules! aggregate_check {
    ($pk:path, $sig:path, $keys:expr, $messages:expr, $signature:expr, $suite:expr) => {{
        let sig = match $signature {
            $sig(sig) => sig,
            _ => return Err(EngineError::VariantMismatch($suite.variant)),
        };
        let mut pks = Vec::with_capacity($keys.len());
        for key in $keys {
            match key {
                $pk(pk) => pks.push(pk),
                _ => return Err(EngineError::VariantMismatch($suite.variant)),
            }
        }
        // Any failure (including an identity key, which blst refuses) is "does not verify".
        Ok(
            sig.aggregate_verify(false, $messages, $suite.dst(), &pks, false)
                == BLST_ERROR::BLST_SUCCESS,
        )
    }};
}

impl Engine for CpuEngine {
    fn backend(&self) -> &'static str {
        "cpu"
    }

    fn verify_batch(&self, suite: Suite, items: &[&SignedItem]) -> Result<bool, EngineError> {
        if items.is_empty() {
            return Err(EngineError::Empty);
        }
        match suite.variant {
            Variant::MinPk => batch_check!(min_pk, PublicKey::G1, Signature::G2, items, suite),
            Variant::MinSig => batch_check!(min_sig, PublicKey::G2, Signature::G1, items, suite),
        }
    }

    fn verify_aggregate(
        &self,
        suite: Suite,
        public_keys: &[PublicKey],
        messages: &[&[u8]],
        signature: &Signature,
    ) -> Result<bool, EngineError> {
        if public_keys.is_empty() || public_keys.len() != messages.len() {
            return Err(EngineError::Empty);
        }
        match suite.variant {
            Variant::MinPk => aggregate_check!(
                PublicKey::G1,
                Signature::G2,
                public_keys,
                messages,
                signature,
                suite
            ),
            Variant::MinSig => aggregate_check!(
                PublicKey::G2,
                Signature::G1,
                public_keys,
                messages,
                signature,
                suite
            ),
        }
    }

    fn aggregate_public_keys(&self, keys: &[PublicKey]) -> Result<PublicKey, EngineError> {
        let variant = keys.first().ok_or(EngineError::Empty)?.variant();
        match variant {
            Variant::MinPk => {
                let pks = keys
                    .iter()
                    .map(|k| match k {
                        PublicKey::G1(pk) => Ok(pk),
                        PublicKey::G2(_) => Err(EngineError::VariantMismatch(variant)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let agg = min_pk::AggregatePublicKey::aggregate(&pks, false)
                    .map_err(|_| EngineError::Empty)?;
                Ok(PublicKey::G1(agg.to_public_key()))
            }
            Variant::MinSig => {
                let pks = keys
                    .iter()
                    .map(|k| match k {
                        PublicKey::G2(pk) => Ok(pk),
                        PublicKey::G1(_) => Err(EngineError::VariantMismatch(variant)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let agg = min_sig::AggregatePublicKey::aggregate(&pks, false)
                    .map_err(|_| EngineError::Empty)?;
                Ok(PublicKey::G2(agg.to_public_key()))
            }
        }
    }

    fn aggregate_signatures(&self, signatures: &[Signature]) -> Result<Signature, EngineError> {
        let variant = signatures.first().ok_or(EngineError::Empty)?.variant();
        match variant {
            Variant::MinPk => {
                let sigs = signatures
                    .iter()
                    .map(|s| match s {
                        Signature::G2(sig) => Ok(sig),
                        Signature::G1(_) => Err(EngineError::VariantMismatch(variant)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let agg = min_pk::AggregateSignature::aggregate(&sigs, false)
                    .map_err(|_| EngineError::Empty)?;
                Ok(Signature::G2(agg.to_signature()))
            }
            Variant::MinSig => {
                let sigs = signatures
                    .iter()
                    .map(|s| match s {
                        Signature::G1(sig) => Ok(sig),
                        Signature::G2(_) => Err(EngineError::VariantMismatch(variant)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let agg = min_sig::AggregateSignature::aggregate(&sigs, false)
                    .map_err(|_| EngineError::Empty)?;
                Ok(Signature::G1(agg.to_signature()))
            }
        }
    }
}
