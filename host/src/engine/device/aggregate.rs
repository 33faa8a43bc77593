//! Aggregate verification on the device (min_pk, the verification design): e(g₁, σ) =
//! Π e(pkᵢ, H(mᵢ)) over n pairs is the whole path's batch check (super::whole) with one
//! signature. The request goes to the device as a pass of n items that share one blinding
//! scalar r (`Blinding::Shared`): item 0 carries σ, the others the identity, so Σ rᵢσᵢ = r·σ
//! and the lanes' product is (Π e(pkᵢ, H(mᵢ)) · e(−g₁, σ))^r, 1 iff the aggregate verifies.
//! The device hashes the n messages, blinds the keys and runs the Miller loops of the n pairs
//! and of (−g₁, r·σ); the
//! batch's secret canary item (its own scalar) and the decoding job's negative canary ride
//! along as in every whole-path pass, a device "invalid" is confirmed by the CPU's
//! `verify_aggregate` and audited, and a sample of "valid" answers is re-verified.
//!
//! Here the device can tell the canary from the pairs (its own scalar, a signature where the
//! pairs have the identity), unlike in a batch. That does not weaken what the canary guards:
//! a device "valid" needs the lanes' product to carry e(g₁, H(m))^(r_c·d) for the canary's
//! secret d, which a device that drops, alters or short-cuts work does not produce; a device
//! "invalid" is never taken on its word.
//!
//! Below `Policy::min_pairs` pairs the CPU engine is the better use: the pass costs the host
//! its canaries and a final exponentiation (≈ 1.1 ms) whatever n is, and the device a whole
//! round of its lanes, for a saving of at most a few ms (bench/RESULTS.md "Aggregate
//! verification on the device"). A fast aggregate verification is one pair (its keys summed
//! on the CPU), where the device path loses, so it stays there.

use blst::{blst_p2_affine, min_pk};

use super::super::{BatchVerdict, Engine, EngineError, SignedItem};
use super::whole::Blinding;
use super::DeviceEngine;
use crate::codec::{ItemSignature, PublicKey, Signature};
use crate::suite::Suite;

impl DeviceEngine {
    /// Whether an aggregate verification of `pairs` (key, message) pairs of `suite` goes to
    /// the device.
    pub(super) fn aggregate_path(&self, suite: Suite, pairs: usize) -> bool {
        pairs >= self.shared.policy.min_pairs && self.whole_path(suite) && self.device_up()
    }

    /// e(g₁, σ) = Π e(pkᵢ, H(mᵢ)) on the device, the CPU behind every answer it cannot trust.
    pub(super) fn aggregate_on_device(
        &self,
        suite: Suite,
        public_keys: &[PublicKey],
        messages: &[&[u8]],
        signature: &Signature,
    ) -> Result<bool, EngineError> {
        let cpu = || {
            self.cpu
                .verify_aggregate(suite, public_keys, messages, signature)
        };
        if public_keys.is_empty() || public_keys.len() != messages.len() {
            return Err(EngineError::Empty);
        }
        // A sum of keys (fast aggregate verification) may be the identity, whose r·pk the
        // driver reads as a device fault: such a request is the CPU's (and never verifies).
        if public_keys.iter().any(PublicKey::is_identity) {
            return cpu();
        }
        let identity = Signature::G2(min_pk::Signature::from(blst_p2_affine::default()));
        let items: Vec<SignedItem> = public_keys
            .iter()
            .zip(messages)
            .enumerate()
            .map(|(index, (public_key, message))| SignedItem {
                public_key: *public_key,
                message: message.to_vec(),
                signature: ItemSignature::Decoded(match index {
                    0 => *signature,
                    _ => identity,
                }),
            })
            .collect();
        let refs: Vec<&SignedItem> = items.iter().collect();
        let verdict = self.checked_pass(suite, &refs, Blinding::Shared, || {
            cpu().map(BatchVerdict::of)
        })?;
        Ok(verdict.all_valid())
    }
}
