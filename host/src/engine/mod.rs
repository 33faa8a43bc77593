//! Verification engines: the arithmetic behind the service, behind one trait so that callers
//! never know which backend they hold. Inputs arrive decoded and validated (see `codec`),
//! except the signatures of an engine that says it decodes them itself
//! ([`Engine::decodes_signatures`]): those arrive screened (`codec::ItemSignature`), every
//! engine accepts both forms, and a batch's verdict names the items whose deferred signature
//! is no point of the group ([`BatchVerdict`]). Bisection, which turns one batch verdict into
//! per-item verdicts, is written once here for every backend.

mod batch_equation;
mod bisect;
mod cpu;
pub mod device;
pub mod fallback;
mod grouping;

pub use bisect::{bisect, verify_each, verify_jobs, BisectStats};
pub use cpu::CpuEngine;

use crate::codec::{ItemError, ItemSignature, PublicKey, Signature};
use crate::suite::Suite;

/// One signature to verify. `message` is what is hashed to the curve: for the AUG scheme the
/// caller has already prepended the public key's compressed encoding.
#[derive(Clone, Debug)]
pub struct SignedItem {
    pub public_key: PublicKey,
    pub message: Vec<u8>,
    pub signature: ItemSignature,
}

/// One item's answer: valid, or why not.
pub type ItemVerdict = Result<(), ItemError>;

/// What an engine found of a batch: the items whose deferred signature it refused (positions
/// in the batch, with the error the parser would have given), and the verdict on the others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchVerdict {
    /// Items whose signature is not a point of the group (off the curve or the subgroup).
    pub rejected: Vec<(usize, ItemError)>,
    /// Whether every other item verifies (true when none is left).
    pub others_valid: bool,
}

impl BatchVerdict {
    /// A verdict with nothing rejected.
    pub fn of(valid: bool) -> Self {
        BatchVerdict {
            rejected: Vec::new(),
            others_valid: valid,
        }
    }

    /// Whether every item of the batch verifies.
    pub fn all_valid(&self) -> bool {
        self.rejected.is_empty() && self.others_valid
    }
}

/// An item with its signature decoded: key, signature, message.
pub(crate) type Decoded<'a> = (&'a PublicKey, Signature, &'a [u8]);

/// The items of a batch with their signatures decoded on the CPU (`ItemSignature::decoded`):
/// the refused ones (positions, errors) and the others.
pub(crate) fn decode_on_cpu<'a>(
    items: &[&'a SignedItem],
) -> (Vec<(usize, ItemError)>, Vec<Decoded<'a>>) {
    let mut rejected = Vec::new();
    let mut decoded = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item.signature.decoded() {
            Ok(signature) => decoded.push((&item.public_key, signature, item.message.as_slice())),
            Err(error) => rejected.push((index, error)),
        }
    }
    (rejected, decoded)
}

/// An engine could not compute a verdict (as opposed to computing "invalid").
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Points of the wrong group for the suite's variant: a caller bug, never input.
    #[error("points do not match the {0:?} variant")]
    VariantMismatch(crate::suite::Variant),
    /// Nothing to aggregate or verify.
    #[error("empty input")]
    Empty,
    /// The OS random source failed, so no batch can be blinded safely.
    #[error("OS random source failed: {0}")]
    Rng(String),
    /// The backend failed (device timeout, bad status...).
    #[error("backend failure: {0}")]
    Backend(String),
}

/// The operations a backend provides. Implementations must be safe to call from one batcher
/// thread and from request handlers at the same time.
pub trait Engine: Send + Sync {
    /// Backend name for metrics and /v1/info (`cpu`, later `device`).
    fn backend(&self) -> &'static str;

    /// Whether this engine decodes the signatures of `suite` itself now, so that requests
    /// should carry them screened but undecoded (`ItemSignature::Deferred`). Engines accept
    /// both forms whatever they answer here.
    fn decodes_signatures(&self, _suite: Suite) -> bool {
        false
    }

    /// Random-linear-combination check of all `items` (same `suite`): the items whose
    /// deferred signature is no point of the group, each with its error, and whether every
    /// other item verifies, except with probability at most 2^-64 per call when some item is
    /// invalid. A batch of valid items always passes. Blinding scalars are non-zero 64-bit
    /// values from the OS CSPRNG, fresh for every call.
    fn verify_batch(
        &self,
        suite: Suite,
        items: &[&SignedItem],
    ) -> Result<BatchVerdict, EngineError>;

    /// Core aggregate verification: e(g, signature) == Π e(public_keys[i], H(messages[i])).
    /// Messages are final (augmented for AUG); distinctness is the caller's business.
    fn verify_aggregate(
        &self,
        suite: Suite,
        public_keys: &[PublicKey],
        messages: &[&[u8]],
        signature: &Signature,
    ) -> Result<bool, EngineError>;

    /// The sum of validated public keys (all of one variant). The result may be the identity.
    fn aggregate_public_keys(&self, keys: &[PublicKey]) -> Result<PublicKey, EngineError>;

    /// The sum of subgroup-checked signatures (all of one variant).
    fn aggregate_signatures(&self, signatures: &[Signature]) -> Result<Signature, EngineError>;
}

/// The engines `tollgate serve --backend` can run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// blst on the host CPU.
    #[default]
    Cpu,
    /// A PCIe accelerator if one is bound to vfio-pci and passes its identity check, else the CPU.
    Auto,
    /// The accelerator's generated RTL under Verilator (no hardware needed; slow).
    Sim,
    /// A PCIe accelerator through VFIO.
    Pcie,
}

impl Backend {
    /// Every backend name, for /v1/info.
    pub fn names() -> Vec<String> {
        use clap::ValueEnum;
        Backend::value_variants()
            .iter()
            .filter_map(|b| b.to_possible_value().map(|v| v.get_name().to_string()))
            .collect()
    }

    /// A ready engine of this backend; device engines register their metrics in `registry`.
    pub fn build(
        self,
        device: &device::DeviceArgs,
        registry: &prometheus::Registry,
    ) -> Result<std::sync::Arc<dyn Engine>, EngineError> {
        let open = |transport| {
            device
                .open(transport, registry)
                .map_err(|e| EngineError::Backend(e.to_string()))
        };
        match self {
            Backend::Cpu => Ok(std::sync::Arc::new(CpuEngine::new())),
            Backend::Sim => Ok(std::sync::Arc::new(open(device::Transport::Sim)?)),
            Backend::Pcie => Ok(std::sync::Arc::new(open(device::Transport::Pcie)?)),
            Backend::Auto => match open(device::Transport::Pcie) {
                Ok(engine) => Ok(std::sync::Arc::new(engine)),
                Err(error) => {
                    tracing::warn!(%error, "no usable accelerator; serving from the CPU");
                    Ok(std::sync::Arc::new(CpuEngine::new()))
                }
            },
        }
    }
}
