//! The verification service without HTTP: decodes requests strictly, queues the work for the
//! batcher thread and assembles per-item answers. The HTTP layer and in-process callers (the
//! benchmarks) use the same `Service`.

mod admission;
mod batcher;
mod caller;
mod error;
mod fold;
mod lane;
mod queue;

pub use admission::{CACHED_ITEM_COST, DEBT_WINDOW, FAILED_ITEM_COST, FRESH_ITEM_COST};
pub use caller::{Caller, Connection};
pub use error::RequestError;
pub use queue::PushError;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::api::wire::{
    AggregateRequest, AggregateResponse, AggregateVerifyRequest, FastAggregateVerifyRequest, Item,
    Priority, Verdict, VerdictResponse, VerifyRequest, VerifyResponse,
};
use crate::codec::{
    check_compressed_encoding, decode_signature, encode_public_key, encode_signature, parse_hex,
    ItemError, ItemSignature, KeyCache, PublicKey,
};
use crate::engine::{CpuEngine, Engine, ItemVerdict, SignedItem};
use crate::metrics::Metrics;
use crate::registry::{KeyRef, KeyRefs, Registry};
use crate::suite::{Scheme, Suite, Variant};
use admission::Admission;
use batcher::Batcher;
use fold::FastAggregate;
use lane::Lane;
use queue::{Job, Queue, Work};

/// Tunables of the service (see docs/API.md for the defaults and why).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfig {
    /// Used when a request names no scheme / variant.
    pub default_suite: Suite,
    /// Most signatures in one engine batch.
    pub max_batch_size: usize,
    /// How long the batcher waits for a batch to fill (0: take what the backlog holds).
    pub max_queue_delay: Duration,
    /// Most signatures waiting in the queue before requests get 429.
    pub queue_capacity: usize,
    /// Most items (or keys, or signatures) in one request.
    pub max_items: usize,
    /// Most validated public keys kept decoded.
    pub key_cache_capacity: usize,
    /// Most items (or keys) in one interactive request.
    pub interactive_max_items: usize,
    /// Most items admitted to the interactive lane at once before interactive requests get 429.
    pub interactive_capacity: usize,
    /// Item units (see `admission`) of bulk requests admitted at once, from before decoding
    /// until answered; a request that does not fit gets 429.
    pub admission_capacity: usize,
    /// Item units one client (peer address) may hold of `admission_capacity`.
    pub client_share: usize,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            default_suite: Suite::default(),
            // 8 rounds of the verification design's 32 lanes less the two entries a device
            // batch adds (its canary item, and the (−g₁, Σ rσ) pair / the negative canary):
            // one more would spill into a ninth round. 254 rather than 126 (4 rounds) halves
            // the host's per-batch costs on the device path (the canary and the one final
            // exponentiation, ≈ 0.8 ms a batch), which keeps its host CPU per item under
            // 10 µs; on the CPU the two cost the same per item (bench/RESULTS.md "Batch size
            // and the device's rounds").
            max_batch_size: 254,
            max_queue_delay: Duration::ZERO,
            queue_capacity: 4096,
            max_items: 1024,
            key_cache_capacity: 65536,
            interactive_max_items: 16,
            // Room for a few dozen waiting vehicles: at ~1 ms a signature the last one admitted
            // is answered within the 20 ms the class is for only if few are ahead of it, and an
            // interactive client that gets 429 can fall back to bulk at once.
            interactive_capacity: 64,
            // A full queue plus as much again being decoded: the queue, not admission, is what
            // bounds waiting verification work.
            admission_capacity: 8192,
            // One 1,024-item request of fresh keys (2 units an item) per client at a time, and
            // at least four clients' worth before the budget is spent.
            client_share: 2048,
        }
    }
}

/// The running service: an engine with its batcher thread for bulk work, the interactive lane
/// with its own CPU engine, and the key cache.
pub struct Service {
    config: ServiceConfig,
    engine: Arc<dyn Engine>,
    metrics: Arc<Metrics>,
    keys: KeyCache,
    queue: Arc<Queue>,
    admission: Admission,
    batcher: Mutex<Option<JoinHandle<()>>>,
    /// Registered keys, for items that name a `key_id` (none: every id is unknown).
    registry: Option<Arc<Registry>>,
    lane: Lane,
    /// The interactive lane's engine: the CPU, whatever the bulk backend, because a device or
    /// the pooled CPU engine would queue the request behind bulk batches.
    lane_engine: CpuEngine,
}

impl Service {
    /// Starts the batcher thread on `engine`.
    pub fn start(
        config: ServiceConfig,
        engine: Arc<dyn Engine>,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let queue = Arc::new(Queue::new(
            config.queue_capacity,
            metrics.queue_depth.clone(),
        ));
        let batcher = Batcher {
            queue: queue.clone(),
            engine: engine.clone(),
            metrics: metrics.clone(),
            max_batch_size: config.max_batch_size.max(1),
            max_queue_delay: config.max_queue_delay,
        };
        let handle = std::thread::Builder::new()
            .name("tollgate-batcher".into())
            .spawn(move || batcher.run())?;
        Ok(Self {
            keys: KeyCache::new(
                config.key_cache_capacity,
                metrics.key_cache_evictions.clone(),
            ),
            lane: Lane::start(config.interactive_capacity.max(1), metrics.clone())?,
            lane_engine: CpuEngine::on_caller_thread(),
            admission: Admission::new(config.admission_capacity, config.client_share),
            config,
            engine,
            metrics,
            queue,
            batcher: Mutex::new(Some(handle)),
            registry: None,
        })
    }

    /// Resolves `key_id`s through `registry`.
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Refuses new work, answers everything already queued, then stops the batcher thread.
    pub fn shutdown(&self) {
        self.lane.shutdown();
        self.queue.close();
        let handle = self
            .batcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(handle) = handle {
            // The batcher catches engine panics itself; a join error would be a bug in it.
            if handle.join().is_err() {
                tracing::error!("batcher thread panicked");
            }
        }
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub fn engine(&self) -> &dyn Engine {
        self.engine.as_ref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Validated keys held in the cache.
    pub fn cached_keys(&self) -> usize {
        self.keys.len()
    }

    /// Ready for traffic: not shutting down and the queue has room.
    pub fn is_ready(&self) -> bool {
        !self.queue.is_closed() && self.queue.depth() < self.queue.capacity()
    }

    fn suite(&self, scheme: Option<Scheme>, variant: Option<Variant>) -> Suite {
        Suite::new(
            scheme.unwrap_or(self.config.default_suite.scheme),
            variant.unwrap_or(self.config.default_suite.variant),
        )
    }

    fn check_count(&self, n: usize) -> Result<(), RequestError> {
        if n == 0 {
            return Err(RequestError::EmptyBatch);
        }
        if n > self.config.max_items {
            return Err(RequestError::BatchTooLarge {
                max: self.config.max_items,
                got: n,
            });
        }
        Ok(())
    }

    /// `check_count`, and the interactive class's own size limit.
    fn check_size(&self, priority: Priority, n: usize) -> Result<(), RequestError> {
        self.check_count(n)?;
        let max = self.config.interactive_max_items;
        if priority == Priority::Interactive && n > max {
            return Err(RequestError::InteractiveTooLarge { max, got: n });
        }
        Ok(())
    }

    /// A public key through the cache (KeyValidate once per distinct key).
    pub fn decode_public_key(
        &self,
        variant: Variant,
        hex: &str,
    ) -> Result<(PublicKey, Vec<u8>), ItemError> {
        let bytes = parse_hex(hex)?;
        let (result, hit) = self.keys.lookup(variant, &bytes);
        self.metrics
            .key_cache_lookups
            .with_label_values(&[if hit { "hit" } else { "miss" }])
            .inc();
        Ok((result?, bytes))
    }

    /// The validated key a request names: decoded from its bytes (through the cache), or the
    /// point registered under its id (never decompressed again).
    pub fn resolve_key(
        &self,
        variant: Variant,
        key: KeyRef<'_>,
    ) -> Result<(PublicKey, Vec<u8>), ItemError> {
        match (key, &self.registry) {
            (KeyRef::Bytes(hex), _) => self.decode_public_key(variant, hex),
            (KeyRef::Id(id), Some(registry)) => registry
                .resolve(variant, id)
                .map(|key| (key.public_key, key.compressed.to_vec())),
            (KeyRef::Id(_), None) => Err(ItemError::UnknownKey),
        }
    }

    /// The checks of a signature that cost no arithmetic (hex, length, flag bits, x < p), run
    /// before anything else of a request is decoded or even admitted.
    fn screen_signature(variant: Variant, hex: &str) -> Result<(), ItemError> {
        check_compressed_encoding(&parse_hex(hex)?, variant.signature_len()).map(|_| ())
    }

    /// Admission cost of an item with this key: more when the key must be validated first.
    fn key_cost(&self, variant: Variant, key: KeyRef<'_>) -> usize {
        match key {
            KeyRef::Bytes(hex) => match parse_hex(hex) {
                Ok(bytes) if !self.keys.contains(variant, &bytes) => FRESH_ITEM_COST,
                _ => CACHED_ITEM_COST,
            },
            KeyRef::Id(_) => CACHED_ITEM_COST,
        }
    }

    /// Admission cost of keys resolved one by one.
    fn keys_cost(&self, variant: Variant, keys: &KeyRefs) -> usize {
        (0..keys.len())
            .map(|index| self.key_cost(variant, keys.get(index)))
            .sum()
    }

    /// One signed item (its key already named by `key`), strictly decoded, message
    /// augmented for AUG.
    /// With `defer`, a signature is only screened (length, flags, x < p) and its
    /// decompression and subgroup check are left to the engine (`codec::ItemSignature`).
    pub fn decode_item(
        &self,
        suite: Suite,
        key: KeyRef<'_>,
        item: &Item,
        defer: bool,
    ) -> Result<SignedItem, ItemError> {
        let (public_key, pk_bytes) = self.resolve_key(suite.variant, key)?;
        let signature = ItemSignature::parse(suite.variant, parse_hex(&item.signature)?, defer)?;
        let message = augment(suite, &pk_bytes, parse_hex(&item.message)?);
        Ok(SignedItem {
            public_key,
            message,
            signature,
        })
    }

    /// Queues `job` for the batcher and waits for its verdicts.
    async fn verify_bulk(
        &self,
        job: Job,
        caller: Caller,
    ) -> Result<Vec<ItemVerdict>, RequestError> {
        let (reply, answer) = oneshot::channel();
        let suspect = caller
            .addr
            .is_some_and(|addr| self.admission.debt(addr) > 0);
        let work = Work {
            job,
            reply,
            caller,
            suspect,
        };
        match self.queue.try_push(work) {
            Ok(()) => {}
            Err(PushError::Full) => return Err(RequestError::QueueFull(Priority::Bulk)),
            Err(PushError::Closed) => return Err(RequestError::ShuttingDown),
        }
        receive(answer).await
    }

    /// Decodes a request with `decode` and verifies the job it yields (none when decoding
    /// already settled the answer), in the request's latency class: bulk is admitted by its
    /// `cost` (item units) first, then decodes on the blocking pool and batches through the
    /// queue; interactive does both on its lane within the lane's budget of `weight` items, so
    /// it waits neither behind bulk decoding nor behind bulk batches.
    async fn decode_and_verify<T: Send + 'static>(
        self: &Arc<Self>,
        priority: Priority,
        caller: &Caller,
        (weight, cost): (usize, usize),
        decode: impl FnOnce(&Service) -> (T, Option<Job>) + Send + 'static,
    ) -> Result<(T, Option<Vec<ItemVerdict>>), RequestError> {
        let started = Instant::now();
        let result = match priority {
            Priority::Bulk => self.decode_and_verify_bulk(caller, cost, decode).await,
            Priority::Interactive => {
                let this = self.clone();
                self.lane
                    .run(weight, move || {
                        let (decoded, job) = decode(&this);
                        let verdicts = job
                            .map(|job| job.run(&this.lane_engine))
                            .transpose()
                            .map_err(RequestError::from)?;
                        if let Some((verdicts, stats)) = &verdicts {
                            this.metrics.bisections.inc_by(stats.splits);
                            this.metrics
                                .count_verdicts(this.lane_engine.backend(), verdicts);
                        }
                        Ok((decoded, verdicts.map(|(v, _)| v)))
                    })
                    .await
            }
        };
        let label = [priority.name()];
        match &result {
            Err(RequestError::QueueFull(_)) => {
                self.metrics.throttled.with_label_values(&label).inc()
            }
            Err(RequestError::ClientGone) => {}
            _ => self
                .metrics
                .verification_duration
                .with_label_values(&label)
                .observe(started.elapsed().as_secs_f64()),
        }
        result
    }

    /// The bulk class: admission by `cost` before anything is decoded, decoding on the
    /// blocking pool unless the client has gone meanwhile, then the queue.
    async fn decode_and_verify_bulk<T: Send + 'static>(
        self: &Arc<Self>,
        caller: &Caller,
        cost: usize,
        decode: impl FnOnce(&Service) -> (T, Option<Job>) + Send + 'static,
    ) -> Result<(T, Option<Vec<ItemVerdict>>), RequestError> {
        let still_there = caller.clone();
        let _ticket = self
            .admission
            .admit(caller.addr, cost)
            .map_err(|_| RequestError::QueueFull(Priority::Bulk))?;
        let decoded = self
            .off_loop(move |s| {
                // Decoding waits its turn on the blocking pool: the client may be gone by then.
                (!still_there.is_gone()).then(|| decode(s))
            })
            .await?;
        let Some(decoded) = decoded else {
            self.metrics
                .abandoned
                .with_label_values(&[Priority::Bulk.name()])
                .inc();
            return Err(RequestError::ClientGone);
        };
        match decoded {
            (decoded, Some(job)) => {
                let verdicts = self.verify_bulk(job, caller.clone()).await?;
                Ok((decoded, Some(verdicts)))
            }
            (decoded, None) => Ok((decoded, None)),
        }
    }

    /// Runs CPU-bound decoding (subgroup checks, KeyValidate) on the runtime's blocking pool, so
    /// that the HTTP event loop keeps accepting and reading connections meanwhile. The server
    /// bounds that pool to one thread per HTTP worker.
    async fn off_loop<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Service) -> T + Send + 'static,
    ) -> Result<T, RequestError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || work(&this))
            .await
            .map_err(|e| RequestError::EngineFailure(format!("decoding task failed: {e}")))
    }

    /// Decodes every item not already refused by screening (`screened`, one per item):
    /// per-item errors, and the positions and values of the good ones.
    fn decode_items(
        &self,
        suite: Suite,
        request: &[Item],
        screened: Vec<Option<ItemError>>,
        defer: bool,
    ) -> (Vec<Option<ItemError>>, Vec<usize>, Vec<SignedItem>) {
        let mut results = Vec::with_capacity(request.len());
        let mut positions = Vec::new();
        let mut items = Vec::new();
        for ((index, item), refused) in request.iter().enumerate().zip(screened) {
            if let Some(error) = refused {
                results.push(Some(error));
                continue;
            }
            let key = KeyRef::of_item(index, item).expect("checked before decoding");
            match self.decode_item(suite, key, item, defer) {
                Ok(decoded) => {
                    positions.push(index);
                    items.push(decoded);
                    results.push(None);
                }
                Err(error) => results.push(Some(error)),
            }
        }
        (results, positions, items)
    }

    /// `POST /v1/verify`: a verdict per item, in order. Signatures are screened first (no
    /// arithmetic), and only the items that pass count for admission and get their keys
    /// validated: a request of garbage signatures costs no key work.
    pub async fn verify(
        self: &Arc<Self>,
        caller: &Caller,
        request: VerifyRequest,
    ) -> Result<VerifyResponse, RequestError> {
        self.check_size(request.priority, request.items.len())?;
        let mut keys = Vec::with_capacity(request.items.len());
        for (index, item) in request.items.iter().enumerate() {
            keys.push(KeyRef::of_item(index, item)?);
        }
        let suite = self.suite(request.scheme, request.variant);
        let screened: Vec<Option<ItemError>> = request
            .items
            .iter()
            .map(|item| Self::screen_signature(suite.variant, &item.signature).err())
            .collect();
        let cost = keys
            .into_iter()
            .zip(&screened)
            .filter(|(_, refused)| refused.is_none())
            .map(|(key, _)| self.key_cost(suite.variant, key))
            .sum();
        let weight = (request.items.len(), cost);
        let screened_out = screened.iter().filter(|refused| refused.is_some()).count();
        // Only the bulk engine may decode signatures itself: the interactive lane's is the CPU.
        let defer = request.priority == Priority::Bulk && self.engine.decodes_signatures(suite);
        let ((mut results, positions), verdicts) = self
            .decode_and_verify(request.priority, caller, weight, move |s| {
                let (results, positions, items) =
                    s.decode_items(suite, &request.items, screened, defer);
                let job = (!items.is_empty()).then_some(Job::Items { suite, items });
                ((results, positions), job)
            })
            .await?;
        // Items refused after admission (a key or signature that took arithmetic to refuse:
        // off the curve, outside the subgroup, ...) count as failed like invalid signatures:
        // they cost the server work, and a client that sends them pays for it in its later
        // admissions. Items refused by the screening before admission cost nothing.
        let mut failed = results.iter().filter(|error| error.is_some()).count() - screened_out;
        for (position, verdict) in positions.into_iter().zip(verdicts.unwrap_or_default()) {
            if let Err(error) = verdict {
                results[position] = Some(error);
                failed += 1;
            }
        }
        self.admission.charge_failures(caller.addr, failed);
        let results: Vec<Verdict> = results
            .into_iter()
            .map(|error| Verdict {
                valid: error.is_none(),
                error: error.map(|e| e.code().to_string()),
            })
            .collect();
        let valid = results.iter().filter(|v| v.valid).count();
        Ok(VerifyResponse {
            invalid: results.len() - valid,
            valid,
            results,
        })
    }

    /// `POST /v1/aggregate`: the sum of signatures, or of public keys (KeyValidate on each).
    pub async fn aggregate(
        self: &Arc<Self>,
        request: AggregateRequest,
    ) -> Result<AggregateResponse, RequestError> {
        self.off_loop(move |s| s.aggregate_points(request)).await?
    }

    fn aggregate_points(
        &self,
        request: AggregateRequest,
    ) -> Result<AggregateResponse, RequestError> {
        let variant = request.variant.unwrap_or(self.config.default_suite.variant);
        match (request.signatures, request.public_keys) {
            (Some(signatures), None) => {
                self.check_count(signatures.len())?;
                let mut points = Vec::with_capacity(signatures.len());
                for (index, hex) in signatures.iter().enumerate() {
                    let point = parse_hex(hex)
                        .and_then(|bytes| decode_signature(variant, &bytes))
                        .map_err(|error| RequestError::InvalidInput {
                            field: "signatures",
                            index,
                            error,
                        })?;
                    points.push(point);
                }
                let sum = self
                    .engine
                    .aggregate_signatures(&points)
                    .map_err(RequestError::from)?;
                Ok(AggregateResponse {
                    signature: Some(encode_signature(&sum)),
                    public_key: None,
                })
            }
            (None, Some(public_keys)) => {
                self.check_count(public_keys.len())?;
                let mut points = Vec::with_capacity(public_keys.len());
                for (index, hex) in public_keys.iter().enumerate() {
                    let (point, _) = self.decode_public_key(variant, hex).map_err(|error| {
                        RequestError::InvalidInput {
                            field: "public_keys",
                            index,
                            error,
                        }
                    })?;
                    points.push(point);
                }
                let sum = self
                    .engine
                    .aggregate_public_keys(&points)
                    .map_err(RequestError::from)?;
                Ok(AggregateResponse {
                    signature: None,
                    public_key: Some(encode_public_key(&sum)),
                })
            }
            _ => Err(RequestError::InvalidRequest(
                "exactly one of \"signatures\" or \"public_keys\" is required".into(),
            )),
        }
    }

    /// `POST /v1/aggregate-verify`: one signature over distinct (key, message) pairs
    /// (distinctness enforced for BASIC only, as the ciphersuites require).
    pub async fn aggregate_verify(
        self: &Arc<Self>,
        caller: &Caller,
        request: AggregateVerifyRequest,
    ) -> Result<VerdictResponse, RequestError> {
        let keys = KeyRefs::of_request(request.public_keys, request.key_ids)?;
        if keys.len() != request.messages.len() {
            return Err(RequestError::LengthMismatch {
                public_keys: keys.len(),
                messages: request.messages.len(),
            });
        }
        let priority = request.priority;
        self.check_size(priority, keys.len())?;
        let suite = self.suite(request.scheme, request.variant);
        if let Err(error) = Self::screen_signature(suite.variant, &request.signature) {
            return Ok(verdict(Err(error)));
        }
        let weight = (keys.len(), self.keys_cost(suite.variant, &keys));
        let (refused, verdicts) = self
            .decode_and_verify(priority, caller, weight, move |s| {
                let decoded = (|| -> Result<Job, ItemError> {
                    let signature =
                        decode_signature(suite.variant, &parse_hex(&request.signature)?)?;
                    let mut public_keys = Vec::with_capacity(keys.len());
                    let mut messages = Vec::with_capacity(request.messages.len());
                    for (index, msg_hex) in request.messages.iter().enumerate() {
                        let (pk, pk_bytes) = s.resolve_key(suite.variant, keys.get(index))?;
                        public_keys.push(pk);
                        messages.push(augment(suite, &pk_bytes, parse_hex(msg_hex)?));
                    }
                    if suite.scheme == Scheme::Basic {
                        let mut seen = HashSet::with_capacity(messages.len());
                        if !messages.iter().all(|m| seen.insert(m.as_slice())) {
                            return Err(ItemError::DuplicateMessage);
                        }
                    }
                    Ok(Job::Aggregate {
                        suite,
                        public_keys,
                        messages,
                        signature: Box::new(signature),
                    })
                })();
                split(decoded)
            })
            .await?;
        Ok(single_verdict(refused, verdicts))
    }

    /// `POST /v1/fast-aggregate-verify`: one signature by many keys over one message (POP).
    pub async fn fast_aggregate_verify(
        self: &Arc<Self>,
        caller: &Caller,
        request: FastAggregateVerifyRequest,
    ) -> Result<VerdictResponse, RequestError> {
        let keys = KeyRefs::of_request(request.public_keys, request.key_ids)?;
        if matches!(keys, KeyRefs::Bytes(_))
            && self
                .registry
                .as_ref()
                .is_some_and(|r| r.require_registered_keys())
        {
            return Err(RequestError::RegistrationRequired);
        }
        let priority = request.priority;
        self.check_size(priority, keys.len())?;
        let suite = Suite::new(
            Scheme::Pop,
            request.variant.unwrap_or(self.config.default_suite.variant),
        );
        if let Err(error) = Self::screen_signature(suite.variant, &request.signature) {
            return Ok(verdict(Err(error)));
        }
        let weight = (keys.len(), self.keys_cost(suite.variant, &keys));
        // Verified as one item of a bulk batch: its signature may be left to an engine that
        // decodes signatures itself, as a /v1/verify item's.
        let defer = priority == Priority::Bulk && self.engine.decodes_signatures(suite);
        let (refused, verdicts) = self
            .decode_and_verify(priority, caller, weight, move |s| {
                let decoded = (|| -> Result<Job, ItemError> {
                    let signature =
                        ItemSignature::parse(suite.variant, parse_hex(&request.signature)?, defer)?;
                    // The signature's code comes first (docs/API.md): a deferred one is
                    // decoded on the CPU when a later check fails.
                    let first = |error| signature.decoded().err().unwrap_or(error);
                    let mut public_keys = Vec::with_capacity(keys.len());
                    for index in 0..keys.len() {
                        let key = s
                            .resolve_key(suite.variant, keys.get(index))
                            .map_err(first)?;
                        public_keys.push(key.0);
                    }
                    let message = parse_hex(&request.message).map_err(first)?;
                    Ok(Job::FastAggregate(FastAggregate {
                        suite,
                        public_keys,
                        message,
                        signature,
                    }))
                })();
                split(decoded)
            })
            .await?;
        Ok(single_verdict(refused, verdicts))
    }
}

/// A decoding outcome as `decode_and_verify` takes it: the item error that settles the answer
/// already, or the job to verify.
fn split(decoded: Result<Job, ItemError>) -> (Option<ItemError>, Option<Job>) {
    match decoded {
        Ok(job) => (None, Some(job)),
        Err(error) => (Some(error), None),
    }
}

/// The answer of an aggregate endpoint: the decoding error, else the one verdict.
fn single_verdict(
    refused: Option<ItemError>,
    verdicts: Option<Vec<ItemVerdict>>,
) -> VerdictResponse {
    verdict(match (refused, verdicts.as_deref()) {
        (Some(error), _) => Err(error),
        (None, Some([one])) => *one,
        (None, _) => Err(ItemError::InvalidSignature),
    })
}

/// AUG signs pk ‖ msg; the other schemes sign msg.
fn augment(suite: Suite, pk_bytes: &[u8], message: Vec<u8>) -> Vec<u8> {
    if suite.scheme == Scheme::Aug {
        [pk_bytes, &message].concat()
    } else {
        message
    }
}

fn verdict(result: Result<(), ItemError>) -> VerdictResponse {
    VerdictResponse {
        valid: result.is_ok(),
        error: result.err().map(|e| e.code().to_string()),
    }
}

async fn receive<T>(answer: oneshot::Receiver<Result<T, RequestError>>) -> Result<T, RequestError> {
    // The batcher answers every job it takes; a dropped sender means it is gone.
    answer.await.unwrap_or(Err(RequestError::ShuttingDown))
}
