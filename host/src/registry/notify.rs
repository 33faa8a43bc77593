//! Revocations made by other replicas: on PostgreSQL every replica LISTENs on the channel the
//! schema's trigger NOTIFYs at commit, and drops the key from its cache, typically within a few
//! milliseconds. If the listening connection is lost, notices sent meanwhile are lost too, so
//! the replica listens again and only then clears its whole cache: every key cached afterwards
//! was read after LISTEN was active again.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

use super::cache::KeyCache;
use super::store::REVOCATION_CHANNEL;

/// Listens until the runtime stops; reconnects with a short pause on failure.
pub async fn follow_revocations(url: String, cache: Arc<KeyCache>) {
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => {
                if let Err(error) = listener.listen(REVOCATION_CHANNEL).await {
                    tracing::warn!(%error, "registry: LISTEN failed");
                } else {
                    cache.clear();
                    tracing::info!("registry: following revocations");
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notice)) => cache.invalidate(notice.payload()),
                            Ok(None) => break,
                            Err(error) => {
                                tracing::warn!(%error, "registry: revocation listener failed");
                                break;
                            }
                        }
                    }
                }
                cache.clear();
            }
            Err(error) => {
                tracing::warn!(%error, "registry: cannot connect the revocation listener")
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
