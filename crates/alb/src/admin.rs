//! The admin API: HTTP/1.1 with JSON over an existing [`Alb`], so a control
//! plane in another process (the emulator) can configure a balancer that
//! outlives it, like a real ALB whose data plane keeps serving while the
//! AWS control plane restarts.
//!
//! | Request | Answer |
//! |---|---|
//! | `PUT /desired` with a JSON [`Desired`] | 200, JSON [`ApplyReport`](crate::desired::ApplyReport) (per-resource errors included); 400 if the body is not a `Desired` |
//! | `GET /desired` | 200, the last applied [`Desired`], or `null` before the first |
//! | `GET /health` | 200, `{TG_ARN: [TargetHealthDescription, ...]}`: one flat object per target, `{"id", "port", "host", "health_check_port", "state", "reason", "description", "in_flight", "request_count"}` (`state` `"healthy"`, `reason` `"Elb.InitialHealthChecking"` or `null`, as `DescribeTargetHealth`) |
//! | `GET /counts` | 200, `{TG_ARN: {"request_count": N, "targets": [{"id", "port", "request_count"}]}}` ([`TargetGroupCounts`]) |
//! | `GET /metrics` | 200, Prometheus text ([`Alb::render_prometheus`]) |
//! | `GET /removals?after=N[&timeout_ms=T]` | 200, `{"generation": M}` as soon as `M > N` (a target left a group: its drain ended) or after `T` ms (default 25 000, at most 60 000) with the current generation; without `after`, at once |
//! | `POST /shutdown` | 200 `{"stopping": true}`; [`serve`] then returns |
//!
//! Errors are JSON too: `{"error": "..."}` with 400, 404 or 405.
//!
//! [`serve`] only serves the API: when it returns (its `shutdown` future
//! completed or `POST /shutdown` came), the balancer is still running; the
//! caller drains it with [`Alb::shutdown`] (as the `alb --admin` binary
//! does).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::balancer::Alb;
use crate::desired::Desired;

/// Largest `PUT /desired` body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How long `GET /removals` waits by default, and at most.
const REMOVALS_WAIT: Duration = Duration::from_secs(25);
const REMOVALS_WAIT_MAX: Duration = Duration::from_secs(60);
/// How long open admin connections get to finish when serving stops.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// One target group's request counts (`GET /counts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetGroupCounts {
    /// Requests the group received in total.
    pub request_count: u64,
    /// Per registered (or draining) target, since its registration.
    pub targets: Vec<TargetCount>,
}

/// One target's request count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetCount {
    pub id: String,
    pub port: u16,
    pub request_count: u64,
}

/// The answer of `GET /removals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removals {
    /// How many targets have left their group since the balancer started.
    pub generation: u64,
}

/// Serve the admin API for `alb` on `listener` until `shutdown` completes
/// or a client sends `POST /shutdown`; then stop accepting, let open
/// admin requests finish (a few seconds at most) and return. The balancer
/// keeps running.
pub async fn serve(alb: Alb, listener: TcpListener, shutdown: impl Future) {
    run(alb, listener, shutdown).await;
}

/// [`serve`] on a Unix domain socket.
#[cfg(unix)]
pub async fn serve_unix(alb: Alb, listener: tokio::net::UnixListener, shutdown: impl Future) {
    run(alb, listener, shutdown).await;
}

/// A listening socket the API can be served on.
trait Accept {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept_io(&self) -> impl Future<Output = std::io::Result<Self::Io>> + Send;
}

impl Accept for TcpListener {
    type Io = tokio::net::TcpStream;
    async fn accept_io(&self) -> std::io::Result<Self::Io> {
        self.accept().await.map(|(s, _)| s)
    }
}

#[cfg(unix)]
impl Accept for tokio::net::UnixListener {
    type Io = tokio::net::UnixStream;
    async fn accept_io(&self) -> std::io::Result<Self::Io> {
        self.accept().await.map(|(s, _)| s)
    }
}

struct Admin {
    alb: Alb,
    /// Cancelled to stop serving (by `POST /shutdown` or the caller).
    stop: CancellationToken,
}

async fn run<L: Accept>(alb: Alb, listener: L, shutdown: impl Future) {
    let admin = Arc::new(Admin {
        alb,
        stop: CancellationToken::new(),
    });
    let tasks = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        let io = tokio::select! {
            _ = &mut shutdown => break,
            _ = admin.stop.cancelled() => break,
            a = listener.accept_io() => match a {
                Ok(io) => io,
                Err(e) => {
                    warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let admin = Arc::clone(&admin);
        tasks.spawn(async move {
            let stop = admin.stop.clone();
            let svc = service_fn(move |req| {
                let admin = Arc::clone(&admin);
                async move { Ok::<_, Infallible>(handle(&admin, req).await) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(io), svc);
            tokio::pin!(conn);
            let done = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = done {
                debug!(error = %e, "admin connection ended");
            }
        });
    }
    admin.stop.cancel();
    tasks.close();
    drop(listener);
    if tokio::time::timeout(CLOSE_GRACE, tasks.wait())
        .await
        .is_err()
    {
        warn!("admin connections still open after the grace period");
    }
    info!("admin API stopped");
}

type Answer = Response<Full<Bytes>>;

async fn handle(admin: &Admin, req: Request<Incoming>) -> Answer {
    let alb = &admin.alb;
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    match (path.as_str(), &method) {
        ("/desired", &Method::PUT) => {
            let body = match Limited::new(req.into_body(), MAX_BODY_BYTES)
                .collect()
                .await
            {
                Ok(b) => b.to_bytes(),
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("reading body: {e}")),
            };
            let desired: Desired = match serde_json::from_slice(&body) {
                Ok(d) => d,
                Err(e) => {
                    return error(StatusCode::BAD_REQUEST, format!("not a desired state: {e}"))
                }
            };
            // On its own task: a client hanging up mid-apply must not
            // leave the balancer half reconciled.
            let alb = alb.clone();
            match tokio::spawn(async move { alb.apply_desired(&desired).await }).await {
                Ok(report) => json(&report),
                Err(e) => error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("apply failed: {e}"),
                ),
            }
        }
        ("/desired", &Method::GET) => json(&alb.desired().await),
        ("/health", &Method::GET) => {
            let health: BTreeMap<String, _> = alb
                .target_groups()
                .into_iter()
                .map(|tg| (tg.arn().to_owned(), tg.describe_target_health(None)))
                .collect();
            json(&health)
        }
        ("/counts", &Method::GET) => {
            let counts: BTreeMap<String, TargetGroupCounts> = alb
                .target_groups()
                .into_iter()
                .map(|tg| {
                    let targets = tg
                        .request_counts()
                        .into_iter()
                        .map(|(t, n)| TargetCount {
                            id: t.id,
                            port: t.port,
                            request_count: n,
                        })
                        .collect();
                    let counts = TargetGroupCounts {
                        request_count: tg.request_count(),
                        targets,
                    };
                    (tg.arn().to_owned(), counts)
                })
                .collect();
            json(&counts)
        }
        ("/metrics", &Method::GET) => {
            let mut r = Response::new(Full::new(Bytes::from(alb.render_prometheus())));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; version=0.0.4"),
            );
            r
        }
        ("/removals", &Method::GET) => match parse_removals_query(&query) {
            Ok((after, wait)) => json(&wait_removals(admin, after, wait).await),
            Err(why) => error(StatusCode::BAD_REQUEST, why),
        },
        ("/shutdown", &Method::POST) => {
            info!("admin API asked to shut down");
            admin.stop.cancel();
            json(&serde_json::json!({"stopping": true}))
        }
        ("/desired" | "/health" | "/counts" | "/metrics" | "/removals" | "/shutdown", _) => {
            error(StatusCode::METHOD_NOT_ALLOWED, format!("{method} {path}"))
        }
        _ => error(StatusCode::NOT_FOUND, format!("no such resource {path}")),
    }
}

/// `after` (none: answer at once) and how long to wait.
fn parse_removals_query(query: &str) -> Result<(Option<u64>, Duration), String> {
    let mut after = None;
    let mut wait = REMOVALS_WAIT;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let n: u64 = v
            .parse()
            .map_err(|_| format!("{k}={v:?} is not a number"))?;
        match k {
            "after" => after = Some(n),
            "timeout_ms" => wait = Duration::from_millis(n).min(REMOVALS_WAIT_MAX),
            _ => return Err(format!("unknown parameter {k}")),
        }
    }
    Ok((after, wait))
}

async fn wait_removals(admin: &Admin, after: Option<u64>, wait: Duration) -> Removals {
    let mut rx = admin.alb.removals();
    if let Some(after) = after {
        tokio::select! {
            _ = tokio::time::timeout(wait, rx.wait_for(|g| *g > after)) => {}
            _ = admin.stop.cancelled() => {}
        }
    }
    let generation = *rx.borrow();
    Removals { generation }
}

fn json<T: Serialize + ?Sized>(value: &T) -> Answer {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut r = Response::new(Full::new(Bytes::from(body)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Answer {
    let mut r = json(&serde_json::json!({"error": message.into()}));
    *r.status_mut() = status;
    r
}
