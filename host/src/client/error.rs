//! Errors of the client tools.

use crate::api::wire::ErrorBody;
use crate::signer::SignerError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{what} is not hex: {source}")]
    Hex {
        what: &'static str,
        #[source]
        source: hex::FromHexError,
    },
    #[error(transparent)]
    Key(#[from] SignerError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} is not valid JSON: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// The server answered with a request-level error (`{"error", "detail"}`).
    #[error("server answered {status}: {} ({})", body.error, body.detail)]
    Rejected { status: u16, body: ErrorBody },
    /// The server answered with an error status and a body that is not the documented one.
    #[error("server answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("cannot reach {url}: {detail}")]
    Transport { url: String, detail: String },
    #[error("bad position {position} for a batch of {items} items")]
    PositionOutOfRange { position: usize, items: usize },
    #[error("corrupt fraction {0} is not in [0, 1]")]
    BadFraction(f64),
    #[error("expected bad items {expected:?}, the server flagged {flagged:?}")]
    UnexpectedVerdicts {
        expected: Vec<usize>,
        flagged: Vec<usize>,
    },
    #[error("{0}")]
    Usage(String),
}
