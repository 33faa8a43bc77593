//! Proofs of possession (draft-irtf-cfrg-bls-signature §3.3): PopVerify(pk, proof) checks a
//! signature over the key's own compressed encoding with the POP tag. Many proofs are checked
//! as one random linear combination (non-zero 64-bit scalars from the OS CSPRNG, as for
//! signatures), bisected on failure, so a bulk import runs at batch-verification speed and one
//! forged proof costs only its own entry.

use crate::engine::{bisect, CpuEngine, EngineError, SignedItem};
use crate::suite::{Scheme, Suite, Variant};

/// A decoded key with its proof, both already strictly validated, as a signed item: the
/// message a proof signs is the compressed key.
pub type Candidate = SignedItem;

/// Whether all proofs of `batch` (one variant) verify, except with probability ≤ 2^-64: the
/// CPU engine's batch check (random linear combination) under the proof-of-possession tag.
fn check_batch(variant: Variant, batch: &[&Candidate]) -> Result<bool, EngineError> {
    let dst = Suite::new(Scheme::Pop, variant).pop_dst();
    CpuEngine::new()
        .verify_batch_with_dst(variant, dst, batch)
        .map(|verdict| verdict.all_valid())
}

/// One verdict per candidate (true = its proof verifies), in order. Candidates may mix
/// variants; each variant is batched on its own.
pub fn verify_proofs(candidates: &[Candidate]) -> Result<Vec<bool>, EngineError> {
    let mut verdicts = vec![false; candidates.len()];
    for variant in [Variant::MinPk, Variant::MinSig] {
        let (positions, batch): (Vec<usize>, Vec<&Candidate>) = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.public_key.variant() == variant)
            .unzip();
        let (batch_verdicts, _) = bisect(&batch, |chunk| check_batch(variant, chunk))?;
        for (position, valid) in positions.into_iter().zip(batch_verdicts) {
            verdicts[position] = valid;
        }
    }
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode_public_key, decode_signature};
    use blst::min_pk;

    fn candidate(seed: u8, forge: bool) -> Candidate {
        let sk = min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap();
        let compressed = sk.sk_to_pk().compress().to_vec();
        let dst = Suite::new(Scheme::Pop, Variant::MinPk).pop_dst();
        // A forged proof: a valid signature, but over another message.
        let message: &[u8] = if forge { b"not my key" } else { &compressed };
        let proof = sk.sign(message, dst, &[]).compress();
        Candidate {
            public_key: decode_public_key(Variant::MinPk, &compressed).unwrap(),
            message: compressed,
            signature: decode_signature(Variant::MinPk, &proof).unwrap().into(),
        }
    }

    #[test]
    fn a_forged_proof_fails_alone() {
        let candidates: Vec<Candidate> = (1..=9).map(|i| candidate(i, i == 6)).collect();
        let verdicts = verify_proofs(&candidates).unwrap();
        assert_eq!(verdicts, (1..=9).map(|i| i != 6).collect::<Vec<_>>());
    }
}
