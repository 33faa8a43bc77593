//! A fast aggregate verification as one item of a batch.
//!
//! FastAggregateVerify(PK₁…PKₙ, m, σ) is CoreVerify(PK₁ + … + PKₙ, m, σ): once the keys are
//! summed it is one (key, message, signature) check, the shape of a `/v1/verify` item. Alone it
//! costs a hash to the curve, two Miller loops and a final exponentiation (≈ 1 ms of host CPU
//! on either engine); as one more item of an engine batch it costs an item's share (the final
//! exponentiation is shared; on the device path the host keeps only a few µs of it). So the
//! batcher folds fast aggregates into the batches of their suite (bench/RESULTS.md "Fast
//! aggregate verification folded into batches").
//!
//! The key sum is made here, on the CPU (blst), whatever the backend: a sum made by a device
//! would enter the batch unconfirmed, and a device's "valid" must never rest on a value only
//! the device computed. A sum at the identity fails KeyValidate: it never enters a batch (the
//! device path would read its blinded key as a device fault) and is answered at once.

use crate::codec::{ItemError, ItemSignature, PublicKey};
use crate::engine::{CpuEngine, Engine, EngineError, SignedItem};
use crate::suite::Suite;

/// One signature by many keys over one message (POP), its keys validated, not yet summed.
pub struct FastAggregate {
    pub suite: Suite,
    pub public_keys: Vec<PublicKey>,
    pub message: Vec<u8>,
    pub signature: ItemSignature,
}

impl FastAggregate {
    /// The batch item this check is (the keys' sum, the message, the signature), or its verdict
    /// already when the keys sum to the identity: `invalid_signature`, unless the signature
    /// itself fails decoding, whose code comes first (docs/API.md: signature, keys, pairing).
    pub fn fold(&self) -> Result<Result<SignedItem, ItemError>, EngineError> {
        // The sum needs no thread pool: up to `max_items` additions, a fraction of a pairing.
        let sum = CpuEngine::on_caller_thread().aggregate_public_keys(&self.public_keys)?;
        // A sum of validated keys is in the subgroup: KeyValidate has only the identity left to
        // refuse.
        if sum.is_identity() {
            let error = self.signature.decoded().err();
            return Ok(Err(error.unwrap_or(ItemError::InvalidSignature)));
        }
        Ok(Ok(SignedItem {
            public_key: sum,
            message: self.message.clone(),
            signature: self.signature.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use blst::{blst_p1, blst_p1_affine, min_pk};

    use super::*;
    use crate::codec::{decode_public_key, decode_signature};
    use crate::suite::{Scheme, Variant};

    const SUITE: Suite = Suite::new(Scheme::Pop, Variant::MinPk);

    fn secret(seed: u8) -> min_pk::SecretKey {
        min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap()
    }

    fn key(sk: &min_pk::SecretKey) -> PublicKey {
        decode_public_key(Variant::MinPk, &sk.sk_to_pk().compress()).unwrap()
    }

    /// −pk, so that pk + (−pk) is the identity.
    fn negated(pk: &PublicKey) -> PublicKey {
        let PublicKey::G1(pk) = pk else {
            unreachable!()
        };
        let affine: &blst_p1_affine = pk.into();
        let mut point = blst_p1::default();
        let mut negated = blst_p1_affine::default();
        // SAFETY: valid references to blst points.
        unsafe {
            blst::blst_p1_from_affine(&mut point, affine);
            blst::blst_p1_cneg(&mut point, true);
            blst::blst_p1_to_affine(&mut negated, &point);
        }
        PublicKey::G1(min_pk::PublicKey::from(negated))
    }

    fn fast_aggregate(public_keys: Vec<PublicKey>, signature: ItemSignature) -> FastAggregate {
        FastAggregate {
            suite: SUITE,
            public_keys,
            message: b"m".to_vec(),
            signature,
        }
    }

    fn signature_bytes() -> Vec<u8> {
        secret(1).sign(b"m", SUITE.dst(), &[]).compress().to_vec()
    }

    #[test]
    fn the_item_carries_the_keys_sum_the_message_and_the_signature() {
        let keys = vec![key(&secret(1)), key(&secret(2))];
        let signature = ItemSignature::parse(Variant::MinPk, signature_bytes(), true).unwrap();
        let item = fast_aggregate(keys.clone(), signature)
            .fold()
            .unwrap()
            .unwrap();
        let sum = CpuEngine::on_caller_thread()
            .aggregate_public_keys(&keys)
            .unwrap();
        assert_eq!(item.public_key, sum);
        assert_eq!(item.message, b"m");
        assert!(matches!(item.signature, ItemSignature::Deferred(_)));
    }

    #[test]
    fn keys_summing_to_the_identity_do_not_verify_before_any_batch() {
        let pk = key(&secret(3));
        let signature = decode_signature(Variant::MinPk, &signature_bytes()).unwrap();
        let folded = fast_aggregate(vec![pk, negated(&pk)], signature.into()).fold();
        assert_eq!(folded.unwrap().err(), Some(ItemError::InvalidSignature));
    }

    #[test]
    fn a_bad_deferred_signature_reports_its_code_before_the_identity_sum() {
        // x = 0 with the compression bit: screened as canonical, but no point of G2 has it.
        let mut zero_x = vec![0u8; 96];
        zero_x[0] = 0x80;
        let signature = ItemSignature::parse(Variant::MinPk, zero_x.clone(), true).unwrap();
        let pk = key(&secret(4));
        let folded = fast_aggregate(vec![pk, negated(&pk)], signature).fold();
        assert_eq!(
            folded.unwrap().err(),
            decode_signature(Variant::MinPk, &zero_x).err()
        );
    }
}
