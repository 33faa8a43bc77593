//! What the batch canary (host/src/engine/device/canary/blinding.rs) costs the host per device batch,
//! beside the CPU's share of the device path it adds to, measured in the same run: making the
//! canary (two random scalars, k·g, k·H(m) + d·g, (r·k)·g, (r·d)·g), checking the device's
//! answer against it (one point comparison, one subtraction), and the CPU share of a batch of
//! n items and of n + 1 (the canary's hash and Miller loop). Also the arithmetic of the audit
//! of a failed batch (n 64-bit multiplications, one n-point multi-scalar multiplication),
//! which runs only when the device's check fails. POP, min_pk.
//!
//! Then (`--whole`) the host's CPU time per item on the whole-verification device path
//! (host/src/engine/device/whole.rs), beside the CPU service's per-item time in the same run:
//! screening a signature at parse time (`ItemSignature::parse` deferred), hash_to_field, the
//! batch's blinding scalars (`blinding_scalars`, n + 1 of them), the whole-path canary
//! (`LaneCanary::draw` then `LaneCanaryDraw::sign` on the H(m) the device's hash stage
//! returned, per batch, host/src/engine/device/canary/lane.rs), the driver's host work on the device's
//! results (a compressed x to words and y's sign, each projective G1 and G2 result normalised,
//! the lanes' Fp12 values read; Σ rᵢσᵢ's bucket stage by the driver's own functions: the plan,
//! the steps, each job's byte stream and the join over an honest device's lane sums), the lanes' product and the one final exponentiation per batch
//! (`LaneCanary::holds`), the decoding job's negative canary (`NegativeCanary::new`, per
//! batch); against the CPU service's decoding (`decode_signature`) and its
//! engine's batch check (`CpuEngine::verify_batch`), per item.
//!
//! Then (`--aggregate`) aggregate verification of n pairs (host/src/engine/device/aggregate.rs):
//! the host's CPU per request on the device path (a pass of n + 1 items: the pairs and the
//! canary; hash_to_field and the driver's host work per item, the canaries and the final
//! exponentiation per pass) against the CPU engine's `verify_aggregate` (its process CPU time,
//! all threads, and its wall time), with the pass's device time projected from the
//! verification design's per-round cycles measured under Verilator.
//!
//! Run: `cargo run --release -p tollgate-bench --bin canary_cost --no-default-features
//! [-- --whole | --aggregate]`.

use std::time::Instant;

use blst::{blst_fp12, blst_p1_affine, blst_p2_affine, min_pk};
use clap::Parser;
use rand_core::{OsRng, RngCore};
use tollgate::codec::{decode_public_key, decode_signature, ItemSignature, PublicKey, Signature};
use tollgate::engine::device::drivers::abi::layout::Shape;
use tollgate::engine::device::drivers::abi::{Opcode, FP_WORDS};
use tollgate::engine::device::drivers::batch::BucketJob;
use tollgate::engine::device::drivers::codec;
use tollgate::engine::device::{
    blinding_scalars, gt_pow, hash_to_field, pairing_check, Canary, CanaryPoint, LaneCanary,
    LaneCanaryDraw, NegativeCanary,
};
use tollgate::engine::{CpuEngine, Engine, SignedItem};
use tollgate::suite::Suite;
use tollgate_bench::{cpu_time, load_average, median};

#[derive(Debug, Parser)]
struct Args {
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "64,128,256,1024")]
    batches: Vec<usize>,
    /// Repetitions of each timing (median).
    #[arg(long, default_value_t = 11)]
    repeat: usize,
    /// Measure the whole-verification path's host share instead.
    #[arg(long)]
    whole: bool,
    /// Measure aggregate verification's host share on the device path instead.
    #[arg(long)]
    aggregate: bool,
    /// Pairs per aggregate verification (`--aggregate`).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16,31,64,128")]
    pairs: Vec<usize>,
    /// Lanes of the device (tollgate_verify's K: one Fp12 value and one partial Σ rᵢσᵢ each).
    #[arg(long, default_value_t = 32)]
    lanes: usize,
    /// Before each timed run, write this many MiB (0: none), so that every part runs with
    /// cold caches, as each stage's host work does in situ under the simulator (bench
    /// dma_rings), whose millions of simulated cycles between stages evict everything.
    #[arg(long, default_value_t = 0)]
    evict_mib: usize,
}

/// `--evict-mib`, for [`time`].
static EVICT_MIB: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Writes `--evict-mib` MiB: the caches hold none of what the next timed run uses.
fn evict_caches() {
    let mib = EVICT_MIB.get().copied().unwrap_or(0);
    if mib > 0 {
        std::hint::black_box(vec![1u8; mib << 20]);
    }
}

const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// What the device returns for `n` valid items: rᵢ·pkᵢ and Σ rᵢ·σᵢ, with the messages.
struct Batch {
    messages: Vec<Vec<u8>>,
    keys: Vec<blst_p1_affine>,
    sigs: Vec<blst_p2_affine>,
    scalars: Vec<u64>,
    blinded: Vec<blst_p1_affine>,
    sum: blst_p2_affine,
}

fn batch(n: usize) -> Batch {
    let (mut messages, mut keys, mut sigs, mut scalars) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let mut ikm = [0u8; 32];
        OsRng.fill_bytes(&mut ikm);
        let sk = min_pk::SecretKey::key_gen(&ikm, &[]).unwrap();
        let message = format!("canary cost {i}").into_bytes();
        keys.push(blst_p1_affine::from(sk.sk_to_pk()));
        sigs.push(blst_p2_affine::from(sk.sign(&message, DST, &[])));
        messages.push(message);
        scalars.push(OsRng.next_u64() | 1);
    }
    let blinded = keys
        .iter()
        .zip(&scalars)
        .map(|(k, r)| CanaryPoint::multi_scaled(&[*k], &[*r]))
        .collect();
    let sum = CanaryPoint::multi_scaled(&sigs, &scalars);
    Batch {
        messages,
        keys,
        sigs,
        scalars,
        blinded,
        sum,
    }
}

/// Median milliseconds of `repeat` runs of `f`.
fn time(repeat: usize, mut f: impl FnMut()) -> f64 {
    median(
        (0..repeat)
            .map(|_| {
                evict_caches();
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    let args = Args::parse();
    EVICT_MIB.set(args.evict_mib).expect("set once");
    println!("load average before: {}", load_average());
    if args.aggregate {
        aggregate(&args);
        println!("load average after: {}", load_average());
        return;
    }
    if args.whole {
        whole_path(&args);
        println!("load average after: {}", load_average());
        return;
    }
    println!(
        "| n | make canary, µs | check device answer, µs | CPU share n items, ms | CPU share n + 1 items, ms | canary total, ms | share of the CPU share | audit arithmetic (failure path only), ms |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &n in &args.batches {
        let b = batch(n);
        let with_canary = batch(n + 1);
        let messages: Vec<&[u8]> = b.messages.iter().map(Vec::as_slice).collect();
        let messages_plus: Vec<&[u8]> = with_canary.messages.iter().map(Vec::as_slice).collect();
        let make = time(args.repeat, || {
            std::hint::black_box(Canary::<blst_p1_affine, blst_p2_affine>::new(DST, n).unwrap());
        });
        let canary = Canary::<blst_p1_affine, blst_p2_affine>::new(DST, n).unwrap();
        let check = time(args.repeat, || {
            std::hint::black_box(canary.key_holds(&with_canary.blinded));
            std::hint::black_box(canary.signature_side(&with_canary.sum));
        });
        // The CPU share of n and n + 1 items alternated, so that load drifts hit both.
        let (mut share, mut share_plus) = (vec![], vec![]);
        for _ in 0..args.repeat {
            share.push(time(1, || {
                assert_eq!(pairing_check(DST, &b.blinded, &messages, &b.sum), Ok(true));
            }));
            share_plus.push(time(1, || {
                let blinded = &with_canary.blinded;
                let verdict = pairing_check(DST, blinded, &messages_plus, &with_canary.sum);
                assert_eq!(verdict, Ok(true));
            }));
        }
        let (share, share_plus) = (median(share), median(share_plus));
        let audit = time(args.repeat, || {
            for (k, r) in b.keys.iter().zip(&b.scalars) {
                std::hint::black_box(blst_p1_affine::multi_scaled(&[*k], &[*r]));
            }
            std::hint::black_box(blst_p2_affine::multi_scaled(&b.sigs, &b.scalars));
        });
        // The canary's own hash and Miller loop: the one-item-more share, taken as the
        // per-item average (the difference of two noisy medians is noisier than the item).
        let extra_item = share / n as f64;
        let total = make + check + extra_item;
        println!(
            "| {n} | {:.0} | {:.1} | {share:.2} | {share_plus:.2} | {total:.3} | {:.2} % | {audit:.2} |",
            make * 1e3,
            check * 1e3,
            100.0 * total / share
        );
    }
    println!("load average after: {}", load_average());
}

/// Device words of a projective point with a random Z (as the device returns them): blst's
/// limbs, which are the device's Montgomery words.
fn projective_words(limbs: &[[u64; 6]]) -> Vec<u32> {
    limbs
        .iter()
        .flatten()
        .flat_map(|l| [*l as u32, (*l >> 32) as u32])
        .collect()
}

/// H(m) of `message` as blst hashes it: what the device's hash stage returns for the canary.
fn hash_of(message: &[u8]) -> blst_p2_affine {
    let (mut hash, mut affine) = (blst::blst_p2::default(), blst_p2_affine::default());
    // SAFETY: valid pointers; message and tag read for their lengths, no augmentation.
    unsafe {
        blst::blst_hash_to_g2(
            &mut hash,
            message.as_ptr(),
            message.len(),
            DST.as_ptr(),
            DST.len(),
            [].as_ptr(),
            0,
        );
        blst::blst_p2_to_affine(&mut affine, &hash);
    }
    affine
}

/// A whole-path canary for a batch of `n`, as the path makes it: drawn, then signed on the
/// H(m) of its message that the device's hash stage returned (`hash`: timed apart, see
/// [`device_hash`]).
fn lane_canary(n: usize, hash: impl FnOnce(&LaneCanaryDraw) -> blst_p2_affine) -> LaneCanary {
    let draw = LaneCanary::draw(n).unwrap();
    let hash = hash(&draw);
    draw.sign(&hash)
}

/// The device's H(m) for a canary's message, made outside the timings.
fn device_hash(draw: &LaneCanaryDraw) -> blst_p2_affine {
    hash_of(draw.message())
}

/// Where the lane canary's time goes: each operation it is made of, once (a 255-bit scalar
/// each), through the functions the path calls, beside the hash to G2 the device's hash stage
/// took off the host (on the path before branch `canaryhash`).
fn canary_parts(args: &Args) {
    use blst::*;
    let mut ikm = [0u8; 32];
    OsRng.fill_bytes(&mut ikm);
    let mut s = blst_scalar::default();
    unsafe { blst_keygen(&mut s, ikm.as_ptr(), 32, [].as_ptr(), 0) };
    let message = [7u8; 32];
    let hash = hash_of(&message);
    let us = |f: &mut dyn FnMut()| 1e3 * time(args.repeat, f);
    // The tables are made on first use: not in the timings. The device's H(m) is one fixed
    // point here (made by blst, as the device's): the sign step's cost does not depend on it.
    std::hint::black_box(lane_canary(128, device_hash));
    let parts = [
        (
            "hash_to_g2 of the message (the device's now: not in the canary)",
            us(&mut || {
                std::hint::black_box(hash_of(&message));
            }),
        ),
        (
            "k·H(m): G2 variable-base multiplication (CanaryPoint::mul)",
            us(&mut || {
                std::hint::black_box(hash.mul(&s));
            }),
        ),
        (
            "d·g₂ by table (blst_p2s_mult_wbits, 16 chunks)",
            us(&mut || {
                std::hint::black_box(blst_p2_affine::base_mul(&s));
            }),
        ),
        (
            "k·g₁ by table (blst_p1s_mult_wbits, 16 chunks)",
            us(&mut || {
                std::hint::black_box(blst_p1_affine::base_mul(&s));
            }),
        ),
        (
            "gₜ^(r·d) by table",
            us(&mut || {
                std::hint::black_box(gt_pow(&s));
            }),
        ),
        (
            "LaneCanary::draw (the secrets, position and message)",
            us(&mut || {
                std::hint::black_box(LaneCanary::draw(128).unwrap());
            }),
        ),
        (
            "LaneCanary: draw + sign on the device's H(m) (all of it)",
            us(&mut || {
                std::hint::black_box(lane_canary(128, |_| hash));
            }),
        ),
        (
            "NegativeCanary::new (the decoding job's negative canary)",
            us(&mut || {
                std::hint::black_box(NegativeCanary::new(128).unwrap());
            }),
        ),
    ];
    println!("| canary part | µs |");
    println!("|---|---|");
    for (part, cost) in parts {
        println!("| {part} | {cost:.0} |");
    }
    println!();
}

/// The whole path's host share per item against the CPU service's, in the same run.
fn whole_path(args: &Args) {
    let suite = Suite::default();
    canary_parts(args);
    println!(
        "| n | screen, µs/item | hash_to_field, µs/item | blinding scalars, µs/item | canary, µs/batch | negative canary, µs/batch | driver host work, µs/item | of it Σ rᵢσᵢ: plan / items / stream / join (jobs) | product + final exp, µs/batch | device path host, µs/item | CPU decode, µs/item | CPU batch check, µs/item | CPU service, µs/item | ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in &args.batches {
        let b = batch(n);
        let compressed: Vec<Vec<u8>> = b
            .sigs
            .iter()
            .map(|s| min_pk::Signature::from(*s).compress().to_vec())
            .collect();
        let per_item = |ms: f64| ms * 1e3 / n as f64;
        let screen = per_item(time(args.repeat, || {
            for bytes in &compressed {
                let parsed = ItemSignature::parse(suite.variant, bytes.clone(), true);
                std::hint::black_box(parsed.unwrap());
            }
        }));
        let HostShare {
            h2f,
            scalars,
            canary_us,
            negative_us,
            driver,
            bucket,
            finish,
        } = host_share(args, &b, &compressed);
        let host = screen + h2f + scalars + driver + (canary_us + negative_us + finish) / n as f64;
        // The CPU service: decoding at parse time, then its engine's batch check.
        let decode = per_item(time(args.repeat, || {
            for bytes in &compressed {
                std::hint::black_box(decode_signature(suite.variant, bytes).unwrap());
            }
        }));
        let items: Vec<SignedItem> = (0..n)
            .map(|i| {
                let key = min_pk::PublicKey::from(b.keys[i]).compress();
                SignedItem {
                    public_key: decode_public_key(suite.variant, &key).unwrap(),
                    message: b.messages[i].clone(),
                    signature: Signature::G2(min_pk::Signature::from(b.sigs[i])).into(),
                }
            })
            .collect();
        assert!(items
            .iter()
            .all(|i| matches!(i.public_key, PublicKey::G1(_))));
        let refs: Vec<&SignedItem> = items.iter().collect();
        let engine = CpuEngine::new();
        let check = per_item(time(args.repeat, || {
            assert!(engine.verify_batch(suite, &refs).unwrap().all_valid());
        }));
        let cpu = decode + check;
        println!(
            "| {n} | {screen:.2} | {h2f:.2} | {scalars:.2} | {canary_us:.0} | {negative_us:.0} | {driver:.2} | {:.2} / {:.2} / {:.2} / {:.2} ({}) | {finish:.0} | {host:.2} | {decode:.1} | {check:.1} | {cpu:.1} | {:.1}× |",
            bucket.plan,
            bucket.items,
            bucket.stream,
            bucket.join,
            bucket.jobs,
            cpu / host
        );
    }
}

/// Device cycles of one stage: fixed + per round of the design's lanes (fitted to the
/// Verilated verification design's jobs, bench/RESULTS.md "The whole min_pk batch check on
/// one device": largest residual 0 cycles).
struct StageFit {
    fixed: f64,
    per_round: f64,
}

/// DecodeG2, HashToG2, ScalarMulG1, MultiScalarG2, MillerLoop.
const STAGES: [StageFit; 5] = [
    StageFit {
        fixed: 538.0,
        per_round: 162_240.0,
    },
    StageFit {
        fixed: 538.0,
        per_round: 413_376.0,
    },
    StageFit {
        fixed: 538.0,
        per_round: 42_080.0,
    },
    StageFit {
        fixed: 1_594.0,
        per_round: 130_080.0,
    },
    StageFit {
        fixed: 2_650.0,
        per_round: 270_592.0,
    },
];

/// Assumed clock of the device (tollgate-hdl `CLOCK_MHZ`).
const CLOCK_HZ: f64 = 250e6;

/// Device cycles of an aggregate verification of `pairs` pairs: one decoding round (the
/// canary's signature and the negative canary), pairs + 1 items (the canary) through hashing
/// and blinding, pairs + 2 Miller pairs (and (−g₁, Σ rᵢσᵢ)).
fn aggregate_cycles(pairs: usize, lanes: usize) -> f64 {
    let rounds = |items: usize| items.div_ceil(lanes) as f64;
    let items = [1, pairs + 1, pairs + 1, pairs + 1, pairs + 2];
    STAGES
        .iter()
        .zip(items)
        .map(|(stage, items)| stage.fixed + stage.per_round * rounds(items))
        .sum()
}

/// Aggregate verification: the device path's host CPU per request against the CPU engine's.
fn aggregate(args: &Args) {
    let suite = Suite::default();
    let engine = CpuEngine::new();
    println!(
        "| pairs | device path host, µs/request | of it per pass (canaries, final exp), µs | of it per pair, µs | device pass at 250 MHz, ms | CPU engine, CPU µs/request | CPU engine, wall µs/request | CPU / device path host (CPU time) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for &n in &args.pairs {
        // The pass's items: the n pairs and the canary.
        let b = batch(n + 1);
        let compressed: Vec<Vec<u8>> = b
            .sigs
            .iter()
            .map(|s| min_pk::Signature::from(*s).compress().to_vec())
            .collect();
        let share = host_share(args, &b, &compressed);
        let per_pass = share.canary_us + share.negative_us + share.finish;
        // What one more pair (or item of a device batch) costs the host.
        let per_pair = share.h2f + share.driver;
        let host = per_pair * (n + 1) as f64 + per_pass;
        let keys: Vec<PublicKey> = b.keys[..n]
            .iter()
            .map(|k| {
                let bytes = min_pk::PublicKey::from(*k).compress();
                decode_public_key(suite.variant, &bytes).unwrap()
            })
            .collect();
        let signatures: Vec<min_pk::Signature> = b.sigs[..n]
            .iter()
            .map(|s| min_pk::Signature::from(*s))
            .collect();
        let refs: Vec<&min_pk::Signature> = signatures.iter().collect();
        let sigma = Signature::G2(
            min_pk::AggregateSignature::aggregate(&refs, false)
                .unwrap()
                .to_signature(),
        );
        let messages: Vec<&[u8]> = b.messages[..n].iter().map(Vec::as_slice).collect();
        let (mut cpu, mut wall) = (Vec::new(), Vec::new());
        for _ in 0..args.repeat {
            let (start_cpu, start) = (
                cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID).as_secs_f64(),
                Instant::now(),
            );
            assert!(engine
                .verify_aggregate(suite, &keys, &messages, &sigma)
                .unwrap());
            wall.push(start.elapsed().as_secs_f64() * 1e6);
            cpu.push((cpu_time(libc::CLOCK_PROCESS_CPUTIME_ID).as_secs_f64() - start_cpu) * 1e6);
        }
        let (cpu, wall) = (median(cpu), median(wall));
        let device_ms = aggregate_cycles(n, args.lanes) / CLOCK_HZ * 1e3;
        println!(
            "| {n} | {host:.0} | {per_pass:.0} | {per_pair:.1} | {device_ms:.2} | {cpu:.0} | {wall:.0} | {:.2}× |",
            cpu / host
        );
    }
}

/// The whole path's host work on a device pass of the items of `b` (`compressed`: their
/// signatures), beside the parse-time screening: µs per item and µs per pass.
struct HostShare {
    /// hash_to_field, per item.
    h2f: f64,
    /// The pass's blinding scalars (`blinding_scalars`), per item.
    scalars: f64,
    /// The lane canary (drawn, signed on the device's H(m)), per pass.
    canary_us: f64,
    /// `NegativeCanary::new`, per pass.
    negative_us: f64,
    /// The driver's host work on the device's results, per item, the bucket stage's included.
    driver: f64,
    /// Of it, the bucket stage's.
    bucket: BucketShare,
    /// The lanes' product and the final exponentiation, per pass.
    finish: f64,
}

fn host_share(args: &Args, b: &Batch, compressed: &[Vec<u8>]) -> HostShare {
    let n = b.messages.len();
    let per_item = |ms: f64| ms * 1e3 / n as f64;
    let h2f = per_item(time(args.repeat, || {
        for message in &b.messages {
            std::hint::black_box(hash_to_field(message, DST));
        }
    }));
    let scalars = per_item(time(args.repeat, || {
        std::hint::black_box(blinding_scalars(n + 1).unwrap());
    }));
    // The device's H(m) of the canary's message is the hash stage's (device time, and its
    // host share, the normalisation, counted per item in the driver's work below).
    let hash = device_hash(&LaneCanary::draw(n).unwrap());
    let canary_us = 1e3
        * time(args.repeat, || {
            std::hint::black_box(lane_canary(n, |_| hash));
        });
    let negative_us = 1e3
        * time(args.repeat, || {
            std::hint::black_box(NegativeCanary::new(n).unwrap());
        });
    // What the driver does on the host (drivers::batch): per signature its x words, the
    // residues read and y's sign picked; each stage's projective points normalised (one
    // inversion per stage); the items' and pairs' words; per lane one Fp12 read.
    // Homogeneous projective (X, Y, Z) = (λx, λy, λ) with λ ≠ 1, as the device returns points.
    let lambda = b.keys[1].x;
    let scale = |c: &blst::blst_fp| {
        let mut out = blst::blst_fp::default();
        unsafe { blst::blst_fp_mul(&mut out, c, &lambda) };
        out.l
    };
    let doubled_g1: Vec<[u64; 6]> = b
        .keys
        .iter()
        .flat_map(|key| [scale(&key.x), scale(&key.y), lambda.l])
        .collect();
    let zero = [0u64; 6];
    let doubled_g2: Vec<[u64; 6]> = b
        .sigs
        .iter()
        .flat_map(|sig| {
            let [x0, x1] = &sig.x.fp;
            let [y0, y1] = &sig.y.fp;
            [scale(x0), scale(x1), scale(y0), scale(y1), lambda.l, zero]
        })
        .collect();
    let (g1_words, g2_words) = (projective_words(&doubled_g1), projective_words(&doubled_g2));
    let roots: Vec<Vec<u32>> = b
        .sigs
        .iter()
        .map(|sig| codec::encode_g2_point(sig)[24..48].to_vec())
        .collect();
    let residue = vec![0u32; 24];
    let lanes = args.lanes;
    let fp12_words = projective_words(&[b.keys[0].x.l; 12]);
    let other = per_item(time(args.repeat, || {
        for (bytes, y) in compressed.iter().zip(&roots) {
            let (x, largest) = codec::compressed_g2_x(bytes).unwrap();
            assert!(codec::fp2_is_zero(&residue).unwrap() && codec::fp2_is_zero(&residue).unwrap());
            std::hint::black_box(codec::g2_affine_with_sign(&x, y, largest).unwrap());
        }
        let hashes = codec::g2_affine_points(&g2_words).unwrap();
        let keys = codec::g1_affine_points(&g1_words).unwrap();
        let mut words = Vec::with_capacity(n * 200);
        for ((key, hash), scalar) in keys.iter().zip(&hashes).zip(&b.scalars) {
            words.extend(codec::encode_scalar(*scalar));
            words.extend(codec::encode_g1_point(key));
            words.extend(codec::encode_g1_point(key));
            words.extend(codec::encode_g2_point(hash));
        }
        std::hint::black_box(words);
        for _ in 0..lanes {
            std::hint::black_box(codec::decode_fp12(&fp12_words).unwrap());
        }
    }));
    let bucket = bucket_stage(args, b);
    let canary = lane_canary(n, device_hash);
    let values: Vec<blst_fp12> = (0..lanes)
        .map(|_| codec::decode_fp12(&fp12_words).unwrap())
        .collect();
    let finish = 1e3
        * time(args.repeat, || {
            let product = values.iter().fold(blst_fp12::default(), |acc, v| acc * *v);
            std::hint::black_box(canary.holds(&product));
        });
    HostShare {
        h2f,
        scalars,
        canary_us,
        negative_us,
        driver: other + bucket.total(),
        bucket,
        finish,
    }
}

/// The bucket stage's host work (drivers::batch::signature_sum), per item: the driver's own
/// functions on the verification design's shape, the join over an honest device's results.
#[derive(Clone, Copy)]
struct BucketShare {
    /// `BucketJob::new`: the plan (window chosen by counting) and its cut into jobs.
    plan: f64,
    /// `BucketJob::run_jobs` less the device: the jobs' items in BucketSumG2's format, each
    /// job after the first seeded with the S words its predecessor returned.
    items: f64,
    /// `Shape::write_input_bytes` per device job into its slot, as `Device::run` lays it out.
    stream: f64,
    /// `BucketJob::join`: the jobs' lane T normalised and joined into Σ rᵢσᵢ.
    join: f64,
    /// Device jobs of the stage.
    jobs: usize,
}

impl BucketShare {
    fn total(&self) -> f64 {
        self.plan + self.items + self.stream + self.join
    }
}

/// The verification design's stream shape (tollgate-hdl `TopParams::verification`: 8,192
/// elements each way), on `lanes` lanes.
fn verify_shape(lanes: usize) -> Shape {
    Shape {
        lanes: lanes as u32,
        aggregate_fanin: 1,
        in_words: 8192 * FP_WORDS as u32,
        out_words: 8192 * FP_WORDS as u32,
    }
}

fn bucket_stage(args: &Args, b: &Batch) -> BucketShare {
    let n = b.messages.len();
    let per_item = |ms: f64| ms * 1e3 / n as f64;
    let opcode = Opcode::BucketSumG2;
    let shape = verify_shape(args.lanes);
    let job_items = shape.max_items(opcode);
    let new_job = || BucketJob::new(&b.scalars, args.lanes, job_items).unwrap();
    let plan = per_item(time(args.repeat, || {
        std::hint::black_box(new_job());
    }));
    let job = new_job();
    // The device stood in for by an honest device's results, each job's handed back as a new
    // vector, as `Device::run` returns them.
    let results = job.honest_results(&b.sigs);
    let job_results = results.chunks(args.lanes * opcode.result_words());
    let run_jobs = |each: &mut dyn FnMut(&[u32])| {
        let mut returned = job_results.clone();
        job.run_jobs(&b.sigs, |items| {
            each(items);
            Ok(returned.next().expect("a result per job").to_vec())
        })
        .unwrap()
    };
    let items = per_item(time(args.repeat, || {
        std::hint::black_box(run_jobs(&mut |_| {}));
    }));
    let mut words = Vec::new();
    run_jobs(&mut |items| words.push(items.to_vec()));
    let jobs = words.len();
    // The job's DMA slot: a buffer written in place, job after job, as Device::run does.
    let mut slot = vec![0u8; shape.input_bytes(opcode, shape.max_rounds(opcode))];
    let stream = per_item(time(args.repeat, || {
        for job in &words {
            let (rounds, len) = shape.input_layout(opcode, job).unwrap();
            shape.write_input_bytes(opcode, job, rounds, &mut slot[..len]);
            std::hint::black_box(&slot);
        }
    }));
    assert_eq!(job.join(&results).unwrap(), b.sum, "the join is Σ rᵢσᵢ");
    let join = per_item(time(args.repeat, || {
        std::hint::black_box(job.join(&results).unwrap());
    }));
    BucketShare {
        plan,
        items,
        stream,
        join,
        jobs,
    }
}
