//! The canary of a blinding-path batch (super::super::engine, either variant): the device
//! returns each item's rᵢ·pkᵢ and the sum Σ rᵢ·σᵢ.
//!
//! - the device's blinded canary key must equal (r·k)·g, computed here at a fixed base;
//! - the device's sum carries r·Δ: the check takes Σ − (r·d)·g as the signature side. A device
//!   that drops the canary, ignores its scalar or changes its signature leaves a multiple of Δ
//!   in the equation, and one that ignores every scalar fails the key check.

use tollgate_abi::SCALAR_WORDS;
use tollgate_drivers::codec;

use super::super::super::EngineError;
use super::{times, CanaryPoint, Draw};

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

#[cfg(test)]
mod tests {
    //! The canary against a device simulated with blst (min_pk), honest and faulty.

    use blst::{blst_p1_affine, blst_p2_affine};
    use tollgate_abi::{G1_WORDS, G2_WORDS};

    use super::super::super::pairing::pairing_check;
    use super::super::super::pairing::tests::DST;
    use super::super::blinding_scalars;
    use super::super::testing::{items, msm_g2, mul_g1, Device};
    use super::*;

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
}
