//! The CPU engine on blst.
//!
//! The bulk engine uses every core: a batch's signature side is one multi-scalar
//! multiplication on blst's thread pool, its Miller loops run on one scoped thread per core,
//! and `aggregate_verify` spreads its pairings over the pool. The service calls it from a
//! single batcher thread, so its batches do not compete with each other for the cores.
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

use super::batch_equation::{self, KeyTerm};
use super::grouping::{grouping_pays, same_message_groups};
use super::{decode_on_cpu, BatchVerdict, Decoded, Engine, EngineError, SignedItem};
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
        for (public_key, signature, message) in $items {
            match (*public_key, signature) {
                ($pk(pk), $sig(sig)) => {
                    pks.push(pk);
                    sigs.push(*sig);
                    msgs.push(*message);
                }
                _ => return Err(EngineError::VariantMismatch($variant)),
            }
        }
        let dst = $dst;
        // Keys and signatures were validated at decoding: no second check below.
        if pks.len() == 1 {
            // One item needs no blinding: a plain verification is cheaper.
            let result = sigs[0].verify(false, msgs[0], dst, &[], pks[0], false);
            return Ok(result == BLST_ERROR::BLST_SUCCESS);
        }
        let rands = blinding_scalars(pks.len())?;
        match $threads {
            Threads::Caller => {
                // Every item apart, each multiplied by its scalar inside the pairing: sums
                // would be multi-scalar multiplications on blst's pool.
                let mut pairing = Pairing::new(true, dst);
                for (i, msg) in msgs.iter().enumerate() {
                    let pk: &$pk_aff = pks[i].into();
                    let sig: &$sig_aff = (&sigs[i]).into();
                    let r = &rands[i].b;
                    let added = pairing.mul_n_aggregate(pk, false, sig, false, r, 64, msg, &[]);
                    if added != BLST_ERROR::BLST_SUCCESS {
                        return Ok(false);
                    }
                }
                pairing.commit();
                Ok(pairing.finalverify(None))
            }
            Threads::Pool => {
                let scalars = scalar_bytes(&rands);
                let sig_sum = sigs.mult(&scalars, 64).to_signature();
                let sig_sum: &$sig_aff = (&sig_sum).into();
                // Honest signatures sum to the identity with negligible probability; the
                // pairing of the identity is meaningless, so the batch is "does not verify".
                if *sig_sum == <$sig_aff>::default() {
                    return Ok(false);
                }
                let groups = same_message_groups(&msgs);
                let groups = match grouping_pays(&groups, msgs.len()) {
                    true => groups,
                    false => (0..msgs.len()).map(|i| vec![i]).collect(),
                };
                let terms: Vec<KeyTerm<$pk_aff>> = groups
                    .iter()
                    .map(|group| {
                        let (first, message) = (group[0], msgs[group[0]]);
                        if group.len() == 1 {
                            let key: &$pk_aff = pks[first].into();
                            return KeyTerm::Blinded {
                                key: *key,
                                scalar: &rands[first].b[..8],
                                message,
                            };
                        }
                        let scalars = scalar_bytes(group.iter().map(|&i| &rands[i]));
                        let keys: Vec<$module::PublicKey> =
                            group.iter().map(|&i| *pks[i]).collect();
                        let key: $pk_aff = keys.mult(&scalars, 64).to_public_key().into();
                        KeyTerm::Summed { key, message }
                    })
                    .collect();
                Ok(batch_equation::holds(dst, &terms, sig_sum).unwrap_or(false))
            }
        }
    }};
}

/// The low 8 bytes of each scalar, back to back: the layout blst's multi-scalar
/// multiplication reads at 64 bits per scalar.
fn scalar_bytes<'a>(rands: impl IntoIterator<Item = &'a blst_scalar>) -> Vec<u8> {
    rands
        .into_iter()
        .flat_map(|r| r.b[..8].iter().copied())
        .collect()
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
    pub fn verify_batch_with_dst(
        &self,
        variant: Variant,
        dst: &[u8],
        items: &[&SignedItem],
    ) -> Result<BatchVerdict, EngineError> {
        if items.is_empty() {
            return Err(EngineError::Empty);
        }
        let (rejected, kept) = decode_on_cpu(items);
        let others_valid = kept.is_empty() || self.check_decoded(variant, dst, &kept)?;
        Ok(BatchVerdict {
            rejected,
            others_valid,
        })
    }

    /// The batch check of items whose signatures are decoded.
    pub(crate) fn check_decoded(
        &self,
        variant: Variant,
        dst: &[u8],
        items: &[Decoded<'_>],
    ) -> Result<bool, EngineError> {
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

    fn verify_batch(
        &self,
        suite: Suite,
        items: &[&SignedItem],
    ) -> Result<BatchVerdict, EngineError> {
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

#[cfg(test)]
mod tests {
    use rand_core::{OsRng, RngCore};

    use super::*;

    /// `n` items over `distinct` messages; the items in `bad` signed another message.
    fn batch(variant: Variant, n: usize, distinct: usize, bad: &[usize]) -> Vec<SignedItem> {
        (0..n)
            .map(|i| {
                let mut ikm = [0u8; 32];
                OsRng.fill_bytes(&mut ikm);
                let message = vec![(i % distinct) as u8; 16];
                let signed = match bad.contains(&i) {
                    true => b"another message".to_vec(),
                    false => message.clone(),
                };
                let dst = Suite::new(crate::suite::Scheme::Basic, variant).dst();
                let (public_key, signature) = match variant {
                    Variant::MinPk => {
                        let sk = min_pk::SecretKey::key_gen(&ikm, &[]).unwrap();
                        let sig = sk.sign(&signed, dst, &[]);
                        (PublicKey::G1(sk.sk_to_pk()), Signature::G2(sig))
                    }
                    Variant::MinSig => {
                        let sk = min_sig::SecretKey::key_gen(&ikm, &[]).unwrap();
                        let sig = sk.sign(&signed, dst, &[]);
                        (PublicKey::G2(sk.sk_to_pk()), Signature::G1(sig))
                    }
                };
                SignedItem {
                    public_key,
                    message,
                    signature: signature.into(),
                }
            })
            .collect()
    }

    #[test]
    fn pooled_and_caller_thread_checks_give_the_batch_verdict() {
        for variant in [Variant::MinPk, Variant::MinSig] {
            let suite = Suite::new(crate::suite::Scheme::Basic, variant);
            // 3 and 40 distinct messages over 40 items are grouped, 40 and 2 items are not.
            for (n, distinct) in [(2, 2), (40, 3), (40, 40)] {
                for bad in [&[][..], &[0], &[n - 1], &[0, 1]] {
                    let items = batch(variant, n, distinct, bad);
                    let items: Vec<&SignedItem> = items.iter().collect();
                    for engine in [CpuEngine::new(), CpuEngine::on_caller_thread()] {
                        assert_eq!(
                            engine.verify_batch(suite, &items).unwrap(),
                            BatchVerdict::of(bad.is_empty()),
                            "{variant:?}, {n} items, {distinct} messages, bad {bad:?}, {:?}",
                            engine.threads
                        );
                    }
                }
            }
        }
    }
}
