//! The ping-pong node: one image, run four times as john, paul, george and
//! ringo.
//!
//! # Layout
//!
//! - [`config`]: `PEERS`, `MODE`, `BIND_ADDR`, `PEER_TIMEOUT_MS` from the
//!   environment.
//! - [`peer`]: the one pooled HTTP client every outgoing call goes through,
//!   and how a failed hop is named in errors.
//! - [`routes`]: `/ping`, `/meow`, `/start` and the chain's internal
//!   `/relay` hop.
//!
//! [`run`] serves the router until a shutdown future resolves; `main.rs`
//! only reads the config and passes SIGTERM/SIGINT in.
//!
//! # Modes
//!
//! `/start` answers the peers' meows as a JSON array in both modes:
//!
//! - `chain` (the article's story): john asks the first peer's `/relay`,
//!   passing the rest of the list along (`?rest=node-george:3000,...`); each
//!   hop prepends its own meow to what the next hop answers. Only john needs
//!   `PEERS`.
//! - `fanout` (the original code): john asks every peer's `/meow` at once.
//!
//! Each hop gives the next a smaller time budget (header
//! `x-pingpong-budget-ms`), so the innermost failure is reported first and
//! john answers 502 naming the failing hop within its own `PEER_TIMEOUT_MS`.

pub mod config;
pub mod peer;
pub mod routes;

use std::future::Future;

use tokio::net::TcpListener;

pub use config::{Config, Mode};
pub use routes::{router, AppState};

/// Serves the node on `listener` until `shutdown` resolves, then drains
/// in-flight requests for at most `config.shutdown_grace`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let grace = config.shutdown_grace;
    let state = AppState::new(config);
    tracing::info!(
        addr = %listener.local_addr()?,
        mode = %state.config.mode,
        peers = %state.config.peers.join(","),
        "pingpong-node listening"
    );
    pingpong_kit::serve::serve(listener, router(state), shutdown, grace).await
}
