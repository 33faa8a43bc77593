//! The CPU's audit of a device "invalid": the device's blinded keys rᵢ·pkᵢ and its sum
//! Σ rᵢ·σᵢ recomputed from the job inputs and compared. The canary (super::canary) guards a
//! device "valid"; a device "invalid" is confirmed on the CPU anyway, but a confirmed
//! "invalid" says nothing about whether the device was right: a device that drops or alters
//! an item of a batch that has bad items too would go unnoticed. The audit costs n 64-bit
//! multiplications and one multi-scalar multiplication, a fraction of the CPU's confirmation
//! (n hashes and Miller loops) it follows, and runs only on this failure path.
//!
//! On the whole path (super::whole) the device's output is the lanes' product: the audit
//! ([`lanes_hold`]) recomputes it on the CPU from the same keys, scalars and messages and the
//! CPU's own decoding of the signatures, and compares the two after the final exponentiation
//! (values equal only up to factors it maps to 1). It costs about a CPU batch check, again
//! only on the failure path.

use blst::{
    blst_fp12, blst_fp12_finalverify, blst_p1_affine, blst_p1_cneg, blst_p1_generator,
    blst_p1_to_affine, blst_p2_affine, blst_p2_affine_is_inf,
};
use tollgate_abi::SCALAR_WORDS;

use super::super::batch_equation::KeyPoint;
use super::super::fallback::FallbackReason;
use super::canary::CanaryPoint;

/// A decoder of one point's device words (a job input item's point).
pub type Decode<P> = fn(&[u32], bool) -> Result<P, FallbackReason>;

/// The scalars and points of a job's input words (scalar then point per item).
fn inputs<P>(words: &[u32], decode: Decode<P>, point_words: usize) -> Option<(Vec<u64>, Vec<P>)> {
    words
        .chunks_exact(SCALAR_WORDS + point_words)
        .map(|item| {
            let scalar = u64::from(item[0]) | u64::from(item[1]) << 32;
            decode(&item[SCALAR_WORDS..], false)
                .ok()
                .map(|p| (scalar, p))
        })
        .collect::<Option<Vec<_>>>()
        .map(|pairs| pairs.into_iter().unzip())
}

/// Whether the device's outputs are the ones its inputs give: every blinded key, and the sum.
pub fn outputs_hold<P: CanaryPoint, S: CanaryPoint>(
    (keys, key_point): (&[u32], Decode<P>),
    (sigs, sig_point): (&[u32], Decode<S>),
    blinded: &[P],
    sum: &S,
) -> bool {
    let (Some((key_scalars, keys)), Some((sig_scalars, sigs))) = (
        inputs(keys, key_point, P::WORDS),
        inputs(sigs, sig_point, S::WORDS),
    ) else {
        return false;
    };
    keys.len() == blinded.len()
        && keys
            .iter()
            .zip(&key_scalars)
            .zip(blinded)
            .all(|((key, r), got)| P::multi_scaled(&[*key], &[*r]).equals(got))
        && S::multi_scaled(&sigs, &sig_scalars).equals(sum)
}

/// One lane item as the device was given it: key, signature, message, scalar.
pub type LaneTerm<'a> = (blst_p1_affine, blst_p2_affine, &'a [u8], u64);

/// Whether the device's lane `product` is what `terms` give: Π ML(H(mᵢ), rᵢ·pkᵢ) ·
/// ML(Σ rᵢσᵢ, −g₁) computed here, equal after the final exponentiation.
pub fn lanes_hold(dst: &[u8], terms: &[LaneTerm<'_>], product: &blst_fp12) -> bool {
    let blinded: Vec<blst_p1_affine> = terms
        .iter()
        .map(|(key, _, _, r)| blst_p1_affine::multi_scaled(&[*key], &[*r]))
        .collect();
    let hashes: Vec<blst_p2_affine> = terms
        .iter()
        .map(|(_, _, message, _)| blst_p1_affine::hash(dst, message))
        .collect();
    let signatures: Vec<blst_p2_affine> = terms.iter().map(|t| t.1).collect();
    let scalars: Vec<u64> = terms.iter().map(|t| t.3).collect();
    let sum = blst_p2_affine::multi_scaled(&signatures, &scalars);
    let mut expected = blst_fp12::miller_loop_n(&hashes, &blinded);
    // SAFETY: valid points; blst's generator is a static point, copied.
    unsafe {
        if !blst_p2_affine_is_inf(&sum) {
            let mut minus_g1 = *blst_p1_generator();
            blst_p1_cneg(&mut minus_g1, true);
            let mut affine = blst_p1_affine::default();
            blst_p1_to_affine(&mut affine, &minus_g1);
            expected *= blst_fp12::miller_loop(&sum, &affine);
        }
        blst_fp12_finalverify(&expected, product)
    }
}

#[cfg(test)]
mod tests {
    use blst::{blst_p1_affine, blst_p2_affine};

    use super::super::canary::CanaryPoint;
    use super::super::points::{push_g1, push_g2, result_g1, result_g2};
    use super::*;

    #[test]
    fn honest_outputs_hold_and_any_changed_one_does_not() {
        let g1 = unsafe { *blst::blst_p1_affine_generator() };
        let g2 = unsafe { *blst::blst_p2_affine_generator() };
        let keys: Vec<blst_p1_affine> = (1..5)
            .map(|i| CanaryPoint::multi_scaled(&[g1], &[i]))
            .collect();
        let sigs: Vec<blst_p2_affine> = (1..5)
            .map(|i| CanaryPoint::multi_scaled(&[g2], &[i + 9]))
            .collect();
        let scalars = [3u64, 1 << 40, 77, u64::MAX];
        let (mut key_words, mut sig_words) = (Vec::new(), Vec::new());
        for ((key, sig), r) in keys.iter().zip(&sigs).zip(scalars) {
            key_words.extend([r as u32, (r >> 32) as u32]);
            push_g1(&mut key_words, key);
            sig_words.extend([r as u32, (r >> 32) as u32]);
            push_g2(&mut sig_words, sig);
        }
        let blinded: Vec<blst_p1_affine> = keys
            .iter()
            .zip(scalars)
            .map(|(k, r)| blst_p1_affine::multi_scaled(&[*k], &[r]))
            .collect();
        let sum = blst_p2_affine::multi_scaled(&sigs, &scalars);
        let check = |blinded: &[blst_p1_affine], sum: &blst_p2_affine| {
            outputs_hold(
                (&key_words, result_g1),
                (&sig_words, result_g2),
                blinded,
                sum,
            )
        };
        assert!(check(&blinded, &sum));
        let mut swapped = blinded.clone();
        swapped.swap(1, 2);
        assert!(!check(&swapped, &sum));
        assert!(!check(&blinded[1..], &sum));
        let unblinded = blst_p2_affine::multi_scaled(&sigs, &[1; 4]);
        assert!(!check(&blinded, &unblinded));
    }

    const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

    /// A device's lanes: each pair's Miller loop apart, multiplied, and (−g₁, Σ rᵢσᵢ)'s.
    fn device_lanes(terms: &[LaneTerm<'_>]) -> blst_fp12 {
        let mut product = blst_fp12::default();
        for (key, _, message, r) in terms {
            let blinded = blst_p1_affine::multi_scaled(&[*key], &[*r]);
            product *= blst_fp12::miller_loop(&blst_p1_affine::hash(DST, message), &blinded);
        }
        let signatures: Vec<blst_p2_affine> = terms.iter().map(|t| t.1).collect();
        let scalars: Vec<u64> = terms.iter().map(|t| t.3).collect();
        let sum = blst_p2_affine::multi_scaled(&signatures, &scalars);
        let mut minus_g1 = unsafe { *blst_p1_generator() };
        unsafe { blst_p1_cneg(&mut minus_g1, true) };
        let mut affine = blst_p1_affine::default();
        unsafe { blst_p1_to_affine(&mut affine, &minus_g1) };
        product * blst_fp12::miller_loop(&sum, &affine)
    }

    #[test]
    fn the_lanes_hold_for_the_device_s_inputs_and_not_for_altered_ones() {
        let messages: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 9]).collect();
        let terms: Vec<LaneTerm<'_>> = messages
            .iter()
            .enumerate()
            .map(|(i, message)| {
                let sk = blst::min_pk::SecretKey::key_gen(&[i as u8 + 1; 32], &[]).unwrap();
                let key = blst_p1_affine::from(sk.sk_to_pk());
                // Item 2 signed another message: the lanes hold whatever the verdict.
                let signed: &[u8] = if i == 2 { b"other" } else { message };
                let signature = blst_p2_affine::from(sk.sign(signed, DST, &[]));
                (key, signature, message.as_slice(), 1000 + i as u64)
            })
            .collect();
        assert!(lanes_hold(DST, &terms, &device_lanes(&terms)));
        // The bad item's scalar read as 1 (a valid item's contribution is 1 whatever its
        // scalar: harmless, and invisible).
        let mut ignored = terms.clone();
        ignored[2].3 = 1;
        assert!(!lanes_hold(DST, &terms, &device_lanes(&ignored)));
        // Item 1's key, signature and scalar in place of item 0's (the drop-item fault).
        let mut dropped = terms.clone();
        (dropped[0].0, dropped[0].1, dropped[0].3) = (terms[1].0, terms[1].1, terms[1].3);
        assert!(!lanes_hold(DST, &terms, &device_lanes(&dropped)));
        assert!(!lanes_hold(DST, &terms, &blst_fp12::default()));
    }

    #[test]
    fn an_aggregate_s_lanes_hold_with_one_scalar_and_the_identity_for_signatures() {
        // super::aggregate's pass: every pair blinded by one r, σ with pair 0, the identity
        // (no signature) with the others; the product says whether σ aggregates the pairs.
        let signed: Vec<(blst_p1_affine, blst_p2_affine, Vec<u8>)> = (0..3u8)
            .map(|i| {
                let sk = blst::min_pk::SecretKey::key_gen(&[i + 40; 32], &[]).unwrap();
                let message = vec![i; 5];
                let signature = blst_p2_affine::from(sk.sign(&message, DST, &[]));
                (blst_p1_affine::from(sk.sk_to_pk()), signature, message)
            })
            .collect();
        let sum = |signatures: &[blst_p2_affine]| {
            blst_p2_affine::multi_scaled(signatures, &vec![1; signatures.len()])
        };
        let all: Vec<blst_p2_affine> = signed.iter().map(|s| s.1).collect();
        let terms = |sigma: blst_p2_affine| -> Vec<LaneTerm<'_>> {
            signed
                .iter()
                .enumerate()
                .map(|(i, (key, _, message))| {
                    let signature = if i == 0 {
                        sigma
                    } else {
                        blst_p2_affine::default()
                    };
                    (*key, signature, message.as_slice(), 0xDEAD_BEEF_0123)
                })
                .collect()
        };
        let valid = terms(sum(&all));
        let one_short = terms(sum(&all[1..]));
        let verdict =
            |terms: &[LaneTerm<'_>]| device_lanes(terms).final_exp() == blst_fp12::default();
        assert!(verdict(&valid));
        assert!(!verdict(&one_short));
        assert!(lanes_hold(DST, &valid, &device_lanes(&valid)));
        assert!(lanes_hold(DST, &one_short, &device_lanes(&one_short)));
        assert!(!lanes_hold(DST, &valid, &device_lanes(&one_short)));
    }
}
