//! Sums of groups of affine G2 points by batched affine additions, for the bucket job's join
//! (its lanes' T of every job, about a hundred to a few hundred points, into one group per
//! window). Each round adds every
//! group's points pairwise, and the round's slopes share one inversion (Montgomery's trick):
//! an addition then costs about 6 field multiplications, where blst's mixed Jacobian addition
//! of one point at a time costs about 11.

use blst::{blst_p2, blst_p2_add_or_double_affine, blst_p2_affine, blst_p2_affine_is_inf};

use crate::codec::{batch_invert, Fp2};

/// Σ of each group's points (points of the curve; infinity allowed) as a Jacobian part plus an
/// affine part (infinity for an empty group). The Jacobian part is infinity unless two of the
/// group's points shared an x, so a caller adding the sums one at a time can mostly add the
/// affine part alone, by the cheaper mixed addition.
pub(super) fn group_sums(mut groups: Vec<Vec<blst_p2_affine>>) -> Vec<(blst_p2, blst_p2_affine)> {
    // Pairs that share an x (a doubling or a cancellation) have no slope: they go to their
    // group's Jacobian accumulator, through blst's complete addition.
    let mut rest = vec![blst_p2::default(); groups.len()];
    for group in &mut groups {
        // SAFETY: valid references to affine points.
        group.retain(|p| !unsafe { blst_p2_affine_is_inf(p) });
    }
    loop {
        let mut pairs = Vec::new();
        let mut slopes = Vec::new();
        for (g, points) in groups.iter_mut().enumerate() {
            while points.len() >= 2 {
                let (b, a) = (points.pop().expect("two"), points.pop().expect("two"));
                let (ax, bx) = (Fp2::from_blst(a.x), Fp2::from_blst(b.x));
                if ax == bx {
                    add_affine(&mut rest[g], &a);
                    add_affine(&mut rest[g], &b);
                } else {
                    slopes.push(bx.sub(&ax));
                    pairs.push((g, a, b));
                }
            }
        }
        if pairs.is_empty() {
            break;
        }
        batch_invert(&mut slopes);
        for ((g, a, b), inverse) in pairs.into_iter().zip(slopes) {
            let (ax, ay) = (Fp2::from_blst(a.x), Fp2::from_blst(a.y));
            let (bx, by) = (Fp2::from_blst(b.x), Fp2::from_blst(b.y));
            let lambda = by.sub(&ay).mul(&inverse);
            let x = lambda.square().sub(&ax).sub(&bx);
            let y = lambda.mul(&ax.sub(&x)).sub(&ay);
            groups[g].push(blst_p2_affine {
                x: x.blst(),
                y: y.blst(),
            });
        }
    }
    rest.into_iter()
        .zip(groups)
        .map(|(rest, last)| (rest, last.first().copied().unwrap_or_default()))
        .collect()
}

/// `acc += p` (p affine, possibly infinity).
pub(super) fn add_affine(acc: &mut blst_p2, p: &blst_p2_affine) {
    // SAFETY: valid points in and out; blst allows the output to alias the first input.
    unsafe {
        if !blst_p2_affine_is_inf(p) {
            let a = *acc;
            blst_p2_add_or_double_affine(acc, &a, p);
        }
    }
}

#[cfg(test)]
mod tests {
    use blst::{
        blst_p2_add_or_double, blst_p2_affine_generator, blst_p2_double, blst_p2_to_affine,
    };

    use super::*;

    fn affine(p: &blst_p2) -> blst_p2_affine {
        let mut a = blst_p2_affine::default();
        // SAFETY: a valid point in, a valid output.
        unsafe { blst_p2_to_affine(&mut a, p) };
        a
    }

    #[test]
    fn group_sums_equal_one_at_a_time_with_doublings_and_cancellations() {
        // SAFETY: blst's generator is a static point, copied.
        let g = unsafe { *blst_p2_affine_generator() };
        let mut multiples = vec![blst_p2::default()];
        for _ in 0..12 {
            let mut next = *multiples.last().expect("one");
            add_affine(&mut next, &g);
            multiples.push(next);
        }
        let m: Vec<blst_p2_affine> = multiples.iter().map(affine).collect();
        let mut minus_3g = m[3];
        minus_3g.y = Fp2::from_blst(m[3].y).neg().blst();
        let groups = vec![
            vec![],
            vec![m[0]],
            vec![m[5]],
            vec![m[1], m[1]],
            vec![m[3], minus_3g],
            vec![m[1], m[2], m[3], m[4], m[5], m[6], m[0], m[2], m[2]],
            vec![m[7]; 5],
        ];
        let expected: Vec<blst_p2> = groups
            .iter()
            .map(|points| {
                let mut sum = blst_p2::default();
                points.iter().for_each(|p| add_affine(&mut sum, p));
                sum
            })
            .collect();
        let sums = group_sums(groups);
        for (i, ((rest, last), want)) in sums.iter().zip(&expected).enumerate() {
            let mut got = *rest;
            add_affine(&mut got, last);
            assert_eq!(affine(&got), affine(want), "group {i}");
        }
        // Spot-check the reference itself: 2·(1·g) and 28 + 7·5 = 35 = 5·7.
        let (mut twice, mut doubled) = (blst_p2::default(), blst_p2::default());
        // SAFETY: valid points in and out.
        unsafe {
            blst_p2_double(&mut doubled, &multiples[1]);
            blst_p2_add_or_double(&mut twice, &multiples[1], &multiples[1]);
        }
        assert_eq!(affine(&twice), affine(&doubled));
        assert_eq!(affine(&expected[3]), m[2]);
    }
}
