//! The device boundary: one 32-bit register access at a time, and one region of host memory
//! mapped for the device's DMA. Everything above this trait (the rings, timeouts,
//! escalation, identity checks) is shared by every backend; everything below it is the
//! backend's (a mapped PCIe BAR and VFIO-mapped pinned memory, or the RTL's register bus and
//! memory port under Verilator).

pub mod fault;
pub mod tap;

use std::time::Duration;

/// A failure below the register protocol: the access itself could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The operating system refused an MMIO access or a reset.
    #[error("register access failed: {0}")]
    Io(#[from] std::io::Error),
    /// The simulated device did not answer a read within the bus's latency bound.
    #[error("no read response at {addr:#05x} within {cycles} cycles")]
    NoReadResponse {
        /// Register address of the read.
        addr: u32,
        /// Cycles waited.
        cycles: u32,
    },
    /// The simulation model failed (e.g. Verilator stopped).
    #[error("simulation failed: {0}")]
    Simulation(String),
    /// An access to the DMA region outside what was mapped (a driver bug).
    #[error("DMA region access at {offset:#x}+{len} outside the {mapped} mapped bytes")]
    OutsideDma {
        /// Offset of the access.
        offset: usize,
        /// Its length.
        len: usize,
        /// Bytes mapped.
        mapped: usize,
    },
}

/// How the backend reaches the device's registers.
pub trait RegisterAccess: Send {
    /// Reads one 32-bit register (no read has a side effect).
    fn read32(&mut self, addr: u32) -> Result<u32, TransportError>;
    /// Writes one 32-bit register.
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), TransportError>;
    /// Lets the device make progress between polls: real hardware sleeps `pause`, the
    /// simulator advances its clock by `cycles` instead (wall time means nothing to it).
    fn idle(&mut self, cycles: u32, pause: Duration) -> Result<(), TransportError>;
    /// Full reset: PCIe function-level reset, or the top level's reset input in simulation.
    /// Clears everything including the performance counters.
    fn full_reset(&mut self) -> Result<(), TransportError>;
    /// Clock cycles the transport itself has driven, when it knows them (simulation only).
    fn cycles(&self) -> Option<u64>;
    /// A short name of the backend for logs and metrics ("sim", "pcie").
    fn backend(&self) -> &'static str;
    /// Maps a zeroed region of `bytes` bytes of host memory for the device (replacing any
    /// earlier one) and returns its bus address. The device can reach nothing else.
    fn dma_map(&mut self, bytes: usize) -> Result<u64, TransportError>;
    /// Lends `fill` the `len` bytes of the DMA region at `offset` to write in place: a job's
    /// input is laid out straight into its slot, with no staging buffer to fill and copy.
    fn dma_fill(
        &mut self,
        offset: usize,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), TransportError>;
    /// Writes host memory of the DMA region at `offset`.
    fn dma_write(&mut self, offset: usize, bytes: &[u8]) -> Result<(), TransportError> {
        self.dma_fill(offset, bytes.len(), &mut |region| {
            region.copy_from_slice(bytes)
        })
    }
    /// Reads host memory of the DMA region at `offset`.
    fn dma_read(&mut self, offset: usize, out: &mut [u8]) -> Result<(), TransportError>;
    /// Arms a device-side fault for the job of the next doorbell (`None`: a clean job).
    /// Returns whether the backend can inject it (only the simulator can).
    fn arm_job_fault(&mut self, fault: Option<fault::Fault>) -> bool {
        fault.is_none()
    }
}

/// Checks that `offset..offset + len` lies in a region of `mapped` bytes.
pub fn check_dma_range(offset: usize, len: usize, mapped: usize) -> Result<(), TransportError> {
    match offset.checked_add(len) {
        Some(end) if end <= mapped => Ok(()),
        _ => Err(TransportError::OutsideDma {
            offset,
            len,
            mapped,
        }),
    }
}

impl<T: RegisterAccess + ?Sized> RegisterAccess for Box<T> {
    fn read32(&mut self, addr: u32) -> Result<u32, TransportError> {
        (**self).read32(addr)
    }
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), TransportError> {
        (**self).write32(addr, value)
    }
    fn idle(&mut self, cycles: u32, pause: Duration) -> Result<(), TransportError> {
        (**self).idle(cycles, pause)
    }
    fn full_reset(&mut self) -> Result<(), TransportError> {
        (**self).full_reset()
    }
    fn cycles(&self) -> Option<u64> {
        (**self).cycles()
    }
    fn backend(&self) -> &'static str {
        (**self).backend()
    }
    fn dma_map(&mut self, bytes: usize) -> Result<u64, TransportError> {
        (**self).dma_map(bytes)
    }
    fn dma_fill(
        &mut self,
        offset: usize,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), TransportError> {
        (**self).dma_fill(offset, len, fill)
    }
    fn dma_read(&mut self, offset: usize, out: &mut [u8]) -> Result<(), TransportError> {
        (**self).dma_read(offset, out)
    }
    fn arm_job_fault(&mut self, fault: Option<fault::Fault>) -> bool {
        (**self).arm_job_fault(fault)
    }
}
