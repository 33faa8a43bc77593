//! Device path benchmark: fast aggregate verification of 1,000–100,000 keys and batch
//! verification of 64–4,096 items through a running `tollgate serve` (CPU backend, measured),
//! beside the device path: the CPU's remaining share (hashing, Miller loops, final
//! exponentiation, measured here as the device engine runs it) plus the accelerator's share
//! (cycles per item of the curve engine × items, projected at the design clock).
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
use tollgate::engine::{CpuEngine, Engine, SignedItem};
use tollgate::suite::{Scheme, Suite, Variant};

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
    /// Cycles per item of the accelerator's jobs (ScalarMul G1 + MultiScalar G2), from the
    /// curve engine's measured figures.
    #[arg(long, default_value_t = 1333.6 + 3832.0)]
    batch_cycles_per_item: f64,
    /// Cycles per key of G1 aggregation.
    #[arg(long, default_value_t = 13.1)]
    aggregate_cycles_per_key: f64,
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
fn cpu_share_batch(pks: &[min_pk::PublicKey], msgs: &[Vec<u8>], sum: &min_pk::Signature) -> Duration {
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

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(600)).build();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let device_ms = |cycles: f64| cycles / (args.clock_mhz * 1e3);

    println!("## Device\n");
    println!("### Batch verification (POP, min_pk), one request of n valid items\n");
    println!("| n | CPU service, ms | of which CPU engine check, ms | device path: CPU share (pairings), ms | device share, cycles | device share at {} MHz, ms | device path total (service − engine + CPU share + device), ms | CPU / device path |", args.clock_mhz);
    println!("|---|---|---|---|---|---|---|---|");
    let mut crossover = None;
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
        let service = timed_posts(&agent, &url, &body, args.rounds, |r| r["invalid"] == json!(0), "valid batch reported invalid")?;
        let unhex = |s: &str| hex::decode(s.trim_start_matches("0x")).expect("hex");
        let pks: Vec<min_pk::PublicKey> = batch
            .request
            .items
            .iter()
            .map(|i| min_pk::PublicKey::uncompress(&unhex(&i.public_key)).expect("pk"))
            .collect();
        let msgs: Vec<Vec<u8>> = batch.request.items.iter().map(|i| unhex(&i.message)).collect();
        let sigs: Vec<min_pk::Signature> = batch
            .request
            .items
            .iter()
            .map(|i| min_pk::Signature::uncompress(&unhex(&i.signature)).expect("sig"))
            .collect();
        let refs: Vec<&min_pk::Signature> = sigs.iter().collect();
        let sum = min_pk::AggregateSignature::aggregate(&refs, false).expect("sum").to_signature();
        let share = median((0..args.rounds).map(|_| cpu_share_batch(&pks, &msgs, &sum)).collect());
        // What the device path replaces inside the service: the CPU engine's batch check.
        let items: Vec<SignedItem> = batch
            .request
            .items
            .iter()
            .map(|i| SignedItem {
                public_key: decode_public_key(SUITE.variant, &unhex(&i.public_key)).expect("pk"),
                message: unhex(&i.message),
                signature: decode_signature(SUITE.variant, &unhex(&i.signature)).expect("sig"),
            })
            .collect();
        let refs: Vec<&SignedItem> = items.iter().collect();
        let engine = median(
            (0..args.rounds)
                .map(|_| {
                    let start = Instant::now();
                    assert!(CpuEngine::new().verify_batch(SUITE, &refs).expect("engine"));
                    start.elapsed()
                })
                .collect(),
        );
        let cycles = args.batch_cycles_per_item * n as f64;
        let cpu = ms(median(service));
        let total = cpu - ms(engine) + ms(share) + device_ms(cycles);
        if crossover.is_none() && total < cpu {
            crossover = Some(n);
        }
        println!(
            "| {n} | {cpu:.2} | {:.2} | {:.2} | {cycles:.0} | {:.3} | {total:.2} | {:.2} |",
            ms(engine),
            ms(share),
            device_ms(cycles),
            cpu / total
        );
    }

    println!("\n### Fast aggregate verification (POP, min_pk), one request of n keys\n");
    println!("| n keys | CPU service, ms | CPU key aggregation alone, ms | device aggregation, cycles | at {} MHz, ms | device path total (service − CPU aggregation + device), ms | CPU / device path |", args.clock_mhz);
    println!("|---|---|---|---|---|---|---|");
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
        let service = timed_posts(&agent, &url, &body, args.rounds, |r| r["valid"] == json!(true), "valid aggregate reported invalid")?;
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
        let cycles = args.aggregate_cycles_per_key * n as f64;
        let cpu = ms(median(service));
        let total = cpu - ms(aggregation) + device_ms(cycles);
        println!(
            "| {n} | {cpu:.2} | {:.2} | {cycles:.0} | {:.3} | {total:.2} | {:.2} |",
            ms(aggregation),
            device_ms(cycles),
            cpu / total
        );
    }
    match crossover {
        Some(n) => println!("\nBatch crossover: the device path wins from n = {n} on (of the sizes measured)."),
        None => println!("\nBatch crossover: none among the sizes measured — the CPU keeps batch verification."),
    }
    Ok(())
}
