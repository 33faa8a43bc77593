//! A device simulated with blst for the canaries' tests: signed items, honest or faulty.

use blst::{
    blst_p1, blst_p1_affine, blst_p1_to_affine, blst_p2_affine, blst_p2_to_affine, min_pk,
    MultiPoint,
};

use super::super::pairing::tests::DST;
use super::{random_scalar, CanaryPoint};

pub(super) fn mul_g1(point: &blst_p1_affine, r: u64) -> blst_p1_affine {
    let product: blst_p1 = [*point].mult(&r.to_le_bytes(), 64);
    let mut out = blst_p1_affine::default();
    unsafe { blst_p1_to_affine(&mut out, &product) };
    out
}

pub(super) fn msm_g2(points: &[blst_p2_affine], scalars: &[u64]) -> blst_p2_affine {
    let bytes: Vec<u8> = scalars.iter().flat_map(|r| r.to_le_bytes()).collect();
    let mut out = blst_p2_affine::default();
    unsafe { blst_p2_to_affine(&mut out, &points.mult(&bytes, 64)) };
    out
}

/// Eight signed items; with `cancelling`, items 2 and 5 carry σ₂ + δ and σ₅ − δ: both
/// invalid, their sum valid.
pub(super) fn items(cancelling: bool) -> (Vec<Vec<u8>>, Vec<blst_p1_affine>, Vec<blst_p2_affine>) {
    let (mut messages, mut keys, mut sigs) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..8u8 {
        let sk = min_pk::SecretKey::key_gen(&[i + 7; 32], &[]).unwrap();
        let message = vec![i; 12];
        keys.push(blst_p1_affine::from(sk.sk_to_pk()));
        sigs.push(blst_p2_affine::from(sk.sign(&message, DST, &[])));
        messages.push(message);
    }
    if cancelling {
        let delta = blst_p2_affine::base_mul(&random_scalar().unwrap());
        sigs[2] = sigs[2].add(&delta, false);
        sigs[5] = sigs[5].add(&delta, true);
    }
    (messages, keys, sigs)
}

/// How the simulated device misbehaves.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Device {
    Honest,
    /// Every scalar read as 1.
    ScalarsIgnored,
    /// Item `n`'s input replaced by item `n + 1`'s.
    Dropped(usize),
}
