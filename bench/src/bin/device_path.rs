//! Device path benchmark: fast aggregate verification of 1,000–100,000 keys and batch
//! verification of 64–4,096 items through a running `tollgate serve` (CPU backend, measured),
//! beside the device path: the CPU's remaining share (hashing, Miller loops, final
//! exponentiation, measured here as the device engine runs it) plus the accelerator's share,
//! whose cycles are measured on the generated top level under Verilator (`Device` on the sim
//! backend, a few job sizes, fitted per round) and projected at the design clock, plus the
//! ABI 2.0 transport (every job word through a 32-bit MMIO register) at an assumed MMIO cost.
//!
//! Run: `tollgate serve --listen 127.0.0.1:8090 --max-items 100000 --max-batch-size 4096
//! --max-body-bytes 40000000 --key-cache-capacity 200000 --queue-capacity 8192` then
//! `cargo run --release -p tollgate-bench --bin device_path -- --server http://127.0.0.1:8090`.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use blst::min_pk;
use clap::Parser;
use serde_json::json;
use tollgate::api::wire::to_hex;
use tollgate::client::{generate_batch, BatchSpec, Corruption};
use tollgate::codec::{decode_public_key, decode_signature};
use tollgate::engine::device::drivers::abi::layout::Shape;
use tollgate::engine::device::drivers::abi::{self, Opcode};
use tollgate::engine::device::drivers::backends::sim::SimTransport;
use tollgate::engine::device::drivers::{Device, DeviceConfig, Manifest};
use tollgate::engine::{CpuEngine, Engine, SignedItem};
use tollgate::suite::{Scheme, Suite, Variant};
use tollgate_bench::{device_items, PerRound};

#[derive(Debug, Parser)]
struct Args {
    /// Base URL of a running `tollgate serve --backend cpu`.
    #[arg(long)]
    server: String,
    /// Rounds; every figure is the median over them.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Batch sizes (items) for /v1/verify.
    #[arg(long, value_delimiter = ',', default_value = "64,256,1024,4096")]
    batches: Vec<usize>,
    /// Key counts for /v1/fast-aggregate-verify.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    keys: Vec<usize>,
    /// Rounds (body runs per lane) of the device jobs measured on the simulator.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    sim_rounds: Vec<u32>,
    /// Assumed cost of one posted 32-bit MMIO write on a board, ns (not measured here).
    #[arg(long, default_value_t = 100.0)]
    mmio_write_ns: f64,
    /// Assumed cost of one 32-bit MMIO read (a PCIe round trip) on a board, ns (not measured).
    #[arg(long, default_value_t = 1000.0)]
    mmio_read_ns: f64,
    /// Design clock in MHz.
    #[arg(long, default_value_t = 250.0)]
    clock_mhz: f64,
}

const SUITE: Suite = Suite::new(Scheme::Pop, Variant::MinPk);
const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn post(agent: &ureq::Agent, url: &str, body: &str) -> anyhow::Result<serde_json::Value> {
    let response = agent
        .post(url)
        .set("Content-Type", "application/json")
        .send_string(body)
        .with_context(|| format!("POST {url}"))?;
    Ok(serde_json::from_str(&response.into_string()?)?)
}

/// Posts `body` once to warm the key cache, then `rounds` times timed; every reply must pass
/// `ok`, or the bench stops with `what` and the reply.
fn timed_posts(
    agent: &ureq::Agent,
    url: &str,
    body: &str,
    rounds: usize,
    ok: impl Fn(&serde_json::Value) -> bool,
    what: &str,
) -> anyhow::Result<Vec<Duration>> {
    post(agent, url, body)?;
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let reply = post(agent, url, body)?;
        times.push(start.elapsed());
        if !ok(&reply) {
            bail!("{what}: {reply}");
        }
    }
    Ok(times)
}

/// The CPU's share of the device path for a batch: the device engine's own pairing check,
/// run on what the accelerator returns (here unblinded points: the same cost).
fn cpu_share_batch(
    pks: &[min_pk::PublicKey],
    msgs: &[Vec<u8>],
    sum: &min_pk::Signature,
) -> Duration {
    let points: Vec<blst::blst_p1_affine> = pks.iter().map(|pk| (*pk).into()).collect();
    let messages: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let sum: blst::blst_p2_affine = (*sum).into();
    let start = Instant::now();
    let verdict = tollgate::engine::device::pairing_check(DST, &points, &messages, &sum);
    let elapsed = start.elapsed();
    assert_eq!(verdict, Ok(true), "a valid batch must pass");
    elapsed
}

fn secret(i: u128) -> min_pk::SecretKey {
    let mut bytes = [0u8; 32];
    bytes[16..].copy_from_slice(&i.to_be_bytes());
    min_pk::SecretKey::from_bytes(&bytes).expect("small non-zero scalar")
}

/// One device job measured on the simulator.
struct SimJob {
    opcode: Opcode,
    rounds: u32,
    items: usize,
    /// Doorbell → completion ([`abi::regs::LAST_JOB_CYCLES`]); on the simulator this includes
    /// streaming the input at one bus write per cycle.
    device_cycles: u64,
    /// Every cycle the simulator ran for the job: register traffic both ways and polling too.
    sim_cycles: u64,
    words_in: usize,
    words_out: usize,
}

impl SimJob {
    /// The engine's own cycles: the device's, less the input streaming of the simulator's bus.
    fn engine_cycles(&self) -> f64 {
        self.device_cycles as f64 - self.words_in as f64
    }
}

/// Engine cycles and MMIO words of `n` items of `opcode`, split into device jobs as the driver
/// splits them.
fn project(shape: &Shape, fit: PerRound, opcode: Opcode, n: usize) -> (f64, usize, usize) {
    let (mut cycles, mut words_in, mut words_out, mut left) = (0.0, 0, 0, n);
    while left > 0 {
        let items = left.min(shape.max_items(opcode));
        let rounds = shape.rounds(opcode, items);
        cycles += fit.cycles(rounds as f64);
        words_in += shape.input_words(opcode, rounds);
        words_out += shape.output_words(opcode, rounds);
        left -= items;
    }
    (cycles, words_in, words_out)
}

/// Runs each opcode at each of `rounds` on the Verilated top level through `Device`.
fn measure_sim(rounds: &[u32]) -> anyhow::Result<(Shape, Vec<SimJob>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = Manifest::load(&Manifest::path_in(&root, abi::DESIGN))?;
    let config = DeviceConfig {
        poll_cycles: 256,
        ..DeviceConfig::default()
    };
    let mut device = Device::open(Box::new(SimTransport::open()?), manifest, config)?;
    let shape = device.identity().shape();
    let mut jobs = Vec::new();
    for opcode in [
        Opcode::AggregateG1,
        Opcode::ScalarMulG1,
        Opcode::MultiScalarG2,
    ] {
        for &r in rounds {
            // Aggregation rounds are cheap: measure proportionally longer jobs.
            let r = if opcode.has_scalars() {
                r
            } else {
                (r * 8).min(shape.max_rounds(opcode))
            };
            let items = r as usize * shape.items_per_round(opcode);
            let input = device_items(opcode, items);
            let before = device.transport_cycles().context("sim counts cycles")?;
            let output = device.run(opcode, &input)?;
            let sim_cycles = device.transport_cycles().context("sim counts cycles")? - before;
            if output.jobs != 1 || output.attempts != 1 {
                bail!(
                    "{opcode:?} x {items}: {} jobs, {} attempts",
                    output.jobs,
                    output.attempts
                );
            }
            jobs.push(SimJob {
                opcode,
                rounds: r,
                items,
                device_cycles: output.device_cycles,
                sim_cycles,
                words_in: shape.input_words(opcode, r),
                words_out: shape.output_words(opcode, r),
            });
        }
    }
    Ok((shape, jobs))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(600))
        .build();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let device_ms = |cycles: f64| cycles / (args.clock_mhz * 1e3);

    let mmio_ms = |words_in: usize, words_out: usize| {
        (words_in as f64 * args.mmio_write_ns + words_out as f64 * args.mmio_read_ns) / 1e6
    };

    let (shape, sim_jobs) = measure_sim(&args.sim_rounds)?;
    println!("## Device\n");
    println!("### Device jobs under Verilator (tollgate_top, `Device` on the sim backend)\n");
    println!(
        "K = {} lanes, aggregation fan-in {}, buffers {} / {} words in / out.\n",
        shape.lanes, shape.aggregate_fanin, shape.in_words, shape.out_words
    );
    println!("| opcode | rounds | items | device cycles (doorbell → completion) | engine cycles (less 1 cycle/input word) | engine cycles/item | simulated cycles in all (bus both ways, polls) | words in / out |");
    println!("|---|---|---|---|---|---|---|---|");
    for job in &sim_jobs {
        println!(
            "| {:?} | {} | {} | {} | {:.0} | {:.1} | {} | {} / {} |",
            job.opcode,
            job.rounds,
            job.items,
            job.device_cycles,
            job.engine_cycles(),
            job.engine_cycles() / job.items as f64,
            job.sim_cycles,
            job.words_in,
            job.words_out
        );
    }
    let fit = |opcode: Opcode| {
        PerRound::fit(
            &sim_jobs
                .iter()
                .filter(|j| j.opcode == opcode)
                .map(|j| (j.rounds as f64, j.engine_cycles()))
                .collect::<Vec<_>>(),
        )
    };
    let (agg_fit, mul_fit, msm_fit) = (
        fit(Opcode::AggregateG1),
        fit(Opcode::ScalarMulG1),
        fit(Opcode::MultiScalarG2),
    );
    println!("\nFitted per device job (engine cycles = fixed + per round × rounds): AggregateG1 {:.0} + {:.0}·r, ScalarMulG1 {:.0} + {:.0}·r, MultiScalarG2 {:.0} + {:.0}·r.", agg_fit.fixed, agg_fit.per_round, mul_fit.fixed, mul_fit.per_round, msm_fit.fixed, msm_fit.per_round);

    println!("\n### Batch verification (POP, min_pk), one request of n valid items\n");
    println!("| n | CPU service, ms | of which CPU engine check, ms | device path: CPU share (pairings), ms | engine cycles (ScalarMulG1 + MultiScalarG2, fitted) | engine at {} MHz, ms | MMIO words in / out | MMIO at {} / {} ns per write / read, ms | device path, engine only, ms | device path with MMIO, ms | CPU / device path (engine only) | CPU / device path (with MMIO) |", args.clock_mhz, args.mmio_write_ns, args.mmio_read_ns);
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut crossover, mut crossover_engine) = (None, None);
    for &n in &args.batches {
        let batch = generate_batch(&BatchSpec {
            items: n,
            suite: SUITE,
            keys: 64,
            message_len: 32,
            corruption: Corruption::None,
            seed: Some(n as u64),
        })?;
        let body = serde_json::to_string(&batch.request)?;
        let url = format!("{}/v1/verify", args.server);
        let service = timed_posts(
            &agent,
            &url,
            &body,
            args.rounds,
            |r| r["invalid"] == json!(0),
            "valid batch reported invalid",
        )?;
        let unhex = |s: &str| hex::decode(s.trim_start_matches("0x")).expect("hex");
        let pks: Vec<min_pk::PublicKey> = batch
            .request
            .items
            .iter()
            .map(|i| min_pk::PublicKey::uncompress(&unhex(&i.public_key)).expect("pk"))
            .collect();
        let msgs: Vec<Vec<u8>> = batch
            .request
            .items
            .iter()
            .map(|i| unhex(&i.message))
            .collect();
        let sigs: Vec<min_pk::Signature> = batch
            .request
            .items
            .iter()
            .map(|i| min_pk::Signature::uncompress(&unhex(&i.signature)).expect("sig"))
            .collect();
        let refs: Vec<&min_pk::Signature> = sigs.iter().collect();
        let sum = min_pk::AggregateSignature::aggregate(&refs, false)
            .expect("sum")
            .to_signature();
        let share = median(
            (0..args.rounds)
                .map(|_| cpu_share_batch(&pks, &msgs, &sum))
                .collect(),
        );
        // What the device path replaces inside the service: the CPU engine's batch check.
        let items: Vec<SignedItem> = batch
            .request
            .items
            .iter()
            .map(|i| SignedItem {
                public_key: decode_public_key(SUITE.variant, &unhex(&i.public_key)).expect("pk"),
                message: unhex(&i.message),
                signature: decode_signature(SUITE.variant, &unhex(&i.signature))
                    .expect("sig")
                    .into(),
            })
            .collect();
        let refs: Vec<&SignedItem> = items.iter().collect();
        let engine = median(
            (0..args.rounds)
                .map(|_| {
                    let start = Instant::now();
                    assert!(CpuEngine::new()
                        .verify_batch(SUITE, &refs)
                        .expect("engine")
                        .all_valid());
                    start.elapsed()
                })
                .collect(),
        );
        let (c1, in1, out1) = project(&shape, mul_fit, Opcode::ScalarMulG1, n);
        let (c2, in2, out2) = project(&shape, msm_fit, Opcode::MultiScalarG2, n);
        let (cycles, words_in, words_out) = (c1 + c2, in1 + in2, out1 + out2);
        let cpu = ms(median(service));
        let engine_only = cpu - ms(engine) + ms(share) + device_ms(cycles);
        // ABI 2.0 has no overlap: the whole input crosses, then the engine runs, then the output.
        let with_mmio = engine_only + mmio_ms(words_in, words_out);
        if crossover.is_none() && with_mmio < cpu {
            crossover = Some(n);
        }
        if crossover_engine.is_none() && engine_only < cpu {
            crossover_engine = Some(n);
        }
        println!(
            "| {n} | {cpu:.2} | {:.2} | {:.2} | {cycles:.0} | {:.3} | {words_in} / {words_out} | {:.3} | {engine_only:.2} | {with_mmio:.2} | {:.2} | {:.2} |",
            ms(engine),
            ms(share),
            device_ms(cycles),
            mmio_ms(words_in, words_out),
            cpu / engine_only,
            cpu / with_mmio
        );
    }

    println!("\n### Fast aggregate verification (POP, min_pk), one request of n keys\n");
    println!("| n keys | CPU service, ms | CPU key aggregation alone, ms | device aggregation, engine cycles (fitted) | at {} MHz, ms | MMIO words in / out | MMIO, ms | device path with MMIO (service − CPU aggregation + engine + MMIO), ms | CPU / device path |", args.clock_mhz);
    println!("|---|---|---|---|---|---|---|---|---|");
    let message = b"tollgate device bench";
    for &n in &args.keys {
        let base = 1u128 << 64;
        let sks: Vec<min_pk::SecretKey> = (0..n as u128).map(|i| secret(base + i)).collect();
        let pks: Vec<min_pk::PublicKey> = sks.iter().map(|sk| sk.sk_to_pk()).collect();
        let total_sk: u128 = (0..n as u128).map(|i| base + i).sum();
        let signature = secret(total_sk).sign(message, DST, &[]);
        let body = json!({
            "public_keys": pks.iter().map(|pk| to_hex(&pk.compress())).collect::<Vec<_>>(),
            "message": to_hex(message),
            "signature": to_hex(&signature.compress()),
        })
        .to_string();
        let url = format!("{}/v1/fast-aggregate-verify", args.server);
        let service = timed_posts(
            &agent,
            &url,
            &body,
            args.rounds,
            |r| r["valid"] == json!(true),
            "valid aggregate reported invalid",
        )?;
        let refs: Vec<&min_pk::PublicKey> = pks.iter().collect();
        let aggregation = median(
            (0..args.rounds)
                .map(|_| {
                    let start = Instant::now();
                    let agg = min_pk::AggregatePublicKey::aggregate(&refs, false).expect("agg");
                    std::hint::black_box(agg.to_public_key());
                    start.elapsed()
                })
                .collect(),
        );
        let (cycles, words_in, words_out) = project(&shape, agg_fit, Opcode::AggregateG1, n);
        let cpu = ms(median(service));
        let total = cpu - ms(aggregation) + device_ms(cycles) + mmio_ms(words_in, words_out);
        println!(
            "| {n} | {cpu:.2} | {:.2} | {cycles:.0} | {:.3} | {words_in} / {words_out} | {:.3} | {total:.2} | {:.2} |",
            ms(aggregation),
            device_ms(cycles),
            mmio_ms(words_in, words_out),
            cpu / total
        );
    }
    let name = |c: Option<usize>| {
        c.map_or("none of the sizes measured".to_string(), |n| {
            format!("n = {n}")
        })
    };
    println!("\nBatch crossover (device path faster than the CPU service): with MMIO {}; engine only {}.", name(crossover), name(crossover_engine));
    Ok(())
}
