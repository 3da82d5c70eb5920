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
