//! The golden model (generic formulas evaluated on arkworks fields) against arkworks' own group
//! law, on random points, non-normalised projective inputs and every edge case; G2's subgroup
//! check and cofactor clearing against arkworks' verdicts and points.

use ark_bls12_381::{Fq, Fr, G1Projective, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{AdditiveGroup, Zero};
use ark_std::UniformRand;
use tollgate_microcode::curve::{
    add, clear_cofactor, decode_g2, double, g1_from_ark, g1_to_ark, g2_from_ark, g2_to_ark,
    scalar_bits, scalar_mul, subgroup_residue, Point, G1, G2,
};
use tollgate_microcode::field::{Field, Fp2};

/// The same point with every coordinate scaled by a random λ ≠ 0 (still the same point).
fn rescale<F: Field>(p: &Point<F>, lambda: &F) -> Point<F> {
    Point::new(p.x.mul(lambda), p.y.mul(lambda), p.z.mul(lambda))
}

fn g1_add(a: &G1Projective, b: &G1Projective) -> G1Projective {
    g1_to_ark(&add::<Fq, G1>(&g1_from_ark(a), &g1_from_ark(b)))
}

fn g2_add(a: &G2Projective, b: &G2Projective) -> G2Projective {
    g2_to_ark(&add::<Fp2<Fq>, G2>(&g2_from_ark(a), &g2_from_ark(b)))
}

const EDGE_SCALARS: [u64; 6] = [0, 1, 2, 3, u64::MAX, 1 << 63];

#[test]
fn g1_add_and_double_match_arkworks() {
    let mut rng = ark_std::test_rng();
    let zero = G1Projective::zero();
    for _ in 0..50 {
        let p = G1Projective::rand(&mut rng);
        let q = G1Projective::rand(&mut rng);
        assert_eq!(g1_add(&p, &q), p + q);
        assert_eq!(g1_add(&p, &p), AdditiveGroup::double(&p), "P + P");
        assert_eq!(g1_add(&p, &-p), zero, "P + (−P)");
        assert_eq!(g1_add(&zero, &p), p, "∞ + P");
        assert_eq!(g1_add(&p, &zero), p, "P + ∞");
        assert_eq!(
            g1_to_ark(&double::<Fq, G1>(&g1_from_ark(&p))),
            AdditiveGroup::double(&p)
        );
        // Projective inputs that are not normalised.
        let lambda = Fq::rand(&mut rng);
        let (pp, qq) = (
            rescale(&g1_from_ark(&p), &lambda),
            rescale(&g1_from_ark(&q), &lambda.square()),
        );
        let sum = add::<Fq, G1>(&pp, &qq);
        assert_eq!(g1_to_ark(&sum), p + q);
        assert!(g1_to_ark(&sum).into_affine().is_on_curve());
        assert_eq!(g1_to_ark(&double::<Fq, G1>(&pp)), AdditiveGroup::double(&p));
    }
    assert_eq!(g1_add(&zero, &zero), zero);
    assert_eq!(g1_to_ark(&double::<Fq, G1>(&g1_from_ark(&zero))), zero);
    // Infinity in a non-canonical projective form (0 : λ : 0).
    let odd_inf = Point::new(<Fq as Zero>::zero(), Fq::from(7u64), <Fq as Zero>::zero());
    let g = G1Projective::generator();
    assert_eq!(g1_to_ark(&add::<Fq, G1>(&odd_inf, &g1_from_ark(&g))), g);
}

#[test]
fn g2_add_and_double_match_arkworks() {
    let mut rng = ark_std::test_rng();
    let zero = G2Projective::zero();
    for _ in 0..20 {
        let p = G2Projective::rand(&mut rng);
        let q = G2Projective::rand(&mut rng);
        assert_eq!(g2_add(&p, &q), p + q);
        assert_eq!(g2_add(&p, &p), AdditiveGroup::double(&p), "P + P");
        assert_eq!(g2_add(&p, &-p), zero, "P + (−P)");
        assert_eq!(g2_add(&zero, &p), p, "∞ + P");
        assert_eq!(g2_add(&p, &zero), p, "P + ∞");
        assert_eq!(
            g2_to_ark(&double::<Fp2<Fq>, G2>(&g2_from_ark(&p))),
            AdditiveGroup::double(&p)
        );
        let lambda = Fp2::new(Fq::rand(&mut rng), Fq::rand(&mut rng));
        let pp = rescale(&g2_from_ark(&p), &lambda);
        let sum = add::<Fp2<Fq>, G2>(&pp, &g2_from_ark(&q));
        assert_eq!(g2_to_ark(&sum), p + q);
        assert_eq!(
            g2_to_ark(&double::<Fp2<Fq>, G2>(&pp)),
            AdditiveGroup::double(&p)
        );
    }
    assert_eq!(g2_add(&zero, &zero), zero);
}

#[test]
fn scalar_multiplication_matches_arkworks() {
    let mut rng = ark_std::test_rng();
    let p1 = G1Projective::rand(&mut rng);
    let p2 = G2Projective::rand(&mut rng);
    let mut scalars = EDGE_SCALARS.to_vec();
    scalars.extend((0..4).map(|_| u64::rand(&mut rng)));
    for k in scalars {
        let bits = scalar_bits(k);
        let got1 = g1_to_ark(&scalar_mul::<Fq, G1>(&g1_from_ark(&p1), &bits));
        assert_eq!(got1, p1 * Fr::from(k), "G1 k = {k}");
        let got2 = g2_to_ark(&scalar_mul::<Fp2<Fq>, G2>(&g2_from_ark(&p2), &bits));
        assert_eq!(got2, p2 * Fr::from(k), "G2 k = {k}");
    }
    // Multiplying infinity by anything is infinity.
    let inf = g1_from_ark(&G1Projective::zero());
    let got = g1_to_ark(&scalar_mul::<Fq, G1>(&inf, &scalar_bits(u64::MAX)));
    assert_eq!(got, G1Projective::zero());
}

/// Points on the twist that are (almost surely) outside the order-r subgroup.
fn twist_points(n: usize) -> Vec<ark_bls12_381::G2Affine> {
    let mut rng = ark_std::test_rng();
    let mut out = Vec::new();
    while out.len() < n {
        let x = ark_bls12_381::Fq2::rand(&mut rng);
        if let Some(p) = ark_bls12_381::G2Affine::get_point_from_x_unchecked(x, out.len() % 2 == 0)
        {
            out.push(p);
        }
    }
    out
}

#[test]
fn g2_subgroup_check_gives_arkworks_verdicts() {
    let mut rng = ark_std::test_rng();
    let mut points: Vec<ark_bls12_381::G2Affine> = twist_points(6);
    points.extend((0..6).map(|_| G2Projective::rand(&mut rng).into_affine()));
    points.push(G2Projective::generator().into_affine());
    for p in points {
        let residue = subgroup_residue(&g2_from_ark(&p.into()));
        let in_subgroup = p.is_in_correct_subgroup_assuming_on_curve();
        assert_eq!(residue.c0.is_zero() && residue.c1.is_zero(), in_subgroup);
    }
}

#[test]
fn g2_cofactor_clearing_matches_arkworks() {
    for p in twist_points(4) {
        let ours = g2_to_ark(&clear_cofactor(&g2_from_ark(&p.into())));
        assert_eq!(ours.into_affine(), p.clear_cofactor());
        assert!(ours
            .into_affine()
            .is_in_correct_subgroup_assuming_on_curve());
    }
}

#[test]
fn g2_decoding_gives_arkworks_points_and_verdicts() {
    let mut rng = ark_std::test_rng();
    let mut xs: Vec<ark_bls12_381::Fq2> = (0..6)
        .map(|_| G2Projective::rand(&mut rng).into_affine().x)
        .collect();
    // Arbitrary x: about half are not on the twist, most of the others not in G2.
    xs.extend((0..12).map(|_| ark_bls12_381::Fq2::rand(&mut rng)));
    xs.push(ark_bls12_381::Fq2::zero());
    xs.push(G2Projective::generator().into_affine().x);
    let (mut off_curve, mut off_subgroup) = (0, 0);
    for x in xs {
        let d = decode_g2(&tollgate_microcode::field::fp2_from_ark(&x));
        let zero = |v: &Fp2<Fq>| v.c0.is_zero() && v.c1.is_zero();
        match ark_bls12_381::G2Affine::get_point_from_x_unchecked(x, true) {
            None => {
                off_curve += 1;
                assert!(!zero(&d.curve_residue), "x = {x}");
            }
            Some(p) => {
                assert!(zero(&d.curve_residue), "x = {x}");
                let y = tollgate_microcode::field::fp2_to_ark(&d.y);
                assert!(y == p.y || y == -p.y, "x = {x}");
                let in_g2 = p.is_in_correct_subgroup_assuming_on_curve();
                off_subgroup += usize::from(!in_g2);
                assert_eq!(zero(&d.subgroup_residue), in_g2, "x = {x}");
            }
        }
    }
    assert!(
        off_curve > 0 && off_subgroup > 0,
        "both failure kinds covered"
    );
}

#[test]
fn fixed_exponentiation_matches_arkworks() {
    use ark_bls12_381::Fq2;
    use ark_ff::{Field as _, One};
    use rand::Rng;
    use tollgate_microcode::field::{fp2_from_ark, fp2_to_ark, p_minus, pow_fixed};
    let mut rng = ark_std::test_rng();
    // The field's own exponents, exponents of few and of many set bits, random ones of every
    // length (so every window width wins somewhere).
    let mut exponents: Vec<[u64; 6]> = [(3, 2), (1, 1), (2, 0), (0, 0)]
        .iter()
        .map(|&(sub, shift)| p_minus(sub, shift).0)
        .collect();
    exponents.extend([
        [1, 0, 0, 0, 0, 0],
        [2, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 1 << 63],
    ]);
    exponents.push([u64::MAX; 6]);
    for limbs in 1..=6 {
        let mut e = [0; 6];
        rng.fill(&mut e[..limbs]);
        e[0] |= 1 << (limbs * 7 % 64);
        exponents.push(e);
    }
    let bases: Vec<Fq2> = [Fq2::zero(), Fq2::one(), -Fq2::one()]
        .into_iter()
        .chain([
            Fq2::new(Fq::ZERO, Fq::rand(&mut rng)),
            Fq2::new(Fq::rand(&mut rng), Fq::ZERO),
        ])
        .chain((0..4).map(|_| Fq2::rand(&mut rng)))
        .collect();
    for e in &exponents {
        for a in &bases {
            assert_eq!(
                fp2_to_ark(&pow_fixed(&fp2_from_ark(a), e)),
                a.pow(e),
                "{a}^{e:?}"
            );
            assert_eq!(pow_fixed(&a.c0, e), a.c0.pow(e), "{}^{e:?}", a.c0);
        }
    }
}

#[test]
fn fp2_square_root_inverse_and_square_test_match_arkworks() {
    use ark_bls12_381::Fq2;
    use ark_ff::{Field as _, One};
    use tollgate_microcode::field::{fp2_from_ark, fp2_to_ark, inverse, non_square_flag, sqrt};
    let mut rng = ark_std::test_rng();
    // Random values; values of Fp that are not squares there (the root is u·√−a: the square
    // root's α = −1 case, chosen by a flag); values with c0 = 0 or c1 = 0; 0, 1, −1 (p − 1), u
    // and −u.
    let mut values: Vec<Fq2> = (0..40).map(|_| Fq2::rand(&mut rng)).collect();
    let mut real_non_squares = 0;
    while real_non_squares < 5 {
        let a = Fq::rand(&mut rng);
        if a.legendre().is_qnr() {
            values.push(Fq2::new(a, Fq::ZERO));
            real_non_squares += 1;
        }
    }
    for _ in 0..10 {
        values.push(Fq2::new(Fq::rand(&mut rng), Fq::ZERO));
        values.push(Fq2::new(Fq::ZERO, Fq::rand(&mut rng)));
    }
    let u = Fq2::new(Fq::ZERO, Fq::ONE);
    values.extend([Fq2::zero(), Fq2::one(), -Fq2::one(), u, -u]);
    let non_squares = values.iter().filter(|a| a.legendre().is_qnr()).count();
    assert!(non_squares >= 10, "non-squares covered: {non_squares}");
    for a in values {
        let ours = fp2_from_ark(&a);
        let is_square = a.legendre().is_qr() || a.is_zero();
        assert_eq!(non_square_flag(&ours), !is_square, "{a}");
        if is_square {
            assert_eq!(fp2_to_ark(&sqrt(&ours)).square(), a, "{a}");
        }
        assert_eq!(
            fp2_to_ark(&inverse(&ours)),
            a.inverse().unwrap_or(Fq2::zero())
        );
    }
}
