//! `tollgate serve`: binds, prints the bound address, serves until SIGTERM/SIGINT, drains.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, HttpServer};

use super::{app, AppState};
use crate::config::Settings;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::service::Service;

/// Runs the service until a signal stops it (see `stop_on_signal`).
pub fn serve(settings: Settings) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    // The registry runs its store on its own runtime, which must be built outside actix's.
    let registry = Arc::new(Registry::open(&settings.registry, metrics.registry())?);
    actix_web::rt::System::new().block_on(run(settings, metrics, registry))
}

async fn run(
    settings: Settings,
    metrics: Arc<Metrics>,
    registry: Arc<Registry>,
) -> anyhow::Result<()> {
    metrics.queue_capacity.set(
        settings
            .service
            .queue_capacity
            .try_into()
            .unwrap_or(i64::MAX),
    );
    let engine = settings
        .backend
        .build(&settings.device, metrics.registry())?;
    let service = Arc::new(
        Service::start(settings.service.clone(), engine, metrics)?.with_registry(registry.clone()),
    );
    let draining = Arc::new(AtomicBool::new(false));
    let state = web::Data::new(AppState {
        service: service.clone(),
        registry,
        max_body_bytes: settings.max_body_bytes,
        retry_after_secs: settings.retry_after_secs,
        draining: draining.clone(),
        timeouts: settings.timeouts,
    });
    // Signals are ours, not actix's: actix would close the listener on SIGTERM at once, before
    // the balancer has seen /readyz fail, and connections it still sends would be refused.
    let signals = Signals::listen()?;
    let server = HttpServer::new(move || app(state.clone()))
        .workers(settings.http_workers)
        // Decoding runs on each worker's blocking pool: one thread per worker keeps decoding at
        // one thread per configured worker, beside blst's own pool for verification.
        .worker_max_blocking_threads(1)
        .shutdown_timeout(settings.shutdown_timeout_secs)
        .disable_signals()
        // A client that has not sent its head in time gets 408 and its connection closed.
        .client_request_timeout(settings.timeouts.header)
        .on_connect(on_connect)
        .bind(settings.listen)?;
    for addr in server.addrs() {
        tracing::info!(%addr, backend = service.engine().backend(), "listening");
        // One parseable stdout line per bound address: scripts and tests read the port here.
        println!("tollgate listening on {addr}");
    }
    std::io::stdout().flush()?;
    let server = server.run();
    actix_web::rt::spawn(stop_on_signal(
        signals,
        server.handle(),
        draining,
        settings.drain_grace,
    ));
    server.await?;
    tracing::info!("HTTP server stopped; draining the verification queue");
    let draining = service.clone();
    // Joining the batcher blocks: keep it off the async runtime.
    actix_web::rt::task::spawn_blocking(move || draining.shutdown()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Keeps a duplicate of each TCP connection's socket with the connection, so that queued work
/// can tell whether its client is still there (`service::Connection`). Without one (the
/// duplicate failed: out of descriptors) the connection is served all the same.
fn on_connect(connection: &dyn std::any::Any, data: &mut actix_web::dev::Extensions) {
    #[cfg(unix)]
    if let Some(socket) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        use std::os::fd::AsFd;
        let duplicate = socket
            .as_fd()
            .try_clone_to_owned()
            .map(std::net::TcpStream::from)
            // Already so (the runtime made it non-blocking); said again because a blocking
            // peek would stall the batcher.
            .and_then(|socket| socket.set_nonblocking(true).map(|()| socket));
        match duplicate {
            Ok(socket) => {
                data.insert(crate::service::Connection::new(socket));
            }
            Err(error) => tracing::warn!(%error, "could not duplicate a connection's socket"),
        }
    }
}

/// SIGTERM: /readyz answers 503 at once, requests are still served for `grace` (so the
/// balancer's health checks take the replica out while nothing is refused), then the listener
/// closes and every request already accepted is answered. SIGINT (Ctrl-C at a terminal): the
/// same without the grace period.
async fn stop_on_signal(
    signals: Signals,
    server: ServerHandle,
    draining: Arc<AtomicBool>,
    grace: Duration,
) {
    let terminated = signals.next().await;
    draining.store(true, Ordering::Relaxed);
    if terminated {
        tracing::info!(
            grace_secs = grace.as_secs_f64(),
            "SIGTERM: not ready any more; serving through the drain grace period"
        );
        actix_web::rt::time::sleep(grace).await;
    } else {
        tracing::info!("SIGINT: draining now");
    }
    server.stop(true).await;
}

/// The stop signals, registered before the server starts so none is missed.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the first stop signal; true for SIGTERM, false for SIGINT / Ctrl-C.
    async fn next(self) -> bool {
        #[cfg(unix)]
        {
            let Signals { mut term, mut int } = self;
            tokio::select! {
                _ = term.recv() => true,
                _ = int.recv() => false,
            }
        }
        #[cfg(not(unix))]
        {
            // Without a signal source the server runs until killed.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            false
        }
    }
}
