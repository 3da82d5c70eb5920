//! Forwarding one request to a target group: target choice, header
//! rewriting, the pooled upstream client, passive retry and the ELB error
//! responses (503 no target, 502 connect failure or broken response, 504
//! target timeout).
//!
//! Upstream connections (`upstream`) are plain hyper HTTP/1
//! connections pooled per target (`TargetRuntime::checkout` / `checkin`): a
//! small LIFO stack of idle keep-alive connections, so the warmest one
//! serves the next request and nothing is hashed or spawned per request.
//! Host names are resolved on every new connection (Docker DNS names keep
//! working when containers move); a pooled connection found closed before
//! the request was written is skipped. The request body is handed to the
//! first attempt through a shared slot: if the connection fails before the
//! body was ever polled, the slot still holds it and a retry can send it.
//!
//! Bodies stream under the load balancer's idle timeout in both directions:
//! a target that stops sending its response body, or a client that stops
//! sending its request body, for that long gets both connections closed
//! (the client is answered 408 if no response started yet). A malformed
//! request body is the client's fault: 400, not 502.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{self, Entry, HeaderMap, HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode, Uri, Version};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::SendRequest;
use tracing::debug;

use crate::connection::{BoxError, ConnRequest, IdleTimer};
use crate::load_balancer::LoadBalancer;
use crate::target::{ClientBody, ClientBodyError, InFlight, TargetRuntime, UpstreamBody};
use crate::target_group::TargetGroup;
use crate::upstream::UpstreamError;

/// Connection-level headers that never cross a proxy (RFC 9110 7.6.1).
const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
static X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");

fn is_hop_by_hop(name: &HeaderName) -> bool {
    HOP_BY_HOP.contains(name)
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the names instead of a hashed removal per hop-by-hop
    // header: the common message has none.
    if !headers.keys().any(is_hop_by_hop) {
        return;
    }
    // Headers named in `Connection` are hop-by-hop too.
    if let Some(listed) = headers
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
    {
        let named: Vec<HeaderName> = listed
            .split(',')
            .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
            .collect();
        for n in named {
            headers.remove(n);
        }
    }
    for h in &HOP_BY_HOP {
        headers.remove(h);
    }
}

/// Write `digits` lowercase hex digits of `v` into `out`.
fn put_hex(out: &mut [u8], v: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = out.len();
    for (i, b) in out.iter_mut().enumerate() {
        *b = HEX[((v >> (4 * (n - 1 - i))) & 0xf) as usize];
    }
}

/// `Root=1-<epoch seconds hex>-<96 random bits hex>`, like AWS.
pub(crate) fn trace_id() -> HeaderValue {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut buf = [0u8; 40];
    buf[..7].copy_from_slice(b"Root=1-");
    put_hex(&mut buf[7..15], secs & 0xffff_ffff);
    buf[15] = b'-';
    // 96 random bits: unique, not secret.
    let r: u128 = rand::random();
    put_hex(&mut buf[16..24], (r >> 64) as u64 & 0xffff_ffff);
    put_hex(&mut buf[24..40], r as u64);
    HeaderValue::from_bytes(&buf).unwrap_or_else(|_| HeaderValue::from_static("Root=1-0-0"))
}

fn rewrite_request_headers(
    headers: &mut HeaderMap,
    client_ip: &HeaderValue,
    listener_port: &HeaderValue,
) {
    strip_hop_by_hop(headers);
    headers.reserve(4);
    match headers.entry(X_FORWARDED_FOR.clone()) {
        Entry::Occupied(mut e) => {
            let xff = match e.get().to_str() {
                Ok(prev) if !prev.is_empty() => {
                    let mut v = Vec::with_capacity(prev.len() + 2 + client_ip.len());
                    v.extend_from_slice(prev.as_bytes());
                    v.extend_from_slice(b", ");
                    v.extend_from_slice(client_ip.as_bytes());
                    HeaderValue::from_bytes(&v).ok()
                }
                _ => Some(client_ip.clone()),
            };
            if let Some(v) = xff {
                e.insert(v);
            }
        }
        Entry::Vacant(e) => {
            e.insert(client_ip.clone());
        }
    }
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("http"));
    headers.insert(X_FORWARDED_PORT.clone(), listener_port.clone());
    if let Entry::Vacant(e) = headers.entry(X_AMZN_TRACE_ID.clone()) {
        e.insert(trace_id());
    }
}

/// The response body the listener sends: a short ELB-made body, or the
/// target's streamed body holding the request's in-flight guards until it
/// ends. A target's body that sends nothing for the load balancer's idle
/// timeout ends in an error, which makes the listener close the client
/// connection; dropping the body closes the target connection.
pub struct AlbBody {
    kind: BodyKind,
}

enum BodyKind {
    Full(Option<Bytes>),
    Upstream {
        body: Incoming,
        /// The connection the body arrives on, back to the pool once the
        /// body was read to its end.
        conn: Option<SendRequest<UpstreamBody>>,
        guards: Option<(InFlight, ConnRequest)>,
        idle: IdleTimer,
    },
}

impl AlbBody {
    /// The `host:port` of the target whose response this is; `None` when
    /// the load balancer answered itself (for the access log).
    pub(crate) fn target_authority(&self) -> Option<&str> {
        match &self.kind {
            BodyKind::Upstream {
                guards: Some((in_flight, _)),
                ..
            } => Some(in_flight.target().authority.as_str()),
            _ => None,
        }
    }

    pub(crate) fn full(b: impl Into<Bytes>) -> Self {
        AlbBody {
            kind: BodyKind::Full(Some(b.into())),
        }
    }
}

/// The response was read completely: pool its connection, end the request.
fn finish_upstream(
    conn: &mut Option<SendRequest<UpstreamBody>>,
    guards: &mut Option<(InFlight, ConnRequest)>,
    reusable: bool,
) {
    let conn = conn.take();
    if let Some((in_flight, _)) = guards.as_ref() {
        if let (Some(tx), true) = (conn, reusable) {
            in_flight.target().checkin(tx);
        }
    }
    guards.take();
}

impl Body for AlbBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            BodyKind::Full(b) => Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(Frame::data(b))),
            ),
            BodyKind::Upstream {
                body,
                conn,
                guards,
                idle,
            } => match Pin::new(&mut *body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if body.is_end_stream() {
                        finish_upstream(conn, guards, true);
                    } else {
                        idle.progress();
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
                Poll::Ready(Some(Err(e))) => {
                    finish_upstream(conn, guards, false);
                    Poll::Ready(Some(Err(e.into())))
                }
                Poll::Ready(None) => {
                    finish_upstream(conn, guards, true);
                    Poll::Ready(None)
                }
                Poll::Pending if idle.poll_expired(cx) => {
                    debug!("target sent no response data for the idle timeout");
                    // Dropping the connection's sender and, with this body,
                    // its receiving end closes the target connection.
                    finish_upstream(conn, guards, false);
                    Poll::Ready(Some(Err(idle.error())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            BodyKind::Upstream { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            BodyKind::Upstream { body, .. } => body.size_hint(),
        }
    }
}

impl Drop for AlbBody {
    fn drop(&mut self) {
        if let BodyKind::Upstream {
            body, conn, guards, ..
        } = &mut self.kind
        {
            // A body-less response is never polled; one dropped halfway
            // leaves its connection unusable (hyper closes it).
            let complete = body.is_end_stream();
            finish_upstream(conn, guards, complete);
        }
    }
}

/// A short plain-text response made by the load balancer itself.
pub(crate) fn elb_response(
    lb: &LoadBalancer,
    status: StatusCode,
    body: &'static str,
) -> Response<AlbBody> {
    lb.metrics.elb_response(status);
    let mut resp = Response::new(AlbBody::full(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// An ELB-made response after which the client connection is closed (a
/// request whose framing cannot be trusted, or a client gone idle).
pub(crate) fn elb_response_closing(
    lb: &LoadBalancer,
    status: StatusCode,
    body: &'static str,
) -> Response<AlbBody> {
    let mut resp = elb_response(lb, status, body);
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Whether the error says the connection died before any response arrived.
///
/// That includes a reset or aborted connection while the request was written
/// or the response head awaited: what a target killed mid-request (SIGKILL
/// of its container) looks like on a kept-alive connection. An error from
/// this stage never follows a response byte, so the client saw nothing yet.
fn closed_before_response(e: &UpstreamError) -> bool {
    match e {
        UpstreamError::Http(h) => {
            h.is_incomplete_message() || h.is_canceled() || h.is_closed() || connection_died(h)
        }
        UpstreamError::Connect(io) => is_dead_connection(io.kind()),
    }
}

/// Whether a hyper error was caused by the peer dropping the connection.
fn connection_died(h: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(h);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return is_dead_connection(io.kind());
        }
        source = e.source();
    }
    false
}

fn is_dead_connection(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        kind,
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected
    )
}

/// Everything the forwarder needs from the accepting side.
pub(crate) struct Downstream<'a> {
    pub client_ip: &'a HeaderValue,
    pub listener_port: &'a HeaderValue,
    pub conn: ConnRequest,
}

/// Forward `req` to a target of `tg`, with at most one passive retry.
pub(crate) async fn forward(
    lb: &LoadBalancer,
    tg: &Arc<TargetGroup>,
    req: Request<Incoming>,
    down: Downstream<'_>,
) -> Response<AlbBody> {
    use std::sync::atomic::Ordering::Relaxed;
    tg.metrics.requests.fetch_add(1, Relaxed);
    let (mut parts, body) = req.into_parts();
    rewrite_request_headers(&mut parts.headers, down.client_ip, down.listener_port);
    let path_and_query = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let body_empty = body.is_end_stream();
    let slot = (!body_empty).then(|| Arc::new(ClientBody::new(body)));
    let retry_allowed = tg.passive_retry();
    let idempotent = is_idempotent(&parts.method);
    let (timeout, idle_timeout) = lb.request_timeouts();
    let mut headers = Some(parts.headers);
    let mut failed: Option<Arc<TargetRuntime>> = None;

    for attempt in 0..2 {
        let Some(target) = tg.select(failed.as_ref()) else {
            return if failed.is_some() {
                elb_response(lb, StatusCode::BAD_GATEWAY, "502 Bad Gateway\n")
            } else {
                elb_response(
                    lb,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "503 Service Unavailable\n",
                )
            };
        };
        let in_flight = target.start_request();
        let last_chance = attempt == 1 || !retry_allowed;
        let mut hdrs = if last_chance {
            headers.take().unwrap_or_default()
        } else {
            headers.clone().unwrap_or_default()
        };
        if !hdrs.contains_key(header::HOST) {
            hdrs.insert(
                header::HOST,
                HeaderValue::from_str(target.authority.as_str())
                    .unwrap_or_else(|_| HeaderValue::from_static("localhost")),
            );
        }
        let mut upstream = Request::new(match &slot {
            None => UpstreamBody::Empty,
            Some(s) => UpstreamBody::Shared {
                slot: Arc::clone(s),
                taken: None,
                idle: IdleTimer::new(idle_timeout),
            },
        });
        *upstream.method_mut() = parts.method.clone();
        *upstream.uri_mut() = Uri::from(path_and_query.clone());
        *upstream.version_mut() = Version::HTTP_11;
        *upstream.headers_mut() = hdrs;

        let started = tokio::time::Instant::now();
        match tokio::time::timeout(timeout, lb.client.send(&target, upstream)).await {
            Err(_) => {
                debug!(target = %target.authority, "target timed out");
                return elb_response(lb, StatusCode::GATEWAY_TIMEOUT, "504 Gateway Timeout\n");
            }
            Ok(Ok((resp, conn))) => {
                let elapsed = started.elapsed();
                lb.metrics.response_time.record(elapsed);
                tg.metrics.response_time.record(elapsed);
                lb.metrics.target_codes.record(resp.status());
                tg.metrics.target_codes.record(resp.status());
                let (mut rparts, rbody) = resp.into_parts();
                strip_hop_by_hop(&mut rparts.headers);
                return Response::from_parts(
                    rparts,
                    AlbBody {
                        kind: BodyKind::Upstream {
                            body: rbody,
                            conn: Some(conn),
                            guards: Some((in_flight, down.conn)),
                            idle: IdleTimer::new(idle_timeout),
                        },
                    },
                );
            }
            Ok(Err(e)) => {
                // The client's body failed, not the target: answer the
                // client and close its connection (the target connection
                // was closed when its request body was cut off).
                match slot.as_ref().and_then(|s| s.failure()) {
                    Some(ClientBodyError::Broken) => {
                        debug!(error = %e, "malformed or truncated request body");
                        return elb_response_closing(
                            lb,
                            StatusCode::BAD_REQUEST,
                            "400 Bad Request\n",
                        );
                    }
                    Some(ClientBodyError::Idle) => {
                        debug!("client sent no request body data for the idle timeout");
                        return elb_response_closing(
                            lb,
                            StatusCode::REQUEST_TIMEOUT,
                            "408 Request Timeout\n",
                        );
                    }
                    None => {}
                }
                let body_untouched = slot.as_ref().is_none_or(|s| s.untouched());
                let connect = matches!(e, UpstreamError::Connect(_));
                if connect {
                    lb.metrics.target_connection_errors.fetch_add(1, Relaxed);
                    tg.passive_failure(in_flight.target(), "connection failed");
                } else if matches!(&e, UpstreamError::Http(h) if connection_died(h)) {
                    // A reset, unlike a stale kept-alive connection the
                    // target closed politely, says the target is going away.
                    tg.passive_failure(in_flight.target(), "connection reset");
                }
                let retry = !last_chance
                    && body_untouched
                    && (connect || (idempotent && body_empty && closed_before_response(&e)));
                debug!(target = %target.authority, error = %e, connect, retry, "target request failed");
                if retry {
                    drop(in_flight);
                    failed = Some(target);
                    continue;
                }
                return elb_response(lb, StatusCode::BAD_GATEWAY, "502 Bad Gateway\n");
            }
        }
    }
    elb_response(lb, StatusCode::BAD_GATEWAY, "502 Bad Gateway\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_forwarded_headers() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("example.com"));
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::TE, HeaderValue::from_static("trailers"));
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7"));
        rewrite_request_headers(
            &mut h,
            &HeaderValue::from_static("127.0.0.1"),
            &HeaderValue::from_static("8080"),
        );
        assert_eq!(
            h.get(header::HOST).map(|v| v.as_bytes()),
            Some(&b"example.com"[..])
        );
        for gone in ["connection", "x-secret", "keep-alive", "te"] {
            assert!(!h.contains_key(gone), "{gone}");
        }
        assert_eq!(h["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "8080");
        let trace = h["x-amzn-trace-id"].to_str().expect("ascii");
        let parts: Vec<&str> = trace.trim_start_matches("Root=").split('-').collect();
        assert_eq!(parts.len(), 3, "{trace}");
        assert_eq!(parts[0], "1");
        assert_eq!(parts[1].len(), 8);
        assert_eq!(parts[2].len(), 24);
        assert!(parts[2].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
