//! ABI 3 benchmark: per device job, cycles moving data (descriptor fetch and input reads,
//! output and completion writes) and computing, measured on the Verilated top level whose
//! memory port is served under the default link model (PCIe Gen3 x16-like: 52 bytes per
//! cycle, 250-cycle read round trip); how much of the transfer a queue of jobs hides; host CPU
//! time per item spent on the transport (laying out the compact input, copying it into the DMA
//! region, decoding the output); key aggregation on the device path against blst; batch
//! verification (POP, min_pk) on the device path against blst's batch check on this CPU, with
//! the host's wall time per batch measured in the device engine's serial order of before and
//! its overlapped order of now (the device modelled by its projected job times).
//!
//! Run: `cargo run --release -p tollgate-bench --bin dma_rings`.

use std::time::{Duration, Instant};

use anyhow::Context;
use blst::min_pk;
use clap::Parser;
use tollgate::engine::device;
use tollgate::engine::device::drivers::abi::layout::Shape;
use tollgate::engine::device::drivers::abi::{self, Opcode};
use tollgate::engine::device::drivers::backends::sim::SimTransport;
use tollgate::engine::device::drivers::{codec, Device, DeviceConfig, Manifest};
use tollgate_bench::{device_items, PerRound};

#[derive(Debug, Parser)]
struct Args {
    /// Rounds of the single jobs measured per opcode.
    #[arg(long, value_delimiter = ',', default_value = "1,2")]
    rounds: Vec<u32>,
    /// Jobs of each queued run (4 in flight).
    #[arg(long, default_value_t = 8)]
    queued_jobs: usize,
    /// Rounds of each queued job (4: a batch of 128 items of a scalar opcode).
    #[arg(long, default_value_t = 4)]
    queued_rounds: u32,
    /// Key counts of the aggregation comparison.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    keys: Vec<usize>,
    /// Batch sizes of the batch verification comparison.
    #[arg(long, value_delimiter = ',', default_value = "64,256,1024,4096")]
    batches: Vec<usize>,
    /// Repetitions of the host-side timings (median).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Alternated rounds of the batch path's host wall time, serial and overlapped (median).
    #[arg(long, default_value_t = 11)]
    wall_rounds: usize,
    /// Design clock in MHz.
    #[arg(long, default_value_t = 250.0)]
    clock_mhz: f64,
}

const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// Cycles of `n` items of `opcode` (device cycles per job: descriptor fetch to completion,
/// its stages one after another, `fit`), split into jobs as the driver splits them.
fn projected_cycles(fit: PerRound, shape: &Shape, opcode: Opcode, n: usize) -> f64 {
    let mut left = n;
    let mut cycles = 0.0;
    while left > 0 {
        let items = left.min(shape.max_items(opcode));
        cycles += fit.cycles(f64::from(shape.rounds(opcode, items)));
        left -= items;
    }
    cycles
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn secret(i: u64) -> min_pk::SecretKey {
    let mut ikm = [0u8; 32];
    ikm[..8].copy_from_slice(&i.to_le_bytes());
    min_pk::SecretKey::key_gen(&ikm, &[]).expect("32 bytes of key material")
}

fn open(in_flight: usize, max_job_items: Option<usize>) -> anyhow::Result<Device> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = Manifest::load(&Manifest::path_in(&root, abi::DESIGN))?;
    let config = DeviceConfig {
        poll_cycles: 256,
        in_flight,
        max_job_items,
        ..DeviceConfig::default()
    };
    Ok(Device::open(
        Box::new(SimTransport::open()?),
        manifest,
        config,
    )?)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut device = open(1, None)?;
    let shape: Shape = device.identity().shape();

    println!("| opcode | rounds | items | bytes in / out | transfer cycles | compute cycles | transfer / item, cycles | compute / item, cycles | transfer share of device time |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut fits = std::collections::HashMap::new();
    for opcode in [
        Opcode::AggregateG1,
        Opcode::ScalarMulG1,
        Opcode::MultiScalarG2,
    ] {
        let mut jobs = vec![];
        for &r in &args.rounds {
            let n = r as usize * shape.items_per_round(opcode);
            let out = device.run(opcode, &device_items(opcode, n))?;
            let compute = out.device_cycles - out.transfer_cycles;
            jobs.push((f64::from(r), out.device_cycles as f64));
            println!(
                "| {opcode:?} | {r} | {n} | {} / {} | {} | {compute} | {:.1} | {:.1} | {:.1} % |",
                out.bytes_in,
                out.bytes_out,
                out.transfer_cycles,
                out.transfer_cycles as f64 / n as f64,
                compute as f64 / n as f64,
                100.0 * out.transfer_cycles as f64 / out.device_cycles as f64
            );
        }
        fits.insert(opcode, PerRound::fit(&jobs));
    }

    // A queue of jobs of a batch's size: does the transfer of one hide behind the compute of
    // another? Wall cycles from the first doorbell to the last completion against the
    // engine's cycles: what is left is transfer (and ring overhead) not hidden.
    println!("\n| queued opcode | jobs × rounds | wall cycles | engine cycles | transfer cycles (summed) | unhidden transfer + overhead | share of device time | share of transfer hidden |");
    println!("|---|---|---|---|---|---|---|---|");
    for opcode in [
        Opcode::ScalarMulG1,
        Opcode::MultiScalarG2,
        Opcode::AggregateG1,
    ] {
        let per_job = args.queued_rounds as usize * shape.items_per_round(opcode);
        let mut queued = open(4, Some(per_job))?;
        let input = device_items(opcode, per_job * args.queued_jobs);
        let before = queued.transport_cycles().context("sim counts cycles")?;
        let out = queued.run(opcode, &input)?;
        let wall = queued.transport_cycles().context("sim counts cycles")? - before;
        let compute = out.device_cycles - out.transfer_cycles;
        let unhidden = wall.saturating_sub(compute);
        println!(
            "| {opcode:?} | {} × {} | {wall} | {compute} | {} | {unhidden} | {:.1} % | {:.1} % |",
            out.jobs,
            args.queued_rounds,
            out.transfer_cycles,
            100.0 * unhidden as f64 / wall as f64,
            100.0 * (1.0 - unhidden.min(out.transfer_cycles) as f64 / out.transfer_cycles as f64)
        );
    }

    // Host CPU on the transport, per item: encoding the scalar and the key (a blst point, as
    // the key cache holds it) into Montgomery words, the layout in the compact byte encoding,
    // the copy into the DMA region, decoding the results. No simulation in these timings.
    let opcode = Opcode::ScalarMulG1;
    let n = shape.max_items(opcode);
    let keys: Vec<min_pk::PublicKey> = (0..n).map(|i| secret(i as u64 + 1).sk_to_pk()).collect();
    let mut region = vec![0u8; shape.input_bytes(opcode, shape.max_rounds(opcode))];
    let layout = median(
        (0..args.repeat)
            .map(|_| {
                let start = Instant::now();
                let mut input = Vec::with_capacity(n * opcode.item_words());
                for (i, key) in keys.iter().enumerate() {
                    input.extend(codec::encode_scalar(i as u64 | 1));
                    input.extend(codec::encode_g1_point(key.into()));
                }
                let (_, bytes) = shape.input_bytes_stream(opcode, &input).unwrap();
                region[..bytes.len()].copy_from_slice(&bytes);
                start.elapsed()
            })
            .collect(),
    );
    let rounds = shape.rounds(opcode, n);
    let output = vec![0u32; shape.output_words(opcode, rounds)];
    let decode = median(
        (0..args.repeat)
            .map(|_| {
                let start = Instant::now();
                let bytes: Vec<u8> = output.iter().flat_map(|w| w.to_le_bytes()).collect();
                let words: Vec<u32> = bytes
                    .chunks_exact(4)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect();
                shape.results(opcode, rounds, n, &words).unwrap();
                start.elapsed()
            })
            .collect(),
    );
    println!(
        "\nHost CPU on the transport, ScalarMulG1 job of {n} items: encoding, layout and copy {:.3} µs/item, output decode {:.3} µs/item, total {:.3} µs/item.",
        layout.as_secs_f64() * 1e6 / n as f64,
        decode.as_secs_f64() * 1e6 / n as f64,
        (layout + decode).as_secs_f64() * 1e6 / n as f64
    );

    // Key aggregation: blst on this CPU against the device path, both from decompressed,
    // validated keys (what the key cache holds). The device path is run for real: the keys'
    // encoding to Montgomery words and the layout on this CPU, then the rings on the
    // Verilated device (its cycles from first doorbell to last completion at the design
    // clock), then the sum of the lanes' partial sums on this CPU.
    for &n in &args.keys {
        key_aggregation(&args, &shape, n)?;
    }
    let transport_us = (layout + decode).as_secs_f64() * 1e6 / n as f64;
    batch_verification(&args, &shape, &fits, transport_us)
}

/// Key aggregation of `n` keys, blst against the device path (see `main`).
fn key_aggregation(args: &Args, shape: &Shape, n: usize) -> anyhow::Result<()> {
    let us = |cycles: f64| cycles / args.clock_mhz;
    let keys: Vec<min_pk::PublicKey> = (0..n).map(|i| secret(i as u64 + 7).sk_to_pk()).collect();
    let refs: Vec<&min_pk::PublicKey> = keys.iter().collect();
    let cpu = median(
        (0..args.repeat)
            .map(|_| {
                let start = Instant::now();
                min_pk::AggregatePublicKey::aggregate(&refs, false).unwrap();
                start.elapsed()
            })
            .collect(),
    );
    let encode = |keys: &[min_pk::PublicKey]| -> Vec<u32> {
        keys.iter()
            .flat_map(|k| codec::encode_g1_point(k.into()))
            .collect()
    };
    let host = median(
        (0..args.repeat)
            .map(|_| {
                let start = Instant::now();
                let words = encode(&keys);
                let chunk = shape.max_items(Opcode::AggregateG1) * Opcode::AggregateG1.item_words();
                for part in words.chunks(chunk) {
                    shape.input_bytes_stream(Opcode::AggregateG1, part).unwrap();
                }
                start.elapsed()
            })
            .collect(),
    );
    let mut aggregator = open(4, None)?;
    let words = encode(&keys);
    let before = aggregator.transport_cycles().context("sim counts cycles")?;
    let out = aggregator.run(Opcode::AggregateG1, &words)?;
    let cycles = aggregator.transport_cycles().context("sim counts cycles")? - before;
    let sums = median(
        (0..args.repeat)
            .map(|_| {
                let start = Instant::now();
                let partials: Vec<min_pk::PublicKey> = out
                    .words
                    .chunks_exact(abi::G1_WORDS)
                    .map(|w| min_pk::PublicKey::deserialize(&codec::decode_g1(w).unwrap()).unwrap())
                    .collect();
                let refs: Vec<&min_pk::PublicKey> = partials.iter().collect();
                min_pk::AggregatePublicKey::aggregate(&refs, false).unwrap();
                start.elapsed()
            })
            .collect(),
    );
    let device_us = us(cycles as f64);
    let host_us = (host + sums).as_secs_f64() * 1e6;
    println!(
        "\nKey aggregation of {} keys ({} device jobs): blst {:.0} µs; device path {:.0} µs = device {:.0} µs ({cycles} cycles at {} MHz, of which engine {} and transfer {} summed over the jobs) + host {:.0} µs (encoding and layout {:.0}, adding {} partial sums {:.0}); CPU / device path {:.2}.",
        n,
        out.jobs,
        cpu.as_secs_f64() * 1e6,
        device_us + host_us,
        device_us,
        args.clock_mhz,
        out.device_cycles - out.transfer_cycles,
        out.transfer_cycles,
        host_us,
        host.as_secs_f64() * 1e6,
        out.words.len() / abi::G1_WORDS,
        sums.as_secs_f64() * 1e6,
        cpu.as_secs_f64() * 1e6 / (device_us + host_us)
    );
    Ok(())
}

/// Batch verification (POP, min_pk) of `n` valid items for each batch size: blst's batch check
/// on this CPU (what the CPU engine runs) against the device path: the host's transport work
/// (`transport_us` per item), the device's ScalarMulG1 (rᵢ·pkᵢ, time B) and MultiScalarG2
/// (Σ rᵢ·σᵢ, time S) jobs (cycles fitted from the single jobs above, at the design clock), and
/// the CPU's share, timed here with the device engine's own code: hashing the messages (H),
/// the Miller loops on the blinded keys (M), the final exponentiation (F).
///
/// The host's wall time per batch is then measured both ways, alternated, each with a device
/// modelled as a thread that sleeps its projected job times (B, then S) and returns results
/// computed beforehand (on a board the driver also waits, polling host memory between
/// sleeps): "serial" is the engine's order before the overlap (both jobs, then H + M + F,
/// [`device::pairing_check`]); "overlapped" is the engine's order now
/// ([`device::overlapped_check`]: H during B, M during S, F last), projected as
/// max(B, H) + max(S, M) + F. The device time hidden is what the overlapped check did not
/// wait for ([`device::Overlapped::waited`]: blocked on the keys, then on the sum) over B + S;
/// the serial order waits for all of it. A wall-time difference would say the same but is
/// within the loaded machine's noise while B + S is a few percent of H + M.
fn batch_verification(
    args: &Args,
    shape: &Shape,
    fits: &std::collections::HashMap<Opcode, PerRound>,
    transport_us: f64,
) -> anyhow::Result<()> {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("\n| n | CPU batch check (blst), ms | host transport, ms | device B: ScalarMulG1, ms | device S: MultiScalarG2, ms | CPU share H: hashing, ms | M: Miller loops, ms | F: final exp., ms | host wall serial, ms | host wall overlapped, ms | overlapped projected, ms | CPU waited for the device (overlapped), ms | device time hidden | CPU / device path serial | CPU / device path overlapped |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &n in &args.batches {
        let secrets: Vec<min_pk::SecretKey> = (0..n).map(|i| secret(i as u64 + 50_000)).collect();
        let messages: Vec<Vec<u8>> = (0..n)
            .map(|i| format!("batch item {i}").into_bytes())
            .collect();
        let keys: Vec<min_pk::PublicKey> = secrets.iter().map(|sk| sk.sk_to_pk()).collect();
        let sigs: Vec<min_pk::Signature> = secrets
            .iter()
            .zip(&messages)
            .map(|(sk, m)| sk.sign(m, DST, &[]))
            .collect();
        let rands: Vec<blst::blst_scalar> = (0..n as u64)
            .map(|i| {
                let mut r = blst::blst_scalar::default();
                r.b[..8].copy_from_slice(
                    &(0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i + 1) | 1).to_le_bytes(),
                );
                r
            })
            .collect();
        let msg_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let key_refs: Vec<&min_pk::PublicKey> = keys.iter().collect();
        let sig_refs: Vec<&min_pk::Signature> = sigs.iter().collect();
        let cpu = median(
            (0..args.repeat)
                .map(|_| {
                    let start = Instant::now();
                    let verdict = min_pk::Signature::verify_multiple_aggregate_signatures(
                        &msg_refs, DST, &key_refs, false, &sig_refs, false, &rands, 64,
                    );
                    assert_eq!(verdict, blst::BLST_ERROR::BLST_SUCCESS);
                    start.elapsed()
                })
                .collect(),
        );
        // The device's results for rᵢ = 1 (the same cost): the keys and the plain sum.
        let points: Vec<blst::blst_p1_affine> = keys.iter().map(|k| (*k).into()).collect();
        let sum: blst::blst_p2_affine = min_pk::AggregateSignature::aggregate(&sig_refs, false)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?
            .to_signature()
            .into();
        let (mut hash, mut miller, mut last) = (vec![], vec![], vec![]);
        for _ in 0..args.repeat {
            let start = Instant::now();
            let hashed = device::HashedMessages::new(DST, &msg_refs);
            hash.push(start.elapsed());
            let start = Instant::now();
            let pairing = hashed
                .miller_loops(DST, &points)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            miller.push(start.elapsed());
            let start = Instant::now();
            let verdict = device::final_check(pairing, &sum);
            last.push(start.elapsed());
            anyhow::ensure!(verdict, "a valid batch must pass");
        }
        let (hash, miller, last) = (median(hash), median(miller), median(last));
        let device_time = |op: Opcode| {
            Duration::from_secs_f64(
                projected_cycles(fits[&op], shape, op, n) / args.clock_mhz / 1e6,
            )
        };
        let (blind, sum_job) = (
            device_time(Opcode::ScalarMulG1),
            device_time(Opcode::MultiScalarG2),
        );
        let (mut serial, mut overlapped, mut waited) = (vec![], vec![], vec![]);
        for _ in 0..args.wall_rounds {
            let start = Instant::now();
            std::thread::sleep(blind + sum_job);
            let verdict = device::pairing_check(DST, &points, &msg_refs, &sum);
            serial.push(start.elapsed());
            anyhow::ensure!(verdict == Ok(true), "serial: a valid batch must pass");
            let start = Instant::now();
            let check = device::overlapped_check(DST, &msg_refs, |keys_to| {
                std::thread::sleep(blind);
                keys_to.send(points.clone());
                std::thread::sleep(sum_job);
                Ok(sum)
            });
            overlapped.push(start.elapsed());
            waited.push(check.waited);
            anyhow::ensure!(
                check.verdict == Ok(true),
                "overlapped: a valid batch must pass"
            );
        }
        let (serial, overlapped, waited) = (median(serial), median(overlapped), median(waited));
        let projected = blind.max(hash) + sum_job.max(miller) + last;
        // The serial order waits for all of B + S; the overlapped one for `waited` of it.
        let hidden = 1.0 - ms(waited) / ms(blind + sum_job);
        let host = transport_us * 2.0 * n as f64 / 1e3;
        println!(
            "| {n} | {:.2} | {host:.3} | {:.3} | {:.3} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.3} | {:.1} % | {:.2} | {:.2} |",
            ms(cpu),
            ms(blind),
            ms(sum_job),
            ms(hash),
            ms(miller),
            ms(last),
            ms(serial),
            ms(overlapped),
            ms(projected),
            ms(waited),
            100.0 * hidden,
            ms(cpu) / (host + ms(serial)),
            ms(cpu) / (host + ms(overlapped))
        );
    }
    Ok(())
}
