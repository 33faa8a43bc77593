//! The device's health: one caller at a time, every job timed and counted, a failing device
//! taken out of service, and the prober that brings it back with a known-answer job.

use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard, PoisonError, TryLockError};
use std::time::Instant;

use blst::blst_p1_affine;
use blst::min_pk;
use rand::Rng;
use tollgate_abi::{Opcode, G1_WORDS, SCALAR_WORDS};
use tollgate_drivers::batch::StageCycles;
use tollgate_drivers::codec;
use tollgate_drivers::{Device, DeviceError, JobOutput};
use tracing::{info, warn};

use super::super::fallback::FallbackReason;
use super::canary::CanaryPoint;
use super::points::{item_points, push_g1, result_g1};
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
            Err(error) => Err(self.failed_job(device, &error)),
        }
    }

    /// Counts a failed job and takes the device out of service if the escalation ran out.
    pub(super) fn failed_job(&self, device: &Device, error: &DeviceError) -> FallbackReason {
        let reason = FallbackReason::of(error);
        let label = if reason == FallbackReason::Timeout {
            "timeout"
        } else {
            "error"
        };
        self.metrics.jobs.with_label_values(&[label]).inc();
        warn!(%error, "device job failed; the CPU takes over");
        if device.down_reason().is_some() {
            self.take_out_of_service();
        }
        reason
    }

    /// Counts one completed stage of a whole-path batch (super::whole), which the driver ran.
    pub(super) fn count_stage(&self, device: &Device, stage: &StageCycles) {
        self.metrics.jobs.with_label_values(&["ok"]).inc();
        self.metrics.job_duration.observe(stage.wall.as_secs_f64());
        self.metrics
            .job_cycles
            .with_label_values(&[&format!("{:?}", stage.opcode)])
            .inc_by(stage.device_cycles);
        self.count_time(device, stage.device_cycles, stage.transfer_cycles);
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
        self.count_time(device, output.device_cycles, output.transfer_cycles);
    }

    /// The device's computing and moving time of `cycles`, `transfer` of them moving data.
    fn count_time(&self, device: &Device, cycles: u64, transfer: u64) {
        let hz = f64::from(device.identity().clock_khz.max(1)) * 1e3;
        let compute = cycles.saturating_sub(transfer);
        self.metrics.busy_seconds.inc_by(compute as f64 / hz);
        self.metrics.transfer_seconds.inc_by(transfer as f64 / hz);
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
/// again. Blinding keys (ScalarMulG1) is served by every design (both paths need it).
pub(super) fn known_answer(device: &mut Device) -> Result<(), String> {
    let keys: Vec<min_pk::PublicKey> = (1u8..=3)
        .map(|seed| min_pk::SecretKey::key_gen(&[seed; 32], &[]).map(|sk| sk.sk_to_pk()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("probe key generation: {e:?}"))?;
    let scalars = [3u64, 1 << 40, u64::MAX];
    let mut input = Vec::with_capacity(keys.len() * (SCALAR_WORDS + G1_WORDS));
    for (key, r) in keys.iter().zip(scalars) {
        input.extend(codec::encode_scalar(r));
        push_g1(&mut input, key.into());
    }
    let output = device
        .run(Opcode::ScalarMulG1, &input)
        .map_err(|e| e.to_string())?;
    let got = item_points(&output.words, G1_WORDS, keys.len(), result_g1)
        .map_err(|r| format!("probe result: {}", r.label()))?;
    let right = keys.iter().zip(scalars).zip(&got).all(|((key, r), got)| {
        blst_p1_affine::multi_scaled(&[blst_p1_affine::from(*key)], &[r]).equals(got)
    });
    if !right {
        return Err("probe: wrong blinded keys".into());
    }
    Ok(())
}
