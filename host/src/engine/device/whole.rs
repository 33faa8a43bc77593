//! Whole batch verification on the device (min_pk, the verification design): the device
//! hashes the messages to G2 after the host's hash_to_field (first: the secret canary,
//! super::canary::LaneCanary, is signed on the device's H of its own message, so the host
//! hashes nothing to G2), decodes the signatures (DecodeG2: square root, on-curve and subgroup
//! residues), blinds the keys and sums the blinded signatures, and runs every Miller loop,
//! (rᵢ·pkᵢ, H(mᵢ)) and (−g₁, Σ rᵢσᵢ), into its lanes' Fp12 values (`tollgate_drivers::batch`).
//! The host screens the encodings at parse time (`codec::ItemSignature`), computes
//! hash_to_field and the canary, multiplies the lane values and does ONE final exponentiation.
//!
//! Trust, as on the blinding path: a device "invalid" is confirmed on the CPU, a device
//! rejection of a signature (not a point of G2) is confirmed by the CPU's own decoding of that
//! signature, a sample of "valid" batches is re-verified, and the canary makes a device that
//! skips, alters or short-cuts work fail the check; the decoding job's negative canary
//! (super::negative), which the device must reject, catches a device that accepts encodings
//! off the curve or off the subgroup in every batch, not only in the sampled ones; a device
//! that hashes a message wrongly can only fail a batch (super::canary::LaneCanary). A failed
//! check the CPU does not confirm condemns the device (counted as a canary failure: the
//! canary's check is the one that failed); one it confirms is audited
//! (super::audit::lanes_hold, on the CPU's own hashes), so that a device fault hidden behind a
//! batch's bad items is caught too.

use std::time::Instant;

use blst::{blst_fp12, blst_p1_affine, blst_p2_affine, blst_p2_affine_is_inf};
use tollgate_abi::Opcode;
use tollgate_drivers::batch::{self, BatchCheckError, MinPkItem, StageCycles};
use tollgate_drivers::Device;
use tracing::warn;

use super::super::fallback::FallbackReason;
use super::super::{BatchVerdict, Engine, EngineError, SignedItem};
use super::audit;
use super::canary::LaneCanary;
use super::hash_to_field::hash_to_field;
use super::negative::NegativeCanary;
use super::points::blinding_scalars;
use super::DeviceEngine;
use crate::codec::{ItemError, ItemSignature, PublicKey, Signature};
use crate::suite::{Suite, Variant};

/// How a device pass blinds its entries, and what an identity signature means in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Blinding {
    /// A batch of independent signatures: a fresh scalar per item; an identity signature
    /// never verifies and leaves the batch.
    PerItem,
    /// One aggregate signature over the items' pairs (super::aggregate): every item takes the
    /// same scalar r, so that the pass checks (Π e(pkᵢ, H(mᵢ)) · e(−g₁, σ))^r; the items
    /// other than the signature's carry the identity, which adds nothing to Σ rᵢσᵢ.
    Shared,
}

/// A signature on its way to the device.
enum Lane<'a> {
    /// Decoded at parse time (or the canary's, which the host made).
    Point(blst_p2_affine),
    /// For the device to decode.
    Compressed(&'a [u8]),
}

/// One entry of the device batch: the item's position (`None`: the canary), key, the device's
/// H(m) of its message, signature (`S`: a [`Lane`] before decoding, a point after).
struct Entry<S> {
    item: Option<usize>,
    key: blst_p1_affine,
    hash: blst_p2_affine,
    signature: S,
}

/// The device's answer on a batch, with what its audit needs: each lane item's position
/// (`None`: the canary), key and scalar, the canary, the lanes' product.
struct Found {
    verdict: BatchVerdict,
    lanes: Vec<(Option<usize>, blst_p1_affine, u64)>,
    canary: LaneCanary,
    product: blst_fp12,
}

impl DeviceEngine {
    /// Whether `suite`'s batches go to the device whole.
    pub(super) fn whole_path(&self, suite: Suite) -> bool {
        whole_path(&self.serves, suite)
    }

    /// A min_pk batch on the whole path, the CPU behind every answer it cannot trust.
    pub(super) fn whole_batch(
        &self,
        suite: Suite,
        items: &[&SignedItem],
    ) -> Result<BatchVerdict, EngineError> {
        self.checked_pass(suite, items, Blinding::PerItem, || {
            self.cpu.verify_batch(suite, items)
        })
    }

    /// A device pass over `items`, blinded as `blinding` says, with `cpu` (the same question
    /// asked of the CPU engine) behind every device answer it cannot trust.
    pub(super) fn checked_pass(
        &self,
        suite: Suite,
        items: &[&SignedItem],
        blinding: Blinding,
        cpu: impl Fn() -> Result<BatchVerdict, EngineError>,
    ) -> Result<BatchVerdict, EngineError> {
        let attempt = match self.shared.acquire() {
            Ok(mut device) => self.device_whole(&mut device, suite, items, blinding)?,
            Err(reason) => Err(reason),
        };
        match attempt {
            Err(reason) => {
                self.shared.metrics.fallback(reason);
                cpu()
            }
            Ok(found) if !found.verdict.others_valid => {
                // Never "invalid" on the device's word alone; and a confirmed "invalid" says
                // nothing of the device's other items: the audit recomputes its lanes.
                let cpu = cpu()?;
                if cpu.others_valid {
                    self.shared.metrics.canary_failures.inc();
                    self.disagreement("device failed a batch the CPU verifies");
                } else if decoded_what_the_cpu_rejects(&found.verdict, &cpu) {
                    self.disagreement("device decoded a signature the CPU rejects");
                } else if !lanes_audit(suite.dst(), items, &found) {
                    self.disagreement("device lane values of a failed batch differ from the CPU's");
                }
                Ok(cpu)
            }
            Ok(found) if self.shared.sample() => {
                let cpu = cpu()?;
                // The device refuses the identity as a signature outright (it never
                // verifies), the CPU counts it among the others: compare whole verdicts.
                let verdict = &found.verdict;
                if (verdict.all_valid() && !cpu.all_valid())
                    || decoded_what_the_cpu_rejects(verdict, &cpu)
                {
                    self.disagreement("device passed a batch the CPU rejects");
                }
                Ok(cpu)
            }
            Ok(found) => Ok(found.verdict),
        }
    }

    /// The device's verdict on `items`: rejections (each confirmed by the CPU's decoding) and
    /// whether the rest verify; `Err` when the device could not answer or was caught wrong.
    fn device_whole(
        &self,
        device: &mut Device,
        suite: Suite,
        items: &[&SignedItem],
        blinding: Blinding,
    ) -> Result<Result<Found, FallbackReason>, EngineError> {
        let mut rejected = Vec::new();
        let mut entries = Vec::with_capacity(items.len() + 1);
        let mut messages = Vec::with_capacity(items.len() + 1);
        for (index, item) in items.iter().enumerate() {
            let PublicKey::G1(key) = &item.public_key else {
                return Err(EngineError::VariantMismatch(suite.variant));
            };
            let signature = match &item.signature {
                ItemSignature::Decoded(Signature::G2(signature)) => {
                    let point = blst_p2_affine::from(*signature);
                    // SAFETY: a valid reference to an affine point.
                    if blinding == Blinding::PerItem && unsafe { blst_p2_affine_is_inf(&point) } {
                        // The identity never verifies against a key that is not: no work.
                        rejected.push((index, ItemError::InvalidSignature));
                        continue;
                    }
                    Lane::Point(point)
                }
                ItemSignature::Decoded(Signature::G1(_)) => {
                    return Err(EngineError::VariantMismatch(suite.variant))
                }
                ItemSignature::Deferred(deferred) => Lane::Compressed(deferred.bytes()),
            };
            entries.push(Entry {
                item: Some(index),
                key: (*key).into(),
                // The device's, below.
                hash: blst_p2_affine::default(),
                signature,
            });
            messages.push(item.message.as_slice());
        }
        // The canary's message is hashed on the device among the items' and the canary
        // signed on the device's H of it (super::canary::LaneCanary: why that is safe).
        let draw = LaneCanary::draw(entries.len())?;
        messages.insert(draw.position(), draw.message());
        let mut hashes = match self.hash(device, suite.dst(), &messages) {
            Ok(hashes) => hashes,
            Err(reason) => return Ok(Err(reason)),
        };
        let canary_hash = hashes.remove(draw.position());
        let canary = draw.sign(&canary_hash);
        for (entry, hash) in entries.iter_mut().zip(hashes) {
            entry.hash = hash;
        }
        let canary_bytes = canary.compressed();
        entries.insert(
            canary.position,
            Entry {
                item: None,
                key: *canary.key(),
                hash: canary_hash,
                signature: Lane::Compressed(&canary_bytes),
            },
        );
        let negative = NegativeCanary::new(
            entries
                .iter()
                .filter(|entry| matches!(entry.signature, Lane::Compressed(_)))
                .count(),
        )?;
        let entries = match self.decode(device, items, entries, &negative, &mut rejected) {
            Ok(entries) => entries,
            Err(reason) => return Ok(Err(reason)),
        };
        let scalars = match blinding {
            Blinding::PerItem => blinding_scalars(entries.len())?,
            Blinding::Shared => vec![blinding_scalars(1)?[0]; entries.len()],
        };
        let lane_items: Vec<MinPkItem> = entries
            .iter()
            .zip(scalars)
            .map(|(entry, scalar)| MinPkItem {
                public_key: entry.key,
                signature: entry.signature,
                hash: entry.hash,
                scalar: match entry.item {
                    Some(_) => scalar,
                    None => canary.scalar,
                },
            })
            .collect();
        let lanes = match batch::min_pk_lane_values(device, &lane_items) {
            Ok(lanes) => lanes,
            Err(error) => return Ok(Err(self.lane_failure(device, &error))),
        };
        for stage in &lanes.stages {
            self.shared.count_stage(device, stage);
        }
        rejected.sort_unstable_by_key(|(index, _)| *index);
        let product = lanes.product();
        Ok(Ok(Found {
            verdict: BatchVerdict {
                rejected,
                others_valid: canary.holds(&product),
            },
            lanes: entries
                .iter()
                .zip(&lane_items)
                .map(|(entry, item)| (entry.item, entry.key, item.scalar))
                .collect(),
            canary,
            product,
        }))
    }

    /// Hashes `messages` to G2 on the device (hash_to_field here, HashToG2 there), the
    /// stage counted.
    fn hash(
        &self,
        device: &mut Device,
        dst: &[u8],
        messages: &[&[u8]],
    ) -> Result<Vec<blst_p2_affine>, FallbackReason> {
        let us: Vec<Vec<u32>> = messages.iter().map(|m| hash_to_field(m, dst)).collect();
        let (hashes, stage) =
            batch::hash_to_g2(device, &us).map_err(|error| self.lane_failure(device, &error))?;
        if let Some(stage) = &stage {
            self.shared.count_stage(device, stage);
        }
        if hashes.len() != messages.len() {
            return Err(self.caught(device, FallbackReason::BadResult, "hashing lost items"));
        }
        Ok(hashes)
    }

    /// Decodes the entries' compressed signatures on the device. A rejected item's signature
    /// is decoded on the CPU too: its error is then the CPU's (the one the API documents) and
    /// the item leaves the batch; a signature the CPU accepts, a rejected canary, or a
    /// negative canary (super::negative) not rejected as its class says, means the device is
    /// wrong.
    fn decode(
        &self,
        device: &mut Device,
        items: &[&SignedItem],
        entries: Vec<Entry<Lane<'_>>>,
        negative: &NegativeCanary,
        rejected: &mut Vec<(usize, ItemError)>,
    ) -> Result<Vec<Entry<blst_p2_affine>>, FallbackReason> {
        let mut compressed: Vec<&[u8]> = entries
            .iter()
            .filter_map(|entry| match entry.signature {
                Lane::Compressed(bytes) => Some(bytes),
                Lane::Point(_) => None,
            })
            .collect();
        compressed.insert(negative.position, &negative.bytes);
        // The driver reports no stage for decoding: its cost is the device's busy cycles.
        let (before, start) = (device.counters().ok(), Instant::now());
        let decoded = batch::decode_signatures(device, &compressed).map_err(|error| {
            // An off-curve negative canary accepted: its root cannot be on the curve.
            if matches!(error, BatchCheckError::OffCurveRoot { index } if index == negative.position)
            {
                self.shared.metrics.canary_failures.inc();
            }
            self.lane_failure(device, &error)
        })?;
        if let (Some(before), Ok(after)) = (before, device.counters()) {
            let stage = StageCycles {
                opcode: Opcode::DecodeG2,
                items: compressed.len(),
                device_cycles: after.busy_cycles.saturating_sub(before.busy_cycles),
                transfer_cycles: 0,
                wall: start.elapsed(),
            };
            self.shared.count_stage(device, &stage);
        }
        if decoded.len() != compressed.len() {
            return Err(self.caught(device, FallbackReason::BadResult, "decoding lost items"));
        }
        let mut decoded = decoded;
        if !matches!(decoded.remove(negative.position), Err(r) if r == negative.rejection) {
            self.shared.metrics.canary_failures.inc();
            let what = "device did not reject the negative canary as it must";
            return Err(self.caught(device, FallbackReason::BadResult, what));
        }
        let mut decoded = decoded.into_iter();
        let mut points = Vec::with_capacity(entries.len());
        for entry in entries {
            let result = match entry.signature {
                Lane::Point(point) => Ok(point),
                // As many results as compressed signatures: checked above.
                Lane::Compressed(_) => decoded.next().ok_or(FallbackReason::BadResult)?,
            };
            let signature = match (result, entry.item) {
                (Ok(point), _) => point,
                (Err(_), None) => {
                    self.shared.metrics.canary_failures.inc();
                    let what = "device rejected the canary's signature";
                    return Err(self.caught(device, FallbackReason::BadResult, what));
                }
                (Err(_), Some(index)) => match items[index].signature.decoded() {
                    Err(error) => {
                        rejected.push((index, error));
                        continue;
                    }
                    Ok(_) => {
                        let what = "device rejected a signature the CPU decodes";
                        return Err(self.caught(device, FallbackReason::Disagreement, what));
                    }
                },
            };
            points.push(Entry {
                item: entry.item,
                key: entry.key,
                hash: entry.hash,
                signature,
            });
        }
        Ok(points)
    }

    /// A device result caught wrong: the device leaves service until its probe passes.
    fn caught(&self, device: &mut Device, reason: FallbackReason, what: &str) -> FallbackReason {
        warn!(what, "device caught wrong; the CPU takes over");
        self.shared.condemn(device, reason, what);
        reason
    }

    /// The reason a failed stage stands for, counted as `Shared::job` counts a failed job.
    fn lane_failure(&self, device: &mut Device, error: &BatchCheckError) -> FallbackReason {
        match error {
            BatchCheckError::Device(error) => self.shared.failed_job(device, error),
            other => self.caught(device, FallbackReason::BadResult, &other.to_string()),
        }
    }
}

/// Whether `suite`'s batches go whole to a device whose design serves `serves`.
pub(super) fn whole_path(serves: &[Opcode], suite: Suite) -> bool {
    suite.variant == Variant::MinPk && Opcode::MIN_PK_BATCH.iter().all(|op| serves.contains(op))
}

/// Whether the CPU refused a signature the device decoded (a point off the curve or the
/// subgroup that the device let into the batch).
fn decoded_what_the_cpu_rejects(device: &BatchVerdict, cpu: &BatchVerdict) -> bool {
    cpu.rejected
        .iter()
        .any(|(index, _)| !device.rejected.iter().any(|(at, _)| at == index))
}

/// The audit of a failed batch (super::audit::lanes_hold) on the CPU's own decoding of its
/// signatures; a signature the CPU refuses is reported by `decoded_what_the_cpu_rejects`.
fn lanes_audit(dst: &[u8], items: &[&SignedItem], found: &Found) -> bool {
    let mut terms = Vec::with_capacity(found.lanes.len());
    for &(item, key, scalar) in &found.lanes {
        let (signature, message) = match item {
            None => (*found.canary.signature(), found.canary.message()),
            Some(index) => match items[index].signature.decoded() {
                Ok(Signature::G2(signature)) => (signature.into(), items[index].message.as_slice()),
                _ => return false,
            },
        };
        terms.push((key, signature, message, scalar));
    }
    audit::lanes_hold(dst, &terms, &found.product)
}
