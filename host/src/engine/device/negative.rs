//! The negative canary of a device decoding job (super::whole): a secret, fresh compressed
//! encoding that is NOT a signature, at a random position among the job's signatures, which
//! the device must reject with the right rejection. The lane canary (super::canary) cannot
//! catch a device that accepts a point off the curve or off the subgroup: such a point only
//! breaks the batch equation if its item's signature is checked, and the sampled
//! re-verification sees 5 % of the batches. This one is caught in every batch.
//!
//! Two classes, as the x falls (the device must not learn which checks are tested):
//! - off the curve: x³ + 4(1 + i) not a square in Fp2, to be rejected as
//!   [`Rejection::NotOnCurve`];
//! - on the twist, off the subgroup: x³ + 4(1 + i) a square, to be rejected as
//!   [`Rejection::NotInSubgroup`]. A random point of E'(Fp2) lies in G2 with probability
//!   1/h₂ ≈ 2⁻⁵⁰⁹ (h₂ the cofactor), so no subgroup check is spent on it.
//!
//! x is uniform below p in each coordinate and the sign bit random: the encoding looks like
//! any signature's. About half of the x are on the curve, so the class is a fair coin, as
//! when it was drawn first and x drawn again until it fit; blst_fp2_is_square tells the class
//! without the decompressions (square roots) that drawing again cost (bench canary_cost
//! --whole, "NegativeCanary::new").

use std::sync::LazyLock;

use blst::{
    blst_fp, blst_fp2, blst_fp2_add, blst_fp2_is_square, blst_fp2_mul, blst_fp2_sqr,
    blst_fp_from_bendian, blst_fp_from_uint64,
};
use rand_core::{OsRng, RngCore};
use tollgate_drivers::batch::Rejection;
use tollgate_drivers::codec;

use super::super::EngineError;

/// One decoding job's negative canary.
pub struct NegativeCanary {
    /// Its position among the job's compressed signatures.
    pub position: usize,
    /// The encoding.
    pub bytes: [u8; 96],
    /// The rejection the device owes it.
    pub rejection: Rejection,
}

fn fill(bytes: &mut [u8]) -> Result<(), EngineError> {
    OsRng
        .try_fill_bytes(bytes)
        .map_err(|e| EngineError::Rng(e.to_string()))
}

/// The twist's b = 4(1 + i), in blst's Montgomery form.
static B: LazyLock<blst_fp2> = LazyLock::new(|| {
    let mut four = blst_fp::default();
    // SAFETY: blst reads six limbs; a valid output.
    unsafe { blst_fp_from_uint64(&mut four, [4, 0, 0, 0, 0, 0].as_ptr()) };
    blst_fp2 { fp: [four, four] }
});

/// Whether x (c1 ‖ c0, big-endian, each below p) is the x of a point of the twist.
fn on_curve(c1: &[u8; 48], c0: &[u8]) -> bool {
    let mut x = blst_fp2::default();
    let (mut square, mut cube, mut rhs) = (
        blst_fp2::default(),
        blst_fp2::default(),
        blst_fp2::default(),
    );
    // SAFETY: 48 bytes each, below p (checked by the caller); valid elements in and out.
    unsafe {
        blst_fp_from_bendian(&mut x.fp[1], c1.as_ptr());
        blst_fp_from_bendian(&mut x.fp[0], c0.as_ptr());
        blst_fp2_sqr(&mut square, &x);
        blst_fp2_mul(&mut cube, &square, &x);
        blst_fp2_add(&mut rhs, &cube, &*B);
        blst_fp2_is_square(&rhs)
    }
}

impl NegativeCanary {
    /// A fresh negative canary for a job of `signatures` signatures.
    pub fn new(signatures: usize) -> Result<NegativeCanary, EngineError> {
        let mut position = [0u8; 8];
        fill(&mut position)?;
        // Modulo bias ≤ signatures / 2⁶⁴: negligible.
        let position = (u64::from_le_bytes(position) % (signatures as u64 + 1)) as usize;
        loop {
            let mut bytes = [0u8; 96];
            fill(&mut bytes)?;
            // Compressed, not infinity, a random sort flag; x.c1 and x.c0 below 2³⁸¹.
            bytes[0] = bytes[0] & 0x3F | 0x80;
            bytes[48] &= 0x1F;
            // x ≥ p in a coordinate (about a third of the draws): the host's own screening
            // would refuse it; draw again.
            if codec::compressed_g2_x(&bytes).is_err() {
                continue;
            }
            let mut c1 = [0u8; 48];
            c1.copy_from_slice(&bytes[..48]);
            c1[0] &= 0x1F;
            let rejection = match on_curve(&c1, &bytes[48..]) {
                true => Rejection::NotInSubgroup,
                false => Rejection::NotOnCurve,
            };
            return Ok(NegativeCanary {
                position,
                bytes,
                rejection,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use blst::min_pk::Signature;
    use blst::BLST_ERROR;

    use super::*;

    #[test]
    fn both_classes_come_and_blst_rejects_each_as_its_class_says() {
        let mut seen = [false; 2];
        let mut positions = [false; 3];
        while !(seen.iter().all(|s| *s) && positions.iter().all(|s| *s)) {
            let canary = NegativeCanary::new(2).unwrap();
            positions[canary.position] = true;
            let expected = match canary.rejection {
                Rejection::NotOnCurve => {
                    seen[0] = true;
                    BLST_ERROR::BLST_POINT_NOT_ON_CURVE
                }
                Rejection::NotInSubgroup => {
                    seen[1] = true;
                    BLST_ERROR::BLST_POINT_NOT_IN_GROUP
                }
                Rejection::Encoding(e) => panic!("an encoding error: {e}"),
            };
            // blst's full validation (decompression, then the subgroup check).
            assert_eq!(
                Signature::sig_validate(&canary.bytes, true).err(),
                Some(expected)
            );
            assert!(codec::compressed_g2_x(&canary.bytes).is_ok());
        }
    }
}
