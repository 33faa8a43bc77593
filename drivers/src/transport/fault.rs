//! Fault injection: the real driver code above sees a device that hangs, corrupts a result,
//! computes a well-formed but wrong one (scalars ignored, an item dropped, a message hashed
//! wrongly), reports an error, loses or repeats a completion, fails a DMA read, is handed a descriptor
//! pointing outside its window, or answers slowly, exactly as it would see a misbehaving
//! board. Switchable at run time through a shared [`FaultControl`]; counted per job (per
//! doorbell). Slowness is the link's and is injected here; the others happen on the device's
//! side of the boundary, so the transport arms them for the job ([`RegisterAccess::arm_job_fault`],
//! the simulator's memory model).

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tollgate_abi::regs;
use tracing::warn;

use super::tap::{Tap, Tapped};
use super::{RegisterAccess, TransportError};

/// A kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The job never completes: its input reads are never answered (until a reset, when
    /// they fail as a PCIe completion timeout would).
    Hang,
    /// The first beat of the job's result written to host memory has its low bit flipped.
    CorruptResult,
    /// The job's completion says Failed with an INTERNAL error bit.
    ErrorStatus,
    /// Every register access (MMIO, which crosses the link) takes this much longer. Host
    /// memory is the CPU's own: the completion polls and the job buffers are not slowed.
    Slow(Duration),
    /// The first input read of the job returns an error.
    DmaReadError,
    /// The job's completion is never written to host memory.
    CompletionLost,
    /// The job's completion is written twice: in its slot and in the next one.
    CompletionTwice,
    /// The job's descriptor, as the device reads it, points its input outside the window.
    DescriptorOutside,
    /// A well-formed but wrong answer: the device reads every scalar of the job as 1 (jobs
    /// with scalars), so its blinding multiplications return the points unblinded.
    ScalarsIgnored,
    /// A well-formed but wrong answer: the device reads item 1's input (scalar and point) in
    /// place of item 0's (jobs with scalars), so item 0 never enters the result.
    ItemDropped,
    /// A well-formed but wrong answer: a DecodeG2 job's curve and subgroup residues come back
    /// zero, so the device accepts every x as the x of a point of G2 (a skipped check).
    DecodeAcceptsAll,
    /// A well-formed but wrong answer: a HashToG2 job reads item 1's input (u0, u1) in place
    /// of item 0's, so item 0's message hashes to item 1's point (in G2, but not its H(m)).
    HashWrong,
}

/// A fault and for how many jobs it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    /// What goes wrong.
    pub fault: Fault,
    /// Number of jobs (doorbells) it affects; `None` until cleared.
    pub jobs: Option<u32>,
}

/// Why a fault specification could not be parsed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FaultSpecError {
    /// Unknown fault name.
    #[error("unknown fault {0:?}: expected hang, corrupt, error, slow, dma-read, lost, twice, outside, scalars-one, drop-item, decode-accepts or hash-wrong")]
    UnknownFault(String),
    /// Malformed `key=value` option.
    #[error("bad fault option {0:?}: expected jobs=N or delay_us=N")]
    BadOption(String),
}

impl FromStr for FaultSpec {
    type Err = FaultSpecError;

    /// `KIND[,jobs=N][,delay_us=N]`, KIND one of hang, corrupt, error, slow (delay default
    /// 2 ms), dma-read, lost, twice, outside, scalars-one, drop-item, decode-accepts,
    /// hash-wrong.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.split(',');
        let kind = parts.next().unwrap_or_default().trim();
        let mut jobs = None;
        let mut delay = Duration::from_millis(2);
        for option in parts {
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| FaultSpecError::BadOption(option.to_string()))?;
            let number: u64 = value
                .trim()
                .parse()
                .map_err(|_| FaultSpecError::BadOption(option.to_string()))?;
            match key.trim() {
                "jobs" => {
                    jobs = Some(
                        u32::try_from(number)
                            .map_err(|_| FaultSpecError::BadOption(option.to_string()))?,
                    )
                }
                "delay_us" => delay = Duration::from_micros(number),
                _ => return Err(FaultSpecError::BadOption(option.to_string())),
            }
        }
        let fault = match kind {
            "hang" => Fault::Hang,
            "corrupt" => Fault::CorruptResult,
            "error" => Fault::ErrorStatus,
            "slow" => Fault::Slow(delay),
            "dma-read" => Fault::DmaReadError,
            "lost" => Fault::CompletionLost,
            "twice" => Fault::CompletionTwice,
            "outside" => Fault::DescriptorOutside,
            "scalars-one" => Fault::ScalarsIgnored,
            "drop-item" => Fault::ItemDropped,
            "decode-accepts" => Fault::DecodeAcceptsAll,
            "hash-wrong" => Fault::HashWrong,
            other => return Err(FaultSpecError::UnknownFault(other.to_string())),
        };
        Ok(FaultSpec { fault, jobs })
    }
}

impl fmt::Display for FaultSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.fault {
            Fault::Hang => write!(f, "hang")?,
            Fault::CorruptResult => write!(f, "corrupt")?,
            Fault::ErrorStatus => write!(f, "error")?,
            Fault::Slow(delay) => write!(f, "slow,delay_us={}", delay.as_micros())?,
            Fault::DmaReadError => write!(f, "dma-read")?,
            Fault::CompletionLost => write!(f, "lost")?,
            Fault::CompletionTwice => write!(f, "twice")?,
            Fault::DescriptorOutside => write!(f, "outside")?,
            Fault::ScalarsIgnored => write!(f, "scalars-one")?,
            Fault::ItemDropped => write!(f, "drop-item")?,
            Fault::DecodeAcceptsAll => write!(f, "decode-accepts")?,
            Fault::HashWrong => write!(f, "hash-wrong")?,
        }
        if let Some(jobs) = self.jobs {
            write!(f, ",jobs={jobs}")?;
        }
        Ok(())
    }
}

/// The switch shared between a [`FaultyTransport`] and whoever controls it (tests, CLI).
#[derive(Debug, Default)]
pub struct FaultControl {
    armed: Mutex<Option<FaultSpec>>,
}

impl FaultControl {
    /// A control with no fault armed.
    pub fn new() -> Arc<FaultControl> {
        Arc::new(FaultControl::default())
    }

    /// Arms a fault (replacing any other).
    pub fn set(&self, spec: FaultSpec) {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = Some(spec);
    }

    /// Disarms any fault.
    pub fn clear(&self) {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The fault armed now, if any.
    pub fn armed(&self) -> Option<FaultSpec> {
        *self.armed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called at each doorbell: the fault that applies to this job, consuming one job of a
    /// counted fault.
    fn take_for_job(&self) -> Option<Fault> {
        let mut armed = self.armed.lock().unwrap_or_else(PoisonError::into_inner);
        let spec = (*armed)?;
        match spec.jobs {
            Some(0) => {
                *armed = None;
                None
            }
            Some(left) => {
                *armed = (left > 1).then_some(FaultSpec {
                    jobs: Some(left - 1),
                    ..spec
                });
                Some(spec.fault)
            }
            None => Some(spec.fault),
        }
    }
}

/// A transport that misbehaves as its [`FaultControl`] says, around a real one.
pub type FaultyTransport<T> = Tapped<T, Arc<FaultControl>>;

impl FaultControl {
    fn slow_down(&self) {
        // A slow fault delays every MMIO access while armed, job or not (a sick link). Under
        // ABI 2 every word crossed as MMIO; under ABI 3 only doorbells and registers do, and
        // slowing the host-memory polls too made a job's wall time grow with its cycles / poll
        // interval (3,000 sleeps for a 200k-cycle job: sim_e2e's slow test hit the request
        // deadline under load).
        if let Some(FaultSpec {
            fault: Fault::Slow(delay),
            ..
        }) = self.armed()
        {
            std::thread::sleep(delay);
        }
    }
}

/// The control as the tap of a [`FaultyTransport`]: it slows the register accesses and arms
/// the device-side faults at each doorbell.
impl Tap for Arc<FaultControl> {
    fn read32(&mut self, inner: &mut dyn RegisterAccess, addr: u32) -> Result<u32, TransportError> {
        self.slow_down();
        inner.read32(addr)
    }

    fn write32(
        &mut self,
        inner: &mut dyn RegisterAccess,
        addr: u32,
        value: u32,
    ) -> Result<(), TransportError> {
        self.slow_down();
        if addr == regs::SQ_TAIL {
            let fault = self.take_for_job().filter(|f| !matches!(f, Fault::Slow(_)));
            if !inner.arm_job_fault(fault) {
                warn!(
                    ?fault,
                    backend = inner.backend(),
                    "fault cannot be injected here"
                );
            }
        }
        inner.write32(addr, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print_back() {
        for text in [
            "hang",
            "corrupt,jobs=2",
            "error,jobs=1",
            "slow,delay_us=500",
            "dma-read",
            "lost,jobs=1",
            "twice",
            "outside,jobs=3",
            "scalars-one",
            "drop-item,jobs=2",
            "decode-accepts",
            "hash-wrong,jobs=1",
        ] {
            let spec: FaultSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
        assert_eq!(
            "melt".parse::<FaultSpec>(),
            Err(FaultSpecError::UnknownFault("melt".into()))
        );
        assert_eq!(
            "hang,jobs=x".parse::<FaultSpec>(),
            Err(FaultSpecError::BadOption("jobs=x".into()))
        );
    }

    #[test]
    fn counted_faults_expire_after_their_jobs() {
        let control = FaultControl::new();
        control.set("hang,jobs=2".parse().unwrap());
        assert_eq!(control.take_for_job(), Some(Fault::Hang));
        assert_eq!(control.take_for_job(), Some(Fault::Hang));
        assert_eq!(control.take_for_job(), None);
        assert_eq!(control.armed(), None);
    }
}
