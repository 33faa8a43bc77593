//! What the batch canary (host/src/engine/device/canary.rs) costs the host per device batch,
//! beside the CPU's share of the device path it adds to, measured in the same run: making the
//! canary (two random scalars, k·g, k·H(m) + d·g, (r·k)·g, (r·d)·g), checking the device's
//! answer against it (one point comparison, one subtraction), and the CPU share of a batch of
//! n items and of n + 1 (the canary's hash and Miller loop). Also the arithmetic of the audit
//! of a failed batch (n 64-bit multiplications, one n-point multi-scalar multiplication),
//! which runs only when the device's check fails. POP, min_pk.
//!
//! Run: `cargo run --release -p tollgate-bench --bin canary_cost --no-default-features`.

use std::time::Instant;

use blst::{blst_p1_affine, blst_p2_affine, min_pk};
use clap::Parser;
use rand_core::{OsRng, RngCore};
use tollgate::engine::device::{pairing_check, Canary, CanaryPoint};
use tollgate_bench::{load_average, median};

#[derive(Debug, Parser)]
struct Args {
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "64,128,256,1024")]
    batches: Vec<usize>,
    /// Repetitions of each timing (median).
    #[arg(long, default_value_t = 11)]
    repeat: usize,
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
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn main() {
    let args = Args::parse();
    println!("load average before: {}", load_average());
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
