//! The durable side of the registry: one storage interface, one query layer (sqlx's `Any`
//! driver) over the embedded SQLite file and a shared PostgreSQL. The SQL is written once in
//! the dialect both accept (`$n` placeholders, `ON CONFLICT DO NOTHING`, BIGINT times); only the
//! migrations (column types, triggers) and the revocation notice differ per backend.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row};

use super::RegistryError;
use crate::suite::Variant;

/// The PostgreSQL channel a revocation is announced on (payload: the key id); the trigger in
/// migrations/postgres/0001_keys.sql sends it.
pub const REVOCATION_CHANNEL: &str = "tollgate_key_revoked";

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A key as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    pub key_id: String,
    pub variant: Variant,
    /// Compressed encoding, as registered.
    pub public_key: Vec<u8>,
    /// The validated point, uncompressed (96 bytes in G1, 192 in G2).
    pub point: Vec<u8>,
    pub registered_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

impl StoredKey {
    /// What registering `key` under this stored row's id amounts to: the same live key again,
    /// or an id taken (by another key, or revoked).
    pub fn registration_of(&self, key: &StoredKey) -> Registered {
        match self.revoked_at_ms.is_none()
            && self.variant == key.variant
            && self.public_key == key.public_key
        {
            true => Registered::Exists,
            false => Registered::Taken,
        }
    }
}

/// One audit event of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    pub event: String,
    pub at_ms: i64,
}

/// What a registration did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    Created,
    /// The id already held this very key (and it is not revoked).
    Exists,
    /// The id holds another key, or was revoked.
    Taken,
}

/// What a revocation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    Now,
    Already,
    Unknown,
}

/// The storage interface of the registry.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// The versioned schema of each backend, compiled into the binary.
#[derive(Debug)]
struct Migrations(Backend);

impl MigrationSource<'static> for Migrations {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        let files: &[(i64, &str, &str)] = match self.0 {
            Backend::Sqlite => &[(1, "keys", include_str!("migrations/sqlite/0001_keys.sql"))],
            Backend::Postgres => &[(1, "keys", include_str!("migrations/postgres/0001_keys.sql"))],
        };
        let migrations = files
            .iter()
            .map(|&(version, name, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(name),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn variant_name(variant: Variant) -> &'static str {
    match variant {
        Variant::MinPk => "min_pk",
        Variant::MinSig => "min_sig",
    }
}

fn parse_variant(name: &str) -> Result<Variant, RegistryError> {
    match name {
        "min_pk" => Ok(Variant::MinPk),
        "min_sig" => Ok(Variant::MinSig),
        other => Err(RegistryError::Unavailable(format!(
            "stored variant {other:?} is unknown"
        ))),
    }
}

fn stored_key(row: &AnyRow) -> Result<StoredKey, RegistryError> {
    Ok(StoredKey {
        key_id: row.try_get("key_id")?,
        variant: parse_variant(row.try_get::<String, _>("variant")?.as_str())?,
        public_key: row.try_get("public_key")?,
        point: row.try_get("point")?,
        registered_at_ms: row.try_get("registered_at")?,
        revoked_at_ms: row.try_get("revoked_at")?,
    })
}

macro_rules! select_keys {
    () => {
        "SELECT key_id, variant, public_key, point, registered_at, revoked_at FROM keys"
    };
}
const SELECT_KEY: &str = concat!(select_keys!(), " WHERE key_id = $1");

/// Rows per multi-row statement. A bulk import writes a request's keys in a few statements
/// instead of two per key: each statement is a round trip to sqlx's SQLite worker thread (tens
/// of µs), which one per key made a fifth of an import's time. Not many more: sqlx maps each
/// SQLite parameter to its `$n` by name, a lookup linear in the statement's parameters, so
/// binding costs grow with the square of the rows (at 500 rows, 1.2 % of an import's CPU in a
/// profile). 100 rows of at most 5 parameters also stay far below SQLite's (32,766) and
/// PostgreSQL's (65,535) limits.
const ROWS_PER_STATEMENT: usize = 100;

/// `($1, …, $c), ($c+1, …), …`: `rows` tuples of `columns` numbered placeholders.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|row| {
            let numbers: Vec<String> = (1..=columns)
                .map(|c| format!("${}", row * columns + c))
                .collect();
            format!("({})", numbers.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Opens (creating if needed) the SQLite file `dir/registry.sqlite3` in WAL mode with
    /// synchronous=FULL, so that an answered write is committed and synced.
    pub async fn open_sqlite(dir: &Path) -> Result<Self, RegistryError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            RegistryError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
        sqlx::any::install_default_drivers();
        let path = dir.join("registry.sqlite3");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        Self::migrated(pool, Backend::Sqlite).await
    }

    /// Connects to a PostgreSQL server shared by every replica.
    pub async fn open_postgres(url: &str) -> Result<Self, RegistryError> {
        sqlx::any::install_default_drivers();
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await?;
        Self::migrated(pool, Backend::Postgres).await
    }

    async fn migrated(pool: AnyPool, backend: Backend) -> Result<Self, RegistryError> {
        // The migrator takes an advisory lock on PostgreSQL: replicas starting together
        // apply each version once.
        Migrator::new(Migrations(backend))
            .await
            .map_err(|e| RegistryError::Unavailable(format!("migrations: {e}")))?
            .run(&pool)
            .await
            .map_err(|e| RegistryError::Unavailable(format!("migrations: {e}")))?;
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn fetch(&self, key_id: &str) -> Result<Option<StoredKey>, RegistryError> {
        let row = sqlx::query(SELECT_KEY)
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(stored_key).transpose()
    }

    pub async fn events(&self, key_id: &str) -> Result<Vec<StoredEvent>, RegistryError> {
        let rows = sqlx::query("SELECT event, at FROM key_events WHERE key_id = $1 ORDER BY seq")
            .bind(key_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredEvent {
                    event: row.try_get("event")?,
                    at_ms: row.try_get("at")?,
                })
            })
            .collect()
    }

    /// The stored keys among `key_ids` (in no particular order).
    pub async fn fetch_all(&self, key_ids: &[&str]) -> Result<Vec<StoredKey>, RegistryError> {
        let mut found = Vec::new();
        for chunk in key_ids.chunks(ROWS_PER_STATEMENT) {
            // One tuple of chunk.len() placeholders: the IN list with its parentheses.
            let sql = format!(
                "{} WHERE key_id IN {}",
                select_keys!(),
                placeholders(1, chunk.len())
            );
            let rows = chunk
                .iter()
                .fold(sqlx::query(&sql), |query, id| query.bind(*id))
                .fetch_all(&self.pool)
                .await?;
            for row in &rows {
                found.push(stored_key(row)?);
            }
        }
        Ok(found)
    }

    /// Registers every key in one transaction: all of them are durable when this returns
    /// `Ok`, none of them if it fails or the process dies first. Of several entries with one id,
    /// the first is the one inserted.
    pub async fn register_all(&self, keys: &[StoredKey]) -> Result<Vec<Registered>, RegistryError> {
        let mut tx = self.pool.begin().await?;
        let mut inserted: HashSet<String> = HashSet::new();
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO keys (key_id, variant, public_key, point, registered_at) VALUES {} \
                 ON CONFLICT (key_id) DO NOTHING RETURNING key_id",
                placeholders(chunk.len(), 5)
            );
            let rows = chunk
                .iter()
                .fold(sqlx::query(&sql), |query, key| {
                    query
                        .bind(&key.key_id)
                        .bind(variant_name(key.variant))
                        .bind(&key.public_key)
                        .bind(&key.point)
                        .bind(key.registered_at_ms)
                })
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                inserted.insert(row.try_get("key_id")?);
            }
        }
        // Each inserted id counts once, for its first entry; the others meet the stored row.
        let created: Vec<bool> = keys.iter().map(|k| inserted.remove(&k.key_id)).collect();
        let fresh: Vec<&StoredKey> = keys
            .iter()
            .zip(&created)
            .filter(|(_, c)| **c)
            .map(|(k, _)| k)
            .collect();
        for chunk in fresh.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO key_events (key_id, event, at) VALUES {}",
                placeholders(chunk.len(), 3)
            );
            chunk
                .iter()
                .fold(sqlx::query(&sql), |query, key| {
                    query
                        .bind(&key.key_id)
                        .bind("registered")
                        .bind(key.registered_at_ms)
                })
                .execute(&mut *tx)
                .await?;
        }
        let mut outcomes = Vec::with_capacity(keys.len());
        for (key, created) in keys.iter().zip(created) {
            outcomes.push(match created {
                true => Registered::Created,
                false => {
                    let row = sqlx::query(SELECT_KEY)
                        .bind(&key.key_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    stored_key(&row)?.registration_of(key)
                }
            });
        }
        tx.commit().await?;
        Ok(outcomes)
    }

    /// Revokes a key for good. On PostgreSQL a trigger of the schema announces it on
    /// `REVOCATION_CHANNEL` when (and only if) the transaction commits.
    pub async fn revoke(&self, key_id: &str) -> Result<Revoked, RegistryError> {
        let at = now_ms();
        let mut tx = self.pool.begin().await?;
        let updated =
            sqlx::query("UPDATE keys SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL")
                .bind(at)
                .bind(key_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if updated == 0 {
            let exists = sqlx::query("SELECT key_id FROM keys WHERE key_id = $1")
                .bind(key_id)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Ok(if exists {
                Revoked::Already
            } else {
                Revoked::Unknown
            });
        }
        append_event(&mut tx, key_id, "revoked", at).await?;
        tx.commit().await?;
        Ok(Revoked::Now)
    }
}

async fn append_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key_id: &str,
    event: &str,
    at: i64,
) -> Result<(), RegistryError> {
    sqlx::query("INSERT INTO key_events (key_id, event, at) VALUES ($1, $2, $3)")
        .bind(key_id)
        .bind(event)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
