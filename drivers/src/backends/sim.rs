//! The generated top-level RTL under Verilator, driven through its register bus
//! (`tollgate_abi::bus`). Only the transport differs from a board: the job protocol above is
//! the same code.

use std::time::Duration;

use tollgate_abi::bus;

use crate::transport::{RegisterAccess, TransportError};

/// Why the simulated device could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The crate was built before `bitstreams/rtl/<top>.v` existed.
    #[error(
        "the simulated backend is unavailable: bitstreams/rtl/{}.v was missing when \
         tollgate-drivers was built (run `cargo run -p tollgate-hdl --bin gen-rtl`, rebuild)",
        tollgate_abi::TOP_MODULE
    )]
    RtlMissing,
    /// The model lacks a port of the ABI's bus.
    #[error(transparent)]
    Port(#[from] tollgate_verilator::Error),
}

#[cfg(tollgate_sim_rtl)]
mod model {
    tollgate_verilator::include_model!("tollgate_top");
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
}

/// One instance of the Verilated top level.
#[cfg_attr(not(tollgate_sim_rtl), allow(dead_code))]
pub struct SimTransport {
    model: tollgate_verilator::Model,
    ports: Ports,
}

// SAFETY: a Verilated model (its own VerilatedContext, no thread-local state in a
// single-threaded model) may move between threads; `&mut self` on every access keeps it used
// by one thread at a time.
unsafe impl Send for SimTransport {}

#[cfg_attr(not(tollgate_sim_rtl), allow(dead_code))]
impl SimTransport {
    /// A fresh model, held in reset until the driver's first full reset.
    pub fn open() -> Result<SimTransport, SimError> {
        #[cfg(tollgate_sim_rtl)]
        {
            SimTransport::from_model(tollgate_verilator::Model::new(&model::TOLLGATE_TOP))
        }
        #[cfg(not(tollgate_sim_rtl))]
        {
            Err(SimError::RtlMissing)
        }
    }

    fn from_model(model: tollgate_verilator::Model) -> Result<SimTransport, SimError> {
        let ports = Ports {
            clock: model.port(bus::CLOCK)?,
            reset: model.port(bus::RESET)?,
            addr: model.port(bus::ADDR)?,
            wdata: model.port(bus::WDATA)?,
            write: model.port(bus::WRITE)?,
            read: model.port(bus::READ)?,
            rdata: model.port(bus::RDATA)?,
            rvalid: model.port(bus::RVALID)?,
        };
        let mut sim = SimTransport { model, ports };
        sim.hold_reset();
        Ok(sim)
    }

    fn hold_reset(&mut self) {
        self.model.set_u64(self.ports.write, 0);
        self.model.set_u64(self.ports.read, 0);
        self.model.set_u64(self.ports.reset, 1);
        for _ in 0..RESET_CYCLES {
            self.tick();
        }
        self.model.set_u64(self.ports.reset, 0);
        self.tick();
    }

    fn tick(&mut self) {
        self.model.tick(self.ports.clock);
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
}
