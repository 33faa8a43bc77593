//! `tollgate serve`: binds, prints the bound address, serves until SIGTERM/SIGINT, drains.

use std::io::Write;
use std::sync::Arc;

use actix_web::{web, HttpServer};

use super::{app, AppState};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::service::Service;

/// Runs the service until a signal stops it. On SIGTERM (graceful in actix; SIGINT is not) the
/// listener closes, requests in flight (including those waiting in the queue) are answered,
/// then the batcher stops.
pub fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(run(settings))
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let engine = settings
        .backend
        .build(&settings.device, metrics.registry())?;
    let service = Arc::new(Service::start(settings.service.clone(), engine, metrics)?);
    let state = web::Data::new(AppState {
        service: service.clone(),
        max_body_bytes: settings.max_body_bytes,
        retry_after_secs: settings.retry_after_secs,
        timeouts: settings.timeouts,
    });
    let server = HttpServer::new(move || app(state.clone()))
        .workers(settings.http_workers)
        // Decoding runs on each worker's blocking pool: one thread per worker keeps decoding at
        // one thread per configured worker, beside blst's own pool for verification.
        .worker_max_blocking_threads(1)
        .shutdown_timeout(settings.shutdown_timeout_secs)
        // A client that has not sent its head in time gets 408 and its connection closed.
        .client_request_timeout(settings.timeouts.header)
        .bind(settings.listen)?;
    for addr in server.addrs() {
        tracing::info!(%addr, backend = service.engine().backend(), "listening");
        // One parseable stdout line per bound address: scripts and tests read the port here.
        println!("tollgate listening on {addr}");
    }
    std::io::stdout().flush()?;
    server.run().await?;
    tracing::info!("HTTP server stopped; draining the verification queue");
    let draining = service.clone();
    // Joining the batcher blocks: keep it off the async runtime.
    actix_web::rt::task::spawn_blocking(move || draining.shutdown()).await?;
    tracing::info!("stopped");
    Ok(())
}
