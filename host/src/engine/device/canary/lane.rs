//! The canary of a whole-verification batch (min_pk, super::super::whole): the device hashes,
//! decodes, blinds and pairs it like any item, and the host predicts its share of the lanes'
//! product in the target group.

use blst::{blst_fp12, blst_p1_affine, blst_p2_affine, blst_p2_affine_compress};

use super::super::super::EngineError;
use super::fixed_base::gt_pow;
use super::{times, CanaryPoint, Draw};

/// The canary of a whole-verification batch, its Δ on the signature side: key k·g₁, a random
/// message m, signature k·H(m) + d·g₂ (k, d full-size random scalars), its own blinding scalar
/// r, at a random position. A faithful device's lane product carries the canary's
/// e(r·k·g₁, H(m))·e(−g₁, r·(k·H(m) + d·g₂)) = gₜ^(−r·d), gₜ = e(g₁, g₂): after the one final
/// exponentiation the batch is valid iff the product is gₜ^(−r·d), a value only the host knows
/// (the device would need d, hidden in the signature behind k·H(m)).
///
/// A device that drops the canary (leaves gₜ^(r·d) ≠ 1: r·d ≠ 0 mod q), ignores its scalar
/// (leaves gₜ^(d·(r−1))), alters its signature or key (leaves the alteration's pairing), or
/// returns constant lanes (must guess gₜ^(−r·d)) fails the check but with probability ≈ 1/q.
/// The device sees a key and a signature whose discrete logarithms are full-size and
/// unrelated to each other (d is independent of k), as those of any invalid item: it cannot
/// tell the canary from the items.
///
/// H(m) is the device's own: the whole path hashes every entry's message on the device first
/// (HashToG2), the canary's among them, and signs the canary on the H the device returned
/// ([`LaneCanaryDraw::sign`]), so that the host hashes nothing to G2 (≈ 170 µs a batch). This
/// is as safe as hashing on the host:
/// - the device still sees what it saw: a random message among the items' (hashed before it
///   could know which entry is the canary), then a key k·g₁ and a signature k·H + d·g₂ with
///   full-size k, d, as any invalid item's;
/// - a device that hashes the canary's message wrongly, to H' in G2, gets a canary consistent
///   in H' (key k·g₁, signature k·H' + d·g₂), whose share still cancels: the verdict is the
///   items'. A wrong H' for any real item leaves its pairing wrong (its signature is on the
///   true H), so the product fails: a faulty hash can only produce "invalid", which the CPU
///   confirms, and the audit (super::super::audit::lanes_hold, on the CPU's own hash of every
///   message, the canary's too) then finds the device's lanes differ and condemns it;
/// - an H' on the curve but off G2 makes k·H' + d·g₂ off G2: the decoding stage, which comes
///   after the hashing, must reject the canary's signature, a canary failure (and a device that
///   accepts points off G2 fails the negative canary, super::super::negative).
///
/// Why Δ sits on the signature side (it sat on the key side, key (k + d)·g₁ and signature
/// k·H(m), until the tables of super::fixed_base): the host's share is then d·g₂ and gₜ^(r·d)
/// at fixed bases, by table (≈ 51 + 54 µs), where the key side needed (r·d)·g₁ and a Miller
/// loop ML(H(m), ·) on a point that changes every batch (≈ 23 + 202 µs; measured: bench
/// canary_cost --whole, "canary parts"). k·H(m) is paid either way: the host must know the
/// point the device pairs the key with, and cancel the key's pairing with it.
pub struct LaneCanary {
    /// Its position among the batch's items.
    pub position: usize,
    /// Its blinding scalar r.
    pub scalar: u64,
    message: [u8; 32],
    key: blst_p1_affine,
    signature: blst_p2_affine,
    /// gₜ^(r·d): the lanes' final exponentiation times this is 1 iff the batch is valid.
    target: blst_fp12,
}

/// A lane canary drawn (its secrets, position and message) and not yet signed: it waits for
/// the device's H(m) of its message.
pub struct LaneCanaryDraw(Draw);

impl LaneCanaryDraw {
    /// Its position among the batch's items.
    pub fn position(&self) -> usize {
        self.0.position
    }

    /// The message it signs, to be hashed like the items'.
    pub fn message(&self) -> &[u8] {
        &self.0.message
    }

    /// The canary, signed on `hash`: the device's H(m) of [`Self::message`].
    pub fn sign(self, hash: &blst_p2_affine) -> LaneCanary {
        let draw = self.0;
        LaneCanary {
            position: draw.position,
            scalar: draw.scalar,
            message: draw.message,
            key: blst_p1_affine::base_mul(&draw.k),
            signature: draw.signature_on(hash),
            target: gt_pow(&times(&draw.d, draw.scalar)),
        }
    }
}

impl LaneCanary {
    /// A fresh canary for a batch of `items` items, to be signed on its message's H(m).
    pub fn draw(items: usize) -> Result<LaneCanaryDraw, EngineError> {
        Draw::new(items).map(LaneCanaryDraw)
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

    /// Whether the device's lane product, finally exponentiated, cancels the canary's share:
    /// the batch's verdict.
    pub fn holds(&self, product: &blst_fp12) -> bool {
        product.final_exp() * self.target == blst_fp12::default()
    }
}

#[cfg(test)]
mod tests {
    //! The canary against a whole-path device simulated with blst (min_pk), honest and faulty.

    use blst::{
        blst_fp_cneg, blst_p1_affine, blst_p1_cneg, blst_p1_to_affine, blst_p2_affine_in_g2,
        blst_p2_uncompress, blst_scalar, min_pk, BLST_ERROR,
    };

    use tollgate_drivers::batch::Rejection;

    use super::super::super::negative::NegativeCanary;
    use super::super::super::pairing::tests::DST;
    use super::super::blinding_scalars;
    use super::super::testing::{items, msm_g2, mul_g1, Device};
    use super::*;
    use crate::codec::decode_signature;
    use crate::suite::Variant;

    /// How the simulated device hashes the messages to G2.
    #[derive(Clone, Copy)]
    enum Hashing {
        Right,
        /// The canary's message to H of another message (a point of G2, but not its H(m)).
        CanaryWrong,
        /// Item `n`'s message so.
        ItemWrong(usize),
    }

    /// H(m) as blst hashes it.
    fn hash(message: &[u8]) -> blst_p2_affine {
        blst_p2_affine::hash_mul(DST, message, &one())
    }

    /// A canary signed on blst's H(m), as an honest device hashes it.
    fn canary(items: usize) -> LaneCanary {
        let draw = LaneCanary::draw(items).unwrap();
        let hash = hash(draw.message());
        draw.sign(&hash)
    }

    /// A whole-path device simulated with blst: the lanes' product Π ML(H(mᵢ), rᵢ·pkᵢ) ·
    /// ML(Σ rᵢσᵢ, −g₁) of the items with the canary among them, the canary signed on the
    /// device's hash of its message, under `device` and `hashing`.
    fn lane_product(cancelling: bool, device: Device, hashing: Hashing) -> bool {
        let (messages, mut keys, mut sigs) = items(cancelling);
        let draw = LaneCanary::draw(keys.len()).unwrap();
        let position = draw.position();
        let mut messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        messages.insert(position, draw.message());
        let mut hashes: Vec<blst_p2_affine> = messages.iter().map(|m| hash(m)).collect();
        let wrong = hash(b"not the message");
        match hashing {
            Hashing::Right => {}
            Hashing::CanaryWrong => hashes[position] = wrong,
            Hashing::ItemWrong(n) => hashes[n + usize::from(n >= position)] = wrong,
        }
        let canary = draw.sign(&hashes[position]);
        let mut scalars = blinding_scalars(keys.len()).unwrap();
        keys.insert(position, *canary.key());
        sigs.insert(position, *canary.signature());
        scalars.insert(position, canary.scalar);
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
        for ((key, r), hash) in keys.iter().zip(&scalars).zip(&hashes) {
            product *= blst_fp12::miller_loop(hash, &mul_g1(key, *r));
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
        let canary = canary(0);
        // Invalid on its own (key k·g₁, signature k·H(m) + d·g₂): a device that checked it as
        // an item would say so, like any bad item's.
        let key = min_pk::PublicKey::from(*canary.key());
        let signature = min_pk::Signature::from(*canary.signature());
        let verified = signature.verify(true, canary.message(), DST, &[], &key, true);
        assert_eq!(verified, BLST_ERROR::BLST_VERIFY_FAIL);
        // Its lanes alone, blinded by r, finish to 1 with the target; with another r, not.
        let lanes = |r: u64| {
            let mut minus_g1 = unsafe { *blst::blst_p1_affine_generator() };
            unsafe { blst_fp_cneg(&mut minus_g1.y, &minus_g1.y, true) };
            blst_fp12::miller_loop(&hash(canary.message()), &mul_g1(canary.key(), r))
                * blst_fp12::miller_loop(&msm_g2(&[*canary.signature()], &[r]), &minus_g1)
        };
        assert!(canary.holds(&lanes(canary.scalar)));
        assert!(!canary.holds(&lanes(canary.scalar ^ 1)));
    }

    #[test]
    fn the_lane_canary_holds_for_exactly_an_honest_device_on_a_valid_batch() {
        assert!(lane_product(false, Device::Honest, Hashing::Right));
        assert!(!lane_product(true, Device::Honest, Hashing::Right));
        assert!(!lane_product(false, Device::ScalarsIgnored, Hashing::Right));
        assert!(!lane_product(true, Device::ScalarsIgnored, Hashing::Right));
        for n in 0..8 {
            let dropped = lane_product(false, Device::Dropped(n), Hashing::Right);
            assert!(!dropped, "item {n} dropped");
        }
        // Constant lanes: the product of a device that computes nothing.
        let canary = canary(8);
        assert!(!canary.holds(&blst_fp12::default()));
        let compressed = canary.compressed();
        let decoded = min_pk::Signature::uncompress(&compressed).unwrap();
        assert_eq!(blst_p2_affine::from(decoded), *canary.signature());
    }

    #[test]
    fn a_wrong_hash_can_only_fail_a_batch() {
        // The canary's message hashed wrongly (in G2): the canary, signed on that hash, still
        // cancels, and the verdict is the items'.
        assert!(lane_product(false, Device::Honest, Hashing::CanaryWrong));
        assert!(!lane_product(true, Device::Honest, Hashing::CanaryWrong));
        // A real item's: its pairing is wrong, the batch fails (for the CPU to confirm and
        // the audit to catch).
        for n in [0, 3, 7] {
            let verdict = lane_product(false, Device::Honest, Hashing::ItemWrong(n));
            assert!(!verdict, "item {n} hashed wrongly");
        }
    }

    #[test]
    fn a_hash_off_the_subgroup_puts_the_canary_s_signature_off_it() {
        // A point of the curve off G2: the negative canary's class that must be rejected so.
        let off = std::iter::repeat_with(|| NegativeCanary::new(0).unwrap())
            .find(|n| n.rejection == Rejection::NotInSubgroup)
            .unwrap();
        let mut hash = blst_p2_affine::default();
        let read = unsafe { blst_p2_uncompress(&mut hash, off.bytes.as_ptr()) };
        assert_eq!(read, BLST_ERROR::BLST_SUCCESS, "on the curve");
        let canary = LaneCanary::draw(0).unwrap().sign(&hash);
        assert!(!unsafe { blst_p2_affine_in_g2(canary.signature()) });
        // Any decoding that checks the subgroup rejects it: a canary failure on the device.
        let decoded = decode_signature(Variant::MinPk, &canary.compressed());
        assert!(decoded.is_err(), "the canary's signature decodes off G2");
    }
}
