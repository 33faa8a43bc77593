//! The negative canary of a device decoding job (super::whole): a secret, fresh compressed
//! encoding that is NOT a signature, at a random position among the job's signatures, which
//! the device must reject with the right rejection. The lane canary (super::canary) cannot
//! catch a device that accepts a point off the curve or off the subgroup: such a point only
//! breaks the batch equation if its item's signature is checked, and the sampled
//! re-verification sees 5 % of the batches. This one is caught in every batch.
//!
//! Two classes, picked at random per job (the device must not learn which checks are tested):
//! - off the curve: an x with x³ + 4(1 + i) not a square in Fp2 (blst's decompression says
//!   so), to be rejected as [`Rejection::NotOnCurve`];
//! - on the twist, off the subgroup: an x blst decompresses to a point, to be rejected as
//!   [`Rejection::NotInSubgroup`]. A random point of E'(Fp2) lies in G2 with probability
//!   1/h₂ ≈ 2⁻⁵⁰⁹ (h₂ the cofactor), so no subgroup check is spent on it.
//!
//! x is uniform below p in each coordinate and the sign bit random: the encoding looks like
//! any signature's. Cost: about two decompressions per job (half of the x are on the curve),
//! measured by bench canary_cost --whole.

use blst::{blst_p2_affine, blst_p2_uncompress, BLST_ERROR};
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

impl NegativeCanary {
    /// A fresh negative canary for a job of `signatures` signatures.
    pub fn new(signatures: usize) -> Result<NegativeCanary, EngineError> {
        let mut draw = [0u8; 9];
        fill(&mut draw)?;
        let off_curve = draw[0] & 1 == 1;
        let mut position = [0u8; 8];
        position.copy_from_slice(&draw[1..]);
        // Modulo bias ≤ signatures / 2⁶⁴: negligible.
        let position = (u64::from_le_bytes(position) % (signatures as u64 + 1)) as usize;
        let wanted = if off_curve {
            BLST_ERROR::BLST_POINT_NOT_ON_CURVE
        } else {
            BLST_ERROR::BLST_SUCCESS
        };
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
            let mut point = blst_p2_affine::default();
            // SAFETY: `bytes` holds the 96 bytes blst reads; a valid output.
            if unsafe { blst_p2_uncompress(&mut point, bytes.as_ptr()) } == wanted {
                return Ok(NegativeCanary {
                    position,
                    bytes,
                    rejection: match off_curve {
                        true => Rejection::NotOnCurve,
                        false => Rejection::NotInSubgroup,
                    },
                });
            }
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
