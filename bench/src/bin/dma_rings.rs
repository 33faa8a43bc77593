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
//! `--part verify`: a whole min_pk batch check on one device of the verification design
//! (`drivers::batch::decode_signatures`, then `hash_to_g2` (HashToG2) and
//! `min_pk_lane_values`: ScalarMulG1, BucketSumG2, MillerLoop) on a few small batches; each stage's device cycles fitted per
//! round (the fit's largest residual shows they are linear in rounds) and projected to large
//! batches (Σ rᵢσᵢ: the rounds of the host's bucket plan for random scalars); the host's CPU
//! per item on that path (thread CPU time less the simulator's), and its steps alone, the
//! bucket job's layout and join among them.
//!
//! Run: `cargo run --release -p tollgate-bench --bin dma_rings [-- --part curve|verify]`.

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
    /// Which measurements: the standard design's (curve), the verification design's whole
    /// batch check (verify), or both.
    #[arg(long, value_enum, default_value = "all")]
    part: Part,
    /// Batch sizes run on the Verilated verification design (small: ~35k cycles/s).
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,96")]
    verify_batches: Vec<usize>,
    /// Batch sizes the verification design's cycles are projected to.
    #[arg(long, value_delimiter = ',', default_value = "64,256,1024,4096")]
    verify_projected: Vec<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Curve,
    Verify,
    All,
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
    if args.part != Part::Curve {
        whole_verification::run(&args)?;
    }
    if args.part == Part::Verify {
        return Ok(());
    }
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

/// `--part verify`: see the crate docs.
mod whole_verification {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use ark_ff::BigInt;
    use blst::{blst_p1_affine, blst_p2_affine};
    use rand_core::RngCore;
    use tollgate::engine::device::drivers::abi::layout::Shape;
    use tollgate::engine::device::drivers::abi::{self, Opcode};
    use tollgate::engine::device::drivers::backends::sim::{memory::LinkModel, SimTransport};
    use tollgate::engine::device::drivers::batch::{self, BucketJob, MinPkItem};
    use tollgate::engine::device::drivers::{
        codec, Device, DeviceConfig, Manifest, RegisterAccess, Tap, Tapped, TransportError,
    };
    use tollgate_bench::PerRound;
    use tollgate_microcode::reference::hash_to_field;

    use super::{projected_cycles, secret, Args, DST};

    fn thread_cpu() -> Duration {
        tollgate_bench::cpu_time(libc::CLOCK_THREAD_CPUTIME_ID)
    }

    /// A stopwatch in front of the simulator: the CPU time its register accesses and clock
    /// advances take is the simulation's; the rest of a call's CPU time is the host's.
    struct Stopwatch {
        spent: Arc<Mutex<Duration>>,
    }

    impl Stopwatch {
        fn timed<R>(&mut self, f: impl FnOnce() -> R) -> R {
            let start = thread_cpu();
            let r = f();
            *self.spent.lock().expect("not poisoned") += thread_cpu() - start;
            r
        }
    }

    impl Tap for Stopwatch {
        fn read32(
            &mut self,
            inner: &mut dyn RegisterAccess,
            addr: u32,
        ) -> Result<u32, TransportError> {
            self.timed(|| inner.read32(addr))
        }
        fn write32(
            &mut self,
            inner: &mut dyn RegisterAccess,
            addr: u32,
            value: u32,
        ) -> Result<(), TransportError> {
            self.timed(|| inner.write32(addr, value))
        }
        fn idle(
            &mut self,
            inner: &mut dyn RegisterAccess,
            cycles: u32,
            pause: Duration,
        ) -> Result<(), TransportError> {
            self.timed(|| inner.idle(cycles, pause))
        }
        fn full_reset(&mut self, inner: &mut dyn RegisterAccess) -> Result<(), TransportError> {
            self.timed(|| inner.full_reset())
        }
    }

    fn fq2_words(x: &ark_bls12_381::Fq2) -> Vec<u32> {
        let limbs = |c: &ark_bls12_381::Fq| -> Vec<u32> {
            let BigInt(l) = c.0;
            l.iter()
                .flat_map(|w| [*w as u32, (*w >> 32) as u32])
                .collect()
        };
        [limbs(&x.c0), limbs(&x.c1)].concat()
    }

    /// A valid batch of `n`: compressed signatures, the messages' hash_to_field words, and
    /// the items without signatures and hashes.
    fn batch_of(n: usize) -> (Vec<Vec<u8>>, Vec<Vec<u32>>, Vec<MinPkItem>) {
        let ((signatures, us), items) = (0..n)
            .map(|i| {
                let sk = secret(i as u64 + 100);
                let message = format!("whole verification {i}");
                let sig = sk.sign(message.as_bytes(), DST, &[]);
                let [u0, u1] = hash_to_field(message.as_bytes(), DST);
                let item = MinPkItem {
                    public_key: *<&blst_p1_affine>::from(&sk.sk_to_pk()),
                    signature: blst_p2_affine::default(),
                    hash: blst_p2_affine::default(),
                    scalar: 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1) | 1,
                };
                let u = [fq2_words(&u0), fq2_words(&u1)].concat();
                ((sig.compress().to_vec(), u), item)
            })
            .unzip();
        (signatures, us, items)
    }

    /// `n` blinding scalars as the service makes them (non-zero, from the OS CSPRNG).
    fn random_scalars(n: usize) -> Vec<u64> {
        (0..n).map(|_| rand_core::OsRng.next_u64() | 1).collect()
    }

    /// Steps of the bucket job for `scalars` on `device`: the items its jobs carry, seeds and
    /// the padding of the plan's lanes included, as `batch::signature_sum` lays them out.
    fn bucket_steps(scalars: &[u64], device: &Device) -> anyhow::Result<usize> {
        let lanes = device.identity().lanes as usize;
        let job = BucketJob::new(scalars, lanes, device.job_items(Opcode::BucketSumG2))?;
        Ok(job.steps())
    }

    /// One stage's measurement in a batch: rounds of its jobs, device and transfer cycles.
    type Sample = (f64, f64, f64);

    pub fn run(args: &Args) -> anyhow::Result<()> {
        let spent = Arc::new(Mutex::new(Duration::ZERO));
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let manifest = Manifest::load(&Manifest::path_in(&root, abi::VERIFY_DESIGN))?;
        let sim = SimTransport::open_design(abi::VERIFY_DESIGN, LinkModel::default())?;
        let transport = Tapped::new(
            sim,
            Stopwatch {
                spent: spent.clone(),
            },
        );
        // Few polls (the device's cycles come from its completions, not from the polls):
        // each poll's bookkeeping would otherwise count as the host's.
        let config = DeviceConfig {
            poll_cycles: 1 << 16,
            ..DeviceConfig::default()
        };
        let mut device = Device::open(Box::new(transport), manifest, config)?;
        let shape: Shape = device.identity().shape();
        let lanes = shape.lanes as usize;
        let clock = args.clock_mhz * 1e6;
        let in_sim = || *spent.lock().expect("not poisoned");

        println!(
            "Whole min_pk batch check on one `{}` device ({lanes} lanes), Verilated, at {} MHz.\n",
            abi::VERIFY_DESIGN,
            args.clock_mhz
        );
        println!("| batch | stage | items | rounds | device cycles | transfer cycles | per item |");
        println!("|---|---|---|---|---|---|---|");
        let mut samples: HashMap<Opcode, Vec<Sample>> = HashMap::new();
        let mut host = Vec::new();
        for &n in &args.verify_batches {
            let (signatures, us, mut items) = batch_of(n);
            let refs: Vec<&[u8]> = signatures.iter().map(Vec::as_slice).collect();
            // Decoding's cycles from its own job (decode_signatures reports none), the
            // host's share from decode_signatures itself.
            let xs: Vec<u32> = refs
                .iter()
                .flat_map(|s| codec::compressed_g2_x(s).expect("valid encoding").0)
                .collect();
            let out = device.run(Opcode::DecodeG2, &xs)?;
            let mut stages = vec![(Opcode::DecodeG2, n, out.device_cycles, out.transfer_cycles)];
            let (cpu, sim) = (thread_cpu(), in_sim());
            let decoded = batch::decode_signatures(&mut device, &refs)?;
            let decode_host = (thread_cpu() - cpu).saturating_sub(in_sim() - sim);
            for (item, point) in items.iter_mut().zip(decoded) {
                item.signature = point.map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let (cpu, sim) = (thread_cpu(), in_sim());
            let (hashes, hashing) = batch::hash_to_g2(&mut device, &us)?;
            for (item, hash) in items.iter_mut().zip(hashes) {
                item.hash = hash;
            }
            let values = batch::min_pk_lane_values(&mut device, &items)?;
            let lanes_host = (thread_cpu() - cpu).saturating_sub(in_sim() - sim);
            anyhow::ensure!(values.verdict(), "a valid batch of {n} failed");
            stages.extend(
                hashing
                    .iter()
                    .chain(&values.stages)
                    .map(|s| (s.opcode, s.items, s.device_cycles, s.transfer_cycles)),
            );
            for (opcode, count, cycles, transfer) in stages {
                let rounds = shape.rounds(opcode, count);
                let jobs = count.div_ceil(device.job_items(opcode));
                println!(
                    "| {n} | {opcode:?} | {count} | {rounds} ({jobs} jobs) | {cycles} | {transfer} | {:.0} |",
                    cycles as f64 / n as f64
                );
                // Per job (each job pays the fixed part; the bucket stage's batches here run
                // one or two): a linear cost averaged over a stage's jobs stays on its line.
                let per_job = jobs as f64;
                samples.entry(opcode).or_default().push((
                    f64::from(rounds) / per_job,
                    cycles as f64 / per_job,
                    transfer as f64 / per_job,
                ));
            }
            host.push((n, decode_host, lanes_host));
        }

        println!("\nPer stage and device job, device cycles = fixed + per round × rounds (least squares over the batches above, each stage's cycles and rounds averaged over its jobs; the largest residual shows how linear they are):\n");
        println!("| stage | fixed | per round | per item (÷ {lanes}) | largest residual | transfer per round |");
        println!("|---|---|---|---|---|---|");
        let mut fits = Vec::new();
        for opcode in Opcode::MIN_PK_BATCH {
            let jobs = &samples[&opcode];
            let fit = PerRound::fit(&jobs.iter().map(|j| (j.0, j.1)).collect::<Vec<_>>());
            let transfer = PerRound::fit(&jobs.iter().map(|j| (j.0, j.2)).collect::<Vec<_>>());
            let residual = jobs
                .iter()
                .map(|j| (j.1 - fit.cycles(j.0)).abs())
                .fold(0.0, f64::max);
            println!(
                "| {opcode:?} | {:.0} | {:.0} | {:.0} | {residual:.0} ({:.4} % of a round) | {:.0} |",
                fit.fixed,
                fit.per_round,
                fit.per_round / lanes as f64,
                100.0 * residual / fit.per_round,
                transfer.per_round
            );
            fits.push((opcode, fit, transfer));
        }

        println!("\nProjected from the per-round fits (jobs split as the driver splits them; MillerLoop has n + 1 pairs), device cycles per verified signature:\n");
        let names: Vec<String> = Opcode::MIN_PK_BATCH
            .iter()
            .map(|o| format!("{o:?}"))
            .collect();
        println!(
            "| batch | {} | of which transfer | total | signatures/s per device at {} MHz |",
            names.join(" | "),
            args.clock_mhz
        );
        println!("|---|{}---|---|---|", "---|".repeat(names.len()));
        for &n in &args.verify_projected {
            let mut row = Vec::new();
            let (mut total, mut transfer_total) = (0.0, 0.0);
            for (opcode, fit, transfer) in &fits {
                let items = match opcode {
                    Opcode::MillerLoop => n + 1,
                    Opcode::BucketSumG2 => bucket_steps(&random_scalars(n), &device)?,
                    _ => n,
                };
                let cycles = projected_cycles(*fit, &shape, *opcode, items) / n as f64;
                transfer_total += projected_cycles(*transfer, &shape, *opcode, items) / n as f64;
                total += cycles;
                row.push(format!("{cycles:.0}"));
            }
            println!(
                "| {n} | {} | {transfer_total:.0} | **{total:.0}** | {:.0} |",
                row.join(" | "),
                clock / total
            );
        }

        println!("\nHost CPU on this path (the thread's CPU time less the simulator's register accesses and clock advances; hash_to_field is the caller's and not included):\n");
        println!(
            "| batch | decode_signatures, µs/item | hash_to_g2 + min_pk_lane_values, µs/item | total, µs/item |"
        );
        println!("|---|---|---|---|");
        for (n, decode, lanes) in host {
            let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
            println!(
                "| {n} | {:.2} | {:.2} | **{:.2}** |",
                per(decode),
                per(lanes),
                per(decode + lanes)
            );
        }
        let (lanes, job_items) = (lanes, device.job_items(Opcode::BucketSumG2));
        // The service's default batch (126 items and the canaries' 3) and a large one.
        for n in [129, 1024] {
            host_steps_warm(args, n, lanes, job_items)?;
        }
        Ok(())
    }

    /// The host's steps of the path on their own (no simulator between them, caches warm),
    /// per item of a batch of `n` on a device of `lanes` lanes and bucket jobs of `job_items`
    /// steps: the codec work this path adds (the transport's share, layout and copies, is
    /// measured above for ScalarMulG1).
    fn host_steps_warm(
        args: &Args,
        n: usize,
        lanes: usize,
        job_items: usize,
    ) -> anyhow::Result<()> {
        let (signatures, _, items) = batch_of(n);
        let time = |f: &mut dyn FnMut()| {
            let mut samples: Vec<Duration> = (0..args.repeat)
                .map(|_| {
                    let start = thread_cpu();
                    f();
                    thread_cpu() - start
                })
                .collect();
            samples.sort();
            samples[samples.len() / 2].as_secs_f64() * 1e6 / n as f64
        };
        // Device-format points as the stages return them (Z = 1 costs the same as any Z).
        let keys: Vec<blst_p1_affine> = items.iter().map(|i| i.public_key).collect();
        let key_words: Vec<u32> = keys.iter().flat_map(codec::encode_g1_point).collect();
        let sigs: Vec<blst_p2_affine> = signatures
            .iter()
            .map(|s| *<&blst_p2_affine>::from(&blst::min_pk::Signature::from_bytes(s).unwrap()))
            .collect();
        let sig_words: Vec<u32> = sigs.iter().flat_map(codec::encode_g2_point).collect();
        let decode_host = time(&mut || {
            for s in &signatures {
                let (x, largest) = codec::compressed_g2_x(s).unwrap();
                let y = &codec::encode_g2_point(&sigs[0])[24..48];
                let _ = std::hint::black_box(codec::g2_affine_with_sign(&x, y, largest));
            }
        });
        let encode = time(&mut || {
            let mut words = Vec::with_capacity(n * 200);
            for i in &items {
                words.extend(codec::encode_scalar(i.scalar));
                words.extend(codec::encode_g1_point(&i.public_key));
            }
            std::hint::black_box(words);
        });
        // The bucket job on the device's shape: the plan and its layout (window chosen by
        // counting runs), its items job by job with the seeds copied from an honest device's
        // results (handed back per job as a new vector, as `Device::run` returns them), and
        // the join of the lanes' T of every job.
        let scalars = random_scalars(n);
        let plan = time(&mut || {
            std::hint::black_box(BucketJob::new(&scalars, lanes, job_items).unwrap());
        });
        let job = BucketJob::new(&scalars, lanes, job_items)?;
        let results = job.honest_results(&sigs);
        let job_results = results.chunks(lanes * Opcode::BucketSumG2.result_words());
        let jobs = job_results.len();
        let bucket_items = time(&mut || {
            let mut returned = job_results.clone();
            let run = job.run_jobs(&sigs, |_| Ok(returned.next().expect("a job's").to_vec()));
            std::hint::black_box(run.unwrap());
        });
        let join = time(&mut || {
            std::hint::black_box(job.join(&results).unwrap());
        });
        let normalise = time(&mut || {
            std::hint::black_box(codec::g1_affine_points(&key_words).unwrap());
            std::hint::black_box(codec::g2_affine_points(&sig_words).unwrap());
        });
        let pairs = time(&mut || {
            let mut words = Vec::with_capacity(n * 72);
            for (k, s) in keys.iter().zip(&sigs) {
                words.extend_from_slice(&codec::encode_g1_point(k)[..24]);
                words.extend_from_slice(&codec::encode_g2_point(s)[..48]);
            }
            std::hint::black_box(words);
        });
        println!(
            "\nThe host's steps alone ({n} items, warm, thread CPU, median of {}): decoding's host part \
             (flags, x < p, sign of y, on-curve check) {decode_host:.2} µs/item; encoding the \
             key blinding's items {encode:.2}; the bucket job: plan and layout {plan:.2}, items \
             {bucket_items:.2}, join of {jobs} jobs' lane T {join:.2} ({:.0} µs per batch, \
             window {}); normalising a G1 and a G2 stage (one inversion each, on-curve checks) \
             {normalise:.2}; the Miller pairs {pairs:.2}; together **{:.2} µs/item**.",
            args.repeat,
            join * n as f64,
            job.window_bits(),
            decode_host + encode + plan + bucket_items + join + normalise + pairs
        );
        Ok(())
    }
}
