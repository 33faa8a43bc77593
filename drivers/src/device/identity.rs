//! The identity page and the manifest it must match: a device is used only if it is the
//! design the host was built and tested against.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tollgate_abi::layout::Shape;
use tollgate_abi::{regs, Opcode, DESIGN_HASH_WORDS, MAGIC, MONT_R_LOG2};

use crate::transport::{RegisterAccess, TransportError};

/// What the device says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// [`tollgate_abi::MAGIC`] on a Tollgate device.
    pub magic: u32,
    /// major << 16 | minor.
    pub abi_version: u32,
    /// The design hash as the manifest spells it (64 lowercase hex digits).
    pub design_hash: String,
    /// Bit mask of implemented opcodes.
    pub capabilities: u32,
    /// The design's clock in kHz.
    pub clock_khz: u32,
    /// log2 of the Montgomery radix of the data encodings.
    pub mont_r_log2: u32,
    /// Input buffer capacity in element words.
    pub in_buffer_words: u32,
    /// Output buffer capacity in words.
    pub out_buffer_words: u32,
    /// Largest ring the device takes (log2 of its entries).
    pub ring_max_log2: u32,
    /// Interleaved lanes K of the engine.
    pub lanes: u32,
    /// Points one aggregation body run consumes per lane.
    pub aggregate_fanin: u32,
}

impl Identity {
    /// Reads the identity page.
    pub fn read(transport: &mut dyn RegisterAccess) -> Result<Identity, TransportError> {
        let mut hash = [0u32; DESIGN_HASH_WORDS];
        for (i, word) in hash.iter_mut().enumerate() {
            *word = transport.read32(regs::DESIGN_HASH + 4 * i as u32)?;
        }
        Ok(Identity {
            magic: transport.read32(regs::MAGIC)?,
            abi_version: transport.read32(regs::ABI_VERSION)?,
            design_hash: hex::encode(tollgate_abi::design_hash_bytes(&hash)),
            capabilities: transport.read32(regs::CAPABILITIES)?,
            clock_khz: transport.read32(regs::CLOCK_KHZ)?,
            mont_r_log2: transport.read32(regs::MONT_R_LOG2)?,
            in_buffer_words: transport.read32(regs::IN_BUFFER_WORDS)?,
            out_buffer_words: transport.read32(regs::OUT_BUFFER_WORDS)?,
            ring_max_log2: transport.read32(regs::RING_MAX_LOG2)?,
            lanes: transport.read32(regs::LANES)?,
            aggregate_fanin: transport.read32(regs::AGGREGATE_FANIN)?,
        })
    }

    /// The engine's shape, which lays out every job's stream.
    pub fn shape(&self) -> Shape {
        Shape {
            lanes: self.lanes,
            aggregate_fanin: self.aggregate_fanin,
            in_words: self.in_buffer_words,
            out_words: self.out_buffer_words,
        }
    }

    /// Whether the device implements `opcode`.
    pub fn supports(&self, opcode: Opcode) -> bool {
        self.capabilities & opcode.capability_bit() != 0
    }
}

/// The fields of `bitstreams/<design>/manifest.json` the driver relies on (others are ignored).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Design name (the folder under bitstreams/).
    #[serde(alias = "id", alias = "name")]
    pub design: String,
    /// ABI version the design implements.
    pub abi_version: AbiVersion,
    /// The design hash the identity page must report, 64 hex digits.
    pub design_hash: String,
    /// The clock the design was built for; the identity page must report the same.
    #[serde(default)]
    pub clock_mhz: Option<u32>,
    /// Where it was read from (for messages).
    #[serde(skip)]
    pub path: PathBuf,
}

/// A manifest's ABI version: `(major << 16) | minor` as a number, or `"major.minor"`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum AbiVersion {
    /// Packed as the identity page reports it.
    Packed(u32),
    /// As text.
    Text(String),
}

impl AbiVersion {
    /// The packed form, if well formed.
    pub fn packed(&self) -> Option<u32> {
        match self {
            AbiVersion::Packed(value) => Some(*value),
            AbiVersion::Text(text) => {
                let (major, minor) = text.split_once('.')?;
                Some((major.parse::<u16>().ok()? as u32) << 16 | minor.parse::<u16>().ok()? as u32)
            }
        }
    }
}

impl std::fmt::Display for AbiVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.packed() {
            Some(v) => write!(f, "{}.{}", v >> 16, v & 0xFFFF),
            None => write!(f, "{self:?}"),
        }
    }
}

/// Why a manifest could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest {path}: {source}")]
    Read {
        /// The manifest's path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a manifest.
    #[error("malformed manifest {path}: {source}")]
    Parse {
        /// The manifest's path.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
}

impl Manifest {
    /// Loads `path`.
    pub fn load(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut manifest: Manifest =
            serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
                path: path.to_owned(),
                source,
            })?;
        manifest.path = path.to_owned();
        Ok(manifest)
    }

    /// The manifest of `design` in the repository's `bitstreams/` folder at `root`.
    pub fn path_in(root: &Path, design: &str) -> PathBuf {
        root.join("bitstreams").join(design).join("manifest.json")
    }
}

/// Why a device was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityMismatch {
    /// Not a Tollgate device at all (or BAR0 of something else).
    #[error("not a Tollgate device: magic {found:#010x}, expected {MAGIC:#010x}")]
    Magic {
        /// What was read.
        found: u32,
    },
    /// ABI versions differ in major (or the manifest is malformed).
    #[error(
        "ABI mismatch: device implements {}.{}, manifest {manifest} says {expected}, driver speaks {}.{}",
        device >> 16, device & 0xFFFF, tollgate_abi::ABI_MAJOR, tollgate_abi::ABI_MINOR
    )]
    AbiVersion {
        /// Reported by the device.
        device: u32,
        /// From the manifest.
        expected: String,
        /// The manifest's path.
        manifest: String,
    },
    /// The device runs a different design than the manifest describes.
    #[error(
        "design hash mismatch: device reports {device}, manifest {manifest} expects {expected}; \
         the loaded bitstream is not the one this host was built for — reload it or regenerate \
         the manifest"
    )]
    DesignHash {
        /// Reported by the device.
        device: String,
        /// From the manifest.
        expected: String,
        /// The manifest's path.
        manifest: String,
    },
    /// The device encodes field elements with another Montgomery radix.
    #[error("device uses Montgomery R = 2^{device}, the ABI defines 2^{MONT_R_LOG2}")]
    MontgomeryRadix {
        /// Reported by the device.
        device: u32,
    },
    /// The device reports an engine without lanes (or without aggregation fan-in), so no job
    /// could be laid out for it.
    #[error(
        "device reports {lanes} lanes and aggregation fan-in {fanin}: no job fits such an engine"
    )]
    NoLanes {
        /// [`regs::LANES`] as read.
        lanes: u32,
        /// [`regs::AGGREGATE_FANIN`] as read.
        fanin: u32,
    },
    /// The device reports a clock its manifest does not give, or one outside
    /// [`CLOCK_KHZ_RANGE`]: deadlines in wall time are computed from it.
    #[error(
        "device reports a {device_khz} kHz clock; its manifest gives {}, the driver takes {} to {} kHz",
        manifest_mhz.map_or("no clock".to_string(), |mhz| format!("{mhz} MHz")),
        CLOCK_KHZ_RANGE.start(), CLOCK_KHZ_RANGE.end()
    )]
    Clock {
        /// [`regs::CLOCK_KHZ`] as read.
        device_khz: u32,
        /// From the manifest.
        manifest_mhz: Option<u32>,
    },
    /// The device reports more lanes or a larger aggregation fan-in than any design has: the
    /// job layout and the result checks allocate per lane.
    #[error("device reports {lanes} lanes and aggregation fan-in {fanin}, beyond {MAX_LANES} and {MAX_AGGREGATE_FANIN}")]
    ImplausibleShape {
        /// [`regs::LANES`] as read.
        lanes: u32,
        /// [`regs::AGGREGATE_FANIN`] as read.
        fanin: u32,
    },
    /// The device claims no opcode at all, or one its ABI version does not define.
    #[error(
        "device capabilities {capabilities:#x} name no opcode, or one ABI {}.{} does not define",
        abi_version >> 16, abi_version & 0xFFFF
    )]
    Capabilities {
        /// [`regs::CAPABILITIES`] as read.
        capabilities: u32,
        /// The device's ABI version.
        abi_version: u32,
    },
}

/// The clocks the driver believes a device's identity page about (10 MHz to 1 GHz): an FPGA
/// design runs within this, and a wall-time deadline computed from a clock outside it would be
/// meaningless (1 kHz would stretch every wait 250,000-fold).
pub const CLOCK_KHZ_RANGE: std::ops::RangeInclusive<u32> = 10_000..=1_000_000;

/// The most lanes a device may report: several times any design's (29 and 40 today).
pub const MAX_LANES: u32 = 256;

/// The largest aggregation fan-in a device may report (3 today).
pub const MAX_AGGREGATE_FANIN: u32 = 64;

/// Checks a device's identity against the manifest and the driver's own ABI. Every value
/// that later sizes an allocation or a deadline is either matched against the manifest or
/// bounded here (the buffers' DMA memory by [`super::MAX_DMA_BYTES`] when the device opens).
pub fn check(identity: &Identity, manifest: &Manifest) -> Result<(), IdentityMismatch> {
    if identity.magic != MAGIC {
        return Err(IdentityMismatch::Magic {
            found: identity.magic,
        });
    }
    let manifest_name = manifest.path.display().to_string();
    let major = |v: u32| v >> 16;
    let manifest_version = manifest.abi_version.packed();
    if major(identity.abi_version) != tollgate_abi::ABI_MAJOR as u32
        || manifest_version != Some(identity.abi_version)
    {
        return Err(IdentityMismatch::AbiVersion {
            device: identity.abi_version,
            expected: manifest.abi_version.to_string(),
            manifest: manifest_name,
        });
    }
    if !identity
        .design_hash
        .eq_ignore_ascii_case(manifest.design_hash.trim())
    {
        return Err(IdentityMismatch::DesignHash {
            device: identity.design_hash.clone(),
            expected: manifest.design_hash.clone(),
            manifest: manifest_name,
        });
    }
    if identity.mont_r_log2 != MONT_R_LOG2 {
        return Err(IdentityMismatch::MontgomeryRadix {
            device: identity.mont_r_log2,
        });
    }
    if identity.lanes == 0 || identity.aggregate_fanin == 0 {
        return Err(IdentityMismatch::NoLanes {
            lanes: identity.lanes,
            fanin: identity.aggregate_fanin,
        });
    }
    let clock_matches = manifest
        .clock_mhz
        .is_none_or(|mhz| u64::from(mhz) * 1000 == u64::from(identity.clock_khz));
    if !clock_matches || !CLOCK_KHZ_RANGE.contains(&identity.clock_khz) {
        return Err(IdentityMismatch::Clock {
            device_khz: identity.clock_khz,
            manifest_mhz: manifest.clock_mhz,
        });
    }
    if identity.lanes > MAX_LANES || identity.aggregate_fanin > MAX_AGGREGATE_FANIN {
        return Err(IdentityMismatch::ImplausibleShape {
            lanes: identity.lanes,
            fanin: identity.aggregate_fanin,
        });
    }
    // Bits of opcodes this driver does not know are a newer minor's additions: ignored.
    let minor = identity.abi_version & 0xFFFF;
    let known = Opcode::ALL.iter().filter(|op| identity.supports(**op));
    if known.clone().count() == 0 || known.clone().any(|op| u32::from(op.since_minor()) > minor) {
        return Err(IdentityMismatch::Capabilities {
            capabilities: identity.capabilities,
            abi_version: identity.abi_version,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn manifest(json: &str) -> Manifest {
        let mut manifest: Manifest = serde_json::from_str(json).unwrap();
        manifest.path = PathBuf::from("bitstreams/tollgate/manifest.json");
        manifest
    }

    fn good() -> (Identity, Manifest) {
        let identity = Identity {
            magic: MAGIC,
            abi_version: tollgate_abi::ABI_VERSION,
            design_hash: HASH.into(),
            capabilities: 0x7E,
            clock_khz: 250_000,
            mont_r_log2: MONT_R_LOG2,
            in_buffer_words: 512,
            out_buffer_words: 512,
            ring_max_log2: 8,
            lanes: 40,
            aggregate_fanin: 3,
        };
        let json = format!(
            r#"{{"design": "tollgate", "abi_version": {}, "design_hash": "{HASH}", "clock_mhz": 250}}"#,
            tollgate_abi::ABI_VERSION
        );
        (identity, manifest(&json))
    }

    #[test]
    fn a_matching_device_is_accepted_with_either_version_spelling() {
        let (identity, manifest_numeric) = good();
        assert_eq!(check(&identity, &manifest_numeric), Ok(()));
        let text = format!(
            r#"{{"design": "tollgate", "abi_version": "{}.{}", "design_hash": "{}"}}"#,
            tollgate_abi::ABI_MAJOR,
            tollgate_abi::ABI_MINOR,
            HASH.to_uppercase()
        );
        assert_eq!(check(&identity, &manifest(&text)), Ok(()));
    }

    #[test]
    fn each_mismatch_is_refused_with_a_message_naming_both_sides() {
        let (identity, manifest) = good();

        let other_hash = Identity {
            design_hash: HASH.replace("00", "ff"),
            ..identity.clone()
        };
        let error = check(&other_hash, &manifest).unwrap_err();
        assert!(matches!(error, IdentityMismatch::DesignHash { .. }));
        let message = error.to_string();
        assert!(
            message.contains(HASH) && message.contains(&other_hash.design_hash),
            "{message}"
        );
        assert!(
            message.contains("bitstreams/tollgate/manifest.json"),
            "{message}"
        );

        let next_major = Identity {
            abi_version: tollgate_abi::ABI_VERSION + (1 << 16),
            ..identity.clone()
        };
        let error = check(&next_major, &manifest).unwrap_err();
        assert!(
            matches!(error, IdentityMismatch::AbiVersion { .. }),
            "{error}"
        );
        assert!(error
            .to_string()
            .contains(&format!("{}.", tollgate_abi::ABI_MAJOR + 1)));

        let not_ours = Identity {
            magic: 0xFFFF_FFFF,
            ..identity.clone()
        };
        assert_eq!(
            check(&not_ours, &manifest),
            Err(IdentityMismatch::Magic { found: 0xFFFF_FFFF })
        );

        let other_radix = Identity {
            mont_r_log2: 390,
            ..identity.clone()
        };
        assert_eq!(
            check(&other_radix, &manifest),
            Err(IdentityMismatch::MontgomeryRadix { device: 390 })
        );

        // A 3.0 device claiming a verification opcode, and a device claiming nothing.
        let claims_too_much = Identity {
            abi_version: tollgate_abi::ABI_VERSION & !0xFFFF,
            capabilities: 0x7E | Opcode::MillerLoop.capability_bit(),
            ..identity.clone()
        };
        let manifest_30 = self::manifest(&format!(
            r#"{{"design": "tollgate", "abi_version": "{}.0", "design_hash": "{HASH}"}}"#,
            tollgate_abi::ABI_MAJOR
        ));
        assert!(matches!(
            check(&claims_too_much, &manifest_30),
            Err(IdentityMismatch::Capabilities { .. })
        ));
        let fewer = Identity {
            capabilities: 0x7E,
            ..claims_too_much
        };
        assert_eq!(check(&fewer, &manifest_30), Ok(()));
        let nothing = Identity {
            capabilities: 1 << 31,
            ..identity.clone()
        };
        assert!(matches!(
            check(&nothing, &manifest),
            Err(IdentityMismatch::Capabilities { .. })
        ));

        let no_lanes = Identity {
            lanes: 0,
            ..identity.clone()
        };
        let error = check(&no_lanes, &manifest).unwrap_err();
        assert_eq!(error, IdentityMismatch::NoLanes { lanes: 0, fanin: 3 });
        assert!(error.to_string().contains("0 lanes"), "{error}");
    }

    #[test]
    fn the_clock_and_the_shape_are_matched_or_bounded_before_they_size_anything() {
        let (identity, manifest) = good();
        // 250 MHz in the manifest: the page must say 250,000 kHz.
        let slow = Identity {
            clock_khz: 1,
            ..identity.clone()
        };
        let error = check(&slow, &manifest).unwrap_err();
        assert_eq!(
            error,
            IdentityMismatch::Clock {
                device_khz: 1,
                manifest_mhz: Some(250)
            }
        );
        assert!(
            error
                .to_string()
                .contains("1 kHz clock; its manifest gives 250 MHz"),
            "{error}"
        );
        let other = Identity {
            clock_khz: 300_000,
            ..identity.clone()
        };
        assert!(matches!(
            check(&other, &manifest),
            Err(IdentityMismatch::Clock { .. })
        ));
        // A manifest without a clock: the page's own clock must still be plausible.
        let unclocked = Manifest {
            clock_mhz: None,
            ..manifest.clone()
        };
        assert_eq!(check(&identity, &unclocked), Ok(()));
        for khz in [
            CLOCK_KHZ_RANGE.start() - 1,
            CLOCK_KHZ_RANGE.end() + 1,
            u32::MAX,
        ] {
            let implausible = Identity {
                clock_khz: khz,
                ..identity.clone()
            };
            assert!(matches!(
                check(&implausible, &unclocked),
                Err(IdentityMismatch::Clock { .. })
            ));
        }
        for (lanes, fanin) in [
            (MAX_LANES + 1, 3),
            (40, MAX_AGGREGATE_FANIN + 1),
            (u32::MAX, 3),
        ] {
            let huge = Identity {
                lanes,
                aggregate_fanin: fanin,
                ..identity.clone()
            };
            assert_eq!(
                check(&huge, &manifest),
                Err(IdentityMismatch::ImplausibleShape { lanes, fanin })
            );
        }
        let widest = Identity {
            lanes: MAX_LANES,
            aggregate_fanin: MAX_AGGREGATE_FANIN,
            ..identity
        };
        assert_eq!(check(&widest, &manifest), Ok(()));
    }

    #[test]
    fn the_shape_comes_from_the_identity_page() {
        let (identity, _) = good();
        let shape = identity.shape();
        assert_eq!((shape.lanes, shape.aggregate_fanin), (40, 3));
        assert_eq!((shape.in_words, shape.out_words), (512, 512));
        // 512 input words hold one round of G1 aggregation (40 lanes × 3 points × 36 words
        // = 4,320) not at all: such a device can run no aggregation job.
        assert_eq!(shape.max_items(tollgate_abi::Opcode::AggregateG1), 0);
    }

    #[test]
    fn manifests_without_a_design_hash_or_with_bad_versions_do_not_pass() {
        let missing: Result<Manifest, _> =
            serde_json::from_str(r#"{"design": "tollgate", "abi_version": 65536}"#);
        assert!(missing.is_err());
        let (identity, _) = good();
        let garbled = manifest(&format!(
            r#"{{"design": "tollgate", "abi_version": "one", "design_hash": "{HASH}"}}"#
        ));
        assert!(matches!(
            check(&identity, &garbled),
            Err(IdentityMismatch::AbiVersion { .. })
        ));
    }
}
