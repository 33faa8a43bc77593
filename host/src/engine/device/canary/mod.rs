//! The secret canary item of a device batch: a device that returns well-formed but wrong
//! values (a scalar ignored, an item dropped or altered, outputs reordered) must not turn an
//! invalid batch into "valid". The host adds an item whose blinded values it can predict and
//! the device cannot tell from the others:
//!
//! - key k·g, a random message m, signature k·H(m) + Δ with Δ = d·g (k, d random scalars), its
//!   own 64-bit blinding scalar r, at a random position among the items;
//! - the device's blinded canary key must equal (r·k)·g, computed here at a fixed base;
//! - the device's sum carries r·Δ: the check takes Σ − (r·d)·g as the signature side. The
//!   canary's signature is invalid by Δ, which only the host can cancel: a device that drops
//!   the canary, ignores its scalar or changes its signature leaves a multiple of Δ in the
//!   equation, and one that ignores every scalar fails the key check.
//!
//! Everything comes from the OS CSPRNG per batch; nothing about the canary reaches a verdict,
//! a log or a metric of the caller's items. k is full-size: from k·g a device must not find k
//! (a 64-bit k would fall to a kangaroo search of ~2³² steps).

use blst::{
    blst_fp12, blst_fp_cneg, blst_hash_to_g1, blst_hash_to_g2, blst_keygen, blst_p1,
    blst_p1_add_or_double, blst_p1_affine, blst_p1_affine_is_equal, blst_p1_cneg,
    blst_p1_from_affine, blst_p1_to_affine, blst_p2, blst_p2_add_or_double, blst_p2_affine,
    blst_p2_affine_compress, blst_p2_affine_is_equal, blst_p2_cneg, blst_p2_from_affine,
    blst_p2_to_affine, blst_scalar, blst_scalar_from_uint64, blst_sign_pk_in_g1,
    blst_sign_pk_in_g2, blst_sk_add_n_check, blst_sk_mul_n_check, blst_sk_to_pk_in_g1,
    blst_sk_to_pk_in_g2, MultiPoint,
};
use rand_core::{OsRng, RngCore};
use tollgate_abi::{G1_WORDS, G2_WORDS, SCALAR_WORDS};
use tollgate_drivers::codec;

use super::super::EngineError;
use super::points::{blinding_scalars, push_g1, push_g2};

/// A point of either group, with what the canary needs of it.
pub trait CanaryPoint: Copy + Send + Sync + 'static {
    /// Words of the point in a device job.
    const WORDS: usize;
    /// s·g for the group's generator g (fixed base).
    fn base_mul(s: &blst_scalar) -> Self;
    /// H(m) and s·H(m), `message` hashed to this group under `dst` (one hash for both).
    fn hash_and_mul(dst: &[u8], message: &[u8], s: &blst_scalar) -> (Self, Self);
    /// self + other, or self − other.
    fn add(&self, other: &Self, subtract: bool) -> Self;
    fn equals(&self, other: &Self) -> bool;
    fn push(&self, words: &mut Vec<u32>);
    /// Σ rᵢ·pointsᵢ for 64-bit rᵢ (one point: r·point), as the device's jobs compute it.
    fn multi_scaled(points: &[Self], scalars: &[u64]) -> Self;
}

macro_rules! canary_point {
    ($affine:ty, $proj:ty, $words:expr, $to_pk:ident, $hash_to:ident, $sign:ident,
     $from_affine:ident, $add:ident, $cneg:ident, $to_affine:ident, $equal:ident, $push:ident) => {
        impl CanaryPoint for $affine {
            const WORDS: usize = $words;

            fn base_mul(s: &blst_scalar) -> Self {
                let (mut point, mut out) = (<$proj>::default(), <$affine>::default());
                // SAFETY: valid output and scalar pointers.
                unsafe {
                    $to_pk(&mut point, s);
                    $to_affine(&mut out, &point);
                }
                out
            }

            fn hash_and_mul(dst: &[u8], message: &[u8], s: &blst_scalar) -> (Self, Self) {
                let (mut hash, mut point) = (<$proj>::default(), <$proj>::default());
                let (mut hash_out, mut out) = (<$affine>::default(), <$affine>::default());
                // SAFETY: valid pointers; message and tag are read for their lengths, the
                // augmentation is empty (as the batch's hashing: super::super::batch_equation).
                unsafe {
                    $hash_to(
                        &mut hash,
                        message.as_ptr(),
                        message.len(),
                        dst.as_ptr(),
                        dst.len(),
                        [].as_ptr(),
                        0,
                    );
                    $sign(&mut point, &hash, s);
                    $to_affine(&mut hash_out, &hash);
                    $to_affine(&mut out, &point);
                }
                (hash_out, out)
            }

            fn add(&self, other: &Self, subtract: bool) -> Self {
                let (mut lhs, mut rhs) = (<$proj>::default(), <$proj>::default());
                let (mut sum, mut out) = (<$proj>::default(), <$affine>::default());
                // SAFETY: valid pointers to points of the group.
                unsafe {
                    $from_affine(&mut lhs, self);
                    $from_affine(&mut rhs, other);
                    $cneg(&mut rhs, subtract);
                    $add(&mut sum, &lhs, &rhs);
                    $to_affine(&mut out, &sum);
                }
                out
            }

            fn equals(&self, other: &Self) -> bool {
                // SAFETY: valid references.
                unsafe { $equal(self, other) }
            }

            fn push(&self, words: &mut Vec<u32>) {
                $push(words, self);
            }

            fn multi_scaled(points: &[Self], scalars: &[u64]) -> Self {
                let bytes: Vec<u8> = scalars.iter().flat_map(|r| r.to_le_bytes()).collect();
                let product: $proj = points.mult(&bytes, 64);
                let mut out = <$affine>::default();
                // SAFETY: valid pointers.
                unsafe { $to_affine(&mut out, &product) };
                out
            }
        }
    };
}

canary_point!(
    blst_p1_affine,
    blst_p1,
    G1_WORDS,
    blst_sk_to_pk_in_g1,
    blst_hash_to_g1,
    blst_sign_pk_in_g2,
    blst_p1_from_affine,
    blst_p1_add_or_double,
    blst_p1_cneg,
    blst_p1_to_affine,
    blst_p1_affine_is_equal,
    push_g1
);
canary_point!(
    blst_p2_affine,
    blst_p2,
    G2_WORDS,
    blst_sk_to_pk_in_g2,
    blst_hash_to_g2,
    blst_sign_pk_in_g1,
    blst_p2_from_affine,
    blst_p2_add_or_double,
    blst_p2_cneg,
    blst_p2_to_affine,
    blst_p2_affine_is_equal,
    push_g2
);

/// One batch's canary: keys in `K`, signatures (and hashes) in `S`.
pub struct Canary<K, S> {
    position: usize,
    scalar: u64,
    message: [u8; 32],
    key: K,
    signature: S,
    /// (r·k)·g: what the device must return for the canary's key.
    blinded_key: K,
    /// (r·d)·g: the canary's r·Δ in the device's sum.
    correction: S,
}

/// A uniformly random non-zero scalar mod the group order (blst's key generation from 32
/// bytes of the OS CSPRNG).
fn random_scalar() -> Result<blst_scalar, EngineError> {
    let mut ikm = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut ikm)
        .map_err(|e| EngineError::Rng(e.to_string()))?;
    let mut scalar = blst_scalar::default();
    // SAFETY: valid output pointer; the IKM is read for its length, the info is empty.
    unsafe { blst_keygen(&mut scalar, ikm.as_ptr(), ikm.len(), [].as_ptr(), 0) };
    Ok(scalar)
}

/// a·r mod the group order for a 64-bit r (non-zero for non-zero a and r: the order is prime).
fn times(a: &blst_scalar, r: u64) -> blst_scalar {
    let (mut r_scalar, mut product) = (blst_scalar::default(), blst_scalar::default());
    // SAFETY: valid pointers; blst_scalar_from_uint64 reads four limbs.
    unsafe {
        blst_scalar_from_uint64(&mut r_scalar, [r, 0, 0, 0].as_ptr());
        blst_sk_mul_n_check(&mut product, a, &r_scalar);
    }
    product
}

/// The secrets of one canary, fresh from the OS CSPRNG.
struct Draw {
    k: blst_scalar,
    d: blst_scalar,
    scalar: u64,
    message: [u8; 32],
    position: usize,
}

impl Draw {
    /// For a batch of `items` items: the canary goes at one of `items + 1` positions.
    fn new(items: usize) -> Result<Draw, EngineError> {
        let (k, d) = (random_scalar()?, random_scalar()?);
        let scalar = blinding_scalars(1)?[0];
        let mut message = [0u8; 32];
        let mut position = [0u8; 8];
        for bytes in [&mut message[..], &mut position[..]] {
            OsRng
                .try_fill_bytes(bytes)
                .map_err(|e| EngineError::Rng(e.to_string()))?;
        }
        // Modulo bias ≤ items / 2⁶⁴: negligible.
        let position = (u64::from_le_bytes(position) % (items as u64 + 1)) as usize;
        Ok(Draw {
            k,
            d,
            scalar,
            message,
            position,
        })
    }

    /// k·H(m) + d·g: the canary's signature, off by Δ = d·g.
    fn signature<S: CanaryPoint>(&self, dst: &[u8]) -> S {
        let (_, multiple) = S::hash_and_mul(dst, &self.message, &self.k);
        multiple.add(&S::base_mul(&self.d), false)
    }
}

impl<K: CanaryPoint, S: CanaryPoint> Canary<K, S> {
    /// A fresh canary for a batch of `items` items under the hash tag `dst`.
    pub fn new(dst: &[u8], items: usize) -> Result<Self, EngineError> {
        let draw = Draw::new(items)?;
        Ok(Canary {
            position: draw.position,
            scalar: draw.scalar,
            message: draw.message,
            key: K::base_mul(&draw.k),
            signature: draw.signature(dst),
            blinded_key: K::base_mul(&times(&draw.k, draw.scalar)),
            correction: S::base_mul(&times(&draw.d, draw.scalar)),
        })
    }

    /// The blinding job's and the sum job's inputs (scalar and point per item) with the
    /// canary's item inserted at its position.
    pub fn inputs(&self, keys: &[u32], sigs: &[u32]) -> (Vec<u32>, Vec<u32>) {
        let insert = |words: &[u32], point_words: usize, push: &dyn Fn(&mut Vec<u32>)| {
            let at = self.position * (SCALAR_WORDS + point_words);
            let mut out = Vec::with_capacity(words.len() + SCALAR_WORDS + point_words);
            out.extend_from_slice(&words[..at]);
            out.extend(codec::encode_scalar(self.scalar));
            push(&mut out);
            out.extend_from_slice(&words[at..]);
            out
        };
        (
            insert(keys, K::WORDS, &|out| self.key.push(out)),
            insert(sigs, S::WORDS, &|out| self.signature.push(out)),
        )
    }

    /// The batch's messages with the canary's at its position.
    pub fn messages<'m>(&'m self, messages: &[&'m [u8]]) -> Vec<&'m [u8]> {
        let mut out = messages.to_vec();
        out.insert(self.position, &self.message);
        out
    }

    /// Whether the device's blinded keys (the canary's included) hold (r·k)·g at the
    /// canary's position.
    pub fn key_holds(&self, blinded: &[K]) -> bool {
        blinded
            .get(self.position)
            .is_some_and(|key| key.equals(&self.blinded_key))
    }

    /// The device's sum with the canary's r·Δ taken out: the signature side of the check.
    pub fn signature_side(&self, sum: &S) -> S {
        sum.add(&self.correction, true)
    }
}

/// The canary of a whole-verification batch (min_pk, super::whole), with its Δ on the key
/// side: key (k + d)·g₁, a random message m, signature k·H(m) (k, d full-size random scalars),
/// its own blinding scalar r, at a random position. The device decodes, hashes, blinds and
/// pairs it like any item, so a faithful device's lane product carries the canary's
/// e(r·(k + d)·g₁, H(m))·e(−g₁, r·k·H(m)) = e(g₁, H(m))^(r·d), a value only the host knows
/// (the device would need d, hidden behind k in the key and k behind H(m) in the signature).
/// The host multiplies the product by `target` = ML(H(m), (r·d)·(−g₁)) before the one final
/// exponentiation: 1 iff the batch is valid.
///
/// Why it still holds with Δ moved from the signature (k·H(m) + d·g₂, target ML(g₂, (r·d)·g₁))
/// to the key: the canary's contribution is again e(g₁, ·)^(r·d) for a secret full-size d and
/// a point the device cannot predict, so a device that drops the canary (leaves
/// e(g₁, H)^(−r·d) ≠ 1: H ≠ 0, r·d ≠ 0 mod q), ignores its scalar (leaves e(g₁, H)^(d·(1−r))),
/// alters its signature or key (leaves the alteration's pairing), or returns constant lanes
/// (must guess e(g₁, H)^(r·d)) fails the check but with probability ≈ 1/q. The device sees a
/// key and a signature whose discrete logarithms are full-size and unrelated to each other,
/// as those of any invalid item: it cannot tell the canary from the items. What changes is the
/// host's cost: no d·g₂ (a full G2 multiplication) and no point addition; the Miller loop takes
/// H(m), which the host computes anyway for k·H(m), in place of g₂ (measured: bench
/// canary_cost --whole, "canary parts").
pub struct LaneCanary {
    /// Its position among the batch's items.
    pub position: usize,
    /// Its blinding scalar r.
    pub scalar: u64,
    message: [u8; 32],
    key: blst_p1_affine,
    signature: blst_p2_affine,
    target: blst_fp12,
}

impl LaneCanary {
    /// A fresh canary for a batch of `items` items under the hash tag `dst`.
    pub fn new(dst: &[u8], items: usize) -> Result<Self, EngineError> {
        let draw = Draw::new(items)?;
        let (hash, signature) = blst_p2_affine::hash_and_mul(dst, &draw.message, &draw.k);
        let mut key_scalar = blst_scalar::default();
        // SAFETY: valid pointers. k + d mod q is zero with probability 1/q; the device does
        // not check keys, and the check then fails: the batch falls back to the CPU.
        unsafe { blst_sk_add_n_check(&mut key_scalar, &draw.k, &draw.d) };
        let mut correction = blst_p1_affine::base_mul(&times(&draw.d, draw.scalar));
        // SAFETY: valid field elements; −(x, y) = (x, −y).
        unsafe { blst_fp_cneg(&mut correction.y, &correction.y, true) };
        Ok(LaneCanary {
            position: draw.position,
            scalar: draw.scalar,
            message: draw.message,
            key: blst_p1_affine::base_mul(&key_scalar),
            signature,
            target: blst_fp12::miller_loop(&hash, &correction),
        })
    }

    /// The message it signs (hashed like the items').
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    pub fn key(&self) -> &blst_p1_affine {
        &self.key
    }

    pub fn signature(&self) -> &blst_p2_affine {
        &self.signature
    }

    /// Its signature as the device decodes it: compressed.
    pub fn compressed(&self) -> [u8; 96] {
        let mut out = [0u8; 96];
        // SAFETY: `out` has the 96 bytes blst writes; the point is valid.
        unsafe { blst_p2_affine_compress(out.as_mut_ptr(), &self.signature) };
        out
    }

    /// Whether the device's lane product, with the canary's share cancelled, finally
    /// exponentiates to 1: the batch's verdict.
    pub fn holds(&self, product: &blst_fp12) -> bool {
        (*product * self.target).final_exp() == blst_fp12::default()
    }
}

#[cfg(test)]
mod tests {
    //! The canary against a device simulated with blst (min_pk), honest and faulty.

    use blst::{min_pk, MultiPoint};

    use super::super::pairing::pairing_check;
    use super::super::pairing::tests::DST;
    use super::*;

    fn mul_g1(point: &blst_p1_affine, r: u64) -> blst_p1_affine {
        let product: blst_p1 = [*point].mult(&r.to_le_bytes(), 64);
        let mut out = blst_p1_affine::default();
        unsafe { blst_p1_to_affine(&mut out, &product) };
        out
    }

    fn msm_g2(points: &[blst_p2_affine], scalars: &[u64]) -> blst_p2_affine {
        let bytes: Vec<u8> = scalars.iter().flat_map(|r| r.to_le_bytes()).collect();
        let mut out = blst_p2_affine::default();
        unsafe { blst_p2_to_affine(&mut out, &points.mult(&bytes, 64)) };
        out
    }

    /// Eight signed items; with `cancelling`, items 2 and 5 carry σ₂ + δ and σ₅ − δ: both
    /// invalid, their sum valid.
    fn items(cancelling: bool) -> (Vec<Vec<u8>>, Vec<blst_p1_affine>, Vec<blst_p2_affine>) {
        let (mut messages, mut keys, mut sigs) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..8u8 {
            let sk = min_pk::SecretKey::key_gen(&[i + 7; 32], &[]).unwrap();
            let message = vec![i; 12];
            keys.push(blst_p1_affine::from(sk.sk_to_pk()));
            sigs.push(blst_p2_affine::from(sk.sign(&message, DST, &[])));
            messages.push(message);
        }
        if cancelling {
            let delta = blst_p2_affine::base_mul(&random_scalar().unwrap());
            sigs[2] = sigs[2].add(&delta, false);
            sigs[5] = sigs[5].add(&delta, true);
        }
        (messages, keys, sigs)
    }

    /// How the simulated device misbehaves.
    #[derive(Clone, Copy, PartialEq)]
    enum Device {
        Honest,
        /// Every scalar read as 1.
        ScalarsIgnored,
        /// Item `n`'s input replaced by item `n + 1`'s.
        Dropped(usize),
    }

    /// The device's answer (blinded keys, sum) for the items with the canary among them, and
    /// the check's verdict: `Err` when the canary key is refused before any pairing.
    fn batch(cancelling: bool, device: Device) -> Result<bool, &'static str> {
        let (messages, mut keys, mut sigs) = items(cancelling);
        let canary = Canary::<blst_p1_affine, blst_p2_affine>::new(DST, keys.len()).unwrap();
        let mut scalars = blinding_scalars(keys.len()).unwrap();
        keys.insert(canary.position, canary.key);
        sigs.insert(canary.position, canary.signature);
        scalars.insert(canary.position, canary.scalar);
        match device {
            Device::Honest => {}
            Device::ScalarsIgnored => scalars.iter_mut().for_each(|r| *r = 1),
            Device::Dropped(n) => {
                (keys[n], sigs[n], scalars[n]) = (keys[n + 1], sigs[n + 1], scalars[n + 1])
            }
        }
        let blinded: Vec<blst_p1_affine> = keys
            .iter()
            .zip(&scalars)
            .map(|(k, r)| mul_g1(k, *r))
            .collect();
        let sum = msm_g2(&sigs, &scalars);
        if !canary.key_holds(&blinded) {
            return Err("canary key");
        }
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let messages = canary.messages(&messages);
        pairing_check(DST, &blinded, &messages, &canary.signature_side(&sum)).map_err(|_| "refused")
    }

    #[test]
    fn an_honest_device_gives_the_batch_verdict() {
        assert_eq!(batch(false, Device::Honest), Ok(true));
        assert_eq!(batch(true, Device::Honest), Ok(false));
    }

    #[test]
    fn without_the_canary_ignored_scalars_pass_the_cancelling_pair() {
        // The unblinded equation Π e(pkᵢ, H(mᵢ)) = e(g, Σ σᵢ) a scalar-ignoring device
        // leaves: the attacker's δ cancels.
        let (messages, keys, sigs) = items(true);
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let sum = msm_g2(&sigs, &[1; 8]);
        assert_eq!(pairing_check(DST, &keys, &messages, &sum), Ok(true));
        // With the canary the device's answer is refused, whatever the batch.
        for cancelling in [false, true] {
            assert_eq!(batch(cancelling, Device::ScalarsIgnored), Err("canary key"));
        }
    }

    #[test]
    fn ignored_scalars_fail_the_equation_even_past_the_key_check() {
        // Were the key check skipped, the canary's Δ alone breaks the unblinded equation.
        let (messages, mut keys, mut sigs) = items(true);
        let canary = Canary::<blst_p1_affine, blst_p2_affine>::new(DST, keys.len()).unwrap();
        keys.insert(canary.position, canary.key);
        sigs.insert(canary.position, canary.signature);
        let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let sum = msm_g2(&sigs, &[1; 9]);
        let verdict = pairing_check(
            DST,
            &keys,
            &canary.messages(&messages),
            &canary.signature_side(&sum),
        );
        assert_eq!(verdict, Ok(false));
    }

    #[test]
    fn a_dropped_item_never_passes() {
        // Every position, the canary's own included (then its key is wrong).
        for n in 0..8 {
            for cancelling in [false, true] {
                let verdict = batch(cancelling, Device::Dropped(n));
                assert!(verdict != Ok(true), "item {n} dropped: {verdict:?}");
            }
        }
    }

    #[test]
    fn the_canary_sits_anywhere_and_its_inputs_are_one_item_more() {
        let mut seen = [false; 3];
        while !seen.iter().all(|s| *s) {
            let canary = Canary::<blst_p2_affine, blst_p1_affine>::new(DST, 2).unwrap();
            seen[canary.position] = true;
            let (keys, sigs) = canary.inputs(&[7; 2 * (2 + G2_WORDS)], &[9; 2 * (2 + G1_WORDS)]);
            assert_eq!(keys.len(), 3 * (2 + G2_WORDS));
            assert_eq!(sigs.len(), 3 * (2 + G1_WORDS));
            let at = canary.position * (2 + G1_WORDS);
            assert_eq!(sigs[at..at + 2], codec::encode_scalar(canary.scalar));
            let messages: [&[u8]; 2] = [b"a", b"b"];
            assert_eq!(canary.messages(&messages)[canary.position], canary.message);
        }
    }

    /// A whole-path device simulated with blst: the lanes' product Π ML(H(mᵢ), rᵢ·pkᵢ) ·
    /// ML(Σ rᵢσᵢ, −g₁) of the items with the canary among them, under `device`.
    fn lane_product(cancelling: bool, device: Device) -> bool {
        let (messages, mut keys, mut sigs) = items(cancelling);
        let canary = LaneCanary::new(DST, keys.len()).unwrap();
        let mut scalars = blinding_scalars(keys.len()).unwrap();
        let mut messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        keys.insert(canary.position, *canary.key());
        sigs.insert(canary.position, *canary.signature());
        scalars.insert(canary.position, canary.scalar);
        messages.insert(canary.position, canary.message());
        match device {
            Device::Honest => {}
            Device::ScalarsIgnored => scalars.iter_mut().for_each(|r| *r = 1),
            Device::Dropped(n) => {
                (keys[n], sigs[n], scalars[n]) = (keys[n + 1], sigs[n + 1], scalars[n + 1])
            }
        }
        let minus_g1 = unsafe {
            let mut g = *blst::blst_p1_generator();
            blst_p1_cneg(&mut g, true);
            let mut out = blst_p1_affine::default();
            blst_p1_to_affine(&mut out, &g);
            out
        };
        let mut product = blst_fp12::miller_loop(&msm_g2(&sigs, &scalars), &minus_g1);
        for ((key, r), message) in keys.iter().zip(&scalars).zip(&messages) {
            let (hash, _) = blst_p2_affine::hash_and_mul(DST, message, &one());
            product *= blst_fp12::miller_loop(&hash, &mul_g1(key, *r));
        }
        canary.holds(&product)
    }

    /// The scalar 1.
    fn one() -> blst_scalar {
        let mut s = blst_scalar::default();
        s.b[0] = 1;
        s
    }

    #[test]
    fn the_lane_canary_alone_is_an_invalid_item_that_its_target_cancels() {
        let canary = LaneCanary::new(DST, 0).unwrap();
        // Invalid on its own (key (k + d)·g₁, signature k·H(m)): a device that checked it as
        // an item would say so, like any bad item's.
        let key = min_pk::PublicKey::from(*canary.key());
        let signature = min_pk::Signature::from(*canary.signature());
        let verified = signature.verify(true, canary.message(), DST, &[], &key, true);
        assert_eq!(verified, blst::BLST_ERROR::BLST_VERIFY_FAIL);
        // Its lanes alone, blinded by r, finish to 1 with the target; with another r, not.
        let lanes = |r: u64| {
            let (hash, _) = blst_p2_affine::hash_and_mul(DST, canary.message(), &one());
            let mut minus_g1 = unsafe { *blst::blst_p1_affine_generator() };
            unsafe { blst_fp_cneg(&mut minus_g1.y, &minus_g1.y, true) };
            blst_fp12::miller_loop(&hash, &mul_g1(canary.key(), r))
                * blst_fp12::miller_loop(&msm_g2(&[*canary.signature()], &[r]), &minus_g1)
        };
        assert!(canary.holds(&lanes(canary.scalar)));
        assert!(!canary.holds(&lanes(canary.scalar ^ 1)));
    }

    #[test]
    fn the_lane_canary_holds_for_exactly_an_honest_device_on_a_valid_batch() {
        assert!(lane_product(false, Device::Honest));
        assert!(!lane_product(true, Device::Honest));
        assert!(!lane_product(false, Device::ScalarsIgnored));
        assert!(!lane_product(true, Device::ScalarsIgnored));
        for n in 0..8 {
            assert!(!lane_product(false, Device::Dropped(n)), "item {n} dropped");
        }
        // Constant lanes: the product of a device that computes nothing.
        let canary = LaneCanary::new(DST, 8).unwrap();
        assert!(!canary.holds(&blst_fp12::default()));
        let compressed = canary.compressed();
        let decoded = min_pk::Signature::uncompress(&compressed).unwrap();
        assert_eq!(blst_p2_affine::from(decoded), *canary.signature());
    }
}
