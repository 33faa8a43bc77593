//! The batcher: the one thread that calls the engine for verification. It forms engine
//! batches across concurrent requests, gets per-item verdicts by bisection and answers
//! every job it takes, even if the engine panics.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::queue::{Queue, Queued, Work};
use crate::engine::{verify_each, Engine, EngineError, SignedItem};
use crate::metrics::Metrics;
use crate::suite::Suite;

pub struct Batcher {
    pub queue: Arc<Queue>,
    pub engine: Arc<dyn Engine>,
    pub metrics: Arc<Metrics>,
    pub max_batch_size: usize,
    pub max_queue_delay: Duration,
}

impl Batcher {
    /// Runs until the queue is closed and drained.
    pub fn run(self) {
        while let Some(batch) = self
            .queue
            .pop_batch(self.max_batch_size, self.max_queue_delay)
        {
            self.metrics.queue_depth.set(self.queue.depth() as i64);
            let now = Instant::now();
            for job in &batch {
                self.metrics
                    .queue_wait
                    .observe(now.duration_since(job.enqueued).as_secs_f64());
            }
            self.process(batch);
        }
    }

    fn process(&self, batch: Vec<Queued>) {
        // Items of the same suite share one engine batch; aggregates are single checks.
        let mut by_suite: HashMap<Suite, Vec<ItemsJob>> = HashMap::new();
        let mut suites = Vec::new();
        for queued in batch {
            match queued.work {
                Work::Items {
                    suite,
                    items,
                    reply,
                } => {
                    if !by_suite.contains_key(&suite) {
                        suites.push(suite);
                    }
                    by_suite
                        .entry(suite)
                        .or_default()
                        .push(ItemsJob { items, reply });
                }
                Work::Aggregate {
                    suite,
                    public_keys,
                    messages,
                    signature,
                    reply,
                } => {
                    let started = Instant::now();
                    let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
                    let verdict = guarded(|| {
                        self.engine
                            .verify_aggregate(suite, &public_keys, &messages, &signature)
                    });
                    self.observe(
                        started,
                        public_keys.len(),
                        verdict.as_ref().ok().map(|&v| vec![v]).as_deref(),
                    );
                    // The requester may have gone away; nothing to do then.
                    let _ = reply.send(verdict);
                }
            }
        }
        for suite in suites {
            let jobs = by_suite.remove(&suite).unwrap_or_default();
            self.verify_jobs(suite, jobs);
        }
    }

    fn verify_jobs(&self, suite: Suite, jobs: Vec<ItemsJob>) {
        let refs: Vec<&SignedItem> = jobs.iter().flat_map(|job| job.items.iter()).collect();
        let mut verdicts = Vec::with_capacity(refs.len());
        let mut failure = None;
        // A single job larger than max_batch_size is verified in several engine batches.
        for chunk in refs.chunks(self.max_batch_size.max(1)) {
            let started = Instant::now();
            match guarded(|| verify_each(self.engine.as_ref(), suite, chunk)) {
                Ok((chunk_verdicts, stats)) => {
                    self.metrics.bisections.inc_by(stats.splits);
                    self.observe(started, chunk.len(), Some(&chunk_verdicts));
                    verdicts.extend(chunk_verdicts);
                }
                Err(err) => {
                    failure = Some(err);
                    break;
                }
            }
        }
        let mut offset = 0;
        for job in jobs {
            let n = job.items.len();
            let answer = match &failure {
                Some(err) => Err(EngineError::Backend(err.to_string())),
                None => Ok(verdicts[offset..offset + n].to_vec()),
            };
            offset += n;
            let _ = job.reply.send(answer);
        }
    }

    fn observe(&self, started: Instant, size: usize, verdicts: Option<&[bool]>) {
        let backend = self.engine.backend();
        self.metrics.batch_size.observe(size as f64);
        self.metrics
            .batch_verify_duration
            .with_label_values(&[backend])
            .observe(started.elapsed().as_secs_f64());
        if let Some(verdicts) = verdicts {
            let valid = verdicts.iter().filter(|&&v| v).count() as u64;
            self.metrics
                .signatures_verified
                .with_label_values(&[backend, "valid"])
                .inc_by(valid);
            self.metrics
                .signatures_verified
                .with_label_values(&[backend, "invalid"])
                .inc_by(verdicts.len() as u64 - valid);
        }
    }
}

struct ItemsJob {
    items: Vec<SignedItem>,
    reply: tokio::sync::oneshot::Sender<Result<Vec<bool>, EngineError>>,
}

/// Runs engine work, turning a panic into an error so that every waiting request is answered.
fn guarded<T>(work: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    catch_unwind(AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err(EngineError::Backend("engine panicked".into())))
}
