//! Serving with a graceful, bounded shutdown.
//!
//! On the shutdown signal the listener stops accepting at once, idle
//! keep-alive connections are closed, and in-flight requests get up to
//! `grace` to finish; after that the remaining connections are dropped and
//! [`serve`] returns anyway, so `docker stop` never has to fall back to
//! SIGKILL.

use std::future::{Future, IntoFuture};
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;

/// Resolves on SIGTERM (`docker stop`, ECS StopTask) or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot install the SIGTERM handler");
            std::future::pending::<()>().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
        r = tokio::signal::ctrl_c() => match r {
            Ok(()) => tracing::info!("SIGINT received, shutting down"),
            Err(e) => {
                tracing::error!(error = %e, "cannot install the SIGINT handler");
                std::future::pending::<()>().await;
            }
        },
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains
/// in-flight requests for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        })
        .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result,
        () = shutdown => {}
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(grace, server).await {
        Ok(result) => {
            tracing::info!("stopped cleanly");
            result
        }
        Err(_) => {
            tracing::warn!(
                grace_ms = grace.as_millis() as u64,
                "requests still in flight after the grace period; closing them"
            );
            Ok(())
        }
    }
}

/// The whole `main` of a service binary. `<binary> healthcheck` probes
/// `health_path` of a running instance (see [`crate::healthcheck`]);
/// otherwise a config error is one line and exit code 2, a bind error one
/// line and exit code 1, and `run` serves until SIGTERM/SIGINT on the
/// [`crate::runtime`], after which the process exits 0.
pub fn main<C, Fut>(
    name: &str,
    health_path: &str,
    config: Result<C, crate::config::ConfigError>,
    bind_addr: impl Fn(&C) -> std::net::SocketAddr,
    run: impl FnOnce(TcpListener, C, std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
) -> std::process::ExitCode
where
    Fut: Future<Output = std::io::Result<()>>,
{
    use std::process::ExitCode;
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        let addr = config
            .as_ref()
            .map(&bind_addr)
            .unwrap_or_else(|_| ([127, 0, 0, 1], 3000).into());
        return crate::healthcheck::run(addr, health_path);
    }
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: bad configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match crate::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let _log_writer = crate::init_tracing();
    rt.block_on(async move {
        let addr = bind_addr(&config);
        let listener = match TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("{name}: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        match run(listener, config, Box::pin(shutdown_signal())).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{name}: {e}");
                ExitCode::from(1)
            }
        }
    })
}
