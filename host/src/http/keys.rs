//! Handlers of the key registry (`/v1/keys…`): authorization, bodies, status codes. The
//! registry itself lives in `crate::registry`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::body::{parse, parse_value, read_body, SchemeRule};
use super::AppState;
use crate::api::wire::KeyRegistration;
use crate::registry::RegistryError;
use crate::service::RequestError;

impl AppState {
    fn registry_error(&self, err: RegistryError) -> HttpResponse {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = self.error_response(err.code(), status, &err.to_string());
        if matches!(err, RegistryError::Unauthorized) {
            response.headers_mut().insert(
                actix_web::http::header::WWW_AUTHENTICATE,
                actix_web::http::header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }

    fn authorize(&self, req: &HttpRequest) -> Result<(), RegistryError> {
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.registry.authorize(header)
    }

    fn default_variant(&self) -> crate::suite::Variant {
        self.service.config().default_suite.variant
    }
}

/// A failure before the registry is reached: a request-level error or a registry error.
enum Refusal {
    Request(RequestError),
    Registry(RegistryError),
}

impl From<RequestError> for Refusal {
    fn from(err: RequestError) -> Self {
        Refusal::Request(err)
    }
}

impl From<RegistryError> for Refusal {
    fn from(err: RegistryError) -> Self {
        Refusal::Registry(err)
    }
}

fn answer(state: &AppState, result: Result<HttpResponse, Refusal>) -> HttpResponse {
    match result {
        Ok(response) => response,
        Err(Refusal::Request(err)) => state.error(err),
        Err(Refusal::Registry(err)) => state.registry_error(err),
    }
}

/// `PUT /v1/keys/{key_id}`.
pub async fn put_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        state.authorize(&req)?;
        let body = read_body(&req, payload, state.max_body_bytes, state.timeouts.body).await?;
        let entry: KeyRegistration = parse(&body, SchemeRule::Any)?;
        if entry.key_id.as_ref().is_some_and(|id| id != path.as_str()) {
            return Err(RequestError::InvalidRequest(
                "\"key_id\" in the body differs from the one in the path".into(),
            )
            .into());
        }
        let (created, record) = state
            .registry
            .register(&path, entry, state.default_variant())
            .await?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok::<_, Refusal>(HttpResponse::build(status).json(record))
    }
    .await;
    answer(&state, result)
}

/// `GET /v1/keys/{key_id}`.
pub async fn get_key(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    match state.registry.get(&path).await {
        Ok(record) => HttpResponse::Ok().json(record),
        Err(err) => state.registry_error(err),
    }
}

/// `DELETE /v1/keys/{key_id}`.
pub async fn delete_key(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let result = async {
        state.authorize(&req)?;
        Ok::<_, Refusal>(HttpResponse::Ok().json(state.registry.revoke(&path).await?))
    }
    .await;
    answer(&state, result)
}

/// `POST /v1/keys/batch`: a JSON array of registrations, or JSON lines.
pub async fn post_batch(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        state.authorize(&req)?;
        let body = read_body(&req, payload, state.max_body_bytes, state.timeouts.body).await?;
        let entries = parse_entries(&body)?;
        let max = state.service.config().max_items;
        if entries.is_empty() {
            return Err(RequestError::EmptyBatch.into());
        }
        if entries.len() > max {
            return Err(RequestError::BatchTooLarge {
                max,
                got: entries.len(),
            }
            .into());
        }
        let response = state
            .registry
            .register_batch(entries, state.default_variant())
            .await?;
        Ok::<_, Refusal>(HttpResponse::Ok().json(response))
    }
    .await;
    answer(&state, result)
}

/// The entries of a batch body: `[{…}, …]`, or one object per line.
fn parse_entries(body: &[u8]) -> Result<Vec<KeyRegistration>, RequestError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| RequestError::MalformedJson(format!("body is not UTF-8: {e}")))?;
    let values: Vec<Value> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| RequestError::MalformedJson(e.to_string()))?
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(n, line)| {
                serde_json::from_str(line)
                    .map_err(|e| RequestError::MalformedJson(format!("line {}: {e}", n + 1)))
            })
            .collect::<Result<_, _>>()?
    };
    values
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            parse_value::<KeyRegistration>(value, SchemeRule::Any).map_err(|err| match err {
                RequestError::InvalidRequest(detail) => {
                    RequestError::InvalidRequest(format!("entry {index}: {detail}"))
                }
                other => other,
            })
        })
        .collect()
}
