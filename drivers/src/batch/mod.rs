//! The device's stages of a min_pk batch check (random linear combination, POP/BASIC/AUG alike:
//! the caller hashes with its scheme's DST): signatures decoded (DecodeG2), messages hashed to
//! G2 (HashToG2), keys blinded (r·pk, ScalarMulG1), signatures blinded and summed (Σ rᵢσᵢ,
//! MultiScalarG2), then one Miller loop per (rᵢ·pkᵢ, H(mᵢ)) and for (−g₁, Σ rᵢσᵢ) (MillerLoop).
//! The result is the lanes' Miller values: the batch is valid iff their product, after one
//! final exponentiation, is 1 ([`LaneValues::verdict`]).
//!
//! Two designs serve these opcodes today (ABI 3.1): the verification design the decoding,
//! hashing and Miller loops, the standard one the blinding; so the call takes both devices.
//! What stays on the CPU: the flag/length/x < p checks and the sign of y, normalising the
//! device's projective points, adding the lanes' partial sums, the final exponentiation.

use blst::{
    blst_fp12, blst_p1, blst_p1_affine, blst_p1_cneg, blst_p1_generator, blst_p1_to_affine, min_pk,
};
use tollgate_abi::{Opcode, FP2_WORDS, FP_WORDS, G1_WORDS};

use crate::codec::{self, CodecError};
use crate::{Device, DeviceError};

/// One item of a min_pk batch.
#[derive(Debug, Clone)]
pub struct MinPkItem {
    /// The public key, already KeyValidate'd by the caller (in G1, not infinity).
    pub public_key: blst_p1_affine,
    /// The signature as received: 96 compressed bytes.
    pub signature: Vec<u8>,
    /// hash_to_field(message, DST): u0, u1 as HashToG2's item (48 words).
    pub u: Vec<u32>,
    /// The item's blinding scalar: non-zero, from the CSPRNG.
    pub scalar: u64,
}

/// Why the stages did not produce lane values.
#[derive(Debug, thiserror::Error)]
pub enum BatchCheckError {
    /// A device job failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// Item `index`'s signature is not a canonical compressed encoding.
    #[error("item {index}: signature encoding: {source}")]
    Encoding {
        /// Its position in the batch.
        index: usize,
        /// What is wrong with it.
        source: CodecError,
    },
    /// Item `index`'s signature is not a point of G2 (off the curve or off the subgroup).
    #[error("item {index}: signature is not in G2")]
    NotInG2 {
        /// Its position in the batch.
        index: usize,
    },
    /// A device result was not a field element or point (a device fault).
    #[error("malformed device result: {0}")]
    Result(String),
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
}

/// The Miller values of a batch, one per lane per MillerLoop job, and what each stage cost.
#[derive(Debug, Clone)]
pub struct LaneValues {
    /// The lanes' Miller values.
    pub values: Vec<blst_fp12>,
    /// The stages in the order they ran.
    pub stages: Vec<StageCycles>,
}

impl LaneValues {
    /// Whether the batch is valid: the lanes' product, finally exponentiated, is 1.
    pub fn verdict(&self) -> bool {
        let product = self
            .values
            .iter()
            .fold(blst_fp12::default(), |acc, v| acc * *v);
        product.final_exp() == blst_fp12::default()
    }
}

/// Runs one stage and records its cost.
fn stage(
    device: &mut Device,
    opcode: Opcode,
    items: &[u32],
    stages: &mut Vec<StageCycles>,
) -> Result<Vec<u32>, BatchCheckError> {
    let output = device.run(opcode, items)?;
    stages.push(StageCycles {
        opcode,
        items: items.len() / opcode.item_words(),
        device_cycles: output.device_cycles,
        transfer_cycles: output.transfer_cycles,
    });
    Ok(output.words)
}

fn malformed(e: impl std::fmt::Display) -> BatchCheckError {
    BatchCheckError::Result(e.to_string())
}

/// Affine coordinates (x, y) of a projective device point, normalised on the CPU.
fn g1_affine(words: &[u32]) -> Result<Vec<u32>, BatchCheckError> {
    let bytes = codec::decode_g1(words).map_err(malformed)?;
    let affine = codec::encode_g1(&bytes).map_err(malformed)?;
    Ok(affine[..2 * FP_WORDS].to_vec())
}

fn g2_affine(words: &[u32]) -> Result<Vec<u32>, BatchCheckError> {
    let bytes = codec::decode_g2(words).map_err(malformed)?;
    let affine = codec::encode_g2(&bytes).map_err(malformed)?;
    Ok(affine[..2 * FP2_WORDS].to_vec())
}

/// −g₁ as P of the batch's last pair.
fn minus_g1() -> Vec<u32> {
    let mut affine = blst_p1_affine::default();
    // SAFETY: blst's generator is a static point, copied; the outputs are valid, owned values.
    unsafe {
        let mut point: blst_p1 = *blst_p1_generator();
        blst_p1_cneg(&mut point, true);
        blst_p1_to_affine(&mut affine, &point);
    }
    codec::encode_g1_point(&affine)[..2 * FP_WORDS].to_vec()
}

/// Runs the stages of a min_pk batch check of `items` (see the module docs) on `verify`
/// (DecodeG2, HashToG2, MillerLoop) and `curve` (ScalarMulG1, MultiScalarG2).
pub fn min_pk_lane_values(
    verify: &mut Device,
    curve: &mut Device,
    items: &[MinPkItem],
) -> Result<LaneValues, BatchCheckError> {
    // Decoding: the host's checks, then the root and the residues on the device.
    let mut xs = Vec::with_capacity(items.len() * FP2_WORDS);
    let mut largest = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let (x, flag) = codec::compressed_g2_x(&item.signature)
            .map_err(|source| BatchCheckError::Encoding { index, source })?;
        xs.extend(x);
        largest.push(flag);
    }
    let mut stages = Vec::new();
    let decoded = stage(verify, Opcode::DecodeG2, &xs, &mut stages)?;
    let mut blinded_sigs = Vec::with_capacity(items.len() * Opcode::MultiScalarG2.item_words());
    for (index, (item, result)) in items
        .iter()
        .zip(decoded.chunks_exact(Opcode::DecodeG2.result_words()))
        .enumerate()
    {
        if result[FP2_WORDS..].iter().any(|w| *w != 0) {
            return Err(BatchCheckError::NotInG2 { index });
        }
        let x = &xs[index * FP2_WORDS..(index + 1) * FP2_WORDS];
        let sigma = codec::g2_point_with_sign(x, &result[..FP2_WORDS], largest[index])
            .map_err(malformed)?;
        blinded_sigs.extend(codec::encode_scalar(item.scalar));
        blinded_sigs.extend(sigma);
    }
    // Hashing, blinding.
    let us: Vec<u32> = items.iter().flat_map(|i| i.u.iter().copied()).collect();
    let hashes = stage(verify, Opcode::HashToG2, &us, &mut stages)?;
    let keys: Vec<u32> = items
        .iter()
        .flat_map(|i| {
            codec::encode_scalar(i.scalar)
                .into_iter()
                .chain(codec::encode_g1_point(&i.public_key))
        })
        .collect();
    let blinded_keys = stage(curve, Opcode::ScalarMulG1, &keys, &mut stages)?;
    let partials = stage(curve, Opcode::MultiScalarG2, &blinded_sigs, &mut stages)?;
    let partials = partials
        .chunks_exact(Opcode::MultiScalarG2.result_words())
        .map(|p| {
            let bytes = codec::decode_g2(p).map_err(malformed)?;
            min_pk::Signature::deserialize(&bytes).map_err(|e| malformed(format!("{e:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&min_pk::Signature> = partials.iter().collect();
    let sum = min_pk::AggregateSignature::aggregate(&refs, false)
        .map_err(|e| malformed(format!("{e:?}")))?
        .to_signature();
    let sum: &blst::blst_p2_affine = (&sum).into();
    // The Miller loops: (rᵢ·pkᵢ, H(mᵢ)) and (−g₁, Σ rᵢσᵢ).
    let mut pairs = Vec::with_capacity((items.len() + 1) * Opcode::MillerLoop.item_words());
    for (key, hash) in blinded_keys
        .chunks_exact(G1_WORDS)
        .zip(hashes.chunks_exact(Opcode::HashToG2.result_words()))
    {
        pairs.extend(g1_affine(key)?);
        pairs.extend(g2_affine(hash)?);
    }
    pairs.extend(minus_g1());
    pairs.extend(&codec::encode_g2_point(sum)[..2 * FP2_WORDS]);
    let values = stage(verify, Opcode::MillerLoop, &pairs, &mut stages)?;
    let values = values
        .chunks_exact(Opcode::MillerLoop.result_words())
        .map(codec::decode_fp12)
        .collect::<Result<Vec<_>, _>>()
        .map_err(malformed)?;
    Ok(LaneValues { values, stages })
}
