//! The CPU's share of a device-backed batch check.

use std::any::Any;

use blst::{
    blst_p1_affine, blst_p1_affine_is_inf, blst_p1_to_affine, blst_p2_affine,
    blst_p2_affine_is_inf, blst_p2_to_affine, MultiPoint, Pairing,
};

use super::super::batch_equation::{self, KeyTerm, Refused};
use super::super::fallback::FallbackReason;
use super::super::grouping::{grouping_pays, same_message_groups};

/// A blinded item point rᵢ·pkᵢ returned by the device, of either group.
pub trait Blinded: Any + Sync + Copy {
    fn is_infinity(&self) -> bool;
    /// The sum of `points` (not empty).
    fn sum(points: &[Self]) -> Self;
}

macro_rules! blinded {
    ($affine:ty, $is_inf:ident, $to_affine:ident) => {
        impl Blinded for $affine {
            fn is_infinity(&self) -> bool {
                // SAFETY: a valid reference to an affine point.
                unsafe { $is_inf(self) }
            }

            fn sum(points: &[Self]) -> Self {
                let sum = points.add();
                let mut affine = Self::default();
                // SAFETY: both pointers are valid points of the group.
                unsafe { $to_affine(&mut affine, &sum) };
                affine
            }
        }
    };
}
blinded!(blst_p1_affine, blst_p1_affine_is_inf, blst_p1_to_affine);
blinded!(blst_p2_affine, blst_p2_affine_is_inf, blst_p2_to_affine);

/// Π e(blindedᵢ, H(mᵢ)) = e(g, sum), with blst hashing the messages: the CPU's share of a
/// device-backed batch check ([`miller_loops`] then [`final_check`]).
pub fn pairing_check<P: Blinded, S: Any>(
    dst: &[u8],
    blinded: &[P],
    messages: &[&[u8]],
    sum: &S,
) -> Result<bool, FallbackReason> {
    Ok(final_check(miller_loops(dst, blinded, messages)?, sum))
}

/// Hashes the messages and accumulates the Miller loops of (blindedᵢ, H(mᵢ)) on every core
/// (super::super::batch_equation). Items repeating a message are summed first, as the CPU
/// engine does (super::super::grouping). It needs only the blinded points, so it can run while
/// the device still computes the sum.
pub fn miller_loops<'d, P: Blinded>(
    dst: &'d [u8],
    blinded: &[P],
    messages: &[&[u8]],
) -> Result<Pairing<'d>, FallbackReason> {
    // An infinity means the device lost a factor: rᵢ ≠ 0, pkᵢ ≠ infinity. Checked per item,
    // before any sum could hide it.
    if blinded.iter().any(Blinded::is_infinity) {
        return Err(FallbackReason::BadResult);
    }
    let groups = same_message_groups(messages);
    let terms: Vec<KeyTerm<P>> = match grouping_pays(&groups, messages.len()) {
        true => groups
            .iter()
            .map(|group| {
                let points: Vec<P> = group.iter().map(|&i| blinded[i]).collect();
                KeyTerm::Summed {
                    key: P::sum(&points),
                    message: messages[group[0]],
                }
            })
            .collect(),
        false => blinded
            .iter()
            .zip(messages)
            .map(|(&key, &message)| KeyTerm::Summed { key, message })
            .collect(),
    };
    // A group's sum at infinity (probability ~2⁻⁶⁴ for honest keys) is refused too; the CPU
    // then verifies the batch.
    batch_equation::miller_loops(dst, &terms).map_err(|Refused| FallbackReason::BadResult)
}

/// The final exponentiation against e(g, sum).
pub use super::super::batch_equation::final_check;

#[cfg(test)]
mod tests {
    use blst::{blst_p1, min_pk};
    use rand_core::{OsRng, RngCore};

    use super::*;

    const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";

    /// What the device returns for a batch, computed here with blst: rᵢ·pkᵢ and Σ rᵢ·σᵢ.
    fn device_share(
        keys: &[blst_p1_affine],
        sigs: &[blst_p2_affine],
    ) -> (Vec<blst_p1_affine>, blst_p2_affine) {
        let scalars: Vec<u8> = (0..keys.len())
            .flat_map(|_| (OsRng.next_u64() | 1).to_le_bytes())
            .collect();
        let blinded = keys
            .iter()
            .zip(scalars.chunks(8))
            .map(|(key, r)| {
                let point: blst_p1 = [*key].mult(r, 64);
                let mut affine = blst_p1_affine::default();
                unsafe { blst_p1_to_affine(&mut affine, &point) };
                affine
            })
            .collect();
        let mut sum = blst_p2_affine::default();
        unsafe { blst_p2_to_affine(&mut sum, &sigs.mult(&scalars, 64)) };
        (blinded, sum)
    }

    /// 64 items over `distinct` messages; item `bad` (if any) signed another message.
    fn check(distinct: usize, bad: Option<usize>) -> Result<bool, FallbackReason> {
        let messages: Vec<Vec<u8>> = (0..64).map(|i| vec![(i % distinct) as u8; 8]).collect();
        let (mut keys, mut sigs) = (Vec::new(), Vec::new());
        for (i, message) in messages.iter().enumerate() {
            let mut ikm = [0u8; 32];
            OsRng.fill_bytes(&mut ikm);
            let sk = min_pk::SecretKey::key_gen(&ikm, &[]).unwrap();
            let signed = match bad == Some(i) {
                true => b"something else".to_vec(),
                false => message.clone(),
            };
            keys.push(blst_p1_affine::from(sk.sk_to_pk()));
            sigs.push(blst_p2_affine::from(sk.sign(&signed, DST, &[])));
        }
        let (blinded, sum) = device_share(&keys, &sigs);
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        pairing_check(DST, &blinded, &messages, &sum)
    }

    #[test]
    fn grouped_and_item_by_item_checks_give_the_batch_verdict() {
        // 1, 4 and 16 messages are grouped (the sums pay), 64 distinct are not.
        for distinct in [1, 4, 16, 64] {
            assert_eq!(check(distinct, None), Ok(true), "{distinct} messages");
            for bad in [0, 17, 63] {
                assert_eq!(
                    check(distinct, Some(bad)),
                    Ok(false),
                    "{distinct}, bad {bad}"
                );
            }
        }
    }

    #[test]
    fn a_lost_factor_is_refused_before_any_sum_hides_it() {
        let g = unsafe { *blst::blst_p1_affine_generator() };
        let sum = blst_p2_affine::default();
        let blinded = [g, blst_p1_affine::default(), g, g];
        let messages: [&[u8]; 4] = [b"m"; 4];
        assert_eq!(
            pairing_check(DST, &blinded, &messages, &sum),
            Err(FallbackReason::BadResult)
        );
    }
}
