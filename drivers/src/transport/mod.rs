//! The MMIO boundary: one 32-bit register access at a time. Everything above this trait (the
//! job protocol, timeouts, escalation, identity checks) is shared by every backend; everything
//! below it is the backend's (a mapped PCIe BAR, or the RTL's register bus under Verilator).

pub mod fault;

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
}

/// How the backend reaches the device's registers.
pub trait RegisterAccess: Send {
    /// Reads one 32-bit register (a read of OUT_FIFO pops a word).
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
}
