//! The device engine: the accelerator computes what it is built for (aggregation of points, the
//! 64-bit blinding multiplications of batch verification), the CPU (blst) finishes the rest
//! (hashing to the curve, Miller loops, the final exponentiation), and the CPU engine stands
//! behind every answer the device cannot give or cannot be trusted with. See `fallback` for
//! the policy.
//!
//! Batch verification with the device (min_pk; min_sig swaps the groups): for blinding scalars
//! rᵢ the device returns rᵢ·pkᵢ for each item (ScalarMul) and S = Σ rᵢ·σᵢ (MultiScalar); the
//! CPU checks Π e(rᵢ·pkᵢ, H(mᵢ)) = e(g₁, S), the same equation blst's batch check evaluates.

use std::any::Any;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use blst::{blst_fp12, blst_p1_affine, blst_p2_affine, min_pk, min_sig, Pairing, BLST_ERROR};
use rand::Rng;
use rand_core::{OsRng, RngCore};
use tollgate_abi::{Opcode, G1_WORDS, G2_WORDS};
use tollgate_drivers::{codec, Device, DeviceError, JobOutput};
use tracing::{info, warn};

use super::fallback::{DeviceMetrics, FallbackReason, Policy};
use super::{CpuEngine, Engine, EngineError, SignedItem};
use crate::codec::{PublicKey, Signature};
use crate::suite::{Suite, Variant};

/// The driver the device engine runs on (for benches that drive a device directly).
pub use tollgate_drivers as drivers;

/// Aggregates made by the device whose inputs are kept, so that an "invalid" verdict reached
/// with one of them can be confirmed with the CPU's own sum.
const PROVENANCE_ENTRIES: usize = 32;

/// How long the prober sleeps between checks of its stop flag.
const PROBER_TICK: Duration = Duration::from_millis(20);

/// A device-made aggregate public key and the keys it sums.
type Provenance = VecDeque<(Vec<u8>, Arc<Vec<PublicKey>>)>;

struct Shared {
    device: Mutex<Device>,
    in_service: AtomicBool,
    policy: Policy,
    metrics: DeviceMetrics,
    provenance: Mutex<Provenance>,
    stop: AtomicBool,
}

/// Accelerator first, CPU behind it.
pub struct DeviceEngine {
    cpu: CpuEngine,
    shared: Arc<Shared>,
    prober: Option<JoinHandle<()>>,
}

impl DeviceEngine {
    /// Takes an opened (identity-checked) device into service and starts its prober.
    pub fn start(device: Device, policy: Policy, metrics: DeviceMetrics) -> DeviceEngine {
        metrics.up.set(1);
        let shared = Arc::new(Shared {
            device: Mutex::new(device),
            in_service: AtomicBool::new(true),
            policy,
            metrics,
            provenance: Mutex::new(VecDeque::new()),
            stop: AtomicBool::new(false),
        });
        let prober_state = shared.clone();
        let prober = std::thread::Builder::new()
            .name("device-prober".into())
            .spawn(move || prober_state.probe_loop())
            .map_err(|error| warn!(%error, "no prober thread: a downed device stays down"))
            .ok();
        DeviceEngine {
            cpu: CpuEngine::new(),
            shared,
            prober,
        }
    }

    /// Whether the device is in service now.
    pub fn device_up(&self) -> bool {
        self.shared.in_service.load(Ordering::SeqCst)
    }
}

impl Drop for DeviceEngine {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(prober) = self.prober.take() {
            let _ = prober.join();
        }
    }
}

/// Non-zero 64-bit blinding scalars from the OS CSPRNG, never from request data.
fn blinding_scalars(n: usize) -> Result<Vec<u64>, EngineError> {
    let mut scalars = Vec::with_capacity(n);
    while scalars.len() < n {
        let mut bytes = [0u8; 8];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| EngineError::Rng(e.to_string()))?;
        let r = u64::from_le_bytes(bytes);
        // A zero scalar would drop its item from the check: draw again.
        if r != 0 {
            scalars.push(r);
        }
    }
    Ok(scalars)
}

fn encoding_bug(error: codec::CodecError) -> EngineError {
    // Inputs were validated at decoding: a codec refusal here is a bug, not bad input.
    EngineError::Backend(format!(
        "cannot encode a validated point for the device: {error}"
    ))
}

fn push_g1(words: &mut Vec<u32>, uncompressed: &[u8]) -> Result<(), EngineError> {
    words.extend(codec::encode_g1(uncompressed).map_err(encoding_bug)?);
    Ok(())
}

fn push_g2(words: &mut Vec<u32>, uncompressed: &[u8]) -> Result<(), EngineError> {
    words.extend(codec::encode_g2(uncompressed).map_err(encoding_bug)?);
    Ok(())
}

/// A G1 point from the device: on the curve (deserialisation checks), subgroup optional.
fn result_g1(words: &[u32], subgroup: bool) -> Result<blst_p1_affine, FallbackReason> {
    let bytes = codec::decode_g1(words).map_err(|_| FallbackReason::BadResult)?;
    // min_sig signatures live in G1: their decoder and group check serve for any G1 point.
    let point = min_sig::Signature::deserialize(&bytes).map_err(|_| FallbackReason::BadResult)?;
    if subgroup && point.validate(false).is_err() {
        return Err(FallbackReason::BadResult);
    }
    Ok(point.into())
}

/// A G2 point from the device (see [`result_g1`]).
fn result_g2(words: &[u32], subgroup: bool) -> Result<blst_p2_affine, FallbackReason> {
    let bytes = codec::decode_g2(words).map_err(|_| FallbackReason::BadResult)?;
    let point = min_pk::Signature::deserialize(&bytes).map_err(|_| FallbackReason::BadResult)?;
    if subgroup && point.validate(false).is_err() {
        return Err(FallbackReason::BadResult);
    }
    Ok(point.into())
}

/// Decodes the device's partial sums of G1 points (K per device job, see
/// [`JobOutput::words`]) and adds them up with blst (infinity included). Every partial must be
/// on the curve; the subgroup check, when asked for, is made on the sum, the value used.
fn sum_g1(words: &[u32], subgroup: bool) -> Result<blst_p1_affine, FallbackReason> {
    if words.is_empty() || !words.len().is_multiple_of(G1_WORDS) {
        return Err(FallbackReason::BadResult);
    }
    let partials: Vec<min_sig::Signature> = words
        .chunks_exact(G1_WORDS)
        .map(|w| result_g1(w, false).map(min_sig::Signature::from))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&min_sig::Signature> = partials.iter().collect();
    let sum = min_sig::AggregateSignature::aggregate(&refs, false)
        .map_err(|_| FallbackReason::BadResult)?
        .to_signature();
    if subgroup && sum.validate(false).is_err() {
        return Err(FallbackReason::BadResult);
    }
    Ok(sum.into())
}

/// [`sum_g1`] for G2.
fn sum_g2(words: &[u32], subgroup: bool) -> Result<blst_p2_affine, FallbackReason> {
    if words.is_empty() || !words.len().is_multiple_of(G2_WORDS) {
        return Err(FallbackReason::BadResult);
    }
    let partials: Vec<min_pk::Signature> = words
        .chunks_exact(G2_WORDS)
        .map(|w| result_g2(w, false).map(min_pk::Signature::from))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&min_pk::Signature> = partials.iter().collect();
    let sum = min_pk::AggregateSignature::aggregate(&refs, false)
        .map_err(|_| FallbackReason::BadResult)?
        .to_signature();
    if subgroup && sum.validate(false).is_err() {
        return Err(FallbackReason::BadResult);
    }
    Ok(sum.into())
}

/// The device's per-item points (ScalarMul*), one per item or the result is not trusted.
fn item_points<P>(
    words: &[u32],
    point_words: usize,
    items: usize,
    decode: impl Fn(&[u32], bool) -> Result<P, FallbackReason>,
) -> Result<Vec<P>, FallbackReason> {
    if words.len() != items * point_words {
        return Err(FallbackReason::BadResult);
    }
    words
        .chunks_exact(point_words)
        .map(|w| decode(w, false))
        .collect()
}

/// Π e(blindedᵢ, H(mᵢ)) = e(g, sum), with blst hashing the messages: the CPU's share of a
/// device-backed batch check, spread over the cores like the CPU engine's (one pairing
/// accumulator per thread, merged before the final exponentiation).
pub fn pairing_check<P: Any + Sync, S: Any>(
    dst: &[u8],
    blinded: &[P],
    messages: &[&[u8]],
    sum: &S,
) -> Result<bool, FallbackReason> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = blinded.len().div_ceil(threads).max(1);
    let partials: Vec<Result<Pairing, FallbackReason>> = std::thread::scope(|scope| {
        let workers: Vec<_> = blinded
            .chunks(chunk)
            .zip(messages.chunks(chunk))
            .map(|(points, messages)| {
                scope.spawn(move || {
                    let mut pairing = Pairing::new(true, dst);
                    for (point, message) in points.iter().zip(messages) {
                        // An infinity means the device lost a factor: rᵢ ≠ 0, pkᵢ ≠ infinity.
                        if pairing.aggregate(point, false, &(), false, message, &[])
                            != BLST_ERROR::BLST_SUCCESS
                        {
                            return Err(FallbackReason::BadResult);
                        }
                    }
                    pairing.commit();
                    Ok(pairing)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap_or(Err(FallbackReason::DeviceError)))
            .collect()
    });
    let mut partials = partials.into_iter();
    let mut pairing = match partials.next() {
        Some(first) => first?,
        None => return Err(FallbackReason::DeviceError),
    };
    for partial in partials {
        if pairing.merge(&partial?) != BLST_ERROR::BLST_SUCCESS {
            return Err(FallbackReason::BadResult);
        }
    }
    let mut gt = blst_fp12::default();
    Pairing::aggregated(&mut gt, sum);
    Ok(pairing.finalverify(Some(&gt)))
}

impl Shared {
    /// The device if it is in service and free; the CPU never queues behind it.
    fn acquire(&self) -> Result<MutexGuard<'_, Device>, FallbackReason> {
        if !self.in_service.load(Ordering::SeqCst) {
            return Err(FallbackReason::Down);
        }
        match self.device.try_lock() {
            Ok(device) => Ok(device),
            Err(TryLockError::WouldBlock) => Err(FallbackReason::Busy),
            Err(TryLockError::Poisoned(poisoned)) => Ok(poisoned.into_inner()),
        }
    }

    /// One device job, timed and counted; a failure that exhausted the escalation takes the
    /// device out of service.
    fn job(
        &self,
        device: &mut Device,
        opcode: Opcode,
        input: &[u32],
    ) -> Result<JobOutput, FallbackReason> {
        let start = Instant::now();
        let result = device.run(opcode, input);
        self.metrics
            .job_duration
            .observe(start.elapsed().as_secs_f64());
        match result {
            Ok(output) => {
                // The driver splits large work into several device jobs: count each.
                self.metrics
                    .jobs
                    .with_label_values(&["ok"])
                    .inc_by(u64::from(output.jobs));
                self.metrics
                    .job_cycles
                    .with_label_values(&[&format!("{opcode:?}")])
                    .inc_by(output.device_cycles);
                Ok(output)
            }
            Err(error) => {
                let reason = FallbackReason::of(&error);
                let label = if reason == FallbackReason::Timeout {
                    "timeout"
                } else {
                    "error"
                };
                self.metrics.jobs.with_label_values(&[label]).inc();
                warn!(?opcode, %error, "device job failed; the CPU takes over");
                if device.down_reason().is_some() {
                    self.take_out_of_service();
                }
                Err(reason)
            }
        }
    }

    fn take_out_of_service(&self) {
        self.in_service.store(false, Ordering::SeqCst);
        self.metrics.up.set(0);
    }

    /// The device computed something wrong: out of service until the probe vouches for it.
    fn condemn(&self, device: &mut Device, reason: FallbackReason, what: &str) {
        let label = reason.label();
        self.metrics.jobs.with_label_values(&[label]).inc();
        device.mark_down(format!("{label}: {what}"));
        self.take_out_of_service();
    }

    /// Decides whether this device-backed result is recomputed on the CPU.
    fn sample(&self) -> bool {
        let fraction = self.policy.reverify_fraction;
        fraction >= 1.0 || (fraction > 0.0 && rand::thread_rng().gen_bool(fraction))
    }

    fn remember(&self, aggregate: &PublicKey, keys: &[PublicKey]) {
        let mut provenance = self
            .provenance
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if provenance.len() == PROVENANCE_ENTRIES {
            provenance.pop_front();
        }
        provenance.push_back((aggregate.to_bytes(), Arc::new(keys.to_vec())));
    }

    fn inputs_of(&self, aggregate: &PublicKey) -> Option<Arc<Vec<PublicKey>>> {
        let bytes = aggregate.to_bytes();
        let provenance = self
            .provenance
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        provenance
            .iter()
            .rev()
            .find(|(made, _)| *made == bytes)
            .map(|(_, keys)| keys.clone())
    }

    fn probe_loop(&self) {
        let mut since = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            std::thread::sleep(PROBER_TICK);
            if self.in_service.load(Ordering::SeqCst)
                || since.elapsed() < self.policy.probe_interval
            {
                continue;
            }
            since = Instant::now();
            let mut device = self.device.lock().unwrap_or_else(PoisonError::into_inner);
            match device
                .revive()
                .map_err(|e| e.to_string())
                .and_then(|()| known_answer(&mut device))
            {
                Ok(()) => {
                    info!("device passed its probe; back in service");
                    self.in_service.store(true, Ordering::SeqCst);
                    self.metrics.up.set(1);
                }
                Err(why) => {
                    warn!(%why, "device failed its probe; still out of service");
                    device.mark_down(why);
                }
            }
        }
    }
}

/// A small job with an answer the CPU knows: the device must reproduce it before it is trusted
/// again.
fn known_answer(device: &mut Device) -> Result<(), String> {
    let keys: Vec<min_pk::PublicKey> = (1u8..=3)
        .map(|seed| min_pk::SecretKey::key_gen(&[seed; 32], &[]).map(|sk| sk.sk_to_pk()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("probe key generation: {e:?}"))?;
    let mut input = Vec::with_capacity(keys.len() * G1_WORDS);
    for key in &keys {
        push_g1(&mut input, &key.serialize()).map_err(|e| e.to_string())?;
    }
    let output = device
        .run(Opcode::AggregateG1, &input)
        .map_err(|e| e.to_string())?;
    let got = sum_g1(&output.words, true).map_err(|r| format!("probe result: {}", r.label()))?;
    let refs: Vec<&min_pk::PublicKey> = keys.iter().collect();
    let expected = min_pk::AggregatePublicKey::aggregate(&refs, false)
        .map_err(|e| format!("probe reference: {e:?}"))?
        .to_public_key();
    if min_pk::PublicKey::from(got) != expected {
        return Err("probe: wrong aggregate".into());
    }
    Ok(())
}

impl DeviceEngine {
    /// The device's half of a batch check; `Err` means the device could not answer.
    fn device_batch(
        &self,
        device: &mut Device,
        suite: Suite,
        items: &[&SignedItem],
        scalars: &[u64],
    ) -> Result<Result<bool, FallbackReason>, EngineError> {
        let shared = &self.shared;
        let per_item = |group_words: usize| items.len() * (2 + group_words);
        let (mut keys, mut sigs) = match suite.variant {
            Variant::MinPk => (
                Vec::with_capacity(per_item(G1_WORDS)),
                Vec::with_capacity(per_item(G2_WORDS)),
            ),
            Variant::MinSig => (
                Vec::with_capacity(per_item(G2_WORDS)),
                Vec::with_capacity(per_item(G1_WORDS)),
            ),
        };
        for (item, r) in items.iter().zip(scalars) {
            keys.extend(codec::encode_scalar(*r));
            sigs.extend(codec::encode_scalar(*r));
            match (suite.variant, &item.public_key, &item.signature) {
                (Variant::MinPk, PublicKey::G1(pk), Signature::G2(sig)) => {
                    push_g1(&mut keys, &pk.serialize())?;
                    push_g2(&mut sigs, &sig.serialize())?;
                }
                (Variant::MinSig, PublicKey::G2(pk), Signature::G1(sig)) => {
                    push_g2(&mut keys, &pk.serialize())?;
                    push_g1(&mut sigs, &sig.serialize())?;
                }
                _ => return Err(EngineError::VariantMismatch(suite.variant)),
            }
        }
        let messages: Vec<&[u8]> = items.iter().map(|item| item.message.as_slice()).collect();
        let verdict = match suite.variant {
            Variant::MinPk => (|| {
                let blinded = shared.job(device, Opcode::ScalarMulG1, &keys)?;
                let sum = shared.job(device, Opcode::MultiScalarG2, &sigs)?;
                let blinded = item_points(&blinded.words, G1_WORDS, items.len(), result_g1)?;
                let sum = sum_g2(&sum.words, false)?;
                pairing_check(suite.dst(), &blinded, &messages, &sum)
            })(),
            Variant::MinSig => (|| {
                let blinded = shared.job(device, Opcode::ScalarMulG2, &keys)?;
                let sum = shared.job(device, Opcode::MultiScalarG1, &sigs)?;
                let blinded = item_points(&blinded.words, G2_WORDS, items.len(), result_g2)?;
                let sum = sum_g1(&sum.words, false)?;
                pairing_check(suite.dst(), &blinded, &messages, &sum)
            })(),
        };
        if verdict == Err(FallbackReason::BadResult) {
            shared.condemn(
                device,
                FallbackReason::BadResult,
                "batch result not a valid point",
            );
        }
        Ok(verdict)
    }

    /// Sum of points on the device; `None` input words mean "keep it on the CPU".
    fn device_sum(&self, opcode: Opcode, input: &[u32]) -> Result<JobOutput, FallbackReason> {
        let mut device = self.shared.acquire()?;
        self.shared.job(&mut device, opcode, input)
    }

    /// A device-made result the CPU recomputed differently.
    fn disagreement(&self, what: &str) {
        warn!(what, "device and CPU disagree; device out of service");
        let mut device = self
            .shared
            .device
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.shared
            .condemn(&mut device, FallbackReason::Disagreement, what);
        self.shared.metrics.fallback(FallbackReason::Disagreement);
    }

    fn bad_result(&self, what: &str) {
        let mut device = self
            .shared
            .device
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.shared
            .condemn(&mut device, FallbackReason::BadResult, what);
        self.shared.metrics.fallback(FallbackReason::BadResult);
    }
}

impl Engine for DeviceEngine {
    fn backend(&self) -> &'static str {
        "device"
    }

    fn verify_batch(&self, suite: Suite, items: &[&SignedItem]) -> Result<bool, EngineError> {
        if items.is_empty() {
            return Err(EngineError::Empty);
        }
        if items.len() < self.shared.policy.min_batch {
            return self.cpu.verify_batch(suite, items);
        }
        let scalars = blinding_scalars(items.len())?;
        let verdict = match self.shared.acquire() {
            Ok(mut device) => self.device_batch(&mut device, suite, items, &scalars)?,
            Err(reason) => Err(reason),
        };
        match verdict {
            Err(reason) => {
                self.shared.metrics.fallback(reason);
                self.cpu.verify_batch(suite, items)
            }
            Ok(false) => {
                // Never report "invalid" on the device's word alone.
                let cpu = self.cpu.verify_batch(suite, items)?;
                if cpu {
                    self.disagreement("device failed a batch the CPU verifies");
                }
                Ok(cpu)
            }
            Ok(true) if self.shared.sample() => {
                let cpu = self.cpu.verify_batch(suite, items)?;
                if !cpu {
                    self.disagreement("device passed a batch the CPU rejects");
                }
                Ok(cpu)
            }
            Ok(true) => Ok(true),
        }
    }

    fn verify_aggregate(
        &self,
        suite: Suite,
        public_keys: &[PublicKey],
        messages: &[&[u8]],
        signature: &Signature,
    ) -> Result<bool, EngineError> {
        // The pairings are the CPU's. What the device may have contributed is an aggregate key
        // (fast aggregate verification): an "invalid" reached with one is confirmed with the
        // CPU's own sum of the same keys.
        let verdict = self
            .cpu
            .verify_aggregate(suite, public_keys, messages, signature)?;
        if verdict {
            return Ok(true);
        }
        let mut corrected = public_keys.to_vec();
        let mut changed = false;
        for key in corrected.iter_mut() {
            if let Some(inputs) = self.shared.inputs_of(key) {
                let cpu_sum = self.cpu.aggregate_public_keys(&inputs)?;
                if cpu_sum != *key {
                    *key = cpu_sum;
                    changed = true;
                }
            }
        }
        if !changed {
            return Ok(false);
        }
        self.disagreement("device aggregate key differs from the CPU's");
        self.cpu
            .verify_aggregate(suite, &corrected, messages, signature)
    }

    fn aggregate_public_keys(&self, keys: &[PublicKey]) -> Result<PublicKey, EngineError> {
        let variant = keys.first().ok_or(EngineError::Empty)?.variant();
        if keys.len() < self.shared.policy.min_points {
            return self.cpu.aggregate_public_keys(keys);
        }
        let mut input = Vec::with_capacity(keys.len() * variant_words(variant, true));
        for key in keys {
            match (variant, key) {
                (Variant::MinPk, PublicKey::G1(pk)) => push_g1(&mut input, &pk.serialize())?,
                (Variant::MinSig, PublicKey::G2(pk)) => push_g2(&mut input, &pk.serialize())?,
                _ => return Err(EngineError::VariantMismatch(variant)),
            }
        }
        let result = match variant {
            Variant::MinPk => self
                .device_sum(Opcode::AggregateG1, &input)
                .and_then(|out| sum_g1(&out.words, true))
                .map(|p| PublicKey::G1(min_pk::PublicKey::from(p))),
            Variant::MinSig => self
                .device_sum(Opcode::AggregateG2, &input)
                .and_then(|out| sum_g2(&out.words, true))
                .map(|p| PublicKey::G2(min_sig::PublicKey::from(p))),
        };
        let sum = match result {
            Ok(sum) => sum,
            Err(reason) => {
                if reason == FallbackReason::BadResult {
                    self.bad_result("aggregate key not a point of the group");
                } else {
                    self.shared.metrics.fallback(reason);
                }
                return self.cpu.aggregate_public_keys(keys);
            }
        };
        if self.shared.sample() {
            let cpu = self.cpu.aggregate_public_keys(keys)?;
            if cpu != sum {
                self.disagreement("aggregate public key");
                return Ok(cpu);
            }
        }
        self.shared.remember(&sum, keys);
        Ok(sum)
    }

    fn aggregate_signatures(&self, signatures: &[Signature]) -> Result<Signature, EngineError> {
        let variant = signatures.first().ok_or(EngineError::Empty)?.variant();
        if signatures.len() < self.shared.policy.min_points {
            return self.cpu.aggregate_signatures(signatures);
        }
        let mut input = Vec::with_capacity(signatures.len() * variant_words(variant, false));
        for signature in signatures {
            match (variant, signature) {
                (Variant::MinPk, Signature::G2(sig)) => push_g2(&mut input, &sig.serialize())?,
                (Variant::MinSig, Signature::G1(sig)) => push_g1(&mut input, &sig.serialize())?,
                _ => return Err(EngineError::VariantMismatch(variant)),
            }
        }
        let result = match variant {
            Variant::MinPk => self
                .device_sum(Opcode::AggregateG2, &input)
                .and_then(|out| sum_g2(&out.words, true))
                .map(|p| Signature::G2(min_pk::Signature::from(p))),
            Variant::MinSig => self
                .device_sum(Opcode::AggregateG1, &input)
                .and_then(|out| sum_g1(&out.words, true))
                .map(|p| Signature::G1(min_sig::Signature::from(p))),
        };
        let sum = match result {
            Ok(sum) => sum,
            Err(reason) => {
                if reason == FallbackReason::BadResult {
                    self.bad_result("aggregate signature not a point of the group");
                } else {
                    self.shared.metrics.fallback(reason);
                }
                return self.cpu.aggregate_signatures(signatures);
            }
        };
        if self.shared.sample() {
            let cpu = self.cpu.aggregate_signatures(signatures)?;
            if cpu != sum {
                self.disagreement("aggregate signature");
                return Ok(cpu);
            }
        }
        Ok(sum)
    }
}

/// Words of one point of the public keys (`keys`) or the signatures of a variant.
fn variant_words(variant: Variant, keys: bool) -> usize {
    match (variant, keys) {
        (Variant::MinPk, true) | (Variant::MinSig, false) => G1_WORDS,
        (Variant::MinPk, false) | (Variant::MinSig, true) => G2_WORDS,
    }
}

/// Where the accelerator is and how to treat it (`tollgate serve` options).
#[derive(Clone, Debug, Default, PartialEq, clap::Args)]
pub struct DeviceArgs {
    /// Manifest the device's identity must match. [default: bitstreams/tollgate/manifest.json
    /// of the source tree this binary was built from]
    #[arg(long, env = "TOLLGATE_DEVICE_MANIFEST")]
    pub device_manifest: Option<PathBuf>,
    /// PCIe board: an address (0000:65:00.0) or vendor:device id. [default: 10ee:7011]
    #[arg(long, env = "TOLLGATE_PCIE_DEVICE")]
    pub pcie_device: Option<String>,
    /// Inject a fault at the device transport: hang, corrupt, error or slow, with optional
    /// ",jobs=N" (only the next N jobs) and ",delay_us=N" (slow). For testing the fallback.
    #[arg(long, env = "TOLLGATE_INJECT_FAULT")]
    pub inject_fault: Option<tollgate_drivers::FaultSpec>,
    /// Batches smaller than this stay on the CPU (the measured crossover). [default: 256]
    #[arg(long, env = "TOLLGATE_DEVICE_MIN_BATCH")]
    pub device_min_batch: Option<usize>,
    /// Aggregations of this many points or more go to the device. [default: none — with the
    /// register transport of ABI 2.0 the CPU aggregates faster at every measured size]
    #[arg(long, env = "TOLLGATE_DEVICE_MIN_POINTS")]
    pub device_min_points: Option<usize>,
    /// Fraction of device-backed results recomputed on the CPU. [default: 0.05]
    #[arg(long, env = "TOLLGATE_DEVICE_REVERIFY_FRACTION")]
    pub device_reverify_fraction: Option<f64>,
    /// Milliseconds between probes of a device out of service. [default: 5000]
    #[arg(long, env = "TOLLGATE_DEVICE_PROBE_INTERVAL_MS")]
    pub device_probe_interval_ms: Option<u64>,
    /// Scales every device deadline (a slow simulator host may need more). [default: 1]
    #[arg(long, env = "TOLLGATE_DEVICE_TIMEOUT_SCALE")]
    pub device_timeout_scale: Option<u64>,
}

/// Which transport carries the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// The generated RTL under Verilator.
    Sim,
    /// A board through VFIO.
    Pcie,
}

/// Why the device engine could not start.
#[derive(Debug, thiserror::Error)]
pub enum DeviceOpenError {
    /// The manifest could not be read.
    #[error(transparent)]
    Manifest(#[from] tollgate_drivers::device::ManifestError),
    /// The simulated device could not be built.
    #[cfg(feature = "sim")]
    #[error(transparent)]
    Sim(#[from] tollgate_drivers::backends::sim::SimError),
    /// This binary was built without the Verilator model.
    #[cfg(not(feature = "sim"))]
    #[error(
        "this tollgate was built without the simulated device; build it with the `sim` feature \
         (needs verilator, make and g++): cargo run --release -p tollgate --features sim -- \
         serve --backend sim"
    )]
    SimNotBuilt,
    /// No board, or VFIO refused.
    #[cfg(target_os = "linux")]
    #[error(transparent)]
    Pcie(#[from] tollgate_drivers::backends::pcie::PcieError),
    /// VFIO exists only on Linux.
    #[cfg(not(target_os = "linux"))]
    #[error("the PCIe backend needs Linux's VFIO; this host is not Linux")]
    PcieUnsupported,
    /// The device refused (identity mismatch) or failed its first contact.
    #[error("{0}")]
    Device(#[from] DeviceError),
    /// The metrics could not be registered.
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// A device setting is out of range.
    #[error("{0}")]
    Setting(String),
}

impl DeviceArgs {
    fn manifest_path(&self) -> PathBuf {
        self.device_manifest.clone().unwrap_or_else(|| {
            tollgate_drivers::Manifest::path_in(
                &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
                tollgate_abi::DESIGN,
            )
        })
    }

    fn policy(&self) -> Result<Policy, DeviceOpenError> {
        let defaults = Policy::default();
        let fraction = self
            .device_reverify_fraction
            .unwrap_or(defaults.reverify_fraction);
        if !(0.0..=1.0).contains(&fraction) {
            return Err(DeviceOpenError::Setting(format!(
                "device_reverify_fraction {fraction} is not within 0..=1"
            )));
        }
        let min_batch = self.device_min_batch.unwrap_or(defaults.min_batch).max(1);
        Ok(Policy {
            min_batch,
            min_points: self.device_min_points.unwrap_or(defaults.min_points).max(1),
            reverify_fraction: fraction,
            probe_interval: self
                .device_probe_interval_ms
                .map_or(defaults.probe_interval, Duration::from_millis),
        })
    }

    fn config(&self, transport: Transport) -> tollgate_drivers::DeviceConfig {
        let base = tollgate_drivers::DeviceConfig::default();
        let scale = self.device_timeout_scale.unwrap_or(1);
        let config = match transport {
            // The simulator pays for every register access: poll less often.
            Transport::Sim => tollgate_drivers::DeviceConfig {
                poll_cycles: 256,
                ..base
            },
            // A board's MMIO: ~1 µs (250 cycles at 250 MHz) per access, and the host's
            // scheduler adds wall-time jitter that a 20k-cycle (80 µs) base would not absorb.
            Transport::Pcie => tollgate_drivers::DeviceConfig {
                base_cycles: 2_500_000,
                bus_cycles_per_word: 250,
                ..base
            },
        };
        config.scaled(scale)
    }

    /// Opens the device on `transport`, checks its identity and starts the engine.
    pub fn open(
        &self,
        transport: Transport,
        registry: &prometheus::Registry,
    ) -> Result<DeviceEngine, DeviceOpenError> {
        let manifest = tollgate_drivers::Manifest::load(&self.manifest_path())?;
        let policy = self.policy()?;
        let raw = match transport {
            Transport::Sim => open_sim()?,
            Transport::Pcie => self.open_pcie()?,
        };
        let transport_box: Box<dyn tollgate_drivers::RegisterAccess> = match self.inject_fault {
            Some(spec) => {
                let control = tollgate_drivers::FaultControl::new();
                control.set(spec);
                warn!(fault = %spec, "fault injection armed at the device transport");
                Box::new(tollgate_drivers::FaultyTransport::new(raw, control))
            }
            None => raw,
        };
        let device = Device::open(transport_box, manifest, self.config(transport))?;
        let metrics = DeviceMetrics::register(registry)?;
        Ok(DeviceEngine::start(device, policy, metrics))
    }

    #[cfg(target_os = "linux")]
    fn open_pcie(&self) -> Result<Box<dyn tollgate_drivers::RegisterAccess>, DeviceOpenError> {
        use tollgate_drivers::backends::pcie::{Locator, PcieTransport};
        let locator = match &self.pcie_device {
            Some(text) => text.parse()?,
            None => Locator::default(),
        };
        Ok(Box::new(PcieTransport::open(&locator)?))
    }

    #[cfg(not(target_os = "linux"))]
    fn open_pcie(&self) -> Result<Box<dyn tollgate_drivers::RegisterAccess>, DeviceOpenError> {
        Err(DeviceOpenError::PcieUnsupported)
    }
}

#[cfg(feature = "sim")]
fn open_sim() -> Result<Box<dyn tollgate_drivers::RegisterAccess>, DeviceOpenError> {
    Ok(Box::new(
        tollgate_drivers::backends::sim::SimTransport::open()?,
    ))
}

#[cfg(not(feature = "sim"))]
fn open_sim() -> Result<Box<dyn tollgate_drivers::RegisterAccess>, DeviceOpenError> {
    Err(DeviceOpenError::SimNotBuilt)
}

#[cfg(test)]
mod tests {
    //! The host's half of the sums (adding the device's partial points) against arkworks.

    use ark_bls12_381::{G1Projective, G2Projective};
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;
    use ark_serialize::CanonicalSerialize;
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;

    fn uncompressed<T: CanonicalSerialize>(point: &T) -> Vec<u8> {
        let mut out = Vec::new();
        point.serialize_uncompressed(&mut out).unwrap();
        out
    }

    /// Partials the way a device reports them: random points, infinity, P and −P, P twice.
    fn partial_sets<G: PrimeGroup + UniformRand>() -> Vec<Vec<G>> {
        let mut rng = StdRng::seed_from_u64(5);
        let p = G::rand(&mut rng);
        let random: Vec<G> = (0..40).map(|_| G::rand(&mut rng)).collect();
        let mut with_infinity = random.clone();
        with_infinity[0] = G::zero();
        with_infinity[39] = G::zero();
        vec![
            random,
            with_infinity,
            vec![p, -p],
            vec![p, p],
            vec![G::zero(); 40],
            vec![p],
        ]
    }

    #[test]
    fn g1_partial_sums_add_up_like_arkworks() {
        for partials in partial_sets::<G1Projective>() {
            let mut words = Vec::new();
            for point in &partials {
                words.extend(codec::encode_g1(&uncompressed(&point.into_affine())).unwrap());
            }
            let sum = sum_g1(&words, true).unwrap();
            let expected: G1Projective = partials.iter().sum();
            assert_eq!(
                min_sig::Signature::from(sum).serialize().to_vec(),
                uncompressed(&expected.into_affine())
            );
        }
    }

    #[test]
    fn g2_partial_sums_add_up_like_arkworks() {
        for partials in partial_sets::<G2Projective>() {
            let mut words = Vec::new();
            for point in &partials {
                words.extend(codec::encode_g2(&uncompressed(&point.into_affine())).unwrap());
            }
            let sum = sum_g2(&words, true).unwrap();
            let expected: G2Projective = partials.iter().sum();
            assert_eq!(
                min_pk::Signature::from(sum).serialize().to_vec(),
                uncompressed(&expected.into_affine())
            );
        }
    }

    #[test]
    fn a_corrupted_or_missing_partial_is_a_bad_result() {
        let mut rng = StdRng::seed_from_u64(6);
        let points: Vec<G1Projective> = (0..3).map(|_| G1Projective::rand(&mut rng)).collect();
        let mut words = Vec::new();
        for point in &points {
            words.extend(codec::encode_g1(&uncompressed(&point.into_affine())).unwrap());
        }
        let mut flipped = words.clone();
        // Partial 1's X, low bit: off the curve.
        flipped[G1_WORDS] ^= 1;
        assert_eq!(sum_g1(&flipped, false), Err(FallbackReason::BadResult));
        assert_eq!(
            sum_g1(&words[..G1_WORDS + 5], false),
            Err(FallbackReason::BadResult)
        );
        assert_eq!(sum_g1(&[], false), Err(FallbackReason::BadResult));
        // Per-item results must be exactly one per item.
        assert_eq!(
            item_points(&words, G1_WORDS, 3, result_g1).map(|p| p.len()),
            Ok(3)
        );
        assert_eq!(
            item_points(&words, G1_WORDS, 4, result_g1).map(|p| p.len()),
            Err(FallbackReason::BadResult)
        );
    }
}
