//! `Device`: the one interface to an accelerator. The job protocol of `tollgate_abi` is written
//! here once, over [`RegisterAccess`]; every wait has a deadline and every failure an
//! escalation: wait once more, soft reset and resubmit, full reset and resubmit, mark down.

pub mod identity;

use std::time::{Duration, Instant};

use tollgate_abi::{control, regs, status, Completion, CompletionStatus, Opcode};
use tracing::{debug, info, warn};

pub use identity::{Identity, IdentityMismatch, Manifest, ManifestError};

use crate::transport::{RegisterAccess, TransportError};

/// Deadlines and polling, in device clock cycles so that they mean the same on a board and in
/// simulation (where wall time depends on the simulator's speed, not on the design).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Fixed part of a job's deadline.
    pub base_cycles: u64,
    /// Added per point of an aggregation job (doubled for G2).
    pub cycles_per_point: u64,
    /// Added per (scalar, point) item (doubled for G2).
    pub cycles_per_scalar_item: u64,
    /// Cycles the device is left alone between two polls.
    pub poll_cycles: u32,
    /// The same pause on real hardware.
    pub poll_pause: Duration,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        // From the engine's measured costs (bench/RESULTS.md "Curve engine"): a lane's 64-bit
        // scalar multiplication takes ~52k (G1) / ~150k (G2) cycles, amortised ~1.3k / ~3.8k
        // per item over 40 lanes; aggregation ~13 / ~43 cycles per point. Deadlines allow
        // about twice that plus the register traffic of streaming the input.
        DeviceConfig {
            base_cycles: 400_000,
            cycles_per_point: 200,
            cycles_per_scalar_item: 4_000,
            poll_cycles: 64,
            poll_pause: Duration::from_micros(5),
        }
    }
}

impl DeviceConfig {
    /// The deadline of a job of `count` items, in device cycles.
    pub fn job_cycles(&self, opcode: Opcode, count: u32) -> u64 {
        let per_item = if opcode.has_scalars() {
            self.cycles_per_scalar_item
        } else {
            self.cycles_per_point
        };
        let group = match opcode.group() {
            tollgate_abi::Group::G1 => 1,
            tollgate_abi::Group::G2 => 2,
        };
        self.base_cycles + per_item * group * count as u64
    }
}

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
    /// Escalation ran out: the device is marked down until revived.
    #[error("device is down (last failure: {last})")]
    Down {
        /// The failure that exhausted the escalation.
        last: String,
    },
}

/// A completed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    /// The result words, [`Opcode::output_words`] of them.
    pub words: Vec<u32>,
    /// Device cycles from doorbell to completion, from [`regs::LAST_JOB_CYCLES`].
    pub device_cycles: u32,
    /// How many submissions it took (1 when nothing went wrong).
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
    /// Items consumed.
    pub items_done: u32,
}

/// A submitted job: what came back so far.
struct InFlight {
    tag: u16,
    expected: usize,
    output: Vec<u32>,
    cycles: u64,
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

    /// Runs a job with the full escalation. Refuses at once while the device is down.
    pub fn run(&mut self, opcode: Opcode, input: &[u32]) -> Result<JobOutput, DeviceError> {
        if let Some(last) = &self.down {
            return Err(DeviceError::Down { last: last.clone() });
        }
        let count = self.validate(opcode, input)?;
        let first = match self.submit(opcode, count, input) {
            Ok(mut job) => match self.complete(&mut job) {
                Ok(output) => return Ok(output),
                Err(DeviceError::Timeout { stage, cycles }) => {
                    // The device may be merely slow: give the same job one more deadline.
                    debug!(stage, cycles, "completion late; waiting once more");
                    match self.complete(&mut job) {
                        Ok(output) => return Ok(output),
                        Err(error) => error,
                    }
                }
                Err(error) => error,
            },
            Err(error) => error,
        };
        warn!(backend = self.backend(), error = %first, "job failed; soft reset and resubmit");
        let second = match self
            .soft_reset()
            .and_then(|()| self.attempt(opcode, count, input))
        {
            Ok(output) => {
                return Ok(JobOutput {
                    attempts: 2,
                    ..output
                })
            }
            Err(error) => error,
        };
        warn!(backend = self.backend(), error = %second, "job failed again; full reset");
        let third = match self
            .full_reset()
            .and_then(|()| self.attempt(opcode, count, input))
        {
            Ok(output) => {
                return Ok(JobOutput {
                    attempts: 3,
                    ..output
                })
            }
            Err(error) => error,
        };
        self.mark_down(third.to_string());
        Err(DeviceError::Down {
            last: third.to_string(),
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
            items_done: t.read32(regs::ITEMS_DONE)?,
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

    fn validate(&self, opcode: Opcode, input: &[u32]) -> Result<u32, DeviceError> {
        if !self.identity.supports(opcode) {
            return Err(DeviceError::Unsupported(opcode));
        }
        let item = opcode.item_words();
        if input.is_empty() || !input.len().is_multiple_of(item) {
            return Err(DeviceError::BadJob(format!(
                "{opcode:?} input of {} words is not a positive multiple of {item}",
                input.len()
            )));
        }
        u32::try_from(input.len() / item)
            .map_err(|_| DeviceError::BadJob(format!("{} items is too many", input.len() / item)))
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
    fn attempt(
        &mut self,
        opcode: Opcode,
        count: u32,
        input: &[u32],
    ) -> Result<JobOutput, DeviceError> {
        let mut job = self.submit(opcode, count, input)?;
        self.complete(&mut job)
    }

    /// Doorbell, then the input streamed in (draining output meanwhile).
    fn submit(
        &mut self,
        opcode: Opcode,
        count: u32,
        input: &[u32],
    ) -> Result<InFlight, DeviceError> {
        let tag = self.take_tag();
        let status = self.transport.read32(regs::STATUS)?;
        if status & status::READY == 0 {
            return Err(DeviceError::Protocol(format!(
                "not READY before submit: {status:#x}"
            )));
        }
        let t = self.transport.as_mut();
        t.write32(regs::JOB_OPCODE, opcode as u32)?;
        t.write32(regs::JOB_COUNT, count)?;
        t.write32(regs::DOORBELL, tag as u32)?;
        let cycles = self.config.job_cycles(opcode, count);
        let deadline = self.deadline(cycles);
        let mut job = InFlight {
            tag,
            expected: opcode.output_words(count),
            output: Vec::with_capacity(opcode.output_words(count)),
            cycles,
        };
        let mut sent = 0;
        while sent < input.len() {
            let free = self.transport.read32(regs::IN_FIFO_FREE)? as usize;
            let end = (sent + free).min(input.len());
            for word in &input[sent..end] {
                self.transport.write32(regs::IN_FIFO, *word)?;
            }
            let progress = end > sent;
            sent = end;
            if !(self.drain(&mut job)? || progress) {
                self.check_failed()?;
                if self.expired(&deadline) {
                    return Err(DeviceError::Timeout {
                        stage: "streaming input",
                        cycles,
                    });
                }
                self.pause()?;
            }
        }
        Ok(job)
    }

    /// Waits (one deadline) for the completion of the job in flight and collects its result.
    fn complete(&mut self, job: &mut InFlight) -> Result<JobOutput, DeviceError> {
        let deadline = self.deadline(job.cycles);
        let completion = loop {
            let progress = self.drain(job)?;
            if let Some(done) = Completion::decode(self.transport.read32(regs::COMPLETION)?) {
                break done;
            }
            if !progress {
                if self.expired(&deadline) {
                    let cycles = job.cycles;
                    return Err(DeviceError::Timeout {
                        stage: "waiting for completion",
                        cycles,
                    });
                }
                self.pause()?;
            }
        };
        if completion.tag != job.tag {
            return Err(DeviceError::Protocol(format!(
                "completion tag {:#x}, submitted {:#x}",
                completion.tag, job.tag
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
        self.drain(job)?;
        if job.output.len() != job.expected {
            return Err(DeviceError::Protocol(format!(
                "completed with {} of {} result words",
                job.output.len(),
                job.expected
            )));
        }
        let device_cycles = self.transport.read32(regs::LAST_JOB_CYCLES)?;
        self.transport.write32(regs::COMPLETION_ACK, 1)?;
        Ok(JobOutput {
            words: std::mem::take(&mut job.output),
            device_cycles,
            attempts: 1,
        })
    }

    /// Reads whatever result words are waiting (never more than the job produces).
    fn drain(&mut self, job: &mut InFlight) -> Result<bool, DeviceError> {
        if job.output.len() >= job.expected {
            return Ok(false);
        }
        let waiting = self.transport.read32(regs::OUT_FIFO_COUNT)? as usize;
        let take = waiting.min(job.expected - job.output.len());
        for _ in 0..take {
            job.output.push(self.transport.read32(regs::OUT_FIFO)?);
        }
        Ok(take > 0)
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
