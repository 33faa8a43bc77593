//! Products by small integers on the add/sub units (doublings and additions), so that curve
//! constants such as 240·u or 1012·(1 + u) need neither the multiplier nor a table entry.

use super::{Field, Fp2};

/// `k·x` by double-and-add (k ≥ 0).
pub fn times<F: Field>(x: &F, k: u64) -> F {
    let Some(top) = (0..u64::BITS).rev().find(|i| (k >> i) & 1 == 1) else {
        return x.zero();
    };
    let mut acc = x.clone();
    for i in (0..top).rev() {
        acc = acc.double();
        if (k >> i) & 1 == 1 {
            acc = acc.add(x);
        }
    }
    acc
}

/// `k·x` for a signed k.
pub fn times_signed<F: Field>(x: &F, k: i64) -> F {
    let product = times(x, k.unsigned_abs());
    if k < 0 {
        product.neg()
    } else {
        product
    }
}

impl<F: Field> Fp2<F> {
    /// `(a + b·u) · self` for small integers a, b: `a·self + b·(u·self)`, no multiplication.
    pub fn times_small(&self, a: i64, b: i64) -> Self {
        let u_self = Fp2::new(self.c1.neg(), self.c0.clone());
        times_signed(self, a).add(&times_signed(&u_self, b))
    }

    /// The constant `a + b·u`, in the same context as `self`.
    pub fn small(&self, a: i64, b: i64) -> Self {
        self.one().times_small(a, b)
    }
}
