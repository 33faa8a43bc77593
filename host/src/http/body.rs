//! Request bodies: read with a size limit, parsed as JSON with precise request-level codes.

use std::time::Duration;

use actix_web::{web, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::service::RequestError;

/// Which `scheme` values an endpoint takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemeRule {
    /// Any known scheme (or none: the server default).
    Any,
    /// Fast aggregate verify: only `pop` is sound, anything else is refused.
    PopOnly,
}

/// The whole body, refusing more than `max` bytes (413 `body_too_large`) and cutting a client
/// that has not sent it all within `timeout` (408 `body_timeout`). The timeout is on the whole
/// body, not between chunks, so trickling a byte at a time does not extend it.
pub async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    max: usize,
    timeout: Duration,
) -> Result<web::Bytes, RequestError> {
    // A declared length over the limit is refused before reading anything.
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(RequestError::BodyTooLarge { max });
    }
    let read = tokio::time::timeout(timeout, payload.to_bytes_limited(max))
        .await
        .map_err(|_| RequestError::BodyTimeout {
            ms: timeout.as_millis(),
        })?;
    match read {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) => Err(RequestError::InvalidRequest(format!(
            "could not read body: {err}"
        ))),
        Err(_) => Err(RequestError::BodyTooLarge { max }),
    }
}

/// Parses a JSON object into `T`, reporting unknown scheme/variant names with their own codes
/// (serde alone would only say "unknown variant").
pub fn parse<T: DeserializeOwned>(body: &[u8], rule: SchemeRule) -> Result<T, RequestError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| RequestError::MalformedJson(e.to_string()))?;
    parse_value(value, rule)
}

/// [`parse`] of a JSON value already read (an entry of a bulk body).
pub fn parse_value<T: DeserializeOwned>(value: Value, rule: SchemeRule) -> Result<T, RequestError> {
    let object = value
        .as_object()
        .ok_or_else(|| RequestError::InvalidRequest("the body must be a JSON object".into()))?;
    match object.get("scheme") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => match (name.as_str(), rule) {
            ("pop", _) | ("basic" | "aug", SchemeRule::Any) => {}
            ("basic" | "aug", SchemeRule::PopOnly) => {
                return Err(RequestError::UnsupportedScheme(format!(
                    "fast aggregate verify is sound only with proofs of possession (pop), not {name}"
                )))
            }
            _ => return Err(RequestError::UnknownScheme(name.clone())),
        },
        Some(_) => return Err(RequestError::InvalidRequest("\"scheme\" must be a string".into())),
    }
    match object.get("variant") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) if name == "min_pk" || name == "min_sig" => {}
        Some(Value::String(name)) => return Err(RequestError::UnknownVariant(name.clone())),
        Some(_) => {
            return Err(RequestError::InvalidRequest(
                "\"variant\" must be a string".into(),
            ))
        }
    }
    match object.get("priority") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) if name == "interactive" || name == "bulk" => {}
        Some(Value::String(name)) => return Err(RequestError::UnknownPriority(name.clone())),
        Some(_) => {
            return Err(RequestError::InvalidRequest(
                "\"priority\" must be a string".into(),
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| RequestError::InvalidRequest(e.to_string()))
}
