//! A min_pk batch check (random linear combination, POP/BASIC/AUG alike: the caller hashes
//! with its scheme's DST) on one device of the design `tollgate_verify`, which serves every
//! stage ([`Opcode::MIN_PK_BATCH`]):
//!
//! 1. [`hash_to_g2`]: the messages hashed to G2 (HashToG2, on the host's hash_to_field
//!    output), per item the affine H(mᵢ). It comes first so that a caller can build items of
//!    its own from the device's hashes (a canary signed on its H) before the other stages.
//! 2. [`decode_signatures`]: the host's checks (length, flags, x < p; the compressed identity
//!    needs no device), then DecodeG2 for the rest; per item the affine point, its y chosen
//!    by the sort flag, or a [`Rejection`].
//! 3. [`min_pk_lane_values`]: keys blinded (rᵢ·pkᵢ, ScalarMulG1), signatures blinded and
//!    summed (Σ rᵢσᵢ by the bucket method, BucketSumG2: [`signature_sum()`]), then one Miller
//!    loop per (rᵢ·pkᵢ, H(mᵢ)) and for (−g₁, Σ rᵢσᵢ) (MillerLoop). The result is the lanes'
//!    Miller values: the batch is valid iff their product ([`LaneValues::product`]), after one
//!    final exponentiation, is 1; the caller may fold values of its own (a canary's) into the
//!    product before that one exponentiation.
//!
//! What stays on the CPU, per item a few field multiplications: the encoding checks and the
//! sign of y, normalising each stage's projective points with one inversion per stage
//! ([`codec::g1_affine_points`], Montgomery's trick, every point checked on its curve), the
//! bucket job's layout and the join of its lanes' sums (once per batch), and the caller's
//! final exponentiation.

mod affine_sums;
mod signature_sum;

pub use signature_sum::{signature_sum, BucketJob};

use std::time::{Duration, Instant};

use blst::{
    blst_fp12, blst_p1, blst_p1_affine, blst_p1_affine_is_inf, blst_p1_cneg, blst_p1_generator,
    blst_p1_to_affine, blst_p2_affine, blst_p2_affine_is_inf,
};
use tollgate_abi::{Opcode, FP2_WORDS, FP_WORDS};

use crate::codec::{self, CodecError};
use crate::{Device, DeviceError};

/// One item of a min_pk batch.
#[derive(Debug, Clone)]
pub struct MinPkItem {
    /// The public key, already KeyValidate'd by the caller (in G1, not infinity).
    pub public_key: blst_p1_affine,
    /// The signature, already decoded and in G2 ([`decode_signatures`]).
    pub signature: blst_p2_affine,
    /// H(message), from [`hash_to_g2`] (not infinity).
    pub hash: blst_p2_affine,
    /// The item's blinding scalar: non-zero, from the CSPRNG.
    pub scalar: u64,
}

/// Why one signature has no point of G2. The curve and subgroup verdicts are the device's:
/// a caller that must not reject a valid item on a device fault confirms them on the CPU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not a canonical compressed encoding (length, flags, x ≥ p).
    #[error("signature encoding: {0}")]
    Encoding(CodecError),
    /// No point of the curve has this x.
    #[error("signature is not on the curve")]
    NotOnCurve,
    /// The point is on the curve but not in the subgroup G2.
    #[error("signature is not in the subgroup G2")]
    NotInSubgroup,
}

/// Why the device stages produced no result.
#[derive(Debug, thiserror::Error)]
pub enum BatchCheckError {
    /// A device job failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The bucket job cannot be laid out on this device (too few lanes for a window width,
    /// or jobs too small to reach every lane of the plan).
    #[error("no bucket layout on {lanes} lanes with jobs of {job_items} steps")]
    NoBucketLayout {
        /// The device's lanes.
        lanes: usize,
        /// Steps per device job.
        job_items: usize,
    },
    /// Item `index`'s u is not HashToG2's 48 words.
    #[error("item {index}: hash_to_field output of {words} words, expected {expected}")]
    HashLength {
        /// Its position in the batch.
        index: usize,
        /// Words given.
        words: usize,
        /// HashToG2's item words.
        expected: usize,
    },
    /// A device result was not a field element, or not a point of its curve (a device fault).
    #[error("malformed device result: {0}")]
    Result(#[from] CodecError),
    /// Item `index`'s DecodeG2 result says "on the curve, in G2" but its root is no point of
    /// the curve for that x: a device fault (e.g. an x off the curve accepted), told apart
    /// from other malformed results so that the caller knows whose signature it was.
    #[error("item {index}: the device accepted the signature but its root is not on the curve")]
    OffCurveRoot {
        /// Its position among the signatures.
        index: usize,
    },
    /// Item `index`'s rᵢ·pkᵢ or H(mᵢ) came back as infinity, which no validated key and
    /// non-zero scalar give, and a hash only with negligible probability: a device fault.
    #[error("item {index}: {opcode:?} gave infinity")]
    Infinity {
        /// Its position in the batch.
        index: usize,
        /// The stage.
        opcode: Opcode,
    },
}

/// What one stage cost its device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageCycles {
    /// The stage's opcode.
    pub opcode: Opcode,
    /// Its items (MillerLoop: pairs).
    pub items: usize,
    /// Device cycles of its jobs ([`crate::JobOutput::device_cycles`]).
    pub device_cycles: u64,
    /// Of those, moving data.
    pub transfer_cycles: u64,
    /// Wall time of its jobs, escalation included (under simulation: the simulator's).
    pub wall: Duration,
}

/// The Miller values of a batch, one per lane per MillerLoop job, and what each stage cost.
#[derive(Debug, Clone)]
pub struct LaneValues {
    /// The lanes' Miller values.
    pub values: Vec<blst_fp12>,
    /// The stages in the order they ran (HashToG2, [`hash_to_g2`], is the caller's).
    pub stages: Vec<StageCycles>,
}

impl LaneValues {
    /// The product of the lane values (1 for none): the batch is valid iff its final
    /// exponentiation is 1.
    pub fn product(&self) -> blst_fp12 {
        // blst's default Fp12 is 1.
        self.values
            .iter()
            .fold(blst_fp12::default(), |acc, v| acc * *v)
    }

    /// Whether the batch is valid: the lanes' product, finally exponentiated, is 1.
    pub fn verdict(&self) -> bool {
        self.product().final_exp() == blst_fp12::default()
    }
}

/// Runs one stage and records its cost.
fn stage(
    device: &mut Device,
    opcode: Opcode,
    items: &[u32],
    stages: &mut Vec<StageCycles>,
) -> Result<Vec<u32>, BatchCheckError> {
    let start = Instant::now();
    let output = device.run(opcode, items)?;
    stages.push(StageCycles {
        opcode,
        items: items.len() / opcode.item_words(),
        device_cycles: output.device_cycles,
        transfer_cycles: output.transfer_cycles,
        wall: start.elapsed(),
    });
    Ok(output.words)
}

/// Decodes compressed min_pk signatures: per item its affine point (blst's, the identity for
/// the compressed identity) or why it has none. Encoding errors and the identity are found
/// on the host; the rest go to the device as one DecodeG2 stage (none if nothing is left).
/// Errs only if the device fails or answers with something that is not a field element, or
/// accepts an x whose root is not on the curve ([`BatchCheckError::OffCurveRoot`]).
pub fn decode_signatures(
    device: &mut Device,
    signatures: &[&[u8]],
) -> Result<Vec<Result<blst_p2_affine, Rejection>>, BatchCheckError> {
    let mut decoded = Vec::with_capacity(signatures.len());
    let mut xs = Vec::with_capacity(signatures.len() * Opcode::DecodeG2.item_words());
    let mut on_device = Vec::with_capacity(signatures.len());
    for (index, bytes) in signatures.iter().enumerate() {
        if codec::is_compressed_identity(bytes) {
            decoded.push(Ok(blst_p2_affine::default()));
            continue;
        }
        match codec::compressed_g2_x(bytes) {
            Ok((x, largest)) => {
                xs.extend(x);
                on_device.push((index, largest));
                // Replaced by the device's verdict below.
                decoded.push(Err(Rejection::NotOnCurve));
            }
            Err(e) => decoded.push(Err(Rejection::Encoding(e))),
        }
    }
    if on_device.is_empty() {
        return Ok(decoded);
    }
    let results = device.run(Opcode::DecodeG2, &xs)?.words;
    for ((index, largest), (x, result)) in on_device.into_iter().zip(
        xs.chunks_exact(FP2_WORDS)
            .zip(results.chunks_exact(Opcode::DecodeG2.result_words())),
    ) {
        let (y, residues) = result.split_at(FP2_WORDS);
        let (curve, subgroup) = residues.split_at(FP2_WORDS);
        decoded[index] = if !codec::fp2_is_zero(curve)? {
            Err(Rejection::NotOnCurve)
        } else if !codec::fp2_is_zero(subgroup)? {
            Err(Rejection::NotInSubgroup)
        } else {
            let point = codec::g2_affine_with_sign(x, y, largest);
            Ok(point.map_err(|error| match error {
                CodecError::NotOnCurve => BatchCheckError::OffCurveRoot { index },
                other => other.into(),
            })?)
        };
    }
    Ok(decoded)
}

/// −g₁ as P of the batch's last pair.
fn minus_g1() -> blst_p1_affine {
    let mut affine = blst_p1_affine::default();
    // SAFETY: blst's generator is a static point, copied; the outputs are valid, owned values.
    unsafe {
        let mut point: blst_p1 = *blst_p1_generator();
        blst_p1_cneg(&mut point, true);
        blst_p1_to_affine(&mut affine, &point);
    }
    affine
}

/// Appends the finite pair (P, Q) as MillerLoop's item (P.x, P.y, Q.x, Q.y).
fn push_pair(pairs: &mut Vec<u32>, p: &blst_p1_affine, q: &blst_p2_affine) {
    pairs.extend_from_slice(&codec::encode_g1_point(p)[..2 * FP_WORDS]);
    pairs.extend_from_slice(&codec::encode_g2_point(q)[..2 * FP2_WORDS]);
}

/// Hashes each item's message to G2 on `device` (HashToG2), given its hash_to_field output
/// (u0, u1: HashToG2's 48 words an item), and records the stage's cost (none without
/// messages). A hash at infinity (negligible for an honest device) is a device fault.
pub fn hash_to_g2(
    device: &mut Device,
    us: &[Vec<u32>],
) -> Result<(Vec<blst_p2_affine>, Option<StageCycles>), BatchCheckError> {
    if us.is_empty() {
        return Ok((Vec::new(), None));
    }
    let expected = Opcode::HashToG2.item_words();
    let mut words = Vec::with_capacity(us.len() * expected);
    for (index, u) in us.iter().enumerate() {
        if u.len() != expected {
            return Err(BatchCheckError::HashLength {
                index,
                words: u.len(),
                expected,
            });
        }
        words.extend_from_slice(u);
    }
    let mut stages = Vec::with_capacity(1);
    let hashes = codec::g2_affine_points(&stage(device, Opcode::HashToG2, &words, &mut stages)?)?;
    // SAFETY: valid references to affine points.
    if let Some(index) = hashes
        .iter()
        .position(|h| unsafe { blst_p2_affine_is_inf(h) })
    {
        let opcode = Opcode::HashToG2;
        return Err(BatchCheckError::Infinity { index, opcode });
    }
    Ok((hashes, stages.pop()))
}

/// Runs the stages of a min_pk batch check of `items` after the hashing (see the module
/// docs) on `device`, which must serve [`Opcode::MIN_PK_BATCH`]. No items: no stages, no lane
/// values (product 1).
pub fn min_pk_lane_values(
    device: &mut Device,
    items: &[MinPkItem],
) -> Result<LaneValues, BatchCheckError> {
    let mut stages = Vec::new();
    if items.is_empty() {
        return Ok(LaneValues {
            values: Vec::new(),
            stages,
        });
    }
    // Blinding: the keys one by one, the signatures by the bucket method.
    let mut keys = Vec::with_capacity(items.len() * Opcode::ScalarMulG1.item_words());
    for item in items {
        keys.extend(codec::encode_scalar(item.scalar));
        keys.extend(codec::encode_g1_point(&item.public_key));
    }
    let blinded_keys =
        codec::g1_affine_points(&stage(device, Opcode::ScalarMulG1, &keys, &mut stages)?)?;
    let scalars: Vec<u64> = items.iter().map(|i| i.scalar).collect();
    let signatures: Vec<blst_p2_affine> = items.iter().map(|i| i.signature).collect();
    let (sum, cost) = signature_sum(device, &scalars, &signatures)?;
    stages.push(cost);
    // The Miller loops: (rᵢ·pkᵢ, H(mᵢ)) and (−g₁, Σ rᵢσᵢ).
    let mut pairs = Vec::with_capacity((items.len() + 1) * Opcode::MillerLoop.item_words());
    for (index, (key, item)) in blinded_keys.iter().zip(items).enumerate() {
        // SAFETY: a valid reference to an affine point.
        if unsafe { blst_p1_affine_is_inf(key) } {
            let opcode = Opcode::ScalarMulG1;
            return Err(BatchCheckError::Infinity { index, opcode });
        }
        push_pair(&mut pairs, key, &item.hash);
    }
    // Σ rᵢσᵢ is infinity when the signatures are (the identity is a valid encoding): its
    // pairing is 1 and the device takes finite points only.
    // SAFETY: a valid reference to an affine point.
    if !unsafe { blst_p2_affine_is_inf(&sum) } {
        push_pair(&mut pairs, &minus_g1(), &sum);
    }
    let values = stage(device, Opcode::MillerLoop, &pairs, &mut stages)?
        .chunks_exact(Opcode::MillerLoop.result_words())
        .map(codec::decode_fp12)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LaneValues { values, stages })
}
