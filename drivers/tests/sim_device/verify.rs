//! The whole-verification design (`bitstreams/rtl/tollgate_top_verify.v`, ABI 3.2) on the sim
//! backend: each of its opcodes through the rings on the Verilated top level, against blst
//! and arkworks (arkworks also makes off-curve and off-subgroup inputs and reads the device's
//! Montgomery words, which are arkworks' own representation), signature decoding
//! (`tollgate_drivers::batch::decode_signatures`) against blst's verdicts, and a whole min_pk
//! batch check on this one device (`batch::min_pk_lane_values`) against blst's batch verdict.
//! Prints the cycle counts bench/RESULTS.md quotes (`-- --nocapture verify::`).

use ark_bls12_381::Fr;
use ark_bls12_381::{Fq, Fq2, G1Projective, G2Affine, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{UniformRand, Zero};
use ark_serialize::CanonicalDeserialize;
use ark_serialize::CanonicalSerialize;
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use blst::{
    blst_fp12, blst_p1_affine, blst_p2_affine, blst_p2_affine_serialize, blst_p2_deserialize,
    min_pk,
};
use tollgate_abi::{Opcode, FP2_WORDS, FP_WORDS};
use tollgate_drivers::backends::sim::{memory::LinkModel, SimTransport};
use tollgate_drivers::batch::{self, BatchCheckError, MinPkItem, Rejection};
use tollgate_drivers::codec::{self, CodecError};
use tollgate_drivers::{
    Device, DeviceConfig, DeviceError, FaultControl, FaultyTransport, JobOutput, Manifest,
};
use tollgate_microcode::reference::{hash_to_field, hash_to_g2};

use super::{check_scalar_mul, config, points, repo_root, scalars, uncompressed, Curve, G1, G2};

/// The POP ciphersuite's DST (the default scheme).
const POP_DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

fn verify_manifest() -> Manifest {
    Manifest::load(&Manifest::path_in(
        &repo_root(),
        tollgate_abi::VERIFY_DESIGN,
    ))
    .expect("manifest")
}

fn open_verify(config: DeviceConfig) -> Device {
    let sim = SimTransport::open_design(tollgate_abi::VERIFY_DESIGN, LinkModel::default())
        .expect("the sim backend is built with the verification RTL");
    Device::open(Box::new(sim), verify_manifest(), config).expect("device opens")
}

/// An Fp element's device words: arkworks keeps Fq in Montgomery form with R = 2^384, the
/// boundary's encoding.
fn fq_words(x: &Fq) -> Vec<u32> {
    x.0 .0
        .iter()
        .flat_map(|l| [*l as u32, (*l >> 32) as u32])
        .collect()
}

fn fq2_words(x: &Fq2) -> Vec<u32> {
    [fq_words(&x.c0), fq_words(&x.c1)].concat()
}

fn report(op: Opcode, items: usize, output: &JobOutput) {
    eprintln!(
        "verify top {op:?}: {items} items in {} device jobs ({} submissions), {} device cycles \
         ({} transfer), {:.0} cycles per item, {} bytes in, {} bytes out",
        output.jobs,
        output.attempts,
        output.device_cycles,
        output.transfer_cycles,
        output.device_cycles as f64 / items as f64,
        output.bytes_in,
        output.bytes_out
    );
}

#[test]
fn the_verification_design_serves_a_whole_batch_check_and_is_told_apart() {
    let device = open_verify(config());
    let identity = device.identity();
    assert_eq!(identity.abi_version, tollgate_abi::ABI_VERSION);
    // The fewest lanes ≥ 29 whose 8-byte scalars fill whole 32-byte beats.
    assert_eq!(identity.lanes, 32);
    for op in Opcode::ALL {
        assert_eq!(
            identity.supports(op),
            Opcode::MIN_PK_BATCH.contains(&op),
            "{op:?}"
        );
    }
    for op in Opcode::MIN_PK_BATCH {
        assert!(identity.shape().max_items(op) >= 1_000, "{op:?}");
    }
    let mut device = device;
    assert!(matches!(
        device.run(Opcode::AggregateG1, &[0; 36]),
        Err(DeviceError::Unsupported(Opcode::AggregateG1))
    ));
    // Each design's model answers to its own manifest only.
    let sim = SimTransport::open_design(tollgate_abi::VERIFY_DESIGN, LinkModel::default()).unwrap();
    let standard = Manifest::load(&Manifest::path_in(&repo_root(), tollgate_abi::DESIGN)).unwrap();
    assert!(Device::open(Box::new(sim), standard, config()).is_err());
    assert!(SimTransport::open_design("no_such_design", LinkModel::default()).is_err());
}

#[test]
fn blinding_on_the_verification_design_equals_arkworks() {
    let mut device = open_verify(config());
    let lanes = device.identity().lanes as usize;
    let mut rng = StdRng::seed_from_u64(90);
    // Two rounds: infinity first, in the middle and last; scalars 0, 1, 2, 2^64 − 1, 2^63.
    let n = 2 * lanes;
    let mut scalars = scalars(n, &mut rng);
    let g1 = points::<G1>(n, &mut rng);
    check_scalar_mul::<G1>(&mut device, &scalars, &g1);
    // Σ kᵢσᵢ by the bucket job: P twice with the same scalar (they meet in every bucket: S + P
    // with S = P) and Q beside −Q (S + P = infinity mid-stream).
    let g2 = points::<G2>(n, &mut rng);
    assert_eq!((g2[1], n / 2 + 1), (g2[lanes + 1], lanes + 1));
    scalars[lanes + 1] = scalars[1];
    check_signature_sum(&mut device, &scalars, &g2);
}

fn to_blst(p: &G2Projective) -> blst_p2_affine {
    let mut out = blst_p2_affine::default();
    // SAFETY: a 192-byte uncompressed encoding in, a valid output.
    let error = unsafe { blst_p2_deserialize(&mut out, uncompressed(&p.into_affine()).as_ptr()) };
    assert_eq!(error, blst::BLST_ERROR::BLST_SUCCESS);
    out
}

fn from_blst(p: &blst_p2_affine) -> G2Projective {
    let mut bytes = [0u8; 192];
    // SAFETY: a valid point in, 192 bytes out.
    unsafe { blst_p2_affine_serialize(bytes.as_mut_ptr(), p) };
    G2Affine::deserialize_uncompressed(&bytes[..])
        .expect("in G2")
        .into()
}

/// `batch::signature_sum` (the bucket job and the host's join) against arkworks' Σ kᵢPᵢ.
fn check_signature_sum(device: &mut Device, scalars: &[u64], points: &[G2Projective]) {
    let signatures: Vec<blst_p2_affine> = points.iter().map(to_blst).collect();
    let (sum, cost) = batch::signature_sum(device, scalars, &signatures).unwrap();
    let want: G2Projective = scalars
        .iter()
        .zip(points)
        .map(|(k, p)| *p * Fr::from(*k))
        .sum();
    assert_eq!(from_blst(&sum), want, "{} items", scalars.len());
    eprintln!(
        "verify top BucketSumG2: {} items, {} steps, {} device cycles ({} transfer), {:.0} per item",
        scalars.len(),
        cost.items,
        cost.device_cycles,
        cost.transfer_cycles,
        cost.device_cycles as f64 / scalars.len() as f64
    );
}

/// The bucket job over several device jobs (each after the first seeded with the S words
/// the device returned for the job before, verbatim: projective, Z ≠ 1), with whole and
/// ragged jobs, and the edge scalars of a whole batch: all equal, all 1, all 2^64 − 1, one
/// item.
#[test]
fn bucket_sums_over_several_jobs_equal_arkworks() {
    let mut rng = StdRng::seed_from_u64(91);
    let n = 300;
    let scalars = scalars(n, &mut rng);
    let g2 = points::<G2>(n, &mut rng);
    let mut device = open_verify(config());
    let steps = device.job_items(Opcode::BucketSumG2);
    check_signature_sum(&mut device, &scalars, &g2);
    // 5 rounds and 7 steps per job: lanes 0..7 run one step more per job than the others.
    let lanes = device.identity().lanes as usize;
    let mut ragged = open_verify(DeviceConfig {
        max_job_items: Some(5 * lanes + 7),
        ..config()
    });
    check_signature_sum(&mut ragged, &scalars[..100], &g2[..100]);
    for k in [1, u64::MAX, 0x0123_4567_89ab_cdef] {
        check_signature_sum(&mut ragged, &vec![k; 40], &g2[..40]);
    }
    check_signature_sum(&mut ragged, &[u64::MAX], &g2[3..4]);
    assert!(steps >= 1_000, "{steps} steps per job");
}

/// A compressed signature's x with blst's verdict on its encoding, and the y of the point
/// when x is on the curve (in the subgroup or not).
struct Candidate {
    bytes: Vec<u8>,
    y: Option<Fq2>,
    blst_valid: bool,
}

/// The 96-byte encoding of x (c1 ‖ c0 big-endian, compression flag, sort flag if `greatest`)
/// with blst's verdict; arkworks' point of the same x and flag, if x is on the curve.
fn candidate(x: Fq2, greatest: bool) -> Candidate {
    let be = |c: &Fq| {
        let mut le = Vec::new();
        c.serialize_compressed(&mut le).unwrap();
        le.into_iter().rev().collect::<Vec<u8>>()
    };
    let mut bytes = [be(&x.c1), be(&x.c0)].concat();
    bytes[0] |= 0x80 | if greatest { 0x20 } else { 0 };
    let blst_valid = min_pk::Signature::sig_validate(&bytes, false).is_ok();
    let point = G2Affine::get_point_from_x_unchecked(x, greatest);
    match (&point, min_pk::Signature::from_bytes(&bytes)) {
        // blst reads the same point (the flag means the same to both).
        (Some(p), Ok(sig)) => {
            let affine: &blst_p2_affine = (&sig).into();
            assert_eq!(
                codec::encode_g2_point(affine)[FP2_WORDS..2 * FP2_WORDS],
                fq2_words(&p.y)[..]
            );
        }
        (None, Err(_)) => {}
        (p, sig) => panic!("arkworks {p:?} and blst {:?} disagree on x", sig.is_ok()),
    }
    Candidate {
        bytes,
        y: point.map(|p| p.y),
        blst_valid,
    }
}

#[test]
fn signatures_decode_with_blsts_verdicts_and_points_by_position() {
    let mut device = open_verify(config());
    let lanes = device.identity().lanes as usize;
    let mut rng = StdRng::seed_from_u64(91);
    let mut items = Vec::new();
    // Valid signatures (points of G2), then off-subgroup and off-curve x, then x = 0: one
    // round of the device.
    for i in 0..12 {
        let p = (G2Projective::rand(&mut rng)).into_affine();
        items.push(candidate(p.x, i % 2 == 0));
    }
    while items.len() < lanes - 1 {
        let x = Fq2::rand(&mut rng);
        let on_curve = G2Affine::get_point_from_x_unchecked(x, true).is_some();
        let off_curve = items.iter().filter(|c| c.y.is_none()).count();
        if on_curve || off_curve < 8 {
            items.push(candidate(x, rng.gen()));
        }
    }
    items.push(candidate(Fq2::zero(), true));
    let (valid, off_subgroup, off_curve) = (
        items.iter().filter(|c| c.blst_valid).count(),
        items
            .iter()
            .filter(|c| c.y.is_some() && !c.blst_valid)
            .count(),
        items.iter().filter(|c| c.y.is_none()).count(),
    );
    assert!(
        valid >= 12 && off_subgroup >= 4 && off_curve >= 4,
        "{valid} {off_subgroup} {off_curve}"
    );
    // Among them, the host's cases: the identity, and encodings refused before the device.
    let mut identity = vec![0u8; 96];
    identity[0] = 0xc0;
    let mut uncompressed_flag = items[0].bytes.clone();
    uncompressed_flag[0] &= 0x7F;
    let mut x_is_p = items[1].bytes.clone();
    x_is_p[48..].copy_from_slice(
        &tollgate_abi::P_WORDS
            .iter()
            .rev()
            .flat_map(|w| w.to_be_bytes())
            .collect::<Vec<u8>>(),
    );
    let host_cases: [(Vec<u8>, Result<blst_p2_affine, Rejection>); 4] = [
        (identity, Ok(blst_p2_affine::default())),
        (
            uncompressed_flag,
            Err(Rejection::Encoding(CodecError::BadFlags)),
        ),
        (x_is_p, Err(Rejection::Encoding(CodecError::NotReduced))),
        (
            items[2].bytes[..95].to_vec(),
            Err(Rejection::Encoding(CodecError::BadLength {
                expected: 96,
                got: 95,
                unit: "bytes",
            })),
        ),
    ];
    let mut signatures: Vec<&[u8]> = items.iter().map(|c| c.bytes.as_slice()).collect();
    let at = [0, 7, 20, signatures.len()];
    for ((bytes, _), at) in host_cases.iter().zip(at).rev() {
        signatures.insert(at, bytes.as_slice());
    }

    let before = device.counters().unwrap();
    let decoded = batch::decode_signatures(&mut device, &signatures).unwrap();
    let after = device.counters().unwrap();
    eprintln!(
        "verify top decode_signatures: {} signatures, {} to the device ({} job), {} busy cycles",
        signatures.len(),
        items.len(),
        after.jobs_done - before.jobs_done,
        after.busy_cycles - before.busy_cycles
    );
    assert_eq!(after.jobs_done - before.jobs_done, 1, "one DecodeG2 job");
    assert_eq!(decoded.len(), signatures.len());
    let mut device_items = items.iter();
    for (i, (bytes, result)) in signatures.iter().zip(&decoded).enumerate() {
        if let Some((_, want)) = host_cases.iter().find(|(b, _)| b.as_slice() == *bytes) {
            assert_eq!(result, want, "signature {i}");
            continue;
        }
        let c = device_items.next().unwrap();
        match (c.y, c.blst_valid) {
            (Some(_), true) => {
                let want = min_pk::Signature::from_bytes(bytes).unwrap();
                assert_eq!(
                    result.as_ref().ok(),
                    Some(<&blst_p2_affine>::from(&want)),
                    "signature {i}: blst's point"
                );
            }
            (Some(_), false) => assert_eq!(result, &Err(Rejection::NotInSubgroup), "{i}"),
            (None, _) => assert_eq!(result, &Err(Rejection::NotOnCurve), "{i}"),
        }
    }
    assert!(device_items.next().is_none());
    // Nothing for the device: no job.
    let host_only: Vec<&[u8]> = host_cases.iter().map(|(b, _)| b.as_slice()).collect();
    let decoded = batch::decode_signatures(&mut device, &host_only).unwrap();
    assert_eq!(device.counters().unwrap().jobs_done, after.jobs_done);
    assert!(decoded
        .iter()
        .zip(&host_cases)
        .all(|(d, (_, want))| d == want));
}

#[test]
fn an_x_off_the_curve_accepted_by_the_device_is_reported_at_its_position() {
    // `decode-accepts` zeroes every residue: the device says "on the curve, in G2" for an x
    // off the curve, whose root cannot be on the curve. The driver names that signature (the
    // host's negative canary is told apart from its items by this position).
    let control = FaultControl::new();
    let sim = SimTransport::open_design(tollgate_abi::VERIFY_DESIGN, LinkModel::default())
        .expect("the sim backend is built with the verification RTL");
    let transport = Box::new(FaultyTransport::new(sim, control.clone()));
    let mut device = Device::open(transport, verify_manifest(), config()).expect("device opens");
    let mut rng = StdRng::seed_from_u64(17);
    let valid = candidate(G2Projective::rand(&mut rng).into_affine().x, true);
    let off_curve = loop {
        let c = candidate(Fq2::rand(&mut rng), rng.gen());
        if c.y.is_none() {
            break c;
        }
    };
    control.set("decode-accepts".parse().expect("a fault"));
    let signatures = [&valid.bytes[..], &valid.bytes[..], &off_curve.bytes[..]];
    match batch::decode_signatures(&mut device, &signatures) {
        Err(BatchCheckError::OffCurveRoot { index }) => assert_eq!(index, 2),
        other => panic!("expected the off-curve root at 2, got {other:?}"),
    }
}

#[test]
fn hash_to_g2_in_split_jobs_in_flight_equals_blst() {
    // Two device jobs of one round each, both in the device at once.
    let mut device = open_verify(DeviceConfig {
        max_job_items: Some(32),
        ..config()
    });
    let mut rng = StdRng::seed_from_u64(92);
    let messages: Vec<Vec<u8>> = (0..64)
        .map(|i| {
            let len = [0, 1, 32, 100][i % 4];
            (0..len).map(|_| rng.gen()).collect()
        })
        .collect();
    let words: Vec<u32> = messages
        .iter()
        .flat_map(|m| {
            let [u0, u1] = hash_to_field(m, POP_DST);
            [fq2_words(&u0), fq2_words(&u1)].concat()
        })
        .collect();
    let output = device.run(Opcode::HashToG2, &words).unwrap();
    report(Opcode::HashToG2, messages.len(), &output);
    assert_eq!((output.jobs, output.attempts), (2, 2));
    assert_eq!(output.bytes_in, 64 * 4 * 48);
    for (i, (m, result)) in messages
        .iter()
        .zip(output.words.chunks_exact(Opcode::HashToG2.result_words()))
        .enumerate()
    {
        let point = G2::decode(result).unwrap_or_else(|| panic!("message {i}: not in G2"));
        assert_eq!(point.into_affine(), hash_to_g2(m, POP_DST), "message {i}");
    }
}

#[test]
fn miller_loop_lane_values_finish_to_blsts_multi_pairing() {
    let mut device = open_verify(config());
    let lanes = device.identity().lanes as usize;
    let mut rng = StdRng::seed_from_u64(93);
    // 40 pairs: two rounds, the second padded; a pair and its negation inside.
    let mut pairs: Vec<(G1Projective, G2Projective)> = (0..40)
        .map(|_| (G1Projective::rand(&mut rng), G2Projective::rand(&mut rng)))
        .collect();
    pairs[7] = (-pairs[3].0, pairs[3].1);
    let words: Vec<u32> = pairs
        .iter()
        .flat_map(|(p, q)| {
            let (p, q) = (G1::encode(p), G2::encode(q));
            [&p[..2 * FP_WORDS], &q[..2 * FP2_WORDS]].concat()
        })
        .collect();
    let output = device.run(Opcode::MillerLoop, &words).unwrap();
    report(Opcode::MillerLoop, pairs.len(), &output);
    let values: Vec<blst_fp12> = output
        .words
        .chunks_exact(Opcode::MillerLoop.result_words())
        .map(|w| codec::decode_fp12(w).unwrap())
        .collect();
    assert_eq!(values.len(), lanes);
    let product_of = |values: &[blst_fp12]| values[1..].iter().fold(values[0], |acc, v| acc * *v);
    let product = product_of(&values);
    let (ps, qs): (Vec<blst_p1_affine>, Vec<blst_p2_affine>) = pairs
        .iter()
        .map(|(p, q)| {
            let p = min_pk::PublicKey::deserialize(&uncompressed(&p.into_affine())).unwrap();
            let q = min_pk::Signature::deserialize(&uncompressed(&q.into_affine())).unwrap();
            (*<&blst_p1_affine>::from(&p), *<&blst_p2_affine>::from(&q))
        })
        .unzip();
    let want = blst_fp12::miller_loop_n(&qs, &ps).final_exp();
    assert!(
        product.final_exp() == want,
        "lane product against blst's multi-pairing"
    );
    // The check is not vacuous: without one lane's value the product is wrong.
    assert!(product_of(&values[1..]).final_exp() != want);
}

/// A batch of `n` min_pk items under POP with blst's signatures, their messages'
/// hash_to_field words (their `hash` left for the device to fill); item `bad` (if any) signs
/// another message than the one it is checked against.
fn batch(n: usize, bad: Option<usize>, rng: &mut StdRng) -> (Vec<MinPkItem>, Vec<Vec<u32>>, bool) {
    let (mut items, mut us) = (Vec::new(), Vec::new());
    let (mut sigs, mut msgs, mut pks) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n {
        let ikm: [u8; 32] = rng.gen();
        let sk = min_pk::SecretKey::key_gen(&ikm, &[]).unwrap();
        let msg: Vec<u8> = (0..32).map(|_| rng.gen()).collect();
        let signed = if bad == Some(i) {
            b"another message".to_vec()
        } else {
            msg.clone()
        };
        let sig = sk.sign(&signed, POP_DST, &[]);
        let [u0, u1] = hash_to_field(&msg, POP_DST);
        let pk = sk.sk_to_pk();
        items.push(MinPkItem {
            public_key: *<&blst_p1_affine>::from(&pk),
            signature: *<&blst_p2_affine>::from(&sig),
            hash: blst_p2_affine::default(),
            scalar: rng.gen::<u64>() | 1,
        });
        us.push([fq2_words(&u0), fq2_words(&u1)].concat());
        sigs.push(sig);
        msgs.push(msg);
        pks.push(pk);
    }
    let rands: Vec<blst::blst_scalar> = items
        .iter()
        .map(|i| {
            let mut s = blst::blst_scalar::default();
            s.b[..8].copy_from_slice(&i.scalar.to_le_bytes());
            s
        })
        .collect();
    let msg_refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    let sig_refs: Vec<&min_pk::Signature> = sigs.iter().collect();
    let pk_refs: Vec<&min_pk::PublicKey> = pks.iter().collect();
    let blst_verdict = min_pk::Signature::verify_multiple_aggregate_signatures(
        &msg_refs, POP_DST, &pk_refs, false, &sig_refs, true, &rands, 64,
    ) == blst::BLST_ERROR::BLST_SUCCESS;
    (items, us, blst_verdict)
}

/// Every stage of a batch of 12 on the one device against blst's batch verdict.
fn check_batch(bad: Option<usize>, seed: u64) {
    let mut device = open_verify(config());
    let lanes = device.identity().lanes as usize;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut items, us, blst_verdict) = batch(12, bad, &mut rng);
    assert_eq!(blst_verdict, bad.is_none());
    let (hashes, hashing) = batch::hash_to_g2(&mut device, &us).unwrap();
    for (item, hash) in items.iter_mut().zip(hashes) {
        item.hash = hash;
    }
    let values = batch::min_pk_lane_values(&mut device, &items).unwrap();
    assert_eq!(values.values.len(), lanes, "one MillerLoop job");
    let hashing = hashing.expect("a HashToG2 stage");
    assert_eq!(
        std::iter::once(&hashing)
            .chain(&values.stages)
            .map(|s| s.opcode)
            .collect::<Vec<_>>(),
        Opcode::MIN_PK_BATCH[1..]
    );
    assert_eq!(values.verdict(), blst_verdict, "bad item {bad:?}");
    assert_eq!(
        values.product().final_exp() == blst_fp12::default(),
        blst_verdict
    );
    for s in &values.stages {
        eprintln!(
            "min_pk batch of {}: {:?} {} items, {} device cycles ({} transfer)",
            items.len(),
            s.opcode,
            s.items,
            s.device_cycles,
            s.transfer_cycles
        );
    }
}

#[test]
fn a_valid_batch_passes_on_one_device_like_blst() {
    check_batch(None, 94);
}

#[test]
fn a_batch_with_a_bad_item_fails_on_one_device_like_blst() {
    check_batch(Some(5), 95);
}
