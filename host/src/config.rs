//! Settings of `tollgate serve`: command line, `TOLLGATE_*` environment variables and a TOML
//! file. Precedence: command line, then environment, then file, then built-in defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::engine::Backend;
use crate::registry::RegistryConfig;
use crate::service::ServiceConfig;
use crate::suite::{Scheme, Suite, Variant};

/// Default drain grace: deploy/haproxy.cfg checks /readyz every second (`inter 1s`) and takes
/// a replica out after two failures (`fall 2`), so it stops sending new requests at most ~2 s
/// after /readyz turns 503; one more interval covers a check already in flight.
pub const DRAIN_GRACE_SECS: u64 = 3;

/// `tollgate serve` arguments.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (same names, snake_case).
    #[arg(long, env = "TOLLGATE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: SettingsLayer,
    /// Accelerator options (command line and environment only).
    #[command(flatten)]
    pub device: crate::engine::device::DeviceArgs,
}

/// One source of settings; unset fields fall through to the next source.
#[derive(Clone, Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    /// Address to listen on; port 0 picks a free port (printed on stdout). [default: 127.0.0.1:8080]
    #[arg(long, env = "TOLLGATE_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Verification backend. [default: cpu]
    #[arg(long, env = "TOLLGATE_BACKEND", value_enum)]
    pub backend: Option<Backend>,
    /// Scheme of requests that name none. [default: pop]
    #[arg(long, env = "TOLLGATE_SCHEME", value_enum)]
    pub scheme: Option<Scheme>,
    /// Variant of requests that name none. [default: min_pk]
    #[arg(long, env = "TOLLGATE_VARIANT", value_enum)]
    pub variant: Option<Variant>,
    /// Most signatures in one engine batch. [default: 254]
    #[arg(long, env = "TOLLGATE_MAX_BATCH_SIZE")]
    pub max_batch_size: Option<usize>,
    /// Milliseconds the batcher waits for a batch to fill; 0 batches what the backlog holds. [default: 0]
    #[arg(long, env = "TOLLGATE_MAX_QUEUE_DELAY_MS")]
    pub max_queue_delay_ms: Option<u64>,
    /// Most signatures waiting for verification before requests get 429. [default: 4096]
    #[arg(long, env = "TOLLGATE_QUEUE_CAPACITY")]
    pub queue_capacity: Option<usize>,
    /// Most items, keys or signatures in one request. [default: 1024]
    #[arg(long, env = "TOLLGATE_MAX_ITEMS")]
    pub max_items: Option<usize>,
    /// Largest request body in bytes. [default: 4194304]
    #[arg(long, env = "TOLLGATE_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Most validated public keys kept decoded. [default: 65536]
    #[arg(long, env = "TOLLGATE_KEY_CACHE_CAPACITY")]
    pub key_cache_capacity: Option<usize>,
    /// Most items (or keys) in one `"priority": "interactive"` request; more gets 400 interactive_too_large. [default: 16]
    #[arg(long, env = "TOLLGATE_INTERACTIVE_MAX_ITEMS")]
    pub interactive_max_items: Option<usize>,
    /// Most items admitted to the interactive lane at once before interactive requests get 429. [default: 64]
    #[arg(long, env = "TOLLGATE_INTERACTIVE_CAPACITY")]
    pub interactive_capacity: Option<usize>,
    /// Item units of bulk requests admitted at once, counted before decoding (an item of a
    /// cached key 1, of an uncached key 2, plus 4 per item the client had fail in the last
    /// 10 s); a request that does not fit gets 429. [default: 8192]
    #[arg(long, env = "TOLLGATE_ADMISSION_CAPACITY")]
    pub admission_capacity: Option<usize>,
    /// Item units one client (peer IP address) may hold of the admission capacity. Behind a
    /// balancer every request comes from the balancer's address: raise it to the capacity
    /// there. [default: 2048]
    #[arg(long, env = "TOLLGATE_CLIENT_SHARE")]
    pub client_share: Option<usize>,
    /// HTTP worker threads (decoding runs there). [default: 2]
    #[arg(long, env = "TOLLGATE_HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// Seconds to finish requests in flight after SIGTERM. [default: 30]
    #[arg(long, env = "TOLLGATE_SHUTDOWN_TIMEOUT_SECS")]
    pub shutdown_timeout_secs: Option<u64>,
    /// Seconds between SIGTERM and closing the listener: /readyz answers 503 while requests are
    /// still served, so the balancer's health checks take the replica out first. [default: 3]
    #[arg(long, env = "TOLLGATE_DRAIN_GRACE_SECS")]
    pub drain_grace_secs: Option<u64>,
    /// Retry-After seconds sent with 429. [default: 1]
    #[arg(long, env = "TOLLGATE_RETRY_AFTER_SECS")]
    pub retry_after_secs: Option<u64>,
    /// Directory of the embedded key registry (SQLite, WAL), created if missing; unused with
    /// --registry-url. [default: tollgate-data]
    #[arg(long, env = "TOLLGATE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// postgres://… URL of a key registry shared by several replicas (instead of --data-dir).
    #[arg(long, env = "TOLLGATE_REGISTRY_URL")]
    pub registry_url: Option<String>,
    /// File of admin bearer tokens for registry writes, one per line; without it writes get 403.
    #[arg(long, env = "TOLLGATE_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Refuse raw public keys in /v1/fast-aggregate-verify (registered key_ids only).
    #[arg(long, env = "TOLLGATE_REQUIRE_REGISTERED_KEYS", num_args = 0..=1, default_missing_value = "true")]
    pub require_registered_keys: Option<bool>,
    /// Bytes of registered keys kept resolved in memory. [default: 67108864]
    #[arg(long, env = "TOLLGATE_REGISTRY_CACHE_BYTES")]
    pub registry_cache_bytes: Option<u64>,
    /// Milliseconds a client has to send its request head before the connection is closed. [default: 5000]
    #[arg(long, env = "TOLLGATE_HEADER_TIMEOUT_MS")]
    pub header_timeout_ms: Option<u64>,
    /// Milliseconds a client has to send its whole request body (408 body_timeout after). [default: 10000]
    #[arg(long, env = "TOLLGATE_BODY_TIMEOUT_MS")]
    pub body_timeout_ms: Option<u64>,
    /// Milliseconds from the end of the head to the answer, body read included (503 deadline_exceeded after). [default: 30000]
    #[arg(long, env = "TOLLGATE_REQUEST_DEADLINE_MS")]
    pub request_deadline_ms: Option<u64>,
}

/// Resolved settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub listen: SocketAddr,
    pub backend: Backend,
    pub service: ServiceConfig,
    pub max_body_bytes: usize,
    pub http_workers: usize,
    pub shutdown_timeout_secs: u64,
    pub drain_grace: Duration,
    pub retry_after_secs: u64,
    pub timeouts: Timeouts,
    pub device: crate::engine::device::DeviceArgs,
    pub registry: RegistryConfig,
}

/// How long a client may take: every wait on a client is bounded, so slow or stalled clients
/// cannot hold connections (or queued work) indefinitely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// To receive the request head (actix-web's client request timeout).
    pub header: Duration,
    /// To receive the whole body, counted from the end of the head.
    pub body: Duration,
    /// From the end of the head to the answer, body read included.
    pub request: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{0} must be at least 1")]
    Zero(&'static str),
}

fn at_least_one_ms(name: &'static str, ms: u64) -> Result<Duration, ConfigError> {
    if ms == 0 {
        Err(ConfigError::Zero(name))
    } else {
        Ok(Duration::from_millis(ms))
    }
}

impl Settings {
    /// Command line and environment (already merged by clap) over the file over defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.clone(),
                    source: Box::new(source),
                })?
            }
            None => SettingsLayer::default(),
        };
        let mut settings = Self::from_layers(&args.settings, &file)?;
        settings.device = args.device.clone();
        Ok(settings)
    }

    fn from_layers(top: &SettingsLayer, file: &SettingsLayer) -> Result<Self, ConfigError> {
        let defaults = ServiceConfig::default();
        let registry_defaults = RegistryConfig::default();
        macro_rules! pick {
            ($field:ident, $default:expr) => {
                top.$field
                    .clone()
                    .or(file.$field.clone())
                    .unwrap_or($default)
            };
        }
        let positive = |name: &'static str, value: usize| {
            if value == 0 {
                Err(ConfigError::Zero(name))
            } else {
                Ok(value)
            }
        };
        let service = ServiceConfig {
            default_suite: Suite::new(
                pick!(scheme, Scheme::default()),
                pick!(variant, Variant::default()),
            ),
            max_batch_size: positive(
                "max_batch_size",
                pick!(max_batch_size, defaults.max_batch_size),
            )?,
            max_queue_delay: Duration::from_millis(pick!(max_queue_delay_ms, 0)),
            queue_capacity: positive(
                "queue_capacity",
                pick!(queue_capacity, defaults.queue_capacity),
            )?,
            max_items: positive("max_items", pick!(max_items, defaults.max_items))?,
            key_cache_capacity: pick!(key_cache_capacity, defaults.key_cache_capacity),
            interactive_max_items: positive(
                "interactive_max_items",
                pick!(interactive_max_items, defaults.interactive_max_items),
            )?,
            interactive_capacity: positive(
                "interactive_capacity",
                pick!(interactive_capacity, defaults.interactive_capacity),
            )?,
            admission_capacity: positive(
                "admission_capacity",
                pick!(admission_capacity, defaults.admission_capacity),
            )?,
            client_share: positive("client_share", pick!(client_share, defaults.client_share))?,
        };
        Ok(Settings {
            listen: pick!(listen, SocketAddr::from(([127, 0, 0, 1], 8080))),
            backend: pick!(backend, Backend::Cpu),
            service,
            max_body_bytes: positive("max_body_bytes", pick!(max_body_bytes, 4 << 20))?,
            http_workers: positive("http_workers", pick!(http_workers, 2))?,
            shutdown_timeout_secs: pick!(shutdown_timeout_secs, 30),
            drain_grace: Duration::from_secs(pick!(drain_grace_secs, DRAIN_GRACE_SECS)),
            retry_after_secs: pick!(retry_after_secs, 1),
            // Generous for honest clients (a 4 MiB body at 1 MB/s; a full queue drains in about
            // two seconds), short enough that stalled clients give their connection back.
            timeouts: Timeouts {
                header: at_least_one_ms("header_timeout_ms", pick!(header_timeout_ms, 5_000))?,
                body: at_least_one_ms("body_timeout_ms", pick!(body_timeout_ms, 10_000))?,
                request: at_least_one_ms(
                    "request_deadline_ms",
                    pick!(request_deadline_ms, 30_000),
                )?,
            },
            device: Default::default(),
            registry: RegistryConfig {
                data_dir: pick!(data_dir, registry_defaults.data_dir),
                url: top.registry_url.clone().or(file.registry_url.clone()),
                admin_token_file: top
                    .admin_token_file
                    .clone()
                    .or(file.admin_token_file.clone()),
                require_registered_keys: pick!(
                    require_registered_keys,
                    registry_defaults.require_registered_keys
                ),
                cache_bytes: pick!(registry_cache_bytes, registry_defaults.cache_bytes),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_beats_file_beats_defaults() {
        let file: SettingsLayer =
            toml::from_str("max_batch_size = 7\nqueue_capacity = 9\nscheme = \"basic\"").unwrap();
        let top = SettingsLayer {
            max_batch_size: Some(3),
            ..Default::default()
        };
        let settings = Settings::from_layers(&top, &file).unwrap();
        assert_eq!(settings.service.max_batch_size, 3);
        assert_eq!(settings.service.queue_capacity, 9);
        assert_eq!(settings.service.default_suite.scheme, Scheme::Basic);
        assert_eq!(settings.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(settings.max_body_bytes, 4 << 20);
        assert_eq!(settings.timeouts.body, Duration::from_secs(10));
        assert!(settings.timeouts.body <= Duration::from_secs(30));
    }

    #[test]
    fn refuses_unknown_keys_and_zero_sizes() {
        assert!(toml::from_str::<SettingsLayer>("max_batch = 3").is_err());
        let zero = SettingsLayer {
            max_items: Some(0),
            ..Default::default()
        };
        assert!(matches!(
            Settings::from_layers(&zero, &SettingsLayer::default()),
            Err(ConfigError::Zero("max_items"))
        ));
        let zero = SettingsLayer {
            body_timeout_ms: Some(0),
            ..Default::default()
        };
        assert!(matches!(
            Settings::from_layers(&zero, &SettingsLayer::default()),
            Err(ConfigError::Zero("body_timeout_ms"))
        ));
    }
}
