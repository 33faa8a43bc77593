//! A content-addressed store of built models, shared by every build of one target directory.
//!
//! Cargo runs a build script once per distinct compilation of its package, and `cargo clippy`,
//! `cargo test` and a release build are all distinct: without this each would verilate and
//! compile the same RTL again (minutes of C++ per model). A model is keyed by everything that
//! decides its bytes: the top module, the Verilator arguments, the Verilog sources, the
//! installed Verilator and this crate's build code. A miss builds as before and stores the
//! result; a hit copies it into `OUT_DIR`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// How the model is linked: into the crate (a build script's model) or loaded at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Linkage {
    Static,
    Shared,
}

/// The files a build leaves in `OUT_DIR` for the crate that links the model: the library and
/// its Rust glue (static) or port list (shared).
pub(crate) fn artifacts(top: &str, linkage: Linkage) -> [String; 2] {
    match linkage {
        Linkage::Static => [format!("libtgv_{top}.a"), format!("verilated_{top}.rs")],
        Linkage::Shared => [format!("libtgv_{top}.so"), format!("tgv_{top}.ports")],
    }
}

/// One model's slot in the store, or `None` when `out_dir` is not inside a cargo target
/// directory (then every build verilates, as cargo alone would).
pub(crate) struct Slot {
    dir: PathBuf,
    top: String,
    linkage: Linkage,
}

impl Slot {
    pub(crate) fn find(
        out_dir: &Path,
        top: &str,
        args: &[String],
        files: &[PathBuf],
        linkage: Linkage,
    ) -> Result<Option<Slot>, Error> {
        // Cargo marks the root of every target directory with this file.
        let Some(target) = out_dir
            .ancestors()
            .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        else {
            return Ok(None);
        };
        let mut hasher = DefaultHasher::new();
        (top, args).hash(&mut hasher);
        // The static key stays as it was, so that stored build-script models remain valid.
        if linkage == Linkage::Shared {
            linkage.hash(&mut hasher);
        }
        for file in files {
            std::fs::read(file)
                .map_err(|e| Error::io(file, e))?
                .hash(&mut hasher);
        }
        verilator_version().hash(&mut hasher);
        include_str!("build.rs").hash(&mut hasher);
        Ok(Some(Slot {
            dir: target
                .join("verilator-models")
                .join(format!("{top}-{:016x}", hasher.finish())),
            top: top.to_string(),
            linkage,
        }))
    }

    /// Copies a stored model into `out_dir`; false when there is none.
    pub(crate) fn restore(&self, out_dir: &Path) -> Result<bool, Error> {
        let names = artifacts(&self.top, self.linkage);
        if !names.iter().all(|n| self.dir.join(n).is_file()) {
            return Ok(false);
        }
        for name in &names {
            copy(&self.dir.join(name), &out_dir.join(name))?;
        }
        Ok(true)
    }

    /// Stores the model just built in `out_dir`. The slot appears whole or not at all (built
    /// aside, then renamed), so a build interrupted or racing another never leaves half a model.
    pub(crate) fn store(&self, out_dir: &Path) -> Result<(), Error> {
        let staging = self
            .dir
            .with_extension(format!("partial-{}", std::process::id()));
        std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        for name in &artifacts(&self.top, self.linkage) {
            copy(&out_dir.join(name), &staging.join(name))?;
        }
        if std::fs::rename(&staging, &self.dir).is_err() {
            // Another build stored the same model first; its copy is as good as ours.
            let _ = std::fs::remove_dir_all(&staging);
        }
        Ok(())
    }
}

fn copy(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::copy(from, to)
        .map(drop)
        .map_err(|e| Error::io(from, e))
}

/// `verilator --version`'s output, or empty when it cannot run (the build then fails on its own).
fn verilator_version() -> Vec<u8> {
    Command::new("verilator")
        .arg("--version")
        .output()
        .map(|out| out.stdout)
        .unwrap_or_default()
}
