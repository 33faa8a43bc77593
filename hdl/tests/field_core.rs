//! The field core under Verilator against arkworks' `Fq` (an independent implementation):
//! random operands plus edge cases, random input bubbles, tags and order checked, latency
//! checked on every result.

use std::collections::VecDeque;

use ark_bls12_381::Fq;
use ark_ff::{BigInt, One, PrimeField, UniformRand};
use rand::{rngs::StdRng, Rng, SeedableRng};
use tollgate_hdl::field::add_sub::{op, ADD_SUB_LATENCY};
use tollgate_hdl::field::mont_mul::MONT_MUL_LATENCY;
use tollgate_hdl::rtl::FIELD_CORE_TAG_BITS;
use tollgate_verilator::{Model, Port};

use tollgate_hdl::sim::{FP_ADD_SUB, FP_MONT_MUL};

/// Random products (and as many add/sub operations) per run.
const RANDOM_OPS: usize = 100_000;
const WORDS: usize = 12;

fn to_words(x: &BigInt<6>) -> Vec<u32> {
    x.0.iter()
        .flat_map(|l| [*l as u32, (*l >> 32) as u32])
        .take(WORDS)
        .collect()
}

fn from_limbs(l: [u64; 6]) -> BigInt<6> {
    BigInt::new(l)
}

/// 0, 1, p−1, p−2, R mod p, and the in-range values with the most limb bits set.
fn edge_values() -> Vec<BigInt<6>> {
    let p = Fq::MODULUS;
    let mut pm1 = p;
    pm1.0[0] -= 1;
    let mut pm2 = p;
    pm2.0[0] -= 2;
    let ones_380 = from_limbs([
        u64::MAX,
        u64::MAX,
        u64::MAX,
        u64::MAX,
        u64::MAX,
        (1 << 60) - 1,
    ]);
    // Every 26-bit limb (the leaves' wide operand) at its maximum below p's top limb.
    let mut limb_max = [0u64; 6];
    for i in 0..14 {
        for bit in 26 * i..26 * i + 26 {
            limb_max[bit / 64] |= 1 << (bit % 64);
        }
    }
    vec![
        from_limbs([0; 6]),
        from_limbs([1, 0, 0, 0, 0, 0]),
        pm1,
        pm2,
        Fq::one().0,
        ones_380,
        from_limbs(limb_max),
    ]
}

/// Clocks `ops` through a model, bubbles with probability 1/4, and checks every output
/// against `expect` in issue order with the issued tag and exactly `latency` cycles later.
struct Driver {
    m: Model,
    clock: Port,
    in_valid: Port,
    in_tag: Port,
    out_valid: Port,
    out_tag: Port,
    result: Port,
}

impl Driver {
    fn new(m: Model) -> Self {
        let p = |n: &str| m.port(n).expect("port");
        Driver {
            clock: p("clock"),
            in_valid: p("in_valid"),
            in_tag: p("in_tag"),
            out_valid: p("out_valid"),
            out_tag: p("out_tag"),
            result: p("result"),
            m,
        }
    }

    /// `issue(model, i)` drives operation i's operands; returns operations checked.
    fn run(
        &mut self,
        n_ops: usize,
        latency: usize,
        rng: &mut StdRng,
        mut issue: impl FnMut(&mut Model, usize),
        expect: impl Fn(usize) -> Vec<u32>,
        garbage: impl Fn(&mut Model, &mut StdRng),
    ) -> usize {
        let mut pending: VecDeque<(usize, u64, u64)> = VecDeque::new();
        let mut next = 0;
        let mut checked = 0;
        let mut cycle = 0u64;
        let tag_mask = (1u64 << FIELD_CORE_TAG_BITS) - 1;
        while checked < n_ops {
            if next < n_ops && rng.gen_range(0..4) != 0 {
                issue(&mut self.m, next);
                let tag = (next as u64).wrapping_mul(0x9e37) & tag_mask;
                self.m.set_u64(self.in_tag, tag);
                self.m.set_u64(self.in_valid, 1);
                pending.push_back((next, tag, cycle));
                next += 1;
            } else {
                garbage(&mut self.m, rng);
                self.m.set_u64(self.in_tag, rng.gen::<u64>() & tag_mask);
                self.m.set_u64(self.in_valid, 0);
            }
            self.m.tick(self.clock);
            cycle += 1;
            if self.m.get_u64(self.out_valid) == 1 {
                let (i, tag, issued) = pending.pop_front().expect("output without input");
                assert_eq!(cycle - issued, latency as u64, "latency of op {i}");
                assert_eq!(self.m.get_u64(self.out_tag), tag, "tag of op {i}");
                assert_eq!(self.m.get(self.result), expect(i), "result of op {i}");
                checked += 1;
            } else {
                assert!(
                    pending.front().is_none_or(|p| cycle - p.2 < latency as u64),
                    "result missing"
                );
            }
            assert!(cycle < 4 * n_ops as u64 + 1000, "pipeline stalled");
        }
        assert!(pending.is_empty());
        checked
    }
}

fn random_words(rng: &mut StdRng) -> Vec<u32> {
    (0..WORDS).map(|_| rng.gen()).collect()
}

#[test]
fn mont_mul_matches_arkworks() {
    let mut rng = StdRng::seed_from_u64(0x7011_6a7e);
    let edges = edge_values();
    let mut pairs = vec![];
    for x in &edges {
        for y in &edges {
            pairs.push((*x, *y));
        }
    }
    for _ in 0..RANDOM_OPS {
        pairs.push((Fq::rand(&mut rng).0, Fq::rand(&mut rng).0));
    }
    let expected: Vec<Vec<u32>> = pairs
        .iter()
        .map(|(x, y)| to_words(&(Fq::new_unchecked(*x) * Fq::new_unchecked(*y)).0))
        .collect();
    let mut d = Driver::new(Model::new(&FP_MONT_MUL));
    let (a, b) = (d.m.port("a").unwrap(), d.m.port("b").unwrap());
    let checked = d.run(
        pairs.len(),
        MONT_MUL_LATENCY,
        &mut rng,
        |m, i| {
            m.set(a, &to_words(&pairs[i].0));
            m.set(b, &to_words(&pairs[i].1));
        },
        |i| expected[i].clone(),
        |m, rng| {
            m.set(a, &random_words(rng));
            m.set(b, &random_words(rng));
        },
    );
    assert_eq!(checked, edges.len().pow(2) + RANDOM_OPS);
}

#[test]
fn add_sub_neg_match_arkworks() {
    let mut rng = StdRng::seed_from_u64(0x00ad_d50b);
    let edges = edge_values();
    let mut ops = vec![];
    for x in &edges {
        for y in &edges {
            for o in [op::ADD, op::SUB, op::NEG, op::RSUB] {
                ops.push((o, *x, *y));
            }
        }
    }
    for _ in 0..RANDOM_OPS {
        ops.push((
            rng.gen_range(0..4),
            Fq::rand(&mut rng).0,
            Fq::rand(&mut rng).0,
        ));
    }
    let expected: Vec<Vec<u32>> = ops
        .iter()
        .map(|(o, x, y)| {
            let (x, y) = (Fq::new_unchecked(*x), Fq::new_unchecked(*y));
            let r = match *o {
                op::ADD => x + y,
                op::SUB => x - y,
                op::NEG => -x,
                _ => y - x,
            };
            to_words(&r.0)
        })
        .collect();
    let mut d = Driver::new(Model::new(&FP_ADD_SUB));
    let (a, b, o) = (
        d.m.port("a").unwrap(),
        d.m.port("b").unwrap(),
        d.m.port("op").unwrap(),
    );
    let checked = d.run(
        ops.len(),
        ADD_SUB_LATENCY,
        &mut rng,
        |m, i| {
            m.set_u64(o, ops[i].0);
            m.set(a, &to_words(&ops[i].1));
            m.set(b, &to_words(&ops[i].2));
        },
        |i| expected[i].clone(),
        |m, rng| {
            m.set_u64(o, rng.gen_range(0..4));
            m.set(a, &random_words(rng));
            m.set(b, &random_words(rng));
        },
    );
    assert_eq!(checked, edges.len().pow(2) * 4 + RANDOM_OPS);
}
