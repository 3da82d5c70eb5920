//! The request log line and JSON error bodies shared by both services.

use std::time::Instant;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// A JSON error body, `{"error":"..."}`, with the given status.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": message.into() });
    (status, axum::Json(body)).into_response()
}

/// Router fallback: 404 with a JSON body naming the route.
pub async fn not_found(req: Request) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

/// Method fallback: 405 with a JSON body.
pub async fn method_not_allowed(req: Request) -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {} not allowed on {}",
            req.method(),
            req.uri().path()
        ),
    )
}

/// Adds the per-request log line ([`log_requests`]) when `on` (the
/// services' `ACCESS_LOG` setting), nothing otherwise. Off by default, as
/// the original services logged no line per request: in a container every
/// line is work for dockerd (request logs belong in the load balancer's
/// access logs).
pub fn with_access_log(router: Router, on: bool) -> Router {
    if on {
        router.layer(middleware::from_fn(log_requests))
    } else {
        router
    }
}

/// Middleware: one `tracing` line per request with method, path, status and
/// latency. At `RUST_LOG=warn` the line costs nothing.
pub async fn log_requests(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::INFO) {
        return next.run(req).await;
    }
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        latency_us = started.elapsed().as_micros() as u64,
        "request"
    );
    response
}
