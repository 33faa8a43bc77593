//! Request-level errors: the whole request is refused, with an HTTP status and a code.

use crate::api::wire::Priority;
use crate::codec::ItemError;

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The body is not JSON.
    #[error("body is not valid JSON: {0}")]
    MalformedJson(String),
    /// JSON, but not the shape the endpoint takes (missing field, wrong type...).
    #[error("{0}")]
    InvalidRequest(String),
    #[error("unknown scheme {0:?}: expected basic, aug or pop")]
    UnknownScheme(String),
    #[error("unknown variant {0:?}: expected min_pk or min_sig")]
    UnknownVariant(String),
    /// A scheme the endpoint does not allow (fast aggregate verify is POP only).
    #[error("{0}")]
    UnsupportedScheme(String),
    #[error("no items to process")]
    EmptyBatch,
    #[error("{got} items, at most {max} per request")]
    BatchTooLarge { max: usize, got: usize },
    #[error("{public_keys} public keys but {messages} messages")]
    LengthMismatch { public_keys: usize, messages: usize },
    #[error("body larger than {max} bytes")]
    BodyTooLarge { max: usize },
    /// The client did not send its whole body in time.
    #[error("request body not received within {ms} ms")]
    BodyTimeout { ms: u128 },
    /// No answer within the per-request deadline; any work still queued for it is dropped
    /// unanswered or answered to nobody, never kept.
    #[error("no answer within the request deadline of {ms} ms")]
    DeadlineExceeded { ms: u128 },
    /// One input of /v1/aggregate is invalid; the code is the item's.
    #[error("{field}[{index}]: {error}")]
    InvalidInput {
        field: &'static str,
        index: usize,
        error: ItemError,
    },
    /// `--require-registered-keys`: fast aggregate verification only by `key_ids`.
    #[error("this server verifies aggregates of one message only by registered key_ids")]
    RegistrationRequired,
    #[error("{got} items, at most {max} in an interactive request")]
    InteractiveTooLarge { max: usize, got: usize },
    #[error("unknown priority {0:?}: expected interactive or bulk")]
    UnknownPriority(String),
    /// The budget of the request's latency class is spent.
    #[error("the {} verification queue is full", .0.name())]
    QueueFull(Priority),
    #[error("server is shutting down")]
    ShuttingDown,
    #[error("verification engine failed: {0}")]
    EngineFailure(String),
    /// The client closed its connection before its work was verified: the work was dropped
    /// and the answer goes nowhere (counted, never seen by a client).
    #[error("the client closed its connection before verification")]
    ClientGone,
    #[error("no such endpoint")]
    NotFound,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
}

impl RequestError {
    /// The code carried in `{"error": CODE}`.
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::MalformedJson(_) => "malformed_json",
            RequestError::InvalidRequest(_) => "invalid_request",
            RequestError::UnknownScheme(_) => "unknown_scheme",
            RequestError::UnknownVariant(_) => "unknown_variant",
            RequestError::UnsupportedScheme(_) => "unsupported_scheme",
            RequestError::EmptyBatch => "empty_batch",
            RequestError::BatchTooLarge { .. } => "batch_too_large",
            RequestError::LengthMismatch { .. } => "length_mismatch",
            RequestError::BodyTooLarge { .. } => "body_too_large",
            RequestError::BodyTimeout { .. } => "body_timeout",
            RequestError::DeadlineExceeded { .. } => "deadline_exceeded",
            RequestError::InvalidInput { error, .. } => error.code(),
            RequestError::RegistrationRequired => "registration_required",
            RequestError::InteractiveTooLarge { .. } => "interactive_too_large",
            RequestError::UnknownPriority(_) => "unknown_priority",
            RequestError::QueueFull(_) => "queue_full",
            RequestError::ShuttingDown => "shutting_down",
            RequestError::EngineFailure(_) => "engine_failure",
            RequestError::ClientGone => "client_gone",
            RequestError::NotFound => "not_found",
            RequestError::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            RequestError::BodyTooLarge { .. } => 413,
            RequestError::BodyTimeout { .. } => 408,
            RequestError::QueueFull(_) => 429,
            // nginx's "client closed request": no client reads it.
            RequestError::ClientGone => 499,
            RequestError::ShuttingDown
            | RequestError::EngineFailure(_)
            | RequestError::DeadlineExceeded { .. } => 503,
            RequestError::NotFound => 404,
            RequestError::MethodNotAllowed => 405,
            _ => 400,
        }
    }
}

impl From<crate::engine::EngineError> for RequestError {
    fn from(err: crate::engine::EngineError) -> Self {
        RequestError::EngineFailure(err.to_string())
    }
}
