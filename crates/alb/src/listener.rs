//! Listeners: a bound socket, its rules, and the per-connection limits.
//!
//! A listener owns its [`RuleSet`] (behind a mutex, touched only by control
//! calls) and the compiled [`RouteTable`] (behind `ArcSwap`, read lock-free
//! by every request). Its accept loop enforces the load balancer's maximum
//! connection count; each connection is served by hyper's HTTP/1.1 server
//! (keep-alive, header size limit answered with 431) and watched by a small
//! timer that closes it when a request head takes longer than the header
//! read timeout (slowloris) or when it sits idle longer than the idle
//! timeout. Deleting a listener unbinds the socket at once and lets open
//! connections finish their current request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use crate::forward::{self, AlbBody, Downstream};
use crate::load_balancer::LoadBalancer;
use crate::rule::{
    redirect_location, CompiledAction, RedirectStatus, RequestView, RouteTable, RuleError, RuleSet,
};

/// Why a listener operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("listener {0} already exists")]
    Exists(String),
    #[error("listener {0} not found")]
    NotFound(String),
    #[error("cannot bind listener {listener_arn} to {addr}: {source}")]
    Bind {
        listener_arn: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("listener {listener_arn}: {source}")]
    Rule {
        listener_arn: String,
        #[source]
        source: RuleError,
    },
}

pub(crate) struct Listener {
    pub arn: String,
    pub local_addr: SocketAddr,
    port_header: HeaderValue,
    pub rules: Mutex<RuleSet>,
    pub routes: ArcSwap<RouteTable>,
    /// Stops the accept loop and asks connections to close gracefully.
    pub cancel: CancellationToken,
    /// Every connection task (and the accept loop) of this listener.
    pub tasks: TaskTracker,
}

impl Listener {
    pub(crate) fn new(
        arn: String,
        local_addr: SocketAddr,
        rules: RuleSet,
        routes: RouteTable,
    ) -> Self {
        Listener {
            arn,
            local_addr,
            port_header: HeaderValue::from(local_addr.port()),
            rules: Mutex::new(rules),
            routes: ArcSwap::from_pointee(routes),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    pub(crate) fn lock_rules(&self) -> std::sync::MutexGuard<'_, RuleSet> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Accept connections until the listener is cancelled.
pub(crate) async fn accept_loop(
    socket: TcpListener,
    lb: Arc<LoadBalancer>,
    listener: Arc<Listener>,
) {
    loop {
        let accepted = tokio::select! {
            _ = listener.cancel.cancelled() => break,
            a = socket.accept() => a,
        };
        let (stream, remote) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!(listener = %listener.arn, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let max = lb.attributes().max_connections;
        let active = lb
            .metrics
            .active_connections
            .fetch_add(1, Ordering::Relaxed);
        if usize::try_from(active).unwrap_or(0) >= max {
            lb.metrics
                .active_connections
                .fetch_sub(1, Ordering::Relaxed);
            lb.metrics
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            debug!(listener = %listener.arn, %remote, "connection rejected: at max_connections");
            drop(stream);
            continue;
        }
        lb.metrics.new_connections.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let lb = Arc::clone(&lb);
        let l = Arc::clone(&listener);
        listener.tasks.spawn(async move {
            serve_connection(stream, remote, &lb, l).await;
            lb.metrics
                .active_connections
                .fetch_sub(1, Ordering::Relaxed);
        });
    }
    debug!(listener = %listener.arn, "listener stopped accepting");
}

/// Timing state shared by a connection's IO wrapper, its requests and its
/// watchdog. Times are milliseconds since `base`, plus one so 0 means unset.
struct ConnState {
    base: Instant,
    active_requests: AtomicUsize,
    idle_since: AtomicU64,
    head_started: AtomicU64,
    /// Wakes the watchdog when a request head starts or a request ends.
    wake: tokio::sync::Notify,
}

impl ConnState {
    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    fn at(&self, ms: u64) -> Instant {
        self.base + Duration::from_millis(ms.saturating_sub(1))
    }
}

/// Marks one request of a connection as active until dropped.
pub(crate) struct ConnRequest(Arc<ConnState>);

impl ConnRequest {
    fn start(state: &Arc<ConnState>) -> Self {
        state.active_requests.fetch_add(1, Ordering::Relaxed);
        state.head_started.store(0, Ordering::Relaxed);
        ConnRequest(Arc::clone(state))
    }
}

impl Drop for ConnRequest {
    fn drop(&mut self) {
        self.0.idle_since.store(self.0.now(), Ordering::Relaxed);
        self.0.active_requests.fetch_sub(1, Ordering::Relaxed);
        self.0.wake.notify_one();
    }
}

/// The client socket, noting when the first byte of a request head arrives.
struct TrackedIo {
    io: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before
            && this.state.active_requests.load(Ordering::Relaxed) == 0
            && this.state.head_started.load(Ordering::Relaxed) == 0
        {
            this.state
                .head_started
                .store(this.state.now(), Ordering::Relaxed);
            this.state.wake.notify_one();
        }
        r
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

struct ConnCtx {
    lb: Arc<LoadBalancer>,
    listener: Arc<Listener>,
    state: Arc<ConnState>,
    client_ip: String,
}

async fn serve_connection(
    stream: TcpStream,
    remote: SocketAddr,
    lb: &Arc<LoadBalancer>,
    listener: Arc<Listener>,
) {
    let attrs = lb.attributes();
    let state = Arc::new(ConnState {
        base: Instant::now(),
        active_requests: AtomicUsize::new(0),
        idle_since: AtomicU64::new(1),
        head_started: AtomicU64::new(0),
        wake: tokio::sync::Notify::new(),
    });
    let cancel = listener.cancel.clone();
    let ctx = Arc::new(ConnCtx {
        lb: Arc::clone(lb),
        listener,
        state: Arc::clone(&state),
        client_ip: remote.ip().to_string(),
    });
    let service = service_fn(move |req| {
        let ctx = Arc::clone(&ctx);
        async move { Ok::<_, Infallible>(handle(&ctx, req).await) }
    });
    let io = TokioIo::new(TrackedIo {
        io: stream,
        state: Arc::clone(&state),
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(attrs.max_header_bytes.max(8192))
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let active = state.active_requests.load(Ordering::Relaxed);
        let head = state.head_started.load(Ordering::Relaxed);
        let deadline = if active > 0 {
            Instant::now() + attrs.idle_timeout
        } else if head != 0 {
            state.at(head) + attrs.header_read_timeout
        } else {
            state.at(state.idle_since.load(Ordering::Relaxed)) + attrs.idle_timeout
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    debug!(%remote, error = %e, "connection ended with error");
                }
                return;
            }
            _ = state.wake.notified() => {}
            _ = cancel.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                let active = state.active_requests.load(Ordering::Relaxed);
                let head = state.head_started.load(Ordering::Relaxed);
                if active == 0 && head != 0 && now >= state.at(head) + attrs.header_read_timeout {
                    debug!(%remote, "header read timeout: closing connection");
                    return;
                }
                if active == 0 && head == 0
                    && now >= state.at(state.idle_since.load(Ordering::Relaxed)) + attrs.idle_timeout
                {
                    debug!(%remote, "idle timeout: closing connection");
                    return;
                }
            }
        }
    }
}

async fn handle(ctx: &ConnCtx, req: Request<Incoming>) -> Response<AlbBody> {
    let conn = ConnRequest::start(&ctx.state);
    let lb = &*ctx.lb;
    lb.metrics.requests.fetch_add(1, Ordering::Relaxed);
    // Route without holding the table across an await.
    let target_group = {
        let table = ctx.listener.routes.load();
        let view = RequestView::of(&req);
        match table.route(&view) {
            CompiledAction::Forward(f) => f.pick().cloned(),
            CompiledAction::Fixed {
                status,
                content_type,
                body,
            } => {
                lb.metrics.fixed_responses.fetch_add(1, Ordering::Relaxed);
                return fixed(lb, *status, content_type.clone(), body.clone());
            }
            CompiledAction::Redirect(r) => {
                lb.metrics.redirects.fetch_add(1, Ordering::Relaxed);
                let location = redirect_location(r, &view, ctx.listener.local_addr.port());
                let status = match r.status_code {
                    RedirectStatus::Http301 => StatusCode::MOVED_PERMANENTLY,
                    RedirectStatus::Http302 => StatusCode::FOUND,
                };
                let mut resp = fixed(
                    lb,
                    status,
                    HeaderValue::from_static("text/plain"),
                    Bytes::new(),
                );
                if let Ok(v) = HeaderValue::from_str(&location) {
                    resp.headers_mut().insert(header::LOCATION, v);
                }
                return resp;
            }
        }
    };
    let Some(tg) = target_group else {
        return forward::elb_response(
            lb,
            StatusCode::SERVICE_UNAVAILABLE,
            "503 Service Unavailable\n",
        );
    };
    let down = Downstream {
        client_ip: &ctx.client_ip,
        listener_port: &ctx.listener.port_header,
        conn,
    };
    forward::forward(lb, &tg, req, down).await
}

fn fixed(
    lb: &LoadBalancer,
    status: StatusCode,
    content_type: HeaderValue,
    body: Bytes,
) -> Response<AlbBody> {
    lb.metrics.elb_codes.record(status);
    let mut resp = Response::new(AlbBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    resp
}
