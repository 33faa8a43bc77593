//! The canary of a whole-verification batch (min_pk, super::super::whole): the device decodes,
//! hashes, blinds and pairs it like any item, and the host predicts its share of the lanes'
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
/// Why Δ sits on the signature side (it sat on the key side, key (k + d)·g₁ and signature
/// k·H(m), until the tables of super::fixed_base): the host's share is then d·g₂ and gₜ^(r·d)
/// at fixed bases, by table (≈ 51 + 54 µs), where the key side needed (r·d)·g₁ and a Miller
/// loop ML(H(m), ·) on a point that changes every batch (≈ 23 + 202 µs; measured: bench
/// canary_cost --whole, "canary parts"). H(m) and k·H(m) are paid either way: the host must
/// know the point the device pairs the key with, and cancel the key's pairing with it.
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

impl LaneCanary {
    /// A fresh canary for a batch of `items` items under the hash tag `dst`.
    pub fn new(dst: &[u8], items: usize) -> Result<Self, EngineError> {
        let draw = Draw::new(items)?;
        Ok(LaneCanary {
            position: draw.position,
            scalar: draw.scalar,
            message: draw.message,
            key: blst_p1_affine::base_mul(&draw.k),
            signature: draw.signature(dst),
            target: gt_pow(&times(&draw.d, draw.scalar)),
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
        blst_fp_cneg, blst_p1_affine, blst_p1_cneg, blst_p1_to_affine, blst_scalar, min_pk,
    };

    use super::super::super::pairing::tests::DST;
    use super::super::blinding_scalars;
    use super::super::testing::{items, msm_g2, mul_g1, Device};
    use super::*;

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
            let hash = blst_p2_affine::hash_mul(DST, message, &one());
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
        // Invalid on its own (key k·g₁, signature k·H(m) + d·g₂): a device that checked it as
        // an item would say so, like any bad item's.
        let key = min_pk::PublicKey::from(*canary.key());
        let signature = min_pk::Signature::from(*canary.signature());
        let verified = signature.verify(true, canary.message(), DST, &[], &key, true);
        assert_eq!(verified, blst::BLST_ERROR::BLST_VERIFY_FAIL);
        // Its lanes alone, blinded by r, finish to 1 with the target; with another r, not.
        let lanes = |r: u64| {
            let hash = blst_p2_affine::hash_mul(DST, canary.message(), &one());
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
