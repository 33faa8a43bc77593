//! The batcher: the one thread that calls the engine for verification. It forms engine
//! batches across concurrent requests, gets per-item verdicts by bisection and answers
//! every job it takes, even if the engine panics. Fast aggregates join those batches as
//! one-item jobs, their keys summed here on the CPU (`fold`).

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
        // Items of the same suite share one engine batch, a fast aggregate as one item;
        // aggregate verifications are single checks. Jobs of suspect clients (recent failures)
        // are checked each on its own instead: when they fail, as they likely do, honest jobs
        // are not checked a second time.
        let mut batches = SuiteBatches::default();
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
                Job::Items { suite, items } => {
                    batches.add(suite, suspect, ItemsJob { items, reply })
                }
                Job::FastAggregate(fast) => match guarded(|| fast.fold()) {
                    Ok(Ok(item)) => batches.add(
                        fast.suite,
                        suspect,
                        ItemsJob {
                            items: vec![item],
                            reply,
                        },
                    ),
                    // Settled by the key sum (the identity): the CPU's verdict.
                    Ok(Err(error)) => {
                        let verdicts = vec![Err(error)];
                        self.metrics.count_verdicts(KEY_SUMS_BACKEND, &verdicts);
                        let _ = reply.send(Ok(verdicts));
                    }
                    Err(err) => {
                        let _ = reply.send(Err(RequestError::from(err)));
                    }
                },
                single => {
                    let started = Instant::now();
                    let verdicts = guarded(|| single.run(self.engine.as_ref())).map(|(v, _)| v);
                    self.observe(started, single.weight(), verdicts.as_ref().ok());
                    // The requester may have gone away; nothing to do then.
                    let _ = reply.send(verdicts.map_err(RequestError::from));
                }
            }
        }
        for (suite, jobs) in batches.shared {
            self.verify_jobs(suite, jobs);
        }
        for (suite, job) in batches.suspects {
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

/// The backend label of verdicts the key sum settles: it is always made on the CPU.
const KEY_SUMS_BACKEND: &str = "cpu";

struct ItemsJob {
    items: Vec<SignedItem>,
    reply: Reply,
}

/// The item jobs of one popped batch: those of each suite together, in the order the suites
/// first came, and the suspects' apart.
#[derive(Default)]
struct SuiteBatches {
    shared: Vec<(Suite, Vec<ItemsJob>)>,
    suspects: Vec<(Suite, ItemsJob)>,
}

impl SuiteBatches {
    fn add(&mut self, suite: Suite, suspect: bool, job: ItemsJob) {
        if suspect {
            self.suspects.push((suite, job));
            return;
        }
        match self.shared.iter_mut().find(|(s, _)| *s == suite) {
            Some((_, jobs)) => jobs.push(job),
            None => self.shared.push((suite, vec![job])),
        }
    }
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
