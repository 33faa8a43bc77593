//! The generic Miller loop evaluated on arkworks fields (the golden model) against arkworks'
//! pairing: after the final exponentiation, which stays on the CPU, the products must agree.

use ark_bls12_381::{Bls12_381, Fq, Fr, G1Projective, G2Projective};
use ark_ec::pairing::{MillerLoopOutput, Pairing};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_std::UniformRand;
use tollgate_microcode::field::{fp12_to_ark, fp2_from_ark};
use tollgate_microcode::pairing::{multi_miller_loop, G1Affine, G2Affine};

fn pair(p: &G1Projective, q: &G2Projective) -> (G1Affine<Fq>, G2Affine<Fq>) {
    let (px, py) = p.into_affine().xy().expect("not infinity");
    let (qx, qy) = q.into_affine().xy().expect("not infinity");
    (
        G1Affine { x: px, y: py },
        G2Affine {
            x: fp2_from_ark(&qx),
            y: fp2_from_ark(&qy),
        },
    )
}

fn finished(pairs: &[(G1Affine<Fq>, G2Affine<Fq>)]) -> <Bls12_381 as Pairing>::TargetField {
    let f = fp12_to_ark(&multi_miller_loop(pairs));
    Bls12_381::final_exponentiation(MillerLoopOutput(f))
        .expect("non-zero")
        .0
}

#[test]
fn one_pair_matches_the_arkworks_pairing() {
    let mut rng = ark_std::test_rng();
    let (g1, g2) = (G1Projective::generator(), G2Projective::generator());
    let mut cases = vec![(g1, g2), (-g1, g2), (g1, -g2)];
    cases.extend((0..4).map(|_| (G1Projective::rand(&mut rng), G2Projective::rand(&mut rng))));
    for (p, q) in cases {
        assert_eq!(finished(&[pair(&p, &q)]), Bls12_381::pairing(p, q).0);
    }
}

#[test]
fn shared_squarings_give_the_multi_pairing() {
    let mut rng = ark_std::test_rng();
    for n in [2, 3] {
        let ps: Vec<G1Projective> = (0..n).map(|_| G1Projective::rand(&mut rng)).collect();
        let qs: Vec<G2Projective> = (0..n).map(|_| G2Projective::rand(&mut rng)).collect();
        let pairs: Vec<_> = ps.iter().zip(&qs).map(|(p, q)| pair(p, q)).collect();
        assert_eq!(
            finished(&pairs),
            Bls12_381::multi_pairing(ps, qs).0,
            "n = {n}"
        );
    }
    // Bilinearity through our loop: e(aP, Q) · e(−P, aQ) = 1, the shape of a batch check.
    let a = Fr::rand(&mut rng);
    let (p, q) = (G1Projective::rand(&mut rng), G2Projective::rand(&mut rng));
    let pairs = [pair(&(p * a), &q), pair(&-p, &(q * a))];
    assert_eq!(
        finished(&pairs),
        <Bls12_381 as Pairing>::TargetField::from(1u64)
    );
}
