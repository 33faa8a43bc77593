//! G2's endomorphism ψ (untwist–Frobenius–twist) and what it makes cheap: the subgroup check
//! ψ(P) = [x]P (Scott 2021) and the cofactor clearing of hash-to-G2 (Budroni–Pintore, RFC 9380
//! §8.8.2). Both multiply only by the fixed parameter |x| (64 bits, weight 6), so the chain of
//! doublings and additions is fixed at trace time and no select is needed.

use super::{add, double, Point, G2};
use crate::field::{Constant, Field, Fp2};
use crate::pairing::X_ABS;

/// `ψ(X : Y : Z) = (conj(X)·c_x : conj(Y)·c_y : conj(Z))`.
pub fn psi<F: Field>(p: &Point<Fp2<F>>) -> Point<Fp2<F>> {
    let k = |c0, c1| Fp2::new(p.x.c0.constant(c0), p.x.c0.constant(c1));
    Point::new(
        p.x.conjugate().mul(&k(Constant::PsiX0, Constant::PsiX1)),
        p.y.conjugate().mul(&k(Constant::PsiY0, Constant::PsiY1)),
        p.z.conjugate(),
    )
}

/// `[|x|]P` by the fixed chain: 63 doublings, 5 additions.
pub fn mul_by_x_abs<F: Field>(p: &Point<Fp2<F>>) -> Point<Fp2<F>> {
    let mut acc = p.clone();
    for bit in (0..63).rev() {
        acc = double::<_, G2>(&acc);
        if (X_ABS >> bit) & 1 == 1 {
            acc = add::<_, G2>(&acc, p);
        }
    }
    acc
}

/// Z of `ψ(P) + [|x|]P`, which is 0 exactly when ψ(P) = [x]P, that is (for P on the curve)
/// when P is in the order-r subgroup. The twist's group has odd order, so the complete
/// formulas never yield (0 : 0 : 0) and Z = 0 means infinity.
pub fn subgroup_residue<F: Field>(p: &Point<Fp2<F>>) -> Fp2<F> {
    add::<_, G2>(&psi(p), &mul_by_x_abs(p)).z
}

/// `[h_eff]P = [x² − x − 1]P + [x − 1]ψ(P) + ψ²(2P)`, the last step of hash-to-G2, as
/// `[x]A + C` with `A = [x]P + ψ(P)` and `C = ψ²(2P) − A − P`: the second multiplication by
/// x runs with only C (besides its own base) held, which keeps the register pressure of a
/// program that computes P (hash to G2) within the window.
pub fn clear_cofactor<F: Field>(p: &Point<Fp2<F>>) -> Point<Fp2<F>> {
    let a = add::<_, G2>(&mul_by_x_abs(p).neg(), &psi(p));
    let psi2_2p = psi(&psi(&double::<_, G2>(p)));
    let c = add::<_, G2>(&psi2_2p, &add::<_, G2>(&a, p).neg());
    add::<_, G2>(&mul_by_x_abs(&a).neg(), &c)
}
