//! The CPU's audit of a device "invalid": the device's blinded keys rᵢ·pkᵢ and its sum
//! Σ rᵢ·σᵢ recomputed from the job inputs and compared. The canary (super::canary) guards a
//! device "valid"; a device "invalid" is confirmed on the CPU anyway, but a confirmed
//! "invalid" says nothing about whether the device was right: a device that drops or alters
//! an item of a batch that has bad items too would go unnoticed. The audit costs n 64-bit
//! multiplications and one multi-scalar multiplication, a fraction of the CPU's confirmation
//! (n hashes and Miller loops) it follows, and runs only on this failure path.

use super::super::fallback::FallbackReason;
use super::canary::CanaryPoint;
use tollgate_abi::SCALAR_WORDS;

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
}
