//! The CPU's share of a device-backed batch check: hashing the messages (which needs nothing
//! from the device), the Miller loops on the device's blinded keys, the final exponentiation
//! against the device's sum.

use std::any::Any;

use blst::{
    blst_p1_affine, blst_p1_to_affine, blst_p2_affine, blst_p2_to_affine, MultiPoint, Pairing,
};

use super::super::batch_equation::{self, hash_messages, raw_miller_loops, KeyPoint, Refused};
use super::super::fallback::FallbackReason;
use super::super::grouping::{grouping_pays, same_message_groups};

/// A blinded item point rᵢ·pkᵢ returned by the device, of either group.
pub trait Blinded: KeyPoint {
    /// The sum of `points` (not empty).
    fn sum(points: &[Self]) -> Self;
}

macro_rules! blinded {
    ($affine:ty, $to_affine:ident) => {
        impl Blinded for $affine {
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
blinded!(blst_p1_affine, blst_p1_to_affine);
blinded!(blst_p2_affine, blst_p2_to_affine);

/// A batch's messages hashed, one hash per distinct message, grouped as the Miller loops will
/// pair them: items repeating a message are summed first when that pays, as the CPU engine
/// does (super::super::grouping).
pub struct HashedMessages<P: KeyPoint> {
    items: usize,
    /// The items of each distinct message, in order of first appearance.
    groups: Vec<Vec<usize>>,
    /// Whether each group's blinded keys are summed into one term.
    summed: bool,
    /// H(m) of each group's message.
    hashes: Vec<P::Hash>,
}

impl<P: Blinded> HashedMessages<P> {
    /// Hashes `messages` (one per item) to the keys' pairing group, over the cores.
    pub fn new(dst: &[u8], messages: &[&[u8]]) -> Self {
        let groups = same_message_groups(messages);
        let distinct: Vec<&[u8]> = groups.iter().map(|group| messages[group[0]]).collect();
        HashedMessages {
            items: messages.len(),
            summed: grouping_pays(&groups, messages.len()),
            hashes: hash_messages::<P>(dst, &distinct),
            groups,
        }
    }

    /// The key side on the device's blinded keys rᵢ·pkᵢ (one per item, in item order):
    /// Π e(rᵢ·pkᵢ, H(mᵢ)) as Miller loops, not yet exponentiated.
    pub fn miller_loops<'d>(
        &self,
        dst: &'d [u8],
        blinded: &[P],
    ) -> Result<Pairing<'d>, FallbackReason> {
        // An infinity means the device lost a factor: rᵢ ≠ 0, pkᵢ ≠ infinity. Checked per item,
        // before any sum could hide it; so is a missing or extra item.
        if blinded.len() != self.items || blinded.iter().any(KeyPoint::is_infinity) {
            return Err(FallbackReason::BadResult);
        }
        let terms: Vec<(P, &P::Hash)> = match self.summed {
            true => self
                .groups
                .iter()
                .zip(&self.hashes)
                .map(|(group, hash)| {
                    let points: Vec<P> = group.iter().map(|&i| blinded[i]).collect();
                    (P::sum(&points), hash)
                })
                .collect(),
            false => self
                .groups
                .iter()
                .zip(&self.hashes)
                .flat_map(|(group, hash)| group.iter().map(move |&i| (blinded[i], hash)))
                .collect(),
        };
        // A group's sum at infinity (probability ~2⁻⁶⁴ for honest keys) is refused too; the CPU
        // then verifies the batch.
        raw_miller_loops(dst, &terms).map_err(|Refused| FallbackReason::BadResult)
    }
}

/// Π e(blindedᵢ, H(mᵢ)) = e(g, sum) with every device result in hand: the CPU's share done
/// after the device's (what [`super::overlap::overlapped_check`] spreads over the device's
/// jobs).
pub fn pairing_check<P: Blinded, S: Any>(
    dst: &[u8],
    blinded: &[P],
    messages: &[&[u8]],
    sum: &S,
) -> Result<bool, FallbackReason> {
    let key_side = HashedMessages::new(dst, messages).miller_loops(dst, blinded)?;
    Ok(final_check(key_side, sum))
}

/// The final exponentiation against e(g, sum).
pub use batch_equation::final_check;

#[cfg(test)]
pub(super) mod tests {
    use blst::{blst_p1, min_pk};
    use rand_core::{OsRng, RngCore};

    use super::*;

    pub(in super::super) const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_";

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

    /// A batch and what the device returns for it (rᵢ·pkᵢ, Σ rᵢ·σᵢ).
    pub(in super::super) struct Batch {
        pub messages: Vec<Vec<u8>>,
        pub blinded: Vec<blst_p1_affine>,
        pub sum: blst_p2_affine,
    }

    impl Batch {
        pub fn messages(&self) -> Vec<&[u8]> {
            self.messages.iter().map(Vec::as_slice).collect()
        }
    }

    /// 64 items over `distinct` messages; item `bad` (if any) signed another message.
    pub(in super::super) fn batch(distinct: usize, bad: Option<usize>) -> Batch {
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
        Batch {
            messages,
            blinded,
            sum,
        }
    }

    fn check(distinct: usize, bad: Option<usize>) -> Result<bool, FallbackReason> {
        let batch = batch(distinct, bad);
        pairing_check(DST, &batch.blinded, &batch.messages(), &batch.sum)
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

    #[test]
    fn min_sig_keys_pair_with_messages_hashed_to_g1() {
        use blst::{blst_p2, min_sig};
        const DST_G1: &[u8] = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_";
        let check = |bad: Option<usize>| {
            let messages: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 5]).collect();
            let (mut blinded, mut sigs, mut scalars) = (Vec::new(), Vec::new(), Vec::new());
            for (i, message) in messages.iter().enumerate() {
                let sk = min_sig::SecretKey::key_gen(&[i as u8 + 1; 32], &[]).unwrap();
                let signed: &[u8] = if bad == Some(i) { b"other" } else { message };
                let r = (OsRng.next_u64() | 1).to_le_bytes();
                let key: blst_p2 = [blst_p2_affine::from(sk.sk_to_pk())].mult(&r, 64);
                let mut affine = blst_p2_affine::default();
                unsafe { blst_p2_to_affine(&mut affine, &key) };
                blinded.push(affine);
                sigs.push(blst_p1_affine::from(sk.sign(signed, DST_G1, &[])));
                scalars.extend(r);
            }
            let mut sum = blst_p1_affine::default();
            unsafe { blst_p1_to_affine(&mut sum, &sigs.mult(&scalars, 64)) };
            let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
            pairing_check(DST_G1, &blinded, &messages, &sum)
        };
        assert_eq!(check(None), Ok(true));
        assert_eq!(check(Some(3)), Ok(false));
    }

    #[test]
    fn a_missing_or_extra_blinded_key_is_refused() {
        let batch = batch(64, None);
        let messages = batch.messages();
        let hashed = HashedMessages::new(DST, &messages);
        assert!(hashed.miller_loops(DST, &batch.blinded[1..]).is_err());
        let mut extra = batch.blinded.clone();
        extra.push(batch.blinded[0]);
        assert!(hashed.miller_loops(DST, &extra).is_err());
        let key_side = hashed.miller_loops(DST, &batch.blinded).unwrap();
        assert!(final_check(key_side, &batch.sum));
    }
}
