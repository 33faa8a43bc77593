//! Endpoint handlers: read and parse the body, call the service, shape the answer.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::body::{parse, read_body, SchemeRule};
use crate::api::wire::{
    AggregateRequest, AggregateVerifyRequest, ErrorBody, FastAggregateVerifyRequest, InfoLimits,
    InfoResponse, VerifyRequest,
};
use crate::service::{RequestError, Service};

/// What every handler shares.
pub struct AppState {
    pub service: Arc<Service>,
    pub max_body_bytes: usize,
    pub retry_after_secs: u64,
}

impl AppState {
    fn reply<T: Serialize>(&self, result: Result<T, RequestError>) -> HttpResponse {
        match result {
            Ok(body) => HttpResponse::Ok().json(body),
            Err(err) => self.error(err),
        }
    }

    fn error(&self, err: RequestError) -> HttpResponse {
        let code = err.code();
        self.service
            .metrics()
            .rejections
            .with_label_values(&[code])
            .inc();
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = HttpResponse::build(status);
        if matches!(err, RequestError::QueueFull(_)) {
            response.insert_header((
                actix_web::http::header::RETRY_AFTER,
                self.retry_after_secs.to_string(),
            ));
        }
        if status.is_server_error() {
            tracing::warn!(code, detail = %err, "request failed");
        }
        response.json(ErrorBody {
            error: code.to_string(),
            detail: err.to_string(),
        })
    }
}

pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        let body = read_body(&req, payload, state.max_body_bytes).await?;
        let request: VerifyRequest = parse(&body, SchemeRule::Any)?;
        state.service.verify(request).await
    }
    .await;
    state.reply(result)
}

pub async fn aggregate(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        let body = read_body(&req, payload, state.max_body_bytes).await?;
        let request: AggregateRequest = parse(&body, SchemeRule::Any)?;
        state.service.aggregate(request).await
    }
    .await;
    state.reply(result)
}

pub async fn aggregate_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        let body = read_body(&req, payload, state.max_body_bytes).await?;
        let request: AggregateVerifyRequest = parse(&body, SchemeRule::Any)?;
        state.service.aggregate_verify(request).await
    }
    .await;
    state.reply(result)
}

pub async fn fast_aggregate_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let result = async {
        let body = read_body(&req, payload, state.max_body_bytes).await?;
        let request: FastAggregateVerifyRequest = parse(&body, SchemeRule::PopOnly)?;
        state.service.fast_aggregate_verify(request).await
    }
    .await;
    state.reply(result)
}

pub async fn info(state: web::Data<AppState>) -> HttpResponse {
    let service = &state.service;
    let config = service.config();
    HttpResponse::Ok().json(InfoResponse {
        name: "tollgate".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        backend: service.engine().backend().into(),
        backends: crate::engine::Backend::names(),
        schemes: vec!["basic".into(), "aug".into(), "pop".into()],
        variants: vec!["min_pk".into(), "min_sig".into()],
        default_scheme: config.default_suite.scheme,
        default_variant: config.default_suite.variant,
        limits: InfoLimits {
            max_body_bytes: state.max_body_bytes,
            max_items: config.max_items,
            max_batch_size: config.max_batch_size,
            max_queue_delay_ms: config.max_queue_delay.as_millis() as u64,
            queue_capacity: config.queue_capacity,
            key_cache_capacity: config.key_cache_capacity,
            interactive_max_items: config.interactive_max_items,
            interactive_capacity: config.interactive_capacity,
        },
        cached_keys: service.cached_keys(),
    })
}

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.service.is_ready() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        HttpResponse::ServiceUnavailable().json(ErrorBody {
            error: "not_ready".into(),
            detail: "the verification queue is full or the server is shutting down".into(),
        })
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.service.metrics().render())
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(super::openapi::document())
}

pub async fn not_found(state: web::Data<AppState>) -> HttpResponse {
    state.error(RequestError::NotFound)
}

pub async fn method_not_allowed(state: web::Data<AppState>) -> HttpResponse {
    state.error(RequestError::MethodNotAllowed)
}
