//! `Device` on the sim backend: the real generated top level (`bitstreams/rtl/tollgate_top.v`)
//! under Verilator, its memory port served from a host buffer under the default link model,
//! driven through the same driver code as a board. Every opcode goes through the rings and is
//! checked against arkworks on random points and the edge cases; identity, job splitting,
//! jobs in flight, ring wrap-around and back-pressure, each injected fault (DMA faults
//! included, with the guard bands around the output buffers checked) and a mismatched
//! manifest are checked through the driver's public API. The whole-verification design
//! (`tollgate_top_verify.v`) is tested in [`verify`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ark_bls12_381::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, PrimeGroup};
use ark_ff::{UniformRand, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_std::rand::{rngs::StdRng, Rng, SeedableRng};
use tollgate_abi::{Opcode, G1_WORDS, G2_WORDS};
use tollgate_drivers::backends::sim::SimTransport;
use tollgate_drivers::device::{rings, IdentityMismatch};
use tollgate_drivers::{
    codec, Device, DeviceConfig, DeviceError, FaultControl, FaultSpec, FaultyTransport, Manifest,
};

#[path = "sim_device/verify.rs"]
mod verify;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest() -> Manifest {
    Manifest::load(&Manifest::path_in(&repo_root(), tollgate_abi::DESIGN)).expect("manifest")
}

fn config() -> DeviceConfig {
    // The simulator pays for every poll: leave the device alone longer between two.
    DeviceConfig {
        poll_cycles: 256,
        ..DeviceConfig::default()
    }
}

/// A simulated device behind a fault switch (nothing armed).
fn open() -> (Device, Arc<FaultControl>) {
    let control = FaultControl::new();
    let sim = SimTransport::open().expect("the sim backend is built with the RTL");
    let transport = Box::new(FaultyTransport::new(sim, control.clone()));
    let device = Device::open(transport, manifest(), config()).expect("device opens");
    (device, control)
}

fn uncompressed<T: CanonicalSerialize>(point: &T) -> Vec<u8> {
    let mut out = Vec::new();
    point.serialize_uncompressed(&mut out).unwrap();
    out
}

/// G1 and G2 alike: how a point crosses the boundary, and back (checked on the curve and in
/// the subgroup by arkworks' deserialiser). Marker types, because arkworks' two projective
/// types are one generic type to the coherence checker.
trait Curve {
    type P: PrimeGroup<ScalarField = Fr> + CurveGroup + UniformRand;
    const WORDS: usize;
    const AGGREGATE: Opcode;
    const MULTI_SCALAR: Opcode;
    const SCALAR_MUL: Opcode;
    fn encode(point: &Self::P) -> Vec<u32>;
    fn decode(words: &[u32]) -> Option<Self::P>;
}

struct G1;
struct G2;

impl Curve for G1 {
    type P = G1Projective;
    const WORDS: usize = G1_WORDS;
    const AGGREGATE: Opcode = Opcode::AggregateG1;
    const MULTI_SCALAR: Opcode = Opcode::MultiScalarG1;
    const SCALAR_MUL: Opcode = Opcode::ScalarMulG1;
    fn encode(point: &G1Projective) -> Vec<u32> {
        codec::encode_g1(&uncompressed(&point.into_affine())).unwrap()
    }
    fn decode(words: &[u32]) -> Option<G1Projective> {
        let bytes = codec::decode_g1(words).ok()?;
        G1Affine::deserialize_uncompressed(&bytes[..])
            .ok()
            .map(Into::into)
    }
}

impl Curve for G2 {
    type P = G2Projective;
    const WORDS: usize = G2_WORDS;
    const AGGREGATE: Opcode = Opcode::AggregateG2;
    const MULTI_SCALAR: Opcode = Opcode::MultiScalarG2;
    const SCALAR_MUL: Opcode = Opcode::ScalarMulG2;
    fn encode(point: &G2Projective) -> Vec<u32> {
        codec::encode_g2(&uncompressed(&point.into_affine())).unwrap()
    }
    fn decode(words: &[u32]) -> Option<G2Projective> {
        let bytes = codec::decode_g2(words).ok()?;
        G2Affine::deserialize_uncompressed(&bytes[..])
            .ok()
            .map(Into::into)
    }
}

/// `n` points: random ones, with infinity first, in the middle and last, and the pairs P, P
/// and Q, −Q somewhere inside.
fn points<C: Curve>(n: usize, rng: &mut StdRng) -> Vec<C::P> {
    assert!(n >= 8);
    let mut points: Vec<C::P> = (0..n).map(|_| C::P::rand(rng)).collect();
    let (p, q) = (C::P::rand(rng), C::P::rand(rng));
    points[0] = C::P::zero();
    points[n / 2] = C::P::zero();
    points[n - 1] = C::P::zero();
    points[1] = p;
    points[n / 2 + 1] = p;
    points[2] = q;
    points[n - 2] = -q;
    points
}

/// Scalars for `n` items: 0, 1, 2, 2^64 − 1, 2^63, then random.
fn scalars(n: usize, rng: &mut StdRng) -> Vec<u64> {
    let mut scalars: Vec<u64> = (0..n).map(|_| rng.gen()).collect();
    for (slot, edge) in [0, 1, 2, u64::MAX, 1 << 63].into_iter().enumerate() {
        scalars[slot] = edge;
    }
    scalars
}

fn point_items<C: Curve>(points: &[C::P]) -> Vec<u32> {
    points.iter().flat_map(C::encode).collect()
}

fn scalar_items<C: Curve>(scalars: &[u64], points: &[C::P]) -> Vec<u32> {
    scalars
        .iter()
        .zip(points)
        .flat_map(|(s, p)| codec::encode_scalar(*s).into_iter().chain(C::encode(p)))
        .collect()
}

fn decode_all<C: Curve>(words: &[u32]) -> Vec<C::P> {
    assert_eq!(words.len() % C::WORDS, 0);
    words
        .chunks_exact(C::WORDS)
        .enumerate()
        .map(|(i, w)| {
            C::decode(w).unwrap_or_else(|| panic!("result point {i} is not in the group"))
        })
        .collect()
}

/// A sum opcode's result: the partials (one per lane per device job), added by the caller.
fn sum_of<C: Curve>(device: &Device, jobs: u32, words: &[u32]) -> C::P {
    let partials = decode_all::<C>(words);
    assert_eq!(
        partials.len(),
        device.identity().lanes as usize * jobs as usize
    );
    partials.into_iter().sum()
}

fn check_aggregate<C: Curve>(device: &mut Device, n: usize, seed: u64) -> u32 {
    let mut rng = StdRng::seed_from_u64(seed);
    let points = points::<C>(n, &mut rng);
    let output = device
        .run(C::AGGREGATE, &point_items::<C>(&points))
        .unwrap();
    let expected: C::P = points.iter().sum();
    assert_eq!(
        sum_of::<C>(device, output.jobs, &output.words),
        expected,
        "{:?}",
        C::AGGREGATE
    );
    eprintln!(
        "{:?}: {n} points, {} device jobs, {} cycles",
        C::AGGREGATE,
        output.jobs,
        output.device_cycles
    );
    output.jobs
}

/// `C::SCALAR_MUL` of `(scalars, points)` against arkworks.
fn check_scalar_mul<C: Curve>(device: &mut Device, scalars: &[u64], points: &[C::P]) {
    let output = device
        .run(C::SCALAR_MUL, &scalar_items::<C>(scalars, points))
        .unwrap();
    let expected: Vec<C::P> = scalars
        .iter()
        .zip(points)
        .map(|(s, p)| *p * Fr::from(*s))
        .collect();
    assert_eq!(
        decode_all::<C>(&output.words),
        expected,
        "{:?}",
        C::SCALAR_MUL
    );
    eprintln!(
        "{:?}: {} items, {} cycles",
        C::SCALAR_MUL,
        points.len(),
        output.device_cycles
    );
}

/// `C::MULTI_SCALAR` of `(scalars, points)` against arkworks.
fn check_multi_scalar<C: Curve>(device: &mut Device, scalars: &[u64], points: &[C::P]) {
    let output = device
        .run(C::MULTI_SCALAR, &scalar_items::<C>(scalars, points))
        .unwrap();
    let sum: C::P = scalars
        .iter()
        .zip(points)
        .map(|(s, p)| *p * Fr::from(*s))
        .sum();
    assert_eq!(
        sum_of::<C>(device, output.jobs, &output.words),
        sum,
        "{:?}",
        C::MULTI_SCALAR
    );
    eprintln!(
        "{:?}: {} items, {} cycles",
        C::MULTI_SCALAR,
        points.len(),
        output.device_cycles
    );
}

fn check_scalar_ops<C: Curve>(device: &mut Device, n: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let points = points::<C>(n, &mut rng);
    let scalars = scalars(n, &mut rng);
    check_scalar_mul::<C>(device, &scalars, &points);
    check_multi_scalar::<C>(device, &scalars, &points);
}

#[test]
fn identity_page_matches_the_manifest_and_the_abi() {
    let (device, _) = open();
    let identity = device.identity();
    assert_eq!(identity.magic, tollgate_abi::MAGIC);
    assert_eq!(
        identity.abi_version >> 16,
        u32::from(tollgate_abi::ABI_MAJOR)
    );
    assert_eq!(identity.design_hash, manifest().design_hash.to_lowercase());
    assert_eq!(identity.lanes, 40);
    assert_eq!(identity.mont_r_log2, tollgate_abi::MONT_R_LOG2);
    assert!(Opcode::VERIFY.iter().all(|op| !identity.supports(*op)));
    for opcode in Opcode::CURVE {
        assert!(identity.supports(opcode), "{opcode:?} not implemented");
        assert!(
            identity.shape().max_items(opcode) > 0,
            "{opcode:?}: no room for one round"
        );
    }
}

#[test]
fn aggregation_matches_arkworks_and_large_jobs_are_split() {
    let (mut device, _) = open();
    assert_eq!(check_aggregate::<G1>(&mut device, 50, 1), 1);
    assert_eq!(check_aggregate::<G2>(&mut device, 50, 2), 1);
    // Two points only (most lanes get nothing but padding).
    assert_eq!(check_aggregate::<G1>(&mut device, 8, 3), 1);
    // One more than a device job holds: two device jobs, partials of both.
    let max = device.identity().shape().max_items(Opcode::AggregateG1);
    assert_eq!(check_aggregate::<G1>(&mut device, max + 1, 4), 2);
}

#[test]
fn g1_scalar_multiplication_and_sum_match_arkworks() {
    let (mut device, _) = open();
    // 45 items: two rounds, the second mostly padding.
    check_scalar_ops::<G1>(&mut device, 45, 5);
}

#[test]
fn g2_scalar_multiplication_and_sum_match_arkworks() {
    let (mut device, _) = open();
    check_scalar_ops::<G2>(&mut device, 12, 6);
}

/// A cheap job with a known answer, for the fault tests.
fn small_job(device: &mut Device) -> Result<tollgate_drivers::JobOutput, DeviceError> {
    let mut rng = StdRng::seed_from_u64(7);
    let points = points::<G1>(10, &mut rng);
    let output = device.run(Opcode::AggregateG1, &point_items::<G1>(&points))?;
    let expected: G1Projective = points.iter().sum();
    let partials: Vec<Option<G1Projective>> = output
        .words
        .chunks_exact(G1_WORDS)
        .map(G1::decode)
        .collect();
    if partials.iter().all(Option::is_some)
        && partials.iter().flatten().sum::<G1Projective>() == expected
    {
        Ok(output)
    } else {
        Err(DeviceError::Protocol("wrong result".into()))
    }
}

fn fault(text: &str) -> FaultSpec {
    text.parse().unwrap()
}

#[test]
fn transient_faults_are_recovered_by_the_escalation() {
    let (mut device, control) = open();
    for (spec, attempts) in [("hang,jobs=1", 2), ("error,jobs=1", 2), ("hang,jobs=2", 3)] {
        control.set(fault(spec));
        let output = small_job(&mut device).unwrap_or_else(|e| panic!("{spec}: {e}"));
        assert_eq!(output.attempts, attempts, "{spec}");
        assert_eq!(device.down_reason(), None, "{spec}");
    }
    // A slow device is merely slow: deadlines are in device cycles, not wall time.
    control.set(fault("slow,delay_us=20,jobs=1"));
    let start = Instant::now();
    let output = small_job(&mut device).unwrap();
    control.clear();
    assert_eq!(output.attempts, 1);
    // The link's accesses were delayed: the doorbell and the completion-head write (host
    // memory, where the input, descriptor and completion live, is not behind the link).
    assert!(start.elapsed() >= Duration::from_micros(20) * 2);
}

/// Aggregation of `jobs` device jobs of one round each (`max_job_items`), checked against
/// arkworks, with the guard bands around every output buffer intact afterwards.
fn aggregate_in_small_jobs(
    device: &mut Device,
    jobs: usize,
    seed: u64,
) -> tollgate_drivers::JobOutput {
    let per_job = device
        .identity()
        .shape()
        .items_per_round(Opcode::AggregateG1);
    let mut rng = StdRng::seed_from_u64(seed);
    let points = points::<G1>(jobs * per_job - 7, &mut rng);
    let output = device
        .run(Opcode::AggregateG1, &point_items::<G1>(&points))
        .unwrap();
    assert_eq!(output.jobs as usize, jobs);
    let expected: G1Projective = points.iter().sum();
    assert_eq!(sum_of::<G1>(device, output.jobs, &output.words), expected);
    let memory = device.dma_snapshot().unwrap();
    let layout = device.dma_layout().clone();
    let output_bytes = device
        .identity()
        .shape()
        .output_bytes(Opcode::AggregateG1, 1);
    for slot in 0..layout.slots.len() {
        for (offset, len) in layout.guards(slot, output_bytes) {
            assert!(
                memory[offset..offset + len]
                    .iter()
                    .all(|b| *b == rings::GUARD_BYTE),
                "guard at {offset:#x} overwritten"
            );
        }
    }
    output
}

fn open_with(config: DeviceConfig) -> (Device, Arc<FaultControl>) {
    let control = FaultControl::new();
    let sim = SimTransport::open().expect("the sim backend is built with the RTL");
    let transport = Box::new(FaultyTransport::new(sim, control.clone()));
    (
        Device::open(transport, manifest(), config).expect("device opens"),
        control,
    )
}

fn small_jobs() -> DeviceConfig {
    DeviceConfig {
        max_job_items: Some(120),
        ..config()
    }
}

#[test]
fn jobs_queue_in_the_rings_overlap_and_wrap_around() {
    // 4 slots, rings of 8: 13 jobs wait for free slots (back-pressure) and wrap the rings.
    let (mut device, _) = open_with(small_jobs());
    assert_eq!(device.dma_layout().entries(), 8);
    let before = device.transport_cycles().unwrap();
    let output = aggregate_in_small_jobs(&mut device, 13, 11);
    let wall = device.transport_cycles().unwrap() - before;
    assert_eq!(output.attempts, 13);
    // Two jobs in the device at once: a job's input moves while the one before computes, so
    // the device took less time than its jobs' stages one after another.
    assert!(
        wall < output.device_cycles,
        "no overlap: {wall} cycles of wall time, {} of stages",
        output.device_cycles
    );
    // Compact transfers: 3 Fp of 48 bytes per point, no padding.
    assert_eq!(output.bytes_in, 13 * 120 * 144);
    assert!(output.transfer_cycles > 0 && output.transfer_cycles < output.device_cycles);
    // Scalar items too (compact scalars), in two jobs in flight together.
    let (mut device, _) = open_with(DeviceConfig {
        max_job_items: Some(40),
        ..config()
    });
    let mut rng = StdRng::seed_from_u64(12);
    let points = points::<G1>(70, &mut rng);
    let scalars = scalars(70, &mut rng);
    let output = device
        .run(Opcode::ScalarMulG1, &scalar_items::<G1>(&scalars, &points))
        .unwrap();
    assert_eq!(output.jobs, 2);
    let expected: Vec<G1Projective> = scalars
        .iter()
        .zip(&points)
        .map(|(s, p)| *p * Fr::from(*s))
        .collect();
    assert_eq!(decode_all::<G1>(&output.words), expected);
    assert_eq!(output.bytes_in, 2 * 40 * (8 + 144));
}

#[test]
fn dma_faults_are_recovered_with_right_results_and_intact_guards() {
    let (mut device, control) = open_with(small_jobs());
    for spec in [
        "dma-read,jobs=1",
        "lost,jobs=1",
        "twice,jobs=1",
        "outside,jobs=1",
        "hang,jobs=1",
    ] {
        control.set(fault(spec));
        let output = aggregate_in_small_jobs(&mut device, 3, 21);
        assert!(output.attempts > 3, "{spec}: the fault went unnoticed");
        assert_eq!(device.down_reason(), None, "{spec}");
        control.clear();
        // Whatever the fault left behind (a repeated completion) does not spoil the next run.
        aggregate_in_small_jobs(&mut device, 2, 22);
    }
}

#[test]
fn a_corrupted_result_is_delivered_as_read_and_detectable() {
    // The driver cannot tell a flipped bit from a result; the caller's check can: the
    // corrupted partial is not a point of the group.
    let (mut device, control) = open();
    control.set(fault("corrupt,jobs=1"));
    assert!(matches!(
        small_job(&mut device),
        Err(DeviceError::Protocol(_))
    ));
    let output = small_job(&mut device).expect("the next job is clean");
    assert_eq!(output.attempts, 1);
}

#[test]
fn persistent_faults_mark_the_device_down_until_revived() {
    let (mut device, control) = open();
    for spec in ["hang", "error"] {
        control.set(fault(spec));
        let error = small_job(&mut device).unwrap_err();
        assert!(
            matches!(error, DeviceError::Exhausted { .. }),
            "{spec}: {error}"
        );
        assert!(device.down_reason().is_some(), "{spec}");
        // Refused at once while down.
        assert!(matches!(
            small_job(&mut device),
            Err(DeviceError::Down { .. })
        ));
        control.clear();
        device.revive().unwrap();
        assert_eq!(
            small_job(&mut device).unwrap().attempts,
            1,
            "{spec}: revived"
        );
    }
}

#[test]
fn a_manifest_with_another_design_hash_is_refused() {
    let mut wrong = manifest();
    let hash = wrong.design_hash.to_lowercase();
    let first = if hash.starts_with('0') { "1" } else { "0" };
    let changed = format!("{first}{}", &hash[1..]);
    let dir = std::env::temp_dir().join(format!("tollgate-sim-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&wrong.path)
        .unwrap()
        .replace(&wrong.design_hash, &changed);
    std::fs::write(&path, text).unwrap();
    wrong = Manifest::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(wrong.design_hash, changed);

    let sim = SimTransport::open().unwrap();
    let error = Device::open(Box::new(sim), wrong, config()).unwrap_err();
    assert!(
        matches!(
            error,
            DeviceError::Identity(IdentityMismatch::DesignHash { .. })
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&hash) && message.contains(&changed),
        "{message}"
    );
    assert!(message.contains("manifest.json"), "{message}");
}
