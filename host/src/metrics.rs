//! Prometheus metrics of the service: `tollgate_` prefix, base units (seconds, items), and only
//! low-cardinality labels (endpoint, status, backend, result, reason; never a key or device).

use crate::api::wire::Priority;
use crate::engine::ItemVerdict;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every metric the service exports, registered in its own registry.
pub struct Metrics {
    registry: Registry,
    pub request_duration: HistogramVec,
    pub queue_wait: HistogramVec,
    pub verification_duration: HistogramVec,
    pub throttled: IntCounterVec,
    pub batch_size: Histogram,
    pub batch_verify_duration: HistogramVec,
    pub signatures_verified: IntCounterVec,
    pub queue_depth: IntGauge,
    /// Set once at start: alerts and dashboards compare the depth with it.
    pub queue_capacity: IntGauge,
    pub rejections: IntCounterVec,
    pub bisections: IntCounter,
    pub batch_checks: IntCounter,
    pub abandoned: IntCounterVec,
    pub key_cache_lookups: IntCounterVec,
    pub key_cache_evictions: IntCounter,
}

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
const SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "tollgate_http_request_duration_seconds",
                "HTTP request duration by endpoint and status",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["endpoint", "status"],
        )
        .expect("valid metric");
        let queue_wait = HistogramVec::new(
            HistogramOpts::new(
                "tollgate_queue_wait_seconds",
                "Time verification work waits in the queue of its latency class",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["priority"],
        )
        .expect("valid metric");
        let verification_duration = HistogramVec::new(
            HistogramOpts::new(
                "tollgate_verification_request_duration_seconds",
                "Time from a parsed verification request to its answer, by latency class",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["priority"],
        )
        .expect("valid metric");
        let throttled = IntCounterVec::new(
            Opts::new(
                "tollgate_throttled_requests_total",
                "Verification requests refused with 429 because their class's budget was full",
            ),
            &["priority"],
        )
        .expect("valid metric");
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("tollgate_engine_batch_size", "Signatures per engine batch")
                .buckets(SIZE_BUCKETS.to_vec()),
        )
        .expect("valid metric");
        let batch_verify_duration = HistogramVec::new(
            HistogramOpts::new(
                "tollgate_batch_verify_duration_seconds",
                "Time to verdicts for one engine batch, bisection included",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["backend"],
        )
        .expect("valid metric");
        let signatures_verified = IntCounterVec::new(
            Opts::new(
                "tollgate_signatures_verified_total",
                "Signatures given a verdict by an engine",
            ),
            &["backend", "result"],
        )
        .expect("valid metric");
        let queue_depth = IntGauge::new(
            "tollgate_queue_depth",
            "Signatures waiting in the verification queue",
        )
        .expect("valid metric");
        let queue_capacity = IntGauge::new(
            "tollgate_queue_capacity",
            "Signatures the verification queue holds before requests get 429",
        )
        .expect("valid metric");
        let rejections = IntCounterVec::new(
            Opts::new(
                "tollgate_rejections_total",
                "Requests refused before verification, by error code",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let bisections = IntCounter::new(
            "tollgate_bisections_total",
            "Failed engine batches split in two to find bad items",
        )
        .expect("valid metric");
        let batch_checks = IntCounter::new(
            "tollgate_batch_checks_total",
            "Batch checks issued to the bulk engine, bisection included",
        )
        .expect("valid metric");
        let abandoned = IntCounterVec::new(
            Opts::new(
                "tollgate_abandoned_requests_total",
                "Admitted requests dropped unverified because their client had gone",
            ),
            &["priority"],
        )
        .expect("valid metric");
        let key_cache_lookups = IntCounterVec::new(
            Opts::new(
                "tollgate_key_cache_lookups_total",
                "Public key cache lookups",
            ),
            &["result"],
        )
        .expect("valid metric");
        let key_cache_evictions = IntCounter::new(
            "tollgate_key_cache_evictions_total",
            "Validated public keys evicted from the cache or refused by its admission policy",
        )
        .expect("valid metric");
        let build_info = IntGaugeVec::new(
            Opts::new(
                "tollgate_build_info",
                "Build information; the value is always 1",
            ),
            &["version"],
        )
        .expect("valid metric");
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        // Both classes are exported from the start, so a 429 rate reads 0 rather than no data.
        for priority in [Priority::Interactive, Priority::Bulk] {
            throttled.with_label_values(&[priority.name()]);
        }

        for collector in [
            Box::new(request_duration.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(queue_wait.clone()),
            Box::new(verification_duration.clone()),
            Box::new(throttled.clone()),
            Box::new(batch_size.clone()),
            Box::new(batch_verify_duration.clone()),
            Box::new(signatures_verified.clone()),
            Box::new(queue_depth.clone()),
            Box::new(queue_capacity.clone()),
            Box::new(rejections.clone()),
            Box::new(bisections.clone()),
            Box::new(batch_checks.clone()),
            Box::new(abandoned.clone()),
            Box::new(key_cache_lookups.clone()),
            Box::new(key_cache_evictions.clone()),
            Box::new(build_info.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Self {
            registry,
            request_duration,
            queue_wait,
            verification_duration,
            throttled,
            batch_size,
            batch_verify_duration,
            signatures_verified,
            queue_depth,
            queue_capacity,
            rejections,
            bisections,
            batch_checks,
            abandoned,
            key_cache_lookups,
            key_cache_evictions,
        }
    }

    /// Counts an engine's verdicts as valid and invalid signatures.
    pub fn count_verdicts(&self, backend: &str, verdicts: &[ItemVerdict]) {
        let valid = verdicts.iter().filter(|v| v.is_ok()).count() as u64;
        let counter = &self.signatures_verified;
        counter.with_label_values(&[backend, "valid"]).inc_by(valid);
        counter
            .with_label_values(&[backend, "invalid"])
            .inc_by(verdicts.len() as u64 - valid);
    }

    /// The registry, for collectors owned elsewhere (the device engine's).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into a Vec cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
