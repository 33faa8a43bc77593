//! The `Engine` implementation: what goes to the device, what the CPU finishes and confirms.

use std::sync::PoisonError;

use blst::{min_pk, min_sig};
use tollgate_abi::{Opcode, G1_WORDS, G2_WORDS};
use tollgate_drivers::{codec, Device, JobOutput};
use tracing::warn;

use super::super::fallback::FallbackReason;
use super::super::{decode_on_cpu, BatchVerdict, Decoded, Engine, EngineError, SignedItem};
use super::audit::{self, Decode};
use super::canary::{Canary, CanaryPoint};
use super::overlap::overlapped_check;
use super::pairing::Blinded;
use super::points::*;
use super::DeviceEngine;
use crate::codec::{PublicKey, Signature};
use crate::suite::{Suite, Variant};

impl DeviceEngine {
    /// The device's half of a batch check; `Err` means the device could not answer.
    fn device_batch(
        &self,
        device: &mut Device,
        suite: Suite,
        items: &[Decoded<'_>],
        scalars: &[u64],
    ) -> Result<Result<bool, FallbackReason>, EngineError> {
        let shared = &self.shared;
        let per_item = |group_words: usize| items.len() * (2 + group_words);
        let (mut keys, mut sigs) = match suite.variant {
            Variant::MinPk => (
                Vec::with_capacity(per_item(G1_WORDS)),
                Vec::with_capacity(per_item(G2_WORDS)),
            ),
            Variant::MinSig => (
                Vec::with_capacity(per_item(G2_WORDS)),
                Vec::with_capacity(per_item(G1_WORDS)),
            ),
        };
        for ((public_key, signature, _), r) in items.iter().zip(scalars) {
            keys.extend(codec::encode_scalar(*r));
            sigs.extend(codec::encode_scalar(*r));
            match (suite.variant, public_key, signature) {
                (Variant::MinPk, PublicKey::G1(pk), Signature::G2(sig)) => {
                    push_g1(&mut keys, pk.into());
                    push_g2(&mut sigs, sig.into());
                }
                (Variant::MinSig, PublicKey::G2(pk), Signature::G1(sig)) => {
                    push_g2(&mut keys, pk.into());
                    push_g1(&mut sigs, sig.into());
                }
                _ => return Err(EngineError::VariantMismatch(suite.variant)),
            }
        }
        let messages: Vec<&[u8]> = items.iter().map(|(_, _, message)| *message).collect();
        let verdict = match suite.variant {
            Variant::MinPk => self.blinded_check(
                device,
                suite.dst(),
                &messages,
                Canary::new(suite.dst(), items.len())?,
                (Opcode::ScalarMulG1, &keys, G1_WORDS, result_g1),
                (Opcode::MultiScalarG2, &sigs, sum_g2, result_g2),
            ),
            Variant::MinSig => self.blinded_check(
                device,
                suite.dst(),
                &messages,
                Canary::new(suite.dst(), items.len())?,
                (Opcode::ScalarMulG2, &keys, G2_WORDS, result_g2),
                (Opcode::MultiScalarG1, &sigs, sum_g1, result_g1),
            ),
        };
        if verdict == Err(FallbackReason::BadResult) {
            shared.condemn(
                device,
                FallbackReason::BadResult,
                "batch result not a valid point or a wrong canary key",
            );
        }
        Ok(verdict)
    }

    /// The blinded keys rᵢ·pkᵢ and the sum Σ rᵢ·σᵢ from the device, one job after the other
    /// on the device's thread, while the CPU hashes the messages and then runs the Miller
    /// loops on the blinded keys during the sum job (super::overlap). The batch's canary
    /// (super::canary) rides among the items: a wrong canary key refuses the device's answer
    /// before any pairing, and its r·Δ is taken out of the sum. A failed check is audited
    /// (super::audit) before the CPU confirms it.
    fn blinded_check<P: Blinded + CanaryPoint, S: CanaryPoint>(
        &self,
        device: &mut Device,
        dst: &[u8],
        messages: &[&[u8]],
        canary: Canary<P, S>,
        (blind, keys, point_words, point): (Opcode, &[u32], usize, Decode<P>),
        (sum_op, sigs, sum, sig_point): (Opcode, &[u32], Decode<S>, Decode<S>),
    ) -> Result<bool, FallbackReason> {
        let shared = &self.shared;
        let (keys, sigs) = canary.inputs(keys, sigs);
        let messages = canary.messages(messages);
        let items = messages.len();
        let mut outputs = None;
        let verdict = overlapped_check(dst, &messages, |keys_to| {
            let blinded = shared.job(device, blind, &keys)?;
            let blinded = item_points(&blinded.words, point_words, items, point)?;
            if !canary.key_holds(&blinded) {
                shared.metrics.canary_failures.inc();
                warn!("device returned a wrong canary key");
                return Err(FallbackReason::BadResult);
            }
            keys_to.send(blinded.clone());
            let sum = shared
                .job(device, sum_op, &sigs)
                .and_then(|out| sum(&out.words, false))?;
            let signature_side = canary.signature_side(&sum);
            outputs = Some((blinded, sum));
            Ok(signature_side)
        })
        .verdict;
        if verdict == Ok(false) {
            let right = outputs.is_some_and(|(blinded, sum)| {
                audit::outputs_hold((&keys, point), (&sigs, sig_point), &blinded, &sum)
            });
            if !right {
                let what = "device outputs of a failed batch differ from the CPU's";
                warn!(what);
                shared.condemn(device, FallbackReason::Disagreement, what);
                return Err(FallbackReason::Disagreement);
            }
        }
        verdict
    }

    /// A batch whose signatures are decoded, on the blinding path: the device blinds, the CPU
    /// pairs (`device_batch`); small batches stay on the CPU.
    fn blinded_batch(&self, suite: Suite, items: &[Decoded<'_>]) -> Result<bool, EngineError> {
        let (variant, dst) = (suite.variant, suite.dst());
        let opcodes = match variant {
            Variant::MinPk => [Opcode::ScalarMulG1, Opcode::MultiScalarG2],
            Variant::MinSig => [Opcode::ScalarMulG2, Opcode::MultiScalarG1],
        };
        if items.len() < self.shared.policy.min_batch || !self.serves(&opcodes) {
            return self.cpu.check_decoded(variant, dst, items);
        }
        let scalars = blinding_scalars(items.len())?;
        let verdict = match self.shared.acquire() {
            Ok(mut device) => self.device_batch(&mut device, suite, items, &scalars)?,
            Err(reason) => Err(reason),
        };
        match verdict {
            Err(reason) => {
                self.shared.metrics.fallback(reason);
                self.cpu.check_decoded(variant, dst, items)
            }
            Ok(false) => {
                // Never report "invalid" on the device's word alone.
                let cpu = self.cpu.check_decoded(variant, dst, items)?;
                if cpu {
                    self.disagreement("device failed a batch the CPU verifies");
                }
                Ok(cpu)
            }
            Ok(true) if self.shared.sample() => {
                let cpu = self.cpu.check_decoded(variant, dst, items)?;
                if !cpu {
                    self.disagreement("device passed a batch the CPU rejects");
                }
                Ok(cpu)
            }
            Ok(true) => Ok(true),
        }
    }

    /// Sum of points on the device; `None` input words mean "keep it on the CPU".
    fn device_sum(&self, opcode: Opcode, input: &[u32]) -> Result<JobOutput, FallbackReason> {
        let mut device = self.shared.acquire()?;
        self.shared.job(&mut device, opcode, input)
    }

    /// A device-made result the CPU recomputed differently.
    pub(super) fn disagreement(&self, what: &str) {
        warn!(what, "device and CPU disagree; device out of service");
        let mut device = self
            .shared
            .device
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.shared
            .condemn(&mut device, FallbackReason::Disagreement, what);
        self.shared.metrics.fallback(FallbackReason::Disagreement);
    }

    fn bad_result(&self, what: &str) {
        let mut device = self
            .shared
            .device
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.shared
            .condemn(&mut device, FallbackReason::BadResult, what);
        self.shared.metrics.fallback(FallbackReason::BadResult);
    }
}

impl Engine for DeviceEngine {
    fn backend(&self) -> &'static str {
        "device"
    }

    fn decodes_signatures(&self, suite: Suite) -> bool {
        self.whole_path(suite) && self.device_up()
    }

    fn verify_batch(
        &self,
        suite: Suite,
        items: &[&SignedItem],
    ) -> Result<BatchVerdict, EngineError> {
        if items.is_empty() {
            return Err(EngineError::Empty);
        }
        if self.whole_path(suite) && items.len() >= self.shared.policy.min_batch {
            return self.whole_batch(suite, items);
        }
        let (rejected, kept) = decode_on_cpu(items);
        let others_valid = kept.is_empty() || self.blinded_batch(suite, &kept)?;
        Ok(BatchVerdict {
            rejected,
            others_valid,
        })
    }

    fn verify_aggregate(
        &self,
        suite: Suite,
        public_keys: &[PublicKey],
        messages: &[&[u8]],
        signature: &Signature,
    ) -> Result<bool, EngineError> {
        // From `min_pairs` pairs on, the pairings are the device's (super::aggregate), else
        // the CPU's. What the device may have contributed besides is an aggregate key (fast
        // aggregate verification): an "invalid" reached with one is confirmed with the CPU's
        // own sum of the same keys.
        let verdict = if self.aggregate_path(suite, public_keys.len()) {
            self.aggregate_on_device(suite, public_keys, messages, signature)?
        } else {
            self.cpu
                .verify_aggregate(suite, public_keys, messages, signature)?
        };
        if verdict {
            return Ok(true);
        }
        let mut corrected = public_keys.to_vec();
        let mut changed = false;
        for key in corrected.iter_mut() {
            if let Some(inputs) = self.shared.inputs_of(key) {
                let cpu_sum = self.cpu.aggregate_public_keys(&inputs)?;
                if cpu_sum != *key {
                    *key = cpu_sum;
                    changed = true;
                }
            }
        }
        if !changed {
            return Ok(false);
        }
        self.disagreement("device aggregate key differs from the CPU's");
        self.cpu
            .verify_aggregate(suite, &corrected, messages, signature)
    }

    fn aggregate_public_keys(&self, keys: &[PublicKey]) -> Result<PublicKey, EngineError> {
        let variant = keys.first().ok_or(EngineError::Empty)?.variant();
        if keys.len() < self.shared.policy.min_points || !self.serves(&[sum_opcode(variant, true)])
        {
            return self.cpu.aggregate_public_keys(keys);
        }
        let mut input = Vec::with_capacity(keys.len() * variant_words(variant, true));
        for key in keys {
            match (variant, key) {
                (Variant::MinPk, PublicKey::G1(pk)) => push_g1(&mut input, pk.into()),
                (Variant::MinSig, PublicKey::G2(pk)) => push_g2(&mut input, pk.into()),
                _ => return Err(EngineError::VariantMismatch(variant)),
            }
        }
        let result = match variant {
            Variant::MinPk => self
                .device_sum(sum_opcode(variant, true), &input)
                .and_then(|out| sum_g1(&out.words, true))
                .map(|p| PublicKey::G1(min_pk::PublicKey::from(p))),
            Variant::MinSig => self
                .device_sum(sum_opcode(variant, true), &input)
                .and_then(|out| sum_g2(&out.words, true))
                .map(|p| PublicKey::G2(min_sig::PublicKey::from(p))),
        };
        let sum = match result {
            Ok(sum) => sum,
            Err(reason) => {
                if reason == FallbackReason::BadResult {
                    self.bad_result("aggregate key not a point of the group");
                } else {
                    self.shared.metrics.fallback(reason);
                }
                return self.cpu.aggregate_public_keys(keys);
            }
        };
        if self.shared.sample() {
            let cpu = self.cpu.aggregate_public_keys(keys)?;
            if cpu != sum {
                self.disagreement("aggregate public key");
                return Ok(cpu);
            }
        }
        self.shared.remember(&sum, keys);
        Ok(sum)
    }

    fn aggregate_signatures(&self, signatures: &[Signature]) -> Result<Signature, EngineError> {
        let variant = signatures.first().ok_or(EngineError::Empty)?.variant();
        if signatures.len() < self.shared.policy.min_points
            || !self.serves(&[sum_opcode(variant, false)])
        {
            return self.cpu.aggregate_signatures(signatures);
        }
        let mut input = Vec::with_capacity(signatures.len() * variant_words(variant, false));
        for signature in signatures {
            match (variant, signature) {
                (Variant::MinPk, Signature::G2(sig)) => push_g2(&mut input, sig.into()),
                (Variant::MinSig, Signature::G1(sig)) => push_g1(&mut input, sig.into()),
                _ => return Err(EngineError::VariantMismatch(variant)),
            }
        }
        let result = match variant {
            Variant::MinPk => self
                .device_sum(sum_opcode(variant, false), &input)
                .and_then(|out| sum_g2(&out.words, true))
                .map(|p| Signature::G2(min_pk::Signature::from(p))),
            Variant::MinSig => self
                .device_sum(sum_opcode(variant, false), &input)
                .and_then(|out| sum_g1(&out.words, true))
                .map(|p| Signature::G1(min_sig::Signature::from(p))),
        };
        let sum = match result {
            Ok(sum) => sum,
            Err(reason) => {
                if reason == FallbackReason::BadResult {
                    self.bad_result("aggregate signature not a point of the group");
                } else {
                    self.shared.metrics.fallback(reason);
                }
                return self.cpu.aggregate_signatures(signatures);
            }
        };
        if self.shared.sample() {
            let cpu = self.cpu.aggregate_signatures(signatures)?;
            if cpu != sum {
                self.disagreement("aggregate signature");
                return Ok(cpu);
            }
        }
        Ok(sum)
    }
}

/// The opcode that sums keys (`keys`) or signatures of `variant`.
fn sum_opcode(variant: Variant, keys: bool) -> Opcode {
    match (variant, keys) {
        (Variant::MinPk, true) | (Variant::MinSig, false) => Opcode::AggregateG1,
        (Variant::MinPk, false) | (Variant::MinSig, true) => Opcode::AggregateG2,
    }
}
