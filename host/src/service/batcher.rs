//! The batcher: the one thread that calls the engine for verification. It forms engine
//! batches across concurrent requests, gets per-item verdicts by bisection and answers
//! every job it takes, even if the engine panics.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::queue::{Job, Queue, Queued, Reply, Work};
use super::RequestError;
use crate::api::wire::Priority;
use crate::engine::{verify_jobs, Engine, EngineError, ItemVerdict, SignedItem};
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
            let now = Instant::now();
            for job in &batch {
                self.metrics
                    .queue_wait
                    .with_label_values(&[Priority::Bulk.name()])
                    .observe(now.duration_since(job.enqueued).as_secs_f64());
            }
            self.process(batch);
        }
    }

    fn process(&self, batch: Vec<Queued>) {
        // Items of the same suite share one engine batch; aggregates are single checks. Jobs of
        // suspect clients (recent failures) are checked each on its own instead: when they
        // fail, as they likely do, honest jobs are not checked a second time.
        let mut by_suite: HashMap<Suite, Vec<ItemsJob>> = HashMap::new();
        let mut suites = Vec::new();
        let mut suspects = Vec::new();
        for queued in batch {
            // The client went away: verifying would help no one.
            if queued.work.is_abandoned() {
                self.metrics
                    .abandoned
                    .with_label_values(&[Priority::Bulk.name()])
                    .inc();
                // Answered only so that a handler still waiting does not report a shutdown.
                let _ = queued.work.reply.send(Err(RequestError::ClientGone));
                continue;
            }
            let Work {
                job,
                reply,
                suspect,
                ..
            } = queued.work;
            match job {
                Job::Items { suite, items } if suspect => {
                    suspects.push((suite, ItemsJob { items, reply }))
                }
                Job::Items { suite, items } => {
                    if !by_suite.contains_key(&suite) {
                        suites.push(suite);
                    }
                    by_suite
                        .entry(suite)
                        .or_default()
                        .push(ItemsJob { items, reply });
                }
                single => {
                    let started = Instant::now();
                    let verdicts = guarded(|| single.run(self.engine.as_ref())).map(|(v, _)| v);
                    self.observe(started, single.weight(), verdicts.as_ref().ok());
                    // The requester may have gone away; nothing to do then.
                    let _ = reply.send(verdicts.map_err(RequestError::from));
                }
            }
        }
        for suite in suites {
            let jobs = by_suite.remove(&suite).unwrap_or_default();
            self.verify_jobs(suite, jobs);
        }
        for (suite, job) in suspects {
            self.verify_jobs(suite, vec![job]);
        }
    }

    fn verify_jobs(&self, suite: Suite, jobs: Vec<ItemsJob>) {
        let refs: Vec<&SignedItem> = jobs.iter().flat_map(|job| job.items.iter()).collect();
        let lens: Vec<usize> = jobs.iter().map(|job| job.items.len()).collect();
        let mut verdicts = Vec::with_capacity(refs.len());
        let mut failure = None;
        // A single job larger than max_batch_size is verified in several engine batches.
        for (chunk, chunk_lens) in chunks(&refs, &lens, self.max_batch_size.max(1)) {
            let started = Instant::now();
            match guarded(|| verify_jobs(self.engine.as_ref(), suite, chunk, &chunk_lens)) {
                Ok((chunk_verdicts, stats)) => {
                    self.metrics.bisections.inc_by(stats.splits);
                    self.metrics.batch_checks.inc_by(stats.checks);
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
                Some(err) => Err(RequestError::EngineFailure(err.to_string())),
                None => Ok(verdicts[offset..offset + n].to_vec()),
            };
            offset += n;
            let _ = job.reply.send(answer);
        }
    }

    fn observe(&self, started: Instant, size: usize, verdicts: Option<&Vec<ItemVerdict>>) {
        let backend = self.engine.backend();
        self.metrics.batch_size.observe(size as f64);
        self.metrics
            .batch_verify_duration
            .with_label_values(&[backend])
            .observe(started.elapsed().as_secs_f64());
        if let Some(verdicts) = verdicts {
            self.metrics.count_verdicts(backend, verdicts);
        }
    }
}

struct ItemsJob {
    items: Vec<SignedItem>,
    reply: Reply,
}

/// Cuts `items`, the items of consecutive jobs of `lens` items each, into engine batches of at
/// most `max` items, each with the lengths of the job pieces it holds.
fn chunks<'a, T>(items: &'a [T], lens: &[usize], max: usize) -> Vec<(&'a [T], Vec<usize>)> {
    let mut out = Vec::new();
    let mut pieces = lens.iter().copied();
    let mut left_in_job = 0;
    for chunk in items.chunks(max) {
        let mut chunk_lens = Vec::new();
        let mut room = chunk.len();
        while room > 0 {
            if left_in_job == 0 {
                left_in_job = pieces.next().unwrap_or(room);
                continue;
            }
            let take = left_in_job.min(room);
            chunk_lens.push(take);
            left_in_job -= take;
            room -= take;
        }
        out.push((chunk, chunk_lens));
    }
    out
}

/// Runs engine work, turning a panic into an error so that every waiting request is answered.
fn guarded<T>(work: impl FnOnce() -> Result<T, EngineError>) -> Result<T, EngineError> {
    catch_unwind(AssertUnwindSafe(work))
        .unwrap_or_else(|_| Err(EngineError::Backend("engine panicked".into())))
}
