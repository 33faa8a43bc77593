//! The generated top-level RTL under Verilator, driven through its register bus
//! (`tollgate_abi::bus`), its memory port (`tollgate_abi::mem`) served from a real host buffer
//! under a link model ([`memory`]). Only the transport differs from a board: the rings and
//! the job protocol above are the same code.

pub mod memory;

use std::time::Duration;

use tollgate_abi::{bus, control, mem, regs};

use crate::transport::fault::Fault;
use crate::transport::{check_dma_range, RegisterAccess, TransportError};
use memory::{HostMemory, LinkModel, Traffic, BEAT_WORDS};

/// Why the simulated device could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The crate was built before `bitstreams/rtl/<top>.v` existed.
    #[error(
        "the simulated backend is unavailable: the designs' RTL (bitstreams/rtl/) was missing \
         when tollgate-drivers was built (run `cargo run -p tollgate-hdl --bin gen-rtl`, rebuild)"
    )]
    RtlMissing,
    /// No design of that name is built into the backend.
    #[error(
        "no simulated design {0:?}: the backend has {standard:?} and {verify:?}",
        standard = tollgate_abi::DESIGN,
        verify = tollgate_abi::VERIFY_DESIGN
    )]
    UnknownDesign(String),
    /// The model lacks a port of the ABI's bus.
    #[error(transparent)]
    Port(#[from] tollgate_verilator::Error),
}

#[cfg(tollgate_sim_rtl)]
mod model {
    tollgate_verilator::include_model!("tollgate_top");
    tollgate_verilator::include_model!("tollgate_top_verify");

    /// The model of design `design` (its folder under bitstreams/).
    pub fn of(design: &str) -> Option<&'static tollgate_verilator::ModelVTable> {
        match design {
            tollgate_abi::DESIGN => Some(&TOLLGATE_TOP),
            tollgate_abi::VERIFY_DESIGN => Some(&TOLLGATE_TOP_VERIFY),
            _ => None,
        }
    }
}

/// Reset cycles of a full reset (the pipelines flush in far fewer).
const RESET_CYCLES: u32 = 8;

#[cfg_attr(not(tollgate_sim_rtl), allow(dead_code))]
struct Ports {
    clock: tollgate_verilator::Port,
    reset: tollgate_verilator::Port,
    addr: tollgate_verilator::Port,
    wdata: tollgate_verilator::Port,
    write: tollgate_verilator::Port,
    read: tollgate_verilator::Port,
    rdata: tollgate_verilator::Port,
    rvalid: tollgate_verilator::Port,
    rd_valid: tollgate_verilator::Port,
    rd_ready: tollgate_verilator::Port,
    rd_addr: tollgate_verilator::Port,
    rresp_valid: tollgate_verilator::Port,
    rresp_ready: tollgate_verilator::Port,
    rresp_data: tollgate_verilator::Port,
    rresp_err: tollgate_verilator::Port,
    wr_valid: tollgate_verilator::Port,
    wr_ready: tollgate_verilator::Port,
    wr_addr: tollgate_verilator::Port,
    wr_data: tollgate_verilator::Port,
}

/// One instance of the Verilated top level.
#[cfg_attr(not(tollgate_sim_rtl), allow(dead_code))]
pub struct SimTransport {
    model: tollgate_verilator::Model,
    ports: Ports,
    memory: HostMemory,
}

// SAFETY: a Verilated model (its own VerilatedContext, no thread-local state in a
// single-threaded model) may move between threads; `&mut self` on every access keeps it used
// by one thread at a time.
unsafe impl Send for SimTransport {}

#[cfg_attr(not(tollgate_sim_rtl), allow(dead_code))]
impl SimTransport {
    /// A fresh model of the standard design ([`tollgate_abi::DESIGN`]) under the default
    /// link ([`LinkModel::default`]), held in reset until the driver's first full reset.
    pub fn open() -> Result<SimTransport, SimError> {
        SimTransport::with_link(LinkModel::default())
    }

    /// A fresh model of the standard design whose memory port is served under `link`.
    pub fn with_link(link: LinkModel) -> Result<SimTransport, SimError> {
        SimTransport::open_design(tollgate_abi::DESIGN, link)
    }

    /// A fresh model of design `design` (the name of its folder under bitstreams/, as its
    /// manifest says: [`tollgate_abi::DESIGN`] or [`tollgate_abi::VERIFY_DESIGN`]) under `link`.
    pub fn open_design(design: &str, link: LinkModel) -> Result<SimTransport, SimError> {
        #[cfg(tollgate_sim_rtl)]
        {
            let vtable =
                model::of(design).ok_or_else(|| SimError::UnknownDesign(design.to_string()))?;
            SimTransport::from_model(tollgate_verilator::Model::new(vtable), link)
        }
        #[cfg(not(tollgate_sim_rtl))]
        {
            let _ = (design, link);
            Err(SimError::RtlMissing)
        }
    }

    /// The device's traffic to host memory so far.
    pub fn traffic(&self) -> Traffic {
        self.memory.traffic()
    }

    /// The host memory mapped for the device, as it is now (tests check guard bytes in it).
    pub fn host_memory(&self) -> &[u8] {
        self.memory.bytes()
    }

    fn from_model(
        model: tollgate_verilator::Model,
        link: LinkModel,
    ) -> Result<SimTransport, SimError> {
        let ports = Ports {
            clock: model.port(bus::CLOCK)?,
            reset: model.port(bus::RESET)?,
            addr: model.port(bus::ADDR)?,
            wdata: model.port(bus::WDATA)?,
            write: model.port(bus::WRITE)?,
            read: model.port(bus::READ)?,
            rdata: model.port(bus::RDATA)?,
            rvalid: model.port(bus::RVALID)?,
            rd_valid: model.port(mem::RD_VALID)?,
            rd_ready: model.port(mem::RD_READY)?,
            rd_addr: model.port(mem::RD_ADDR)?,
            rresp_valid: model.port(mem::RRESP_VALID)?,
            rresp_ready: model.port(mem::RRESP_READY)?,
            rresp_data: model.port(mem::RRESP_DATA)?,
            rresp_err: model.port(mem::RRESP_ERR)?,
            wr_valid: model.port(mem::WR_VALID)?,
            wr_ready: model.port(mem::WR_READY)?,
            wr_addr: model.port(mem::WR_ADDR)?,
            wr_data: model.port(mem::WR_DATA)?,
        };
        let mut sim = SimTransport {
            model,
            ports,
            memory: HostMemory::new(link),
        };
        sim.hold_reset();
        Ok(sim)
    }

    fn hold_reset(&mut self) {
        self.model.set_u64(self.ports.write, 0);
        self.model.set_u64(self.ports.read, 0);
        self.model.set_u64(self.ports.reset, 1);
        self.memory.reset_jobs(true);
        for _ in 0..RESET_CYCLES {
            self.tick();
        }
        self.model.set_u64(self.ports.reset, 0);
        self.tick();
    }

    /// One clock edge, with the memory port served: the inputs the memory presents and the
    /// requests the device presents are both sampled on this edge (valid/ready handshakes).
    fn tick(&mut self) {
        let p = &self.ports;
        let rd = (self.model.get_u64(p.rd_valid) != 0).then(|| self.model.get_u64(p.rd_addr));
        let taking = self.model.get_u64(p.rresp_ready) != 0;
        let wr_ready = self.memory.write_ready();
        let wr = (wr_ready && self.model.get_u64(p.wr_valid) != 0).then(|| {
            let mut beat = [0u32; BEAT_WORDS];
            beat.copy_from_slice(&self.model.get(p.wr_data));
            (self.model.get_u64(p.wr_addr), beat)
        });
        let response = self.memory.response();
        self.model.set_u64(p.rd_ready, 1);
        self.model.set_u64(p.wr_ready, wr_ready as u64);
        self.model.set_u64(p.rresp_valid, response.is_some() as u64);
        if let Some((beat, error)) = response {
            self.model.set(p.rresp_data, &beat);
            self.model.set_u64(p.rresp_err, error as u64);
        }
        self.model.tick(p.clock);
        if let Some(addr) = rd {
            self.memory.request_read(addr);
        }
        if response.is_some() && taking {
            self.memory.pop_response();
        }
        if let Some((addr, beat)) = wr {
            self.memory.write(addr, beat);
        }
        self.memory.advance();
    }

    /// The memory model follows the ring registers to tell descriptors and completions from
    /// job data, and forgets the jobs a soft reset drops.
    fn snoop(&mut self, addr: u32, value: u32) {
        let rings = &mut self.memory.rings;
        let set_lo = |field: &mut u64| *field = (*field & !0xFFFF_FFFF) | u64::from(value);
        let set_hi = |field: &mut u64| *field = (*field & 0xFFFF_FFFF) | u64::from(value) << 32;
        match addr {
            regs::SQ_BASE_LO => set_lo(&mut rings.sq_base),
            regs::SQ_BASE_HI => set_hi(&mut rings.sq_base),
            regs::CQ_BASE_LO => set_lo(&mut rings.cq_base),
            regs::CQ_BASE_HI => set_hi(&mut rings.cq_base),
            regs::RING_LOG2 => rings.log2 = value,
            regs::CONTROL if value & control::SOFT_RESET != 0 => self.memory.reset_jobs(false),
            _ => {}
        }
    }
}

impl RegisterAccess for SimTransport {
    fn read32(&mut self, addr: u32) -> Result<u32, TransportError> {
        self.model.set_u64(self.ports.addr, addr as u64);
        self.model.set_u64(self.ports.read, 1);
        self.tick();
        self.model.set_u64(self.ports.read, 0);
        for _ in 0..bus::MAX_READ_LATENCY {
            if self.model.get_u64(self.ports.rvalid) != 0 {
                let value = self.model.get_u64(self.ports.rdata) as u32;
                self.tick();
                return Ok(value);
            }
            self.tick();
        }
        Err(TransportError::NoReadResponse {
            addr,
            cycles: bus::MAX_READ_LATENCY,
        })
    }

    fn write32(&mut self, addr: u32, value: u32) -> Result<(), TransportError> {
        self.snoop(addr, value);
        self.model.set_u64(self.ports.addr, addr as u64);
        self.model.set_u64(self.ports.wdata, value as u64);
        self.model.set_u64(self.ports.write, 1);
        self.tick();
        self.model.set_u64(self.ports.write, 0);
        Ok(())
    }

    fn idle(&mut self, cycles: u32, _pause: Duration) -> Result<(), TransportError> {
        for _ in 0..cycles {
            self.tick();
        }
        Ok(())
    }

    fn full_reset(&mut self) -> Result<(), TransportError> {
        self.hold_reset();
        Ok(())
    }

    fn cycles(&self) -> Option<u64> {
        Some(self.model.cycles())
    }

    fn backend(&self) -> &'static str {
        "sim"
    }

    fn dma_map(&mut self, bytes: usize) -> Result<u64, TransportError> {
        Ok(self.memory.map(bytes))
    }

    fn dma_fill(
        &mut self,
        offset: usize,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), TransportError> {
        let region = self.memory.bytes_mut();
        check_dma_range(offset, len, region.len())?;
        fill(&mut region[offset..offset + len]);
        Ok(())
    }

    fn dma_read(&mut self, offset: usize, out: &mut [u8]) -> Result<(), TransportError> {
        let region = self.memory.bytes();
        check_dma_range(offset, out.len(), region.len())?;
        out.copy_from_slice(&region[offset..offset + out.len()]);
        Ok(())
    }

    fn arm_job_fault(&mut self, fault: Option<Fault>) -> bool {
        self.memory.arm(fault);
        true
    }
}
