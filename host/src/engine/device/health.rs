//! The device's health: one caller at a time, every job timed and counted, a failing device
//! taken out of service, and the prober that brings it back with a known-answer job.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError, TryLockError};
use std::time::Instant;

use blst::min_pk;
use rand::Rng;
use tollgate_abi::{Opcode, G1_WORDS};
use tollgate_drivers::{Device, JobOutput};
use tracing::{info, warn};

use super::super::fallback::FallbackReason;
use super::points::{push_g1, sum_g1};
use super::{Shared, PROBER_TICK, PROVENANCE_ENTRIES};
use crate::codec::PublicKey;

impl Shared {
    /// The device if it is in service and free; the CPU never queues behind it.
    pub(super) fn acquire(&self) -> Result<MutexGuard<'_, Device>, FallbackReason> {
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
    pub(super) fn job(
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
                self.count_transfer(device, &output);
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

    /// Whether the card is compute- or bus-bound, for /metrics.
    fn count_transfer(&self, device: &Device, output: &JobOutput) {
        let m = &self.metrics;
        m.transfer_bytes
            .with_label_values(&["to_device"])
            .inc_by(output.bytes_in);
        m.transfer_bytes
            .with_label_values(&["from_device"])
            .inc_by(output.bytes_out);
        let hz = f64::from(device.identity().clock_khz.max(1)) * 1e3;
        let compute = output.device_cycles - output.transfer_cycles;
        m.busy_seconds.inc_by(compute as f64 / hz);
        m.transfer_seconds
            .inc_by(output.transfer_cycles as f64 / hz);
    }

    pub(super) fn take_out_of_service(&self) {
        self.in_service.store(false, Ordering::SeqCst);
        self.metrics.up.set(0);
    }

    /// The device computed something wrong: out of service until the probe vouches for it.
    pub(super) fn condemn(&self, device: &mut Device, reason: FallbackReason, what: &str) {
        let label = reason.label();
        self.metrics.jobs.with_label_values(&[label]).inc();
        device.mark_down(format!("{label}: {what}"));
        self.take_out_of_service();
    }

    /// Decides whether this device-backed result is recomputed on the CPU.
    pub(super) fn sample(&self) -> bool {
        let fraction = self.policy.reverify_fraction;
        fraction >= 1.0 || (fraction > 0.0 && rand::thread_rng().gen_bool(fraction))
    }

    pub(super) fn remember(&self, aggregate: &PublicKey, keys: &[PublicKey]) {
        let mut provenance = self
            .provenance
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if provenance.len() == PROVENANCE_ENTRIES {
            provenance.pop_front();
        }
        provenance.push_back((aggregate.to_bytes(), Arc::new(keys.to_vec())));
    }

    pub(super) fn inputs_of(&self, aggregate: &PublicKey) -> Option<Arc<Vec<PublicKey>>> {
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

    pub(super) fn probe_loop(&self) {
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
pub(super) fn known_answer(device: &mut Device) -> Result<(), String> {
    let keys: Vec<min_pk::PublicKey> = (1u8..=3)
        .map(|seed| min_pk::SecretKey::key_gen(&[seed; 32], &[]).map(|sk| sk.sk_to_pk()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("probe key generation: {e:?}"))?;
    let mut input = Vec::with_capacity(keys.len() * G1_WORDS);
    for key in &keys {
        push_g1(&mut input, key.into());
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
