//! Build-script side: verilate RTL, generate the C ABI wrapper and the Rust glue, link.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cache::{artifacts, Linkage, Slot};
use crate::{Direction, Error, ModelVTable, PortInfo};

/// Where Debian's Verilator keeps its runtime sources.
const VERILATOR_INCLUDE: &str = "/usr/share/verilator/include";

/// Verilates one top module into a static library plus a Rust glue file in `OUT_DIR`.
///
/// ```no_run
/// // build.rs
/// tollgate_verilator::VerilatorBuild::new("fp_mont_mul")
///     .file("../bitstreams/rtl/fp_mont_mul.v")
///     .build()
///     .expect("verilate fp_mont_mul");
/// ```
pub struct VerilatorBuild {
    top: String,
    files: Vec<PathBuf>,
    args: Vec<String>,
    out_dir: PathBuf,
    cold_unoptimised: bool,
}

/// A port as read from the Verilated model's header.
#[derive(Debug, Clone)]
struct HeaderPort {
    name: String,
    width: usize,
    dir: Direction,
    /// `8`, `16`, `32` (scalar types), `64`, or `0` for a `VlWide` array.
    kind: u32,
}

impl VerilatorBuild {
    /// A build of Verilog module `top`; outputs go to `$OUT_DIR` (set by cargo for build
    /// scripts).
    pub fn new(top: &str) -> Self {
        VerilatorBuild {
            top: top.to_string(),
            files: vec![],
            args: vec![],
            out_dir: std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .unwrap_or_default(),
            cold_unoptimised: false,
        }
    }

    /// Compile Verilator's run-once code (`OPT_SLOW`: the `initial` blocks) without the
    /// optimiser in a build-script model too, as run-time models always are: a large ROM's
    /// `initial` block takes g++ -O1 minutes and runs once.
    pub fn cold_unoptimised(mut self) -> Self {
        self.cold_unoptimised = true;
        self
    }

    /// What the model store keys on besides the sources: the Verilator arguments, and the
    /// cold code's optimisation when it is not the default.
    fn key_args(&self) -> Vec<String> {
        let mut key = self.args.clone();
        if self.cold_unoptimised {
            key.push("OPT_SLOW=-O0".into());
        }
        key
    }

    /// Add a Verilog source (cargo is told to rerun when it changes).
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push(path.as_ref().to_path_buf());
        self
    }

    /// Add a Verilator command-line argument.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    /// Override the output directory (default `$OUT_DIR`).
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = dir.as_ref().to_path_buf();
        self
    }

    /// Verilate, compile with `-O2`, archive `libtgv_<top>.a`, write `verilated_<top>.rs`
    /// and print the cargo link directives. A model already built for this target directory
    /// (by another profile, or by clippy) is copied instead of built again.
    pub fn build(self) -> Result<(), Error> {
        if self.out_dir.as_os_str().is_empty() {
            return Err(Error::NoOutDir);
        }
        for f in &self.files {
            println!("cargo:rerun-if-changed={}", f.display());
        }
        self.build_or_restore(Linkage::Static)?;
        println!("cargo:rustc-link-search=native={}", self.out_dir.display());
        println!("cargo:rustc-link-lib=static=tgv_{}", self.top);
        println!("cargo:rustc-link-lib=dylib=stdc++");
        println!("cargo:rustc-link-lib=dylib=pthread");
        Ok(())
    }

    /// Verilates into a shared library in the directory given by [`VerilatorBuild::out_dir`]
    /// (inside a cargo target directory, so that the model store serves later runs) and loads
    /// it: for RTL that the program generates itself, which no build script can see. The
    /// library stays loaded for the life of the process.
    pub fn load(self) -> Result<&'static ModelVTable, Error> {
        if self.out_dir.as_os_str().is_empty() {
            return Err(Error::NoOutDir);
        }
        std::fs::create_dir_all(&self.out_dir).map_err(|e| Error::io(&self.out_dir, e))?;
        self.build_or_restore(Linkage::Shared)?;
        let [lib, ports] = artifacts(&self.top, Linkage::Shared).map(|n| self.out_dir.join(n));
        let text = std::fs::read_to_string(&ports).map_err(|e| Error::io(&ports, e))?;
        crate::shared::open(&self.top, &lib, parse_port_list(&text))
    }

    fn build_or_restore(&self, linkage: Linkage) -> Result<(), Error> {
        let slot = Slot::find(
            &self.out_dir,
            &self.top,
            &self.key_args(),
            &self.files,
            linkage,
        )?;
        let restored = match &slot {
            Some(slot) => slot.restore(&self.out_dir)?,
            None => false,
        };
        if !restored {
            self.verilate(linkage)?;
            if let Some(slot) = &slot {
                slot.store(&self.out_dir)?;
            }
        }
        Ok(())
    }

    fn verilate(&self, linkage: Linkage) -> Result<(), Error> {
        // A shared library needs position-independent objects, the runtime's included. Its
        // RTL is generated, often with a large ROM whose `initial` block Verilator emits as
        // one cold function that g++ -O1 takes minutes over; run once, it needs no optimiser.
        let (pic, opt_slow): (&[&str], _) = match linkage {
            Linkage::Static if !self.cold_unoptimised => (&[], "OPT_SLOW=-O1"),
            Linkage::Static => (&[], "OPT_SLOW=-O0"),
            Linkage::Shared => (&["-fPIC"], "OPT_SLOW=-O0"),
        };
        let mdir = self.out_dir.join(format!("verilated_{}", self.top));
        // Objects of an earlier build of other RTL must not be archived with this one's.
        if mdir.exists() {
            std::fs::remove_dir_all(&mdir).map_err(|e| Error::io(&mdir, e))?;
        }
        std::fs::create_dir_all(&mdir).map_err(|e| Error::io(&mdir, e))?;
        let prefix = format!("V{}", self.top);
        let mut cmd = Command::new("verilator");
        cmd.args([
            "--cc",
            "-Wno-fatal",
            "-Wno-WIDTH",
            "-O3",
            "--x-assign",
            "fast",
        ])
        .args([
            "--x-initial",
            "fast",
            "--top-module",
            &self.top,
            "--prefix",
            &prefix,
        ])
        .arg("--Mdir")
        .arg(&mdir)
        .args(&self.args);
        cmd.args(&self.files);
        run(&mut cmd)?;

        let header = mdir.join(format!("{prefix}.h"));
        let text = std::fs::read_to_string(&header).map_err(|e| Error::io(&header, e))?;
        let ports = parse_ports(&text);
        if ports.is_empty() {
            return Err(Error::NoPorts(self.top.clone()));
        }
        let wrapper = mdir.join(format!("tgv_{}.cpp", self.top));
        std::fs::write(&wrapper, wrapper_cpp(&self.top, &prefix, &ports))
            .map_err(|e| Error::io(&wrapper, e))?;

        // The model and the Verilator runtime objects, through Verilator's own makefile.
        run(Command::new("make")
            .arg("-C")
            .arg(&mdir)
            .args([
                "-f",
                &format!("{prefix}.mk"),
                "-j2",
                "OPT_FAST=-O2",
                opt_slow,
            ])
            .arg(format!("OPT={}", pic.join(" ")))
            .arg(format!("{prefix}__ALL.a"))
            .args(["verilated.o", "verilated_threads.o"]))?;
        run(Command::new("g++")
            .args(["-O2", "-std=c++17", "-faligned-new", "-c"])
            .args(pic)
            .arg(format!("-I{VERILATOR_INCLUDE}"))
            .arg(format!("-I{VERILATOR_INCLUDE}/vltstd"))
            .arg(format!("-I{}", mdir.display()))
            .arg(&wrapper)
            .arg("-o")
            .arg(mdir.join("tgv_wrapper.o")))?;
        // One library per model: its objects, the wrapper, and a private copy of the runtime
        // (symbols of the runtime are only pulled once by the linker).
        let mut objects = vec![
            mdir.join("tgv_wrapper.o"),
            mdir.join("verilated.o"),
            mdir.join("verilated_threads.o"),
        ];
        let objs = std::fs::read_dir(&mdir).map_err(|e| Error::io(&mdir, e))?;
        for entry in objs {
            let p = entry.map_err(|e| Error::io(&mdir, e))?.path();
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with(&prefix) && name.ends_with(".o") {
                objects.push(p);
            }
        }
        let [lib, glue] = artifacts(&self.top, linkage).map(|name| self.out_dir.join(name));
        let _ = std::fs::remove_file(&lib);
        let (mut link, glue_text) = match linkage {
            Linkage::Static => {
                let mut ar = Command::new("ar");
                ar.arg("rcs").arg(&lib);
                (ar, rust_glue(&self.top, &ports))
            }
            Linkage::Shared => {
                let mut cxx = Command::new("g++");
                cxx.args(["-shared", "-pthread", "-o"]).arg(&lib);
                (cxx, port_list(&ports))
            }
        };
        run(link.args(&objects))?;
        std::fs::write(&glue, glue_text).map_err(|e| Error::io(&glue, e))?;
        Ok(())
    }
}

fn run(cmd: &mut Command) -> Result<(), Error> {
    let out = cmd
        .output()
        .map_err(|e| Error::Spawn(format!("{cmd:?}"), e))?;
    if !out.status.success() {
        return Err(Error::Failed {
            command: format!("{cmd:?}"),
            stderr: String::from_utf8_lossy(&out.stderr)
                .chars()
                .take(8000)
                .collect(),
        });
    }
    Ok(())
}

/// Ports from lines such as `VL_IN8(&clock,0,0);` or `VL_OUTW(&result,380,0,12);`.
fn parse_ports(header: &str) -> Vec<HeaderPort> {
    let mut ports = vec![];
    for line in header.lines() {
        let line = line.trim();
        let (dir, rest) = if let Some(r) = line.strip_prefix("VL_IN") {
            (Direction::In, r)
        } else if let Some(r) = line.strip_prefix("VL_OUT") {
            (Direction::Out, r)
        } else {
            continue;
        };
        let Some(open) = rest.find('(') else { continue };
        let kind = match &rest[..open] {
            "8" => 8,
            "16" => 16,
            "" => 32,
            "64" => 64,
            "W" => 0,
            _ => continue,
        };
        let inner = rest[open + 1..].trim_end_matches(';').trim_end_matches(')');
        let fields = inner.split(',').map(str::trim).collect::<Vec<_>>();
        if fields.len() < 3 {
            continue;
        }
        let name = fields[0].trim_start_matches('&').to_string();
        let (Ok(msb), Ok(lsb)) = (fields[1].parse::<usize>(), fields[2].parse::<usize>()) else {
            continue;
        };
        ports.push(HeaderPort {
            name,
            width: msb - lsb + 1,
            dir,
            kind,
        });
    }
    ports
}

fn wrapper_cpp(top: &str, prefix: &str, ports: &[HeaderPort]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "// Generated by tollgate-verilator for module {top}.");
    let _ = writeln!(
        s,
        "#include <cstdint>\n#include \"verilated.h\"\n#include \"{prefix}.h\""
    );
    let _ = writeln!(
        s,
        "struct TgvHandle {{ VerilatedContext ctx; {prefix}* m; }};"
    );
    let _ = writeln!(s, "extern \"C\" {{");
    let _ = writeln!(
        s,
        "void* tgv_{top}_new() {{ auto* h = new TgvHandle; h->m = new {prefix}{{&h->ctx, \"top\"}}; return h; }}"
    );
    let _ = writeln!(
        s,
        "void tgv_{top}_free(void* p) {{ auto* h = static_cast<TgvHandle*>(p); h->m->final(); delete h->m; delete h; }}"
    );
    let _ = writeln!(
        s,
        "void tgv_{top}_eval(void* p) {{ static_cast<TgvHandle*>(p)->m->eval(); }}"
    );
    let _ = writeln!(
        s,
        "void tgv_{top}_set(void* p, uint32_t port, const uint32_t* w) {{\n  auto* m = static_cast<TgvHandle*>(p)->m;\n  switch (port) {{"
    );
    for (i, port) in ports.iter().enumerate() {
        if port.dir != Direction::In {
            continue;
        }
        let body = match port.kind {
            0 => format!(
                "for (int i = 0; i < {}; i++) m->{}[i] = w[i];",
                port.width.div_ceil(32),
                port.name
            ),
            64 => format!(
                "m->{} = (uint64_t)w[0] | ((uint64_t)w[1] << 32);",
                port.name
            ),
            _ => format!("m->{} = w[0];", port.name),
        };
        let _ = writeln!(s, "    case {i}: {body} break;");
    }
    let _ = writeln!(s, "    default: break;\n  }}\n}}");
    let _ = writeln!(
        s,
        "void tgv_{top}_get(void* p, uint32_t port, uint32_t* w) {{\n  auto* m = static_cast<TgvHandle*>(p)->m;\n  switch (port) {{"
    );
    for (i, port) in ports.iter().enumerate() {
        let body = match port.kind {
            0 => format!(
                "for (int i = 0; i < {}; i++) w[i] = m->{}[i];",
                port.width.div_ceil(32),
                port.name
            ),
            64 => format!(
                "w[0] = (uint32_t)m->{n}; w[1] = (uint32_t)(m->{n} >> 32);",
                n = port.name
            ),
            _ => format!("w[0] = m->{};", port.name),
        };
        let _ = writeln!(s, "    case {i}: {body} break;");
    }
    let _ = writeln!(s, "    default: break;\n  }}\n}}\n}}");
    s
}

/// The ports of a shared-library model, one `name width in|out` line each, in the wrapper's
/// index order.
fn port_list(ports: &[HeaderPort]) -> String {
    ports
        .iter()
        .map(|p| {
            let dir = match p.dir {
                Direction::In => "in",
                Direction::Out => "out",
            };
            format!("{} {} {dir}\n", p.name, p.width)
        })
        .collect()
}

/// Reads [`port_list`]'s output (the strings live as long as the loaded model: forever).
fn parse_port_list(text: &str) -> Vec<PortInfo> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (name, width, dir) = (f.next()?, f.next()?.parse().ok()?, f.next()?);
            Some(PortInfo {
                name: Box::leak(name.to_owned().into_boxed_str()),
                width,
                dir: if dir == "in" {
                    Direction::In
                } else {
                    Direction::Out
                },
            })
        })
        .collect()
}

fn rust_glue(top: &str, ports: &[HeaderPort]) -> String {
    let upper = top.to_uppercase();
    let mut s = String::new();
    let _ = writeln!(s, "// Generated by tollgate-verilator for module {top}.");
    let _ = writeln!(s, "extern \"C\" {{");
    let _ = writeln!(s, "    fn tgv_{top}_new() -> *mut ::core::ffi::c_void;");
    let _ = writeln!(s, "    fn tgv_{top}_free(p: *mut ::core::ffi::c_void);");
    let _ = writeln!(s, "    fn tgv_{top}_eval(p: *mut ::core::ffi::c_void);");
    let _ = writeln!(
        s,
        "    fn tgv_{top}_set(p: *mut ::core::ffi::c_void, port: u32, w: *const u32);"
    );
    let _ = writeln!(
        s,
        "    fn tgv_{top}_get(p: *mut ::core::ffi::c_void, port: u32, w: *mut u32);"
    );
    let _ = writeln!(s, "}}");
    let _ = writeln!(s, "/// Verilated module `{top}`.");
    let _ = writeln!(
        s,
        "pub static {upper}: ::tollgate_verilator::ModelVTable = ::tollgate_verilator::ModelVTable {{"
    );
    let _ = writeln!(s, "    name: \"{top}\",");
    let _ = writeln!(s, "    new: tgv_{top}_new,\n    free: tgv_{top}_free,\n    eval: tgv_{top}_eval,\n    set: tgv_{top}_set,\n    get: tgv_{top}_get,");
    let _ = writeln!(s, "    ports: &[");
    for p in ports {
        let dir = match p.dir {
            Direction::In => "In",
            Direction::Out => "Out",
        };
        let _ = writeln!(
            s,
            "        ::tollgate_verilator::PortInfo {{ name: \"{}\", width: {}, dir: ::tollgate_verilator::Direction::{dir} }},",
            p.name, p.width
        );
    }
    let _ = writeln!(s, "    ],\n}};");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_verilator_port_macros() {
        let h = "    VL_IN8(&clock,0,0);\n    VL_INW(&a,380,0,12);\n    VL_OUT16(&out_tag,15,0);\n    VL_OUT64(&x,40,0);\n    VL_IN(&y,31,0);\n";
        let p = parse_ports(h);
        assert_eq!(p.len(), 5);
        assert_eq!((p[1].name.as_str(), p[1].width, p[1].kind), ("a", 381, 0));
        assert_eq!((p[2].dir, p[2].width, p[2].kind), (Direction::Out, 16, 16));
        assert_eq!((p[3].width, p[3].kind), (41, 64));
        assert_eq!((p[4].width, p[4].kind), (32, 32));
    }
}
