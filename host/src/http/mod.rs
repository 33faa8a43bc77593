//! The HTTP API on actix-web (docs/API.md): routes, body limits, request metrics, and the
//! server with graceful drain on SIGTERM.

pub(crate) mod body;
mod handlers;
mod keys;
pub mod openapi;
mod routes;
mod server;

pub use handlers::AppState;
pub use routes::ROUTES;
pub use server::serve;

use std::time::Instant;

use actix_web::dev::Service as _;
use actix_web::{web, App};

/// Registers every route of `ROUTES` with its handler; routes sharing a path (in table order)
/// share one resource, so that each answers its own method and the rest get 405.
fn register(cfg: &mut web::ServiceConfig) {
    let mut paths: Vec<&str> = Vec::new();
    for &(_, path) in ROUTES {
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    for path in paths {
        let mut resource = web::resource(path);
        for &(method, _) in ROUTES.iter().filter(|(_, p)| *p == path) {
            resource = resource.route(route(method, path));
        }
        cfg.service(resource.default_service(web::to(handlers::method_not_allowed)));
    }
}

fn route(method: &str, path: &str) -> actix_web::Route {
    match (method, path) {
        ("put", "/v1/keys/{key_id}") => web::put().to(keys::put_key),
        ("get", "/v1/keys/{key_id}") => web::get().to(keys::get_key),
        ("delete", "/v1/keys/{key_id}") => web::delete().to(keys::delete_key),
        ("post", "/v1/keys/batch") => web::post().to(keys::post_batch),
        _ => match path {
            "/v1/verify" => web::post().to(handlers::verify),
            "/v1/aggregate" => web::post().to(handlers::aggregate),
            "/v1/aggregate-verify" => web::post().to(handlers::aggregate_verify),
            "/v1/fast-aggregate-verify" => web::post().to(handlers::fast_aggregate_verify),
            "/v1/info" => web::get().to(handlers::info),
            "/healthz" => web::get().to(handlers::healthz),
            "/readyz" => web::get().to(handlers::readyz),
            "/metrics" => web::get().to(handlers::metrics),
            "/openapi.json" => web::get().to(handlers::openapi),
            other => unreachable!("route table entry {method} {other} has no handler"),
        },
    }
}

/// The application: routes, state, and request metrics by route pattern and status.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = state.service.clone();
    App::new()
        .app_data(state)
        .configure(register)
        .default_service(web::to(handlers::not_found))
        .wrap_fn(move |req, srv| {
            let started = Instant::now();
            // The route pattern, not the raw path: unknown paths must not create label values.
            let endpoint = req.match_pattern().unwrap_or_else(|| "unmatched".into());
            let service = metrics.clone();
            let response = srv.call(req);
            async move {
                let response = response.await?;
                service
                    .metrics()
                    .request_duration
                    .with_label_values(&[endpoint.as_str(), response.status().as_str()])
                    .observe(started.elapsed().as_secs_f64());
                Ok(response)
            }
        })
}
