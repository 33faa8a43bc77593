//! The CPU engine on blst.
//!
//! Parallelism lives in one place: blst's own thread pool (one worker per core), which
//! `verify_multiple_aggregate_signatures` and `aggregate_verify` spread their pairings over.
//! The service calls the pooled engine from a single batcher thread, so nothing else competes
//! with that pool for the cores.
//!
//! The pool is FIFO: a job posted behind a bulk batch waits for the whole batch. The
//! interactive lane therefore uses an engine that computes on the caller's thread
//! (`on_caller_thread`), with blst's `Pairing` directly and never the pool.
//!
//! Batches that repeat messages are verified grouped by message (docs/API.md, "Batch
//! verification"): one hash-to-curve and one Miller loop per distinct message.

use blst::{
    blst_p1_affine, blst_p2_affine, blst_scalar, min_pk, min_sig, MultiPoint, Pairing, BLST_ERROR,
};
use rand_core::{OsRng, RngCore};

use super::grouping::{grouping_pays, same_message_groups};
use super::{Engine, EngineError, SignedItem};
use crate::codec::{PublicKey, Signature};
use crate::suite::{Suite, Variant};

/// blst on the host CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuEngine {
    threads: Threads,
}

/// Where the pairings of one call run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Threads {
    /// blst's thread pool: every core, shared FIFO with every other pooled call.
    #[default]
    Pool,
    /// The calling thread only: never queued behind another call.
    Caller,
}

impl CpuEngine {
    /// Spreads each call over blst's thread pool (the bulk engine).
    pub fn new() -> Self {
        Self::default()
    }

    /// Computes each call on the calling thread, independent of the pool's backlog.
    pub fn on_caller_thread() -> Self {
        Self {
            threads: Threads::Caller,
        }
    }
}

/// `n` non-zero 64-bit blinding scalars from the OS CSPRNG (never from request data).
fn blinding_scalars(n: usize) -> Result<Vec<blst_scalar>, EngineError> {
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
    ($module:ident, $pk:path, $sig:path, $pk_aff:ty, $sig_aff:ty, $threads:expr, $items:expr, $variant:expr, $dst:expr) => {{
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
                _ => return Err(EngineError::VariantMismatch($variant)),
            }
        }
        let dst = $dst;
        let groups = same_message_groups(&msgs);
        let grouped = $threads == Threads::Pool && grouping_pays(&groups, msgs.len());
        let result = if $threads == Threads::Caller || grouped {
            // The batch equation grouped by message (super::grouping). The sums are
            // multi-scalar multiplications on blst's pool, so the caller-thread engine keeps
            // every item apart instead.
            let groups = match grouped {
                true => groups,
                false => (0..msgs.len()).map(|i| vec![i]).collect(),
            };
            let rands = blinding_scalars(pks.len())?;
            let mut pairing = Pairing::new(true, dst);
            let blinded = pks.len() > 1;
            for group in &groups {
                let first = group[0];
                let added = if group.len() > 1 {
                    let scalars: Vec<u8> = group
                        .iter()
                        .flat_map(|&i| rands[i].b[..8].to_vec())
                        .collect();
                    let group_pks: Vec<$module::PublicKey> =
                        group.iter().map(|&i| *pks[i]).collect();
                    let group_sigs: Vec<$module::Signature> =
                        group.iter().map(|&i| *sigs[i]).collect();
                    let pk = group_pks.mult(&scalars, 64).to_public_key();
                    let sig = group_sigs.mult(&scalars, 64).to_signature();
                    let (pk, sig): (&$pk_aff, &$sig_aff) = ((&pk).into(), (&sig).into());
                    pairing.aggregate(pk, false, sig, false, msgs[first], &[])
                } else {
                    let pk: &$pk_aff = pks[first].into();
                    let sig: &$sig_aff = sigs[first].into();
                    // One item needs no blinding, as below.
                    if blinded {
                        let r = &rands[first].b;
                        pairing.mul_n_aggregate(pk, false, sig, false, r, 64, msgs[first], &[])
                    } else {
                        pairing.aggregate(pk, false, sig, false, msgs[first], &[])
                    }
                };
                // An error here (e.g. a sum that is the identity) is "does not verify".
                if added != BLST_ERROR::BLST_SUCCESS {
                    return Ok(false);
                }
            }
            pairing.commit();
            if pairing.finalverify(None) {
                BLST_ERROR::BLST_SUCCESS
            } else {
                BLST_ERROR::BLST_VERIFY_FAIL
            }
        } else if pks.len() == 1 {
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
    ($pk:path, $sig:path, $pk_aff:ty, $sig_aff:ty, $threads:expr, $keys:expr, $messages:expr, $signature:expr, $suite:expr) => {{
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
        if $threads == Threads::Caller {
            let mut pairing = Pairing::new(true, $suite.dst());
            let sig: &$sig_aff = sig.into();
            for (i, (pk, msg)) in pks.iter().zip($messages).enumerate() {
                let pk: &$pk_aff = (*pk).into();
                // The signature enters the product once, with the first pair.
                let added = if i == 0 {
                    pairing.aggregate(pk, false, sig, false, msg, &[])
                } else {
                    pairing.aggregate(pk, false, &(), false, msg, &[])
                };
                if added != BLST_ERROR::BLST_SUCCESS {
                    return Ok(false);
                }
            }
            pairing.commit();
            Ok(pairing.finalverify(None))
        } else {
            Ok(
                sig.aggregate_verify(false, $messages, $suite.dst(), &pks, false)
                    == BLST_ERROR::BLST_SUCCESS,
            )
        }
    }};
}

impl CpuEngine {
    /// The batch check under any domain separation tag: the signatures' of a suite, or the
    /// proofs of possession's (the key registry checks its proofs with it).
    pub(crate) fn verify_batch_with_dst(
        &self,
        variant: Variant,
        dst: &[u8],
        items: &[&SignedItem],
    ) -> Result<bool, EngineError> {
        if items.is_empty() {
            return Err(EngineError::Empty);
        }
        match variant {
            Variant::MinPk => batch_check!(
                min_pk,
                PublicKey::G1,
                Signature::G2,
                blst_p1_affine,
                blst_p2_affine,
                self.threads,
                items,
                variant,
                dst
            ),
            Variant::MinSig => batch_check!(
                min_sig,
                PublicKey::G2,
                Signature::G1,
                blst_p2_affine,
                blst_p1_affine,
                self.threads,
                items,
                variant,
                dst
            ),
        }
    }
}

impl Engine for CpuEngine {
    fn backend(&self) -> &'static str {
        "cpu"
    }

    fn verify_batch(&self, suite: Suite, items: &[&SignedItem]) -> Result<bool, EngineError> {
        self.verify_batch_with_dst(suite.variant, suite.dst(), items)
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
                blst_p1_affine,
                blst_p2_affine,
                self.threads,
                public_keys,
                messages,
                signature,
                suite
            ),
            Variant::MinSig => aggregate_check!(
                PublicKey::G2,
                Signature::G1,
                blst_p2_affine,
                blst_p1_affine,
                self.threads,
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
