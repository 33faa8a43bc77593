//! Build generated RTL with Verilator and drive it from Rust.
//!
//! Two halves:
//!
//! **Build script** ([`VerilatorBuild`]): in the using crate's `build.rs`
//! (with `tollgate-verilator` as a build-dependency),
//!
//! ```no_run
//! tollgate_verilator::VerilatorBuild::new("fp_mont_mul")
//!     .file("../bitstreams/rtl/fp_mont_mul.v")
//!     .build()
//!     .expect("verilate fp_mont_mul");
//! ```
//!
//! runs `verilator --cc` (with `-Wno-WIDTH`: rust-hdl's `bit_cast` output trips it),
//! reads the port list from the generated header, generates a C ABI wrapper
//! (`tgv_<top>_new/free/eval/set/get`, every port as little-endian `u32` words), builds the
//! model through Verilator's makefile with `OPT_FAST=-O2`, compiles `verilated.o` and
//! `verilated_threads.o` itself (Debian's 5.006 `--build` without `--exe` does not), archives
//! everything as `libtgv_<top>.a` in `OUT_DIR`, prints the link directives, and writes
//! `OUT_DIR/verilated_<top>.rs` defining `pub static <TOP>: ModelVTable`. Cargo reruns the
//! build only when a listed Verilog file changes, and a model already built in the same target
//! directory (by another profile, or by clippy) is copied from `target/verilator-models/`
//! rather than built again.
//!
//! **Run-time build** ([`VerilatorBuild::load`]): for RTL the program generates itself (an
//! engine core for other parameters than the committed one), the same verilation is linked
//! into a shared library (objects built with `-fPIC`) in a directory of the caller's choice,
//! kept in the same model store when that directory is inside a cargo target directory, and
//! opened with `libloading`; it yields the same [`ModelVTable`] as the build-script glue.
//!
//! **Runtime** ([`Model`]): in the crate (test, bench, driver) that links it,
//!
//! ```text
//! tollgate_verilator::include_model!("fp_mont_mul"); // defines FP_MONT_MUL
//! let mut m = tollgate_verilator::Model::new(&FP_MONT_MUL);
//! let (clock, a) = (m.port("clock")?, m.port("a")?);
//! m.set(a, &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
//! m.tick(clock);              // one rising edge, then outputs settle
//! let r = m.get(m.port("result")?);
//! ```

mod build;
mod cache;
mod shared;

pub use build::VerilatorBuild;

use std::ffi::c_void;
use std::path::{Path, PathBuf};

/// Errors of building or driving a Verilated model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("OUT_DIR is not set: VerilatorBuild runs from a build script")]
    NoOutDir,
    #[error("could not start {0}: {1}")]
    Spawn(String, std::io::Error),
    #[error("{command} failed:\n{stderr}")]
    Failed { command: String, stderr: String },
    #[error("I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Verilated module {0} has no ports")]
    NoPorts(String),
    #[error("loading the model library {0}: {1}")]
    Load(PathBuf, String),
    #[error("module {module} has no port {port}")]
    NoSuchPort { module: String, port: String },
}

impl Error {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Port direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// A top-level port of a Verilated model.
#[derive(Debug, Clone, Copy)]
pub struct PortInfo {
    pub name: &'static str,
    pub width: usize,
    pub dir: Direction,
}

/// The generated C ABI of one Verilated module (see [`include_model!`]).
pub struct ModelVTable {
    pub name: &'static str,
    pub new: unsafe extern "C" fn() -> *mut c_void,
    pub free: unsafe extern "C" fn(*mut c_void),
    pub eval: unsafe extern "C" fn(*mut c_void),
    pub set: unsafe extern "C" fn(*mut c_void, u32, *const u32),
    pub get: unsafe extern "C" fn(*mut c_void, u32, *mut u32),
    pub ports: &'static [PortInfo],
}

/// Include the glue that [`VerilatorBuild`] wrote for module `$top`, defining the static
/// `ModelVTable` named after the module in upper case.
#[macro_export]
macro_rules! include_model {
    ($top:literal) => {
        include!(concat!(env!("OUT_DIR"), "/verilated_", $top, ".rs"));
    };
}

/// A resolved port: index into the model's port table, width and words.
#[derive(Debug, Clone, Copy)]
pub struct Port {
    index: u32,
    width: usize,
}

impl Port {
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of `u32` words carrying the port.
    pub fn words(&self) -> usize {
        self.width.div_ceil(32)
    }
}

/// One instance of a Verilated model (each has its own `VerilatedContext`).
pub struct Model {
    handle: *mut c_void,
    vt: &'static ModelVTable,
    cycles: u64,
}

impl Model {
    pub fn new(vt: &'static ModelVTable) -> Model {
        // SAFETY: the constructor has no preconditions; it returns an owned handle that
        // only `free` releases (in Drop).
        let handle = unsafe { (vt.new)() };
        Model {
            handle,
            vt,
            cycles: 0,
        }
    }

    /// Look up a port by name.
    pub fn port(&self, name: &str) -> Result<Port, Error> {
        self.vt
            .ports
            .iter()
            .position(|p| p.name == name)
            .map(|i| Port {
                index: i as u32,
                width: self.vt.ports[i].width,
            })
            .ok_or_else(|| Error::NoSuchPort {
                module: self.vt.name.to_string(),
                port: name.to_string(),
            })
    }

    /// Every port of the model.
    pub fn ports(&self) -> &'static [PortInfo] {
        self.vt.ports
    }

    /// Drive an input with little-endian words; missing words are zero, bits above the
    /// port's width are dropped.
    pub fn set(&mut self, port: Port, words: &[u32]) {
        let n = port.words();
        let mut buf = vec![0u32; n.max(2)];
        for (d, s) in buf.iter_mut().zip(words) {
            *d = *s;
        }
        let rem = port.width % 32;
        if rem != 0 {
            buf[n - 1] &= (1u32 << rem) - 1;
        }
        for w in buf.iter_mut().skip(n) {
            *w = 0;
        }
        // SAFETY: `buf` holds at least `port.words()` words (and at least two, for 64-bit
        // ports), which is what the generated setter reads.
        unsafe { (self.vt.set)(self.handle, port.index, buf.as_ptr()) }
    }

    /// Drive an input of at most 64 bits.
    pub fn set_u64(&mut self, port: Port, v: u64) {
        self.set(port, &[v as u32, (v >> 32) as u32]);
    }

    /// Read a port as little-endian words.
    pub fn get(&self, port: Port) -> Vec<u32> {
        let mut buf = vec![0u32; port.words().max(2)];
        // SAFETY: the generated getter writes at most `port.words()` words (two for 64-bit
        // ports) and `buf` has room for that.
        unsafe { (self.vt.get)(self.handle, port.index, buf.as_mut_ptr()) };
        buf.truncate(port.words());
        buf
    }

    /// Read a port of at most 64 bits.
    pub fn get_u64(&self, port: Port) -> u64 {
        let w = self.get(port);
        w[0] as u64 | (w.get(1).copied().unwrap_or(0) as u64) << 32
    }

    /// Settle combinational logic.
    pub fn eval(&mut self) {
        // SAFETY: `handle` is live until Drop.
        unsafe { (self.vt.eval)(self.handle) }
    }

    /// One clock cycle: `clock` low, evaluate, high, evaluate. Inputs set before the call
    /// are sampled at the rising edge; outputs read after it are the registers' new values.
    pub fn tick(&mut self, clock: Port) {
        self.set_u64(clock, 0);
        self.eval();
        self.set_u64(clock, 1);
        self.eval();
        self.cycles += 1;
    }

    /// Rising edges given by [`Model::tick`] so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `new` and is freed exactly once.
        unsafe { (self.vt.free)(self.handle) }
    }
}
