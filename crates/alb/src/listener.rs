//! Listeners: a bound socket, its rules, and the per-connection limits.
//!
//! A listener (`Listener`, whose state its load balancer keeps) owns its
//! `RuleSet` (behind a mutex, touched only by control calls) and the
//! compiled `RouteTable` (behind `ArcSwap`, read lock-free by every
//! request); this module serves it. Its accept loop enforces the load
//! balancer's maximum connection count; each connection is served by
//! hyper's HTTP/1.1 server
//! (keep-alive, header size limit answered with 431) and watched by a small
//! timer that closes it when a request head takes longer than the header
//! read timeout (slowloris) or when it sits idle longer than the idle
//! timeout. Requests HTTP/1.1 forbids (no or several `Host` headers, a
//! request target that is no path) get 400 and `CONNECT` 405 before any
//! routing. Deleting a listener unbinds the socket at once and lets open
//! connections finish their current request.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::uri::Authority;
use http::{Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tracing::{debug, warn};

mod request_log;

use crate::connection::{ConnRequest, ConnState};
use crate::forward::{self, AlbBody, Downstream};
pub use crate::load_balancer::ListenerError;
use crate::load_balancer::{Listener, LoadBalancer};
use crate::rule::{redirect_location, CompiledAction, RedirectStatus, RequestView};

/// Accept connections until the listener is cancelled. With `workers`,
/// each connection is served on the next of them in turn (the socket moves
/// to that runtime's reactor); otherwise on the current runtime.
pub(crate) async fn accept_loop(
    socket: TcpListener,
    lb: Arc<LoadBalancer>,
    listener: Arc<Listener>,
    workers: Option<Arc<[tokio::runtime::Handle]>>,
) {
    let mut next_worker = 0usize;
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
        let worker = workers.as_ref().and_then(|w| {
            next_worker = next_worker.wrapping_add(1);
            w.get(next_worker % w.len())
        });
        match worker {
            None => {
                listener.tasks.spawn(async move {
                    serve_connection(stream, remote, &lb, l).await;
                    lb.metrics
                        .active_connections
                        .fetch_sub(1, Ordering::Relaxed);
                });
            }
            Some(worker) => {
                let moved = stream.into_std();
                listener.tasks.spawn_on(
                    async move {
                        match moved.and_then(TcpStream::from_std) {
                            Ok(stream) => serve_connection(stream, remote, &lb, l).await,
                            Err(e) => debug!(%remote, error = %e, "cannot move connection"),
                        }
                        lb.metrics
                            .active_connections
                            .fetch_sub(1, Ordering::Relaxed);
                    },
                    worker,
                );
            }
        }
    }
    debug!(listener = %listener.arn, "listener stopped accepting");
}

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
    client_ip: HeaderValue,
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
    });
    let cancel = listener.cancel.clone();
    let ctx = Arc::new(ConnCtx {
        lb: Arc::clone(lb),
        listener,
        state: Arc::clone(&state),
        client_ip: HeaderValue::from_str(&remote.ip().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("0.0.0.0")),
    });
    let service = service_fn(move |mut req| {
        let ctx = Arc::clone(&ctx);
        async move {
            // The access log's one hook (`None` at once when it is off).
            let logged = request_log::begin(&ctx, remote, &mut req);
            let mut routed = Routed::default();
            let resp = handle(&ctx, req, &mut routed).await;
            if let Some(l) = logged {
                l.finish(&resp, routed);
            }
            Ok::<_, Infallible>(resp)
        }
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
    // The watchdog never needs a wake-up per request: it sleeps at most
    // `min(header read timeout, idle timeout)` at a time, and any deadline a
    // later event (a request head starting or a request ending) can create
    // lies at least that far away; on waking it re-reads the connection's
    // state and either closes the connection or sleeps again.
    let horizon = attrs
        .header_read_timeout
        .min(attrs.idle_timeout)
        .max(Duration::from_millis(1));
    let next_deadline = |now: Instant| {
        let active = state.active_requests.load(Ordering::Relaxed);
        let head = state.head_started.load(Ordering::Relaxed);
        let specific = if active > 0 {
            None
        } else if head != 0 {
            Some(state.at(head) + attrs.header_read_timeout)
        } else {
            Some(state.at(state.idle_since.load(Ordering::Relaxed)) + attrs.idle_timeout)
        };
        let far = now + horizon;
        specific.map_or(far, |d| d.min(far))
    };
    let sleep = tokio::time::sleep_until(next_deadline(Instant::now()));
    tokio::pin!(sleep);
    let cancelled = cancel.cancelled();
    tokio::pin!(cancelled);
    // The timer and the cancellation are polled only when they woke the
    // task, not on every wake-up of the connection.
    let aux = Arc::new(AuxWake::new());
    let aux_waker = Waker::from(Arc::clone(&aux));
    let mut closing = false;
    let end = std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = conn.as_mut().poll(cx) {
            return Poll::Ready(r.map_err(|e| e.to_string()));
        }
        if !aux.take(cx.waker()) {
            return Poll::Pending;
        }
        let mut acx = Context::from_waker(&aux_waker);
        if !closing && cancelled.as_mut().poll(&mut acx).is_ready() {
            closing = true;
            conn.as_mut().graceful_shutdown();
            // Let the connection see the shutdown on the next poll.
            aux.woken.store(true, Ordering::Release);
            cx.waker().wake_by_ref();
        }
        while sleep.as_mut().poll(&mut acx).is_ready() {
            let now = Instant::now();
            let active = state.active_requests.load(Ordering::Relaxed);
            let head = state.head_started.load(Ordering::Relaxed);
            if active == 0 && head != 0 && now >= state.at(head) + attrs.header_read_timeout {
                return Poll::Ready(Err("header read timeout".to_owned()));
            }
            if active == 0
                && head == 0
                && now >= state.at(state.idle_since.load(Ordering::Relaxed)) + attrs.idle_timeout
            {
                return Poll::Ready(Err("idle timeout".to_owned()));
            }
            sleep.as_mut().reset(next_deadline(now));
        }
        Poll::Pending
    })
    .await;
    if let Err(why) = end {
        debug!(%remote, %why, "connection closed");
    }
}

/// Wakes a connection task on behalf of its watchdog timer or cancellation
/// and remembers that it did, so those are polled only when they fired.
struct AuxWake {
    woken: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl AuxWake {
    fn new() -> Self {
        AuxWake {
            woken: AtomicBool::new(true),
            task: Mutex::new(None),
        }
    }

    /// Whether the timer or the cancellation woke the task since the last
    /// call (true the first time); if so, records the task's waker for them.
    /// A Tokio task keeps waking the same task whichever waker clone it
    /// hands out, so refreshing it only then is enough.
    fn take(&self, task: &Waker) -> bool {
        if !self.woken.swap(false, Ordering::AcqRel) {
            return false;
        }
        let mut slot = self.task.lock().unwrap_or_else(|p| p.into_inner());
        if !slot.as_ref().is_some_and(|w| w.will_wake(task)) {
            *slot = Some(task.clone());
        }
        true
    }
}

impl Wake for AuxWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Some(w) = self.task.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            w.wake_by_ref();
        }
    }
}

/// What [`handle`] decided, for the access log: the matched rule's
/// priority (0: the default action; `None`: refused before routing), the
/// action, and the target group it forwarded to.
pub(super) struct Routed {
    priority: Option<u32>,
    executed: crate::access_log::Executed,
    target_group: Option<Arc<crate::target_group::TargetGroup>>,
}

impl Default for Routed {
    fn default() -> Self {
        Routed {
            priority: None,
            executed: crate::access_log::Executed::None,
            target_group: None,
        }
    }
}

async fn handle(ctx: &ConnCtx, req: Request<Incoming>, routed: &mut Routed) -> Response<AlbBody> {
    use crate::access_log::Executed;
    let conn = ConnRequest::start(&ctx.state);
    let lb = &*ctx.lb;
    lb.metrics.requests.fetch_add(1, Ordering::Relaxed);
    if let Some((status, body)) = refusal(&req) {
        debug!(method = %req.method(), uri = %req.uri(), %status, "request refused");
        return forward::elb_response_closing(lb, status, body);
    }
    // Route without holding the table across an await.
    let target_group = {
        let table = ctx.listener.routes.load();
        let view = RequestView::of(&req);
        let (priority, action) = table.route_with_priority(&view);
        routed.priority = Some(priority);
        match action {
            CompiledAction::Forward(f) => {
                routed.executed = Executed::Forward;
                f.pick().cloned()
            }
            CompiledAction::Fixed {
                status,
                content_type,
                body,
            } => {
                routed.executed = Executed::FixedResponse;
                lb.metrics.fixed_responses.fetch_add(1, Ordering::Relaxed);
                return fixed(lb, *status, content_type.clone(), body.clone());
            }
            CompiledAction::Redirect(r) => {
                routed.executed = Executed::Redirect;
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
    let resp = forward::forward(lb, &tg, req, down).await;
    routed.target_group = Some(tg);
    resp
}

/// What the balancer answers, before any routing, to a request it refuses:
/// `CONNECT` gets 405 (like AWS); RFC 9112 makes the rest a 400: an
/// HTTP/1.1 request without `Host`, any request with more than one `Host`
/// or an invalid one, and a request target that is neither origin-form
/// (`/path?query`), absolute-form (`http://host/path`) nor, for `OPTIONS`,
/// `*` (hyper parses `GET echo` as an authority, which forwarding would
/// turn into `/`). The connection is closed after the answer.
fn refusal<B>(req: &Request<B>) -> Option<(StatusCode, &'static str)> {
    if req.method() == Method::CONNECT {
        return Some((StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed\n"));
    }
    let bad = Some((StatusCode::BAD_REQUEST, "400 Bad Request\n"));
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if req.version() >= Version::HTTP_11 => return bad,
        (Some(_), Some(_)) => return bad,
        (Some(host), None) if !valid_host(host) => return bad,
        _ => {}
    }
    let uri = req.uri();
    let target_ok = match (uri.scheme_str(), uri.authority()) {
        (None, None) => uri.path_and_query().is_some_and(|pq| {
            pq.as_str().starts_with('/') || (pq.as_str() == "*" && req.method() == Method::OPTIONS)
        }),
        (Some(scheme), Some(_)) => {
            scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
        }
        _ => false,
    };
    if target_ok {
        None
    } else {
        bad
    }
}

/// A `Host` value is a host with an optional port: an authority without
/// user information.
fn valid_host(host: &HeaderValue) -> bool {
    !host.as_bytes().contains(&b'@') && Authority::try_from(host.as_bytes()).is_ok()
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
