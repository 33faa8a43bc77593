//! One step of the bucket method (Pippenger) for Σ kᵢPᵢ, in the sorted form the engine can run.
//!
//! The textbook bucket method adds each point into the bucket its window digit names, then
//! sums Σ b·B_b with two running sums. The engine cannot do the first part: a lane's register
//! addresses are fixed in the ROM, so "bucket[digit] += P" would need an indirect register
//! address. The host made the scalars, though, so it can sort a lane's items by digit
//! (descending) before streaming them; then the buckets are visited in order and one running
//! pair suffices: S, the sum of every bucket from the top down to the current one, and T, the
//! sum of those running values. A step is either an *item* step (S += P: P joins the current
//! bucket) or a *boundary* step (T += S: the digit drops by one), chosen per lane by a flag
//! bit the host streams with the point. After the boundary of bucket 1, T = Σ_b b·B_b.
//!
//! Both kinds add S to something, so a step is one complete addition with one operand
//! selected, and two selects write the sum back to S or T: one addition and three point
//! selects per step, whatever the data.

use super::{add, Curve, Point};
use crate::field::Field;

/// S and T after one step: `boundary` = 1 gives (S, T + S), 0 gives (S + P, T). `p` is
/// unused by a boundary step.
pub fn bucket_step<F: Field, C: Curve<F>>(
    boundary: &F::Bit,
    s: &Point<F>,
    t: &Point<F>,
    p: &Point<F>,
) -> (Point<F>, Point<F>) {
    let sum = add::<F, C>(s, &Point::select(boundary, t, p));
    (
        Point::select(boundary, s, &sum),
        Point::select(boundary, &sum, t),
    )
}
