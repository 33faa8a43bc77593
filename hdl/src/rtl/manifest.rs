//! `bitstreams/<design>/manifest.json`: what was generated, and its hashes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Design;

/// Errors of writing or checking generated RTL.
#[derive(Debug, thiserror::Error)]
pub enum RtlError {
    #[error("I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest {path}: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path} differs from what the generator produces; run `cargo run -p tollgate-hdl --bin gen-rtl`")]
    Stale { path: PathBuf },
}

/// One RTL file in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to `bitstreams/`.
    pub path: String,
    pub top: String,
    pub sha256: String,
}

/// Contents of `bitstreams/<design>/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub design: String,
    pub abi_version: u32,
    pub target_part: String,
    pub clock_mhz: u32,
    pub files: Vec<ManifestFile>,
    /// SHA-256 of the design-hashed module as emitted with a zero hash (see
    /// [`super::RtlModule::design_hashed`]); the identity page reports the same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_hash: Option<String>,
}

/// Generated text of every file of a design, with its manifest.
pub struct Generated {
    pub files: Vec<(PathBuf, String)>,
    pub manifest: Manifest,
}

/// Run a design's generators. Paths are relative to `bitstreams/`.
pub fn generate(design: &Design) -> Generated {
    let mut files = vec![];
    let mut entries = vec![];
    let mut design_hash = None;
    for m in &design.modules {
        let mut text = (m.build)();
        if m.design_hashed {
            let hash: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            text = super::fill_design_hash(&text, &hash);
            design_hash = Some(hex::encode(hash));
        }
        let rel = format!("rtl/{}", m.file);
        entries.push(ManifestFile {
            path: rel.clone(),
            top: m.top.to_string(),
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
        });
        files.push((PathBuf::from(rel), text));
    }
    Generated {
        files,
        manifest: Manifest {
            design: design.name.to_string(),
            abi_version: design.abi_version,
            target_part: design.target_part.to_string(),
            clock_mhz: design.clock_mhz,
            files: entries,
            design_hash,
        },
    }
}

fn manifest_path(root: &Path, design: &str) -> PathBuf {
    root.join(design).join("manifest.json")
}

impl Generated {
    fn manifest_text(&self) -> Result<String, RtlError> {
        let mut s =
            serde_json::to_string_pretty(&self.manifest).map_err(|source| RtlError::Json {
                path: PathBuf::from("manifest.json"),
                source,
            })?;
        s.push('\n');
        Ok(s)
    }

    /// Every file this design owns under `root` (RTL and manifest) with its generated text.
    fn outputs(&self, root: &Path) -> Result<Vec<(PathBuf, String)>, RtlError> {
        let mut all = self
            .files
            .iter()
            .map(|(p, t)| (root.join(p), t.clone()))
            .collect::<Vec<_>>();
        all.push((
            manifest_path(root, &self.manifest.design),
            self.manifest_text()?,
        ));
        Ok(all)
    }

    /// Write the files and manifest under `root` (the `bitstreams/` directory).
    pub fn write(&self, root: &Path) -> Result<(), RtlError> {
        for (path, text) in self.outputs(root)? {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|source| RtlError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&path, text).map_err(|source| RtlError::Io { path, source })?;
        }
        Ok(())
    }

    /// Fail unless the files and manifest under `root` are exactly what was generated.
    pub fn check(&self, root: &Path) -> Result<(), RtlError> {
        for (path, text) in self.outputs(root)? {
            let on_disk = std::fs::read_to_string(&path).map_err(|source| RtlError::Io {
                path: path.clone(),
                source,
            })?;
            if on_disk != text {
                return Err(RtlError::Stale { path });
            }
        }
        Ok(())
    }
}
