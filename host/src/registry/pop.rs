//! Proofs of possession (draft-irtf-cfrg-bls-signature §3.3): PopVerify(pk, proof) checks a
//! signature over the key's own compressed encoding with the POP tag. Many proofs are checked
//! as one random linear combination (non-zero 64-bit scalars from the OS CSPRNG, as for
//! signatures), bisected on failure, so a bulk import runs at batch-verification speed and one
//! forged proof costs only its own entry.

use blst::{min_pk, min_sig, BLST_ERROR};

use crate::codec::{PublicKey, Signature};
use crate::engine::{bisect, blinding_scalars, EngineError};
use crate::suite::{Scheme, Suite, Variant};

/// A decoded key and its decoded proof, both already strictly validated.
pub struct Candidate {
    pub public_key: PublicKey,
    /// The compressed key: the message the proof signs.
    pub compressed: Vec<u8>,
    pub proof: Signature,
}

macro_rules! pop_batch {
    ($module:ident, $pk:path, $sig:path, $batch:expr, $variant:expr) => {{
        let mut pks = Vec::with_capacity($batch.len());
        let mut sigs = Vec::with_capacity($batch.len());
        let mut msgs = Vec::with_capacity($batch.len());
        for candidate in $batch {
            match (&candidate.public_key, &candidate.proof) {
                ($pk(pk), $sig(sig)) => {
                    pks.push(pk);
                    sigs.push(sig);
                    msgs.push(candidate.compressed.as_slice());
                }
                _ => return Err(EngineError::VariantMismatch($variant)),
            }
        }
        let dst = Suite::new(Scheme::Pop, $variant).pop_dst();
        let result = if pks.len() == 1 {
            sigs[0].verify(false, msgs[0], dst, &[], pks[0], false)
        } else {
            let rands = blinding_scalars(pks.len())?;
            // Keys passed KeyValidate and proofs the subgroup check when they were decoded.
            $module::Signature::verify_multiple_aggregate_signatures(
                &msgs, dst, &pks, false, &sigs, false, &rands, 64,
            )
        };
        Ok(result == BLST_ERROR::BLST_SUCCESS)
    }};
}

/// Whether all proofs of `batch` (one variant) verify, except with probability ≤ 2^-64.
fn check_batch(variant: Variant, batch: &[&Candidate]) -> Result<bool, EngineError> {
    match variant {
        Variant::MinPk => pop_batch!(min_pk, PublicKey::G1, Signature::G2, batch, variant),
        Variant::MinSig => pop_batch!(min_sig, PublicKey::G2, Signature::G1, batch, variant),
    }
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

    fn candidate(seed: u8, forge: bool) -> Candidate {
        let sk = min_pk::SecretKey::key_gen(&[seed; 32], &[]).unwrap();
        let compressed = sk.sk_to_pk().compress().to_vec();
        let dst = Suite::new(Scheme::Pop, Variant::MinPk).pop_dst();
        // A forged proof: a valid signature, but over another message.
        let message: &[u8] = if forge { b"not my key" } else { &compressed };
        let proof = sk.sign(message, dst, &[]).compress();
        Candidate {
            public_key: decode_public_key(Variant::MinPk, &compressed).unwrap(),
            compressed,
            proof: decode_signature(Variant::MinPk, &proof).unwrap(),
        }
    }

    #[test]
    fn a_forged_proof_fails_alone() {
        let candidates: Vec<Candidate> = (1..=9).map(|i| candidate(i, i == 6)).collect();
        let verdicts = verify_proofs(&candidates).unwrap();
        assert_eq!(verdicts, (1..=9).map(|i| i != 6).collect::<Vec<_>>());
    }
}
