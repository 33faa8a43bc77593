//! Endpoint handlers: read and parse the body, call the service, shape the answer.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::body::{parse, read_body, SchemeRule};
use crate::api::wire::{
    AggregateRequest, AggregateVerifyRequest, ErrorBody, FastAggregateVerifyRequest, InfoLimits,
    InfoResponse, VerifyRequest,
};
use crate::config::Timeouts;
use crate::service::{Caller, Connection, RequestError, Service};

/// What every handler shares.
pub struct AppState {
    pub service: Arc<Service>,
    pub registry: Arc<crate::registry::Registry>,
    pub max_body_bytes: usize,
    pub retry_after_secs: u64,
    /// Set on SIGTERM: /readyz answers 503 from then on while requests are still served.
    pub draining: Arc<AtomicBool>,
    pub timeouts: Timeouts,
}

impl AppState {
    fn reply<T: Serialize>(&self, result: Result<T, RequestError>) -> HttpResponse {
        match result {
            Ok(body) => HttpResponse::Ok().json(body),
            Err(err) => self.error(err),
        }
    }

    pub(super) fn error(&self, err: RequestError) -> HttpResponse {
        let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = self.error_response(err.code(), status, &err.to_string());
        if matches!(err, RequestError::QueueFull(_)) {
            response.headers_mut().insert(
                actix_web::http::header::RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(self.retry_after_secs),
            );
        }
        response
    }

    /// `{"error": code, "detail": …}` with `status`, counted in the rejection metric.
    pub(super) fn error_response(
        &self,
        code: &'static str,
        status: StatusCode,
        detail: &str,
    ) -> HttpResponse {
        self.service
            .metrics()
            .rejections
            .with_label_values(&[code])
            .inc();
        if status.is_server_error() {
            tracing::warn!(code, detail, "request failed");
        }
        HttpResponse::build(status).json(ErrorBody {
            error: code.to_string(),
            detail: detail.to_string(),
        })
    }
}

/// Reads and parses the body, runs `call` on the request, and answers, all within the
/// request deadline. On the deadline the work is dropped: a decode in progress finishes on the
/// blocking pool and is discarded, and queued verification finds its answer channel closed.
async fn handle<Req, Resp, Fut>(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    rule: SchemeRule,
    call: impl FnOnce(Arc<Service>, Caller, Req) -> Fut,
) -> HttpResponse
where
    Req: DeserializeOwned,
    Resp: Serialize,
    Fut: Future<Output = Result<Resp, RequestError>>,
{
    let timeouts = state.timeouts;
    let work = async {
        let body = read_body(&req, payload, state.max_body_bytes, timeouts.body).await?;
        let request: Req = parse(&body, rule)?;
        call(state.service.clone(), caller(&req), request).await
    };
    let result = tokio::time::timeout(timeouts.request, work)
        .await
        .unwrap_or(Err(RequestError::DeadlineExceeded {
            ms: timeouts.request.as_millis(),
        }));
    state.reply(result)
}

/// The peer address and the connection (see `server::on_connect`) of a request.
fn caller(req: &HttpRequest) -> Caller {
    Caller {
        addr: req.peer_addr().map(|addr| addr.ip()),
        connection: req.conn_data::<Connection>().cloned(),
    }
}

pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    handle(
        state,
        req,
        payload,
        SchemeRule::Any,
        |service, caller, request: VerifyRequest| async move {
            service.verify(&caller, request).await
        },
    )
    .await
}

pub async fn aggregate(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    handle(
        state,
        req,
        payload,
        SchemeRule::Any,
        |service, _, request: AggregateRequest| async move { service.aggregate(request).await },
    )
    .await
}

pub async fn aggregate_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    handle(
        state,
        req,
        payload,
        SchemeRule::Any,
        |service, caller, request: AggregateVerifyRequest| async move {
            service.aggregate_verify(&caller, request).await
        },
    )
    .await
}

pub async fn fast_aggregate_verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    handle(
        state,
        req,
        payload,
        SchemeRule::PopOnly,
        |service, caller, request: FastAggregateVerifyRequest| async move {
            service.fast_aggregate_verify(&caller, request).await
        },
    )
    .await
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
    let detail = if state.draining.load(Ordering::Relaxed) {
        "the server is shutting down"
    } else if !state.service.is_ready() {
        "the verification queue is full or the server is shutting down"
    } else {
        return HttpResponse::Ok().json(serde_json::json!({"status": "ready"}));
    };
    HttpResponse::ServiceUnavailable().json(ErrorBody {
        error: "not_ready".into(),
        detail: detail.into(),
    })
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
