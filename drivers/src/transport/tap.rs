//! A transport in front of another that observes or alters only its register traffic (fault
//! injection at the doorbell, a test holding a job back, a bench timing the host's side): the
//! tap's hooks see each register access and decide what reaches the transport behind; host
//! memory, cycles and everything else go straight through. One forwarding impl, so that no
//! wrapper has to spell out the whole [`RegisterAccess`] again.

use std::time::Duration;

use super::fault::Fault;
use super::{RegisterAccess, TransportError};

/// The hooks of a [`Tapped`] transport; each defaults to passing the access on unchanged.
pub trait Tap: Send {
    /// A register read.
    fn read32(&mut self, inner: &mut dyn RegisterAccess, addr: u32) -> Result<u32, TransportError> {
        inner.read32(addr)
    }
    /// A register write (the doorbell is a write of `regs::SQ_TAIL`).
    fn write32(
        &mut self,
        inner: &mut dyn RegisterAccess,
        addr: u32,
        value: u32,
    ) -> Result<(), TransportError> {
        inner.write32(addr, value)
    }
    /// The driver idling between polls.
    fn idle(
        &mut self,
        inner: &mut dyn RegisterAccess,
        cycles: u32,
        pause: Duration,
    ) -> Result<(), TransportError> {
        inner.idle(cycles, pause)
    }
    /// A full reset.
    fn full_reset(&mut self, inner: &mut dyn RegisterAccess) -> Result<(), TransportError> {
        inner.full_reset()
    }
}

/// `inner` with `tap` in front of its register accesses.
pub struct Tapped<T, H> {
    inner: T,
    tap: H,
}

impl<T: RegisterAccess, H: Tap> Tapped<T, H> {
    /// Puts `tap` in front of `inner`.
    pub fn new(inner: T, tap: H) -> Tapped<T, H> {
        Tapped { inner, tap }
    }
}

impl<T: RegisterAccess, H: Tap> RegisterAccess for Tapped<T, H> {
    fn read32(&mut self, addr: u32) -> Result<u32, TransportError> {
        self.tap.read32(&mut self.inner, addr)
    }
    fn write32(&mut self, addr: u32, value: u32) -> Result<(), TransportError> {
        self.tap.write32(&mut self.inner, addr, value)
    }
    fn idle(&mut self, cycles: u32, pause: Duration) -> Result<(), TransportError> {
        self.tap.idle(&mut self.inner, cycles, pause)
    }
    fn full_reset(&mut self) -> Result<(), TransportError> {
        self.tap.full_reset(&mut self.inner)
    }
    fn cycles(&self) -> Option<u64> {
        self.inner.cycles()
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn dma_map(&mut self, bytes: usize) -> Result<u64, TransportError> {
        self.inner.dma_map(bytes)
    }
    fn dma_fill(
        &mut self,
        offset: usize,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), TransportError> {
        self.inner.dma_fill(offset, len, fill)
    }
    fn dma_read(&mut self, offset: usize, out: &mut [u8]) -> Result<(), TransportError> {
        self.inner.dma_read(offset, out)
    }
    fn arm_job_fault(&mut self, fault: Option<Fault>) -> bool {
        self.inner.arm_job_fault(fault)
    }
}
