//! `Device`: the one interface to an accelerator. The ring protocol of `tollgate_abi` is
//! written here once, over [`RegisterAccess`]: jobs are queued in the submission ring with up
//! to [`DeviceConfig::in_flight`] in the device at once, completions are polled in host
//! memory. Every wait has a deadline and every failure an escalation: wait once more, soft
//! reset and resubmit, full reset and resubmit, mark down.

mod config;
pub mod identity;
pub mod rings;

use std::collections::VecDeque;
use std::time::Instant;

use tollgate_abi::layout::Shape;
use tollgate_abi::{control, mem, regs, status, CompletionStatus, Descriptor, Opcode};
use tracing::{debug, info, warn};

pub use config::DeviceConfig;
pub use identity::{Identity, IdentityMismatch, Manifest, ManifestError};
use rings::{entry_bytes, entry_words, Layout, RingState, GUARD_BYTE, GUARD_BYTES};

use crate::transport::{RegisterAccess, TransportError};

/// The most host memory a device's reported shape may make the driver map (a bound on what
/// the identity page can make us allocate).
pub const MAX_DMA_BYTES: usize = 256 << 20;

/// Why the device did not deliver a result.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// A register access failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The device is not the design of the manifest.
    #[error("device refused: {0}")]
    Identity(#[from] IdentityMismatch),
    /// The caller asked for something the device does not implement.
    #[error("device does not implement {0:?}")]
    Unsupported(Opcode),
    /// The device's buffers cannot hold even one round of the opcode.
    #[error("the device's buffers ({} input, {} output words) cannot hold one round of {opcode:?}", shape.in_words, shape.out_words)]
    NoRoom {
        /// The opcode asked for.
        opcode: Opcode,
        /// The device's shape.
        shape: Shape,
    },
    /// The caller's job is malformed (a bug of the caller, never retried).
    #[error("bad job: {0}")]
    BadJob(String),
    /// A deadline passed.
    #[error("timed out after {cycles} device cycles while {stage}")]
    Timeout {
        /// What the driver was waiting for.
        stage: &'static str,
        /// The deadline that passed.
        cycles: u64,
    },
    /// The device reported a failed job.
    #[error("device reported failure, error bits {error_bits:#x}")]
    Failed {
        /// [`regs::ERROR`] at the time.
        error_bits: u32,
    },
    /// The device broke the protocol (wrong tag, unknown status, missing output).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// Escalation ran out on this job: the device is now marked down until revived.
    #[error("device marked down, the escalation ran out: {last}")]
    Exhausted {
        /// The failure of the last resubmission.
        last: Box<DeviceError>,
    },
    /// The device was already marked down: refused without touching it.
    #[error("device is down (last failure: {last})")]
    Down {
        /// The failure that exhausted the escalation.
        last: String,
    },
}

/// The result of [`Device::run`]: all the device jobs the items were split into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    /// Points in [`tollgate_abi::Group::point_words`] format. ScalarMul*: one per item, in item
    /// order. Sums (Aggregate*, MultiScalar*): each device job's K partial sums (one per lane,
    /// [`Identity::lanes`]), the jobs' concatenated; the caller adds them all up. BucketSumG2:
    /// each job's K lane results (T then S), which [`crate::batch::signature_sum`] joins.
    pub words: Vec<u32>,
    /// Device cycles from descriptor fetch to completion, summed over the device jobs.
    pub device_cycles: u64,
    /// Of those, cycles moving data (input reads, output and completion writes).
    pub transfer_cycles: u64,
    /// Bytes the jobs' inputs took in host memory (what the device read, descriptors aside).
    pub bytes_in: u64,
    /// Bytes of the jobs' outputs (what the device wrote, completions aside).
    pub bytes_out: u64,
    /// Device jobs the items were split into.
    pub jobs: u32,
    /// Submissions in total (equal to `jobs` when nothing went wrong).
    pub attempts: u32,
}

/// Performance counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Cycles since the last full reset.
    pub cycles: u64,
    /// Cycles with a job in flight.
    pub busy_cycles: u64,
    /// Jobs completed.
    pub jobs_done: u32,
    /// Body runs (rounds × lanes) of completed jobs.
    pub runs_done: u32,
}

/// One device job: a slice of the caller's items laid out as the device's input.
struct DeviceJob<'a> {
    opcode: Opcode,
    rounds: u32,
    items: usize,
    /// Its items' words, laid out straight into its slot when submitted.
    words: &'a [u32],
    input_bytes: usize,
    output_bytes: usize,
}

/// A submitted job.
struct InFlight {
    slot: usize,
    tag: u16,
}

/// What one device job returned.
struct Done {
    /// Its results ([`Shape::results`]).
    words: Vec<u32>,
    device_cycles: u64,
    transfer_cycles: u64,
}

/// Where a deadline is measured: the simulator's cycle count, or wall time on hardware.
enum Deadline {
    Cycles(u64),
    Wall(Instant),
}

/// An accelerator behind some transport, checked against its manifest.
pub struct Device {
    transport: Box<dyn RegisterAccess>,
    manifest: Manifest,
    identity: Identity,
    config: DeviceConfig,
    layout: Layout,
    /// Bus address of the DMA region.
    iova: u64,
    ring: RingState,
    next_tag: u16,
    down: Option<String>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("backend", &self.transport.backend())
            .field("design", &self.manifest.design)
            .field("down", &self.down)
            .finish()
    }
}

impl Device {
    /// Resets the device, checks its identity against `manifest` and enables it.
    pub fn open(
        mut transport: Box<dyn RegisterAccess>,
        manifest: Manifest,
        config: DeviceConfig,
    ) -> Result<Device, DeviceError> {
        transport.full_reset()?;
        let identity = Identity::read(transport.as_mut())?;
        identity::check(&identity, &manifest)?;
        info!(
            backend = transport.backend(),
            design = %manifest.design,
            design_hash = %identity.design_hash,
            capabilities = format_args!("{:#x}", identity.capabilities),
            clock_khz = identity.clock_khz,
            "device identity matches its manifest"
        );
        let layout = Layout::new(&identity.shape(), config.in_flight);
        if layout.bytes > MAX_DMA_BYTES {
            return Err(DeviceError::Protocol(format!(
                "the reported buffers need {} bytes of DMA memory, more than {MAX_DMA_BYTES}",
                layout.bytes
            )));
        }
        let iova = transport.dma_map(layout.bytes)?;
        let mut device = Device {
            transport,
            manifest,
            identity,
            config,
            layout,
            iova,
            ring: RingState::reset(),
            next_tag: 1,
            down: None,
        };
        device.enable()?;
        device.probe_registers()?;
        Ok(device)
    }

    /// What the device said it is.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The backend's short name.
    pub fn backend(&self) -> &'static str {
        self.transport.backend()
    }

    /// `None` while healthy, else why it was marked down.
    pub fn down_reason(&self) -> Option<&str> {
        self.down.as_deref()
    }

    /// Marks the device down (e.g. after the host caught it computing a wrong result).
    pub fn mark_down(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        warn!(backend = self.backend(), %reason, "device marked down");
        self.down = Some(reason);
    }

    /// Cycles the transport has driven (simulation only).
    pub fn transport_cycles(&self) -> Option<u64> {
        self.transport.cycles()
    }

    /// The most items of `opcode` one job of [`Device::run`] carries (`run` cuts its items
    /// into jobs of this many, the last one fewer): the device's shape's bound, or
    /// [`DeviceConfig::max_job_items`] where that is lower; 0 if not one round fits.
    pub fn job_items(&self, opcode: Opcode) -> usize {
        let max_items = self.identity.shape().max_items(opcode);
        match self.config.max_job_items {
            Some(m) if max_items > 0 => m.clamp(1, max_items),
            _ => max_items,
        }
    }

    /// Runs `opcode` on `items` (concatenated in [`Opcode::item_words`] format): splits them
    /// into device jobs of at most [`Shape::max_items`] items, keeps up to
    /// [`DeviceConfig::in_flight`] of them in the device, and returns their results (see
    /// [`JobOutput::words`]). A job that fails gets the full escalation (the jobs queued
    /// behind it are dropped by the reset and resubmitted). Refuses at once while the device
    /// is down.
    pub fn run(&mut self, opcode: Opcode, items: &[u32]) -> Result<JobOutput, DeviceError> {
        if let Some(last) = &self.down {
            return Err(DeviceError::Down { last: last.clone() });
        }
        self.validate(opcode, items)?;
        let shape = self.identity.shape();
        let max_items = self.job_items(opcode);
        if max_items == 0 {
            return Err(DeviceError::NoRoom { opcode, shape });
        }
        let jobs = items
            .chunks(max_items * opcode.item_words())
            .map(|chunk| {
                let (rounds, input_bytes) = shape
                    .input_layout(opcode, chunk)
                    .map_err(|error| DeviceError::BadJob(error.to_string()))?;
                Ok(DeviceJob {
                    opcode,
                    rounds,
                    items: chunk.len() / opcode.item_words(),
                    words: chunk,
                    input_bytes,
                    output_bytes: shape.output_bytes(opcode, rounds),
                })
            })
            .collect::<Result<Vec<_>, DeviceError>>()?;
        let mut output = JobOutput {
            words: Vec::new(),
            device_cycles: 0,
            transfer_cycles: 0,
            bytes_in: 0,
            bytes_out: 0,
            jobs: jobs.len() as u32,
            attempts: 0,
        };
        let mut pending: VecDeque<InFlight> = VecDeque::new();
        let (mut next, mut finished) = (0, 0);
        // Jobs complete in order: the oldest in flight is always job `finished`.
        while finished < jobs.len() {
            // Keep the device fed: the next jobs' transfers overlap this one's compute.
            let mut failure = None;
            while next < jobs.len() && pending.len() < self.layout.slots.len() {
                let slot = (0..self.layout.slots.len())
                    .find(|s| pending.iter().all(|p| p.slot != *s))
                    .unwrap_or(0);
                output.attempts += 1;
                match self.submit(&jobs[next], slot) {
                    Ok(in_flight) => pending.push_back(in_flight),
                    Err(error) => {
                        failure = Some(error);
                        break;
                    }
                }
                next += 1;
            }
            let job = &jobs[finished];
            let result = match (failure, pending.front()) {
                (Some(error), _) => Err(error),
                (None, Some(head)) => match self.complete(job, head) {
                    Err(DeviceError::Timeout { stage, cycles }) => {
                        // The device may be merely slow: give the job one more deadline.
                        debug!(stage, cycles, "completion late; waiting once more");
                        self.complete(job, head)
                    }
                    other => other,
                },
                (None, None) => Err(DeviceError::Protocol("no job in flight".into())),
            };
            let done = match result {
                Ok(done) => {
                    pending.pop_front();
                    done
                }
                Err(error) => {
                    // The reset drops the jobs behind this one too: they are resubmitted.
                    pending.clear();
                    next = finished + 1;
                    let (done, attempts) = self.escalate(job, error)?;
                    output.attempts += attempts;
                    done
                }
            };
            self.record(&mut output, job, done);
            finished += 1;
        }
        Ok(output)
    }

    fn record(&self, output: &mut JobOutput, job: &DeviceJob, done: Done) {
        output.words.extend(done.words);
        output.device_cycles += done.device_cycles;
        output.transfer_cycles += done.transfer_cycles;
        output.bytes_in += job.input_bytes as u64;
        output.bytes_out += job.output_bytes as u64;
    }

    /// A job that failed with `first`: soft reset and resubmit it alone, full reset and
    /// resubmit, mark down. Returns the result and the submissions it took.
    fn escalate(
        &mut self,
        job: &DeviceJob,
        first: DeviceError,
    ) -> Result<(Done, u32), DeviceError> {
        warn!(backend = self.backend(), error = %first, "job failed; soft reset and resubmit");
        let second = match self.soft_reset().and_then(|()| self.attempt(job)) {
            Ok(done) => return Ok((done, 1)),
            Err(error) => error,
        };
        warn!(backend = self.backend(), error = %second, "job failed again; full reset");
        let third = match self.full_reset().and_then(|()| self.attempt(job)) {
            Ok(done) => return Ok((done, 2)),
            Err(error) => error,
        };
        self.mark_down(third.to_string());
        Err(DeviceError::Exhausted {
            last: Box::new(third),
        })
    }

    /// Tries to bring a down device back: full reset, identity, a register probe. The caller
    /// should then prove it with a known-answer job before trusting it.
    pub fn revive(&mut self) -> Result<(), DeviceError> {
        self.full_reset()?;
        self.down = None;
        info!(backend = self.backend(), "device revived after full reset");
        Ok(())
    }

    /// Drops every job in the device and clears errors, keeping identity and counters; the
    /// rings start over empty.
    pub fn soft_reset(&mut self) -> Result<(), DeviceError> {
        self.transport
            .write32(regs::CONTROL, control::SOFT_RESET | control::ENABLE)?;
        self.wait_ready()?;
        self.setup_rings()
    }

    /// Programs the window and the rings, zeroes the completion ring and refills the guard
    /// bands (the device's indices are zero after any reset).
    fn setup_rings(&mut self) -> Result<(), DeviceError> {
        let t = self.transport.as_mut();
        let layout = &self.layout;
        let bytes = layout.bytes as u64;
        let (sq, cq) = (self.iova + layout.sq as u64, self.iova + layout.cq as u64);
        for (reg, value) in [
            (regs::WINDOW_BASE_LO, self.iova as u32),
            (regs::WINDOW_BASE_HI, (self.iova >> 32) as u32),
            (regs::WINDOW_SIZE_LO, bytes as u32),
            (regs::WINDOW_SIZE_HI, (bytes >> 32) as u32),
            (regs::SQ_BASE_LO, sq as u32),
            (regs::SQ_BASE_HI, (sq >> 32) as u32),
            (regs::CQ_BASE_LO, cq as u32),
            (regs::CQ_BASE_HI, (cq >> 32) as u32),
            (regs::RING_LOG2, layout.ring_log2),
        ] {
            t.write32(reg, value)?;
        }
        t.dma_write(
            layout.cq,
            &vec![0; layout.entries() as usize * mem::BEAT_BYTES],
        )?;
        // Output buffers and their guards alike: wherever a job's output ends, a guard follows.
        for slot in &layout.slots {
            let start = slot.output - GUARD_BYTES;
            t.dma_write(
                start,
                &vec![GUARD_BYTE; slot.output_capacity + 2 * GUARD_BYTES],
            )?;
        }
        self.ring = RingState::reset();
        Ok(())
    }

    /// Function-level reset (or the reset pin), then the identity is checked again: a board can
    /// come back from reset with another bitstream.
    pub fn full_reset(&mut self) -> Result<(), DeviceError> {
        self.transport.full_reset()?;
        let identity = Identity::read(self.transport.as_mut())?;
        identity::check(&identity, &self.manifest)?;
        self.identity = identity;
        self.enable()?;
        self.probe_registers()
    }

    /// The DMA region's layout (where rings, buffers and guard bands are).
    pub fn dma_layout(&self) -> &Layout {
        &self.layout
    }

    /// A copy of the whole DMA region as the host sees it now.
    pub fn dma_snapshot(&mut self) -> Result<Vec<u8>, DeviceError> {
        let mut bytes = vec![0; self.layout.bytes];
        self.transport.dma_read(0, &mut bytes)?;
        Ok(bytes)
    }

    /// Reads the performance counters.
    pub fn counters(&mut self) -> Result<Counters, DeviceError> {
        let t = self.transport.as_mut();
        let cycles_lo = t.read32(regs::CYCLES_LO)? as u64;
        let cycles_hi = t.read32(regs::CYCLES_HI)? as u64;
        let busy_lo = t.read32(regs::BUSY_CYCLES_LO)? as u64;
        let busy_hi = t.read32(regs::BUSY_CYCLES_HI)? as u64;
        Ok(Counters {
            cycles: cycles_hi << 32 | cycles_lo,
            busy_cycles: busy_hi << 32 | busy_lo,
            jobs_done: t.read32(regs::JOBS_DONE)?,
            runs_done: t.read32(regs::RUNS_DONE)?,
        })
    }

    fn enable(&mut self) -> Result<(), DeviceError> {
        if self.identity.ring_max_log2 < self.layout.ring_log2 {
            return Err(DeviceError::Protocol(format!(
                "rings of 2^{} entries needed, the device takes 2^{}",
                self.layout.ring_log2, self.identity.ring_max_log2
            )));
        }
        self.soft_reset()?;
        let status = self.transport.read32(regs::STATUS)?;
        if status & status::ENABLED == 0 {
            return Err(DeviceError::Protocol(format!(
                "ENABLE did not stick: status {status:#x}"
            )));
        }
        Ok(())
    }

    /// The scratch register must read back what was written: the bus works both ways.
    fn probe_registers(&mut self) -> Result<(), DeviceError> {
        for pattern in [0xA5A5_5A5A, 0x5A5A_A5A5, self.next_tag as u32] {
            self.transport.write32(regs::SCRATCH, pattern)?;
            let read = self.transport.read32(regs::SCRATCH)?;
            if read != pattern {
                return Err(DeviceError::Protocol(format!(
                    "scratch register read {read:#x} after writing {pattern:#x}"
                )));
            }
        }
        Ok(())
    }

    fn validate(&self, opcode: Opcode, items: &[u32]) -> Result<(), DeviceError> {
        if !self.identity.supports(opcode) {
            return Err(DeviceError::Unsupported(opcode));
        }
        let item = opcode.item_words();
        if items.is_empty() || !items.len().is_multiple_of(item) {
            return Err(DeviceError::BadJob(format!(
                "{opcode:?} input of {} words is not a positive multiple of {item}",
                items.len()
            )));
        }
        Ok(())
    }

    fn deadline(&self, cycles: u64) -> Deadline {
        match self.transport.cycles() {
            Some(now) => Deadline::Cycles(now + cycles),
            None => {
                let wait = self.config.wall_wait(cycles, self.identity.clock_khz);
                Deadline::Wall(Instant::now() + wait)
            }
        }
    }

    fn expired(&self, deadline: &Deadline) -> bool {
        match deadline {
            Deadline::Cycles(limit) => self.transport.cycles().is_some_and(|now| now >= *limit),
            Deadline::Wall(limit) => Instant::now() >= *limit,
        }
    }

    fn pause(&mut self) -> Result<(), DeviceError> {
        let (cycles, pause) = (self.config.poll_cycles, self.config.poll_pause);
        Ok(self.transport.idle(cycles, pause)?)
    }

    fn wait_ready(&mut self) -> Result<(), DeviceError> {
        let cycles = self.config.base_cycles;
        let deadline = self.deadline(cycles);
        loop {
            if self.transport.read32(regs::STATUS)? & status::READY != 0 {
                return Ok(());
            }
            if self.expired(&deadline) {
                return Err(DeviceError::Timeout {
                    stage: "waiting for READY",
                    cycles,
                });
            }
            self.pause()?;
        }
    }

    fn take_tag(&mut self) -> u16 {
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1).max(1);
        tag
    }

    /// One submission (alone in the device) and its completion.
    fn attempt(&mut self, job: &DeviceJob) -> Result<Done, DeviceError> {
        let in_flight = self.submit(job, 0)?;
        self.complete(job, &in_flight)
    }

    /// Writes the job's input into its slot and its descriptor into the submission ring,
    /// then rings the doorbell.
    fn submit(&mut self, job: &DeviceJob, slot: usize) -> Result<InFlight, DeviceError> {
        let tag = self.take_tag();
        let s = self.layout.slots[slot];
        let descriptor = Descriptor {
            opcode: job.opcode as u32,
            rounds: job.rounds,
            tag,
            in_addr: self.iova + s.input as u64,
            in_len: job.input_bytes as u32,
            out_addr: self.iova + s.output as u64,
            out_len: job.output_bytes as u32,
        };
        let (entry, tail) = self.ring.push(self.layout.entries());
        let [_, (after, _)] = self.layout.guards(slot, job.output_bytes);
        let shape = self.identity.shape();
        let t = self.transport.as_mut();
        t.dma_fill(s.input, job.input_bytes, &mut |slot| {
            shape.write_input_bytes(job.opcode, job.words, job.rounds, slot)
        })?;
        // A larger job left its output here: the guard moves to this job's end.
        t.dma_write(after, &[GUARD_BYTE; GUARD_BYTES])?;
        t.dma_write(
            self.layout.sq + entry as usize * mem::BEAT_BYTES,
            &entry_bytes(&descriptor.encode()),
        )?;
        t.write32(regs::SQ_TAIL, tail)?;
        Ok(InFlight { slot, tag })
    }

    /// Waits (one deadline) for the completion of the oldest job in flight, then reads its
    /// output from host memory.
    fn complete(&mut self, job: &DeviceJob, in_flight: &InFlight) -> Result<Done, DeviceError> {
        let shape = self.identity.shape();
        let cycles = self.config.compute_cycles(&shape, job.opcode, job.rounds)
            + self
                .config
                .transfer_cycles(job.input_bytes + job.output_bytes);
        let deadline = self.deadline(cycles);
        let cq_slot = self.layout.cq + self.ring.cq_head as usize * mem::BEAT_BYTES;
        let completion = loop {
            let mut bytes = [0u8; mem::BEAT_BYTES];
            self.transport.dma_read(cq_slot, &mut bytes)?;
            if let Some(entry) = self.ring.new_completion(&entry_words(&bytes)) {
                break entry;
            }
            if self.expired(&deadline) {
                self.check_failed()?;
                return Err(DeviceError::Timeout {
                    stage: "waiting for completion",
                    cycles,
                });
            }
            self.pause()?;
        };
        let head = self.ring.pop(self.layout.entries());
        self.transport.write32(regs::CQ_HEAD, head)?;
        if completion.tag != in_flight.tag {
            return Err(DeviceError::Protocol(format!(
                "completion tag {:#x}, expected {:#x} (lost or repeated completion)",
                completion.tag, in_flight.tag
            )));
        }
        match CompletionStatus::from_u32(completion.status) {
            Some(CompletionStatus::Ok) => {}
            Some(CompletionStatus::Failed) => {
                return Err(DeviceError::Failed {
                    error_bits: completion.error,
                })
            }
            None => {
                return Err(DeviceError::Protocol(format!(
                    "unknown completion status {}",
                    completion.status
                )))
            }
        }
        let slot = self.layout.slots[in_flight.slot];
        let mut bytes = vec![0u8; job.output_bytes];
        self.transport.dma_read(slot.output, &mut bytes)?;
        for (offset, len) in self.layout.guards(in_flight.slot, job.output_bytes) {
            let mut guard = vec![0u8; len];
            self.transport.dma_read(offset, &mut guard)?;
            if guard.iter().any(|b| *b != GUARD_BYTE) {
                return Err(DeviceError::Protocol(format!(
                    "the device wrote outside job {:#x}'s output buffer (guard at {offset:#x})",
                    in_flight.tag
                )));
            }
        }
        let stream: Vec<u32> = bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let words = shape
            .results(job.opcode, job.rounds, job.items, &stream)
            .map_err(|error| DeviceError::Protocol(error.to_string()))?;
        let transfer = u64::from(completion.load_cycles) + u64::from(completion.store_cycles);
        Ok(Done {
            words,
            device_cycles: transfer + u64::from(completion.compute_cycles),
            transfer_cycles: transfer,
        })
    }

    /// A device stuck on a misconfiguration says so in STATUS.
    fn check_failed(&mut self) -> Result<(), DeviceError> {
        if self.transport.read32(regs::STATUS)? & status::ERROR != 0 {
            let error_bits = self.transport.read32(regs::ERROR)?;
            return Err(DeviceError::Failed { error_bits });
        }
        Ok(())
    }
}
