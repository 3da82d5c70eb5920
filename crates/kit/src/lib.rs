//! What the two ping-pong services (`pingpong-node`, `pingpong-client`) share.
//!
//! # Layout
//!
//! - [`config`]: reading settings from the environment with one-line errors.
//! - [`serve`]: the serving loop — graceful shutdown with a bound, SIGTERM and
//!   SIGINT handling (the binaries run as PID 1 in `FROM scratch` images, where
//!   a process without a handler ignores `docker stop`).
//! - [`healthcheck`]: `<binary> healthcheck`, a container health check for
//!   images that have no shell or curl.
//! - [`http`]: the per-request log line and the JSON error bodies both services
//!   answer with.
//!
//! The binaries stay thin: read the config, bind, call [`serve::serve`] with
//! [`serve::shutdown_signal`].

pub mod config;
pub mod healthcheck;
pub mod http;
pub mod serve;

/// The services' Tokio runtime: multi-threaded with `TOKIO_WORKER_THREADS`
/// workers (Tokio reads it), default 1. One worker serves a node's whole
/// hop (about 10k `/start`/s on loopback) with a smaller footprint than one
/// per core (RSS after load 7.3 MB instead of 8.5 MB), and as fast: the
/// work is I/O, and the four nodes of a task already share the host's cores.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    match std::env::var("TOKIO_WORKER_THREADS") {
        Err(_) => {
            b.worker_threads(1);
        }
        // Tokio would panic on it; say what is wrong instead.
        Ok(v) if !v.parse::<usize>().is_ok_and(|n| n > 0) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("TOKIO_WORKER_THREADS must be a whole number above 0, not {v:?}"),
            ));
        }
        Ok(_) => {}
    }
    b.enable_all().build()
}

/// Installs the `tracing` subscriber: one line per event on stdout (where
/// Docker collects container logs), filtered by `RUST_LOG` (default `info`).
///
/// Lines are written by a background thread that batches whatever is queued
/// into one `write` (`tracing-appender`, not lossy: a full queue slows the
/// request down instead of dropping its line). In a container every `write`
/// on stdout wakes containerd's shim and dockerd; one per request cost the
/// node chain a fifth of its throughput (2.3k -> 2.8k `/start`/s in
/// containers; dockerd's own per-line work is the rest of the cost). Keep the returned guard until exit: its
/// drop flushes the last lines. `None` when a subscriber was already set
/// (tests).
#[must_use = "dropping the guard stops the log writer"]
pub fn init_tracing() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        // The default (128k lines) preallocates 4 MB; a node's whole RSS
        // is about 7 MB.
        .buffered_lines_limit(4096)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::with_capacity(
            16 * 1024,
            std::io::stdout(),
        ));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        // Colours only for a person at a terminal, not in `docker logs`.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(writer)
        .try_init()
        .ok()
        .map(|()| guard)
}
