//! When the device engine trusts the accelerator, and what it counts when it does not.
//!
//! The policy is deliberately conservative: the CPU keeps small jobs (below the crossover the
//! device does not pay for its transfers), every device-backed "invalid" is confirmed on the
//! CPU, a configurable fraction of device-backed "valid" verdicts and aggregates is recomputed
//! on the CPU, and any disagreement takes the device out of service until a background probe
//! (full reset, identity check, known-answer job) brings it back.

use std::time::Duration;

use prometheus::{
    Counter, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};
use tollgate_drivers::DeviceError;

/// Tunables of the device engine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// Batches smaller than this are verified on the CPU (the measured crossover).
    pub min_batch: usize,
    /// Aggregations of fewer points than this stay on the CPU.
    pub min_points: usize,
    /// Aggregate verifications of fewer (key, message) pairs than this stay on the CPU (on
    /// the whole-verification design; elsewhere all do).
    pub min_pairs: usize,
    /// Fraction (0..=1) of device-backed "valid" results recomputed on the CPU.
    pub reverify_fraction: f64,
    /// How often a device marked down is probed.
    pub probe_interval: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            // The batch size: a full batch goes to the device with default settings (the one
            // default lives in ServiceConfig; docs/API.md "Batching and the device").
            min_batch: crate::service::ServiceConfig::default().max_batch_size,
            // Never by default: the default design (tollgate_verify) does not aggregate, and on
            // the standard design the device path only draws level with blst at 1,000 keys
            // (1.02×; 1.55× at 10,000: bench/RESULTS.md "Keys by their limbs").
            min_points: usize::MAX,
            // Measured (bench/RESULTS.md "Aggregate verification on the device"): the host's
            // CPU per request on the device path (canaries and a final exponentiation per
            // pass, ~5 µs per pair) is below the CPU engine's (a hash to G2 and a Miller loop
            // per pair) from 2 pairs, 2.7× below at 8, 4.8× at 16. A pass holds the device
            // for a round of its 32 lanes (4.1 ms at 250 MHz up to 30 pairs) whatever n is:
            // from 16 pairs it saves the host more than that (≥ 4 ms of CPU), below it the
            // round is mostly idle lanes for a saving of a few ms. Fast aggregate
            // verification (one pair) stays on the CPU.
            min_pairs: 16,
            reverify_fraction: 0.05,
            probe_interval: Duration::from_secs(5),
        }
    }
}

/// Why work the device could have done went to the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FallbackReason {
    /// A job missed its deadline after the full escalation.
    Timeout,
    /// The device reported an error status, broke the protocol or its transport failed.
    DeviceError,
    /// The device returned a point that is not on the curve or not in the subgroup.
    BadResult,
    /// The CPU computed a different answer than the device.
    Disagreement,
    /// The device is marked down, waiting for the probe.
    Down,
    /// Another caller holds the device; the CPU does not wait for it.
    Busy,
}

impl FallbackReason {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            FallbackReason::Timeout => "timeout",
            FallbackReason::DeviceError => "device_error",
            FallbackReason::BadResult => "bad_result",
            FallbackReason::Disagreement => "disagreement",
            FallbackReason::Down => "down",
            FallbackReason::Busy => "busy",
        }
    }

    /// The reason a failed device job stands for.
    pub fn of(error: &DeviceError) -> FallbackReason {
        match error {
            DeviceError::Timeout { .. } => FallbackReason::Timeout,
            // The escalation ran out: what failed last is the reason.
            DeviceError::Exhausted { last } => FallbackReason::of(last),
            DeviceError::Down { .. } => FallbackReason::Down,
            _ => FallbackReason::DeviceError,
        }
    }
}

/// The device engine's metrics (names fixed by the architecture).
#[derive(Clone)]
pub struct DeviceMetrics {
    /// 1 while the device is in service.
    pub up: IntGauge,
    /// Device jobs by result (`ok`, `timeout`, `error`, `bad_result`, `disagreement`).
    pub jobs: IntCounterVec,
    /// Work redone or kept on the CPU, by reason.
    pub fallbacks: IntCounterVec,
    /// Wall time of one device job (submission to result, escalation included).
    pub job_duration: Histogram,
    /// Device clock cycles of completed jobs (from the device's own counter).
    pub job_cycles: IntCounterVec,
    /// Bytes moved by DMA, `direction` = `to_device` (inputs) or `from_device` (results).
    pub transfer_bytes: IntCounterVec,
    /// Device batches whose canary item came back wrong (super::device::canary).
    pub canary_failures: IntCounter,
    /// Seconds the device's engine computed jobs (at its clock).
    pub busy_seconds: Counter,
    /// Seconds the device moved job data (descriptor and input reads, result and completion
    /// writes); overlaps the engine's time when jobs queue.
    pub transfer_seconds: Counter,
}

const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0,
];

impl DeviceMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<DeviceMetrics> {
        let metrics = DeviceMetrics {
            up: IntGauge::new(
                "tollgate_device_up",
                "1 while the accelerator is in service",
            )?,
            jobs: IntCounterVec::new(
                Opts::new("tollgate_device_jobs_total", "Accelerator jobs by result"),
                &["result"],
            )?,
            fallbacks: IntCounterVec::new(
                Opts::new(
                    "tollgate_fallbacks_total",
                    "Device work done on the CPU instead, by reason",
                ),
                &["reason"],
            )?,
            job_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "tollgate_device_job_duration_seconds",
                    "Wall time of one accelerator job, escalation included",
                )
                .buckets(DURATION_BUCKETS.to_vec()),
            )?,
            job_cycles: IntCounterVec::new(
                Opts::new(
                    "tollgate_device_job_cycles_total",
                    "Device clock cycles of completed jobs",
                ),
                &["opcode"],
            )?,
            transfer_bytes: IntCounterVec::new(
                Opts::new(
                    "tollgate_device_transfer_bytes_total",
                    "Bytes the accelerator moved by DMA, by direction",
                ),
                &["direction"],
            )?,
            canary_failures: IntCounter::new(
                "tollgate_device_canary_failures_total",
                "Device batches whose secret canary item came back wrong (device condemned)",
            )?,
            busy_seconds: Counter::new(
                "tollgate_device_busy_seconds_total",
                "Accelerator engine time spent computing jobs, at its clock",
            )?,
            transfer_seconds: Counter::new(
                "tollgate_device_transfer_seconds_total",
                "Accelerator time spent moving job data, at its clock",
            )?,
        };
        registry.register(Box::new(metrics.up.clone()))?;
        registry.register(Box::new(metrics.transfer_bytes.clone()))?;
        registry.register(Box::new(metrics.canary_failures.clone()))?;
        registry.register(Box::new(metrics.busy_seconds.clone()))?;
        registry.register(Box::new(metrics.transfer_seconds.clone()))?;
        for direction in ["to_device", "from_device"] {
            metrics.transfer_bytes.with_label_values(&[direction]);
        }
        registry.register(Box::new(metrics.jobs.clone()))?;
        registry.register(Box::new(metrics.fallbacks.clone()))?;
        registry.register(Box::new(metrics.job_duration.clone()))?;
        registry.register(Box::new(metrics.job_cycles.clone()))?;
        for reason in [
            FallbackReason::Timeout,
            FallbackReason::DeviceError,
            FallbackReason::BadResult,
            FallbackReason::Disagreement,
            FallbackReason::Down,
            FallbackReason::Busy,
        ] {
            // Present from the start, so a scrape sees 0 rather than nothing.
            metrics.fallbacks.with_label_values(&[reason.label()]);
        }
        for result in ["ok", "timeout", "error", "bad_result", "disagreement"] {
            metrics.jobs.with_label_values(&[result]);
        }
        Ok(metrics)
    }

    /// Counts one fallback.
    pub fn fallback(&self, reason: FallbackReason) {
        self.fallbacks.with_label_values(&[reason.label()]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_escalation_counts_as_its_last_failure() {
        let timeout = DeviceError::Timeout {
            stage: "waiting for completion",
            cycles: 1,
        };
        let failed = DeviceError::Failed { error_bits: 0x40 };
        assert_eq!(FallbackReason::of(&timeout), FallbackReason::Timeout);
        assert_eq!(
            FallbackReason::of(&DeviceError::Exhausted {
                last: Box::new(timeout)
            }),
            FallbackReason::Timeout
        );
        assert_eq!(
            FallbackReason::of(&DeviceError::Exhausted {
                last: Box::new(failed)
            }),
            FallbackReason::DeviceError
        );
        assert_eq!(
            FallbackReason::of(&DeviceError::Down {
                last: "timed out".into()
            }),
            FallbackReason::Down
        );
    }
}
