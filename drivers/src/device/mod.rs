//! `Device`: the one interface to an accelerator. The job protocol of `tollgate_abi` is written
//! here once, over [`RegisterAccess`]; every wait has a deadline and every failure an
//! escalation: wait once more, soft reset and resubmit, full reset and resubmit, mark down.

mod config;
pub mod identity;

use std::time::{Duration, Instant};

use tollgate_abi::layout::Shape;
use tollgate_abi::{control, regs, status, Completion, CompletionStatus, Opcode};
use tracing::{debug, info, warn};

pub use config::DeviceConfig;
pub use identity::{Identity, IdentityMismatch, Manifest, ManifestError};

use crate::transport::{RegisterAccess, TransportError};

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
    /// [`Identity::lanes`]), the jobs' concatenated; the caller adds them all up.
    pub words: Vec<u32>,
    /// Device cycles from doorbell to completion, summed over the device jobs
    /// ([`regs::LAST_JOB_CYCLES`]).
    pub device_cycles: u64,
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

/// One device job: a slice of the caller's items laid out as the device's stream.
struct DeviceJob {
    opcode: Opcode,
    rounds: u32,
    items: usize,
    stream: Vec<u32>,
}

/// A submitted job.
struct InFlight {
    tag: u16,
    compute_cycles: u64,
}

/// What one device job returned.
struct Done {
    /// Its results ([`Shape::results`]).
    words: Vec<u32>,
    device_cycles: u32,
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
        let mut device = Device {
            transport,
            manifest,
            identity,
            config,
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

    /// Runs `opcode` on `items` (concatenated in [`Opcode::item_words`] format): splits them
    /// into device jobs of at most [`Shape::max_items`] items, runs each with the full
    /// escalation, and returns their results (see [`JobOutput::words`]). Refuses at once while
    /// the device is down.
    pub fn run(&mut self, opcode: Opcode, items: &[u32]) -> Result<JobOutput, DeviceError> {
        if let Some(last) = &self.down {
            return Err(DeviceError::Down { last: last.clone() });
        }
        self.validate(opcode, items)?;
        let shape = self.identity.shape();
        let max_items = shape.max_items(opcode);
        if max_items == 0 {
            return Err(DeviceError::NoRoom { opcode, shape });
        }
        let mut output = JobOutput {
            words: Vec::new(),
            device_cycles: 0,
            jobs: 0,
            attempts: 0,
        };
        for chunk in items.chunks(max_items * opcode.item_words()) {
            let (rounds, stream) = shape
                .input_stream(opcode, chunk)
                .map_err(|error| DeviceError::BadJob(error.to_string()))?;
            let job = DeviceJob {
                opcode,
                rounds,
                items: chunk.len() / opcode.item_words(),
                stream,
            };
            let (done, attempts) = self.escalate(&job)?;
            output.words.extend(done.words);
            output.device_cycles += u64::from(done.device_cycles);
            output.jobs += 1;
            output.attempts += attempts;
        }
        Ok(output)
    }

    /// One device job with the full escalation: wait once more, soft reset and resubmit, full
    /// reset and resubmit, mark down. Returns the result and the submissions it took.
    fn escalate(&mut self, job: &DeviceJob) -> Result<(Done, u32), DeviceError> {
        let first = match self.submit(job) {
            Ok(in_flight) => match self.complete(job, &in_flight) {
                Ok(done) => return Ok((done, 1)),
                Err(DeviceError::Timeout { stage, cycles }) => {
                    // The device may be merely slow: give the same job one more deadline.
                    debug!(stage, cycles, "completion late; waiting once more");
                    match self.complete(job, &in_flight) {
                        Ok(done) => return Ok((done, 1)),
                        Err(error) => error,
                    }
                }
                Err(error) => error,
            },
            Err(error) => error,
        };
        warn!(backend = self.backend(), error = %first, "job failed; soft reset and resubmit");
        let second = match self.soft_reset().and_then(|()| self.attempt(job)) {
            Ok(done) => return Ok((done, 2)),
            Err(error) => error,
        };
        warn!(backend = self.backend(), error = %second, "job failed again; full reset");
        let third = match self.full_reset().and_then(|()| self.attempt(job)) {
            Ok(done) => return Ok((done, 3)),
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

    /// Drops the job in flight and clears errors, keeping identity and counters.
    pub fn soft_reset(&mut self) -> Result<(), DeviceError> {
        self.transport
            .write32(regs::CONTROL, control::SOFT_RESET | control::ENABLE)?;
        self.wait_ready()
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
        self.transport
            .write32(regs::CONTROL, control::SOFT_RESET | control::ENABLE)?;
        self.wait_ready()?;
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
                let khz = u64::from(self.identity.clock_khz.max(1));
                Deadline::Wall(Instant::now() + Duration::from_micros(cycles * 1000 / khz))
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

    /// One submission and its completion.
    fn attempt(&mut self, job: &DeviceJob) -> Result<Done, DeviceError> {
        let in_flight = self.submit(job)?;
        self.complete(job, &in_flight)
    }

    /// Rings the doorbell and streams the whole input into the device's buffer.
    fn submit(&mut self, job: &DeviceJob) -> Result<InFlight, DeviceError> {
        let tag = self.take_tag();
        let status = self.transport.read32(regs::STATUS)?;
        if status & status::READY == 0 {
            return Err(DeviceError::Protocol(format!(
                "not READY before submit: {status:#x}"
            )));
        }
        let t = self.transport.as_mut();
        t.write32(regs::JOB_OPCODE, job.opcode as u32)?;
        t.write32(regs::JOB_ROUNDS, job.rounds)?;
        t.write32(regs::DOORBELL, tag as u32)?;
        let cycles = self.config.bus_cycles(job.stream.len());
        let deadline = self.deadline(cycles);
        let mut sent = 0;
        while sent < job.stream.len() {
            let free = self.transport.read32(regs::IN_FIFO_FREE)? as usize;
            let end = (sent + free).min(job.stream.len());
            for word in &job.stream[sent..end] {
                self.transport.write32(regs::IN_FIFO, *word)?;
            }
            if end == sent {
                self.check_failed()?;
                if self.expired(&deadline) {
                    return Err(DeviceError::Timeout {
                        stage: "streaming input",
                        cycles,
                    });
                }
                self.pause()?;
            }
            sent = end;
        }
        Ok(InFlight {
            tag,
            compute_cycles: self.config.compute_cycles(
                &self.identity.shape(),
                job.opcode,
                job.rounds,
            ),
        })
    }

    /// Waits (one deadline) for the completion of the job in flight, then reads its output,
    /// which is all in the output buffer by then.
    fn complete(&mut self, job: &DeviceJob, in_flight: &InFlight) -> Result<Done, DeviceError> {
        let cycles = in_flight.compute_cycles;
        let deadline = self.deadline(cycles);
        let completion = loop {
            if let Some(done) = Completion::decode(self.transport.read32(regs::COMPLETION)?) {
                break done;
            }
            if self.expired(&deadline) {
                return Err(DeviceError::Timeout {
                    stage: "waiting for completion",
                    cycles,
                });
            }
            self.pause()?;
        };
        if completion.tag != in_flight.tag {
            return Err(DeviceError::Protocol(format!(
                "completion tag {:#x}, submitted {:#x}",
                completion.tag, in_flight.tag
            )));
        }
        match CompletionStatus::from_u32(completion.status) {
            Some(CompletionStatus::Ok) => {}
            Some(CompletionStatus::Failed) => {
                let error_bits = self.transport.read32(regs::ERROR)?;
                return Err(DeviceError::Failed { error_bits });
            }
            None => {
                return Err(DeviceError::Protocol(format!(
                    "unknown completion status {}",
                    completion.status
                )))
            }
        }
        let shape = self.identity.shape();
        let expected = shape.output_words(job.opcode, job.rounds);
        let waiting = self.transport.read32(regs::OUT_FIFO_COUNT)? as usize;
        if waiting != expected {
            return Err(DeviceError::Protocol(format!(
                "completed with {waiting} result words waiting, the job makes {expected}"
            )));
        }
        let mut stream = Vec::with_capacity(expected);
        for _ in 0..expected {
            stream.push(self.transport.read32(regs::OUT_FIFO)?);
        }
        let device_cycles = self.transport.read32(regs::LAST_JOB_CYCLES)?;
        self.transport.write32(regs::COMPLETION_ACK, 1)?;
        let words = shape
            .results(job.opcode, job.rounds, job.items, &stream)
            .map_err(|error| DeviceError::Protocol(error.to_string()))?;
        Ok(Done {
            words,
            device_cycles,
        })
    }

    /// A device that failed the job while the host was still streaming says so in STATUS.
    fn check_failed(&mut self) -> Result<(), DeviceError> {
        if self.transport.read32(regs::STATUS)? & status::ERROR != 0 {
            let error_bits = self.transport.read32(regs::ERROR)?;
            return Err(DeviceError::Failed { error_bits });
        }
        Ok(())
    }
}
