//! A stage's projective device points to affine blst points with one field inversion for the
//! whole stage (Montgomery's trick: invert the product of every Z, then peel each inverse off
//! with two multiplications), instead of one inversion and a byte round trip per point. Each
//! point is checked to be on the curve, as blst's deserialiser checks an uncompressed point:
//! a device fault must come back as an error, never as a point off the curve.

use blst::{blst_p1_affine, blst_p1_affine_on_curve, blst_p2_affine, blst_p2_affine_on_curve};
use tollgate_abi::{FP2_WORDS, FP_WORDS, G1_WORDS, G2_WORDS};

use super::field::{Field, Fp, Fp2};
use super::CodecError;

/// Inverts every non-zero element of `values` in place with one inversion; zeros stay zero.
pub(crate) fn batch_invert<F: Field>(values: &mut [F]) {
    // prefix[i] = product of the non-zero values before i.
    let mut prefix = Vec::with_capacity(values.len());
    let mut product = F::one();
    for v in values.iter() {
        prefix.push(product);
        if !v.is_zero() {
            product = product.mul(v);
        }
    }
    let mut inverse = product
        .inverse()
        .expect("a product of non-zero field elements is not zero");
    for (v, before) in values.iter_mut().zip(prefix).rev() {
        if v.is_zero() {
            continue;
        }
        let v_inverse = inverse.mul(&before);
        inverse = inverse.mul(v);
        *v = v_inverse;
    }
}

/// The affine (x, y) of each projective point of `words` (`point_words` each, X, Y, Z of
/// `coordinate_words` each), `None` for infinity (Z = 0).
fn affine<F: Field>(
    words: &[u32],
    point_words: usize,
    coordinate: fn(&[u32]) -> Result<F, CodecError>,
) -> Result<Vec<Option<(F, F)>>, CodecError> {
    if !words.len().is_multiple_of(point_words) {
        return Err(CodecError::BadLength {
            expected: words.len().next_multiple_of(point_words),
            got: words.len(),
            unit: "words",
        });
    }
    let step = point_words / 3;
    let points = words
        .chunks_exact(point_words)
        .map(|p| {
            Ok([
                coordinate(&p[..step])?,
                coordinate(&p[step..2 * step])?,
                coordinate(&p[2 * step..])?,
            ])
        })
        .collect::<Result<Vec<[F; 3]>, CodecError>>()?;
    let mut z_inverses: Vec<F> = points.iter().map(|[_, _, z]| *z).collect();
    batch_invert(&mut z_inverses);
    Ok(points
        .iter()
        .zip(z_inverses)
        .map(|([x, y, z], z_inverse)| {
            (!z.is_zero()).then(|| (x.mul(&z_inverse), y.mul(&z_inverse)))
        })
        .collect())
}

/// blst's on-curve checks also accept the all-zero point, its infinity; (0, 0) is on neither
/// curve (b ≠ 0), so a finite result there is a fault.
fn finite<F: Field>(x: &F, y: &F) -> Result<(), CodecError> {
    match x.is_zero() && y.is_zero() {
        true => Err(CodecError::NotOnCurve),
        false => Ok(()),
    }
}

/// The device's projective G1 points ([`G1_WORDS`] each) as affine blst points (infinity:
/// blst's all-zero point), normalised with one inversion, each on the curve.
pub fn g1_affine_points(words: &[u32]) -> Result<Vec<blst_p1_affine>, CodecError> {
    affine::<Fp>(words, G1_WORDS, Fp::from_mont_words)?
        .into_iter()
        .map(|xy| {
            let Some((x, y)) = xy else {
                return Ok(blst_p1_affine::default());
            };
            finite(&x, &y)?;
            let point = blst_p1_affine {
                x: x.blst(),
                y: y.blst(),
            };
            // SAFETY: a valid affine point.
            match unsafe { blst_p1_affine_on_curve(&point) } {
                true => Ok(point),
                false => Err(CodecError::NotOnCurve),
            }
        })
        .collect()
}

/// The device's projective G2 points ([`G2_WORDS`] each) as affine blst points (infinity:
/// blst's all-zero point), normalised with one inversion, each on the curve.
pub fn g2_affine_points(words: &[u32]) -> Result<Vec<blst_p2_affine>, CodecError> {
    const _: () = assert!(G2_WORDS == 3 * FP2_WORDS && FP2_WORDS == 2 * FP_WORDS);
    affine::<Fp2>(words, G2_WORDS, Fp2::from_mont_words)?
        .into_iter()
        .map(|xy| {
            let Some((x, y)) = xy else {
                return Ok(blst_p2_affine::default());
            };
            g2_point(&x, &y)
        })
        .collect()
}

/// (x, y) as blst's affine G2 point if it is a point of the curve (not infinity).
pub(super) fn g2_point(x: &Fp2, y: &Fp2) -> Result<blst_p2_affine, CodecError> {
    finite(x, y)?;
    let point = blst_p2_affine {
        x: x.blst(),
        y: y.blst(),
    };
    // SAFETY: a valid affine point.
    match unsafe { blst_p2_affine_on_curve(&point) } {
        true => Ok(point),
        false => Err(CodecError::NotOnCurve),
    }
}
